"""Physics of each simulated instrument model: the answers the YAML alone cannot give.

A model sees every command before the YAML does; ``handle`` returns ``(True, answer)`` for what it
answers (``answer`` None for a command without response) and ``(False, None)`` to let the YAML
device match it. State that the YAML declares (levels, limits, output) is read from the device, so
the YAML stays the one contract of what each setting accepts.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import numpy as np
from scipy import constants as sc
from scipy.signal import lfilter

from .backend import SimInstrument, SimulatedWorld, ieee_block
from .chip import MicroLED

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class InstrumentModel:
    def __init__(self, sim: SimInstrument, world: SimulatedWorld):
        self.sim, self.world = sim, world

    def handle(self, command: str) -> tuple[bool, bytes | str | None]:
        return False, None

    def reset(self) -> None:
        """Called on ``*RST`` after the YAML properties are back to their defaults."""

    def open_contact(self) -> None:
        """Fault ``compliance``: the probe lifts off the chip (a no-op without a source)."""


class Keithley2450Model(InstrumentModel):
    """Keithley 2450: source I or V into the chip, compliance, READ?, list/lin/log sweeps."""

    _SWEEP = re.compile(
        rf":SOURce:SWEep:(CURR|VOLT):(LINear|LOG) ({_NUMBER}), ({_NUMBER}), (\d+), ({_NUMBER}), "
        r'1, BEST, OFF, OFF, "defbuffer1"$')
    _LIST_SWEEP = re.compile(rf':SOURce:SWEep:(CURR|VOLT):LIST 1, ({_NUMBER}), 1, OFF, '
                             r'"defbuffer1"$')
    _LIST = re.compile(r":SOURce:LIST:(CURR|VOLT)(:APPend)? (.+)$")
    _TRACE = re.compile(r':TRACe:DATA\? (\d+), (\d+), "defbuffer1", READ, SOUR$')

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.reset()

    def reset(self) -> None:
        self.contact_open = False
        self.buffer: list[tuple[float, float]] = []
        self.lists = {"CURR": [], "VOLT": []}
        self.sweep: tuple[str, np.ndarray] | None = None
        self.binary = False

    # -- the electrical operating point ------------------------------------------------------
    def _output_on(self) -> bool:
        return str(self.sim.get("output")) in ("1", "ON")

    def open_contact(self) -> None:
        self.contact_open = True

    def _operating_point(self, function: str, level: float) -> tuple[float, float]:
        """(voltage, current) at the chip for a programmed level, compliance included."""
        chip = self.world.chip
        if self.contact_open:  # open circuit: no current; a current source rails to its limit
            if function == "CURR":
                return float(np.sign(level)) * float(self.sim.get("voltage_limit")), 0.0
            return level, 0.0
        if function == "CURR":
            limit = float(self.sim.get("voltage_limit"))
            voltage = float(chip.steady_state(np.array([level])).voltage[0])
            if voltage > limit or voltage < -limit:  # in compliance: the limit holds the voltage
                voltage = float(np.sign(voltage) * limit)
                level = float(chip.current_at_voltage(np.array([voltage]))[0])
            return voltage, level
        limit = float(self.sim.get("current_limit"))
        current = float(chip.current_at_voltage(np.array([level]))[0])
        if abs(current) > limit:
            current = float(np.sign(current) * limit)
            level = float(chip.steady_state(np.array([current])).voltage[0])
        return level, current

    def _apply(self, function: str, level: float) -> tuple[float, float]:
        voltage, current = self._operating_point(function, level)
        self.world.apply(current, voltage)
        return voltage, current

    def _reading(self, function: str, level: float) -> tuple[float, float]:
        """(READing, SOURce) buffer elements, with measurement noise."""
        voltage, current = self._apply(function, level)
        noisy = self.world.noise.relative(np.array([voltage, current]),
                                          self.world.chip_params.noise)
        return ((float(noisy[0]), float(noisy[1])) if function == "CURR"
                else (float(noisy[1]), float(noisy[0])))

    def _level(self, function: str) -> float:
        return float(self.sim.get("source_current" if function == "CURR" else "source_voltage"))

    # -- command handling ----------------------------------------------------------------------
    def handle(self, command):
        function = str(self.sim.get("source_function"))
        if command in (":OUTPut:STATe ON", ":OUTPut:STATe OFF"):
            self.sim.set("output", command.rsplit(" ", 1)[1])
            if self._output_on():
                self._apply(function, self._level(function))
            else:
                self.world.apply(0.0, 0.0)
            return True, None
        if command.startswith((":SOURce:CURRent ", ":SOURce:VOLTage ")) and self._output_on():
            self._set_live(command)
            return True, None
        if command == ':READ? "defbuffer1", READ, SOUR':
            if not self._output_on():
                return True, "9.9100E+37,9.9100E+37"  # SCPI NaN: no source, no measurement
            reading = self._reading(function, self._level(function))
            self.buffer.append(reading)
            return True, f"{reading[0]:.6E},{reading[1]:.6E}"
        if command == ':TRACe:CLEar "defbuffer1"':
            self.buffer = []
            return True, None
        if command in (":FORMat:DATA REAL", ":FORMat:DATA ASCii"):
            self.binary = command.endswith("REAL")
            return True, None
        match = self._SWEEP.match(command)
        if match:
            func, kind, start, stop, points, _delay = match.groups()
            start, stop, points = float(start), float(stop), int(points)
            levels = (np.linspace(start, stop, points) if kind == "LINear"
                      else np.geomspace(start, stop, points))
            return self._configure_sweep(func, levels)
        match = self._LIST.match(command)
        if match:
            func, append, values = match.groups()
            try:
                values = [float(v) for v in values.split(",")]
            except ValueError:
                self.sim.queue_error("data_out_of_range")
                return True, None
            if len(values) > 100:
                self.sim.queue_error("data_out_of_range")
            else:
                self.lists[func] = (self.lists[func] if append else []) + values
            return True, None
        match = self._LIST_SWEEP.match(command)
        if match:
            return self._configure_sweep(match.group(1), np.array(self.lists[match.group(1)]))
        if command == ":INITiate":
            self._run_sweep()
            return True, None
        if command == ":TRACe:ACTual?":
            return True, str(len(self.buffer))
        match = self._TRACE.match(command)
        if match:
            return True, self._trace(int(match.group(1)), int(match.group(2)))
        return False, None

    def _set_live(self, command: str):
        """A level change while the output is on: the YAML setter checks and stores it (an
        out-of-range level queues -222), then it reaches the chip at once."""
        self.sim._match_yaml(command.encode())
        function = "CURR" if command.startswith(":SOURce:CURRent") else "VOLT"
        if function == str(self.sim.get("source_function")):
            self._apply(function, self._level(function))

    def _configure_sweep(self, function: str, levels: np.ndarray):
        limit = 1.05 if function == "CURR" else 210.0
        if levels.size < 2 or np.any(np.abs(levels) > limit):
            self.sim.queue_error("data_out_of_range")
        else:
            self.sweep = (function, levels)
            self.sim.set("source_function", function)
        return True, None

    def _run_sweep(self) -> None:
        """Trigger model of a source sweep: output on, one reading per level, source back off."""
        if self.sweep is None:
            self.sim.queue_error("command_error")
            return
        function, levels = self.sweep
        self.buffer = [self._reading(function, float(level)) for level in levels]
        if not self._output_on():
            self.world.apply(0.0, 0.0)

    def _trace(self, start: int, end: int) -> bytes | str:
        if not 1 <= start <= end <= len(self.buffer):
            self.sim.queue_error("data_out_of_range")
            return b""
        values = np.array(self.buffer[start - 1:end], dtype="<f8").ravel()
        if self.binary:
            return b"#0" + values.tobytes()  # indefinite-length block, as the 2450 sends
        return ",".join(f"{v:.6E}" for v in values)


class ThorlabsPM100DModel(InstrumentModel):
    """PM100D: reads the chip's optical power through the collection optics and sensor."""

    NOISE_FLOOR = 50e-12  # W, photodiode sensor dark noise (S120C class)

    def handle(self, command):
        if command in ("READ?", "MEASure:POWer?"):
            return True, f"{self._power():.6E}"
        return False, None

    def _power(self) -> float:
        """Reading in W. A photodiode meter divides photocurrent by its responsivity at the set
        wavelength; with responsivity ~ proportional to wavelength (constant quantum efficiency), a
        wrong wavelength setting scales the reading by true/set wavelength."""
        world = self.world
        current = np.array([world.drive_current])
        power = float(world.chip.steady_state(current).optical_power[0])
        power *= world.collection_efficiency
        power *= world.chip_params.wavelength / (float(self.sim.get("wavelength_nm")) * 1e-9)
        samples = int(self.sim.get("averaging"))
        rel = world.chip_params.noise / np.sqrt(samples)
        noisy = world.noise.relative(np.array([power]), rel)
        noisy = world.noise.absolute(noisy, self.NOISE_FLOOR / np.sqrt(samples))
        return float(noisy[0])


# == High-speed set-up (issue 3): pattern generator, real-time scope, network analyser ==========
# The generator's output voltage reaches the chip through the bias tee (modulation current = AC
# part / modulation_impedance, after cables.drive_delay) on top of the SMU's bias
# (world.drive_current); the light goes through the photoreceiver (gain, pole, delays) to the scope
# or VNA. The set-up's numbers come from world.setup (drivers.passive.Setup, the station's setup:).


def _on(value) -> bool:
    return str(value).strip().upper() in ("1", "ON")


def first_order_lowpass(x: np.ndarray, dt: float, tau: float) -> np.ndarray:
    """Single pole y' = (x - y) / tau with x linear between samples, solved exactly:
    y[n] = e y[n-1] + (1 - k) x[n] + (k - e) x[n-1], e = exp(-dt / tau), k = tau (1 - e) / dt,
    started settled at x[0] (the discretisation chip.py uses for the RC pole). Linear
    interpolation low-passes the input by sinc^2(f dt): use it on a grid fine enough for x to be
    linear between samples (the scope's analogue grid), not at a record's sample interval."""
    e = math.exp(-dt / tau)
    k = tau * (1 - e) / dt
    return lfilter([1 - k, k - e], [1, -e], x, zi=[x[0] * k])[0]


def differential_efficiency(chip: MicroLED, current) -> np.ndarray:
    """dP/dI (W/A) of the isothermal light output behind MicroLED.optical_power_waveform,
    P = eta_extr B n^2 V_act E_ph. With dn/dI = tau eta_inj / (q V_act) (tau = differential
    lifetime, Coldren & Corzine ch. 5): dP/dI = 2 eta_extr eta_inj B n tau E_ph / q."""
    p = chip.params
    n = chip.carrier_density(current)
    return (2 * p.extraction_efficiency * p.injection_efficiency * p.b_coeff * n
            * chip.differential_lifetime(current) * chip.photon_energy / sc.e)


_HEX_DIGITS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_HEX_VALUES = np.full(256, 255, dtype=np.uint8)
_HEX_VALUES[_HEX_DIGITS] = np.arange(16)
_HEX_VALUES[np.frombuffer(b"abcdef", dtype=np.uint8)] = np.arange(10, 16)


def bits_from_hex(text: str) -> np.ndarray:
    """Pattern bits from hex digits, the MSB of the first digit being bit 0 (81134A ":PATTern");
    ValueError on anything but hex digits."""
    values = _HEX_VALUES[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    if np.any(values == 255):
        raise ValueError(f"not hex digits: {text[:40]!r}")
    return ((values[:, None] >> np.array([3, 2, 1, 0], dtype=np.uint8)) & 1).ravel()


def bits_to_hex(bits: np.ndarray) -> str:
    """Inverse of :func:`bits_from_hex` (length a multiple of 4)."""
    nibbles = np.asarray(bits, dtype=np.uint8).reshape(-1, 4) @ np.array([8, 4, 2, 1])
    return _HEX_DIGITS[nibbles].tobytes().decode("ascii")


@dataclass(frozen=True)
class DriveSignal:
    """A generator's periodic output voltage. Within each period the logic level steps to
    ``levels[j]`` at ``starts[j]`` along a linear ramp of ``ramp`` seconds;
    volts = low + (high - low) x level."""

    starts: np.ndarray  # s, increasing, starts[0] = 0
    levels: np.ndarray  # 0 or 1
    period: float       # s
    ramp: float         # s, 0-100 % edge duration
    low: float          # V
    high: float         # V

    def volts(self, t) -> np.ndarray:
        phase = np.mod(np.asarray(t, dtype=float), self.period)
        j = np.searchsorted(self.starts, phase, side="right") - 1
        now, before = self.levels[j], self.levels[j - 1]  # j - 1 = -1 wraps to the last level
        progress = np.clip((phase - self.starts[j]) / self.ramp, 0.0, 1.0)
        return self.low + (self.high - self.low) * (before + (now - before) * progress)

    def mean_volts(self) -> float:
        """Period average, what the bias tee's capacitor blocks: sum(level x duration) / period
        (each ramp's deficit is cancelled by the opposite ramp within the period)."""
        durations = np.diff(np.append(self.starts, self.period))
        level = float(np.dot(self.levels, durations)) / self.period
        return self.low + (self.high - self.low) * level

    def first_crossing(self, volts: float, rising: bool) -> float | None:
        """Time in [0, period) of the first rising (falling) crossing of ``volts``, or None."""
        if self.high == self.low:
            return None
        fraction = (volts - self.low) / (self.high - self.low)
        if not 0 < fraction < 1:
            return None
        before = np.roll(self.levels, 1)
        edges = self.levels > before if rising else self.levels < before
        if not edges.any():
            return None
        j = int(np.argmax(edges))
        return float(self.starts[j] + (fraction if rising else 1 - fraction) * self.ramp)


class Keysight81134AModel(InstrumentModel):
    """81134A channel 1 (normal output) driving the chip's bias tee: pulse, square or a user
    pattern at the set clock, levels high/low into 50 ohm, linear edges."""

    RAMP = 60e-12 / 0.6       # s: a linear edge with the 20-80 % time of 60 ps (UNVERIFIED spec)
    _LEVEL = re.compile(rf":VOLTage1:(HIGH|LOW) ({_NUMBER})$")

    def __init__(self, sim, world):
        super().__init__(sim, world)
        world.modulation_source = self
        self.reset()

    def reset(self) -> None:
        self.bits = bits_from_hex("00010001")  # *RST pattern (Programming Guide, :PATTern)

    def handle(self, command):
        if command.startswith(":DIGital1:PATTern:LDATa "):
            self._load(command.split(" ", 1)[1], long=True)
            return True, None
        if command.startswith(":DIGital1:PATTern #"):
            self._load(command.split(" ", 1)[1], long=False)
            return True, None
        if command == ":DIGital1:PATTern?":
            text = bits_to_hex(self.bits)
            return True, f"#{len(str(len(text)))}{len(text)}{text}"
        match = self._LEVEL.match(command)
        if match:  # the high level must stay above the low level
            which, value = match.group(1), float(match.group(2))
            if (which == "HIGH" and value <= float(self.sim.get("low"))) or \
                    (which == "LOW" and value >= float(self.sim.get("high"))):
                self.sim.queue_error("settings_conflict")
                return True, None
        return False, None

    def _load(self, argument: str, long: bool) -> None:
        """A pattern block ``#<n><length><data>[,HEX|,DUAL]`` (LDATa: hex only)."""
        try:
            if not argument.startswith("#"):
                raise ValueError(argument[:40])
            digits = int(argument[1])
            length = int(argument[2:2 + digits])
            data = argument[2 + digits:2 + digits + length]
            rest = argument[2 + digits + length:]
            kind = rest[1:] if rest.startswith(",") else ("HEX" if rest == "" else None)
            if len(data) != length or kind not in (("HEX",) if long else ("HEX", "DUAL")):
                raise ValueError(argument[:40])
            bits = (bits_from_hex(data) if kind == "HEX"
                    else np.array([{"0": 0, "1": 1}[c] for c in data], dtype=np.uint8))
        except (ValueError, IndexError, KeyError):
            self.sim.queue_error("block_error")
            return
        if long:  # 128-bit steps up to 12/6/3 Mbit by clock range (Programming Guide, LDATa)
            clock = float(self.sim.get("frequency"))
            limit = 12 << 20 if clock >= 60e6 else (6 << 20 if clock >= 30e6 else 3 << 20)
            valid = bits.size % 128 == 0 and 128 <= bits.size <= limit
        else:
            valid = bits.size % 32 == 0 and 32 <= bits.size <= 8192
        if not valid:
            self.sim.queue_error("data_out_of_range")
            return
        self.bits = bits

    def output_signal(self) -> DriveSignal | None:
        """The voltage at the output now, or None while the output is switched off."""
        get = self.sim.get
        if not (_on(get("positive_output")) and _on(get("central_output"))):
            return None
        clock, mode = float(get("frequency")), str(get("mode"))
        if mode in ("PULS", "SQU"):
            period = 1.0 / clock
            width = float(get("width")) if mode == "PULS" else period / 2
            width = min(max(width, self.RAMP), period - self.RAMP)  # the pulse fits its period
            starts, levels = np.array([0.0, width]), np.array([1.0, 0.0])
        else:
            bits = self.bits
            period = bits.size / clock
            starts, levels = np.arange(bits.size) / clock, bits.astype(float)
        shortest = float(np.min(np.diff(np.append(starts, period))))
        return DriveSignal(starts, levels, period, min(self.RAMP, shortest / 2),
                           float(get("low")), float(get("high")))


@dataclass
class _ScopeRecord:
    codes: np.ndarray   # int16
    x_increment: float
    x_origin: float
    y_increment: float
    y_origin: float
    averages: int
    coupling: int       # preamble code: 1 DC (1 Mohm), 2 DCFIFTY
    x_display: tuple[float, float]  # range, origin
    y_display: tuple[float, float]


@dataclass(frozen=True)
class _AnalogGrid:
    """Time grid of the simulated analogue signal chain: ``step`` = record sample interval /
    ``factor``; record sample n is grid point ``first + n x factor`` (what the ADC samples)."""

    times: np.ndarray  # s, world time
    step: float        # s
    factor: int
    first: int

    def sampled(self, values: np.ndarray) -> np.ndarray:
        """The record's samples of a signal simulated on this grid."""
        return values[self.first::self.factor]


class KeysightInfiniiumModel(InstrumentModel):
    """Infiniium MXR254A: single acquisitions (:DIGitize) of the set-up's drive and optical
    channels, edge trigger on the drive channel, WORD/BYTE/ASCii transfer with the preamble.

    Simulator conventions: the 16-bit code range spans 10 vertical divisions around the offset
    (y_increment = 10 scale / 65536, codes clipped); the front end is one pole at the analog
    bandwidth; noise is NOISE_FLOOR + NOISE_PER_DIVISION x scale rms, divided by sqrt(averages);
    a trigger on another channel, or with no edge through the level, free-runs (AUTO sweep).
    The analogue chain (generator edges, chip, photoreceiver, front end) is simulated on a grid
    finer than the sample interval and sampled by picking points, the same grid and front end
    for every channel (:meth:`_analog_grid`).
    """

    CHANNELS = 4
    MAX_SAMPLE_RATE = 16e9     # Sa/s (UNVERIFIED data-sheet value)
    MAX_AUTO_POINTS = 1_000_000
    BANDWIDTH = 2.5e9          # Hz, MXR254A (the model number's "25")
    NOISE_FLOOR = 100e-6       # V rms
    NOISE_PER_DIVISION = 2e-3  # x V/div, rms
    MAX_PREROLL = 1_000_000    # samples simulated before the record at most
    ANALOG_RESOLUTION = 10     # analogue grid steps per generator edge, MAX_ANALOG_POINTS allowing
    MAX_ANALOG_POINTS = 4_000_000  # analogue grid points per acquisition at most (time, memory)
    FRAME = "MXR254A:MY61010123"
    _REFERENCE = {"LEFT": 0.0, "CENTer": 0.5, "RIGHt": 1.0}

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.reset()

    def reset(self) -> None:
        self.rate_auto = self.points_auto = True
        self.records: dict[int, _ScopeRecord] = {}
        self.done = False

    @property
    def time_constant(self) -> float:
        return 1 / (2 * math.pi * self.BANDWIDTH)

    def _yaml_set(self, command: str) -> bool:
        """Apply a YAML setter; True if the device accepted it (no error queued)."""
        queue = next(iter(self.sim.device._error_queues.values()))._queue
        before = len(queue)
        self.sim._match_yaml(command.encode("latin-1"))
        return len(queue) == before

    def handle(self, command):
        for node, flag in ((":ACQuire:SRATe:ANALog", "rate_auto"),
                           (":ACQuire:POINts:ANALog", "points_auto")):
            if command == f"{node} AUTO":
                setattr(self, flag, True)
                return True, None
            if command.startswith(f"{node} "):
                if self._yaml_set(command):
                    setattr(self, flag, False)
                return True, None
        if command == ":ACQuire:SRATe:ANALog?":
            return True, f"{self._timing()[0]:.6E}"
        if command == ":ACQuire:POINts:ANALog?":
            return True, str(self._timing()[1])
        if command == ":DIGitize" or command.startswith(":DIGitize "):
            self._digitize(command[len(":DIGitize"):].strip())
            return True, None
        if command == ":ADER?":  # Acquisition Done Event Register, cleared by reading
            done, self.done = self.done, False
            return True, "1" if done else "0"
        if command == ":WAVeform:PREamble?":
            record = self._source_record()
            return True, "" if record is None else self._preamble(record)
        if command == ":WAVeform:DATA?":
            return True, self._data()
        return False, None

    # -- acquisition -------------------------------------------------------------------------
    def _timing(self) -> tuple[float, int]:
        """(sample rate, points): AUTO fills 10 divisions, at most 16 GSa/s and 1 Mpts."""
        span = 10 * float(self.sim.get("timebase_scale"))
        rate = self.MAX_SAMPLE_RATE if self.rate_auto else float(self.sim.get("sample_rate"))
        if self.points_auto:
            if self.rate_auto:
                rate = min(rate, self.MAX_AUTO_POINTS / span)
            points = min(span * rate, self.MAX_AUTO_POINTS)
        else:
            points = int(self.sim.get("points"))
            if self.rate_auto:
                rate = min(rate, points / span)
        return rate, max(16, int(round(points)))

    def _digitize(self, sources: str) -> None:
        if sources:
            try:
                channels = [int(s.strip().removeprefix("CHANnel")) for s in sources.split(",")]
            except ValueError:
                channels = [0]
            if not all(1 <= c <= self.CHANNELS for c in channels):
                self.sim.queue_error("command_error")
                return
        else:
            channels = [c for c in range(1, self.CHANNELS + 1)
                        if _on(self.sim.get(f"ch{c}_display"))]
        get = self.sim.get
        rate, points = self._timing()
        dt = 1.0 / rate
        x_origin = float(get("timebase_position")) \
            - self._REFERENCE[str(get("timebase_reference"))] * points * dt
        source = self.world.modulation_source
        signal = source.output_signal() if source is not None else None
        grid = self._analog_grid(self._trigger_time(signal) + x_origin, dt, points, signal)
        averages = int(get("average_count")) if _on(get("average")) else 1
        tb_scale = float(get("timebase_scale"))
        x_display = (10 * tb_scale, float(get("timebase_position"))
                     - self._REFERENCE[str(get("timebase_reference"))] * 10 * tb_scale)
        self.records = {}
        for channel in channels:
            scale, offset = float(get(f"ch{channel}_scale")), float(get(f"ch{channel}_offset"))
            sigma = (self.NOISE_FLOOR + self.NOISE_PER_DIVISION * scale) / math.sqrt(averages)
            volts = self._channel_volts(channel, grid, signal)
            volts = volts + sigma * self.world.noise.rng.standard_normal(points)
            y_increment = 10 * scale / 65536
            codes = np.clip(np.rint((volts - offset) / y_increment), -32768, 32767)
            self.records[channel] = _ScopeRecord(
                codes.astype(np.int16), dt, x_origin, y_increment, offset, averages,
                2 if get(f"ch{channel}_input") == "DC50" else 1, x_display, (8 * scale, offset))
        self.done = True

    def _trigger_time(self, signal: DriveSignal | None) -> float:
        """World time of the trigger: the drive channel's first edge through the trigger level
        (generator edge + monitor_delay); 0 (free-running) otherwise."""
        wiring, get = self.world.setup.oscilloscope, self.sim.get
        if signal is None or get("trigger_source") != f"CHANnel{wiring.drive_channel}":
            return 0.0
        crossing = signal.first_crossing(float(get(f"trigger_level_ch{wiring.drive_channel}")),
                                         rising=get("trigger_slope") == "POSitive")
        return 0.0 if crossing is None else crossing + self.world.setup.cables.monitor_delay

    def _analog_grid(self, start: float, dt: float, points: int, signal: DriveSignal | None
                     ) -> _AnalogGrid:
        """Grid of the analogue simulation for a record of ``points`` samples from world time
        ``start``: a pre-roll of 8 x the slowest time constant (differential lifetime at the
        lowest drive current, chip RC, receiver, scope; at most MAX_PREROLL samples) for the chip
        and the poles to settle, and ``factor`` steps per sample interval, each at most
        1 / ANALOG_RESOLUTION of the generator's edge, within MAX_ANALOG_POINTS.
        The poles (first_order_lowpass, the chip's RC) are solved exactly for an input linear
        between grid points, and the chip's carriers are sub-stepped by its own lifetime, so the
        step is limited only by how far each stage's input departs from linear: every signal in
        the chain is the generator's output filtered, whose sharpest features are its edges (linear
        ramps, kinks at both ends). Without a modulation signal the inputs are constant: factor 1.
        """
        chip, receiver = self.world.chip, self.world.setup.photoreceiver
        slowest = max(float(chip.differential_lifetime(self._lowest_current(signal))),
                      chip.rc_time_constant(), receiver.time_constant, self.time_constant)
        preroll = int(min(self.MAX_PREROLL, math.ceil(8 * slowest / dt)))
        factor = 1
        if signal is not None:
            factor = max(1, min(math.ceil(self.ANALOG_RESOLUTION * dt / signal.ramp),
                                self.MAX_ANALOG_POINTS // (preroll + points)))
        step = dt / factor
        times = start - preroll * dt + np.arange((preroll + points - 1) * factor + 1) * step
        return _AnalogGrid(times, step, factor, preroll * factor)

    def _lowest_current(self, signal: DriveSignal | None) -> float:
        """Lowest chip current, >= 0: the bias plus the generator's lowest AC part."""
        lowest = self.world.drive_current
        if signal is not None:
            lowest += (min(signal.low, signal.high) - signal.mean_volts()) \
                / self.world.setup.bias_tee.modulation_impedance
        return max(lowest, 0.0)

    def _channel_volts(self, channel: int, grid: _AnalogGrid, signal: DriveSignal | None
                       ) -> np.ndarray:
        """Volts at a scope input at the record's instants, noise-free: the generator (drive
        channel), the photoreceiver (optical channel), else 0 V, through the front-end pole;
        simulated on the analogue grid, then sampled."""
        setup = self.world.setup
        if signal is not None and channel == setup.oscilloscope.drive_channel:
            volts = signal.volts(grid.times - setup.cables.monitor_delay)
        elif channel == setup.oscilloscope.optical_channel:
            volts = self._receiver_output(grid, signal)
        else:
            volts = np.zeros(grid.times.size)
        return grid.sampled(first_order_lowpass(volts, grid.step, self.time_constant))

    def _receiver_output(self, grid: _AnalogGrid, signal: DriveSignal | None) -> np.ndarray:
        """Photoreceiver output: i(t) = I_bias + (V_gen - <V_gen>) / Z_mod reaches the chip
        after drive_delay, the light (MicroLED.optical_power_waveform) the scope after the
        receiver's delays, through its gain and pole."""
        world, setup = self.world, self.world.setup
        current = np.full(grid.times.size, world.drive_current)
        if signal is not None:
            current += (signal.volts(grid.times - setup.optical_delay) - signal.mean_volts()) \
                / setup.bias_tee.modulation_impedance
        power = world.chip.optical_power_waveform(grid.times, current)
        receiver = setup.photoreceiver
        return first_order_lowpass(receiver.gain * power, grid.step, receiver.time_constant)

    # -- transfer ----------------------------------------------------------------------------
    def _source_record(self) -> _ScopeRecord | None:
        record = self.records.get(int(str(self.sim.get("waveform_source"))[-1]))
        if record is None:
            self.sim.queue_error("no_data")
        return record

    def _preamble(self, r: _ScopeRecord) -> str:
        """The 24 preamble fields in the Programmer's Reference order (:WAVeform:PREamble?)."""
        fmt = str(self.sim.get("waveform_format"))
        y_increment = r.y_increment * (256 if fmt == "BYTE" else 1)
        stamp = time.localtime()
        fields = [{"ASCii": 0, "BYTE": 1, "WORD": 2}[fmt], 2 if r.averages > 1 else 1,
                  r.codes.size, r.averages, f"{r.x_increment:.16E}", f"{r.x_origin:.16E}", 0,
                  f"{y_increment:.16E}", f"{r.y_origin:.16E}", 0, r.coupling,
                  f"{r.x_display[0]:.6E}", f"{r.x_display[1]:.6E}", f"{r.y_display[0]:.6E}",
                  f"{r.y_display[1]:.6E}", time.strftime('"%d %b %Y"', stamp).upper(),
                  time.strftime('"%H:%M:%S:00"', stamp), f'"{self.FRAME}"', 0, 100, 2, 1,
                  f"{self.BANDWIDTH:.6E}", "0.000000E+00"]
        return ",".join(str(f) for f in fields)

    def _data(self) -> bytes | str:
        record = self._source_record()
        if record is None:
            return ieee_block(b"")
        fmt = str(self.sim.get("waveform_format"))
        if fmt == "ASCii":  # volts, no block header
            volts = record.codes * record.y_increment + record.y_origin
            return ",".join(map("{:.6E}".format, volts.tolist()))
        order = "<" if self.sim.get("waveform_byteorder") == "LSBFirst" else ">"
        payload = (record.codes.astype(order + "i2") if fmt == "WORD"
                   else (record.codes >> 8).astype(np.int8)).tobytes()
        return b"#0" + payload if _on(self.sim.get("waveform_streaming")) else ieee_block(payload)


class KeysightE5071CModel(InstrumentModel):
    """E5071C channel 1, trace 1: S-parameters of the modulated chip through the set-up.

    S21 = dP/dI x H_chip(f) x gain / Z_mod x receiver pole x exp(-j 2 pi f optical_delay) at the
    SMU's bias current (drivers.passive.Setup.link_response), S11 = (Z_mod - 50) / (Z_mod + 50),
    S12 = S22 = 0; plus complex trace noise NOISE rms at 1 kHz IF bandwidth and 0 dBm, scaling with
    sqrt(IFBW) / source amplitude and 1 / sqrt(averages). With the RF output off: noise only.
    """

    NOISE = 1e-5
    _BLOCK_DIGITS = 6  # the E5071C sends "#6" + 6-digit byte count

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.reset()

    def reset(self) -> None:
        self.trace: tuple[np.ndarray, np.ndarray] | None = None
        self.sweeps = 0

    def handle(self, command):
        if command == ":TRIGger:SEQuence:SINGle":  # valid only with the BUS trigger source
            if self.sim.get("trigger_source") != "BUS":
                self.sim.queue_error("trigger_ignored")
            else:
                self._sweep()
            return True, None
        if command == ":SENSe1:AVERage:CLEar":
            self.sweeps = 0
            return True, None
        if command == ":SENSe1:FREQuency:DATA?":
            return True, self._encode(self._frequencies())
        if command in (":CALCulate1:DATA:SDATa?", ":CALCulate1:DATA:FDATa?"):
            frequency, data = self._current_trace()
            if command.endswith("SDATa?"):
                pairs = np.column_stack([data.real, data.imag]).ravel()
            else:
                pairs = np.column_stack([self._formatted(frequency, data),
                                         np.zeros(data.size)]).ravel()
            return True, self._encode(pairs)
        return False, None

    def _frequencies(self) -> np.ndarray:
        get = self.sim.get
        start, stop = float(get("start_frequency")), float(get("stop_frequency"))
        points = int(get("points"))
        return (np.geomspace(start, stop, points) if get("sweep_type") == "LOG"
                else np.linspace(start, stop, points))

    def s_parameter(self, frequency: np.ndarray) -> np.ndarray:
        """Noise-free S-parameter of the defined trace at the present bias."""
        parameter, world = str(self.sim.get("parameter")), self.world
        if parameter == "S21":
            chip, current = world.chip, world.drive_current
            return (differential_efficiency(chip, current)
                    * chip.small_signal_response(frequency, current)
                    * world.setup.link_response(frequency))
        if parameter == "S11":
            z = world.setup.bias_tee.modulation_impedance
            return np.full(frequency.size, (z - 50.0) / (z + 50.0), dtype=complex)
        return np.zeros(frequency.size, dtype=complex)

    def _sweep(self) -> None:
        get = self.sim.get
        frequency = self._frequencies()
        data = (self.s_parameter(frequency) if _on(get("output"))
                else np.zeros(frequency.size, dtype=complex))
        count = int(get("average_count"))
        if _on(get("averaging")):
            self.sweeps += count if _on(get("trigger_average")) else 1
            averages = min(self.sweeps, count)
        else:
            averages = 1
        sigma = (self.NOISE * math.sqrt(float(get("if_bandwidth")) / 1e3)
                 * 10 ** (-float(get("source_power")) / 20) / math.sqrt(averages))
        rng = self.world.noise.rng
        noise = rng.standard_normal(frequency.size) + 1j * rng.standard_normal(frequency.size)
        self.trace = (frequency, data + sigma / math.sqrt(2) * noise)

    def _current_trace(self) -> tuple[np.ndarray, np.ndarray]:
        """The last sweep; a new one if the stimulus changed since (the channel sweeps on)."""
        if self.trace is None or not np.array_equal(self.trace[0], self._frequencies()):
            self._sweep()
        return self.trace

    def _formatted(self, frequency: np.ndarray, data: np.ndarray) -> np.ndarray:
        """The formatted data array's first value per point for the rectangular formats."""
        fmt = str(self.sim.get("trace_format"))
        phase = np.unwrap(np.angle(data))
        if fmt == "MLOG":
            return 20 * np.log10(np.maximum(np.abs(data), 1e-30))
        if fmt == "MLIN":
            return np.abs(data)
        if fmt == "PHAS":
            return np.degrees(np.angle(data))
        if fmt == "UPH":
            return np.degrees(phase)
        if fmt == "GDEL":  # group delay -d phase / d omega
            return -np.gradient(phase, 2 * np.pi * frequency)
        return data.real if fmt == "REAL" else data.imag

    def _encode(self, values: np.ndarray) -> bytes | str:
        """Per :FORMat:DATA (ASCii / REAL 64-bit / REAL32) and :FORMat:BORDer (NORMal = big
        endian, SWAPped = little endian)."""
        fmt = str(self.sim.get("data_format"))
        if fmt == "ASC":
            return ",".join(map("{:+.11E}".format, np.asarray(values, dtype=float).tolist()))
        dtype = (">" if self.sim.get("byte_order") == "NORM" else "<") + \
            ("f8" if fmt == "REAL" else "f4")
        payload = np.asarray(values).astype(dtype).tobytes()
        if len(payload) >= 10**self._BLOCK_DIGITS:
            return ieee_block(payload)
        return b"#%d%0*d" % (self._BLOCK_DIGITS, self._BLOCK_DIGITS, len(payload)) + payload


MODELS: dict[str, tuple[str, type[InstrumentModel]]] = {
    "keithley2450": ("keithley2450.yaml", Keithley2450Model),
    "thorlabs_pm100d": ("thorlabs_pm100d.yaml", ThorlabsPM100DModel),
    "keysight_81134a": ("keysight_81134a.yaml", Keysight81134AModel),
    "keysight_infiniium": ("keysight_infiniium.yaml", KeysightInfiniiumModel),
    "keysight_e5071c": ("keysight_e5071c.yaml", KeysightE5071CModel),
}
