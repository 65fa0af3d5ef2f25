"""pulsed-liv on the simulated 2600B: the series resistance and the junction temperature rise
against the chip's own parameters, the leads in 2-wire, and limits refused before anything
moves."""

from __future__ import annotations

import numpy as np
import pytest

from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig
from bench.storage import read_run
from common.errors import ConfigError, LimitError
from sim_instruments.chip import ChipParameters, MicroLED

TAU = 1e-3  # s, a chip on its package: the junction heats over a millisecond
LIMITS = {"max_current": 20e-3, "max_voltage": 6.0, "max_pulse_current": 20e-3,
          "max_duty_cycle": 0.02}


PULSED = {"keithley2600b": "USB0::0x05E6::0x2602::4400001::INSTR",
          "keysight_b2900": "USB0::0x0957::0x8C18::MY51140001::INSTR"}


def station(lead: float = 0.0, sense: str = "2-wire", model="keithley2600b") -> StationConfig:
    return StationConfig.from_mapping({
        "name": model, "instruments": {"smu": {
            "driver": model, "resource": PULSED[model],
            "simulated": True, "options": {"sense": sense}}},
        "simulation": {"chip": {"thermal_time_constant": TAU}},
        "setup": {"leads": {"resistance": lead}}})


def run(tmp_path, params, *, lead=0.0, sense="2-wire", limits=LIMITS, model="keithley2600b"):
    recipe = parse_recipe({"sample": {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
                                      "limits": limits},
                           "steps": [{"name": "pulsed", "sequence": "pulsed-liv",
                                      "params": params}]})
    runner = Runner(station(lead, sense, model), recipe, tmp_path / "run.h5")
    outcome = runner.run()
    return outcome, runner.station.world, read_run(tmp_path / "run.h5")


def results(record) -> dict:
    return {name: result["value"] for name, result in record.steps[0].results.items()}


PARAMS = {"start": 1e-3, "stop": 16e-3, "points": 8, "width": 100e-6, "duty_cycle": 0.01}


@pytest.mark.parametrize("model", sorted(PULSED))
def test_one_percent_duty_recovers_the_series_resistance_where_dc_reads_it_low(tmp_path, model):
    outcome, world, record = run(tmp_path, PARAMS, model=model)
    assert outcome.status == "completed", outcome.reason
    found = results(record)
    truth = ChipParameters().series_resistance
    assert found["series_resistance"] == pytest.approx(truth, rel=0.03)
    assert found["dc_series_resistance"] < 0.97 * truth  # the DC fit carries the heating
    assert found["series_resistance_thermal_error"] < -0.03
    assert found["duty_cycle"] == pytest.approx(0.01)


def test_the_junction_temperature_rise_is_the_chips(tmp_path):
    """DC junction over pulsed at 5 mA from the chip's self-heating, T_j = T_a + R_th (I V - P)
    at heating 1 and at the pulse's fraction (close to 0 at 1 %)."""
    outcome, world, record = run(tmp_path, {**PARAMS, "reference_current": 5e-3})
    assert outcome.status == "completed", outcome.reason
    chip = MicroLED(ChipParameters(thermal_time_constant=TAU))
    dc_rise = float(chip.steady_state(np.array([5e-3])).junction_temperature[0]) - 298.15
    found = results(record)["junction_temperature_rise"]
    assert found == pytest.approx(dc_rise, rel=0.12)  # the pulse keeps ~7 % of the heating
    assert found < dc_rise


@pytest.mark.parametrize("model", sorted(PULSED))
@pytest.mark.parametrize("sense, lead, expected_extra", [("2-wire", 20.0, 20.0),
                                                          ("4-wire", 20.0, 0.0)])
def test_the_leads_are_in_two_wire_readings_only(tmp_path, sense, lead, expected_extra, model):
    outcome, world, record = run(tmp_path, {**PARAMS, "dc_reference": False}, lead=lead,
                                 sense=sense, model=model)
    assert outcome.status == "completed", outcome.reason
    truth = ChipParameters().series_resistance + expected_extra
    assert results(record)["series_resistance"] == pytest.approx(truth, rel=0.03)


@pytest.mark.parametrize("params, limits, match", [
    ({**PARAMS, "stop": 30e-3, "dc_reference": False},
     {**LIMITS, "max_pulse_current": 25e-3}, "max_pulse_current 0.025 A"),
    ({**PARAMS, "duty_cycle": 0.05}, LIMITS, "max_duty_cycle 0.02"),
    ({**PARAMS, "stop": 25e-3, "dc_reference": False},
     {"max_current": 20e-3, "max_voltage": 6.0, "max_pulse_current": 30e-3},
     "gives no max_duty_cycle"),
    ({**PARAMS, "stop": 25e-3}, {**LIMITS, "max_pulse_current": 30e-3},
     "DC reference sweep would reach 0.025 A"),
])
def test_limits_are_refused_before_anything_moves(params, limits, match):
    """Refused when the recipe is read: no station is even opened."""
    with pytest.raises(LimitError, match=match):
        parse_recipe({"sample": {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
                                 "limits": limits},
                      "steps": [{"sequence": "pulsed-liv", "params": params}]})


def test_the_guard_refuses_a_pulse_train_the_recipe_check_never_saw():
    """The guard checks again at the role: a sequence asking beyond the limits is stopped there
    with nothing sent to the SMU."""
    from bench.safety import DriveMonitor, PulsedSourceGuard, SafeLimits
    from drivers.keithley2600b import Keithley2600B
    from sim_instruments.backend import SimulatedWorld, open_simulated_bench

    world = SimulatedWorld()
    resource = "USB0::0x05E6::0x2602::4400001::INSTR"
    manager = open_simulated_bench({resource: "keithley2600b"}, world, {resource: "smu"})
    driver = Keithley2600B(manager.open_resource(resource), name="smu")
    driver.connect()
    guard = PulsedSourceGuard(driver, SafeLimits.from_mapping(LIMITS), DriveMonitor(50.0))
    sent = len(world.commands)
    with pytest.raises(LimitError, match="duty cycle 0.1 exceeds"):
        guard.pulse_sweep([1e-3, 2e-3], width=1e-3, period=1e-2, voltage_limit=5.0)
    with pytest.raises(LimitError, match="pulse current 0.03 A exceeds"):
        guard.pulse_sweep([1e-3, 30e-3], width=1e-4, period=1e-2, voltage_limit=5.0)
    with pytest.raises(LimitError, match="longer than the period"):
        guard.pulse_sweep([1e-3], width=1e-2, period=1e-3, voltage_limit=5.0)
    assert len(world.commands) == sent


@pytest.mark.parametrize("model", sorted(PULSED))
def test_pulses_beyond_the_sample_current_reach_only_with_a_duty_cycle_limit(tmp_path, model):
    """Above max_current (DC) but within max_pulse_current at 1 % <= max_duty_cycle: runs."""
    limits = {"max_current": 10e-3, "max_voltage": 6.0, "max_pulse_current": 20e-3,
              "max_duty_cycle": 0.01}
    outcome, world, record = run(tmp_path, {**PARAMS, "dc_reference": False}, limits=limits,
                                 model=model)
    assert outcome.status == "completed", outcome.reason
    pulses = world.instruments["smu"].model.pulses
    assert max(level for level, _, _ in pulses) == pytest.approx(16e-3)
    assert all(width / period <= 0.01 + 1e-12 for _, width, period in pulses)


def test_the_report_overlays_pulsed_and_dc(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from bench.report import plot_module

    outcome, world, record = run(tmp_path, {**PARAMS, "points": 5})
    assert outcome.status == "completed", outcome.reason
    module = plot_module("pulsed-liv")
    assert module.__name__ == "bench.plots.pulsed_liv"
    drawn = module.plots(record.steps[0], {})
    assert [name for name, _, _ in drawn] == ["iv", "temperature"]
    ax = drawn[0][2].axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["pulsed (1 % duty)", "DC"]
    assert ax.get_xlabel() == "current (mA)" and ax.get_ylabel() == "voltage (V)"
    rise = drawn[1][2].axes[0].get_lines()[0].get_ydata()
    assert np.all(np.diff(rise) > 0)  # more current, more heat


def test_an_smu_without_pulses_is_refused_before_the_run(tmp_path):
    from bench.plan import PlanError

    config = StationConfig.from_mapping({"name": "2400", "instruments": {"smu": {
        "driver": "keithley2400", "resource": "GPIB0::24::INSTR", "simulated": True}}})
    recipe = parse_recipe({"sample": {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
                                      "limits": LIMITS},
                           "steps": [{"sequence": "pulsed-liv", "params": PARAMS}]})
    runner = Runner(config, recipe, tmp_path / "run.h5")
    with pytest.raises((PlanError, ConfigError),
                       match="needs a PulsedCurrentSource as .pulsed_smu.; the station has none"):
        runner.run()
    assert not (tmp_path / "run.h5").exists() or runner.station.world.max_applied_current == 0
