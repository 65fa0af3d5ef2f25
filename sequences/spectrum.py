"""``spectrum``: electroluminescence spectra at a list of DC currents (SMU + Spectrometer).

The spectrometer is configured first (window, resolution, points, integration time, all
checked by the model before the run), a dark spectrum is taken with the SMU's output off
(``dark: true``), then at each current: set, settle, read V and I, take a spectrum. The spectra
are stored as one 2-D dataset (current x wavelength) in the spectrometer's units (W per
resolution bandwidth for an OSA, counts for a CCD spectrometer), with the wavelength axis and
the dark spectrum.

Analysis (pure, :func:`line_figures` per spectrum, dark subtracted): the peak wavelength (the
vertex of a parabola fitted to ln S over the top of the line), the centroid
(sum lambda S / sum S over the contiguous part of the line above ``CENTROID_FLOOR`` of the
peak) and the FWHM (the half-maximum crossings either side of the peak, linearly interpolated).
Each is a derived array against the measured current; the scalar results are those at the
highest current; ``wavelength_shift`` is the peak's move from the lowest to the highest
current: negative when the blue shift of carrier screening (quantum-confined Stark effect) and
band filling dominates, positive when the red shift of junction heating (band gap shrinking,
Varshni) does.
"""

from __future__ import annotations

import numpy as np

from common.errors import ComplianceReached, ConfigError
from drivers.roles import CurrentSource, Spectrometer

from .base import (
    Parameter,
    Result,
    Sequence,
    compliance_figure,
    figure,
    smu_parameters,
    stop_at_compliance,
)
from .dc_analysis import current_density

CENTROID_FLOOR = 0.02  # fraction of the peak above which the centroid is taken
PEAK_TOP = 0.9  # fraction of the peak above which the peak's parabola is fitted
DEFAULT_HALF_WINDOW = 60e-9  # m either side of the sample's wavelength
AT_TOP = ("current", "current_density")


# -- analysis: pure functions of one spectrum --------------------------------------------------
def _line(wavelength: np.ndarray, values: np.ndarray) -> tuple[int, int, int]:
    """(index of the largest sample, first and last index of the contiguous part of the line
    above half of it); ValueError for what is not a line inside the window."""
    wavelength, values = np.asarray(wavelength, float), np.asarray(values, float)
    if wavelength.ndim != 1 or wavelength.shape != values.shape or wavelength.size < 5:
        raise ValueError("a spectrum needs matching 1-D wavelength and value arrays of >= 5 "
                         "points")
    if not np.all(np.diff(wavelength) > 0):
        raise ValueError("the wavelength axis must increase")
    if not np.all(np.isfinite(values)):
        raise ValueError("the spectrum has non-finite values")
    k = int(np.argmax(values))
    top = values[k]
    if not top > 0:
        raise ValueError("no light in the spectrum (nothing above zero after the dark)")
    low, high = k, k
    while low > 0 and values[low - 1] >= top / 2:
        low -= 1
    while high < values.size - 1 and values[high + 1] >= top / 2:
        high += 1
    if low == 0 or high == values.size - 1:
        raise ValueError("the line runs past the edge of the wavelength window at half "
                         "maximum: widen the window")
    return k, low, high


def peak_wavelength(wavelength, values, top: float = PEAK_TOP) -> float:
    """Wavelength of the maximum (m): the vertex of the parabola fitted (least squares) to
    ln S over the contiguous top of the line (S >= ``top`` x its largest sample, at least the
    largest sample and its neighbours). Exact for a Gaussian line, and it averages the noise
    of the many samples on a broad line's flat top, where a three-point vertex follows it."""
    wavelength, values = np.asarray(wavelength, float), np.asarray(values, float)
    k, _, _ = _line(wavelength, values)
    low, high = k - 1, k + 1
    while low > 0 and values[low - 1] >= top * values[k]:
        low -= 1
    while high < values.size - 1 and values[high + 1] >= top * values[k]:
        high += 1
    x, y = wavelength[low:high + 1], values[low:high + 1]
    if not np.all(y > 0):
        return float(wavelength[k])
    scale = x[-1] - x[0]
    a, b, _ = np.polyfit((x - wavelength[k]) / scale, np.log(y), 2)
    return float(wavelength[k] - b / (2 * a) * scale) if a < 0 else float(wavelength[k])


def fwhm(wavelength, values) -> float:
    """Full width at half maximum (m): the half-maximum crossings either side of the largest
    sample, linearly interpolated (for a Gaussian, 2 sqrt(2 ln 2) sigma)."""
    wavelength, values = np.asarray(wavelength, float), np.asarray(values, float)
    k, low, high = _line(wavelength, values)
    half = values[k] / 2

    def crossing(inside: int, outside: int) -> float:
        y0, y1 = values[outside], values[inside]
        return float(wavelength[outside] + (half - y0) / (y1 - y0)
                     * (wavelength[inside] - wavelength[outside]))
    return crossing(high, high + 1) - crossing(low, low - 1)


def centroid_wavelength(wavelength, values, floor: float = CENTROID_FLOOR) -> float:
    """sum lambda S dlambda / sum S dlambda (m, trapezoids) over the contiguous part of the
    line above ``floor`` x its maximum (noise far from the line left out)."""
    wavelength, values = np.asarray(wavelength, float), np.asarray(values, float)
    k, _, _ = _line(wavelength, values)
    low, high = k, k
    while low > 0 and values[low - 1] >= floor * values[k]:
        low -= 1
    while high < values.size - 1 and values[high + 1] >= floor * values[k]:
        high += 1
    x, y = wavelength[low:high + 1], values[low:high + 1]
    return float(np.trapezoid(x * y, x) / np.trapezoid(y, x))


def line_figures(wavelength, values) -> tuple[float, float, float]:
    """(peak, centroid, FWHM) of one spectrum, NaN where it has no line in the window."""
    out = []
    for function in (peak_wavelength, centroid_wavelength, fwhm):
        try:
            out.append(function(wavelength, values))
        except ValueError:
            out.append(float("nan"))
    return tuple(out)


class SpectrumSequence(Sequence):
    name = "spectrum"
    summary = "electroluminescence spectra per current: peak, centroid, FWHM, wavelength shift"
    results = {
        "peak_wavelength": Result("m", "wavelength of the spectrum's maximum: vertex of the "
                                  "parabola fitted to ln S over the line's top (S >= 0.9 max), "
                                  "dark subtracted, at the highest current; every current in "
                                  "peak_wavelength_per_current", AT_TOP),
        "centroid_wavelength": Result("m", "sum lambda S / sum S over the line above 2 % of its "
                                      "peak, at the highest current; every current in "
                                      "centroid_wavelength_per_current", AT_TOP),
        "fwhm": Result("m", "full width at half maximum, half-maximum crossings linearly "
                       "interpolated, at the highest current; every current in "
                       "fwhm_per_current", AT_TOP),
        "wavelength_shift": Result("m", "peak_wavelength(highest current) - peak_wavelength("
                                   "lowest current): < 0 blue shift (carrier screening of the "
                                   "quantum-confined Stark effect, band filling) dominates, "
                                   "> 0 red shift (junction heating, Varshni band-gap "
                                   "shrinkage) dominates (Schubert, Light-Emitting Diodes, 2nd "
                                   "ed., ch. 5 and 6)"),
    }
    roles = {"smu": CurrentSource, "spectrometer": Spectrometer}
    parameters = {
        "currents": Parameter([0.5e-3, 1e-3, 2e-3, 5e-3], "A", "DC currents, one spectrum each",
                              kind=list, minimum=0.0),
        "start": Parameter(None, "m", "first wavelength; default (null): the sample's "
                           f"wavelength - {DEFAULT_HALF_WINDOW * 1e9:g} nm", minimum=0.0),
        "stop": Parameter(None, "m", "last wavelength; default (null): the sample's "
                          f"wavelength + {DEFAULT_HALF_WINDOW * 1e9:g} nm", minimum=0.0),
        "resolution": Parameter(None, "m", "resolution bandwidth (an OSA); default (null): as "
                                "the instrument is set", minimum=0.0),
        "points": Parameter(None, "", "samples per spectrum (an OSA); default (null): the "
                            "instrument's own (AUTO, or its pixels)", kind=int, minimum=2),
        "integration_time": Parameter(None, "s", "CCD integration time; default (null): as "
                                      "the instrument is set", minimum=0.0),
        "dark": Parameter(True, "", "take a dark spectrum with the SMU output off and subtract "
                          "it", kind=bool),
        **smu_parameters("wait after each current step"),
    }
    columns = {"set_current": "A", "current": "A", "voltage": "V"}
    derived_axes = {
        **{f"{name}_per_current": {"axis": "current"} for name in
           ("peak_wavelength", "centroid_wavelength", "fwhm")},
        "integrated_power_per_current": {"axis": "current"}}

    @classmethod
    def window(cls, params, sample) -> tuple[float, float]:
        """(start, stop) in m; ConfigError unless start < stop."""
        start = params["start"] if params["start"] is not None \
            else sample.wavelength - DEFAULT_HALF_WINDOW
        stop = params["stop"] if params["stop"] is not None \
            else sample.wavelength + DEFAULT_HALF_WINDOW
        if not 0 < start < stop:
            raise ConfigError(f"spectrum window start={start:g} m must be > 0 and below "
                              f"stop={stop:g} m")
        return start, stop

    @classmethod
    def check_limits(cls, params, limits):
        for current in params["currents"]:
            limits.check_current(current, "spectrum current")
        limits.check_voltage(params["voltage_limit"], "voltage_limit")

    @classmethod
    def planned_points(cls, params):
        return len(params["currents"])

    @classmethod
    def spectrometer_request(cls, params, sample) -> dict:
        start, stop = cls.window(params, sample)
        request = {"start": start, "stop": stop}
        request.update({key: params[key] for key in ("resolution", "integration_time", "points")
                        if params[key] is not None})
        return request

    @classmethod
    def plan(cls, params, sample, setup, models):
        return {"smu": {"current": max(params["currents"]), "voltage": params["voltage_limit"],
                        "nplc": params["nplc"]},
                "spectrometer": cls.spectrometer_request(params, sample)}

    def acquire(self, ctx, params):
        smu, spectrometer = ctx.role("smu"), ctx.role("spectrometer")
        request = self.spectrometer_request(params, ctx.sample)
        try:
            spectrometer.configure(start=request["start"], stop=request["stop"],
                                   resolution=params["resolution"],
                                   integration_time=params["integration_time"],
                                   points=params["points"])
        except ValueError as exc:
            raise ConfigError(f"the spectrometer refuses the settings: {exc}") from None
        smu.configure_current_source(voltage_limit=params["voltage_limit"], nplc=params["nplc"])
        dark = spectrometer.acquire_spectrum() if params["dark"] else None  # output still off
        spectra = []
        axis = None if dark is None else dark.wavelength
        last = dark
        smu.output_on()
        try:
            for level in params["currents"]:
                smu.set_current(float(level))
                ctx.sleep(params["settle"])
                try:
                    voltage, current = smu.measure()
                except ComplianceReached as exc:
                    stop_at_compliance(ctx, params, exc.level, f"{exc.level:g} A programmed")
                    break
                last = spectrometer.acquire_spectrum()
                if axis is None:
                    axis = last.wavelength
                elif not np.array_equal(axis, last.wavelength):
                    raise ConfigError("the spectrometer's wavelength axis changed between "
                                      "spectra")
                spectra.append(last.values)
                ctx.points(set_current=level, current=current, voltage=voltage)
        finally:
            smu.output_off()
        if last is None:
            return  # compliance before the first spectrum: nothing to store
        units = last.units
        ctx.array("wavelength", np.asarray(axis, dtype=float), "m")
        ctx.array("spectra", np.array(spectra, dtype=float).reshape(len(spectra), axis.size),
                  units, rows="set_current", axis="wavelength",
                  note="one spectrum per current as the spectrometer gave it, dark included")
        if dark is not None:
            ctx.array("dark", np.asarray(dark.values, dtype=float), units, axis="wavelength",
                      note="taken with the SMU output off, before the first current")
        if last.resolution is not None:
            ctx.array("resolution", np.float64(last.resolution), "m",
                      note="the spectrometer's resolution bandwidth")
        if last.integration_time is not None:
            ctx.array("integration_time", np.float64(last.integration_time), "s")

    @classmethod
    def analyse(cls, data, params, sample):
        figures = {}
        compliance_figure(data, figures)
        if "spectra" not in data or np.size(data["spectra"]) == 0:
            for name, result in cls.results.items():
                figure(figures, name, result.units, _no_spectra)
            return figures
        wavelength = np.asarray(data["wavelength"], dtype=float)
        spectra = np.atleast_2d(np.asarray(data["spectra"], dtype=float))
        if "dark" in data:
            spectra = spectra - np.asarray(data["dark"], dtype=float)
        current = np.asarray(data["current"], dtype=float)[:spectra.shape[0]]
        per_current = np.array([line_figures(wavelength, row) for row in spectra])
        peak, centroid, width = per_current.T
        top = int(np.argmax(current))
        at_top = {"current": (float(current[top]), "A"),
                  "current_density": (float(current_density(current[top], sample.diameter)),
                                      "A/m^2")}

        def at_highest(values, what):
            def compute():
                if not np.isfinite(values[top]):
                    raise ValueError(f"no {what} at the highest current: no line inside the "
                                     f"window")
                return float(values[top])
            return compute

        figure(figures, "peak_wavelength", "m", at_highest(peak, "peak"), lambda: at_top)
        figure(figures, "centroid_wavelength", "m", at_highest(centroid, "centroid"),
               lambda: at_top)
        figure(figures, "fwhm", "m", at_highest(width, "FWHM"), lambda: at_top)

        def shift():
            bottom = int(np.argmin(current))
            if top == bottom:
                raise ValueError("the wavelength shift needs spectra at two currents or more")
            value = peak[top] - peak[bottom]
            if not np.isfinite(value):
                raise ValueError("no peak at the lowest or the highest current")
            return float(value)
        figure(figures, "wavelength_shift", "m", shift)
        figures["current"] = (current, "A")
        figures["peak_wavelength_per_current"] = (peak, "m")
        figures["centroid_wavelength_per_current"] = (centroid, "m")
        figures["fwhm_per_current"] = (width, "m")
        if "resolution" in data:  # W per resolution bandwidth: the integral is the power
            figures["integrated_power_per_current"] = (
                np.trapezoid(spectra, wavelength, axis=1) / float(data["resolution"]), "W")
        return figures


def _no_spectra() -> float:
    raise ValueError("no spectrum was taken (compliance before the first current)")
