"""Compliance is an answer: a sweep that reaches the SMU's limit after the chip turned on ends
there and is analysed; only a chip that never conducted is an open contact. An analysis that
cannot give one figure leaves that one out, with its reason, and keeps the others."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import sequences.dc_analysis
from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig
from sequences.base import Sample
from sequences.liv import LIV
from sim_instruments.chip import ChipParameters, MicroLED

LEVELS = np.linspace(0.5e-3, 5e-3, 10)
CHIP = MicroLED(ChipParameters())  # the built-in bench's chip
VOLTS = CHIP.steady_state(LEVELS).voltage
# a compliance between the chip's own voltages at the 4th and 5th level (1.5 and 2 mA)
LIMIT = float((VOLTS[3] + VOLTS[4]) / 2)
SAMPLE = {"id": "chip", "diameter": CHIP.params.diameter, "wavelength": CHIP.params.wavelength,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0}}


def run(tmp_path, step, station=None):
    recipe = parse_recipe({"sample": SAMPLE, "steps": [step]})
    outcome = Runner(station or StationConfig.load(None), recipe, tmp_path / "run.h5").run()
    return outcome, outcome.steps[0]


@pytest.mark.parametrize("sequence", ["liv", "iv"])
def test_a_healthy_chip_at_compliance_completes_with_its_figures(tmp_path, sequence):
    params = {"start": float(LEVELS[0]), "stop": float(LEVELS[-1]), "points": LEVELS.size,
              "spacing": "lin", "voltage_limit": LIMIT}
    if sequence == "liv":
        params["settle"] = 0.0
    outcome, step = run(tmp_path, {"sequence": sequence, "params": params})
    assert step.status == "completed", step.reason
    first_beyond = float(LEVELS[np.argmax(VOLTS >= 0.995 * LIMIT)])  # the chip's own V(I)
    assert step.results["compliance_current"]["value"] == pytest.approx(first_beyond)
    assert f"compliance reached at {first_beyond:g} A" in step.reason
    for figure in ("forward_voltage", "series_resistance", "ideality_factor"):
        assert np.isfinite(step.results[figure]["value"]), figure
    with h5py.File(tmp_path / "run.h5", "r") as f:
        data = next(iter(f["steps"].values()))["data"]
        assert data["current"].shape[0] == int(np.argmax(VOLTS >= 0.995 * LIMIT))  # kept
        assert np.all(data["voltage"][()] < LIMIT)
    assert outcome.status == "completed"


def test_on_compliance_fail_keeps_the_strict_behaviour(tmp_path):
    params = {"start": float(LEVELS[0]), "stop": float(LEVELS[-1]), "points": LEVELS.size,
              "spacing": "lin", "voltage_limit": LIMIT, "settle": 0.0, "on_compliance": "fail"}
    _, step = run(tmp_path, {"sequence": "liv", "params": params})
    assert step.status == "failed"
    assert "compliance reached" in step.reason and "on_compliance: fail" in step.reason


def test_compliance_at_the_first_point_is_an_open_contact(tmp_path):
    station = StationConfig.load(None)
    station.simulation = {**station.simulation, "faults": [
        {"instrument": "smu", "kind": "compliance", "at_command": 1}]}
    params = {"points": 5, "settle": 0.0}
    _, step = run(tmp_path, {"sequence": "liv", "params": params}, station)
    assert step.status == "failed"
    assert "before the chip conducted: open contact" in step.reason


def test_an_ohmic_short_drops_the_diode_fit_and_keeps_the_rest():
    current = np.linspace(1e-4, 5e-3, 20)
    figures = LIV.analyse({"current": current, "voltage": 10.0 * current,
                           "optical_power": 0.1 * current, "set_current": current},
                          LIV.resolve({}), Sample("short", 20e-6, 450e-9))
    for name in ("series_resistance", "ideality_factor", "saturation_current"):
        assert "not a forward diode" in figures[name][0]
    assert figures["max_optical_power"][0] == pytest.approx(0.1 * 5e-3)
    # V at 1 mA on 10 ohm (interpolated in log I between the samples: within 1 %)
    assert figures["forward_voltage"][0] == pytest.approx(10.0 * 1e-3, rel=0.01)


def test_a_dropped_figure_is_stored_with_its_reason(tmp_path, monkeypatch):
    def no_fit(*args, **kwargs):
        raise ValueError("no diode behaviour")

    monkeypatch.setattr(sequences.dc_analysis, "diode_fit", no_fit)
    _, step = run(tmp_path, {"sequence": "liv", "params": {"points": 6, "settle": 0.0},
                             "limits": {"ideality_factor": [1.0, 3.0]}})
    assert step.status == "completed"
    assert "ideality_factor (no diode behaviour)" in step.reason
    assert step.results["ideality_factor"]["passed"] is False  # its limit cannot pass
    assert np.isfinite(step.results["peak_eqe"]["value"])
    with h5py.File(tmp_path / "run.h5", "r") as f:
        dropped = json.loads(next(iter(f["steps"].values())).attrs["dropped_figures"])
    assert dropped["series_resistance"] == "no diode behaviour"
