"""Keithley (Tektronix) 2450 SourceMeter, SCPI command set.

Commands follow the Model 2450 Reference Manual (2450-901-01), section "SCPI command reference":
SOURce, SENSe, OUTPut, READ?, TRACe and FORMat subsystems. The instrument measures one function at
a time; with source readback on (``:SOURce:<f>:READ:BACK ON``) the buffer's SOURce element holds the
*measured* source value, so one reading gives both V and I.
"""

from __future__ import annotations

import numpy as np

from .base import Choice, InstrumentError, OutputSwitch, Range, ScpiInstrument, Setting, number_text
from .roles import SweepReadings

MAX_CURRENT = 1.05   # A, 1 A range with 5 % over-range (manual, "Source current ranges")
MAX_VOLTAGE = 210.0  # V, 200 V range with 5 % over-range
BUFFER = '"defbuffer1"'
_LONG = {"CURR": "CURRent", "VOLT": "VOLTage"}
MAX_SWEEP_POINTS = 10_000  # default capacity of defbuffer1 (":TRACe:POINts", 6-115)


class Keithley2450(OutputSwitch, ScpiInstrument):
    """2450 SourceMeter: source I (V limit) or V (I limit), measure V and I, buffered sweeps."""

    idn_pattern = r"KEITHLEY INSTRUMENTS.*MODEL 2450"
    error_query = ":SYSTem:ERRor?"

    _function: str | None = None  # the source function configure() set; saves a query per point
    _nplc = 10.0  # integration time configure() set (the slowest until then), for sweep timeouts

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

    # -- configuration ---------------------------------------------------------------------
    def _configure(self, source: str, sense: str, *, nplc: float, source_range: float | None,
                   remote_sense: bool) -> None:
        Range(0.01, 10.0).check("nplc", nplc)
        src, sns = _LONG[source], _LONG[sense]
        self.write_checked(f":SOURce:FUNCtion {source}")
        self._function, self._nplc = source, nplc
        self.write_checked(f':SENSe:FUNCtion "{sense}"')
        self.write_checked(f":SENSe:{sns}:NPLCycles {nplc:g}")
        self.write_checked(f":SENSe:{sns}:RANGe:AUTO ON")
        self.write_checked(f":SENSe:{sns}:RSENse {'ON' if remote_sense else 'OFF'}")
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
        """The source function and its programmed level, read from the instrument."""
        function = self.source_function
        return function, (self.source_current if function == "CURR" else self.source_voltage)

    def describe_output(self) -> str:
        function, level = self.read_source()
        if not self.output_enabled():
            return "output OFF"
        unit, limit, limit_unit = (("A", self.voltage_limit, "V") if function == "CURR"
                                   else ("V", self.current_limit, "A"))
        return f"output ON at {level:g} {unit}, limit {limit:g} {limit_unit}"

    # -- measurement -----------------------------------------------------------------------
    def measure(self) -> tuple[float, float]:
        """One reading: (voltage, current). ``READ?`` with buffer elements READing and SOURce."""
        values = self.query_floats(f":READ? {BUFFER}, READ, SOUR")
        if len(values) != 2:
            raise InstrumentError(self.name, ":READ?", f"expected 2 values, got {len(values)}")
        reading, source = values
        if self._function is None:  # not configured through this driver: ask once
            self._function = self.source_function
        if self._function == "CURR":
            return float(reading), float(source)
        return float(source), float(reading)

    def _sweep(self, function: str, levels: np.ndarray, delay: float) -> SweepReadings:
        levels = np.asarray(levels, dtype=float)
        if not 2 <= levels.size <= MAX_SWEEP_POINTS:
            raise ValueError(f"a 2450 sweep takes 2 to {MAX_SWEEP_POINTS} points, "
                             f"got {levels.size}")
        limit = MAX_CURRENT if function == "CURR" else MAX_VOLTAGE
        for level in (levels.min(), levels.max()):  # refused here, as set_current does
            Range(-limit, limit).check("sweep level", level)
        Range(0.0, 1e4).check("delay", delay)
        n = levels.size
        self.write_checked(f":TRACe:CLEar {BUFFER}")
        # Sweep syntax (manual, ":SOURce:SWEep:<function>:LINear|LOG|LIST"):
        # start, stop, points, delay, count, rangeType, failAbort, dual, "bufferName"
        ends = f"{number_text(levels[0])}, {number_text(levels[-1])}, {n}, {delay:g}"
        if np.allclose(np.diff(levels), levels[1] - levels[0], rtol=1e-9, atol=0):
            self.write_checked(f":SOURce:SWEep:{function}:LINear {ends}, 1, BEST, OFF, OFF, "
                               f"{BUFFER}")
        elif (np.all(levels > 0) and
              np.allclose(np.diff(np.log(levels)), np.log(levels[1] / levels[0]), rtol=1e-6)):
            self.write_checked(f":SOURce:SWEep:{function}:LOG {ends}, 1, BEST, OFF, OFF, {BUFFER}")
        else:
            # at most 100 values per command; longer lists continue with :APPend (manual 6-78)
            for i in range(0, n, 100):
                verb = f":SOURce:LIST:{function}" + (":APPend " if i else " ")
                self.write_checked(verb + ",".join(map(number_text, levels[i:i + 100])))
            self.write_checked(f":SOURce:SWEep:{function}:LIST 1, {delay:g}, 1, OFF, {BUFFER}")
        self.write(":INITiate")
        # *OPC? answers when the trigger model has finished: each point integrates nplc line
        # cycles (taken at 50 Hz) twice with autozero, plus its source delay
        with self.patience(n * (delay + 2 * self._nplc / 50.0 + 1e-3)):
            self.query("*OPC?")
        self.write_checked(":FORMat:DATA REAL")
        try:
            # REAL = IEEE-754 doubles in a "#0" block (manual 6-30); byte order is not given in
            # the manual: little-endian assumed, to confirm on hardware.
            raw = self.query_block(f":TRACe:DATA? 1, {n}, {BUFFER}, READ, SOUR",
                                   expected_bytes=16 * n)
        finally:
            self.write_checked(":FORMat:DATA ASCii")
        values = np.frombuffer(raw, dtype="<f8")
        if values.size != 2 * n:
            raise InstrumentError(self.name, ":TRACe:DATA?",
                                  f"expected {2 * n} values, got {values.size}")
        reading, measured_source = values[0::2], values[1::2]
        if function == "CURR":
            return SweepReadings(source=levels, voltage=reading, current=measured_source)
        return SweepReadings(source=levels, voltage=measured_source, current=reading)

    def sweep_current(self, levels: np.ndarray, *, delay: float = 0.0) -> SweepReadings:
        return self._sweep("CURR", levels, delay)

    def sweep_voltage(self, levels: np.ndarray, *, delay: float = 0.0) -> SweepReadings:
        return self._sweep("VOLT", levels, delay)
