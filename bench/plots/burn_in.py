"""``burn-in`` plots: the normalised optical output against stress time (hours) with the TM-21
fit and its projection to L70 (and L50 where it falls within the TM-21 limit); the forward
voltage and leakage at the checkpoints."""

from __future__ import annotations

import numpy as np

from bench.storage import StepRecord
from sequences.lifetime_analysis import fit_window

from .axes import Plot, Plots, grid, new_figure, result_value

HOUR = 3600.0  # s: the stress axes show hours (the files keep seconds)


def plots(step: StepRecord, sample: dict) -> Plots:
    out = [maintenance_plot(step)]
    if "checkpoint" in step.data:
        out.append(drift_plot(step))
    return out


def _checkpoints(step: StepRecord) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rows = np.asarray(step.data["checkpoint"]) >= 0
    time = np.asarray(step.data["stress_time"], dtype=float)[rows]
    order = np.argsort(time, kind="stable")
    return time[order], {name: np.asarray(step.data[name], dtype=float)[rows][order]
                         for name in ("optical_power", "forward_voltage", "leakage_current")}


def maintenance_plot(step: StepRecord) -> Plot:
    """Phi/Phi_0 against stress time (monitor readings and checkpoints, all fitted), the fit
    and L70."""
    time, values = _checkpoints(step)
    if time.size < 1 or not values["optical_power"][0] > 0:
        raise ValueError("no checkpoint with a positive optical power")
    first = values["optical_power"][0]
    fig, (ax,) = new_figure()
    monitor = np.asarray(step.data["checkpoint"]) < 0
    if np.any(monitor):
        ax.plot(np.asarray(step.data["stress_time"])[monitor] / HOUR,
                np.asarray(step.data["optical_power"])[monitor] / first, ".", ms=2,
                color="0.6", label="under stress")
    ax.plot(time / HOUR, values["optical_power"] / first, "o", ms=5, label="checkpoints")
    alpha = result_value(step, "decay_rate")
    l70 = result_value(step, "l70")
    caption = "Normalised optical output against stress time (hours)."
    if alpha is not None and "fitted_output" in step.analysis:
        fitted = np.asarray(step.analysis["fitted_output"], dtype=float)
        fitted_time = np.asarray(step.analysis["output_stress_time"], dtype=float)
        b = float(fitted[-1] * np.exp(alpha * fitted_time[-1])) if fitted.size else 1.0
        end = max(time[-1], l70 or 0.0)
        t = np.linspace(0.0, end, 200)
        window = t >= float(fitted_time[fit_window(fitted_time)].min())
        ax.plot(t[window] / HOUR, b * np.exp(-alpha * t[window]), "-", color="C1",
                label=f"TM-21 fit, alpha {alpha:.3g} 1/s")
        ax.plot(t[~window] / HOUR, b * np.exp(-alpha * t[~window]), ":", color="C1")
        caption += (" Line: the TM-21 fit B exp(-alpha t) over its window (the last half of "
                    "the stress, after 1000 h where longer), dotted where extrapolated.")
    if l70 is not None:
        capped = result_value(step, "l70_capped") == 1.0
        label = f"L70 {'> ' if capped else ''}{l70 / HOUR:.4g} h" + \
            (" (TM-21 limit)" if capped else "")
        ax.axvline(l70 / HOUR, color="C3", ls="--", label=label)
        ax.axhline(0.7, color="C3", ls=":", lw=0.8)
        caption += f" Dashed: {label}."
    ax.set_xlabel("stress time (h)")
    ax.set_ylabel("optical output / initial")
    grid(ax)
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"{step.name}: optical output maintenance at "
                 f"{step.params.get('current', float('nan')) * 1e3:g} mA, "
                 f"{step.params.get('temperature', float('nan')):g} K")
    return ("maintenance", caption, fig)


def drift_plot(step: StepRecord) -> Plot:
    """Forward voltage at the stress current and the reverse leakage at the checkpoints."""
    time, values = _checkpoints(step)
    fig, (top, bottom) = new_figure(2, 1, height=5.5)
    top.plot(time / HOUR, values["forward_voltage"], "o-", ms=4)
    top.set_ylabel("forward voltage (V)")
    leakage = np.abs(values["leakage_current"])
    bottom.plot(time / HOUR, leakage, "s-", ms=4, color="C2")
    if np.all(leakage > 0):
        bottom.set_yscale("log")
    bottom.set_ylabel("leakage (A)")
    bottom.set_xlabel("stress time (h)")
    grid(top)
    grid(bottom)
    top.set_title(f"{step.name}: forward voltage at the stress current, leakage at "
                  f"{step.params.get('reverse_voltage', float('nan')):g} V")
    return ("drift", "Forward voltage and reverse leakage at each checkpoint against stress "
            "time (hours).", fig)
