"""burn-in on the simulated bench (TEC, simulated clock, degradation): the TM-21 figures against
the degradation law's closed form, Arrhenius E_a over three temperatures, kill and resume."""

from __future__ import annotations

import math
import re

import h5py
import numpy as np
import pytest

import bench.cli
import bench.display
from bench.api import open_run
from bench.cli import main
from sequences import get_sequence
from sequences.lifetime_analysis import K_B_EV, burn_in_activation_energy

# the degradation law the simulator documents (sim_instruments/degradation.py), written out:
# k(J, Tj) = k_ref (J / J_ref)^m exp(-(Ea / k_B) (1 / Tj - 1 / T_ref))
LAW = {"decay_rate": 5.0e-6, "reference_current_density": 1.0e7, "current_exponent": 2.0,
       "activation_energy": 0.6, "reference_temperature": 358.15,
       "series_resistance_growth": 0.5, "leakage_growth": 2.0}
DIAMETER, CURRENT = 20e-6, 5e-3
DURATION = 7.2e4  # s: 20 h of stress, 0.72 s of real time at the clock's 1e5
SPEED = 1.0e5  # a real ms of I/O is 100 s of simulated stress: kept small next to DURATION


def expected_rate(temperature: float) -> float:
    """The law at the stress: J = I / (pi D^2 / 4); T_j = the stage (R_th ~ 0 below)."""
    density = CURRENT / (math.pi * DIAMETER**2 / 4)
    return LAW["decay_rate"] * (density / LAW["reference_current_density"]) \
        ** LAW["current_exponent"] * math.exp(-LAW["activation_energy"] / K_B_EV * (
            1 / temperature - 1 / LAW["reference_temperature"]))


def station(write_yaml):
    return write_yaml("station.yaml", {
        "name": "thermal test bench",
        "instruments": {
            "smu": {"driver": "keithley2450", "simulated": True,
                    "resource": "USB0::0x05E6::0x2450::04400001::INSTR"},
            "power_meter": {"driver": "thorlabs_pm100d", "simulated": True,
                            "resource": "USB0::0x1313::0x8078::P0012345::INSTR"},
            "tec": {"driver": "arroyo_5300", "resource": "/dev/ttyUSB0", "simulated": True}},
        "simulation": {"chip": {"thermal_resistance": 1e-3, "noise": 1e-4},
                       "clock": {"speed": SPEED}, "degradation": LAW}})


def burn_in(temperature, name="burn-in", **extra):
    return {"sequence": "burn-in", "name": name,
            "params": {"current": CURRENT, "temperature": temperature, "duration": DURATION,
                       "checkpoints": 12, "monitor_interval": 3600.0, "hold": 1.0,
                       "stability_timeout": 3600.0, **extra}}


def recipe(write_yaml, *steps):
    return write_yaml("recipe.yaml", {
        "sample": {"id": "chip", "diameter": DIAMETER, "wavelength": 450e-9,
                   "limits": {"max_current": 10e-3, "max_voltage": 6.0, "ramp_step": 10e-3,
                              "min_temperature": 280.0, "max_temperature": 400.0}},
        "steps": list(steps)})


def test_decay_rate_and_projections_against_the_law(tmp_path, write_yaml):
    out = tmp_path / "run.h5"
    assert main(["run", recipe(write_yaml, burn_in(338.15, liv_points=4)), "--station",
                 station(write_yaml), "-o", str(out), "-q"]) == 0
    step = open_run(out).steps["burn-in"]
    assert set(step.results) == set(get_sequence("burn-in").results)  # as declared
    alpha = step.results["decay_rate"]["value"]
    assert alpha == pytest.approx(expected_rate(338.15), rel=0.10)
    b = step.analysis["fitted_output"][0] * math.exp(alpha * step.analysis[
        "output_stress_time"][0])
    l70, l50 = step.results["l70"]["value"], step.results["l50"]["value"]
    limit = 5.5 * step.analysis["output_stress_time"][-1]  # one unit: TM-21's 5.5x
    assert l70 == pytest.approx(math.log(b / 0.7) / alpha, rel=1e-6)
    assert step.results["l70_capped"]["value"] == 0.0
    assert l50 == pytest.approx(min(math.log(b / 0.5) / alpha, limit), rel=1e-6)
    assert step.results["l50_capped"]["value"] == float(math.log(b / 0.5) / alpha > limit)
    assert step.results["forward_voltage_drift"]["value"] > 0  # R_s grows with the damage
    assert step.results["leakage_ratio"]["value"] > 1
    checkpoints = step.data["checkpoint"][step.data["checkpoint"] >= 0]
    np.testing.assert_array_equal(checkpoints, np.arange(13))  # 0, then 12 log-spaced
    for k in range(13):  # a short LIV after each, up to the stress current
        assert step.data[f"liv_current_{k}"] == pytest.approx(np.geomspace(1e-6, CURRENT, 4),
                                                              rel=0.01)
        assert step.data[f"liv_optical_power_{k}"][-1] > 0
    with h5py.File(out, "r") as f:
        assert f.attrs["clock_speed"] == SPEED


def test_activation_energy_from_three_burn_in_steps(tmp_path, write_yaml):
    out = tmp_path / "run.h5"
    steps = [burn_in(t, name=f"burn_in_{int(t)}") for t in (318.15, 338.15, 358.15)]
    assert main(["run", recipe(write_yaml, *steps), "--station", station(write_yaml),
                 "-o", str(out), "-q"]) == 0
    fit = burn_in_activation_energy(open_run(out).steps.values())
    assert fit.activation_energy == pytest.approx(LAW["activation_energy"], rel=0.15)


def interrupt_at(monkeypatch, rows, shown):
    def interrupt(event, payload):
        if event == "progress":
            shown.append(payload["detail"])
            if payload["done"] == rows:
                raise KeyboardInterrupt

    monkeypatch.setattr(bench.display, "Progress", lambda: interrupt)
    monkeypatch.setattr(bench.cli, "Progress", lambda: interrupt, raising=False)


def test_killed_and_resumed_counts_the_stress_once(tmp_path, write_yaml, monkeypatch):
    """Interrupted after 10 rows and resumed: every checkpoint once, the stress time going on
    from the last stored row, and the decay rate a run straight through gives (the resumed
    simulated chip carrying its damage, as the real chip does)."""
    out = tmp_path / "run.h5"
    plan = recipe(write_yaml, burn_in(338.15))
    shown = []
    interrupt_at(monkeypatch, 10, shown)
    assert main(["run", plan, "--station", station(write_yaml), "-o", str(out)]) in (1, 130)
    monkeypatch.undo()
    assert re.fullmatch(r"stress [\d.]+ h of 20 h planned \(hours\)", shown[-1])
    with h5py.File(out, "r") as f:
        (key,) = f["steps"]
        stored = f["steps"][key]["data/stress_time"][()]
    assert stored.size == 10
    # the resumed simulated chip keeps the damage it took (the runner carries it over)
    assert main(["run", "--resume", str(out), "--station", station(write_yaml), "-q"]) == 0
    step = open_run(out).steps["burn-in"]
    time = step.data["stress_time"]
    np.testing.assert_array_equal(time[:10], stored)  # the rows before the kill, kept
    assert np.all(np.diff(time) > 0)  # the stress time goes on, never counted twice
    checkpoints = step.data["checkpoint"][step.data["checkpoint"] >= 0]
    np.testing.assert_array_equal(checkpoints, np.arange(13))
    assert time[-1] == pytest.approx(DURATION, rel=0.02)
    # as a run straight through gives it (test_decay_rate_and_projections_against_the_law)
    assert step.results["decay_rate"]["value"] == pytest.approx(expected_rate(338.15),
                                                                rel=0.10)
