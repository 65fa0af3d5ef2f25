"""Yokogawa AQ6370-series optical spectrum analysers (AQ6370C/D/E, AQ6373/B, AQ6374, AQ6375/B),
remote commands over GPIB or LAN.

Written from the AQ6370 series remote control manual (IM AQ6370C-17EN): chapter 6 "Status
Registers" (6.4: operation status, bit 0 = Sweep, read with ``:STATus:OPERation:EVENt?``, which
latches the end of a sweep and is cleared by reading it and by ``*CLS``), chapter "Remote
Commands" (SENSe: ``:SENSe:WAVelength:STARt/STOP`` in m, ``:SENSe:BANDwidth:RESolution`` in m,
``:SENSe:SWEep:POINts[:AUTO]``; INITiate: ``:INITiate:SMODe SINGle``, ``:INITiate``; TRACe:
``:TRACe:X? TRA`` wavelengths in m, ``:TRACe:Y? TRA`` levels; FORMat: ``:FORMat:DATA
ASCii``) in the AQ6370 command format, as Yokogawa's sample programs and pymeasure's AQ6370
driver use them. A sweep is started and waited for by polling the operation event register
(the manual's method; ``*OPC?`` is not used: no manual page says it waits for a sweep).
Traces come in ASCII: the byte order of ``REAL`` was not found. Level data are read on the
log scale (dBm) and converted to W per resolution bandwidth.

The wavelength range and resolution settings depend on the model, read from ``*IDN?`` at
connect (``SERIES``); the class's ``check_plan`` takes the widest of the series.
"""

from __future__ import annotations

import math
import re
import time

import numpy as np

from .base import (
    Choice,
    InstrumentError,
    Range,
    ScpiInstrument,
    Setting,
    check_ranges,
    plan_check,
)
from .roles import Spectrum

NM = 1e-9
# model -> (wavelength range m, resolution settings m), Yokogawa data sheets (the same values
# as pymeasure's AQ6370 series drivers); UNVERIFIED against a manual page
SERIES = {
    **dict.fromkeys(("AQ6370C", "AQ6370D", "AQ6370E"),
                    ((600e-9, 1700e-9), (0.02, 0.05, 0.1, 0.2, 0.5, 1, 2))),
    **dict.fromkeys(("AQ6373", "AQ6373B"),
                    ((350e-9, 1200e-9), (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10))),
    "AQ6374": ((350e-9, 1750e-9), (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10)),
    **dict.fromkeys(("AQ6375", "AQ6375B"),
                    ((1200e-9, 2400e-9), (0.05, 0.1, 0.2, 0.5, 1, 2))),
}
WIDEST = (min(r[0][0] for r in SERIES.values()), max(r[0][1] for r in SERIES.values()))
ALL_RESOLUTIONS = tuple(sorted({r * NM for _, rs in SERIES.values() for r in rs}))
POINTS = (101, 50001)  # sampling points with AUTO off (manual, :SENSe:SWEep:POINts)
POLL_INTERVAL = 0.05   # s between reads of the operation event register


class YokogawaAQ6370(ScpiInstrument):
    """AQ6370-series OSA: a single sweep of trace A over start..stop at a resolution, read in
    ASCII, levels in W per resolution bandwidth (fills the Spectrometer role).

    Station option: ``sweep_timeout`` (s, default 300): the longest a sweep may take (HIGH
    sensitivities over a wide span take minutes; the manual asks for a 30 s communication
    timeout for its periodic auto offset)."""

    idn_pattern = r"(?i)^yokogawa,AQ63\d\d"
    timeout_s = 30.0  # manual, "Setting the timeout time": 30 s or more (auto offset)
    min_wavelength, max_wavelength = WIDEST  # narrowed to the model at connect
    resolutions: tuple[float, ...] = ALL_RESOLUTIONS
    model: str | None = None

    start_wavelength = Setting(None, ":SENSe:WAVelength:STARt?", units="m")
    stop_wavelength = Setting(None, ":SENSe:WAVelength:STOP?", units="m")
    resolution = Setting(None, ":SENSe:BANDwidth:RESolution?", units="m")
    points = Setting(":SENSe:SWEep:POINts {}", ":SENSe:SWEep:POINts?", kind=int,
                     check=Range(*POINTS))
    auto_points = Setting(":SENSe:SWEep:POINts:AUTO {}", ":SENSe:SWEep:POINts:AUTO?",
                          kind=bool)
    data_format = Setting(":FORMat:DATA {}", ":FORMat:DATA?", kind=str,
                          check=Choice(("ASCii", "REAL")))

    def __init__(self, resource, name: str | None = None, sweep_timeout: float = 300.0):
        super().__init__(resource, name)
        self.sweep_timeout = sweep_timeout

    @classmethod
    def check_options(cls, options: dict) -> dict:
        unknown = sorted(str(k) for k in options if k != "sweep_timeout")
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)}; the AQ6370 driver takes "
                             f"sweep_timeout (s)")
        if "sweep_timeout" in options:
            Range(1.0, 3600.0).check("sweep_timeout", _number(options["sweep_timeout"]))
            return {"sweep_timeout": float(options["sweep_timeout"])}
        return {}

    def connect(self) -> str:
        """Identify, clear status; the model in ``*IDN?`` sets the wavelength range and
        resolution settings. The instrument must be in its AQ6370 command format (``CFORM1``,
        its default; the AQ6317-compatible format does not take these commands): connecting
        changes no setting."""
        idn = super().connect()
        match = re.match(r"(?i)^yokogawa,(AQ63\d\d[A-Z]?)", idn)
        self.model = match.group(1).upper() if match else None
        if self.model not in SERIES:
            raise InstrumentError(self.name, "*IDN?", f"{idn!r}: no known AQ6370-series model "
                                  f"(known: {', '.join(SERIES)})")
        (self.min_wavelength, self.max_wavelength), steps = SERIES[self.model]
        self.resolutions = tuple(r * NM for r in steps)
        return idn

    def settings(self) -> dict:
        out = super().settings()
        out["model"] = self.model
        return out

    @plan_check
    def check_plan(owner, request: dict) -> list[str]:
        """``start``, ``stop`` (m) within the model's range (the series' widest on the class),
        ``resolution`` one of its settings, ``points`` 101..50001; an ``integration_time``
        cannot be honoured (an OSA has none)."""
        model = owner.model or "AQ6370 series"
        problems = check_ranges(model, request, {
            "start": (owner.min_wavelength, owner.max_wavelength, "m"),
            "stop": (owner.min_wavelength, owner.max_wavelength, "m"),
            "points": (*POINTS, "points")})
        start, stop = request.get("start"), request.get("stop")
        if not problems and start is not None and stop is not None and not start < stop:
            problems.append(f"start={start:g} m is not below stop={stop:g} m ({model})")
        resolution = request.get("resolution")
        if resolution is not None and not _is_setting(resolution, owner.resolutions):
            problems.append(f"resolution={resolution!r} m is not a resolution setting of the "
                            f"{model} ({', '.join(f'{r / NM:g}' for r in owner.resolutions)} nm)")
        if request.get("integration_time") is not None:
            problems.append(f"the {model} has no integration time (its sensitivity sets the "
                            f"sweep speed); leave integration_time out")
        return problems

    def configure(self, *, start: float, stop: float, resolution: float | None = None,
                  integration_time: float | None = None, points: int | None = None) -> None:
        """Single sweeps of trace A (WRITE) from start to stop (m) at a resolution (m, None:
        as set), ``points`` samples (None: AUTO), log level scale, ASCII traces. Everything is
        checked before the first command."""
        problems = self.check_plan({"start": start, "stop": stop, "resolution": resolution,
                                    "integration_time": integration_time,
                                    **({} if points is None else {"points": points})})
        if points is not None and (isinstance(points, bool) or int(points) != points):
            problems.append(f"points={points!r} must be a whole number")
        if problems:
            raise ValueError("; ".join(problems))
        # stop first when the new span lies above the present one, so start < stop throughout
        order = (("STOP", stop), ("STARt", start)) if start >= self.stop_wavelength \
            else (("STARt", start), ("STOP", stop))
        for node, value in order:
            self.write_checked(f":SENSe:WAVelength:{node} {value:.10g}")
        if resolution is not None:
            self.write_checked(f":SENSe:BANDwidth:RESolution {resolution:.10g}")
        if points is None:
            self.auto_points = True
        else:
            self.auto_points = False
            self.points = int(points)
        self.write_checked(":INITiate:SMODe SINGle")
        # trace A is written by each sweep (not fixed or held); seen in Yokogawa sample
        # programs (:TRACe:ATTRibute:TR<x> WRITe), manual page not seen: UNVERIFIED
        self.write_checked(":TRACe:ACTive TRA")
        self.write_checked(":TRACe:ATTRibute:TRA WRITe")
        # log level scale, so :TRACe:Y? answers dBm; UNVERIFIED command (a write: an unknown
        # one is reported by the error queue, nothing waits on it)
        self.write_checked(":DISPlay:TRACe:Y1:SPACing LOGarithmic")
        self.data_format = "ASCii"

    def sweep(self) -> None:
        """One single sweep, returning once bit 0 (Sweep) of the operation event register is
        set; InstrumentError after ``sweep_timeout`` seconds."""
        self.write("*CLS")  # clears the event register: a stale end of sweep cannot count
        self.write(":INITiate")
        deadline = time.monotonic() + self.sweep_timeout
        while not int(self.query_float(":STATus:OPERation:EVENt?")) & 1:
            if time.monotonic() > deadline:
                raise InstrumentError(self.name, ":INITiate",
                                      f"the sweep did not end within {self.sweep_timeout:g} s")
            time.sleep(POLL_INTERVAL)
        errors = self.errors()
        if errors:
            raise InstrumentError(self.name, ":INITiate", "; ".join(errors))

    def acquire_spectrum(self) -> Spectrum:
        """One sweep; trace A as (wavelength m, W per resolution bandwidth)."""
        self.sweep()
        wavelength = self.query_floats(":TRACe:X? TRA")
        level_dbm = self.query_floats(":TRACe:Y? TRA")
        if wavelength.size != level_dbm.size or wavelength.size < 2:
            raise InstrumentError(self.name, ":TRACe:Y? TRA",
                                  f"{level_dbm.size} levels for {wavelength.size} wavelengths")
        resolution = self.resolution
        errors = self.errors()  # read now: the next sweep's *CLS would clear them unread
        if errors:
            raise InstrumentError(self.name, ":TRACe:Y? TRA", "; ".join(errors))
        return Spectrum(wavelength=wavelength, values=1e-3 * 10 ** (level_dbm / 10), units="W",
                        resolution=resolution)


def _is_setting(value, settings: tuple[float, ...]) -> bool:
    return (isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
            and any(math.isclose(float(value), s, rel_tol=1e-6) for s in settings))


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"sweep_timeout must be a number of seconds, got {value!r}")
    return float(value)
