"""Every plot of every sequence, rendered from a run on the built-in simulated bench with
warnings as errors, and checked for what it shows: scales, labels with units, marks at the
stored results, against independent truth (the chip's sample, closed forms, the drawn data)."""

from __future__ import annotations

import io
import math
import re
import warnings

import numpy as np
import pytest
from matplotlib.colors import LogNorm
from scipy import constants

from bench.plots import generic
from bench.recipe import parse_recipe
from bench.report import plot_module, step_plots
from bench.runner import Runner
from bench.station import StationConfig
from bench.storage import read_run

DIAMETER, WAVELENGTH = 20e-6, 450e-9
AREA_CM2 = math.pi * DIAMETER**2 / 4 * 1e4
STEPS = [
    {"sequence": "liv", "params": {"points": 20, "settle": 0, "stop": 10e-3}},
    {"sequence": "liv", "name": "liv_lin",
     "params": {"points": 10, "settle": 0, "start": 0.5e-3, "stop": 5e-3, "spacing": "lin"}},
    {"sequence": "iv", "params": {"points": 20}},
    {"sequence": "iv", "name": "iv_reverse",
     "params": {"source": "voltage", "start": -3.0, "stop": 3.2, "points": 16,
                "spacing": "lin", "reference_current": 1e-4}},
    {"sequence": "bandwidth", "params": {"points": 61, "bias_currents": [1e-3, 3e-3, 10e-3]}},
    {"sequence": "pulse-response", "params": {"acquisitions": 3}},
    {"sequence": "eye", "params": {"acquisitions": 2, "record_bits": 300}},
    {"sequence": "spectrum", "params": {"currents": [0.5e-3, 2e-3, 10e-3]}},
]
# what each sequence's module draws (file-name parts), in order
EXPECTED = {"liv": ["li", "iv", "efficiency"], "liv_lin": ["li", "iv", "efficiency"],
            "iv": ["iv"], "iv_reverse": ["iv"], "bandwidth": ["response", "per_bias"],
            "pulse-response": ["edges"], "eye": ["eye"], "spectrum": ["spectra", "per_current"]}


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    path = tmp_path_factory.mktemp("plots") / "every-sequence.h5"
    recipe = parse_recipe({
        "sample": {"id": "W1", "diameter": DIAMETER, "wavelength": WAVELENGTH,
                   "limits": {"max_current": 20e-3, "max_voltage": 6.0,
                              "max_reverse_voltage": 10.0}},
        "steps": STEPS})
    outcome = Runner(StationConfig.load(None), recipe, path).run()
    assert outcome.status == "completed", outcome.reason
    return read_run(path)


@pytest.fixture(scope="module")
def drawn(record):
    """step name -> {part: figure}, every figure drawn to PNG with warnings as errors."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for step in record.steps:
            plots = step_plots(step, record.sample)
            for _, _, fig in plots:
                fig.savefig(io.BytesIO(), format="png")
            out[step.name] = {part: fig for part, _, fig in plots}
    return out


def steps(record):
    return {step.name: step for step in record.steps}


def data_axes(fig):
    """The figure's plotting axes (not colour bars or secondary axes)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"
            and type(ax).__name__ != "SecondaryAxis"]


def test_every_sequence_draws_its_own_plots_with_labels_units_and_titles(record, drawn):
    for name, parts in EXPECTED.items():
        assert list(drawn[name]) == parts, name
    for name, figures in drawn.items():
        for part, fig in figures.items():
            assert fig.get_layout_engine() is not None  # constrained: labels do not overlap
            title = fig.get_suptitle() or data_axes(fig)[0].get_title()
            assert title.startswith(f"{name}: ") and len(title) > len(name) + 8, (name, part)
            axes = data_axes(fig)
            for ax in axes:  # a panel sharing an axis takes the label of its neighbour
                x_label = ax.get_xlabel() or axes[-1].get_xlabel()
                y_label = ax.get_ylabel() or axes[0].get_ylabel()
                assert re.search(r"\(\S+\)", x_label), (name, part, x_label)  # with its unit
                assert re.search(r"\(\S+\)", y_label) or "normalised" in y_label, \
                    (name, part, y_label)


def test_dispatch_by_sequence_name_with_a_generic_fallback():
    assert plot_module("pulse-response").__name__ == "bench.plots.pulse_response"
    assert plot_module("liv").__name__ == "bench.plots.liv"
    for name in ("no-such-sequence", "axes", "generic", "../liv", "liv.x"):
        assert plot_module(name) is generic


# -- liv and iv ------------------------------------------------------------------------------------
def test_liv_log_sweep_is_log_log_and_lin_sweep_linear(record, drawn):
    for name, scale in (("liv", "log"), ("liv_lin", "linear")):
        step = steps(record)[name]
        ax = drawn[name]["li"].axes[0]
        assert (ax.get_xscale(), ax.get_yscale()) == (scale, scale)
        assert ax.get_xlabel().startswith("current (mA)")
        line = ax.get_lines()[0]
        assert np.allclose(line.get_xdata(), step.data["current"] * 1e3)
        assert np.allclose(line.get_ydata(), step.data["optical_power"] * 1e3)
        assert "optical power (mW)" in ax.get_ylabel()


def test_iv_is_semilog_for_a_log_sweep_and_linear_beside_log_for_a_reverse_lin_sweep(
        record, drawn):
    for name in ("liv", "iv"):
        step = steps(record)[name]
        (ax,) = drawn[name]["iv"].axes
        assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "log")
        assert ax.get_xlabel() == "voltage (V)" and "|current| (mA)" in ax.get_ylabel()
        assert np.allclose(ax.get_lines()[0].get_ydata(), np.abs(step.data["current"]) * 1e3)
        star = next(line for line in ax.get_lines() if "forward voltage" in line.get_label())
        assert star.get_xdata()[0] == pytest.approx(step.results["forward_voltage"]["value"])
        assert star.get_ydata()[0] == pytest.approx(step.params["reference_current"] * 1e3)
    step = steps(record)["iv_reverse"]
    linear, log = drawn["iv_reverse"]["iv"].axes
    assert (linear.get_yscale(), log.get_yscale()) == ("linear", "log")
    assert step.data["voltage"].min() < 0  # the reverse branch is on both panels
    unit = 1e3 if "(mA)" in linear.get_ylabel() else 1e6
    assert np.allclose(linear.get_lines()[0].get_ydata(), step.data["current"] * unit)


def test_efficiency_against_current_density_in_a_per_cm2(record, drawn):
    step = steps(record)["liv"]
    ax = drawn["liv"]["efficiency"].axes[0]
    assert ax.get_xscale() == "log" and "A/cm²" in ax.get_xlabel()
    assert "%" in ax.get_ylabel()
    current, power = step.data["current"], step.data["optical_power"]
    eqe = power / (constants.h * constants.c / WAVELENGTH) / (current / constants.e)
    line = next(line for line in ax.get_lines() if line.get_label() == "EQE")
    assert np.allclose(line.get_xdata(), current / AREA_CM2)
    assert np.allclose(line.get_ydata(), 100 * eqe)
    star = next(line for line in ax.get_lines() if "peak EQE" in line.get_label())
    assert star.get_ydata()[0] == pytest.approx(100 * step.results["peak_eqe"]["value"])
    assert star.get_ydata()[0] == pytest.approx(100 * np.max(eqe), rel=0.01)  # at the top


# -- bandwidth -------------------------------------------------------------------------------------
def test_bandwidth_response_normalised_with_the_minus_3_db_line_and_each_f3db(record, drawn):
    step = steps(record)["bandwidth"]
    ax = drawn["bandwidth"]["response"].axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel().startswith("frequency (GHz)")
    assert "dB" in ax.get_ylabel() and "normalised" in ax.get_ylabel()
    lines = ax.get_lines()
    assert any(np.all(np.asarray(line.get_ydata()) == -3) and len(line.get_xdata()) == 2
               for line in lines)  # the -3 dB line
    curves = [line for line in lines if len(line.get_xdata()) > 2]
    f3db = step.analysis["f3db_per_bias"]
    assert len(curves) == f3db.size == 3
    marks = [line for line in lines if len(line.get_xdata()) == 1
             and line.get_ydata()[0] == -3]
    assert np.allclose([m.get_xdata()[0] for m in marks], f3db / 1e9)
    assert max(m.get_xdata()[0] for m in marks) == \
        pytest.approx(step.results["f3db"]["value"] / 1e9)  # the result: the highest bias
    for curve, f in zip(curves, f3db, strict=True):
        x, y = np.log10(curve.get_xdata()), np.asarray(curve.get_ydata())
        assert abs(y[0]) < 0.3  # normalised to its low-frequency level
        assert np.interp(np.log10(f / 1e9), x, y) == pytest.approx(-3.0, abs=0.15)
    assert np.all(np.diff(f3db) > 0)  # faster at higher current (shorter lifetime)


def test_f3db_and_lifetime_against_current_density_on_log_axes(record, drawn):
    step = steps(record)["bandwidth"]
    top, bottom = drawn["bandwidth"]["per_bias"].axes
    for ax in (top, bottom):
        assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert "A/cm²" in bottom.get_xlabel() and "(GHz)" in top.get_ylabel()
    f3db = next(line for line in top.get_lines() if line.get_label() == "f3dB")
    assert np.allclose(f3db.get_xdata(), step.analysis["bias_current"] / AREA_CM2)
    assert np.allclose(f3db.get_ydata(), step.analysis["f3db_per_bias"] / 1e9)
    rc = next(line for line in top.get_lines() if "RC limit" in line.get_label())
    assert rc.get_ydata()[0] == pytest.approx(
        1 / (2 * math.pi * step.results["rc_time_constant"]["value"]) / 1e9)


# -- pulse response --------------------------------------------------------------------------------
def test_pulse_edges_zoomed_with_10_90_levels_on_the_delay_corrected_axis(record, drawn):
    step = steps(record)["pulse-response"]
    rising, falling = drawn["pulse-response"]["edges"].axes
    run = step.params["run_bits"] / step.params["bit_rate"]
    delay, rise = (step.results[n]["value"] for n in ("propagation_delay", "rise_time"))
    for ax in (rising, falling):
        assert "time from the drive edge at the chip (ns)" == ax.get_xlabel()
        low, high = ax.get_xlim()
        assert (high - low) * 1e-9 < 0.2 * run  # zoomed on the edge, not the whole record
        levels = sorted(line.get_ydata()[0] for line in ax.get_lines()
                        if len(line.get_xdata()) == 2 and line.get_ydata()[0]
                        == line.get_ydata()[1] and line.get_linestyle() == "--")
        assert levels == [0.1, 0.9]
    mean = next(line for line in rising.get_lines() if line.get_label().startswith("mean"))
    t, y = np.asarray(mean.get_xdata()) * 1e-9, np.asarray(mean.get_ydata())
    assert y[0] == pytest.approx(0, abs=0.05) and y[-1] == pytest.approx(1, abs=0.05)
    # the set-up's skew (2.5 ns on the built-in bench) is removed: the 50 % point of the drawn
    # edge is the stored propagation delay, not delay + skew
    t50 = np.interp(0.5, y[: np.argmax(y >= 0.9)], t[: np.argmax(y >= 0.9)])
    assert t50 == pytest.approx(delay, abs=30e-12)
    assert float(step.data["setup_skew"]) > 10 * 30e-12
    t10, t90 = (np.interp(q, y[: np.argmax(y >= 0.95)], t[: np.argmax(y >= 0.95)])
                for q in (0.1, 0.9))
    assert t90 - t10 == pytest.approx(rise, rel=0.1)  # de-embedding removes only a little
    fall_mean = next(line for line in falling.get_lines() if line.get_label().startswith("mean"))
    assert fall_mean.get_ydata()[0] == pytest.approx(1, abs=0.05)
    assert fall_mean.get_ydata()[-1] == pytest.approx(0, abs=0.05)


# -- eye -------------------------------------------------------------------------------------------
def test_eye_is_a_two_ui_log_density_with_its_figures_drawn(record, drawn):
    step = steps(record)["eye"]
    fig = drawn["eye"]["eye"]
    (ax,) = data_axes(fig)
    ui_ns = 1e9 / step.params["bit_rate"]
    assert ax.get_xlim() == pytest.approx((0, 2 * ui_ns))
    (image,) = ax.get_images()
    assert isinstance(image.norm, LogNorm)
    left, right, _, _ = image.get_extent()
    assert (left, right) == pytest.approx((0, 2 * ui_ns))
    counts = np.ma.filled(image.get_array(), 0)
    assert np.all(counts.sum(axis=0) > 0)  # continuous: every time bin holds samples
    lines = {line.get_label().split(" ")[0] + " " + line.get_label().split(" ")[1]: line
             for line in ax.get_lines() if not line.get_label().startswith("_")}
    one, zero = (lines[f"{n} level"].get_ydata()[0] for n in ("one", "zero"))
    assert one / zero == pytest.approx(step.results["extinction_ratio"]["value"], rel=1e-9)
    height = lines["eye height"]
    assert np.ptp(height.get_ydata()) == pytest.approx(
        step.results["eye_height"]["value"] * 1e3, rel=1e-9)
    assert zero < min(height.get_ydata()) < max(height.get_ydata()) < one
    width = lines["eye width"]
    assert np.ptp(width.get_xdata()) == pytest.approx(
        step.results["eye_width"]["value"] * 1e9, rel=1e-9)
    assert np.mean(width.get_xdata()) == pytest.approx(ui_ns / 2)  # at the eye centre
    assert "(mV)" in ax.get_ylabel() and ax.get_xlabel().startswith("time (ns)")


def test_no_unreadable_plots(drawn):
    """No whole PRBS record, no two-point secant line, no raw scope records."""
    for figures in drawn.values():
        for fig in figures.values():
            for ax in data_axes(fig):
                assert "secant" not in ax.get_xlabel() + ax.get_ylabel() + ax.get_title()
    assert "optical" not in drawn["eye"] and "secant_current" not in drawn["eye"]


def test_a_closed_eye_is_drawn_as_its_density_without_figures(record, monkeypatch):
    """When the analysis finds no eye (too few ones or zeros at the centre) the density is still
    drawn, over 2 UI, with no levels or bars."""
    from sequences import dynamic_analysis

    def no_eye(*args, **kwargs):
        raise ValueError("the eye centre holds too few ones or zeros: no eye")

    monkeypatch.setattr(dynamic_analysis, "eye_figures", no_eye)
    step = steps(record)["eye"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (part, _, fig), = step_plots(step, record.sample)
        fig.savefig(io.BytesIO(), format="png")
    (ax,) = data_axes(fig)
    assert part == "eye" and len(ax.get_images()) == 1 and not ax.get_lines()
    assert ax.get_xlim() == pytest.approx((0, 2e9 / step.params["bit_rate"]))


def test_no_two_labels_overlap(drawn):
    """Titles, axis labels and tick labels of every figure, as drawn: no two boxes overlap."""
    for name, figures in drawn.items():
        for part, fig in figures.items():
            renderer = fig.canvas.get_renderer()
            texts = [fig._suptitle] if fig._suptitle else []
            for ax in fig.axes:
                texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
                low, high = sorted(ax.get_xlim())  # tick labels outside the view are not drawn
                texts += [t for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high]
                low, high = sorted(ax.get_ylim())
                texts += [t for t in ax.get_yticklabels() if low <= t.get_position()[1] <= high]
            boxes = [t.get_window_extent(renderer) for t in texts
                     if t.get_visible() and t.get_text().strip()]
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    overlap = min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0)
                    assert min(overlap) <= 1, (name, part)  # a pixel of anti-aliasing


def test_the_report_of_every_sequence_embeds_every_plot(record, tmp_path):
    from bench.report import write_report

    report = write_report(record.path, tmp_path / "out")
    assert len(report.plots) == sum(len(parts) for parts in EXPECTED.values())
    page = report.html.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(report.plots)
