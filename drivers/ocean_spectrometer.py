"""Ocean Insight (Ocean Optics) USB spectrometers through the ``seabreeze`` library.

``seabreeze`` (python-seabreeze 2.x, optional extra ``[spectra]``) is imported only when a real
device is opened. The driver talks to the library's *backend interface*, the device object both
of its backends give (``cseabreeze`` over libseabreeze, ``pyseabreeze`` over pyusb): ``model``,
``serial_number``, ``open()``/``close()``, and the spectrometer feature ``f.spectrometer``
(``set_trigger_mode``, ``set_integration_time_micros``, ``get_integration_time_micros_limits``,
``get_maximum_intensity``, ``get_electric_dark_pixel_indices``, ``get_wavelengths`` in nm,
``get_intensities``) with the optional ``f.nonlinearity_coefficients``. The simulator serves a
device with the same interface (sim_instruments/models/ocean_spectrometer.py), so the driver
runs the same code on both. Electric-dark correction subtracts the mean of the optically masked
pixels, nonlinearity correction divides by the EEPROM polynomial in the counts, as
``seabreeze.spectrometers.Spectrometer.intensities`` documents them.

A CCD spectrometer has fixed pixels: ``configure`` keeps the pixels inside start..stop and
refuses a resolution or a number of points (set by its slit, grating and detector).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import InstrumentError, check_ranges, plan_check
from .roles import Spectrum

# Integration times any Ocean model takes, s (USB2000+/Flame 1 ms-65 s, HR4000 10 us-65 s,
# QE Pro 8 ms-60 min: data sheets, UNVERIFIED); a connected device reports its own.
INTEGRATION = (1e-5, 3600.0)
WAVELENGTHS = (150e-9, 2600e-9)  # m, the widest of the model line (UNVERIFIED)


def open_device(serial_number: str) -> Any:
    """The seabreeze backend device with this serial number, opened; OSError when none is
    attached (or seabreeze is not installed: ``pip install microled-bench[spectra]``)."""
    try:
        import seabreeze.backends
    except ImportError as exc:
        raise OSError(f"the seabreeze library is not installed ({exc}); install the [spectra] "
                      f"extra") from None
    backend = seabreeze.backends.get_backend()
    devices = backend.SeaBreezeAPI().list_devices()
    for device in devices:
        if device.serial_number == serial_number:
            device.open()
            return device
    found = ", ".join(f"{d.model} {d.serial_number}" for d in devices) or "none"
    raise OSError(f"no Ocean spectrometer with serial number {serial_number} (attached: "
                  f"{found})")


class OceanSpectrometer:
    """An Ocean USB spectrometer: integration time, the wavelength axis of its pixels, counts
    (electric-dark corrected by default). Station options: ``electric_dark`` (bool, default
    true), ``nonlinearity`` (bool, default false: the device must carry coefficients)."""

    transport = "library"  # opened by open_device(resource), the serial number
    open_device = staticmethod(open_device)
    min_integration, max_integration = INTEGRATION  # a connected device: its own limits
    min_wavelength, max_wavelength = WAVELENGTHS    # a connected device: its pixels' span
    _OPTIONS = ("electric_dark", "nonlinearity")

    def __init__(self, resource: Any, name: str | None = None, electric_dark: bool = True,
                 nonlinearity: bool = False):
        self.resource = resource
        self.name = name or type(self).__name__
        self.idn = ""
        self.recoveries = {"retries": 0, "reopens": 0, "device_clears": 0}
        self.electric_dark, self.nonlinearity = electric_dark, nonlinearity
        self.integration_time: float | None = None  # seabreeze has no read-back: as set here
        self._window = slice(None)

    @classmethod
    def check_options(cls, options: dict) -> dict:
        unknown = sorted(str(k) for k in options if k not in cls._OPTIONS)
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)}; the Ocean driver takes "
                             f"{', '.join(cls._OPTIONS)}")
        for key, value in options.items():
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false, got {value!r}")
        return dict(options)

    def _call(self, what: str, *args):
        """One call of the spectrometer feature; a library error becomes InstrumentError."""
        try:
            return getattr(self.resource.f.spectrometer, what)(*args)
        except Exception as exc:  # SeaBreezeError, a USB error: the backend's own types
            raise InstrumentError(self.name, what, f"seabreeze: {exc}") from exc

    def connect(self) -> str:
        """Identify (model and serial number), read the pixels' wavelengths, the integration
        limits, the full scale and the electric-dark pixels; normal (free-running) trigger
        mode 0. No light source is touched."""
        device = self.resource
        self.idn = f"Ocean Insight,{device.model},{device.serial_number}"
        self.wavelengths = np.asarray(self._call("get_wavelengths"), dtype=float) * 1e-9
        low, high = self._call("get_integration_time_micros_limits")
        self.min_integration, self.max_integration = low * 1e-6, high * 1e-6
        half = np.diff(self.wavelengths[[0, 1, -2, -1]])[[0, 2]] / 2  # a pixel's half width
        self.min_wavelength = float(self.wavelengths[0] - half[0])
        self.max_wavelength = float(self.wavelengths[-1] + half[1])
        self.full_scale = float(self._call("get_maximum_intensity"))
        self.dark_pixels = list(self._call("get_electric_dark_pixel_indices"))
        if self.electric_dark and not self.dark_pixels:
            raise InstrumentError(self.name, "get_electric_dark_pixel_indices",
                                  f"the {device.model} has no electric-dark pixels: set the "
                                  f"option electric_dark: false")
        self.coefficients = None
        if self.nonlinearity:
            feature = getattr(device.f, "nonlinearity_coefficients", None)
            if feature is None:
                raise InstrumentError(self.name, "nonlinearity_coefficients",
                                      f"the {device.model} has no nonlinearity coefficients: "
                                      f"set the option nonlinearity: false")
            self.coefficients = list(feature.get_nonlinearity_coefficients())
        self._call("set_trigger_mode", 0)
        return self.idn

    def settings(self) -> dict:
        return {"model": self.resource.model, "serial_number": self.resource.serial_number,
                "pixels": int(self.wavelengths.size), "integration_time": self.integration_time,
                "electric_dark": self.electric_dark, "nonlinearity": self.nonlinearity,
                "full_scale": self.full_scale}

    def errors(self) -> list[str]:
        """No error queue: seabreeze raises on the call that failed (see ``_call``)."""
        return []

    def close(self) -> None:
        self.resource.close()

    @plan_check
    def check_plan(owner, request: dict) -> list[str]:
        """``start``, ``stop`` within the pixels' span (half a pixel beyond the end pixels),
        ``integration_time`` within the limits (the model line's widest on the class); a
        ``resolution`` or ``points`` cannot be set."""
        model = "Ocean spectrometer"
        problems = check_ranges(model, request, {
            "start": (owner.min_wavelength, owner.max_wavelength, "m"),
            "stop": (owner.min_wavelength, owner.max_wavelength, "m"),
            "integration_time": (owner.min_integration, owner.max_integration, "s")})
        start, stop = request.get("start"), request.get("stop")
        if not problems and start is not None and stop is not None and not start < stop:
            problems.append(f"start={start:g} m is not below stop={stop:g} m ({model})")
        for key, why in (("resolution", "its slit and grating"), ("points", "its detector")):
            if request.get(key) is not None:
                problems.append(f"the {model}'s {key} is fixed by {why}; leave {key} out")
        return problems

    def configure(self, *, start: float, stop: float, resolution: float | None = None,
                  integration_time: float | None = None, points: int | None = None) -> None:
        """The pixels inside start..stop (m); the integration time (s, whole microseconds;
        None: as set). Everything is checked before the device is touched."""
        problems = self.check_plan({"start": start, "stop": stop, "resolution": resolution,
                                    "points": points,
                                    **({} if integration_time is None
                                       else {"integration_time": integration_time})})
        micros = None
        if integration_time is not None and not problems:
            micros = round(integration_time * 1e6)
            if not math.isclose(micros, integration_time * 1e6, rel_tol=1e-9, abs_tol=1e-6):
                problems.append(f"integration_time={integration_time!r} s is not a whole "
                                f"number of microseconds")
        tolerance = 1e-9 * stop  # metres from nanometres: 480 nm * 1e-9 > 4.8e-07
        inside = np.flatnonzero((self.wavelengths >= start - tolerance)
                                & (self.wavelengths <= stop + tolerance))
        if not problems and inside.size < 5:
            problems.append(f"only {inside.size} pixels between {start:g} and {stop:g} m")
        if problems:
            raise ValueError("; ".join(problems))
        if micros is not None:
            self._call("set_integration_time_micros", int(micros))
            self.integration_time = micros / 1e6
        self._window = slice(int(inside[0]), int(inside[-1]) + 1)

    def acquire_spectrum(self) -> Spectrum:
        """One spectrum (counts per pixel over the window), electric dark and nonlinearity
        corrected as the options say; InstrumentError when a pixel is saturated."""
        raw = np.asarray(self._call("get_intensities"), dtype=float)
        if raw.size != self.wavelengths.size:
            raise InstrumentError(self.name, "get_intensities",
                                  f"{raw.size} values for {self.wavelengths.size} pixels")
        window = raw[self._window]
        if np.max(window) >= self.full_scale:
            raise InstrumentError(self.name, "get_intensities",
                                  f"saturated ({np.max(window):.0f} counts, full scale "
                                  f"{self.full_scale:.0f}): lower the integration time")
        uses_dark = self.dark_pixels and (self.electric_dark or self.coefficients is not None)
        offset = float(np.mean(raw[self.dark_pixels])) if uses_dark else 0.0
        counts = raw - offset  # the polynomial is in counts above the electric dark
        if self.coefficients is not None:  # EEPROM polynomial c0 + c1 x + ... in the counts
            counts = counts / np.polynomial.polynomial.polyval(counts, self.coefficients)
            if not self.electric_dark:
                counts = counts + offset
        return Spectrum(wavelength=self.wavelengths[self._window].copy(),
                        values=counts[self._window], units="counts",
                        integration_time=self.integration_time)
