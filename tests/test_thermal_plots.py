"""The burn-in and temperature-sweep plots of ``bench report``, drawn from steps analysed from
closed-form data: what they show (hours on the stress axis, the fit, the L70 mark, a curve per
temperature, the Vf line's slope) checked against the data and results they were given."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_temperature_sweep import sweep_data  # closed-form LIVs over temperature

from bench.report import step_plots
from bench.storage import StepRecord
from sequences import get_sequence
from sequences.base import Sample
from tests.conftest import analysed_step, drawn_plots

SAMPLE = Sample("synthetic", diameter=20e-6, wavelength=450e-9)
HOUR = 3600.0


def analysed(sequence: str, data: dict, params: dict) -> StepRecord:
    """A step as the report reads it: raw data, derived arrays and judged results."""
    cls = get_sequence(sequence)
    params = cls.resolve(params)
    return analysed_step(sequence, sequence, data, params, cls.analyse(data, params, SAMPLE))


def drawn(step: StepRecord) -> dict:
    return drawn_plots(step_plots(step, {"diameter": SAMPLE.diameter,
                                         "wavelength": SAMPLE.wavelength}))


def burn_in_step(alpha: float) -> StepRecord:
    checkpoints = np.concatenate([[0.0], np.geomspace(10 * HOUR, 1000 * HOUR, 10)])
    monitor = np.linspace(50, 950, 10) * HOUR
    time = np.concatenate([checkpoints, monitor])
    index = np.concatenate([np.arange(checkpoints.size), np.full(monitor.size, -1.0)])
    power = 1e-3 * np.exp(-alpha * time)
    data = {"stress_time": time, "checkpoint": index.astype(float), "current": np.full(
        time.size, 5e-3), "forward_voltage": 3.1 + 1e-8 * time, "optical_power": power,
        "leakage_current": np.where(index >= 0, 1e-11 * (1 + time / 3.6e6), np.nan),
        "stage_temperature": np.full(time.size, 358.15)}
    return analysed("burn-in", data, {"duration": 1000 * HOUR, "temperature": 358.15})


def test_burn_in_maintenance_in_hours_with_the_fit_and_l70():
    alpha = 1e-7  # L70 ~ 991 h: within the test
    step = burn_in_step(alpha)
    figures = drawn(step)
    assert list(figures) == ["maintenance", "drift"]
    ax = figures["maintenance"].axes[0]
    assert ax.get_xlabel() == "stress time (h)"
    lines = {line.get_label(): line for line in ax.get_lines()}
    checkpoints = lines["checkpoints"]
    np.testing.assert_allclose(checkpoints.get_xdata()[-1], 1000.0, rtol=1e-9)  # hours
    np.testing.assert_allclose(checkpoints.get_ydata(), np.exp(
        -alpha * checkpoints.get_xdata() * HOUR), rtol=1e-9)
    (fit,) = [line for label, line in lines.items() if label.startswith("TM-21 fit")]
    np.testing.assert_allclose(fit.get_ydata(), np.exp(-alpha * fit.get_xdata() * HOUR),
                               rtol=1e-6)
    assert fit.get_xdata().min() >= 500.0  # drawn solid over its window, the last half
    (l70,) = [line for label, line in lines.items() if label.startswith("L70")]
    assert l70.get_xdata()[0] == pytest.approx(math.log(1 / 0.7) / alpha / HOUR, rel=1e-6)


def test_a_capped_l70_is_drawn_at_the_limit_and_says_so():
    step = burn_in_step(1e-9)  # L70 ~ 99,000 h: beyond 5.5 x 1000 h
    labels = [line.get_label() for line in drawn(step)["maintenance"].axes[0].get_lines()]
    (label,) = [text for text in labels if text.startswith("L70")]
    assert label == "L70 > 5500 h (TM-21 limit)"


def test_temperature_sweep_draws_a_curve_per_temperature_and_vf_against_t():
    temperatures = [298.15, 318.15, 338.15, 358.15]
    data = sweep_data(temperatures, np.geomspace(1e-6, 5e-3, 20))
    step = analysed("temperature-sweep", data, {
        "temperatures": temperatures, "inner_parameters": {"points": 20}})
    figures = drawn(step)
    assert list(figures) == ["curves", "vf"]
    li, eqe = figures["curves"].axes
    assert [line.get_label() for line in li.get_lines()] == [f"{t:g} K" for t in temperatures]
    assert len(eqe.get_lines()) == 4 and li.get_xscale() == "log"
    vf_ax = figures["vf"].axes[0]
    measured, line = vf_ax.get_lines()
    np.testing.assert_allclose(measured.get_xdata(), temperatures)
    np.testing.assert_allclose(measured.get_ydata(),
                               step.analysis["forward_voltage_at_reference"])
    slope = np.diff(line.get_ydata())[0] / np.diff(line.get_xdata())[0]
    assert slope == pytest.approx(step.results["vf_temperature_coefficient"]["value"])
