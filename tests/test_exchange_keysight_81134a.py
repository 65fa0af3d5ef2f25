"""The 81134A's exact command exchange against a scripted resource (no simulator), written from
the 81100-family Programming Guides' pulse-generator subsystems ([:SOURce]:VOLTage[1|2]:HIGH|LOW,
[:SOURce]:PULSe:WIDTh[1|2], [:SOURce]:FREQuency) and the 81133A/81134A Programming Guide's
pattern pages; and the level window held through every intermediate state."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from drivers.base import number_text
from drivers.keysight_81134a import Keysight81134A, level_path
from tests.conftest import ScriptedResource, checked

IDN = "Agilent Technologies,81134A,DE12345678,05.01.02"
WINDOW, AMPLITUDE = (-2.0, 3.0), (0.05, 2.0)  # V; the data sheet's level window, amplitude


def generator_with(script) -> tuple[Keysight81134A, ScriptedResource]:
    resource = ScriptedResource([("*IDN?", IDN), ("*CLS", None), *script])
    generator = Keysight81134A(resource, name="generator")
    generator.connect()
    return generator, resource


def valid(high: float, low: float) -> bool:
    """A state the instrument accepts, with 1 pV of float slack."""
    return (WINDOW[0] - 1e-12 <= low and high <= WINDOW[1] + 1e-12
            and AMPLITUDE[0] - 1e-12 <= high - low <= AMPLITUDE[1] + 1e-12)


def states(present, steps):
    """Every (high, low) the output passes through, one write at a time."""
    high, low = present
    out = []
    for node, value in steps:
        high, low = (value, low) if node == "HIGH" else (high, value)
        out.append((high, low))
    return out


def test_the_pulse_response_default_goes_low_first():
    # present 1 V / 0 V, requested 25 mV / -25 mV: writing HIGH first would leave a 25 mV
    # amplitude (below the 50 mV minimum); LOW first keeps 1.025 V
    generator, resource = generator_with([
        (":VOLTage1:HIGH?", "+1.000E+00"), (":VOLTage1:LOW?", "+0.000E+00"),
        *checked(":VOLTage1:LOW -0.025"), *checked(":VOLTage1:HIGH 0.025")])
    generator.set_levels(high=0.025, low=-0.025)
    resource.done()


def test_a_move_wider_than_the_largest_amplitude_walks_through_valid_pairs():
    generator, resource = generator_with([
        (":VOLTage1:HIGH?", "0.05"), (":VOLTage1:LOW?", "0"),
        *checked(":VOLTage1:HIGH 2"), *checked(":VOLTage1:LOW 1.95"),
        *checked(":VOLTage1:HIGH 3"), *checked(":VOLTage1:LOW 2.95")])
    generator.set_levels(high=3.0, low=2.95)
    resource.done()


@pytest.mark.parametrize("high, low", [(0.025, 0.0), (1.0, -1.5), (3.5, 3.0), (0.5, -2.5),
                                       (0.0, 0.1), (float("nan"), 0.0)])
def test_levels_outside_the_window_or_amplitude_are_refused_before_anything_is_sent(high, low):
    generator, resource = generator_with([])
    with pytest.raises(ValueError):
        generator.set_levels(high=high, low=low)
    resource.done()


GRID = np.round(np.arange(-2.0, 3.0001, 0.25), 3).tolist()
PAIRS = [(h, lo) for h, lo in itertools.product(GRID, GRID) if valid(h, lo)]
EDGES = [(0.05, 0.0), (3.0, 2.95), (-1.95, -2.0), (0.0, -2.0), (3.0, 1.0), (2.0, 0.0),
         (0.025 + 0.05, 0.025), (1.0, 0.0)]


def test_every_level_transition_stays_valid_in_every_intermediate_state():
    pairs = sorted(set(PAIRS + EDGES))
    walked = 0
    for present, target in itertools.product(pairs, pairs):
        steps = level_path(present, target, window=WINDOW, amplitude=AMPLITUDE,
                           resolution=Keysight81134A.level_resolution)
        seen = states(present, steps)
        assert all(valid(*state) for state in seen), (present, target, seen)
        assert (seen[-1] if seen else present) == target
        assert len(steps) <= 8
        walked += len(steps) > 2
    # the grid has transitions that need intermediate pairs, and they were exercised
    assert len(pairs) > 130 and walked > 5000


def test_the_driver_writes_the_levels_of_a_valid_path_and_nothing_else():
    present, target = (2.9, 2.85), (-1.9, -2.0)
    steps = level_path(present, target, window=WINDOW, amplitude=AMPLITUDE,
                       resolution=Keysight81134A.level_resolution)
    generator, resource = generator_with(
        [(":VOLTage1:HIGH?", "2.9"), (":VOLTage1:LOW?", "2.85")]
        + [item for node, value in steps
           for item in checked(f":VOLTage1:{node} {number_text(value)}")])
    generator.set_levels(high=target[0], low=target[1])
    resource.done()
    assert all(valid(*state) for state in states(present, steps))


def test_pulse_width_goes_to_pulse_width1_and_is_never_queried():
    generator, resource = generator_with([
        *checked(":FUNCtion PATTern"), *checked(":FUNCtion:MODE1 PULS"),
        *checked(":FREQuency 100000000"), *checked(":PULSe:WIDTh1 2e-09")])
    generator.set_pulse(period=10e-9, width=2e-9)
    resource.done()
    assert generator.width == 2e-9  # remembered: no :WIDTh1? nor :PULSe:WIDTh1? is sent


def test_describe_output_and_read_source_read_the_instrument():
    generator, resource = generator_with([
        (":OUTPut:CENTral?", "1"), (":OUTPut1:POSitive?", "0"),
        (":VOLTage1:HIGH?", "0.4"), (":VOLTage1:LOW?", "-0.1"), (":VOLTage1:HIGH?", "0.4")])
    assert generator.describe_output() == ("output OFF (central ON, channel 1 OFF), "
                                           "high 0.4 V, low -0.1 V")
    assert generator.read_source() == ("VOLT", 0.4)
    resource.done()


def test_output_off_disconnects_first_and_checks_nothing():
    generator, resource = generator_with([(":OUTPut:CENTral OFF", None),
                                          (":OUTPut1:POSitive OFF", None)])
    generator.output_off()
    resource.done()


def test_the_contract_attributes():
    assert Keysight81134A.source_impedance == 50.0
    assert 0 < Keysight81134A.level_resolution <= 0.01


@pytest.mark.parametrize("request_, problem", [
    ({"high": 0.025, "low": 0.0}, "amplitude=0.025 V is outside the 81134A's range 0.05 to 2 V"),
    ({"high": 3.2, "low": 3.0}, "high=3.2 V is outside the 81134A's range -2 to 3 V"),
    ({"high": 2.0, "low": -0.5}, "amplitude=2.5 V is outside"),
    ({"high": 0.0999, "low": 0.05}, "amplitude=0.0499 V is outside"),
    ({"bit_rate": 10e9}, "bit_rate=1e+10 bit/s is outside the 81134A's range 1.5e+07 to 3.35e+09"),
    ({"frequency": 1e6}, "frequency=1e+06 Hz is outside"),
    ({"pattern_bits": 13 << 20}, "pattern_bits=13631488 bits is outside"),
    ({"width": 50e-12}, "width=5e-11 s is outside"),
    ({"period": 1e-6}, "period=1e-06 s is outside"),
    ({"width": 5e-9, "period": 5e-9}, "width=5e-09 s is not below period=5e-09 s"),
])
def test_check_plan_names_value_limit_and_model(request_, problem):
    problems = Keysight81134A.check_plan(request_)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_check_plan_accepts_what_the_81134a_can_do():
    assert Keysight81134A.check_plan({"high": 0.3, "low": 0.0, "bit_rate": 1e9,
                                      "pattern_bits": 127, "width": 1e-9, "period": 10e-9,
                                      "points": 10**9}) == []
