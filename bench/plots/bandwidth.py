"""``bandwidth`` plots: the modulation response of every bias normalised to its low-frequency
level (dB, photoreceiver removed) with the -3 dB line and each f3dB marked; f3dB, the optical
f3dB and the differential lifetime against current density on log axes."""

from __future__ import annotations

import math

import numpy as np

from bench.storage import StepRecord

from .axes import (
    Plot,
    Plots,
    axis_label,
    display_scale,
    grid,
    new_figure,
    plain_log_ticks,
    positive_only,
    quantity,
    result_value,
)

ELECTRICAL_DB = -3.0  # |S21| down 3 dB: f3db
OPTICAL_DB = -6.0  # |H| = 1/2: f3db_optical (the optical -3 dB)
FLOOR_DB = -25.0  # the response axis goes no lower


def plots(step: StepRecord, sample: dict) -> Plots:
    return [response_plot(step), per_bias_plot(step)]


def _per_bias(step: StepRecord, name: str) -> np.ndarray:
    values = np.asarray(step.analysis[name], dtype=float)
    if values.ndim != 1 or values.size != np.asarray(step.analysis["bias_current"]).size:
        raise ValueError(f"{name} must hold one value per bias")
    return values


def _bias_label(current: float, density: float) -> str:
    return f"{quantity(current, 'A')} ({quantity(density, 'A/m^2')})"


def response_plot(step: StepRecord) -> Plot:
    """10 log10 of the normalised power gain (= |S21| normalised, dB) per bias over frequency
    (log axis), the -3 dB and -6 dB lines, each bias's f3db (and f3db_optical) marked."""
    frequency = np.asarray(step.analysis["response_frequency"], dtype=float)
    gain = np.atleast_2d(np.asarray(step.analysis["normalised_power_gain"], dtype=float))
    bias, density = _per_bias(step, "bias_current"), _per_bias(step, "current_density")
    f3db, f3db_optical = _per_bias(step, "f3db_per_bias"), _per_bias(step, "f3db_optical_per_bias")
    if gain.shape != (bias.size, frequency.size):
        raise ValueError("normalised_power_gain must be biases x frequencies")
    f_factor, f_unit = display_scale(frequency, "Hz")
    with np.errstate(divide="ignore", invalid="ignore"):
        response_db = 10 * np.log10(gain)
    response_db[~np.isfinite(response_db)] = np.nan
    fig, (ax,) = new_figure(height=4.8)
    for k in range(bias.size):
        colour = f"C{k % 10}"
        ax.plot(f_factor * frequency, response_db[k], "-", color=colour, lw=1.6,
                label=f"{_bias_label(bias[k], density[k])}: f3dB {quantity(f3db[k], 'Hz')}")
        if math.isfinite(f3db[k]):
            ax.plot([f_factor * f3db[k]], [ELECTRICAL_DB], "o", color=colour, ms=7,
                    mec="k", zorder=3)
        if math.isfinite(f3db_optical[k]):
            ax.plot([f_factor * f3db_optical[k]], [OPTICAL_DB], "s", color=colour, ms=6,
                    mfc="white", zorder=3)
    ax.axhline(ELECTRICAL_DB, color="k", ls="--", lw=1, label="-3 dB (f3dB, filled circles)")
    ax.axhline(OPTICAL_DB, color="0.45", ls=":", lw=1,
               label="-6 dB (optical f3dB, open squares)")
    ax.set_xscale("log")
    finite = response_db[np.isfinite(response_db)]
    bottom = max(float(finite.min()) - 1, FLOOR_DB) if finite.size else FLOOR_DB
    ax.set_ylim(min(bottom, OPTICAL_DB - 2), max(3.0, float(finite.max()) + 1)
                if finite.size else 3.0)
    ax.set_xlim(f_factor * frequency.min(), f_factor * frequency.max())
    ax.set_xlabel(axis_label("frequency", f_unit) + ", log scale")
    ax.set_ylabel("normalised response |S21|/|S21(0)| (dB)")
    grid(ax)
    ax.legend(loc="lower left", fontsize="small", title="bias (current density)",
              title_fontsize="small")
    ax.set_title(f"{step.name}: modulation response, normalised to its low-frequency level")
    return ("response", "Modulation response of each bias normalised to its fitted "
            "low-frequency level, photoreceiver removed, in dB against frequency (log axis); "
            "dashed line -3 dB with each bias's f3dB (filled circles), dotted line -6 dB with "
            "the optical f3dB (open squares).", fig)


def per_bias_plot(step: StepRecord) -> Plot:
    """f3db and f3db_optical (top) and the differential lifetime (bottom) against current
    density, log-log, with the RC limit 1 / (2 pi RC) when the step has it."""
    density = _per_bias(step, "current_density")
    j_factor, j_unit = display_scale(density, "A/m^2")
    fig, (top, bottom) = new_figure(2, 1, height=5.6)
    frequencies = {"f3dB": _per_bias(step, "f3db_per_bias"),
                   "optical f3dB": _per_bias(step, "f3db_optical_per_bias")}
    rc = result_value(step, "rc_time_constant")
    shown = np.concatenate(list(frequencies.values()) + ([[1 / (2 * np.pi * rc)]] if rc else []))
    f_factor, f_unit = display_scale(shown, "Hz")
    for (label, values), marker in zip(frequencies.items(), ("o-", "s--"), strict=True):
        top.plot(positive_only(j_factor * density), positive_only(f_factor * values), marker,
                 ms=6, label=label)
    if rc:
        f_rc = 1 / (2 * np.pi * rc)
        top.axhline(f_factor * f_rc, color="0.4", ls=":", lw=1,
                    label=f"RC limit 1/(2\u03c0RC) = {quantity(f_rc, 'Hz')}")
    top.set_ylabel(axis_label("bandwidth", f_unit))
    top.legend(loc="best", fontsize="small")
    lifetime = _per_bias(step, "differential_lifetime_per_bias")
    t_factor, t_unit = display_scale(lifetime, "s")
    bottom.plot(positive_only(j_factor * density), positive_only(t_factor * lifetime), "D-",
                color="C2", ms=6, label="differential carrier lifetime (fit)")
    bottom.set_ylabel(axis_label("lifetime", t_unit))
    bottom.legend(loc="best", fontsize="small")
    for ax in (top, bottom):
        ax.set_xscale("log")
        ax.set_yscale("log")
        grid(ax)
        plain_log_ticks(ax)
    bottom.set_xlabel(axis_label("current density", j_unit) + ", log scale")
    top.set_title(f"{step.name}: bandwidth and differential lifetime against current density")
    return ("per_bias", "f3dB and optical f3dB (top) and the fitted differential carrier "
            "lifetime (bottom) against current density, log-log; dotted: the RC limit.", fig)
