"""Simulated Keysight 81134A pulse pattern generator."""

from __future__ import annotations

import numpy as np

from ..scpi import number
from .base import DriveSignal, InstrumentModel, _on

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


class Keysight81134AModel(InstrumentModel):
    """81134A channel 1 (normal output) driving the chip's bias tee: pulse, square or a user
    pattern at the set clock, levels high/low into 50 ohm, linear edges.

    Levels (data sheet: window -2 V..+3 V, amplitude 50 mV..2 V into 50 ohm, UNVERIFIED): a value
    outside the window is data out of range (-222); a HIGH or LOW that would leave the amplitude
    outside 50 mV..2 V (or HIGH at or below LOW) conflicts with the other level (-221, SCPI-99
    "settings conflict": a legal value the present state cannot take). Either way the level stays.
    """

    RAMP = 60e-12 / 0.6       # s: a linear edge with the 20-80 % time of 60 ps (UNVERIFIED spec)
    WINDOW = (-2.0, 3.0)      # V
    AMPLITUDE = (0.05, 2.0)   # V
    # 81133A/81134A Programming Guide and the 81100-family guides ([:SOURce]:PULSe:WIDTh<n>);
    # :FUNCtion (operating mode) and :OUTPut:CENTral are UNVERIFIED
    TREE = (
        "[:SOURce]:FREQuency[:CW]", "[:SOURce]:FUNCtion", "[:SOURce]:FUNCtion:MODE#",
        "[:SOURce]:PULSe:WIDTh#",
        "[:SOURce]:VOLTage#[:LEVel][:IMMediate]:HIGH", "[:SOURce]:VOLTage#[:LEVel][:IMMediate]:LOW",
        ":OUTPut#:POSitive[:STATe]", ":OUTPut#:NEGative[:STATe]", ":OUTPut:CENTral[:STATe]",
        ":DIGital#[:STIMulus]:PATTern[:DATA]", ":DIGital#[:STIMulus]:PATTern:LDATa",
        ":SYSTem:ERRor[:NEXT]",
    )
    KEYWORDS = ("PATTern", "PULSe", "SQUare", "DATA", "PRBS", "CLOCk", "HEX", "DUAL")
    INITIAL_STATE = {"output": bool, "high": ("+-", 3.0), "low": ("+-", 3.0)}
    _LEVELS = {"[:SOURce]:VOLTage#[:LEVel][:IMMediate]:HIGH": "high",
               "[:SOURce]:VOLTage#[:LEVel][:IMMediate]:LOW": "low"}
    _DRIVE = {":OUTPut#:POSitive[:STATe]", ":OUTPut:CENTral[:STATe]", "[:SOURce]:FREQuency[:CW]",
              "[:SOURce]:FUNCtion:MODE#", "[:SOURce]:PULSe:WIDTh#"}

    def __init__(self, sim, world):
        super().__init__(sim, world)
        world.modulation_source = self
        self.reset()

    def reset(self) -> None:
        self.bits = bits_from_hex("00010001")  # *RST pattern (Programming Guide, :PATTern)
        self._ac: tuple | None = None  # ac_volts() of the present state, once computed

    @classmethod
    def _check_state(cls, where, state):
        high, low = state.get("high", 0.5), state.get("low", 0.0)
        problem = cls._level_problem(high, low)
        if problem:
            raise ValueError(f"{where}: {problem}")

    @classmethod
    def _level_problem(cls, high: float, low: float) -> str | None:
        """Why the 81134A cannot hold these levels, or None."""
        for name, value in (("high", high), ("low", low)):
            if not cls.WINDOW[0] <= value <= cls.WINDOW[1]:
                return f"{name}={value:g} V is outside the level window {cls.WINDOW} V"
        if not cls.AMPLITUDE[0] - 1e-9 <= high - low <= cls.AMPLITUDE[1] + 1e-9:  # fp slack
            return (f"amplitude high - low = {high - low:g} V is outside "
                    f"{cls.AMPLITUDE[0]:g}..{cls.AMPLITUDE[1]:g} V")
        return None

    def start(self, state):
        for name in ("high", "low"):
            if name in state:
                self.sim.set(name, state[name])
        if state.get("output"):
            self.sim.set("positive_output", "1")
            self.sim.set("central_output", "1")
        self._changed()

    def _changed(self) -> None:
        """The output may have changed: forget the cached swing and record the chip's drive."""
        self._ac = None
        self.world.note_drive()

    def ac_volts(self):
        if self._ac is None:  # every command that changes the output clears it
            signal = self.output_signal()
            if signal is None:
                self._ac = (None,)
            else:
                mean = signal.mean_volts()
                self._ac = (min(signal.low, signal.high) - mean,
                            max(signal.low, signal.high) - mean)
        return None if self._ac == (None,) else self._ac

    def handle(self, command):
        header, query, params = command.header, command.query, command.params
        if command.suffixes[:1] not in ((), (1,)):
            return False, None  # channel 2 is not simulated: the YAML has no element for it
        if header == ":DIGital#[:STIMulus]:PATTern:LDATa" and not query:
            self._load(params, long=True)
            return True, None
        if header == ":DIGital#[:STIMulus]:PATTern[:DATA]":
            if query:
                text = bits_to_hex(self.bits)
                return True, f"#{len(str(len(text)))}{len(text)}{text}"
            self._load(params, long=False)
            return True, None
        if header in self._LEVELS and not query and len(params) == 1:
            which = self._LEVELS[header]
            try:
                value = number(params[0])
            except ValueError:
                return False, None  # the YAML setter queues the parameter error
            other = float(self.sim.get("low" if which == "high" else "high"))
            high, low = (value, other) if which == "high" else (other, value)
            if not self.WINDOW[0] <= value <= self.WINDOW[1]:
                self.sim.queue_error("data_out_of_range")
            elif self._level_problem(high, low):
                self.sim.queue_error("settings_conflict")
            elif self.sim.apply(command):
                self._changed()
            return True, None
        if header in self._DRIVE and not query:
            self.sim.apply(command)
            self._changed()
            return True, None
        return False, None

    def _load(self, params, long: bool) -> None:
        """A pattern block ``#<n><length><data>[,HEX|,DUAL]`` (LDATa: hex only)."""
        try:
            if not 1 <= len(params) <= 2 or not params[0].startswith("#"):
                raise ValueError(params[:1])
            block = params[0]
            digits = int(block[1])
            length = int(block[2:2 + digits])
            data = block[2 + digits:]
            kind = self.sim.tree.keyword(params[1]) if len(params) == 2 else "HEX"
            if len(data) != length or kind not in (("HEX",) if long else ("HEX", "DUAL")):
                raise ValueError(block[:40])
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
        self._changed()

    def output_signal(self) -> DriveSignal | None:
        """The voltage at the output now (into 50 ohm), or None while the output is off."""
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
