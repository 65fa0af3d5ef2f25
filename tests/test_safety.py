"""Safe operating limits: refused before anything reaches an instrument, never clamped.

The property-based test draws random recipes and sample limits and checks, on the simulated
instruments' side, that no level or compliance beyond the limits was ever received.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.safety import DriveMonitor, PatternGuard, SafeLimits, SourceGuard, ramp
from bench.station import StationConfig
from common.errors import ConfigError, LimitError
from sim_instruments.chip import ChipParameters, MicroLED

GENERATOR_OHMS = 50.0  # the 81134A's source impedance (data sheet)
LEVEL = re.compile(r":SOURce:(CURRent|VOLTage)(:VLIMit|:ILIMit)? ([-+0-9.eE]+)$")


def sample(limits):
    return {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9, "limits": limits}


def instrument_side_levels(world):
    """Every source level and compliance the simulated SMU received, by kind."""
    seen = {"CURRent": [], "VOLTage": [], ":VLIMit": [], ":ILIMit": []}
    for name, command in world.commands:
        match = LEVEL.match(command)
        if name == "smu" and match:
            seen[match.group(2) or match.group(1)].append(float(match.group(3)))
        if name == "smu" and command.startswith(":SOURce:LIST:CURR"):
            seen["CURRent"] += [float(v) for v in command.split(" ", 1)[1].split(",")]
        sweep = re.match(r":SOURce:SWEep:(CURR|VOLT):(LINear|LOG) ([^,]+), ([^,]+),", command)
        if name == "smu" and sweep:
            key = "CURRent" if sweep.group(1) == "CURR" else "VOLTage"
            seen[key] += [float(sweep.group(3)), float(sweep.group(4))]
    return seen


class FakeSource:
    """Records every call; stands for a driver so the guard can be watched alone."""

    name = "smu"
    source_impedance = 50.0  # ohm, as a generator or VNA port

    def __init__(self):
        self.calls = []

    def __getattr__(self, attr):
        return lambda *a, **k: self.calls.append((attr, a, k))


def test_refusal_names_limit_and_value_and_sends_nothing():
    driver = FakeSource()
    guard = SourceGuard(driver, SafeLimits(max_current=5e-3, max_voltage=4.0))
    with pytest.raises(LimitError, match=r"voltage_limit 6 V exceeds the sample's max_voltage 4 V"):
        guard.configure_current_source(voltage_limit=6.0)
    with pytest.raises(LimitError, match="configure the current source"):
        guard.set_current(1e-3)  # no compliance yet
    assert driver.calls == []
    guard.configure_current_source(voltage_limit=3.5)
    sent = len(driver.calls)
    with pytest.raises(LimitError, match=r"current 0.006 A exceeds the sample's max_current"):
        guard.set_current(6e-3)
    with pytest.raises(LimitError, match="max_current"):
        guard.sweep_current(np.array([1e-3, 2e-3, 7e-3]))
    assert len(driver.calls) == sent  # refused: nothing more reached the driver


def test_levels_ramp_in_bounded_steps_and_output_goes_off_at_zero():
    driver = FakeSource()
    guard = SourceGuard(driver, SafeLimits(max_current=10e-3, max_voltage=5.0, ramp_step=1e-3))
    guard.configure_current_source(voltage_limit=4.0)
    guard.output_on()
    guard.set_current(4.5e-3)
    levels = [a[0] for name, a, _ in driver.calls if name == "set_current"]
    assert levels[0] == 0.0 and levels[-1] == pytest.approx(4.5e-3)
    assert np.max(np.abs(np.diff(levels))) <= 1e-3 + 1e-15
    guard.output_off()
    levels = [a[0] for name, a, _ in driver.calls if name == "set_current"]
    assert levels[-1] == 0.0 and driver.calls[-1][0] == "output_off"
    assert np.max(np.abs(np.diff(levels))) <= 1e-3 + 1e-15


def test_pulsed_drive_above_max_current_needs_a_low_duty_cycle():
    limits = SafeLimits(max_current=5e-3, max_voltage=5.0, max_pulse_current=20e-3,
                        max_duty_cycle=0.3)
    drive = DriveMonitor(modulation_impedance=50.0)
    smu = SourceGuard(FakeSource(), limits, drive)
    drive.sources.append(smu)
    generator = FakeSource()
    pattern = PatternGuard(generator, limits, drive)
    smu.configure_current_source(voltage_limit=4.0)
    smu.output_on()
    smu.set_current(2e-3)
    with pytest.raises(LimitError, match=r"duty cycle 1 exceeds .* max_duty_cycle 0.3"):
        # 2 V / (50 + 50) ohm: 2 + 10 mA peak: pulsed, pattern still unknown
        pattern.set_levels(high=0.5, low=0.0)
    pattern.set_pattern(np.array([1, 0, 0, 0] * 8))  # duty 0.25
    pattern.set_levels(high=0.5, low=0.0)
    pattern.output_on()
    sent = len(generator.calls)
    with pytest.raises(LimitError, match=r"duty cycle 0.50.* max_duty_cycle 0.3"):
        pattern.set_prbs(7)
    with pytest.raises(LimitError, match="duty cycle 0.5 exceeds"):
        pattern.set_pattern(np.array([1, 1, 0, 0] * 8))
    assert len(generator.calls) == sent  # refused before the generator heard of it
    pattern.output_off()
    pattern.set_levels(high=0.1, low=0.0)  # 2 + 2 mA: within max_current, no duty limit
    pattern.set_prbs(7)


def test_ramp_covers_both_directions():
    assert np.allclose(ramp(0.0, 3e-3, 1e-3), [1e-3, 2e-3, 3e-3])
    assert np.allclose(ramp(2e-3, 0.0, 1.5e-3), [1e-3, 0.0])


def test_recipe_beyond_limits_is_refused_before_the_run():
    recipe = {"sample": sample({"max_current": 2e-3, "max_voltage": 5.0}),
              "steps": [{"sequence": "liv", "params": {"stop": 3e-3}}]}
    with pytest.raises(LimitError, match=r"sweep current 0.003 A exceeds .* max_current 0.002 A"):
        parse_recipe(recipe)


def test_sample_limits_are_validated():
    with pytest.raises(ConfigError, match="max_voltage"):
        SafeLimits.from_mapping({"max_current": 1e-3})
    with pytest.raises(ConfigError, match="positive"):
        SafeLimits.from_mapping({"max_current": -1e-3, "max_voltage": 3})
    with pytest.raises(ConfigError, match="unknown"):
        SafeLimits.from_mapping({"max_current": 1e-3, "max_voltage": 3, "max_power": 1})


recipes = st.fixed_dictionaries({
    "max_current": st.floats(1e-4, 20e-3),
    "max_voltage": st.floats(2.0, 8.0),
    "max_reverse_voltage": st.floats(0.5, 10.0),
    "steps": st.lists(st.one_of(
        st.fixed_dictionaries({"sequence": st.just("liv"),
                               "params": st.fixed_dictionaries({
                                   "start": st.floats(1e-7, 1e-4),
                                   "stop": st.floats(2e-4, 30e-3),
                                   "points": st.integers(2, 6),
                                   "spacing": st.sampled_from(["log", "lin"]),
                                   "voltage_limit": st.floats(1.0, 9.0),
                                   "settle": st.just(0.0)})}),
        st.fixed_dictionaries({"sequence": st.just("iv"),
                               "params": st.fixed_dictionaries({
                                   "source": st.just("voltage"),
                                   "start": st.floats(-12.0, 0.0),
                                   "stop": st.floats(0.1, 8.0),
                                   "points": st.integers(2, 6),
                                   "spacing": st.just("lin"),
                                   "current_limit": st.floats(1e-6, 30e-3)})})),
        min_size=1, max_size=3),
})


def test_no_command_beyond_limits_reaches_the_instruments(tmp_path):
    """Random recipes and limits; on the instruments' side no level or compliance beyond the
    limits was ever received. Counts what really ran and how each step ended."""
    ran, refused = [], []

    # derandomized: CI sees the same examples every run (explore with hypothesis' own seeds)
    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(plan=recipes)
    @example(plan={"max_current": 10e-3, "max_voltage": 6.0, "max_reverse_voltage": 5.0,
                   "steps": [
        {"sequence": "liv", "params": {"start": 1e-6, "stop": 5e-3, "points": 5,
                                       "spacing": "log", "voltage_limit": 5.0, "settle": 0.0}},
        {"sequence": "iv", "params": {"source": "voltage", "start": -5.0, "stop": 3.0,
                                      "points": 5, "spacing": "lin",
                                      "current_limit": 5e-3}}]})  # runs both
    @example(plan={"max_current": 2e-3, "max_voltage": 4.0, "max_reverse_voltage": 2.0,
                   "steps": [{"sequence": "liv", "params": {
                       "start": 1e-5, "stop": 2e-3, "points": 4, "spacing": "lin",
                       "voltage_limit": 4.0, "settle": 0.0}}]})  # at its limits: completes
    @example(plan={"max_current": 1e-3, "max_voltage": 3.5, "max_reverse_voltage": 1.0,
                   "steps": [{"sequence": "iv", "params": {
                       "source": "voltage", "start": -1.0, "stop": 3.5, "points": 6,
                       "spacing": "lin", "current_limit": 1e-3}}]})  # to compliance: completes
    def check(plan):
        limits = {k: plan[k] for k in ("max_current", "max_voltage", "max_reverse_voltage")}
        steps = [{**s, "name": f"s{i}", "on_error": "continue"}
                 for i, s in enumerate(plan["steps"])]
        try:
            recipe = parse_recipe({"sample": sample(limits), "steps": steps})
        except LimitError:
            refused.append(plan)
            return  # refused as a whole before any instrument was opened
        runner = Runner(StationConfig.load(None), recipe, tmp_path / f"run{len(ran)}.h5",
                        warn=lambda message: None)
        outcome = runner.run()
        ran.append([(s.status, s.reason) for s in outcome.steps])
        world = runner.station.world
        seen = instrument_side_levels(world)
        tolerance = 1e-9
        assert all(abs(i) <= limits["max_current"] + tolerance for i in seen["CURRent"])
        assert all(v <= limits["max_voltage"] + tolerance for v in seen[":VLIMit"])
        assert all(i <= limits["max_current"] + tolerance for i in seen[":ILIMit"])
        assert all(-limits["max_reverse_voltage"] - tolerance <= v
                   <= limits["max_voltage"] + tolerance for v in seen["VOLTage"])
        assert world.max_applied_current <= limits["max_current"] + tolerance
        assert world.drive_current == 0.0

    check()
    steps = [step for run in ran for step in run]
    completed = [s for s in steps if s[0] == "completed"]
    failed = [reason for status, reason in steps if status == "failed"]
    # derandomized, the generated examples run or are refused as a whole; which of them
    # complete depends on hypothesis' version, so completion is asked of the explicit examples
    assert len(ran) + len(refused) >= 30
    assert len(ran) >= 8 and len(refused) >= 10  # both sides of the limits were explored
    assert ran[:3] == [[("completed", ""), ("completed", "")], [("completed", "")],
                       [("completed", "")]]  # the explicit examples, in full
    assert len(completed) + len(failed) == len(steps)  # every step ended, none left running
    # every failure is a compliance below the chip's own voltage at its first current (the
    # built-in chip needs 2.48 V at 1 uA): an open contact by its signature, nothing else
    turn_on = float(MicroLED(ChipParameters()).steady_state(np.array([1e-7])).voltage[0])
    for reason in failed:
        match = re.search(r"voltage limit ([-+0-9.e]+) V .* before the chip conducted", reason)
        assert match and float(match.group(1)) < turn_on, reason


modulated = st.fixed_dictionaries({
    "max_current": st.floats(4e-3, 10e-3),
    "max_pulse_current": st.floats(4e-3, 15e-3),
    "sequence": st.sampled_from(["eye", "pulse-response"]),
    "bias_current": st.floats(0.5e-3, 8e-3),
    "modulation_current": st.floats(1e-3, 6e-3),
})


def test_no_modulation_beyond_limits_reaches_the_chip(tmp_path):
    """Bias from the SMU plus the generator's swing through the bias tee, instrument side, with
    the real drive circuit: the generator's EMF is twice its programmed level, behind its 50 ohm,
    into the tee's path Z: 2 (high - low) / (50 + Z) peak to peak with the chip as a short."""
    ran, refused = [], []

    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(plan=modulated)
    @example(plan={"max_current": 8e-3, "max_pulse_current": 12e-3, "sequence": "eye",
                   "bias_current": 5e-3, "modulation_current": 4e-3})  # runs: within the limits
    @example(plan={"max_current": 8e-3, "max_pulse_current": 12e-3,
                   "sequence": "pulse-response", "bias_current": 5e-3,
                   "modulation_current": 2e-3})
    def check(plan):
        limits = {"max_current": plan["max_current"], "max_voltage": 6.0,
                  "max_pulse_current": plan["max_pulse_current"]}
        params = {"bias_current": plan["bias_current"],
                  "modulation_current": plan["modulation_current"], "settle": 0.0,
                  **({"record_bits": 100, "acquisitions": 1} if plan["sequence"] == "eye"
                     else {"acquisitions": 1})}
        try:
            recipe = parse_recipe({"sample": sample(limits), "steps": [
                {"sequence": plan["sequence"], "params": params}]})
        except LimitError:
            refused.append(plan)
            return
        runner = Runner(StationConfig.load(None), recipe, tmp_path / f"run{len(ran)}.h5",
                        warn=lambda message: None)
        outcome = runner.run()
        ran.append((plan, outcome.steps[0].status, outcome.steps[0].reason))
        world = runner.station.world
        loop = GENERATOR_OHMS + world.setup.bias_tee.modulation_impedance
        # replay the instruments' own command log in order: at every moment, the SMU's level
        # (when its output is on) plus the generator's full swing (when connected and on)
        # stays within the limits
        bias, smu_on, high, low = 0.0, False, 0.0, 0.0
        gen = {"POSitive": False, "CENTral": False}
        tolerance = 1e-9
        for name, command in world.commands:
            if name == "smu":
                if command.startswith(":SOURce:CURRent "):
                    bias = abs(float(command.split()[-1]))
                elif command.startswith(":OUTPut:STATe "):
                    smu_on = command.endswith("ON")
            elif name == "generator":
                level = re.match(r":VOLTage1:(HIGH|LOW) ([-+0-9.eE]+)$", command)
                switch = re.match(r":OUTPut1?:(POSitive|CENTral) (ON|OFF)$", command)
                if level:
                    high, low = (float(level.group(2)), low) if level.group(1) == "HIGH" \
                        else (high, float(level.group(2)))
                elif switch:
                    gen[switch.group(1)] = switch.group(2) == "ON"
            dc = bias if smu_on else 0.0
            swing = 2 * (high - low) / loop if all(gen.values()) else 0.0
            assert dc <= limits["max_current"] + tolerance, command
            assert dc + swing <= limits["max_pulse_current"] + tolerance, command
        assert world.drive_current == 0.0

    check()
    completed = [r for r in ran if r[1] == "completed"]
    # derandomized, these were 14 examples: 7 refused by the recipe check, 7 run and completed
    assert len(ran) + len(refused) >= 12 and len(refused) >= 3
    assert len(completed) >= 5  # the chip was really modulated, within its limits
    assert ran[0][1] == "completed" and ran[1][1] == "completed"  # the explicit examples
    for plan, status, reason in ran:
        assert status == "completed", (plan, reason)
        # what ran was within the limits by the recipe check: bias + swing <= max_pulse_current
        assert plan["bias_current"] + plan["modulation_current"] \
            <= plan["max_pulse_current"] + 1e-12
