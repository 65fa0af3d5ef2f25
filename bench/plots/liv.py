"""``liv`` plots: L-I (log-log for a log sweep, linear for a lin sweep), I-V (as ``iv`` draws
it) and the derived EQE and WPE against current density, peak EQE and droop marked."""

from __future__ import annotations

import numpy as np

from bench.storage import StepRecord

from .axes import (
    Plot,
    Plots,
    axis_label,
    condition,
    display_scale,
    grid,
    new_figure,
    positive_only,
    quantity,
    result_value,
)
from .iv import iv_plot


def plots(step: StepRecord, sample: dict) -> Plots:
    out = [li_plot(step), iv_plot(step)]
    if all(name in step.analysis for name in ("current_density", "eqe", "wpe")):
        out.append(efficiency_plot(step, sample))  # absent when the analysis failed
    return out


def li_plot(step: StepRecord) -> Plot:
    """Optical power against current: log-log for a log sweep, linear for a lin sweep."""
    current = np.asarray(step.data["current"], dtype=float)
    power = np.asarray(step.data["optical_power"], dtype=float)
    if current.ndim != 1 or current.shape != power.shape or current.size < 2:
        raise ValueError("current and optical_power must be 1-D arrays of the same length")
    log = step.params.get("spacing", "log") == "log"
    i_factor, i_unit = display_scale(current, "A")
    p_factor, p_unit = display_scale(power, "W")
    fig, (ax,) = new_figure()
    if log:
        ax.plot(positive_only(i_factor * current), positive_only(p_factor * power), "o-", ms=3,
                label="optical power")
        ax.set_xscale("log")
        ax.set_yscale("log")
    else:
        ax.plot(i_factor * current, p_factor * power, "o-", ms=3, label="optical power")
        if np.nanmin(current) >= 0 and np.nanmin(power) >= 0:  # from the origin, as papers do
            ax.set_xlim(left=0)
            ax.set_ylim(bottom=0)
    peak = result_value(step, "max_optical_power")
    if peak is not None:
        at = float(current[np.nanargmax(power)])
        ax.plot([i_factor * at], [p_factor * peak], "^", color="C3", ms=8,
                label=f"max optical power {quantity(peak, 'W')} at {quantity(at, 'A')}")
    scale = "log-log" if log else "linear"
    ax.set_xlabel(axis_label("current", i_unit) + (", log scale" if log else ""))
    ax.set_ylabel(axis_label("optical power", p_unit) + (", log scale" if log else ""))
    grid(ax)
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(f"{step.name}: light output against current ({scale})")
    return ("li", f"L-I: optical power against current on {scale} axes.", fig)


def efficiency_plot(step: StepRecord, sample: dict) -> Plot:
    """EQE and WPE (%) against current density (A/cm^2), peak EQE and droop marked."""
    density = np.asarray(step.analysis["current_density"], dtype=float)
    eqe = np.asarray(step.analysis["eqe"], dtype=float)
    wpe = np.asarray(step.analysis["wpe"], dtype=float)
    j_factor, j_unit = display_scale(density, "A/m^2")
    fig, (ax,) = new_figure()
    log = step.params.get("spacing", "log") == "log"
    x = positive_only(j_factor * density) if log else j_factor * density
    ax.plot(x, 100 * eqe, "o-", ms=3, label="EQE")
    ax.plot(x, 100 * wpe, "s-", ms=3, label="WPE")
    peak = result_value(step, "peak_eqe")
    j_peak = result_value(step, "current_density_at_peak_eqe")
    if peak is not None and j_peak is not None:
        ax.plot([j_factor * j_peak], [100 * peak], "*", color="k", ms=12,
                label=f"peak EQE {100 * peak:.3g} % at {quantity(j_peak, 'A/m^2')}")
    droop = result_value(step, "droop")
    valid = np.isfinite(eqe) & np.isfinite(density)
    if droop is not None and np.any(valid):
        j_droop = condition(step, "droop", "current_density") or float(density[valid].max())
        e_droop = float(np.interp(j_droop, density[valid], eqe[valid]))
        ax.plot([j_factor * j_droop], [100 * e_droop], "v", color="C3", ms=8,
                label=f"droop {100 * droop:.3g} % at {quantity(j_droop, 'A/m^2')}")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(axis_label("current density", j_unit) + (", log scale" if log else ""))
    ax.set_ylabel("efficiency (%)")
    ax.set_ylim(bottom=0)
    grid(ax)
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"{step.name}: external quantum and wall-plug efficiency")
    return ("efficiency", "EQE and WPE against current density (mesa diameter "
            f"{quantity(sample['diameter'], 'm')}); star: peak EQE; triangle: where the droop "
            "is taken.", fig)
