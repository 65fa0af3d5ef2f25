"""Simulated Keithley Series 2600B System SourceMeter (2601B / 2602B / 2604B), TSP remote commands.

Written from the Series 2600B Reference Manual (2600BS-901-01 Rev. F), section 9 "TSP command
reference" (smuX.source.*, smuX.measure.*, smuX.sense, smuX.nvbufferY, smuX.trigger.*,
trigger.timer[N].*, format.*, errorqueue.next(), printbuffer(), waitcomplete()) and section 2
"Pulse characteristics": messages are Lua chunks (sim_instruments/tsp.py); common commands
(*IDN?, *CLS, *RST, *OPC?) come from the YAML. The chip is wired to channel a (smua); channel b
of a 2602B is open (nothing connected).

The trigger model is simulated for the sweeps the manual's examples build: a source list
(``trigger.source.listi``) measured into buffers (``trigger.measure.iv``), ``trigger.count``
points, DC (``endpulse.action = SOURCE_HOLD``) or pulsed (``SOURCE_IDLE``) with the period from a
passthrough timer started by the arm event and the width from a second timer started by the
first (section 2 "Using timers to perform pulse mode sweeps"); a measurement starts
``measure.delay`` after the source action and lasts ``measure.nplc`` line cycles. Other trigger
set-ups are refused at ``initiate()`` with an error (the simulator does not know what they do).
Pulses beyond the pulse region's width end early and a duty cycle beyond it stretches the
period, as the manual says the instrument does ("Pulsing in the extended operating area");
``pulses`` keeps every pulse as given to the chip: (level A, width s, period s).
"""

from __future__ import annotations

import math

import numpy as np

from ..tsp import Interpreter, MessageTree, TspError
from . import smu_circuit
from .base import InstrumentModel
from .smu_circuit import (
    check_start_current,
    current_source_points,
    heating_within_pulse,
    release,
    voltage_source_points,
)

MAX_CURRENT = 3.03     # A, 3 A range + 1 % (DC, at <= 6 V)
MAX_PULSE_CURRENT = 10.1  # A, pulse region 4
MAX_VOLTAGE = 40.4     # V, 40 V range + 1 %
NPLC = (0.001, 25.0)
LINE_FREQUENCY = 60.0  # Hz, localnode.linefreq as shipped (UNVERIFIED default)
# Pulse regions of the 2601B/2602B/2604B: (max current A, max voltage V, max width s, max duty);
# Series 2600B datasheet "Pulse specifications" (UNVERIFIED: the manual refers to it).
PULSE_REGIONS = ((1.01, 40.4, math.inf, 1.0), (3.03, 6.06, math.inf, 1.0),
                 (1.515, 40.4, 100e-3, 0.25), (5.05, 35.35, 4e-3, 0.04),
                 (10.1, 20.2, 1.8e-3, 0.01))
ERROR_QUERY = "print(errorqueue.next())"  # the YAML's error queue entry, read back from there

_EVENTS = ("SWEEPING", "ARMED", "SOURCE_COMPLETE", "MEASURE_COMPLETE", "PULSE_COMPLETE",
           "SWEEP_COMPLETE", "IDLE")
_CONSTANTS = {"OUTPUT_DCAMPS": 0, "OUTPUT_DCVOLTS": 1, "OUTPUT_OFF": 0, "OUTPUT_ON": 1,
              "SENSE_LOCAL": 0, "SENSE_REMOTE": 1, "AUTORANGE_OFF": 0, "AUTORANGE_ON": 1,
              "ENABLE": 1, "DISABLE": 0, "SOURCE_IDLE": 0, "SOURCE_HOLD": 1, "DELAY_AUTO": -1}
FORMATS = {"format.ASCII": 1, "format.REAL32": 2, "format.REAL64": 3, "format.REAL": 3,
           "format.NORMAL": 0, "format.BIGENDIAN": 0, "format.NETWORK": 0,
           "format.SWAPPED": 1, "format.LITTLEENDIAN": 1}


def pulse_region(current: float, voltage: float):
    """The most permissive pulse region holding |current| at a voltage limit, or None."""
    return smu_circuit.pulse_region(PULSE_REGIONS, current, voltage)


def _numbers(low: float, high: float, *, whole: bool = False):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not low <= value <= high \
                or (whole and value != int(value)):
            raise TspError("runtime", f"parameter out of range ({value!r})")
        return float(value)
    return check


def _choice(*values):
    def check(value):
        if value not in values:
            raise TspError("runtime", f"parameter out of range ({value!r})")
        return value
    return check


def _event_id(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise TspError("runtime", f"bad event ID ({value!r})")
    return float(value)


class _Buffer:
    def __init__(self):
        self.readings: list[float] = []


class _Channel:
    """One SMU channel's attributes (section 9 "smuX.*"), defaults of smuX.reset()."""

    ATTRIBUTES = {
        "source.func": _choice(0, 1), "source.output": _choice(0, 1),
        "source.leveli": _numbers(-MAX_CURRENT, MAX_CURRENT),
        "source.levelv": _numbers(-MAX_VOLTAGE, MAX_VOLTAGE),
        "source.limitv": _numbers(0.01, MAX_VOLTAGE), "source.limiti": _numbers(1e-8, MAX_CURRENT),
        "source.rangei": _numbers(0.0, MAX_CURRENT), "source.rangev": _numbers(0.0, MAX_VOLTAGE),
        "source.autorangei": _choice(0, 1), "source.autorangev": _choice(0, 1),
        "source.delay": _numbers(-1, 1e4),
        "measure.nplc": _numbers(*NPLC), "measure.delay": _numbers(-1, 1e4),
        "measure.autorangei": _choice(0, 1), "measure.autorangev": _choice(0, 1),
        "sense": _choice(0, 1, 3),
        "trigger.source.limitv": _numbers(0.01, MAX_VOLTAGE),
        "trigger.source.limiti": _numbers(1e-8, MAX_PULSE_CURRENT),
        "trigger.source.action": _choice(0, 1), "trigger.measure.action": _choice(0, 1),
        "trigger.endpulse.action": _choice(0, 1), "trigger.endsweep.action": _choice(0, 1),
        "trigger.count": _numbers(0, 2**31, whole=True),
        "trigger.arm.count": _numbers(0, 2**31, whole=True),
        "trigger.source.stimulus": _event_id, "trigger.measure.stimulus": _event_id,
        "trigger.endpulse.stimulus": _event_id,
    }
    DEFAULTS = {"source.func": 1, "source.output": 0, "source.leveli": 0.0,
                "source.levelv": 0.0, "source.limitv": 20.0, "source.limiti": 0.1,
                "source.rangei": 1e-8, "source.rangev": 0.1, "source.autorangei": 1,
                "source.autorangev": 1, "source.delay": -1, "measure.nplc": 1.0,
                "measure.delay": -1, "measure.autorangei": 1, "measure.autorangev": 1,
                "sense": 0, "trigger.source.limitv": 20.0, "trigger.source.limiti": 0.1,
                "trigger.source.action": 0, "trigger.measure.action": 0,
                "trigger.endpulse.action": 1, "trigger.endsweep.action": 0,
                "trigger.count": 1, "trigger.arm.count": 1, "trigger.source.stimulus": 0,
                "trigger.measure.stimulus": 0, "trigger.endpulse.stimulus": 0}

    def __init__(self, letter: str, number: int):
        self.letter = letter
        self.events = {f"trigger.{e}_EVENT_ID": 100 * number + k
                       for k, e in enumerate(_EVENTS, 1)}
        self.reset()

    def reset(self) -> None:
        self.values = dict(self.DEFAULTS)
        self.buffers = {"nvbuffer1": _Buffer(), "nvbuffer2": _Buffer()}
        self.source_list: list[float] = []
        self.list_kind = "i"  # trigger.source.listi or listv
        self.measure_into: tuple[str, ...] = ()  # ("iv", buffer, buffer) | ("v", buffer) ...


class Keithley2600BModel(InstrumentModel):
    """Series 2600B: TSP chunks against two SMU channels, the chip on smua."""

    INITIAL_STATE = {"output": bool, "function": ("CURR", "VOLT"), "level": ("+-", MAX_VOLTAGE),
                     "limit": (0.0, MAX_VOLTAGE)}

    @classmethod
    def command_tree(cls):
        return MessageTree()

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.channels = {"smua": _Channel("a", 1), "smub": _Channel("b", 2)}
        self.pulses: list[tuple[float, float, float]] = []
        self._out: list[bytes | str] = []
        self.interpreter = Interpreter(self, self._out.append,
                                       lambda: int(self.globals["format.asciiprecision"]))
        self.reset()

    def reset(self) -> None:
        """*RST / reset(): every channel and timer to its defaults, outputs off."""
        for channel in self.channels.values():
            channel.reset()
        self.timers = {n: {"delay": 10e-6, "count": 1, "passthrough": False, "stimulus": 0.0}
                       for n in range(1, 9)}
        self.globals = {"format.data": 1, "format.byteorder": 1, "format.asciiprecision": 6,
                        "localnode.linefreq": LINE_FREQUENCY}
        self.contact_open = False
        release(self.world)

    # -- start state ----------------------------------------------------------------------
    @classmethod
    def _check_state(cls, where, state):
        check_start_current(where, state, MAX_CURRENT, " of the 2600B")

    def start(self, state):
        values = self.channels["smua"].values
        function = state.get("function", "CURR")
        values["source.func"] = 0 if function == "CURR" else 1
        if "level" in state:
            values["source.leveli" if function == "CURR" else "source.levelv"] = state["level"]
        if "limit" in state:
            values["source.limitv" if function == "CURR" else "source.limiti"] = state["limit"]
        if state.get("output"):
            values["source.output"] = 1
            self._apply_dc()

    def open_contact(self) -> None:
        self.contact_open = True

    @property
    def _open(self) -> bool:
        """No chip across smua: the probe lifted, or no emitter routed to it."""
        return self.contact_open or self.world.circuit_open

    # -- messages -------------------------------------------------------------------------
    def handle(self, command):
        if command.header != MessageTree.CHUNK:
            return False, None  # common commands: the YAML's dialogues
        self._out.clear()
        try:
            self.interpreter.run(command.text)
        except TspError as exc:
            self.sim.queue_error("syntax_error" if exc.kind == "syntax" else "runtime_error")
        if not self._out:
            return True, None
        if len(self._out) == 1:
            return True, self._out[0]
        return True, "\n".join(o if isinstance(o, str) else o.decode("latin-1")
                               for o in self._out)

    # -- the namespace the interpreter sees ---------------------------------------------------
    def _split(self, path: str) -> tuple[_Channel | None, str]:
        head, _, rest = path.partition(".")
        return self.channels.get(head), rest

    def get(self, path: str):
        channel, rest = self._split(path)
        if channel is not None:
            if rest in _CONSTANTS:
                return _CONSTANTS[rest]
            if rest in channel.events:
                return channel.events[rest]
            if rest in channel.values:
                return channel.values[rest]
            name, _, field = rest.partition(".")
            if name in channel.buffers and field == "n":
                return len(channel.buffers[name].readings)
            if name in channel.buffers and field == "readings":
                return channel.buffers[name]
            if name in channel.buffers and not field:
                return channel.buffers[name]
        timer = self._timer(path)
        if timer is not None:
            number, field = timer
            if field == "EVENT_ID":
                return 10 + number
            if field in self.timers[number]:
                return self.timers[number][field]
        if path in FORMATS:
            return FORMATS[path]
        if path in self.globals:
            return self.globals[path]
        raise TspError("runtime", f"attempt to index a nil value ({path})")

    def _timer(self, path: str) -> tuple[int, str] | None:
        if not path.startswith("trigger.timer["):
            return None
        number, _, field = path[len("trigger.timer["):].partition("].")
        if not number.isdigit() or int(number) not in self.timers:
            raise TspError("runtime", f"timer index out of range ({path})")
        return int(number), field

    def set(self, path: str, value) -> None:
        channel, rest = self._split(path)
        if channel is not None and rest in _Channel.ATTRIBUTES:
            checked = _Channel.ATTRIBUTES[rest](value)
            channel.values[rest] = checked
            if channel is self.channels["smua"] and rest in (
                    "source.output", "source.func", "source.leveli", "source.levelv",
                    "source.limitv", "source.limiti", "sense"):
                self._apply_dc()
            return
        timer = self._timer(path)
        if timer is not None:
            number, field = timer
            checks = {"delay": _numbers(1e-6, 1e5), "count": _numbers(0, 2**20, whole=True),
                      "stimulus": _event_id, "passthrough": _choice(True, False)}
            if field not in checks:
                raise TspError("runtime", f"cannot set {path}")
            self.timers[number][field] = checks[field](value)
            return
        if path == "format.data":
            self.globals[path] = _choice(1, 2, 3)(value)
            return
        if path == "format.byteorder":
            self.globals[path] = _choice(0, 1)(value)
            return
        if path == "format.asciiprecision":
            self.globals[path] = _numbers(1, 16, whole=True)(value)
            return
        raise TspError("runtime", f"cannot set {path}")

    def call(self, path: str, args: list):
        if path == "errorqueue.next":
            text = self.sim.dispatch(self.sim.tree.parse(ERROR_QUERY)).decode()
            fields = text.split("\t")
            if len(fields) != 4:  # an entry queued in SCPI's form: <code>,"<message>"
                code, _, message = text.partition(",")
                fields = [code, message.strip('"'), "20", "1"]
            code, message, severity, node = fields
            return float(code), message, float(severity), float(node)
        if path == "errorqueue.clear":
            return self._clear_errors()
        if path == "waitcomplete":
            return ()  # the simulated trigger model finishes within initiate()
        if path == "reset":
            self.reset()
            return ()
        if path == "printbuffer":
            return self._printbuffer(args)
        channel, rest = self._split(path)
        if channel is None:
            raise TspError("runtime", f"attempt to call a nil value ({path})")
        if rest == "reset":
            channel.reset()
            if channel is self.channels["smua"]:
                self._apply_dc()
            return ()
        if rest in ("measure.iv", "measure.i", "measure.v"):
            return self._measure(channel, rest.split(".")[1], args)
        if rest in ("trigger.source.listi", "trigger.source.listv"):
            self._source_list(channel, rest[-1], args)
            return ()
        if rest in ("trigger.measure.iv", "trigger.measure.i", "trigger.measure.v"):
            kind = rest.rsplit(".", 1)[1]
            buffers = [self._buffer_name(channel, a) for a in args]
            if len(buffers) != (2 if kind == "iv" else 1):
                raise TspError("runtime", f"wrong number of arguments to {path}")
            channel.measure_into = (kind, *buffers)
            return ()
        if rest == "trigger.initiate":
            self._initiate(channel)
            return ()
        if rest == "trigger.abort":
            return ()
        name, _, field = rest.partition(".")
        if name in channel.buffers and field == "clear":
            channel.buffers[name].readings.clear()
            return ()
        raise TspError("runtime", f"attempt to call a nil value ({path})")

    def _clear_errors(self) -> tuple:
        while self.sim.dispatch(self.sim.tree.parse(ERROR_QUERY)).split(b"\t")[0] != \
                b"0.00000e+00":
            pass
        return ()

    @staticmethod
    def _buffer_name(channel: _Channel, value) -> str:
        for name, buffer in channel.buffers.items():
            if value is buffer:
                return name
        raise TspError("runtime", "bad argument (a reading buffer expected)")

    # -- physics ----------------------------------------------------------------------------
    def _lead(self) -> float:
        return self.world.setup.leads.resistance

    def _dc_point(self, values: dict) -> tuple[float, float]:
        """(voltage, current) measured at the chip on smua at its DC source settings."""
        remote = values["sense"] == 1
        if self._open:
            if values["source.func"] == 0:
                level = values["source.leveli"]
                return (math.copysign(values["source.limitv"], level) if level else 0.0), 0.0
            return values["source.levelv"], 0.0
        if values["source.func"] == 0:
            v, i, _ = current_source_points(self.world.chip, values["source.leveli"],
                                            values["source.limitv"], lead=self._lead(),
                                            remote_sense=remote)
        else:
            v, i, _ = voltage_source_points(self.world.chip, values["source.levelv"],
                                            values["source.limiti"], lead=self._lead(),
                                            remote_sense=remote)
        return float(v[0]), float(i[0])

    def _apply_dc(self) -> None:
        values = self.channels["smua"].values
        if values["source.output"] != 1:
            release(self.world)
            return
        voltage, current = self._dc_point(values)
        self.world.apply(current, voltage)

    def _noisy(self, values) -> np.ndarray:
        return self.world.noise.relative(np.asarray(values, dtype=float),
                                         self.world.chip_params.noise)

    def _measure(self, channel: _Channel, kind: str, args: list) -> tuple:
        """smuX.measure.iv() returns current then voltage; with buffers, stores there too."""
        if channel is self.channels["smua"] and channel.values["source.output"] == 1:
            voltage, current = self._dc_point(channel.values)
        elif channel.values["source.output"] == 1 and channel.values["source.func"] == 0:
            level = channel.values["source.leveli"]  # open channel: a current source rails
            voltage, current = (math.copysign(channel.values["source.limitv"], level)
                                if level else 0.0), 0.0
        else:
            voltage = channel.values["source.levelv"] if channel.values["source.output"] else 0.0
            current = 0.0
        current, voltage = (float(x) for x in self._noisy([current, voltage]))
        results = {"iv": (current, voltage), "i": (current,), "v": (voltage,)}[kind]
        for value, buffer in zip(results, args, strict=False):
            channel.buffers[self._buffer_name(channel, buffer)].readings.append(value)
        return results

    def _source_list(self, channel: _Channel, kind: str, args: list) -> None:
        if len(args) != 1 or not isinstance(args[0], tuple) or not args[0]:
            raise TspError("runtime", f"bad argument #1 to 'list{kind}' (table expected)")
        top = MAX_PULSE_CURRENT if kind == "i" else MAX_VOLTAGE
        check = _numbers(-top, top)
        channel.source_list = [check(v) for v in args[0]]
        channel.list_kind = kind

    # -- the trigger model ----------------------------------------------------------------------
    def _initiate(self, channel: _Channel) -> None:
        """Run a sweep (see the module docstring); refused with -286 what is not simulated."""
        values = channel.values
        count = int(values["trigger.count"])
        if count < 1 or int(values["trigger.arm.count"]) != 1:
            raise TspError("runtime", "simulator: only trigger.count >= 1 and arm.count 1 run")
        if values["source.output"] != 1:
            raise TspError("runtime", "output off: the sweep sources nothing")  # UNVERIFIED
        voltage_sweep = values["source.func"] == 1
        if values["trigger.source.action"] != 1 or channel.list_kind != "iv"[voltage_sweep]:
            raise TspError("runtime", "simulator: a list sweep of the source function only")
        if len(channel.source_list) < count:
            raise TspError("runtime", "source list shorter than trigger.count")
        levels = np.array(channel.source_list[:count])
        limit = values["trigger.source.limiti" if voltage_sweep else "trigger.source.limitv"]
        nplc = values["measure.nplc"]
        aperture = nplc / self.globals["localnode.linefreq"]
        delay = max(values["measure.delay"], 0.0)
        pulsed = values["trigger.endpulse.action"] == 0
        if pulsed and voltage_sweep:
            raise TspError("runtime", "simulator: voltage pulses are not simulated")
        if pulsed:
            heating = self._pulse_heating(channel, levels, limit, delay, aperture)
        else:
            if values["trigger.source.stimulus"] or values["trigger.measure.stimulus"]:
                raise TspError("runtime", "simulator: a DC sweep runs on its own (stimulus 0)")
            heating = np.ones(count)
        if voltage_sweep and channel is self.channels["smua"] and not self._open:
            voltage, current, _ = voltage_source_points(self.world.chip, levels, limit,
                                                        lead=self._lead(),
                                                        remote_sense=values["sense"] == 1)
            self.world.apply_many(current, voltage)
        elif voltage_sweep:
            voltage, current = levels.copy(), np.zeros(count)
        elif channel is not self.channels["smua"] or self._open:
            voltage = np.where(levels != 0, np.sign(levels) * limit, 0.0)
            current = np.zeros(count)
        else:
            voltage, current = np.empty(count), np.empty(count)
            for k, (level, theta) in enumerate(zip(levels, heating, strict=True)):
                v, i, _ = current_source_points(self.world.chip, level, limit,
                                                lead=self._lead(),
                                                remote_sense=values["sense"] == 1,
                                                heating=float(theta))
                voltage[k], current[k] = v[0], i[0]
            self.world.apply_many(current, voltage)
        if values["trigger.measure.action"] == 1 and channel.measure_into:
            kind, *buffers = channel.measure_into
            measured = {"i": current, "v": voltage}
            for quantity, buffer in zip(kind, buffers, strict=True):
                channel.buffers[buffer].readings.extend(self._noisy(measured[quantity]).tolist())
        if channel is self.channels["smua"]:  # SOURCE_IDLE: back to the programmed level
            self._apply_dc()

    def _pulse_heating(self, channel: _Channel, levels: np.ndarray, limit: float,
                       delay: float, aperture: float) -> np.ndarray:
        """Each pulse's junction heating fraction at the middle of its measurement, after
        the pulse region's limits; every pulse is kept in ``pulses``."""
        values = channel.values
        period_timer = self._timer_for(values["trigger.source.stimulus"])
        width_timer = self._timer_for(values["trigger.endpulse.stimulus"])
        if period_timer is None or width_timer is None or values["trigger.measure.stimulus"]:
            raise TspError("runtime", "simulator: pulses need source.stimulus and "
                           "endpulse.stimulus from timers, measure.stimulus 0")
        period_cfg, width_cfg = self.timers[period_timer], self.timers[width_timer]
        if not (period_cfg["passthrough"] and
                period_cfg["stimulus"] == channel.events["trigger.ARMED_EVENT_ID"] and
                period_cfg["count"] >= len(levels) - 1 and not width_cfg["passthrough"] and
                width_cfg["stimulus"] == 10 + period_timer):
            raise TspError("runtime", "simulator: timers not in the manual's pulse set-up")
        period, width = period_cfg["delay"], width_cfg["delay"]
        tau = self.world.chip_params.thermal_time_constant
        heating = np.empty(levels.size)
        for k, level in enumerate(levels):
            region = pulse_region(level, limit)
            if region is None:
                raise TspError("runtime", f"{level:g} A at {limit:g} V is outside every "
                               "pulse region")
            # measurements take priority: the pulse lasts until its reading is done
            actual = min(max(width, delay + aperture), region[2])
            actual_period = max(period, actual / region[3], actual)
            self.pulses.append((float(level), actual, actual_period))
            heating[k] = heating_within_pulse(min(delay + aperture / 2, actual), actual,
                                              actual_period, tau)
        return heating

    @staticmethod
    def _timer_for(event: float) -> int | None:
        number = int(event) - 10
        return number if 1 <= number <= 8 else None

    def _printbuffer(self, args: list) -> tuple:
        """printbuffer(start, stop, buffer.readings, ...): readings start..stop of each buffer,
        interleaved point by point; ASCII separated by ", " or, with format.data REAL64, an
        indefinite-length "#0" block of doubles in format.byteorder."""
        if len(args) < 3 or not all(isinstance(a, float) for a in args[:2]):
            raise TspError("runtime", "bad argument to 'printbuffer'")
        start, stop = int(args[0]), int(args[1])
        buffers = args[2:]
        if not all(isinstance(b, _Buffer) for b in buffers):
            raise TspError("runtime", "bad argument to 'printbuffer' (buffer expected)")
        if not 1 <= start <= stop or any(stop > len(b.readings) for b in buffers):
            raise TspError("runtime", "printbuffer: index out of range")
        table = np.column_stack([b.readings[start - 1:stop] for b in buffers]).ravel()
        if self.globals["format.data"] == 1:
            precision = int(self.globals["format.asciiprecision"])
            self._out.append(", ".join(f"{v:.{precision - 1}e}" for v in table))
        else:
            order = "<" if self.globals["format.byteorder"] == 1 else ">"
            kind = "f8" if self.globals["format.data"] == 3 else "f4"
            self._out.append(b"#0" + table.astype(order + kind).tobytes())
        return ()
