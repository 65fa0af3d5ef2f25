"""The drive circuit as the chip sees it, checked from the commands the instruments received.

A generator programmed to V (into 50 ohm) has the EMF 2 V behind its 50 ohm; through a bias-tee
path Z the chip gets at most 2 V / (50 + Z). The expected currents here are written from that
circuit in the test itself, from the station's set-up and the levels in ``world.commands``.
"""

from __future__ import annotations

import math
import re

import pytest

from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig, builtin_station_config
from common.errors import LimitError
from common.passive import DriveCircuit

SERIES_TEE = 500.0  # ohm, a series-resistor bias tee
GENERATOR_OHMS = 50.0  # the 81134A's source impedance (data sheet)
LEVEL = re.compile(r":VOLTage1:(HIGH|LOW) ([-+0-9.eE]+)$")


def run(tmp_path, step, *, tee=SERIES_TEE, limits=None):
    station = builtin_station_config()
    station["setup"]["bias_tee"] = {"modulation_impedance": tee}
    sample = {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
              "limits": limits or {"max_current": 10e-3, "max_voltage": 6.0,
                                   "max_pulse_current": 12e-3}}
    recipe = parse_recipe({"sample": sample, "steps": [step]})
    runner = Runner(StationConfig.from_mapping(station), recipe, tmp_path / "run.h5")
    outcome = runner.run()
    return outcome, runner.station.world


def programmed_swings(world) -> list[float]:
    """high - low of the generator after every level command it received."""
    high = low = 0.0
    swings = []
    for name, command in world.commands:
        match = LEVEL.match(command) if name == "generator" else None
        if match:
            if match.group(1) == "HIGH":
                high = float(match.group(2))
            else:
                low = float(match.group(2))
            swings.append(high - low)
    return swings


@pytest.mark.parametrize("modulation", [1e-3, 1.2345e-3, 3e-3])
def test_requested_modulation_is_delivered_never_more(tmp_path, modulation):
    step = {"sequence": "pulse-response", "params": {
        "bias_current": 5e-3, "modulation_current": modulation, "acquisitions": 1,
        "settle": 0.0}}
    outcome, world = run(tmp_path, step)
    assert outcome.status == "completed", outcome.reason
    swing = programmed_swings(world)[-1]
    delivered = 2 * swing / (GENERATOR_OHMS + SERIES_TEE)  # EMF 2 V into 50 + Z, chip shorted
    assert 0.95 * modulation <= delivered <= modulation * (1 + 1e-9)
    # the peak (bias + full swing) never beyond max_pulse_current, at any moment
    assert all(5e-3 + 2 * s / (GENERATOR_OHMS + SERIES_TEE) <= 12e-3 + 1e-12
               for s in programmed_swings(world))


def test_levels_follow_the_real_circuit_not_v_over_z(tmp_path):
    # 3 mA through 50 + 500 ohm takes 2 V = 3 mA x 550 ohm, V = 0.825 V; V / Z would have
    # programmed 1.5 V and driven 2 x 1.5 / 550 = 5.5 mA
    outcome, world = run(tmp_path, {"sequence": "pulse-response", "params": {
        "bias_current": 2e-3, "modulation_current": 3e-3, "acquisitions": 1, "settle": 0.0}})
    assert outcome.status == "completed", outcome.reason
    assert programmed_swings(world)[-1] == pytest.approx(0.825, abs=1e-3)


def test_a_peak_beyond_max_pulse_current_is_refused_before_anything_is_sent(tmp_path):
    step = {"sequence": "pulse-response", "params": {"bias_current": 5e-3,
                                                     "modulation_current": 9e-3}}
    with pytest.raises(LimitError, match="max_pulse_current"):  # 14 mA peak
        run(tmp_path, step)


def test_the_vna_default_power_is_small_signal_at_the_lowest_bias(tmp_path):
    biases = [1e-3, 3e-3]
    outcome, world = run(tmp_path, {"sequence": "bandwidth", "params": {
        "bias_currents": biases, "points": 51, "settle": 0.0}}, tee=50.0)
    assert outcome.status == "completed", outcome.reason
    powers = [float(c.split()[-1]) for n, c in world.commands
              if n == "vna" and c.startswith(":SOURce1:POWer ")]
    assert powers
    incident = math.sqrt(2 * 1e-3 * 10 ** (powers[-1] / 10) * 50.0)  # V into 50 ohm
    amplitude = 2 * incident / (50.0 + 50.0)  # EMF twice that, into 50 + Z
    assert 0.05 * min(biases) < amplitude <= 0.25 * min(biases)


@pytest.mark.parametrize(("source", "path", "volts", "amps"), [
    (50.0, 50.0, 0.5, 0.01),      # 2 x 0.5 / 100
    (50.0, 500.0, 0.275, 1e-3),   # 2 x 0.275 / 550
    (25.0, 75.0, 1.0, 0.02),      # 2 x 1 / 100
])
def test_drive_circuit_closed_form(source, path, volts, amps):
    circuit = DriveCircuit(source, path)
    assert circuit.current(volts) == pytest.approx(amps)
    assert circuit.volts(amps) == pytest.approx(volts)


def test_levels_are_quantised_down_to_the_resolution():
    circuit = DriveCircuit(50.0, 500.0)
    high, low = circuit.levels(1.2345e-3, 1e-3)  # 0.3394875 V wanted: 0.339 V programmed
    assert (high, low) == (pytest.approx(0.170), pytest.approx(-0.169))
    assert 2 * (high - low) / 550.0 <= 1.2345e-3
    # 0 dBm into 50 ohm: 1 mW, amplitude sqrt(2 x 1e-3 x 50) = 0.316 V, EMF 0.632 V into 100 ohm
    assert DriveCircuit(50.0, 50.0).sine_amplitude(0.0) == pytest.approx(0.632455532 / 100.0)
    assert DriveCircuit(50.0, 50.0).power_for_amplitude(0.632455532 / 100.0) == \
        pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="source_impedance"):
        DriveCircuit(float("nan"), 50.0)
