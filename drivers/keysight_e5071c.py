"""Keysight (Agilent) E5071C ENA network analyser, SCPI command set.

Commands follow the E5071C Programming help (SENSe, SOURce, CALCulate, TRIGger, INITiate, FORMat
and OUTPut subsystems). FORMat and the data arrays are checked against its "Reading/Writing
Measurement Data" chapter ("Data Transfer Format", "Internal Data Processing"); the other
commands only against public E5071C drivers. Channel 1, trace 1. A sweep is started with the
BUS trigger (``:TRIGger:SEQuence:SOURce BUS`` + ``:TRIGger:SEQuence:SINGle``) and waited for with
``*OPC?``; with ``:TRIGger:SEQuence:AVERage ON`` one trigger runs the whole averaging group.
Traces come as ``:FORMat:DATA REAL`` (IEEE-754 64-bit) definite-length blocks (``#6`` + byte
count), byte order ``:FORMat:BORDer SWAPped`` (little endian) - "Data Transfer Format" in the
manual. Only the data queries use FORMat; every other query answers in ASCII.
"""

from __future__ import annotations

import numpy as np

from .base import Choice, InstrumentError, OutputSwitch, Range, ScpiInstrument, Setting

# :CALCulate1:SELected:FORMat values this driver reads back (rectangular formats, Table 7-1)
TRACE_FORMATS = ("MLOG", "MLIN", "PHAS", "UPH", "REAL", "IMAG", "GDEL")


class KeysightE5071C(OutputSwitch, ScpiInstrument):
    """E5071C: S21 over a linear or logarithmic sweep, averaging, binary trace transfer.

    Model limits: 9 kHz to 8.5 GHz (options 2K5/4K5; other options cover 100 kHz or 300 kHz to
    4.5/6.5/8.5 GHz), 2 to 20001 points (UNVERIFIED: fewer with many channels/traces), IF bandwidth
    10 Hz to 1.5 MHz (UNVERIFIED), source power -55 to +10 dBm (UNVERIFIED: option dependent),
    averaging factor 1 to 999 (UNVERIFIED).
    """

    idn_pattern = r"(?i)^(agilent|keysight) technologies,E5071C,"
    timeout_s = 60.0  # a slow (narrow IF bandwidth, averaged) sweep is waited for with *OPC?
    min_frequency = 9e3
    max_frequency = 8.5e9
    max_points = 20001
    source_impedance = 50.0  # ohm, the S-parameter reference impedance

    start_frequency = Setting(":SENSe1:FREQuency:STARt {}", ":SENSe1:FREQuency:STARt?",
                              check=Range(min_frequency, max_frequency), units="Hz")
    stop_frequency = Setting(":SENSe1:FREQuency:STOP {}", ":SENSe1:FREQuency:STOP?",
                             check=Range(min_frequency, max_frequency), units="Hz")
    points = Setting(":SENSe1:SWEep:POINts {}", ":SENSe1:SWEep:POINts?", kind=int,
                     check=Range(2, max_points))
    sweep_type = Setting(":SENSe1:SWEep:TYPE {}", ":SENSe1:SWEep:TYPE?", kind=str,
                         check=Choice(("LIN", "LOG")))
    if_bandwidth = Setting(":SENSe1:BANDwidth {}", ":SENSe1:BANDwidth?",
                           check=Range(10.0, 1.5e6), units="Hz")
    source_power = Setting(":SOURce1:POWer {}", ":SOURce1:POWer?",
                           check=Range(-55.0, 10.0), units="dBm")
    averaging = Setting(":SENSe1:AVERage {}", ":SENSe1:AVERage?", kind=bool)
    average_count = Setting(":SENSe1:AVERage:COUNt {}", ":SENSe1:AVERage:COUNt?", kind=int,
                            check=Range(1, 999))
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
        Range(10.0, 1.5e6).check("if_bandwidth", if_bandwidth)
        Range(-55.0, 10.0).check("power", power)
        Range(1, 999).check("averaging", averaging)
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

    # -- measurement -----------------------------------------------------------------------
    def sweep(self) -> None:
        """One triggered sweep (the whole averaging group), returning when it is complete."""
        if self.averaging:
            self.write_checked(":SENSe1:AVERage:CLEar")
        # UNVERIFIED: the E5071C manual's wording that :TRIGger:SEQuence:SINGle needs the BUS
        # source (configure_s21 always selects BUS, so the driver works either way)
        self.write(":TRIGger:SEQuence:SINGle")
        done = self.query("*OPC?")
        if done not in ("1", "+1"):
            raise InstrumentError(self.name, "*OPC?", f"unexpected answer {done!r}")
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
