"""Keithley (Tektronix) 2450 SourceMeter, SCPI command set.

Commands follow the Model 2450 Reference Manual (2450-901-01 Rev. B), section 6 "SCPI command
reference" (page numbers below are that revision's): SOURce, SENSe, OUTPut, READ?, TRACe and
FORMat subsystems. The instrument measures one function at a time; with source readback on
(``:SOURce:<f>:READ:BACK ON``) the buffer's SOURce element holds the *measured* source value, so
one reading gives both V and I.

Sweeps run in the instrument (``:SOURce:SWEep:<function>:LINear|LOG|LIST``, 6-81..6-87) with
failAbort ON: the sweep stops at the first point whose source limit (compliance) is exceeded.
The readings made until then stay in the buffer; ``:TRACe:ACTual?`` (6-107) says how many.
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
    number_text,
)
from .roles import SweepReadings
from .smu_common import DcSweeps, check_sense_option, output_description, sweep_levels

MAX_CURRENT = 1.05   # A, 1 A range with 5 % over-range (manual, "Source current ranges")
MAX_VOLTAGE = 210.0  # V, 200 V range with 5 % over-range
BUFFER = '"defbuffer1"'
_LONG = {"CURR": "CURRent", "VOLT": "VOLTage"}
MAX_SWEEP_POINTS = 10_000  # default capacity of defbuffer1 (":TRACe:POINts", 6-115)
NPLC = (0.01, 10.0)  # :SENSe:<function>:NPLCycles range
MIN_DELAY = 50e-6    # sweep <delay>: 0 (none) or 50 us to 10000 s (6-81)


class Keithley2450(DcSweeps, OutputSwitch, ScpiInstrument):
    """2450 SourceMeter: source I (V limit) or V (I limit), measure V and I, buffered sweeps."""

    idn_pattern = r"KEITHLEY INSTRUMENTS.*MODEL 2450"
    error_query = ":SYSTem:ERRor?"

    _function: str | None = None  # the source function configure() set; saves a query per point
    _nplc = 10.0  # integration time configure() set (the slowest until then), for sweep timeouts

    # section 6 entries :SOURce[1]:FUNCtion[:MODE] (6-72), :SOURce[1]:<function>[:LEVel]
    # [:IMMediate][:AMPLitude], :SOURce[1]:CURRent:VLIMit, :SOURce[1]:VOLTage:ILIMit
    source_function = Setting(":SOURce:FUNCtion {}", ":SOURce:FUNCtion?", kind=str,
                              check=Choice(("CURR", "VOLT")))
    source_current = Setting(":SOURce:CURRent {}", ":SOURce:CURRent?",
                             check=Range(-MAX_CURRENT, MAX_CURRENT), units="A")
    source_voltage = Setting(":SOURce:VOLTage {}", ":SOURce:VOLTage?",
                             check=Range(-MAX_VOLTAGE, MAX_VOLTAGE), units="V")
    voltage_limit = Setting(":SOURce:CURRent:VLIMit {}", ":SOURce:CURRent:VLIMit?",
                            check=Range(0.02, MAX_VOLTAGE), units="V")
    current_limit = Setting(":SOURce:VOLTage:ILIMit {}", ":SOURce:VOLTage:ILIMit?",
                            check=Range(1e-9, MAX_CURRENT), units="A")

    def __init__(self, resource, name: str | None = None, *, sense: str = "2-wire"):
        super().__init__(resource, name)
        self.sense = sense  # the station's; a step's remote_sense asks for 4-wire

    @classmethod
    def check_options(cls, options: dict) -> dict:
        """``sense``: "2-wire" or "4-wire" (remote sense, :SENSe:<function>:RSENse ON)."""
        return check_sense_option("Keithley 2450", options)

    # -- configuration ---------------------------------------------------------------------
    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        """The 2450's ranges for a step's ``current``, ``voltage``, ``nplc``, ``sweep_points``."""
        return check_ranges("Keithley 2450", request, {
            "current": (-MAX_CURRENT, MAX_CURRENT, "A"),
            "voltage": (-MAX_VOLTAGE, MAX_VOLTAGE, "V"),
            "nplc": (*NPLC, ""),
            "sweep_points": (2, MAX_SWEEP_POINTS, "points")})

    def _configure(self, source: str, sense: str, *, nplc: float, source_range: float | None,
                   remote_sense: bool) -> None:
        # section 6 entries :SENSe[1]:FUNCtion[:ON], :SENSe[1]:<function>:NPLCycles,
        # :SENSe[1]:<function>:RANGe:AUTO, :SENSe[1]:<function>:RSENse,
        # :SOURce[1]:<function>:READ:BACK, :SOURce[1]:<function>:RANGe[:AUTO]
        Range(*NPLC).check("nplc", nplc)
        src, sns = _LONG[source], _LONG[sense]
        self.write_checked(f":SOURce:FUNCtion {source}")
        self._function, self._nplc = source, nplc
        self.write_checked(f':SENSe:FUNCtion "{sense}"')
        self.write_checked(f":SENSe:{sns}:NPLCycles {nplc:g}")
        self.write_checked(f":SENSe:{sns}:RANGe:AUTO ON")
        remote = remote_sense or self.sense == "4-wire"
        self.write_checked(f":SENSe:{sns}:RSENse {'ON' if remote else 'OFF'}")
        self.write_checked(f":SOURce:{src}:READ:BACK ON")
        if source_range is None:
            self.write_checked(f":SOURce:{src}:RANGe:AUTO ON")
        else:
            self.write_checked(f":SOURce:{src}:RANGe {source_range:g}")

    def configure_current_source(self, *, voltage_limit: float, nplc: float = 1.0,
                                 current_range: float | None = None,
                                 remote_sense: bool = False) -> None:
        """Current source measuring voltage; the voltage limit is set before any level."""
        self._configure("CURR", "VOLT", nplc=nplc, source_range=current_range,
                        remote_sense=remote_sense)
        self.voltage_limit = voltage_limit

    def configure_voltage_source(self, *, current_limit: float, nplc: float = 1.0,
                                 voltage_range: float | None = None,
                                 remote_sense: bool = False) -> None:
        """Voltage source measuring current; the current limit is set before any level."""
        self._configure("VOLT", "CURR", nplc=nplc, source_range=voltage_range,
                        remote_sense=remote_sense)
        self.current_limit = current_limit

    def set_current(self, current: float) -> None:
        Range(-MAX_CURRENT, MAX_CURRENT).check("current", current)
        self.write(f":SOURce:CURRent {number_text(current)}")

    def set_voltage(self, voltage: float) -> None:
        Range(-MAX_VOLTAGE, MAX_VOLTAGE).check("voltage", voltage)
        self.write(f":SOURce:VOLTage {number_text(voltage)}")

    def read_source(self) -> tuple[str, float]:
        """The source function and its programmed level (A or V), read from the instrument."""
        function = self.source_function
        return function, (self.source_current if function == "CURR" else self.source_voltage)

    def describe_output(self) -> str:
        """Output state, source level and limit, read from the instrument (:OUTPut[:STATe]? and
        the source queries)."""
        on = self.output_enabled()
        function, level = self.read_source()
        limit = self.voltage_limit if function == "CURR" else self.current_limit
        return output_description(on, function, level, limit)

    # -- measurement -----------------------------------------------------------------------
    def measure(self) -> tuple[float, float]:
        """One reading: (voltage, current). ``:READ?`` with buffer elements READing and SOURce."""
        values = self.query_floats(f":READ? {BUFFER}, READ, SOUR")
        if len(values) != 2:
            raise InstrumentError(self.name, ":READ?", f"expected 2 values, got {len(values)}")
        reading, source = values
        if self._function is None:  # not configured through this driver: ask once
            self._function = self.source_function
        if self._function == "CURR":
            return float(reading), float(source)
        return float(source), float(reading)

    def sweep_seconds(self, points: int, delay: float) -> float:
        """Expected duration of a sweep: per point its source delay, three integrations of nplc
        line cycles at 50 Hz (the slower line) and 1 ms of overhead. With autozero on (the
        default) the 2450 "checks these reference measurements whenever a signal measurement
        is made" and keeps a reference and a zero per aperture (6-46, :AZERo): at most the
        reading, a reference and a zero per point. An upper estimate; the manual gives no
        per-reading time."""
        return points * (delay + 3 * self._nplc / 50.0 + 1e-3)

    def _dc_sweep(self, function: str, levels: np.ndarray, delay: float) -> SweepReadings:
        # refused here, as set_current does
        levels = sweep_levels(levels, MAX_CURRENT if function == "CURR" else MAX_VOLTAGE,
                              least=2, most=MAX_SWEEP_POINTS, what="a 2450 sweep",
                              unit="points")
        Range(0.0, 1e4).check("delay", delay)
        if 0 < delay < MIN_DELAY:
            raise ValueError(f"delay={delay:g} s: the 2450 takes 0 (none) or {MIN_DELAY:g} s "
                             "to 10000 s")
        n = levels.size
        self.write_checked(f":TRACe:CLEar {BUFFER}")  # :TRACe:CLEar
        # start, stop, points, delay, count, rangeType, failAbort, dual, "bufferName" (6-81, 6-87)
        ends = f"{number_text(levels[0])}, {number_text(levels[-1])}, {n}, {delay:g}"
        tail = f"1, BEST, ON, OFF, {BUFFER}"  # one pass, best fixed range, abort on limit, no dual
        if np.allclose(np.diff(levels), levels[1] - levels[0], rtol=1e-9, atol=0):
            self.write_checked(f":SOURce:SWEep:{function}:LINear {ends}, {tail}")
        elif (np.all(levels > 0) and
              np.allclose(np.diff(np.log(levels)), np.log(levels[1] / levels[0]), rtol=1e-6)):
            self.write_checked(f":SOURce:SWEep:{function}:LOG {ends}, {tail}")
        else:
            # :SOURce[1]:LIST:<function>, at most 100 values per command, longer lists
            # continue with :APPend (6-78)
            for i in range(0, n, 100):
                verb = f":SOURce:LIST:{function}" + (":APPend " if i else " ")
                self.write_checked(verb + ",".join(map(number_text, levels[i:i + 100])))
            # startIndex, delay, count, failAbort, "bufferName" (6-85)
            self.write_checked(f":SOURce:SWEep:{function}:LIST 1, {delay:g}, 1, ON, {BUFFER}")
        self.write(":INITiate")  # :INITiate[:IMMediate]
        # UNVERIFIED: that *OPC? (common command) answers only once the trigger model is idle
        self.wait_complete(self.sweep_seconds(n, delay), f"a {n}-point sweep")
        measured = self._buffer_count()
        if measured > n:
            raise InstrumentError(self.name, ":TRACe:ACTual?",
                                  f"{measured} readings in the buffer, {n} programmed")
        if measured == 0:
            empty = np.empty(0)
            return SweepReadings(source=empty, voltage=empty, current=empty,
                                 stopped_at_compliance=True)
        reading, measured_source = self._read_buffer(measured)
        stopped = measured < n
        if function == "CURR":
            return SweepReadings(source=levels[:measured], voltage=reading,
                                 current=measured_source, stopped_at_compliance=stopped)
        return SweepReadings(source=levels[:measured], voltage=measured_source, current=reading,
                             stopped_at_compliance=stopped)

    def _buffer_count(self) -> int:
        """Readings stored in defbuffer1 (:TRACe:ACTual?, 6-107)."""
        text = self.query(f":TRACe:ACTual? {BUFFER}")
        try:
            return int(float(text))
        except ValueError:
            raise InstrumentError(self.name, ":TRACe:ACTual?",
                                  f"unexpected answer {text!r}") from None

    def _read_buffer(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Readings and measured source values 1..count in one binary transfer: :FORMat:DATA
        REAL (6-30) sends IEEE-754 doubles in a "#0" block; :TRACe:DATA? with the
        elements READing and SOURce. Byte order is not given in the manual: little-endian
        assumed (UNVERIFIED, to confirm on hardware)."""
        self.write_checked(":FORMat:DATA REAL")
        try:
            raw = self.query_block(f":TRACe:DATA? 1, {count}, {BUFFER}, READ, SOUR",
                                   expected_bytes=16 * count)
        finally:
            self.write_checked(":FORMat:DATA ASCii")
        values = np.frombuffer(raw, dtype="<f8")
        if values.size != 2 * count:
            raise InstrumentError(self.name, ":TRACe:DATA?",
                                  f"expected {2 * count} values, got {values.size}")
        return values[0::2], values[1::2]
