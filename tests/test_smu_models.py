"""Every SMU model stands in the built-in simulated bench's place: liv, iv (current and
voltage sourced) and bandwidth's bias run unchanged, their figures against the chip's truth."""

from __future__ import annotations

import pytest

from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig, builtin_station_config
from bench.storage import read_run
from sim_instruments.chip import ChipParameters

MODELS = {"keithley2600b": "USB0::0x05E6::0x2602::4400001::INSTR",
          "keysight_b2900": "USB0::0x0957::0x8C18::MY51140001::INSTR",
          "keithley2400": "GPIB0::24::INSTR",
          "keithley2450": "USB0::0x05E6::0x2450::04400001::INSTR"}
STEPS = [
    {"name": "liv", "sequence": "liv", "params": {"start": 1e-4, "stop": 5e-3, "points": 8}},
    {"name": "iv_i", "sequence": "iv", "params": {"start": 1e-5, "stop": 5e-3, "points": 12}},
    {"name": "iv_v", "sequence": "iv", "params": {"source": "voltage", "start": -5.0,
                                                   "stop": 3.3, "points": 12, "spacing": "lin"}},
    {"name": "bandwidth", "sequence": "bandwidth", "params": {
        "bias_currents": [2e-3], "points": 21, "method": "vna"}},
]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_sequences_run_on_the_model_in_the_bench(tmp_path, model):
    station = builtin_station_config()
    station["instruments"]["smu"] = {"driver": model, "resource": MODELS[model],
                                     "simulated": True}
    recipe = parse_recipe({"sample": {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
                                      "limits": {"max_current": 10e-3, "max_voltage": 6.0}},
                           "steps": STEPS})
    runner = Runner(StationConfig.from_mapping(station), recipe, tmp_path / "run.h5")
    outcome = runner.run()
    assert outcome.status == "completed", outcome.reason
    record = read_run(tmp_path / "run.h5")
    steps = {step.name: step for step in record.steps}
    truth = ChipParameters()
    for name in ("iv_i", "liv"):  # the chip's own ideality and Rs (liv heats: Rs reads low)
        assert steps[name].results["ideality_factor"]["value"] == pytest.approx(
            truth.ideality_factor, rel=0.1)
    assert steps["iv_i"].results["series_resistance"]["value"] == pytest.approx(
        truth.series_resistance, rel=0.1)
    assert "reverse_leakage" in steps["iv_v"].results
    assert runner.station.world.drive_current == 0.0


@pytest.mark.parametrize("sense, lead_seen", [("2-wire", 5.0), ("4-wire", 0.0)])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_reads_the_chip_plus_the_leads_in_two_wire_only(model, sense, lead_seen):
    """V(I) = the chip's steady state (closed form, its own parameters) + I R_L in 2-wire."""
    import numpy as np

    from common.passive import Setup
    from drivers import driver_class
    from sim_instruments.backend import SimulatedWorld, open_simulated_bench
    from sim_instruments.chip import MicroLED

    world = SimulatedWorld(chip_params=ChipParameters(noise=0.0),
                           setup=Setup.from_mapping({"leads": {"resistance": 5.0}}))
    manager = open_simulated_bench({MODELS[model]: model}, world, {MODELS[model]: "smu"})
    smu = driver_class(model)(manager.open_resource(MODELS[model]), name="smu", sense=sense)
    smu.connect()
    smu.configure_current_source(voltage_limit=6.0)
    smu.output_on()
    chip = MicroLED(ChipParameters(noise=0.0))
    smu.set_current(6e-3)
    voltage, current = smu.measure()
    expected = float(chip.steady_state(np.array([6e-3])).voltage[0]) + 6e-3 * lead_seen
    assert voltage == pytest.approx(expected, rel=5e-6)  # the answers' 6 or 7 digits
    readings = smu.sweep_current(np.array([1e-3, 4e-3]))
    truth = chip.steady_state(np.array([1e-3, 4e-3])).voltage + np.array([1e-3, 4e-3]) * lead_seen
    np.testing.assert_allclose(readings.voltage, truth, rtol=5e-6)
    smu.output_off()
    assert world.drive_current == 0.0
