"""A calibrated photodiode read by an SMU channel, as a power meter (for benches without one).

The photodiode (anode on the SMU's HI, cathode on LO) sits at 0 V (photovoltaic) or at a reverse
bias (``bias`` < 0 V, photoconductive: faster, more dark current); the SMU sources that voltage
and measures the current. The photocurrent flows out of the anode, so the SMU reads it as a
negative current: P = (-I - I_dark) / R(lambda), with R the calibrated responsivity (A/W) at the
wavelength and I_dark the dark current given for that bias (Sze & Ng, Physics of Semiconductor
Devices, 3rd ed., 13.2).

By composition: the SMU is driven through its own driver (``smu_driver``, any station driver
name that sources voltage and measures current, the Keithley 2450 by default), on the resource
the station gives this instrument. That SMU is not the chip's: the station has the chip's SMU
as another instrument. Station options (checked by :meth:`SmuPhotodiode.check_options`)::

    options:
      smu_driver: keithley2450
      responsivity: [[400.0e-9, 0.22], [450.0e-9, 0.25], [500.0e-9, 0.28]]  # (m, A/W) or one A/W
      bias: -5.0            # V, 0 or reverse (negative); default 0
      current_limit: 1.0e-3 # A, the SMU's compliance; default 10 mA
      dark_current: 1.0e-9  # A at that bias, subtracted; default 0
      nplc: 1.0             # integration of each reading

A table is interpolated linearly between its points; a wavelength outside it is refused (no
extrapolation of a calibration); a single value is taken at every wavelength.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import InstrumentError, check_ranges, plan_check

MAX_BIAS = 50.0          # V of reverse bias accepted (silicon PIN diodes take 20-50 V)
MAX_CURRENT_LIMIT = 0.1  # A
MAX_AVERAGING = 1000     # SMU readings averaged per power reading
_OPTIONS = ("smu_driver", "responsivity", "bias", "current_limit", "dark_current", "nplc")
_SMU_METHODS = ("configure_voltage_source", "set_voltage", "measure", "output_on", "output_off",
                "output_enabled", "describe_output")


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name}={value!r} must be a number from {low:g} to {high:g}")
    return float(value)


def _responsivity_table(value: Any) -> tuple[tuple[float, float], ...]:
    """One A/W value (as a one-point table, wavelength 0) or (wavelength m, A/W) pairs with
    strictly increasing wavelengths."""
    if not isinstance(value, (list, tuple)):
        return ((0.0, _number("responsivity", value, 1e-6, 10.0)),)
    if len(value) < 2:
        raise ValueError("responsivity: a table needs at least two (wavelength m, A/W) points")
    table = []
    for point in value:
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise ValueError(f"responsivity: {point!r} is not a (wavelength m, A/W) pair")
        table.append((_number("responsivity wavelength", point[0], 100e-9, 20e-6),
                      _number("responsivity", point[1], 1e-6, 10.0)))
    if any(b[0] <= a[0] for a, b in zip(table, table[1:], strict=False)):
        raise ValueError("responsivity: the table's wavelengths must increase")
    return tuple(table)


class SmuPhotodiode:
    """PowerMeter: an SMU channel biasing a calibrated photodiode and measuring its current."""

    model = "SMU photodiode"
    idn_pattern = ""  # identification finds the SMU's own driver: a photodiode is a set-up
    transport = "visa"
    serial_settings: dict[str, Any] = {}
    wavelength_range = (100e-9, 20e-6)  # without options: the widest table accepted

    def __init__(self, resource, name: str | None = None, *, responsivity,
                 smu_driver="keithley2450", bias=0.0, current_limit=10e-3, dark_current=0.0,
                 nplc=1.0):
        from . import driver_class

        options = type(self).check_options({
            "smu_driver": smu_driver, "responsivity": responsivity, "bias": bias,
            "current_limit": current_limit, "dark_current": dark_current, "nplc": nplc})
        self.smu = driver_class(options["smu_driver"])(resource, name=name)
        self.name = self.smu.name
        self.table = _responsivity_table(options["responsivity"])
        self.bias, self.current_limit = options["bias"], options["current_limit"]
        self.dark_current, self.nplc = options["dark_current"], options["nplc"]
        if len(self.table) > 1:
            self.wavelength_range = (self.table[0][0], self.table[-1][0])
        self._responsivity: float | None = None  # A/W at the configured wavelength
        self._averaging = 1

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Options as the constructor takes them (module docstring); ValueError, one line."""
        from . import DRIVERS, driver_class

        unknown = sorted(set(map(str, options)) - set(_OPTIONS))
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)}; the smu_photodiode "
                             f"driver takes {', '.join(_OPTIONS)}")
        if "responsivity" not in options:
            raise ValueError("responsivity is required: A/W, or a table of "
                             "[wavelength m, A/W] pairs from the photodiode's calibration")
        smu = options.get("smu_driver", "keithley2450")
        if not isinstance(smu, str) or smu not in DRIVERS or smu == "smu_photodiode":
            raise ValueError(f"smu_driver={smu!r} is not a station driver name")
        smu_class = driver_class(smu)
        missing = [m for m in _SMU_METHODS if not callable(getattr(smu_class, m, None))]
        if missing or getattr(smu_class, "transport", "visa") != "visa":
            raise ValueError(f"smu_driver={smu!r} cannot source a voltage and measure current "
                             f"over VISA{' (no ' + ', '.join(missing) + ')' if missing else ''}")
        table = _responsivity_table(options["responsivity"])
        return {"smu_driver": smu,
                "responsivity": table[0][1] if len(table) == 1 else [list(p) for p in table],
                "bias": _number("bias", options.get("bias", 0.0), -MAX_BIAS, 0.0),
                "current_limit": _number("current_limit", options.get("current_limit", 10e-3),
                                         1e-9, MAX_CURRENT_LIMIT),
                "dark_current": _number("dark_current", options.get("dark_current", 0.0),
                                        0.0, 1e-6),
                "nplc": _number("nplc", options.get("nplc", 1.0), 0.01, 10.0)}

    # -- what the station and runner ask of any driver: the SMU's ------------------------------
    @property
    def idn(self) -> str:
        return self.smu.idn

    @property
    def recoveries(self) -> dict:
        return self.smu.recoveries

    @property
    def resource(self):
        return self.smu.resource

    def connect(self) -> str:
        """Identify the SMU (its own driver's connect: nothing switched)."""
        return self.smu.connect()

    def errors(self) -> list[str]:
        return self.smu.errors()

    def settings(self) -> dict[str, Any]:
        return {"smu": self.smu.settings(), "responsivity_table": [list(p) for p in self.table],
                "responsivity_at_wavelength": self._responsivity, "bias": self.bias,
                "dark_current": self.dark_current, "averaging": self._averaging}

    def close(self) -> None:
        self.smu.close()

    # the SMU's output (the photodiode's bias): the runner's safe state and clean-up reach it
    def output_on(self) -> None:
        self.smu.output_on()

    def output_off(self) -> None:
        self.smu.output_off()

    def output_enabled(self) -> bool:
        return self.smu.output_enabled()

    def describe_output(self) -> str:
        return f"photodiode bias: {self.smu.describe_output()}"

    # -- the PowerMeter role ----------------------------------------------------------------
    def responsivity(self, wavelength: float) -> float:
        """A/W at ``wavelength`` (m) from the calibration; ValueError outside its table."""
        if len(self.table) == 1:
            return self.table[0][1]
        low, high = self.wavelength_range
        if not (isinstance(wavelength, (int, float)) and low <= wavelength <= high):
            raise ValueError(f"wavelength={wavelength!r} m is outside the photodiode's "
                             f"calibration, {low:g} to {high:g} m")
        waves, values = zip(*self.table, strict=True)
        return float(np.interp(wavelength, waves, values))

    @plan_check
    def check_plan(self, request: dict[str, Any]) -> list[str]:
        """``wavelength`` within the calibration table (connected: its own options), ``power``
        (W) whose photocurrent stays below the current limit, ``averaging``."""
        low, high = self.wavelength_range
        problems = check_ranges(self.model, request, {"wavelength": (low, high, "m"),
                                                      "averaging": (1, MAX_AVERAGING, "")})
        if "power" in request and isinstance(self, SmuPhotodiode) and not problems:
            top = self.current_limit / max(p[1] for p in self.table)
            problems += check_ranges(self.model, request, {"power": (0.0, top, "W")})
        return problems

    def configure(self, *, wavelength: float, power_range: float | None = None,
                  averaging: int = 1) -> None:
        """Bias the photodiode and read current; ``averaging`` SMU readings per power reading.
        ``power_range`` (W) is checked against the current limit (the SMU auto-ranges).
        Everything is checked before the SMU is touched."""
        problems = self.check_plan({"wavelength": wavelength, "averaging": averaging})
        if isinstance(averaging, bool) or int(averaging) != averaging:
            problems.append(f"averaging={averaging!r} must be a whole number of readings")
        if problems:
            raise ValueError("; ".join(problems))
        responsivity = self.responsivity(wavelength)
        if power_range is not None:
            _number("power_range", power_range, 0.0, self.current_limit / responsivity)
        self.smu.configure_voltage_source(current_limit=self.current_limit, nplc=self.nplc)
        self.smu.set_voltage(self.bias)
        self.smu.output_on()
        self._responsivity, self._averaging = responsivity, int(averaging)

    def read_power(self) -> float:
        """Mean of ``averaging`` current readings as optical power (W)."""
        if self._responsivity is None:
            raise InstrumentError(self.name, "read_power", "configure the photodiode first")
        currents = [self.smu.measure()[1] for _ in range(self._averaging)]
        current = float(np.mean(currents))
        if max(abs(i) for i in currents) >= 0.999 * self.current_limit:
            raise InstrumentError(self.name, "measure", f"photocurrent at the SMU's current "
                                  f"limit ({self.current_limit:g} A): the light is too strong for "
                                  f"this limit, raise current_limit")
        return (-current - self.dark_current) / self._responsivity
