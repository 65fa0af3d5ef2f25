"""``iv`` plots: the I-V curve, |I| on a log axis for a log sweep (and for any sweep reaching
reverse bias, beside the linear one), linear for a lin sweep; forward voltage and reverse
leakage marked."""

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
    param_value,
    positive_only,
    quantity,
    result_value,
)


def plots(step: StepRecord, sample: dict) -> Plots:
    return [iv_plot(step)]


def iv_plot(step: StepRecord) -> Plot:
    """Current against voltage: log |I| for a log sweep; a lin sweep on linear axes, with a
    log |I| panel beside it when the sweep reaches reverse bias (the leakage)."""
    voltage = np.asarray(step.data["voltage"], dtype=float)
    current = np.asarray(step.data["current"], dtype=float)
    if voltage.ndim != 1 or voltage.shape != current.shape or voltage.size < 2:
        raise ValueError("voltage and current must be two 1-D arrays of the same length")
    log_sweep = step.params.get("spacing", "log") == "log"
    reverse = bool(np.nanmin(voltage) < 0)
    panels = ["log"] if log_sweep else (["lin", "log"] if reverse else ["lin"])
    fig, axes = new_figure(1, len(panels), sharex=False)
    v_factor, v_unit = display_scale(voltage, "V")
    v_shown = v_factor * voltage
    vf = result_value(step, "forward_voltage")
    reference = condition(step, "forward_voltage", "reference_current") \
        or param_value(step, "reference_current")
    leakage = result_value(step, "reverse_leakage")
    v_reverse = condition(step, "reverse_leakage", "voltage") \
        or param_value(step, "reverse_voltage")
    factor, i_unit = display_scale(np.abs(current), "A")
    for ax, kind in zip(axes, panels, strict=True):
        sign = np.abs if kind == "log" else np.asarray
        if kind == "log":
            ax.plot(v_shown, positive_only(factor * np.abs(current)), "o-", ms=3,
                    label="|current|")
            ax.set_yscale("log")
            ax.set_ylabel(axis_label("|current|", i_unit) + ", log scale")
        else:
            ax.plot(v_shown, factor * current, "o-", ms=3, label="current")
            ax.set_ylabel(axis_label("current", i_unit))
        if vf is not None and reference:
            ax.plot([v_factor * vf], [factor * reference], "*", color="k", ms=12,
                    label=f"forward voltage {quantity(vf, 'V')} at {quantity(reference, 'A')}")
        if leakage is not None and v_reverse is not None:
            ax.plot([v_factor * v_reverse], [factor * sign(leakage)],
                    "D", color="C3", ms=7,
                    label=f"reverse leakage {quantity(abs(leakage), 'A')} at "
                          f"{quantity(v_reverse, 'V')}")
        ax.set_xlabel(axis_label("voltage", v_unit))
        grid(ax)
        ax.legend(loc="upper left", fontsize="small")
    spacing = "log" if log_sweep else "linear"
    fig.suptitle(f"{step.name}: current against voltage ({spacing} sweep)")
    caption = ("|I| against V on a log current axis" if log_sweep else
               "I against V on linear axes" + (", and |I| on a log axis beside it (reverse "
                                              "leakage)" if reverse else ""))
    return ("iv", caption + "; the star is the forward voltage at its reference current.", fig)
