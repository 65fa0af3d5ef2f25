"""Keithley Series 2600B System SourceMeter (2601B, 2602B, 2604B, and the 2601B-PULSE's SMU), TSP.

Written from the Series 2600B Reference Manual (2600BS-901-01 Rev. F): every message is a Lua
chunk of the TSP command set, section 9 "TSP command reference" (entries named in comments);
common commands *IDN?, *CLS and *OPC? are taken beside TSP (section 9, "Common commands").
Queries are ``print(...)`` of an attribute or a function's results (TSP's ``print`` writes its
arguments separated by tabs, numbers as ``format.asciiprecision`` digits). Errors are read with
``errorqueue.next()`` (code, message, severity, node; code 0 "Queue Is Empty").

Sweeps run in the instrument's trigger model (section 2 "Sweep operation", section 4 "Using the
remote trigger model"): a source list ``smuX.trigger.source.listi``, measured into
``smuX.nvbuffer1`` (current) and ``smuX.nvbuffer2`` (voltage) by ``smuX.trigger.measure.iv``,
read in one binary transfer with ``printbuffer`` in ``format.REAL64``. Pulses use the same
model with ``smuX.trigger.endpulse.action = smuX.SOURCE_IDLE`` and two timers (section 2 "Using
timers to perform pulse mode sweeps"): timer 1 (passthrough, started by the arm event) paces
the period, timer 2 (started by timer 1) ends each pulse after the width; the reading starts
``smuX.measure.delay`` after the source action. The 2601B-PULSE's separate pulser
(``smua.pulser.*``) is not used.

Options (station ``options:``): ``channel`` "a" or "b" (a 2602B/2604B has both), ``sense``
"2-wire" (local) or "4-wire" (remote sense, ``smuX.sense = smuX.SENSE_REMOTE``).
"""

from __future__ import annotations

import math
import re

import numpy as np

from . import smu_common
from .base import InstrumentError, Range, ScpiInstrument, check_ranges, number_text
from .roles import SweepReadings
from .smu_common import DcSweeps, output_description, output_on_during, sweep_levels

MAX_CURRENT = 3.03     # A, 3 A range + 1 % at <= 6 V (section 5 "I-source operating boundaries")
MAX_VOLTAGE = 40.4     # V, 40 V range + 1 %
MAX_PULSE_CURRENT = 10.1  # A, pulse region 4
NPLC = (0.001, 25.0)   # smuX.measure.nplc
MAX_SWEEP_POINTS = 1000  # one listi table per message; kept short (UNVERIFIED input line length)
MIN_PULSE_WIDTH = 100e-6  # s, datasheet "minimum programmable pulse width" (UNVERIFIED)
# Pulse regions of the 2601B/2602B/2604B (max current A, max voltage V, max width s, max duty):
# section 2 "Pulse characteristics" figure, values from the 2600B datasheet (UNVERIFIED).
PULSE_REGIONS = ((1.01, 40.4, math.inf, 1.0), (3.03, 6.06, math.inf, 1.0),
                 (1.515, 40.4, 100e-3, 0.25), (5.05, 35.35, 4e-3, 0.04),
                 (10.1, 20.2, 1.8e-3, 0.01))
SENSE = {"2-wire": "SENSE_LOCAL", "4-wire": "SENSE_REMOTE"}
# where a pulse's reading sits: it starts at this fraction of the width and lasts this fraction
MEASURE_START, MEASURE_SPAN = 0.6, 0.3


class Keithley2600B(DcSweeps, ScpiInstrument):
    """2600B SMU channel: source I or V with a limit, measure both, list sweeps and pulses."""

    idn_pattern = r"Keithley Instruments.*Model 260[124]B"
    error_query = "print(errorqueue.next())"  # errorqueue.next()

    _function: str | None = None
    _nplc = 25.0
    line_frequency = 50.0  # Hz, read at connect (localnode.linefreq); 50 is the slower

    def __init__(self, resource, name: str | None = None, *, channel: str = "a",
                 sense: str = "2-wire"):
        super().__init__(resource, name)
        self.smu = f"smu{channel}"
        self.sense = self.sensing = sense  # the station's sense; a step's configure may change

    @classmethod
    def check_options(cls, options: dict) -> dict:
        """``channel`` ("a" | "b") and ``sense`` ("2-wire" | "4-wire")."""
        unknown = sorted(set(map(str, options)) - {"channel", "sense"})
        if unknown:
            raise ValueError(f"the Keithley 2600B takes options channel and sense, not "
                             f"{', '.join(unknown)}")
        checked = {"channel": options.get("channel", "a"), "sense": options.get("sense",
                                                                                  "2-wire")}
        if checked["channel"] not in ("a", "b"):
            raise ValueError(f"channel must be a or b, got {checked['channel']!r}")
        if checked["sense"] not in SENSE:
            raise ValueError(f"sense must be 2-wire or 4-wire, got {checked['sense']!r}")
        return checked

    # -- protocol ----------------------------------------------------------------------------
    def connect(self) -> str:
        idn = super().connect()
        # localnode.linefreq: the line frequency the integration times are counted in
        self.line_frequency = self.query_float("print(localnode.linefreq)")
        return idn

    def errors(self) -> list[str]:
        """Drain errorqueue.next() until code 0 ("Queue Is Empty")."""
        found = []
        for _ in range(32):
            text = self.query(self.error_query)
            try:
                code = float(text.split("\t", 1)[0])
            except ValueError:
                raise InstrumentError(self.name, self.error_query,
                                      f"unexpected answer {text!r}") from None
            if code == 0:
                return found
            fields = text.split("\t")
            found.append(f"{int(code)} {fields[1] if len(fields) > 1 else ''}".strip())
        return found

    def _set(self, attribute: str, value: str) -> None:
        self.write_checked(f"{self.smu}.{attribute} = {value}")

    def _get(self, attribute: str) -> float:
        return self.query_float(f"print({self.smu}.{attribute})")

    def settings(self) -> dict:
        function, level = self.read_source()
        return {"function": function, "level": level, "output": self.output_enabled(),
                "sense": "4-wire" if self._get("sense") == 1 else "2-wire",
                "nplc": self._get("measure.nplc")}

    # -- configuration -------------------------------------------------------------------------
    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        """DC ranges for ``current``, ``voltage``, ``nplc``, ``sweep_points``; with ``width``
        and ``period`` (a pulse plan) the pulse region of (current, voltage): its current, its
        width and its duty cycle, and the shortest programmable width."""
        pulsed = "width" in request or "period" in request
        problems = check_ranges("Keithley 2600B", request, {
            "current": (-(MAX_PULSE_CURRENT if pulsed else MAX_CURRENT),
                        MAX_PULSE_CURRENT if pulsed else MAX_CURRENT, "A"),
            "voltage": (-MAX_VOLTAGE, MAX_VOLTAGE, "V"), "nplc": (*NPLC, ""),
            "sweep_points": (1, MAX_SWEEP_POINTS, "points"),
            "width": (MIN_PULSE_WIDTH, 1e4, "s"), "period": (MIN_PULSE_WIDTH, 1e4, "s")})
        if problems or not pulsed:
            return problems
        return smu_common.pulse_plan_problems(
            "Keithley 2600B", PULSE_REGIONS, request, max_voltage=MAX_VOLTAGE,
            outside="every pulse region of the Keithley 2600B", with_voltage=True)

    def _configure(self, function: str, *, nplc: float, source_range: float | None,
                   remote_sense: bool) -> None:
        # smuX.source.func, smuX.measure.nplc, smuX.sense, smuX.source.autorangeY /
        # smuX.source.rangeY, smuX.measure.autorangeY
        Range(*NPLC).check("nplc", nplc)
        source, sense = ("i", "v") if function == "CURR" else ("v", "i")
        output = "DCAMPS" if function == "CURR" else "DCVOLTS"
        self._set("source.func", f"{self.smu}.OUTPUT_{output}")
        self._function, self._nplc = function, nplc
        self._set("measure.nplc", number_text(nplc))
        self.sensing = "4-wire" if remote_sense else self.sense
        self._set("sense", f"{self.smu}.{SENSE[self.sensing]}")
        self._set(f"measure.autorange{sense}", f"{self.smu}.AUTORANGE_ON")
        if source_range is None:
            self._set(f"source.autorange{source}", f"{self.smu}.AUTORANGE_ON")
        else:
            self._set(f"source.range{source}", number_text(source_range))

    def configure_current_source(self, *, voltage_limit: float, nplc: float = 1.0,
                                 current_range: float | None = None,
                                 remote_sense: bool = False) -> None:
        """Current source measuring voltage; the voltage limit (smuX.source.limitv) is set
        before any level."""
        Range(0.01, MAX_VOLTAGE).check("voltage_limit", voltage_limit)
        self._configure("CURR", nplc=nplc, source_range=current_range, remote_sense=remote_sense)
        self._set("source.limitv", number_text(voltage_limit))

    def configure_voltage_source(self, *, current_limit: float, nplc: float = 1.0,
                                 voltage_range: float | None = None,
                                 remote_sense: bool = False) -> None:
        """Voltage source measuring current; the current limit (smuX.source.limiti) first."""
        Range(1e-8, MAX_CURRENT).check("current_limit", current_limit)
        self._configure("VOLT", nplc=nplc, source_range=voltage_range, remote_sense=remote_sense)
        self._set("source.limiti", number_text(current_limit))

    def set_current(self, current: float) -> None:
        Range(-MAX_CURRENT, MAX_CURRENT).check("current", current)
        self.write(f"{self.smu}.source.leveli = {number_text(current)}")  # smuX.source.leveli

    def set_voltage(self, voltage: float) -> None:
        Range(-MAX_VOLTAGE, MAX_VOLTAGE).check("voltage", voltage)
        self.write(f"{self.smu}.source.levelv = {number_text(voltage)}")  # smuX.source.levelv

    # -- output (smuX.source.output) -----------------------------------------------------------
    def output_on(self) -> None:
        self._set("source.output", f"{self.smu}.OUTPUT_ON")

    def output_off(self) -> None:
        self.write(f"{self.smu}.source.output = {self.smu}.OUTPUT_OFF")  # unchecked, as on exit

    def output_enabled(self) -> bool:
        return self._get("source.output") == 1

    def read_source(self) -> tuple[str, float]:
        function = "CURR" if self._get("source.func") == 0 else "VOLT"
        return function, self._get("source.leveli" if function == "CURR" else "source.levelv")

    def describe_output(self) -> str:
        on = self.output_enabled()
        function, level = self.read_source()
        limit = self._get("source.limitv" if function == "CURR" else "source.limiti")
        return output_description(on, function, level, limit)

    # -- measurement -----------------------------------------------------------------------------
    def measure(self) -> tuple[float, float]:
        """One reading: smuX.measure.iv() returns current, then voltage."""
        values = self.query_floats_tab(f"print({self.smu}.measure.iv())")
        if len(values) != 2:
            raise InstrumentError(self.name, "measure.iv()", f"expected 2 values, got "
                                  f"{len(values)}")
        current, voltage = values
        return float(voltage), float(current)

    def query_floats_tab(self, command: str) -> np.ndarray:
        """A print of several numbers (tab-separated)."""
        return self._exchange(command, self._read,
                              lambda text: np.array([float(v) for v in re.split(r"\t", text)]))

    def _levels(self, levels, top: float) -> np.ndarray:
        return sweep_levels(levels, top, least=1, most=MAX_SWEEP_POINTS, what="a 2600B list")

    def _list_sweep(self, levels: np.ndarray, limit: float, function: str = "CURR") -> None:
        """The common part of DC and pulsed list sweeps: buffers cleared, list, limit, source
        and measure actions, count (smuX.nvbufferY.clear(), smuX.trigger.source.listi|listv,
        smuX.trigger.source.limitv|limiti, smuX.trigger.source.action,
        smuX.trigger.measure.iv, smuX.trigger.measure.action, smuX.trigger.count,
        smuX.trigger.arm.count)."""
        smu = self.smu
        source, limited = ("i", "v") if function == "CURR" else ("v", "i")
        self.write_checked(f"{smu}.nvbuffer1.clear()")
        self.write_checked(f"{smu}.nvbuffer2.clear()")
        self.write_checked(f"{smu}.trigger.source.list{source}"
                           f"({{{', '.join(map(number_text, levels))}}})")
        self._set(f"trigger.source.limit{limited}", number_text(limit))
        self._set("trigger.source.action", f"{smu}.ENABLE")
        self.write_checked(f"{smu}.trigger.measure.iv({smu}.nvbuffer1, {smu}.nvbuffer2)")
        self._set("trigger.measure.action", f"{smu}.ENABLE")
        self._set("trigger.measure.stimulus", "0")
        self._set("trigger.endsweep.action", f"{smu}.SOURCE_IDLE")
        self._set("trigger.count", str(levels.size))
        self._set("trigger.arm.count", "1")

    def _run(self, levels: np.ndarray, seconds: float, what: str) -> SweepReadings:
        """Start the trigger model (smuX.trigger.initiate()), wait (*OPC?), read both buffers
        in one block (format.data = format.REAL64, format.byteorder = format.LITTLEENDIAN,
        printbuffer)."""
        self.write_checked(f"{self.smu}.trigger.initiate()")
        # UNVERIFIED: that *OPC? waits for the overlapped trigger.initiate() (waitcomplete())
        self.wait_complete(seconds, what)
        n = levels.size
        self.write_checked("format.data = format.REAL64")
        self.write_checked("format.byteorder = format.LITTLEENDIAN")
        try:
            raw = self.query_block(f"printbuffer(1, {n}, {self.smu}.nvbuffer1.readings, "
                                   f"{self.smu}.nvbuffer2.readings)", expected_bytes=16 * n)
        finally:
            self.write_checked("format.data = format.ASCII")
        values = np.frombuffer(raw, dtype="<f8")
        if values.size != 2 * n:
            raise InstrumentError(self.name, "printbuffer", f"expected {2 * n} values, got "
                                  f"{values.size}")
        return SweepReadings(source=levels, voltage=values[1::2].copy(),
                             current=values[0::2].copy())

    def sweep_seconds(self, points: int, delay: float) -> float:
        """Expected duration: per point its delay, the integration at 50 Hz and 1 ms."""
        return points * (delay + self._nplc / 50.0 + 1e-3)

    def _dc_sweep(self, function: str, levels, delay: float) -> SweepReadings:
        """A DC list sweep (endpulse SOURCE_HOLD), each point measured after ``delay``
        (smuX.measure.delay) under the limit configure set; the source returns to its level
        after the sweep, the output on for it and as it was after. The 2600B has no abort on
        compliance: points at the limit come back and the guard cuts them."""
        levels = self._levels(levels, MAX_CURRENT if function == "CURR" else MAX_VOLTAGE)
        Range(0.0, 1e4).check("delay", delay)
        if self._function != function:
            raise InstrumentError(self.name, "trigger.source.list",
                                  f"configure the {'current' if function == 'CURR' else 'voltage'}"
                                  f" source before its sweep")
        limit = self._get("source.limitv" if function == "CURR" else "source.limiti")
        self._list_sweep(levels, limit, function)
        self._set("trigger.source.stimulus", "0")
        self._set("trigger.endpulse.action", f"{self.smu}.SOURCE_HOLD")
        self._set("measure.delay", number_text(delay))
        with output_on_during(self):  # the trigger model sources only with the output on
            return self._run(levels, self.sweep_seconds(levels.size, delay),
                             f"a {levels.size}-point sweep")

    def pulse_sweep(self, levels: np.ndarray, *, width: float, period: float,
                    voltage_limit: float) -> SweepReadings:
        """Current pulses at ``levels`` from a 0 A idle level, one per ``period``, each
        ``width`` long and measured from 60 % to 90 % of it (measure delay and nplc); refused
        before anything is sent outside the model's pulse regions. The output is on only
        during the sweep."""
        levels = self._levels(levels, MAX_PULSE_CURRENT)
        Range(0.01, MAX_VOLTAGE).check("voltage_limit", voltage_limit)
        request = {"current": float(np.max(np.abs(levels))), "voltage": voltage_limit,
                   "width": width, "period": period, "sweep_points": levels.size}
        problems = self.check_plan(request)
        if not 0 < width <= period:
            problems.append(f"width {width:g} s must be within the period {period:g} s")
        if problems:
            raise ValueError("; ".join(problems))
        nplc = MEASURE_SPAN * width * self.line_frequency
        Range(*NPLC).check("pulse nplc", nplc)
        smu = self.smu
        self._set("source.func", f"{smu}.OUTPUT_DCAMPS")
        self._function = "CURR"
        self._set("sense", f"{smu}.{SENSE[self.sensing]}")
        self._set("source.leveli", "0")  # the idle level between pulses
        self._set("source.limitv", number_text(voltage_limit))
        self._set("measure.nplc", number_text(nplc))
        self._set("measure.delay", number_text(MEASURE_START * width))
        self._list_sweep(levels, voltage_limit)
        # trigger.timer[N].delay/.count/.passthrough/.stimulus, trigger.timer[N].EVENT_ID
        for command in (f"trigger.timer[1].delay = {number_text(period)}",
                        f"trigger.timer[1].count = {max(levels.size - 1, 1)}",
                        "trigger.timer[1].passthrough = true",
                        f"trigger.timer[1].stimulus = {smu}.trigger.ARMED_EVENT_ID",
                        f"trigger.timer[2].delay = {number_text(width)}",
                        "trigger.timer[2].count = 1",
                        "trigger.timer[2].passthrough = false",
                        "trigger.timer[2].stimulus = trigger.timer[1].EVENT_ID"):
            self.write_checked(command)
        self._set("trigger.source.stimulus", "trigger.timer[1].EVENT_ID")
        self._set("trigger.endpulse.stimulus", "trigger.timer[2].EVENT_ID")
        self._set("trigger.endpulse.action", f"{smu}.SOURCE_IDLE")
        self.output_on()
        try:
            return self._run(levels, levels.size * period, f"{levels.size} pulses")
        finally:
            self.output_off()
