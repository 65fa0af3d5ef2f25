"""``temperature-sweep`` plots: the inner LIV's light output and EQE curves, one per stage
temperature, and the forward voltage at the reference current against temperature with its
fitted coefficient."""

from __future__ import annotations

import numpy as np

from bench.storage import StepRecord

from .axes import Plot, Plots, axis_label, display_scale, grid, new_figure, result_value

H_C = 6.62607015e-34 * 299792458.0  # J m
Q = 1.602176634e-19  # C


def plots(step: StepRecord, sample: dict) -> Plots:
    out = []
    if all(name in step.data for name in ("current", "voltage", "optical_power")):
        out.append(curves_plot(step, sample))
    if "forward_voltage_at_reference" in step.analysis:
        out.append(vf_plot(step))
    return out


def _by_temperature(step: StepRecord):
    index = np.asarray(step.data["temperature_index"])
    stage = np.asarray(step.data["stage_temperature"], dtype=float)
    for k in np.unique(index):
        rows = index == k
        yield float(stage[rows][0]), {name: np.asarray(step.data[name], dtype=float)[rows]
                                      for name in ("current", "voltage", "optical_power")}


def curves_plot(step: StepRecord, sample: dict) -> Plot:
    """L-I and EQE against current, a line per stage temperature (colour: cold blue, hot
    red)."""
    groups = list(_by_temperature(step))
    fig, (li, eqe_ax) = new_figure(1, 2, sharex=True)
    colours = _colours(len(groups))
    all_current = np.asarray(step.data["current"], dtype=float)
    factor, unit = display_scale(all_current, "A")
    p_factor, p_unit = display_scale(np.asarray(step.data["optical_power"]), "W")
    for (temperature, part), colour in zip(groups, colours, strict=True):
        keep = part["current"] > 0
        current, power = part["current"][keep], part["optical_power"][keep]
        eqe = power / (H_C / sample["wavelength"]) / (current / Q)
        li.plot(factor * current, p_factor * power, "-", color=colour,
                label=f"{temperature:g} K")
        eqe_ax.plot(factor * current, 100 * eqe, "-", color=colour)
    for ax in (li, eqe_ax):
        ax.set_xscale("log")
        ax.set_xlabel(axis_label("current", unit) + ", log scale")
        grid(ax)
    li.set_yscale("log")
    li.set_ylabel(axis_label("optical power", p_unit) + ", log scale")
    eqe_ax.set_ylabel("EQE (%)")
    li.legend(loc="upper left", fontsize="small", title="stage")
    fig.suptitle(f"{step.name}: L-I and EQE across stage temperatures")
    return ("curves", "Optical power and external quantum efficiency against current, one line "
            "per stage temperature.", fig)


def vf_plot(step: StepRecord) -> Plot:
    """V_f at the reference current against the measured stage temperature, with the line of
    vf_temperature_coefficient."""
    temperature = np.asarray(step.analysis.get("measured_temperature",
                                               step.analysis["stage_temperature"]), dtype=float)
    vf = np.asarray(step.analysis["forward_voltage_at_reference"], dtype=float)
    fig, (ax,) = new_figure()
    ax.plot(temperature, vf, "o", ms=6, label="measured")
    slope = result_value(step, "vf_temperature_coefficient")
    caption = "Forward voltage at the reference current against the stage temperature (K)."
    keep = np.isfinite(temperature) & np.isfinite(vf)
    if slope is not None and np.count_nonzero(keep) >= 2:
        t, v = temperature[keep], vf[keep]
        intercept = float(np.mean(v - slope * t))
        line = np.linspace(t.min(), t.max(), 2)
        ax.plot(line, intercept + slope * line, "-", color="C1",
                label=f"dVf/dT {slope * 1e3:.3g} mV/K")
        caption += f" Line: the fitted coefficient {slope * 1e3:.3g} mV/K."
    current = step.params.get("reference_current")
    ax.set_xlabel("stage temperature (K)")
    ax.set_ylabel("forward voltage (V)")
    grid(ax)
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"{step.name}: forward voltage at {current * 1e3:g} mA against temperature"
                 if isinstance(current, (int, float)) else f"{step.name}: forward voltage")
    return ("vf", caption, fig)


def _colours(count: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["coolwarm"]
    return [cmap(x) for x in np.linspace(0.0, 1.0, max(count, 1))][:count]
