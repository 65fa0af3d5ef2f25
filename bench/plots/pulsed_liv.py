"""``pulsed-liv`` plots: the pulsed I-V with the step's DC reference sweep overlaid (and a
``liv`` step's DC sweep of the same run, when there is one), and the junction temperature rise
of the DC sweep over the pulsed one against current."""

from __future__ import annotations

import numpy as np

from bench.storage import StepRecord

from .axes import Plot, Plots, axis_label, display_scale, grid, new_figure, quantity, result_value


def plots(step: StepRecord, sample: dict) -> Plots:
    out = [iv_overlay(step)]
    if "temperature_rise" in step.analysis and "temperature_rise_current" in step.analysis:
        out.append(temperature_plot(step))
    return out


def iv_overlay(step: StepRecord) -> Plot:
    """Voltage against current, pulsed and DC on the same axes (the DC curve bends below the
    pulsed one as the junction heats)."""
    current = np.asarray(step.data["current"], dtype=float)
    voltage = np.asarray(step.data["voltage"], dtype=float)
    if current.ndim != 1 or current.shape != voltage.shape or current.size < 2:
        raise ValueError("current and voltage must be 1-D arrays of the same length")
    factor, unit = display_scale(current, "A")
    fig, (ax,) = new_figure()
    duty = result_value(step, "duty_cycle")
    label = "pulsed" + (f" ({100 * duty:.3g} % duty)" if duty is not None else "")
    ax.plot(factor * current, voltage, "o-", ms=3, label=label)
    if "dc_current" in step.data and "dc_voltage" in step.data:
        ax.plot(factor * np.asarray(step.data["dc_current"], dtype=float),
                np.asarray(step.data["dc_voltage"], dtype=float), "s--", ms=3, label="DC")
    for name, text in (("series_resistance", "pulsed"), ("dc_series_resistance", "DC")):
        value = result_value(step, name)
        if value is not None:
            ax.plot([], [], " ", label=f"R_s {text}: {quantity(value, 'ohm')}")
    ax.set_xlabel(axis_label("current", unit))
    ax.set_ylabel(axis_label("voltage", "V"))
    grid(ax)
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(f"{step.name}: pulsed and DC I-V")
    return ("iv", "Pulsed I-V with the DC sweep at the same currents: the DC voltage falls "
            "below the pulsed one as self-heating lowers it.", fig)


def temperature_plot(step: StepRecord) -> Plot:
    """(V_pulsed - V_DC) / |dV_f/dT| against current: the DC junction's rise over the pulsed."""
    current = np.asarray(step.analysis["temperature_rise_current"], dtype=float)
    rise = np.asarray(step.analysis["temperature_rise"], dtype=float)
    factor, unit = display_scale(current, "A")
    fig, (ax,) = new_figure()
    ax.plot(factor * current, rise, "o-", ms=3, label="DC junction over pulsed")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel(axis_label("current", unit))
    ax.set_ylabel(axis_label("junction temperature rise", "K"))
    grid(ax)
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(f"{step.name}: self-heating (forward-voltage method)")
    return ("temperature", "Junction temperature rise of the DC sweep over the pulsed one, "
            "(V_pulsed - V_DC) / |dV_f/dT|.", fig)
