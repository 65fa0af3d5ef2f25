"""``array-map``: classification, maps and figures against seeded truth (pure analysis), the
checks before anything moves, and the emitters a resumed map still has to test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.plots import array_map as map_plots
from bench.report import plot_module
from bench.safety import SafeLimits
from common.errors import ConfigError, LimitError
from sequences.array_map import CLASSES, ArrayMap, classify, map_figures
from tests.conftest import analysed_step, drawn_plots

ROWS, COLUMNS = 8, 8
WAVELENGTH = 450e-9
DEAD_OPEN, DEAD_DARK, SHORTED = (1, 2), (5, 7), [(0, 0), (6, 3)]
LEAKY, WEAK = [(3, 3), (7, 0)], (4, 4)


def seeded_rows(seed: int = 3) -> dict[str, np.ndarray]:
    """One row per emitter of an 8 x 8 array: Vf 3.0 V with 2 % spread, power 100 uW with 8 %
    spread, 5 pA leakage, and the seeded defects above."""
    rng = np.random.default_rng(seed)
    r, c = np.divmod(np.arange(ROWS * COLUMNS), COLUMNS)
    vf = 3.0 * (1 + 0.02 * rng.standard_normal(r.size))
    power = 100e-6 * (1 + 0.08 * rng.standard_normal(r.size))
    leak = -5e-12 * np.ones(r.size)

    def at(rc):
        return rc[0] * COLUMNS + rc[1]
    vf[at(DEAD_OPEN)], power[at(DEAD_OPEN)] = math.nan, 1e-12
    power[at(DEAD_DARK)] = 1e-8
    for rc in SHORTED:
        vf[at(rc)], power[at(rc)], leak[at(rc)] = 0.01, 0.0, -1e-4
    for rc in LEAKY:
        leak[at(rc)] = -50e-9
    power[at(WEAK)] = 30e-6
    return {"row": r.astype(float), "column": c.astype(float), "forward_voltage": vf,
            "forward_current": np.where(np.isnan(vf), np.nan, 1e-3), "optical_power": power,
            "reverse_current": leak}


def params(**changes):
    return ArrayMap.resolve({"rows": ROWS, "columns": COLUMNS, **changes})


def test_the_classification_finds_exactly_the_seeded_emitters():
    figures = map_figures(seeded_rows(), params(), WAVELENGTH)
    classes = figures["classification_map"][0]
    assert classes.shape == (ROWS, COLUMNS)
    found = {name: sorted(zip(*np.nonzero(classes == code), strict=True))
             for code, name in enumerate(CLASSES) if name != "good"}
    assert found == {"dead": sorted([DEAD_OPEN, DEAD_DARK]), "short": sorted(SHORTED),
                     "leaky": sorted(LEAKY), "weak": [WEAK]}
    assert figures["dead_count"][0] == 2 and figures["short_count"][0] == 2
    assert figures["leaky_count"][:2] == (2.0, "")
    assert figures["leaky_count"][2] == {"reverse_voltage": (-5.0, "V")}
    assert figures["weak_count"][0] == 1 and figures["tested_count"][0] == 64
    assert figures["yield"][0] == pytest.approx(57 / 64)


def test_maps_are_rows_by_columns_of_the_rows_given_and_the_cvs_those_of_the_good_ones():
    data = seeded_rows()
    figures = map_figures(data, params(), WAVELENGTH)
    vf_map, units = figures["forward_voltage_map"]
    assert units == "V" and vf_map.shape == (ROWS, COLUMNS)
    assert vf_map[2, 5] == data["forward_voltage"][2 * COLUMNS + 5]
    assert figures["optical_power_map"][0][4, 4] == pytest.approx(30e-6)
    assert figures["reverse_current_map"][0][3, 3] == pytest.approx(-50e-9)
    bad = {DEAD_OPEN, DEAD_DARK, WEAK, *SHORTED, *LEAKY}
    good = [k for k in range(ROWS * COLUMNS) if divmod(k, COLUMNS) not in bad]
    power, vf = data["optical_power"][good], data["forward_voltage"][good]
    assert figures["power_cv"][0] == pytest.approx(power.std(ddof=1) / power.mean())
    assert figures["vf_cv"][0] == pytest.approx(vf.std(ddof=1) / vf.mean())
    assert figures["power_cv"][2] == {"bias_current": (1e-3, "A")}
    assert 0.05 < figures["power_cv"][0] < 0.11 and 0.01 < figures["vf_cv"][0] < 0.03
    assert list(figures["map_row"][0]) == list(range(ROWS))


def test_an_interrupted_map_leaves_untested_emitters_nan_and_counts_only_the_tested():
    data = {name: values[:20] for name, values in seeded_rows().items()}
    figures = map_figures(data, params(), WAVELENGTH)
    classes = figures["classification_map"][0]
    assert np.count_nonzero(np.isfinite(classes)) == 20
    assert np.isnan(figures["optical_power_map"][0][7, 7])
    assert figures["tested_count"][0] == 20
    assert figures["dead_count"][0] == 1  # (1, 2) only; (5, 7) was not reached


def test_rows_in_any_order_and_a_retested_emitter_give_the_same_maps():
    data = seeded_rows()
    order = np.random.default_rng(0).permutation(ROWS * COLUMNS)
    shuffled = {name: values[order] for name, values in data.items()}
    again = {name: np.concatenate([values[:5], values]) for name, values in data.items()}
    reference = map_figures(data, params(), WAVELENGTH)
    for other in (shuffled, again):
        figures = map_figures(other, params(), WAVELENGTH)
        for name in ("forward_voltage_map", "optical_power_map", "classification_map"):
            np.testing.assert_array_equal(figures[name][0], reference[name][0])
        assert figures["yield"] == reference["yield"]


def test_the_short_threshold_defaults_to_half_the_photon_voltage():
    h, c, q = 6.62607015e-34, 299792458.0, 1.602176634e-19
    half = 0.5 * h * c / (q * WAVELENGTH)  # 1.378 V at 450 nm
    vf = np.array([half - 0.01, half + 0.01, 3.0])
    codes, _ = classify(vf, np.ones(3), np.zeros(3), short_below=half, dead_fraction=0.01,
                        weak_fraction=0.5, leakage_limit=1e-9)
    assert list(codes) == [CLASSES.index("short"), 0, 0]
    data = {"row": np.zeros(3), "column": np.arange(3.0), "forward_voltage": vf,
            "optical_power": np.ones(3), "reverse_current": np.zeros(3)}
    figures = map_figures(data, ArrayMap.resolve({"rows": 1, "columns": 3}), WAVELENGTH)
    assert figures["short_count"][0] == 1


def test_no_conducting_emitter_drops_the_figures_that_need_one_with_a_reason():
    data = {"row": np.zeros(2), "column": np.arange(2.0),
            "forward_voltage": np.array([math.nan, math.nan]), "optical_power": np.zeros(2),
            "reverse_current": np.zeros(2)}
    figures = map_figures(data, ArrayMap.resolve({"rows": 1, "columns": 2}), WAVELENGTH)
    assert figures["dead_count"][0] == 2 and figures["yield"][0] == 0.0
    assert "good emitters" in figures["power_cv"][0]
    assert "no emitter conducts" in figures["median_optical_power"][0]


def test_emitters_skips_those_the_earlier_session_tested():
    p = params()
    assert len(ArrayMap.emitters(p, {})) == 64
    earlier = {"row": np.array([0.0, 0.0, 0.0]), "column": np.array([0.0, 1.0, 2.0])}
    todo = ArrayMap.emitters(p, earlier)
    assert todo[0] == (0, 3) and len(todo) == 61


LIMITS = SafeLimits(max_current=10e-3, max_voltage=6.0, max_reverse_voltage=5.0)


@pytest.mark.parametrize(("changes", "error", "words"), [
    ({"reference_current": 20e-3}, LimitError, "max_current"),
    ({"reverse_voltage": -8.0}, LimitError, "max_reverse_voltage"),
    ({"voltage_limit": 7.0}, LimitError, "max_voltage"),
    ({"leakage_limit": 1e-3}, ConfigError, "current_limit"),
    ({"short_voltage": 5.0}, ConfigError, "voltage_limit"),
    ({"weak_fraction": 0.001}, ConfigError, "dead_fraction"),
])
def test_plans_beyond_the_limits_or_self_contradictory_are_refused(changes, error, words):
    with pytest.raises(error, match=words):
        ArrayMap.check_limits(params(**changes), LIMITS)


@pytest.mark.parametrize("bad", [{"rows": 0}, {"columns": 2.5}, {"reverse_voltage": 1.0},
                                 {"dead_fraction": math.nan}, {"reference_current": "1mA"}])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ConfigError):
        ArrayMap.resolve(bad)


def test_the_plan_asks_the_switch_for_the_array_and_counts_one_point_per_emitter():
    p = params(rows=4, columns=6)
    plan = ArrayMap.plan(p, type("S", (), {"wavelength": WAVELENGTH})(), None, {})
    assert plan["switch"] == {"rows": 4, "columns": 6}
    assert plan["smu"]["voltage"] == 5.0 and plan["smu"]["current"] == 1e-3
    assert ArrayMap.planned_points(p) == 24


# -- plots in bench report ---------------------------------------------------------------------
SAMPLE = {"id": "A1", "diameter": 20e-6, "wavelength": WAVELENGTH}


def test_the_report_draws_the_maps_with_the_seeded_emitters_marked():
    assert plot_module("array-map") is map_plots
    params = ArrayMap.resolve({"rows": 8, "columns": 8})
    data = seeded_rows()
    step = analysed_step("map", "array-map", data, params, map_figures(data, params, WAVELENGTH))
    figures = drawn_plots(map_plots.plots(step, SAMPLE))
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
