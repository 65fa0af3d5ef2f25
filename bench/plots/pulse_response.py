"""``pulse-response`` plots: the light's rising and falling edges, zoomed, each normalised to
its settled levels with the 10 % and 90 % lines, on a time axis from the drive edge at the chip
(the set-up's stored skew and the photoreceiver's group delay removed, as the analysis does)."""

from __future__ import annotations

import math

import numpy as np

from bench.storage import StepRecord
from sequences import dynamic_analysis as da
from sequences.pulse_response import on_common_time, record_volts

from .axes import Plot, Plots, axis_label, display_scale, grid, new_figure, quantity, result_value

SETTLED = 0.1  # the levels: medians over this fraction of a run before each edge (edge_timings)
GRID_POINTS = 400  # common time grid per panel, for the mean edge


def plots(step: StepRecord, sample: dict) -> Plots:
    return [edges_plot(step)]


def _edges(time: np.ndarray, drive: np.ndarray) -> tuple[float, float, float]:
    """(first complete rising 50 % crossing of the drive, the falling one after it, run time)."""
    low, high = da.two_level(drive)
    rising = da.crossing_times(time, drive, (low + high) / 2, 1)
    falling = da.crossing_times(time, drive, (low + high) / 2, -1)
    for rise in rising:
        after = falling[falling > rise]
        if after.size:
            return float(rise), float(after[0]), float(after[0] - rise)
    raise ValueError("the record holds no rising drive edge followed by a falling one")


def _normalised(t: np.ndarray, y: np.ndarray, edge: float, run: float) -> np.ndarray:
    """``y`` as 0 at the level settled before ``edge`` and 1 at the level settled before the
    next edge (one run later): rising edges go 0 -> 1, falling ones 1 -> 0 after 1 - x."""
    span = SETTLED * run
    start = float(np.median(y[(t >= edge - span) & (t < edge)]))
    final = float(np.median(y[(t >= edge + run - span) & (t < edge + run)]))
    if final == start:
        raise ValueError("the optical record does not change level at the drive edge")
    return (y - start) / (final - start)


def edges_plot(step: StepRecord) -> Plot:
    """Two panels: the rising and the falling edge of every record (thin) and their mean (bold),
    normalised, with 10 %/90 % lines and the mean's 10 % and 90 % crossings marked."""
    t_drive, drive = record_volts(step.data, "drive")
    t_opt, optical = record_volts(step.data, "optical")
    skew = float(step.data["setup_skew"])
    receiver = float(step.data["receiver_bandwidth"])
    correction = skew + 1 / (2 * math.pi * receiver)  # subtracted from the optical time
    rise_time, fall_time = result_value(step, "rise_time"), result_value(step, "fall_time")
    delay = result_value(step, "propagation_delay")
    traces: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"rising": [], "falling": []}
    run = math.nan
    for k in range(drive.shape[0]):
        y = on_common_time(t_drive[k], drive[k], t_opt[k], optical[k])
        rise, fall, run = _edges(t_drive[k], drive[k])
        for kind, edge in (("rising", rise), ("falling", fall)):
            shown = _normalised(t_drive[k], y, edge, run)
            traces[kind].append((t_drive[k] - edge - correction,
                                 shown if kind == "rising" else 1 - shown))
    fig, axes = new_figure(1, 2, sharex=False)
    for ax, (kind, records), measured in zip(axes, traces.items(), (rise_time, fall_time),
                                             strict=True):
        width = measured if measured else run / 20
        centre = delay if delay is not None else 0.0
        window = (min(centre - 2.5 * width, -0.5 * width), centre + 4 * width)
        t_factor, t_unit = display_scale(np.array(window), "s")
        common = np.linspace(*window, GRID_POINTS)
        for t, y in records:
            ax.plot(t_factor * t, y, "-", color="C0", lw=0.8, alpha=0.35)
        mean = np.mean([np.interp(common, t, y) for t, y in records], axis=0)
        ax.plot(t_factor * common, mean, "-", color="C0", lw=2,
                label=f"mean of {len(records)} record{'s' * (len(records) > 1)}")
        for level in (0.1, 0.9):
            ax.axhline(level, color="k", ls="--", lw=0.9)
        ax.text(t_factor * window[0], 0.1, " 10 %", va="bottom", fontsize="small")
        ax.text(t_factor * window[0], 0.9, " 90 %", va="bottom", fontsize="small")
        crossings = _crossings(common, mean, kind == "rising")
        if crossings is not None:
            ax.plot(t_factor * np.array(crossings), [0.1, 0.9], "o", color="C3", ms=6,
                    label=f"measured 10-90 %: {quantity(abs(crossings[1] - crossings[0]), 's')}")
        if measured is not None:
            name = "rise" if kind == "rising" else "fall"
            ax.plot([], [], " ", label=f"{name} time (de-embedded): {quantity(measured, 's')}")
        ax.axvline(0, color="0.5", lw=0.9, ls=":")
        if delay is not None and kind == "rising":  # the delay is taken on rising edges
            ax.axvline(t_factor * delay, color="C2", lw=1.2, ls="-.",
                       label=f"propagation delay {quantity(delay, 's')}")
        ax.set_xlim(t_factor * window[0], t_factor * window[1])
        ax.set_ylim(-0.15, 1.3)
        ax.set_xlabel(axis_label("time from the drive edge at the chip", t_unit))
        ax.set_title(f"{kind} edge")
        grid(ax)
        ax.legend(loc="upper left" if kind == "rising" else "upper right", fontsize="x-small")
    axes[0].set_ylabel("light, normalised to its settled levels")
    fig.suptitle(f"{step.name}: optical response to a current step "
                 f"(set-up skew {quantity(skew, 's')} removed)")
    return ("edges", "Rising and falling edges of the light, each record (thin) and their mean "
            "(bold) normalised to the levels settled before and after the edge, against time "
            "from the drive edge at the chip (the stored set-up skew and the photoreceiver's "
            "group delay removed); dashed lines at 10 % and 90 %, dots at the mean's crossings, "
            "dash-dotted line at the propagation delay (taken on the rising edges), dotted line "
            "at the drive edge.", fig)


def _crossings(t: np.ndarray, y: np.ndarray, rising: bool) -> tuple[float, float] | None:
    """The times of the 10 % and 90 % crossings of a normalised edge (the last ones before it
    first reaches the far level, as the analysis takes them), None when it does not get
    there."""
    reached = np.flatnonzero(y >= 0.9 if rising else y <= 0.1)
    if not reached.size:
        return None
    head_t, head_y = t[:reached[0] + 1], y[:reached[0] + 1]
    found = []
    for level in (0.1, 0.9):
        below = np.flatnonzero((head_y < level) if rising else (head_y > level))
        if not below.size or below[-1] + 1 >= head_t.size:
            return None
        k = below[-1]
        found.append(float(np.interp(level, sorted((head_y[k], head_y[k + 1])),
                                     [head_t[k], head_t[k + 1]] if head_y[k] < head_y[k + 1]
                                     else [head_t[k + 1], head_t[k]])))
    return found[0], found[1]
