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


class AbortingSweep:
    """An SMU whose instrument-side sweep aborts on compliance after ``measured`` points, as the
    2450 with failAbort ON does (drivers.roles.SweepReadings contract)."""

    name = "smu"

    def __init__(self, voltage, current):
        self.voltage, self.current = np.asarray(voltage), np.asarray(current)

    def __getattr__(self, attr):
        return lambda *args, **kwargs: None

    def _readings(self, levels, **_):
        from drivers.roles import SweepReadings

        n = self.voltage.size
        return SweepReadings(np.asarray(levels)[:n], self.voltage, self.current,
                             stopped_at_compliance=n < len(levels))

    sweep_current = sweep_voltage = _readings


def guard_for(driver):
    from bench.safety import SafeLimits, SourceGuard

    return SourceGuard(driver, SafeLimits(max_current=10e-3, max_voltage=6.0))


def test_a_sweep_the_smu_aborted_after_turn_on_keeps_its_points():
    levels = [1e-3, 2e-3, 3e-3, 4e-3]
    guard = guard_for(AbortingSweep([2.8, 2.9], [1e-3, 2e-3]))  # aborted at the 3rd level
    guard.configure_current_source(voltage_limit=3.0)
    readings = guard.sweep_current(levels)
    assert readings.stopped_at_compliance and readings.source.tolist() == [1e-3, 2e-3]
    guard = guard_for(AbortingSweep([-5.0, -4.0, -3.0], [-1e-8, -1e-8, -1e-8]))
    guard.configure_voltage_source(current_limit=1e-3)
    readings = guard.sweep_voltage([-5.0, -4.0, -3.0, 2.0, 3.0])  # stopped at the forward end
    assert readings.stopped_at_compliance and readings.voltage.size == 3


def test_a_sweep_aborted_at_once_is_an_open_contact_or_a_short():
    from common.errors import ComplianceError

    guard = guard_for(AbortingSweep([3.0], [1e-9]))  # at the limit from the first point
    guard.configure_current_source(voltage_limit=3.0)
    with pytest.raises(ComplianceError, match="before the chip conducted: open contact"):
        guard.sweep_current([1e-3, 2e-3, 3e-3])
    guard = guard_for(AbortingSweep([], []))
    guard.configure_voltage_source(current_limit=1e-3)
    with pytest.raises(ComplianceError, match="current limit 0.001 A within the sweep's first"):
        guard.sweep_voltage([0.5, 1.0, 2.0])


def test_a_current_sweep_aborted_before_any_reading_is_an_open_contact():
    from common.errors import ComplianceError

    guard = guard_for(AbortingSweep([], []))
    guard.configure_current_source(voltage_limit=3.0)
    with pytest.raises(ComplianceError, match="at a programmed 0.001 A .* open contact"):
        guard.sweep_current([1e-3, 2e-3, 3e-3])
