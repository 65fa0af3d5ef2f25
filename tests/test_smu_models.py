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
          "keithley2400": "GPIB0::24::INSTR"}
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
