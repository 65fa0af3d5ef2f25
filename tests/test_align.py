"""``align``: the Gaussian line fit against closed forms, and the whole search on a stage whose
coupled power is a hidden Gaussian mode overlap (fakes of the roles, no simulator)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from bench.plots import align as align_plots
from bench.report import plot_module
from bench.safety import SafeLimits
from common.errors import ConfigError, LimitError
from sequences.align import (
    SCANS,
    Align,
    align_figures,
    gaussian_peak,
    last_line,
    lorentzian_peak,
)
from tests.conftest import analysed_step, drawn_plots

W = 4e-6  # mode field radius of the hidden mode (m)
ONE_DB = W * math.sqrt(0.1 * math.log(10))  # exp(-d^2 / w^2) has lost 1 dB at this offset


def overlap(x, y, z, optimum=(3.3e-6, -5.1e-6, 12e-6), zr=20e-6, peak=1e-4):
    """Coupled power of two identical Gaussian beams offset by (dx, dy, dz) (Joyce and DeLoach,
    Appl. Opt. 23, 4187 (1984)): P0 exp(-(dx^2 + dy^2) / (w^2 g)) / g, g = 1 + (dz / 2 zr)^2."""
    dx, dy, dz = x - optimum[0], y - optimum[1], z - optimum[2]
    g = 1 + (dz / (2 * zr)) ** 2
    return peak * np.exp(-(dx**2 + dy**2) / (W**2 * g)) / g


def test_gaussian_peak_gives_the_centre_and_the_1db_half_width_in_closed_form():
    x = np.linspace(-10e-6, 10e-6, 21)
    centre, peak, tolerance = gaussian_peak(x, overlap(x, -5.1e-6, 12e-6))
    assert centre == pytest.approx(3.3e-6, abs=1e-12)
    assert peak == pytest.approx(1e-4, rel=1e-9)
    assert tolerance == pytest.approx(ONE_DB, rel=1e-9)


def test_lorentzian_peak_finds_the_focus_of_an_off_centre_axial_line():
    z = np.linspace(-50e-6, 50e-6, 11)  # the focus at 12 um, off the line's centre
    centre, peak = lorentzian_peak(z, overlap(3.3e-6, -5.1e-6, z))
    assert centre == pytest.approx(12e-6, abs=1e-12)
    assert peak == pytest.approx(1e-4, rel=1e-9)


@pytest.mark.parametrize(("x", "power", "words"), [
    (np.linspace(0, 1, 5), np.zeros(5), "no light"),
    (np.linspace(0, 1, 5), np.array([1.0, 2, 3, 4, 5]), "outside"),
    (np.linspace(0, 1, 5), np.array([5.0, 1, 0.5, 1, 5]), "no maximum"),
    (np.linspace(0, 1, 5), np.array([0.0, 0, 1, 0, 0]), "fewer than 3"),
    (np.linspace(0, 1, 3), np.array([1.0, math.nan, 1]), "finite"),
])
def test_gaussian_peak_refuses_a_line_without_a_peak_inside_it(x, power, words):
    with pytest.raises(ValueError, match=words):
        gaussian_peak(x, power)


class Stage:
    axes = ("x", "y", "z")

    def __init__(self, travel=(-1e-3, 1e-3)):
        self.name, self.where, self.moves, self._travel = "stage", dict(x=0.0, y=0.0, z=0.0), \
            [], travel

    def travel(self, axis):
        return self._travel

    def move_to(self, **m):
        assert all(self._travel[0] <= value <= self._travel[1] for value in m.values())
        self.where.update(m)
        self.moves.append(dict(m))

    def position(self):
        return dict(self.where)


class Context:
    def __init__(self):
        self.rows = {name: [] for name in Align.columns}
        self.sample = SimpleNamespace(wavelength=450e-9)

    def points(self, **columns):
        for name, value in columns.items():
            self.rows[name].append(value)

    def sleep(self, seconds):
        pass

    def data(self):
        return {name: np.array(values) for name, values in self.rows.items()}


def run_search(rng=None, **changes):
    params = Align.resolve(changes)
    stage, ctx = Stage(), Context()
    noise = rng or np.random.default_rng(5)
    meter = SimpleNamespace(read_power=lambda: float(
        overlap(**stage.where) * (1 + 1e-3 * noise.standard_normal())))
    center = {axis: 0.0 for axis in "xyz"}
    Align().search(ctx, stage, meter, params, center, stage.position())
    return params, stage, ctx.data()


def test_the_search_finds_the_hidden_optimum_and_its_1db_tolerances():
    params, stage, data = run_search(emitted_power=4e-4)
    assert data["scan"].size == Align.planned_points(params)
    figures = align_figures(data, params)
    assert figures["peak_x"][0] == pytest.approx(3.3e-6, abs=0.1e-6)
    assert figures["peak_y"][0] == pytest.approx(-5.1e-6, abs=0.1e-6)
    assert figures["peak_z"][0] == pytest.approx(12e-6, abs=1e-6)
    for axis in "xy":
        assert figures[f"tolerance_{axis}"][0] == pytest.approx(ONE_DB, rel=0.05)
    assert figures["peak_power"][0] == pytest.approx(1e-4, rel=0.01)
    assert figures["coupling_efficiency"][0] == pytest.approx(0.25, rel=0.01)
    assert figures["coupling_efficiency"][2] == {"bias_current": (1e-3, "A")}
    assert stage.where["x"] == pytest.approx(3.3e-6, abs=0.1e-6)  # the stage ends at the peak
    assert stage.where["y"] == pytest.approx(-5.1e-6, abs=0.1e-6)
    raster = figures["raster_power"][0]
    assert raster.shape == (9, 9) and figures["raster_x"][0].size == 9
    iy, ix = np.unravel_index(np.argmax(raster), raster.shape)
    assert abs(figures["raster_x"][0][ix] - 3.3e-6) <= 2.5e-6
    assert abs(figures["raster_y"][0][iy] + 5.1e-6) <= 2.5e-6


def test_without_emitted_power_the_efficiency_is_dropped_with_its_reason():
    params, _, data = run_search(z_points=0)
    figures = align_figures(data, params)
    assert "emitted_power" in figures["coupling_efficiency"][0]
    assert figures["peak_z"] == (0.0, "m")  # no z line: where the stage was
    assert not np.any(data["scan"] == SCANS.index("z"))


def test_last_line_takes_the_last_run_of_a_scan():
    scan = np.array([0, 0, 1, 1, 2, 2, 1, 1, 1, 4])
    assert list(last_line(scan, 1)) == [6, 7, 8]
    with pytest.raises(ValueError, match="no z line"):
        last_line(scan, 3)


def test_a_search_beyond_the_travel_limits_is_refused_before_the_first_move():
    stage = Stage(travel=(-15e-6, 1e-3))
    params = Align.resolve({"center_x": 0.0, "center_y": 0.0, "center_z": 0.0})
    smu = SimpleNamespace()  # any call on it would fail the test
    roles = {"positioner": stage, "power_meter": SimpleNamespace(), "smu": smu}
    ctx = SimpleNamespace(role=roles.__getitem__, has_role=lambda name: name in roles)
    with pytest.raises(LimitError, match="beyond the travel limits"):
        Align().acquire(ctx, params)
    assert stage.moves == []
    plan = Align.plan(params, SimpleNamespace(wavelength=450e-9), None, {})
    half = 20e-6 + 5e-6  # half the raster plus half a fine line (two raster steps)
    assert plan["positioner"]["positions"]["x"] == pytest.approx((-half, half))
    assert plan["positioner"]["positions"]["z"] == pytest.approx((-50e-6, 50e-6))


def test_a_positioner_without_z_is_refused_for_a_z_search():
    stage = Stage()
    stage.axes = ("x", "y")
    ctx = SimpleNamespace(role={"positioner": stage, "power_meter": None, "smu": None}.get)
    with pytest.raises(ConfigError, match="axes"):
        Align().acquire(ctx, Align.resolve({}))


def test_limits_are_checked():
    limits = SafeLimits(max_current=10e-3, max_voltage=6.0)
    with pytest.raises(LimitError, match="max_current"):
        Align.check_limits(Align.resolve({"drive_current": 20e-3}), limits)
    with pytest.raises(ConfigError):
        Align.resolve({"coarse_points": 2})


# -- plots in bench report ---------------------------------------------------------------------
SAMPLE = {"id": "A1", "diameter": 20e-6, "wavelength": 450e-9}


def test_the_report_draws_the_raster_with_the_peak_and_the_1db_ellipse():
    assert plot_module("align") is align_plots
    params, _, data = run_search()
    step = analysed_step("align", "align", data, params, align_figures(data, params))
    figures = drawn_plots(align_plots.plots(step, SAMPLE))
    assert list(figures) == ["raster", "lines"]
    ax = figures["raster"].axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), step.analysis["raster_power"] * 1e6)
    star = next(line for line in ax.get_lines() if line.get_marker() == "*")
    assert star.get_xdata()[0] == pytest.approx(step.results["peak_x"]["value"] * 1e6)
    assert star.get_ydata()[0] == pytest.approx(step.results["peak_y"]["value"] * 1e6)
    assert ax.get_xlabel() == "x (\u00b5m)"
    lateral, axial = figures["lines"].axes
    assert {line.get_label() for line in lateral.get_lines()} >= {"x line", "y line"}
    assert "z line" in {line.get_label() for line in axial.get_lines()}
    ticks = [line for line in lateral.get_lines() if line.get_marker() == "|"]
    assert ticks[0].get_xdata()[1] == pytest.approx(
        step.results["tolerance_x"]["value"] * 1e6)
