"""Keysight (Agilent) E5071C ENA network analyser, SCPI command set.

Commands follow the E5071C Programming help (SENSe, SOURce, CALCulate, TRIGger, INITiate, FORMat
and OUTPut subsystems). FORMat and the data arrays are checked against its "Reading/Writing
Measurement Data" chapter ("Data Transfer Format", "Internal Data Processing"); the other
commands only against public E5071C drivers (marked UNVERIFIED below where that is all).
Channel 1, trace 1. A sweep is started with the BUS trigger (``:TRIGger:SEQuence:SOURce BUS`` +
``:TRIGger:SEQuence:SINGle``) and waited for with ``*OPC?``; with ``:TRIGger:SEQuence:AVERage ON``
one trigger runs the whole averaging group. Traces come as ``:FORMat:DATA REAL`` (IEEE-754
64-bit) definite-length blocks (``#6`` + byte count), byte order ``:FORMat:BORDer SWAPped``
(little endian) - "Data Transfer Format" in the manual. Only the data queries use FORMat; every
other query answers in ASCII.

The frequency range depends on the test-set option, read with ``*OPT?`` (IEEE 488.2-1992,
10.20) at connect: see ``FREQUENCY_OPTIONS``.
"""

from __future__ import annotations

import numpy as np

from .base import (
    Choice,
    InstrumentError,
    OutputSwitch,
    Range,
    ScpiInstrument,
    Setting,
    check_ranges,
    plan_check,
)

# Test-set option -> (lowest, highest frequency in Hz), E5071C data sheet (5989-5479EN) "option
# structure", recalled (the data sheet was not found in the searchable manuals: UNVERIFIED).
# 2x0/4x0: 2 or 4 ports from 9 kHz, without bias tees; 2x5/4x5: with bias tees, from 100 kHz;
# 2D5/4D5 and 2K5/4K5: 300 kHz to 14 GHz and 20 GHz.
FREQUENCY_OPTIONS = {
    **dict.fromkeys(("240", "440"), (9e3, 4.5e9)),
    **dict.fromkeys(("245", "445"), (100e3, 4.5e9)),
    **dict.fromkeys(("260", "460"), (9e3, 6.5e9)),
    **dict.fromkeys(("265", "465"), (100e3, 6.5e9)),
    **dict.fromkeys(("280", "480"), (9e3, 8.5e9)),
    **dict.fromkeys(("285", "485"), (100e3, 8.5e9)),
    **dict.fromkeys(("2D5", "4D5"), (300e3, 14e9)),
    **dict.fromkeys(("2K5", "4K5"), (300e3, 20e9)),
}
WIDEST = (min(r[0] for r in FREQUENCY_OPTIONS.values()),
          max(r[1] for r in FREQUENCY_OPTIONS.values()))
NARROWEST = (max(r[0] for r in FREQUENCY_OPTIONS.values()),
             min(r[1] for r in FREQUENCY_OPTIONS.values()))
IF_BANDWIDTH = (10.0, 1.5e6)  # Hz, UNVERIFIED
POWER = (-55.0, 10.0)         # dBm, UNVERIFIED: option dependent
AVERAGING = (1, 999)          # UNVERIFIED
POINT_OVERHEAD = 50e-6        # s per point besides 1/IFBW (settling, UNVERIFIED estimate)


def frequency_option(options: str) -> str | None:
    """The test-set option code in an ``*OPT?`` answer (comma-separated codes), or None."""
    codes = [code.strip().strip('"').upper() for code in options.split(",")]
    return next((code for code in codes if code in FREQUENCY_OPTIONS), None)


# :CALCulate1:SELected:FORMat values this driver reads back (rectangular formats, Table 7-1)
TRACE_FORMATS = ("MLOG", "MLIN", "PHAS", "UPH", "REAL", "IMAG", "GDEL")


class KeysightE5071C(OutputSwitch, ScpiInstrument):
    """E5071C: S21 over a linear or logarithmic sweep, averaging, binary trace transfer.

    Model limits: frequency by option (``FREQUENCY_OPTIONS``; the class carries the widest any
    option gives, a connected instance its own), 2 to 20001 points (UNVERIFIED: fewer with many
    channels/traces), IF bandwidth 10 Hz to 1.5 MHz, source power -55 to +10 dBm, averaging
    factor 1 to 999 (all UNVERIFIED).
    """

    idn_pattern = r"(?i)^(agilent|keysight) technologies,E5071C,"
    timeout_s = 10.0  # a sweep's own wait is sized from its settings (sweep_seconds)
    min_frequency, max_frequency = WIDEST  # the instance narrows them to its option at connect
    max_points = 20001
    source_impedance = 50.0  # ohm, the S-parameter reference impedance
    option: str | None = None   # the test-set option found at connect
    _plan: tuple[int, float, int] | None = None  # points, IF bandwidth, averaging configured

    start_frequency = Setting(":SENSe1:FREQuency:STARt {}", ":SENSe1:FREQuency:STARt?",
                              check=Range(*WIDEST), units="Hz")
    stop_frequency = Setting(":SENSe1:FREQuency:STOP {}", ":SENSe1:FREQuency:STOP?",
                             check=Range(*WIDEST), units="Hz")
    points = Setting(":SENSe1:SWEep:POINts {}", ":SENSe1:SWEep:POINts?", kind=int,
                     check=Range(2, max_points))
    sweep_type = Setting(":SENSe1:SWEep:TYPE {}", ":SENSe1:SWEep:TYPE?", kind=str,
                         check=Choice(("LIN", "LOG")))
    if_bandwidth = Setting(":SENSe1:BANDwidth {}", ":SENSe1:BANDwidth?",
                           check=Range(*IF_BANDWIDTH), units="Hz")
    source_power = Setting(":SOURce1:POWer {}", ":SOURce1:POWer?",
                           check=Range(*POWER), units="dBm")
    averaging = Setting(":SENSe1:AVERage {}", ":SENSe1:AVERage?", kind=bool)
    average_count = Setting(":SENSe1:AVERage:COUNt {}", ":SENSe1:AVERage:COUNt?", kind=int,
                            check=Range(*AVERAGING))
    trigger_averaging = Setting(":TRIGger:SEQuence:AVERage {}", ":TRIGger:SEQuence:AVERage?",
                                kind=bool, doc="One trigger runs the whole averaging group.")
    trigger_source = Setting(":TRIGger:SEQuence:SOURce {}", ":TRIGger:SEQuence:SOURce?",
                             kind=str, check=Choice(("INT", "EXT", "MAN", "BUS")))
    continuous = Setting(":INITiate1:CONTinuous {}", ":INITiate1:CONTinuous?", kind=bool)
    parameter = Setting(":CALCulate1:PARameter1:DEFine {}", ":CALCulate1:PARameter1:DEFine?",
                        kind=str, check=Choice(("S11", "S21", "S12", "S22")))
    trace_format = Setting(":CALCulate1:SELected:FORMat {}", ":CALCulate1:SELected:FORMat?",
                           kind=str, check=Choice(TRACE_FORMATS))
    data_format = Setting(":FORMat:DATA {}", ":FORMat:DATA?", kind=str,
                          check=Choice(("ASC", "REAL", "REAL32")))
    byte_order = Setting(":FORMat:BORDer {}", ":FORMat:BORDer?", kind=str,
                         check=Choice(("NORM", "SWAP")))

    def connect(self) -> str:
        """Identify, clear status, and read the options (``*OPT?``): the test-set option sets
        this instance's frequency range; an unknown one keeps the narrowest any option has."""
        idn = super().connect()
        self.option = frequency_option(self.query("*OPT?"))
        self.min_frequency, self.max_frequency = FREQUENCY_OPTIONS.get(self.option, NARROWEST)
        return idn

    def settings(self) -> dict:
        out = super().settings()
        out["option"] = self.option
        out["frequency_range"] = [self.min_frequency, self.max_frequency]
        if self.option is None:
            out["frequency_range_note"] = ("no known test-set option in *OPT?: the narrowest "
                                           "range of any option is assumed")
        return out

    @plan_check
    def check_plan(owner, request: dict) -> list[str]:
        """``start``, ``stop`` (Hz), ``points``, ``if_bandwidth`` (Hz), ``power`` (dBm) and
        ``averaging`` against the model's ranges; the frequency range is the widest of any
        option on the class and the instrument's own option on a connected instance."""
        model = "E5071C" + (f" option {owner.option}" if owner.option else "")
        problems = check_ranges(model, request, {
            "start": (owner.min_frequency, owner.max_frequency, "Hz"),
            "stop": (owner.min_frequency, owner.max_frequency, "Hz"),
            "points": (2, owner.max_points, "points"),
            "if_bandwidth": (*IF_BANDWIDTH, "Hz"),
            "power": (*POWER, "dBm"),
            "averaging": (*AVERAGING, "")})
        start, stop = request.get("start"), request.get("stop")
        if not problems and start is not None and stop is not None and not start < stop:
            problems.append(f"start={start:g} Hz is not below stop={stop:g} Hz ({model})")
        return problems

    # -- configuration ---------------------------------------------------------------------
    def configure_s21(self, *, start: float, stop: float, points: int, if_bandwidth: float,
                      power: float, averaging: int = 1, log_sweep: bool = True) -> None:
        """Trace 1 = S21, sweep start..stop (Hz), points, IF bandwidth (Hz), power (dBm),
        ``averaging`` sweeps per measurement (1 = off), BUS trigger. The RF output is untouched."""
        Range(self.min_frequency, self.max_frequency).check("start", start)
        Range(self.min_frequency, self.max_frequency).check("stop", stop)
        if not start < stop:
            raise ValueError(f"start={start:g} Hz must be below stop={stop:g} Hz")
        if isinstance(points, bool) or int(points) != points:
            raise ValueError(f"points={points!r} must be a whole number")
        if isinstance(averaging, bool) or int(averaging) != averaging:
            raise ValueError(f"averaging={averaging!r} must be a whole number")
        Range(2, self.max_points).check("points", points)
        Range(*IF_BANDWIDTH).check("if_bandwidth", if_bandwidth)
        Range(*POWER).check("power", power)
        Range(*AVERAGING).check("averaging", averaging)
        self.write_checked(":CALCulate1:PARameter:COUNt 1")
        self.parameter = "S21"
        self.write_checked(":CALCulate1:PARameter1:SELect")
        self.trace_format = "MLOG"
        self.sweep_type = "LOG" if log_sweep else "LIN"
        # stop first when the new span lies above the present one, so start < stop throughout
        order = (("STOP", stop), ("STARt", start)) if start >= self.stop_frequency \
            else (("STARt", start), ("STOP", stop))
        for node, value in order:
            self.write_checked(f":SENSe1:FREQuency:{node} {value:.10g}")
        self.points = int(points)
        self.write_checked(f":SENSe1:BANDwidth {if_bandwidth:.10g}")
        self.write_checked(f":SOURce1:POWer {power:.10g}")
        if averaging > 1:
            self.average_count = int(averaging)
            self.averaging = True
            self.trigger_averaging = True
        else:
            self.averaging = False
            self.trigger_averaging = False
        self.continuous = True  # the channel waits for the BUS trigger instead of holding
        self.trigger_source = "BUS"
        self._plan = (int(points), float(if_bandwidth), int(averaging))

    # -- measurement -----------------------------------------------------------------------
    def _sweep_plan(self) -> tuple[int, float, int]:
        """(points, IF bandwidth, sweeps averaged) as configure_s21 set them, else read back."""
        if self._plan is None:
            count = self.average_count if self.averaging else 1
            self._plan = (self.points, self.if_bandwidth, count)
        return self._plan

    def sweep_seconds(self) -> float:
        """Expected duration of one triggered sweep: averaging x points x (1 / IF bandwidth +
        a settling overhead per point). The instrument's own sweep-time query is not used: no
        manual page for it was found."""
        points, if_bandwidth, count = self._sweep_plan()
        return count * points * (1.0 / if_bandwidth + POINT_OVERHEAD)

    def sweep(self) -> None:
        """One triggered sweep (the whole averaging group), returning when it is complete; a
        sweep that does not complete in its computed time raises InstrumentError."""
        if self._sweep_plan()[2] > 1:
            self.write_checked(":SENSe1:AVERage:CLEar")
        # UNVERIFIED: the E5071C manual's wording that :TRIGger:SEQuence:SINGle needs the BUS
        # source (configure_s21 always selects BUS, so the driver works either way)
        self.write(":TRIGger:SEQuence:SINGle")
        self.wait_complete(self.sweep_seconds(), "the sweep")
        errs = self.errors()
        if errs:
            raise InstrumentError(self.name, ":TRIGger:SEQuence:SINGle", "; ".join(errs))

    def _read_real(self, query: str) -> np.ndarray:
        """A data query as a REAL (float64) block, little endian (:FORMat:BORDer SWAP)."""
        self.data_format = "REAL"
        self.byte_order = "SWAP"
        raw = self.query_block(query)
        if len(raw) % 8:
            raise InstrumentError(self.name, query, f"{len(raw)} bytes is not whole doubles")
        return np.frombuffer(raw, dtype="<f8")

    def frequencies(self) -> np.ndarray:
        """Stimulus frequencies of the sweep (Hz), ``:SENSe1:FREQuency:DATA?``."""
        return self._read_real(":SENSe1:FREQuency:DATA?")

    def read_complex(self) -> np.ndarray:
        """Corrected data of trace 1 (Re, Im per point), ``:CALCulate1:DATA:SDATa?``."""
        values = self._read_real(":CALCulate1:DATA:SDATa?")
        return values[0::2] + 1j * values[1::2]

    def read_formatted(self) -> np.ndarray:
        """Formatted data of trace 1 in its display format: first value of each pair
        (``:CALCulate1:DATA:FDATa?``; the second is 0 for the rectangular formats)."""
        return self._read_real(":CALCulate1:DATA:FDATa?")[0::2].copy()

    def measure_s21(self) -> tuple[np.ndarray, np.ndarray]:
        """One single sweep, waited for; (frequency Hz, complex S21), binary transfer."""
        if self.parameter != "S21":
            raise InstrumentError(self.name, ":CALCulate1:PARameter1:DEFine?",
                                  "trace 1 does not measure S21; call configure_s21 first")
        self.sweep()
        frequency = self.frequencies()
        s21 = self.read_complex()
        if s21.size != frequency.size:
            raise InstrumentError(self.name, ":CALCulate1:DATA:SDATa?",
                                  f"{s21.size} points of data for {frequency.size} frequencies")
        return frequency, s21

    # -- output (:OUTPut[:STATe], the RF switch of all ports) ----------------------------------
    def read_source(self) -> tuple[str, float]:
        """("POW", port power in dBm), read from the instrument (:SOURce1:POWer?)."""
        return "POW", self.source_power

    def describe_output(self) -> str:
        """RF output state and port power, read from the instrument."""
        state = "ON" if self.output_enabled() else "OFF"
        return f"RF output {state}, port power {self.source_power:g} dBm"
