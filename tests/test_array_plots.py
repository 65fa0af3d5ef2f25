"""``array-map`` and ``align`` plots, drawn from steps built from seeded data: the images hold
the maps in display units, the marks sit on the seeded emitters and at the found peak."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from test_align import run_search
from test_array_map import DEAD_DARK, DEAD_OPEN, LEAKY, SHORTED, WAVELENGTH, seeded_rows

from bench.plots import align as align_plots
from bench.plots import array_map as map_plots
from bench.report import plot_module
from bench.storage import StepRecord
from sequences.align import Align, align_figures
from sequences.array_map import ArrayMap, map_figures
from sequences.base import split_figures

SAMPLE = {"id": "A1", "diameter": 20e-6, "wavelength": WAVELENGTH}


def record(name, sequence, data, params, figures) -> StepRecord:
    scalars, arrays = split_figures(figures)
    return StepRecord(
        name=name, sequence=sequence, status="completed", reason="", params=params, limits={},
        data=data, analysis={k: v for k, (v, _) in arrays.items()},
        analysis_units={k: u for k, (_, u) in arrays.items()},
        results={k: {"value": v, "units": u} for k, (v, u, _) in scalars.items()})


def drawn(module, step):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots = module.plots(step, SAMPLE)
        for _, _, fig in plots:
            fig.savefig(io.BytesIO(), format="png")
    return {part: fig for part, _, fig in plots}


def test_the_report_finds_both_modules():
    assert plot_module("array-map") is map_plots and plot_module("align") is align_plots


def test_array_maps_are_images_of_the_maps_with_the_seeded_emitters_marked():
    params = ArrayMap.resolve({"rows": 8, "columns": 8})
    data = seeded_rows()
    step = record("map", "array-map", data, params, map_figures(data, params, WAVELENGTH))
    figures = drawn(map_plots, step)
    assert list(figures) == ["maps", "classes", "histograms"]
    vf_ax, power_ax, leak_ax = [ax for ax in figures["maps"].axes
                                if ax.get_label() != "<colorbar>"]
    np.testing.assert_allclose(power_ax.images[0].get_array(),
                               step.analysis["optical_power_map"] * 1e6)  # in uW
    assert any(ax.get_ylabel() == "optical power (\u00b5W)" for ax in figures["maps"].axes)
    assert leak_ax.images[0].norm.__class__.__name__ == "LogNorm"
    marks = {line.get_marker(): set(zip(np.asarray(line.get_ydata()).astype(int),
                                        np.asarray(line.get_xdata()).astype(int),
                                        strict=True)) for line in vf_ax.get_lines()}
    assert marks["x"] == {DEAD_OPEN, DEAD_DARK}
    assert marks["s"] == set(SHORTED) and marks["^"] == set(LEAKY)
    classes_ax = figures["classes"].axes[0]
    assert "yield 89.1 %" in classes_ax.get_title()
    power_hist, _ = figures["histograms"].axes
    counted = sum(patch.get_height() for patch in power_hist.patches)
    assert counted == 64 - 1 - len(SHORTED)  # the open and the shorted ones left out


def test_align_raster_with_the_peak_and_the_1db_ellipse():
    params, _, data = run_search()
    step = record("align", "align", data, params, align_figures(data, params))
    figures = drawn(align_plots, step)
    assert list(figures) == ["raster", "lines"]
    ax = figures["raster"].axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), step.analysis["raster_power"] * 1e6)
    star = next(line for line in ax.get_lines() if line.get_marker() == "*")
    assert star.get_xdata()[0] == pytest.approx(step.results["peak_x"]["value"] * 1e6)
    assert star.get_ydata()[0] == pytest.approx(step.results["peak_y"]["value"] * 1e6)
    assert ax.get_xlabel() == "x (\u00b5m)"
    lines = figures["lines"].axes[0]
    assert {line.get_label() for line in lines.get_lines()} >= {"x line", "y line", "z line"}
    ticks = [line for line in lines.get_lines() if line.get_marker() == "|"]
    assert ticks[0].get_xdata()[1] == pytest.approx(
        step.results["tolerance_x"]["value"] * 1e6)
    assert Align.name == "align"
