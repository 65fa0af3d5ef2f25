"""``eye`` plot: the eye over two unit intervals as a sample density (log colour scale), folded
at the bit period on each record's recovered clock, with the one and zero levels, the eye height
and the eye width drawn on it.

The scope's samples of a record fall at a few fixed phases of the bit clock when its sample rate
is a multiple of the bit rate (16 GSa/s at 1 Gb/s: 16 phases per unit interval), which makes an
eye of dotted stripes; the records are therefore linearly interpolated ``UPSAMPLE`` times between
the scope's points before folding, as a scope's own eye display does. The figures drawn (levels,
height, width) come from the scope's points alone, as the analysis takes them.
"""

from __future__ import annotations

import math

import numpy as np

from bench.storage import StepRecord
from sequences import dynamic_analysis as da
from sequences.eye import Eye
from sequences.pulse_response import record_volts

from .axes import Plot, Plots, axis_label, display_scale, new_figure, quantity, result_value

UPSAMPLE = 8  # interpolated points per scope sample, for the density only
TIME_BINS = 256  # over the two unit intervals
VOLTAGE_BINS = 160
SHOWN_UI = 2


def plots(step: StepRecord, sample: dict) -> Plots:
    return [eye_plot(step)]


def folded_two_ui(time: np.ndarray, volts: np.ndarray, period: float,
                  threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(phase in UI in [0, 2), volts) of a record linearly interpolated ``UPSAMPLE`` times,
    folded at two bit periods on the record's recovered clock (crossings at 0, 1 and 2 UI)."""
    phase, _ = da.fold_eye(time, volts, period, threshold)
    clock = np.angle(np.mean(np.exp(2j * np.pi * (time / period - phase)))) / (2 * np.pi)
    fine = np.linspace(time[0], time[-1], (time.size - 1) * UPSAMPLE + 1)
    return (fine / period - clock) % SHOWN_UI, np.interp(fine, time, volts)


def eye_levels(step: StepRecord) -> dict[str, float]:
    """One and zero levels and the eye's inner edges (mu1 - 3 s1, mu0 + 3 s0) from the scope's
    points in the central ``window`` of the eye, as :func:`dynamic_analysis.eye_figures` takes
    them, and the decision threshold."""
    phase, volts, deviation, threshold = Eye.fold(step.data, step.params)
    figures = da.eye_figures(phase, volts, deviation, 1 / step.params["bit_rate"], threshold,
                             window=step.params["window"])
    centre = np.abs(phase - 0.5) <= step.params["window"] / 2
    ones, zeros = volts[centre & (volts > threshold)], volts[centre & (volts <= threshold)]
    return {"one": figures["one_level"], "zero": figures["zero_level"],
            "inner_one": float(ones.mean() - 3 * ones.std(ddof=1)),
            "inner_zero": float(zeros.mean() + 3 * zeros.std(ddof=1)), "threshold": threshold}


def eye_plot(step: StepRecord) -> Plot:
    """The 2 UI density, with the levels, height and width drawn when the analysis gives them
    (a closed eye is drawn without them)."""
    period = 1 / float(step.params["bit_rate"])
    time, volts = record_volts(step.data, "optical")
    try:
        levels: dict[str, float] | None = eye_levels(step)
        threshold = levels["threshold"]
    except ValueError:  # no eye to measure: the density alone
        levels, threshold = None, sum(da.two_level(volts)) / 2
    pooled = [folded_two_ui(time[k], volts[k], period, threshold)
              for k in range(volts.shape[0])]
    phase = np.concatenate([p for p, _ in pooled])
    values = np.concatenate([v for _, v in pooled])
    v_factor, v_unit = display_scale(values, "V")
    t_factor, t_unit = display_scale(np.array([SHOWN_UI * period]), "s")
    span = float(values.max() - values.min()) or 1e-3
    v_range = (values.min() - 0.05 * span, values.max() + 0.05 * span)
    counts, _, _ = np.histogram2d(phase * period, values, bins=(TIME_BINS, VOLTAGE_BINS),
                                  range=((0.0, SHOWN_UI * period), v_range))
    from matplotlib.colors import LogNorm

    fig, (ax,) = new_figure(height=5.2)
    density = np.ma.masked_equal(counts.T, 0)
    cmap = _colour_map()
    image = ax.imshow(density, origin="lower", aspect="auto", interpolation="nearest",
                      cmap=cmap, norm=LogNorm(vmin=1, vmax=max(float(counts.max()), 2.0)),
                      extent=[0.0, t_factor * SHOWN_UI * period, v_factor * v_range[0],
                              v_factor * v_range[1]])
    fig.colorbar(image, ax=ax, label="samples per bin (log scale)")
    if levels is not None:
        _draw_figures(ax, step, levels, period, t_factor, v_factor)
    ax.set_xlim(0.0, t_factor * SHOWN_UI * period)
    ax.set_ylim(v_factor * v_range[0], v_factor * v_range[1])
    ax.set_xlabel(axis_label("time", t_unit) + ", crossings at 0, 1 and 2 UI")
    ax.set_ylabel(axis_label("photoreceiver output", v_unit))
    ui_axis = ax.secondary_xaxis("top", functions=(lambda t: t / (t_factor * period),
                                                   lambda u: u * t_factor * period))
    ui_axis.set_xlabel("unit intervals")
    if levels is not None:
        fig.legend(loc="outside lower center", ncols=4, fontsize="small", frameon=False)
    ax.set_title(f"{step.name}: {_conditions(step)}")
    return ("eye", f"Eye diagram over {SHOWN_UI} unit intervals: density of the records' "
            f"samples (linearly interpolated {UPSAMPLE}x between the scope's points, log colour "
            "scale) against time folded at the bit period on the recovered clock; dashed lines "
            "at the one and zero levels, the black bar is the eye height (inner edges "
            "mu -/+ 3 sigma), the grey bar the eye width, at the threshold.", fig)


def _draw_figures(ax, step: StepRecord, levels: dict[str, float], period: float,
                  t_factor: float, v_factor: float) -> None:
    """One and zero levels (dashed), the eye height (black bar between the inner edges) and
    the eye width (grey bar at the threshold) at the centre of each unit interval."""
    ax.axhline(v_factor * levels["one"], color="C3", ls="--", lw=1.2,
               label=f"one level {quantity(levels['one'], 'V')}")
    ax.axhline(v_factor * levels["zero"], color="C0", ls="--", lw=1.2,
               label=f"zero level {quantity(levels['zero'], 'V')}")
    height, width = result_value(step, "eye_height"), result_value(step, "eye_width")
    for ui in range(SHOWN_UI):
        centre = (ui + 0.5) * period
        if height is not None and height > 0:
            ax.plot([t_factor * centre] * 2,
                    [v_factor * levels["inner_zero"], v_factor * levels["inner_one"]], "-",
                    color="k", lw=2, marker="_", ms=14,
                    label=f"eye height {quantity(height, 'V')}" if ui == 0 else "_height")
        if width is not None and width > 0:
            ax.plot([t_factor * (centre - width / 2), t_factor * (centre + width / 2)],
                    [v_factor * levels["threshold"]] * 2, "-", color="0.25", lw=2,
                    marker="|", ms=14,
                    label=f"eye width {quantity(width, 's')}" if ui == 0 else "_width")


def _colour_map():
    from matplotlib import colormaps

    return colormaps["viridis"].with_extremes(bad="white")  # bins no sample reached


def _conditions(step: StepRecord) -> str:
    """``1 Gb/s PRBS7, bias 5 mA, modulation 4 mA p-p``, from the parameters."""
    p = step.params
    bit_rate = p.get("bit_rate")
    parts = [f"{quantity(bit_rate, 'b/s')} PRBS{p.get('prbs_order', '')}"
             if isinstance(bit_rate, (int, float)) and math.isfinite(bit_rate) else "eye"]
    if isinstance(p.get("bias_current"), (int, float)):
        parts.append(f"bias {quantity(p['bias_current'], 'A')}")
    if isinstance(p.get("modulation_current"), (int, float)):
        parts.append(f"modulation {quantity(p['modulation_current'], 'A')} p-p")
    return ", ".join(parts)
