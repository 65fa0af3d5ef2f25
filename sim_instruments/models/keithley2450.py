"""Simulated Keithley 2450 SourceMeter (Reference Manual 2450-901-01, "SCPI command reference")."""

from __future__ import annotations

import numpy as np

from ..scpi import boolean, number, unquote
from .base import InstrumentModel, _on
from .smu_circuit import current_source_points, list_values, release, voltage_source_points

MAX_CURRENT = 1.05   # A, 1 A range + 5 % (manual, source current ranges)
MAX_VOLTAGE = 210.0  # V, 200 V range + 5 %
BUFFER_CAPACITY = 100_000  # readings, defbuffer1 default (:TRACe:POINts; UNVERIFIED)
BUFFERS = ("defbuffer1", "defbuffer2")
LIST_CHUNK = 100  # values per :SOURce:LIST command at most
_LIMIT_PROPERTY = {"CURR": "voltage_limit", "VOLT": "current_limit"}
_LEVEL_PROPERTY = {"CURR": "source_current", "VOLT": "source_voltage"}
_FUNCTION = {"CURRENT": "CURR", "VOLTAGE": "VOLT"}  # keyword -> source function
_ELEMENTS = ("READING", "SOURCE", "RELATIVE", "SECONDS")  # buffer elements simulated

_SWEEPS = {f":SOURce#:SWEep:{f}:{kind}": (f[:4].upper(), kind.upper())
           for f in ("CURRent", "VOLTage") for kind in ("LINear", "LOG", "LIST")}
_LISTS = {f":SOURce#:LIST:{f}{tail}": (f[:4].upper(), bool(tail))
          for f in ("CURRent", "VOLTage") for tail in ("", ":APPend")}
_LEVELS = {f":SOURce#:{f}[:LEVel][:IMMediate][:AMPLitude]": f[:4].upper()
           for f in ("CURRent", "VOLTage")}


class Keithley2450Model(InstrumentModel):
    """Keithley 2450: source I or V into the chip, compliance, READ?, list/lin/log sweeps run by
    the trigger model in one vectorised pass of the chip model."""

    TREE = (
        ":OUTPut#[:STATe]",
        "[:SENSe#]:FUNCtion[:ON]",  # before the source's: a bare :FUNCtion is the sense one
        "[:SOURce#]:FUNCtion[:MODE]",
        *_LEVELS,
        ":SOURce#:CURRent:VLIMit[:LEVel]", ":SOURce#:VOLTage:ILIMit[:LEVel]",
        ":SOURce#:CURRent:RANGe", ":SOURce#:CURRent:RANGe:AUTO",
        ":SOURce#:VOLTage:RANGe", ":SOURce#:VOLTage:RANGe:AUTO",
        ":SOURce#:CURRent:READ:BACK", ":SOURce#:VOLTage:READ:BACK",
        *_SWEEPS, *_LISTS,
        "[:SENSe#]:CURRent[:DC]:NPLCycles", "[:SENSe#]:VOLTage[:DC]:NPLCycles",
        "[:SENSe#]:CURRent[:DC]:RANGe:AUTO", "[:SENSe#]:VOLTage[:DC]:RANGe:AUTO",
        "[:SENSe#]:CURRent[:DC]:RSENse", "[:SENSe#]:VOLTage[:DC]:RSENse",
        ":READ", ":TRACe:CLEar", ":TRACe:DATA", ":TRACe:ACTual",
        ":FORMat[:DATA]", ":INITiate[:IMMediate]", ":ABORt", ":SYSTem:ERRor[:NEXT]",
    )
    KEYWORDS = ("CURRent", "VOLTage", "ASCii", "REAL", "AUTO", "BEST", "FIXed", "READing",
                "SOURce", "RELative", "SEConds", "INFinite")
    INITIAL_STATE = {"output": bool, "function": ("CURR", "VOLT"), "level": ("+-", MAX_VOLTAGE),
                     "limit": (0.0, MAX_VOLTAGE)}

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.reset()

    def reset(self) -> None:
        self.contact_open = False
        self.buffer = np.empty((0, 2))  # (READing, SOURce) per reading
        self.lists = {"CURR": [], "VOLT": []}
        self.sweep: tuple | None = None  # (function, levels, fail_abort, buffer)
        self.binary = False
        self._last = None  # (key, (voltage, current)) of the last single operating point
        release(self.world)  # *RST switches the output off

    # -- start state ----------------------------------------------------------------------
    @classmethod
    def _check_state(cls, where, state):
        function = state.get("function", "CURR")
        level, limit = state.get("level"), state.get("limit")
        top = MAX_CURRENT if function == "CURR" else MAX_VOLTAGE
        if level is not None and abs(level) > top:
            raise ValueError(f"{where}.level={level:g} is outside +-{top:g} "
                             f"{'A' if function == 'CURR' else 'V'} of the 2450")
        low, high = (0.02, MAX_VOLTAGE) if function == "CURR" else (1e-9, MAX_CURRENT)
        if limit is not None and not low <= limit <= high:
            raise ValueError(f"{where}.limit={limit:g} is outside [{low:g}, {high:g}] "
                             f"{'V' if function == 'CURR' else 'A'} for function {function}")

    def start(self, state):
        function = state.get("function", "CURR")
        self.sim.set("source_function", function)
        if "level" in state:
            self.sim.set(_LEVEL_PROPERTY[function], state["level"])
        if "limit" in state:
            self.sim.set(_LIMIT_PROPERTY[function], state["limit"])
        if state.get("output"):
            self.sim.set("output", "1")
            self._apply(function, self._level(function))

    # -- the electrical operating point ------------------------------------------------------
    def _output_on(self) -> bool:
        return _on(self.sim.get("output"))

    def open_contact(self) -> None:
        self.contact_open = True
        self._last = None

    @property
    def _open(self) -> bool:
        """No chip across the terminals: the probe lifted, or no emitter routed to them."""
        return self.contact_open or self.world.circuit_open

    def _operating_points(self, function: str, levels: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(voltage, current, in_compliance) at the chip for programmed levels, all at once."""
        chip, levels = self.world.chip, np.asarray(levels, dtype=float)
        limit = float(self.sim.get(_LIMIT_PROPERTY[function]))
        lead = self._lead()
        if lead and not self._open:  # the force leads in a 2-wire reading
            points = current_source_points if function == "CURR" else voltage_source_points
            return points(chip, levels, limit, lead=lead, remote_sense=False)
        if self._open:  # open circuit: no current; a current source rails to its limit
            current = np.zeros_like(levels)
            if function == "CURR":
                return np.sign(levels) * limit, current, levels != 0
            return levels, current, np.zeros(levels.shape, dtype=bool)
        if function == "CURR":
            current, voltage = levels.copy(), chip.steady_state(levels).voltage
            railed = np.abs(voltage) > limit  # the limit holds the voltage there
            if railed.any():
                voltage[railed] = np.sign(voltage[railed]) * limit
                current[railed] = chip.current_at_voltage(voltage[railed])
            return voltage, current, railed
        voltage, current = levels.copy(), chip.current_at_voltage(levels)
        railed = np.abs(current) > limit
        if railed.any():
            current[railed] = np.sign(current[railed]) * limit
            voltage[railed] = chip.steady_state(current[railed]).voltage
        return voltage, current, railed

    def _lead(self) -> float:
        """The force leads' resistance a 2-wire reading includes (setup.leads), 0 with remote
        sense on (:SENSe:<function>:RSENse ON, for the measured function)."""
        measured = "volt_remote_sense" if self.sim.get("source_function") == "CURR" \
            else "curr_remote_sense"
        setup = getattr(self.world, "setup", None)  # a photodiode circuit has no set-up leads
        return 0.0 if setup is None or _on(self.sim.get(measured)) else setup.leads.resistance

    def _apply(self, function: str, level: float) -> tuple[float, float]:
        """The chip at one programmed level; the last point is kept, since a reading at the
        level just set (set, then READ?) finds the chip where the setting put it."""
        key = (function, level, self.sim.get(_LIMIT_PROPERTY[function]), self._open,
               self.world.chip, self._lead())
        if self._last is not None and self._last[0] == key:
            voltage, current = self._last[1]
        elif function == "CURR" and not key[3] and not key[5] and \
                abs(voltage := float(self.world.steady_state(level).voltage[0])) <= key[2]:
            current = level  # within compliance: the chip's point at this current
            self._last = key, (voltage, current)
        else:
            volts, amps, _ = self._operating_points(function, np.array([level]))
            voltage, current = float(volts[0]), float(amps[0])
            self._last = key, (voltage, current)
        self.world.apply(current, voltage)
        return voltage, current

    def _readings(self, function: str, voltage: np.ndarray, current: np.ndarray) -> np.ndarray:
        """(READing, SOURce) rows with measurement noise: the measured quantity and the source
        readback."""
        pairs = np.column_stack([voltage, current] if function == "CURR" else [current, voltage])
        return self.world.noise.relative(pairs, self.world.chip_params.noise)

    def _level(self, function: str) -> float:
        return float(self.sim.get(_LEVEL_PROPERTY[function]))

    # -- command handling ----------------------------------------------------------------------
    def handle(self, command):
        header, query, params = command.header, command.query, command.params
        function = str(self.sim.get("source_function"))
        if header == ":OUTPut#[:STATe]" and not query:
            if self.sim.apply(command):
                if self._output_on():
                    self._apply(function, self._level(function))
                else:
                    self.world.apply(0.0, 0.0)
            return True, None
        if header == "[:SOURce#]:FUNCtion[:MODE]" and not query:
            if self.sim.apply(command) and self._output_on():  # the output sources the new one
                new = str(self.sim.get("source_function"))
                self._apply(new, self._level(new))
            return True, None
        if header in _LEVELS and not query:
            if self.sim.apply(command) and _LEVELS[header] == function and self._output_on():
                self._apply(function, self._level(function))
            return True, None
        if header == ":READ":
            return True, self._read(function, params)
        if header == ":TRACe:CLEar" and not query:
            if self._buffer_name(params[0] if params else '"defbuffer1"') is not None:
                self.buffer = np.empty((0, 2))
            return True, None
        if header == ":TRACe:ACTual" and query:
            if params and self._buffer_name(params[0]) is None:
                return True, None
            return True, str(len(self.buffer))
        if header == ":TRACe:DATA" and query:
            return True, self._trace(params)
        if header == ":FORMat[:DATA]" and not query and len(params) == 1:
            kind = self.sim.tree.keyword(params[0])
            if kind not in ("REAL", "ASCII"):
                self.sim.queue_error("illegal_parameter")
            else:
                self.binary = kind == "REAL"
            return True, None
        if header in _SWEEPS and not query:
            self._configure_sweep(*_SWEEPS[header], params)
            return True, None
        if header in _LISTS and not query:
            self._load_list(*_LISTS[header], params)
            return True, None
        if header == ":INITiate[:IMMediate]" and not query:
            self._run_sweep()
            return True, None
        if header == ":ABORt" and not query:
            return True, None
        return False, None

    def _buffer_name(self, param: str) -> str | None:
        """The reading buffer a parameter names; -224 and None if there is no such buffer."""
        name = unquote(param)
        if name not in BUFFERS:
            self.sim.queue_error("illegal_parameter")
            return None
        return name

    def _elements(self, params) -> list[int] | None:
        """Column of each requested buffer element (READing 0, SOURce 1, RELative/SEConds 2)."""
        columns = []
        for param in params:
            element = self.sim.tree.keyword(param)
            if element not in _ELEMENTS:
                self.sim.queue_error("illegal_parameter")
                return None
            columns.append(min(_ELEMENTS.index(element), 2))
        return columns or [0]

    def _read(self, function: str, params) -> str | None:
        """:READ? ["<bufferName>"[, <bufferElements>...]]: one reading, stored and answered."""
        if params and self._buffer_name(params[0]) is None:
            return None
        columns = self._elements(params[1:])
        if columns is None:
            return None
        if not self._output_on():
            return ",".join(["9.9100E+37"] * len(columns))  # SCPI NaN: no source, no reading
        voltage, current = self._apply(function, self._level(function))
        row = self._readings(function, np.array([voltage]), np.array([current]))
        self.buffer = np.vstack([self.buffer, row])
        values = [row[0, c] if c < 2 else 0.0 for c in columns]
        return ",".join(f"{v:.6E}" for v in values)

    def _load_list(self, function: str, append: bool, params) -> None:
        top = MAX_CURRENT if function == "CURR" else MAX_VOLTAGE
        values = list_values(self.sim, params, top, LIST_CHUNK)
        if values is None:
            return
        self.lists[function] = (self.lists[function] if append else []) + values

    def _configure_sweep(self, function: str, kind: str, params) -> None:
        """:SOURce:SWEep:<function>:LINear|LOG <start>, <stop>, <points>[, <delay>[, <count>[,
        <rangeType>[, <failAbort>[, <dual>[, "<bufferName>"]]]]]] and
        :SOURce:SWEep:<function>:LIST <startIndex>[, <delay>[, <count>[, <failAbort>[,
        "<bufferName>"]]]] (manual 6-81, 6-85, 6-87); defaults when omitted per the manual:
        delay -1 (autodelay), count 1, rangeType BEST, failAbort ON, dual OFF, defbuffer1. The
        delay is not simulated (no time passes); count 0 (an endless loop until :ABORt) is
        refused here, as it could never finish."""
        fixed = 1 if kind == "LIST" else 3
        names = (("delay", "count", "failAbort", "buffer") if kind == "LIST"
                 else ("delay", "count", "rangeType", "failAbort", "dual", "buffer"))
        if not fixed <= len(params) <= fixed + len(names):
            self.sim.queue_error("illegal_parameter")
            return
        option = dict(zip(names, params[fixed:], strict=False))
        try:
            count = 1 if "count" not in option else int(number(option["count"]))
            fail_abort = boolean(option.get("failAbort", "ON"))
            dual = boolean(option.get("dual", "OFF"))
            if "rangeType" in option and self.sim.tree.keyword(option["rangeType"]) not in (
                    "AUTO", "BEST", "FIXED"):
                raise ValueError(option["rangeType"])
            if "delay" in option:
                number(option["delay"])
            if kind == "LIST":
                start_index = int(number(params[0]))
                levels = np.array(self.lists[function][start_index - 1:], dtype=float)
                if start_index < 1 or levels.size == 0:
                    raise ValueError("empty list")
            else:
                start, stop, points = (number(p) for p in params[:3])
                points = int(points)
                if points < 2 or (kind == "LOG" and (start <= 0 or stop <= 0)):
                    raise ValueError("points")
                levels = (np.linspace(start, stop, points) if kind == "LINEAR"
                          else np.geomspace(start, stop, points))
        except ValueError:
            self.sim.queue_error("data_out_of_range")
            return
        buffer = self._buffer_name(option.get("buffer", '"defbuffer1"'))
        if buffer is None:
            return
        top = MAX_CURRENT if function == "CURR" else MAX_VOLTAGE
        if dual:
            levels = np.concatenate([levels, levels[::-1]])
        if count < 1 or levels.size * count > BUFFER_CAPACITY or np.any(np.abs(levels) > top):
            self.sim.queue_error("data_out_of_range")
            return
        self.sweep = (function, np.tile(levels, count), fail_abort)
        self.sim.set("source_function", function)

    def _run_sweep(self) -> None:
        """Trigger model of a source sweep: output on, one reading per level, computed in one
        vectorised pass; with failAbort ON the sweep stops at the first point in compliance
        (kept); the source goes back off if it was off."""
        if self.sweep is None:
            self.sim.queue_error("settings_conflict")
            return
        function, levels, fail_abort = self.sweep
        voltage, current, railed = self._operating_points(function, levels)
        if fail_abort and railed.any():
            stop = int(np.argmax(railed)) + 1
            voltage, current = voltage[:stop], current[:stop]
        self.buffer = self._readings(function, voltage, current)
        self.world.apply_many(current, voltage)
        if not self._output_on():
            self.world.apply(0.0, 0.0)

    def _trace(self, params) -> bytes | str | None:
        """:TRACe:DATA? <start>, <end>[, "<bufferName>"[, <bufferElements>...]]."""
        try:
            start, end = (int(number(p)) for p in params[:2])
        except ValueError:
            self.sim.queue_error("illegal_parameter")
            return None
        if len(params) > 2 and self._buffer_name(params[2]) is None:
            return None
        columns = self._elements(params[3:])
        if columns is None:
            return None
        if not 1 <= start <= end <= len(self.buffer):
            self.sim.queue_error("data_out_of_range")
            return None
        rows = self.buffer[start - 1:end]
        table = np.column_stack([rows[:, c] if c < 2 else np.zeros(len(rows)) for c in columns])
        values = table.ravel()
        if self.binary:
            return b"#0" + values.astype("<f8").tobytes()  # indefinite-length block
        return ",".join(map("{:.6E}".format, values.tolist()))
