"""Simulated Keysight 81134A pulse pattern generator."""

from __future__ import annotations

import re

import numpy as np

from .base import _NUMBER, DriveSignal, InstrumentModel, _on

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
