"""``spectrum`` plots: the spectra overlaid (dark subtracted), one line per current with its
peak marked, and the peak, centroid and FWHM against current."""

from __future__ import annotations

import numpy as np

from bench.storage import StepRecord

from .axes import Plot, Plots, axis_label, display_scale, grid, new_figure, quantity, use_log


def plots(step: StepRecord, sample: dict) -> Plots:
    out = [spectra_plot(step)]
    if "peak_wavelength_per_current" in step.analysis:  # absent when the analysis failed
        out.append(per_current_plot(step))
    return out


def spectra_plot(step: StepRecord) -> Plot:
    """Every spectrum against wavelength (nm), dark subtracted, its peak marked."""
    wavelength = np.asarray(step.data["wavelength"], dtype=float)
    spectra = np.atleast_2d(np.asarray(step.data["spectra"], dtype=float))
    if spectra.shape[-1] != wavelength.size or spectra.shape[0] == 0:
        raise ValueError("spectra must be one row per current over the wavelength axis")
    if "dark" in step.data:
        spectra = spectra - np.asarray(step.data["dark"], dtype=float)
    units = step.units.get("spectra", "")
    current = np.asarray(step.data["current"], dtype=float)[:spectra.shape[0]]
    peaks = np.asarray(step.analysis.get("peak_wavelength_per_current",
                                         np.full(spectra.shape[0], np.nan)), dtype=float)
    x_factor, x_unit = display_scale(wavelength, "m")
    y_factor, y_unit = display_scale(spectra, units) if units == "W" else (1.0, units)
    fig, (ax,) = new_figure()
    for k, row in enumerate(spectra):
        (drawn,) = ax.plot(x_factor * wavelength, y_factor * row, lw=1.2,
                           label=quantity(float(current[k]), "A"))
        if np.isfinite(peaks[k]):
            ax.plot([x_factor * peaks[k]], [y_factor * np.interp(peaks[k], wavelength, row)],
                    "o", ms=4, color=drawn.get_color())
    per = " per resolution bandwidth" if units == "W" else ""
    ax.set_xlabel(axis_label("wavelength", x_unit))
    ax.set_ylabel(axis_label(f"spectral power{per}" if units == "W" else "signal", y_unit))
    grid(ax)
    ax.legend(loc="upper right", fontsize="small", title="current")
    ax.set_title(f"{step.name}: electroluminescence spectra (dark subtracted)")
    return ("spectra", "Spectra at each current, dark spectrum subtracted; dots: the peak "
            "wavelength found at each current.", fig)


def per_current_plot(step: StepRecord) -> Plot:
    """Peak and centroid wavelength, and FWHM, against the measured current."""
    current = np.asarray(step.analysis["current"], dtype=float)
    peak = np.asarray(step.analysis["peak_wavelength_per_current"], dtype=float)
    centroid = np.asarray(step.analysis["centroid_wavelength_per_current"], dtype=float)
    width = np.asarray(step.analysis["fwhm_per_current"], dtype=float)
    i_factor, i_unit = display_scale(current, "A")
    fig, (top, bottom) = new_figure(2, 1, height=5.6)
    top.plot(i_factor * current, 1e9 * peak, "o-", ms=4, label="peak")
    top.plot(i_factor * current, 1e9 * centroid, "s--", ms=4, label="centroid")
    top.set_ylabel(axis_label("wavelength", "nm"))
    shift = step.results.get("wavelength_shift", {}).get("value")
    top.legend(loc="best", fontsize="small", title=None if shift is None else (
        f"shift {quantity(float(shift), 'm')}: "
        f"{'blue, carrier screening dominates' if shift < 0 else 'red, heating dominates'}"),
        title_fontsize="small")
    bottom.plot(i_factor * current, 1e9 * width, "o-", ms=4, color="C2", label="FWHM")
    bottom.set_ylabel(axis_label("FWHM", "nm"))
    bottom.set_xlabel(axis_label("current", i_unit))
    if use_log(current):
        bottom.set_xscale("log")
    for ax in (top, bottom):
        grid(ax)
    fig.suptitle(f"{step.name}: peak, centroid and FWHM against current")
    return ("per_current", "Peak and centroid wavelength and FWHM against the measured current; "
            "a blue shift comes from carrier screening, a red shift from junction heating.", fig)
