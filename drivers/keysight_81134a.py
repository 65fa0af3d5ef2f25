"""Keysight (Agilent) 81134A 3.35 GHz pulse pattern generator, SCPI command set.

Only a few pages of the 81133A/81134A Programming Guide (March 2007) were found (DIGital pattern
commands, OUTPut0); the other commands follow public drivers of the 81133A/81134A family (the
Lab::Measurement Agilent81134A module and its programming-guide examples) and are marked
UNVERIFIED where no source was found. The chip is driven from channel 1's normal output
(``:OUTPut1:POSitive``); ``:OUTPut:CENTral`` connects or disconnects all channels at once and is
the first thing switched off.

Modes (``:FUNCtion:MODE1``): PULSe (width at a repetition frequency), SQUare and DATA (user
pattern, one bit per clock period; the clock ``:FREQuency`` is the bit rate, output divider 1).
A PRBS is generated here and sent as a user pattern through the documented pattern commands
(Prog. Guide p.27-29), rather than through the instrument's PRBS mode, whose commands could not be
checked against the manual.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Choice, InstrumentError, Range, ScpiInstrument, Setting, number_text

# x^order + x^tap + 1, the test-pattern polynomials of ITU-T O.150; 2^15 - 1 is the longest
# whose 128-bit-aligned repetition fits the 12 Mbit pattern memory (Prog. Guide p.29)
PRBS_TAPS = {7: 6, 9: 5, 10: 7, 11: 9, 15: 14}
SHORT_PATTERN = (32, 8192, 32)  # :DIGital:PATTern - min, max, step in bits (Prog. Guide p.27)
LONG_PATTERN_STEP = 128  # :DIGital:PATTern:LDATa - 128 bit steps (Prog. Guide p.29)


def prbs_bits(order: int) -> np.ndarray:
    """One period (2^order - 1 bits) of the maximal-length PRBS: Fibonacci LFSR from the all-ones
    state, b[k] = b[k - order] xor b[k - tap], computed ``tap`` bits at a time (each chunk depends
    only on earlier ones)."""
    tap = PRBS_TAPS[order]
    bits = np.ones(2**order - 1, dtype=np.uint8)
    for start in range(order, bits.size, tap):
        stop = min(start + tap, bits.size)
        bits[start:stop] = bits[start - order:stop - order] ^ bits[start - tap:stop - tap]
    return bits


def long_pattern_limit(clock: float) -> int:
    """Longest LDATa pattern (bits) at a clock (Prog. Guide p.29): 12 Mbit from 60 MHz,
    6 Mbit from 30 MHz, 3 Mbit below (Mbit = 2^20 bit, UNVERIFIED)."""
    return (12 if clock >= 60e6 else 6 if clock >= 30e6 else 3) << 20


def pattern_block(bits: np.ndarray) -> str:
    """An IEEE 488.2 block of hex digits, the MSB of the first digit being bit 0 (Prog. Guide
    p.28, HEX format)."""
    nibbles = np.asarray(bits, dtype=np.uint8).reshape(-1, 4) @ np.array([8, 4, 2, 1])
    text = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)[nibbles].tobytes().decode("ascii")
    return f"#{len(str(len(text)))}{len(text)}{text}"


class Keysight81134A(ScpiInstrument):
    """81134A channel 1: pulses, square wave, PRBS or a user pattern into 50 ohm.

    Model limits: clock 15 MHz to 3.35 GHz; levels inside -2 V..+3 V with 50 mV..2 V amplitude
    (UNVERIFIED, data-sheet values); pulse width from 100 ps (UNVERIFIED).
    """

    idn_pattern = r"(?i)^(agilent|keysight) technologies,81134A,"  # UNVERIFIED: IDN format
    min_bit_rate = 15e6
    max_bit_rate = 3.35e9
    source_impedance = 50.0        # ohm
    level_resolution = 1e-3        # V, UNVERIFIED
    level_window = (-2.0, 3.0)     # V, UNVERIFIED
    amplitude_range = (0.05, 2.0)  # V peak-peak, UNVERIFIED
    min_width = 100e-12            # s, UNVERIFIED

    frequency = Setting(":FREQuency {}", ":FREQuency?", check=Range(min_bit_rate, max_bit_rate),
                        units="Hz", doc="Clock: bit rate (DATA) or repetition rate.")
    mode = Setting(":FUNCtion:MODE1 {}", ":FUNCtion:MODE1?", kind=str,
                   check=Choice(("PULS", "SQU", "DATA")))
    width = Setting(":WIDTh1 {}", ":WIDTh1?", check=Range(min_width, 1 / min_bit_rate),
                    units="s")
    high_level = Setting(":VOLTage1:HIGH {}", ":VOLTage1:HIGH?", check=Range(*level_window),
                         units="V")
    low_level = Setting(":VOLTage1:LOW {}", ":VOLTage1:LOW?", check=Range(*level_window),
                        units="V")
    positive_output = Setting(":OUTPut1:POSitive {}", ":OUTPut1:POSitive?", kind=bool)
    central_output = Setting(":OUTPut:CENTral {}", ":OUTPut:CENTral?", kind=bool,
                             doc="Connects (ON) or disconnects (OFF) all channels.")

    # -- clock and levels ------------------------------------------------------------------
    def _check_rate(self, name: str, rate: float) -> float:
        return Range(self.min_bit_rate, self.max_bit_rate).check(f"{name} (1/s)", rate)

    def set_bit_rate(self, bit_rate: float) -> None:
        """Clock = bit rate (one bit per period in DATA and PRBS modes)."""
        bit_rate = self._check_rate("bit rate", bit_rate)
        self.write_checked(f":FREQuency {number_text(bit_rate)}")

    def set_levels(self, *, high: float, low: float) -> None:
        """High and low level (V into 50 ohm), set in the order that keeps high above low."""
        for name, value in (("high", high), ("low", low)):
            Range(*self.level_window).check(name, value)
        Range(*self.amplitude_range).check("amplitude (high - low)", high - low)
        if high > self.low_level:  # the new high is valid against the present low
            steps = ((":VOLTage1:HIGH", high), (":VOLTage1:LOW", low))
        else:
            steps = ((":VOLTage1:LOW", low), (":VOLTage1:HIGH", high))
        for command, value in steps:
            self.write_checked(f"{command} {number_text(value)}")

    # -- signal modes ------------------------------------------------------------------------
    def _select(self, mode: str) -> None:
        self.write_checked(":FUNCtion PATTern")  # pulse/pattern operating mode
        self.mode = mode

    def set_prbs(self, order: int) -> None:
        """PRBS 2^order - 1 (NRZ) at the set bit rate, sent as a user pattern."""
        if order not in PRBS_TAPS:
            raise ValueError(f"PRBS order {order!r}: the 81134A's pattern memory takes "
                             f"2^n - 1 patterns for n in {sorted(PRBS_TAPS)}")
        self.set_pattern(prbs_bits(order))

    def set_pattern(self, bits: np.ndarray) -> None:
        """A user pattern of 0/1 bits, repeated (NRZ). The instrument takes 32-bit steps up to
        8192 bits (``:DIGital1:PATTern``) and 128-bit steps beyond (``...:LDATa``), so the
        pattern is sent repeated the fewest times that reach a valid length; the output is the
        same periodic bit stream."""
        bits = np.asarray(bits)
        if bits.ndim != 1 or bits.size == 0 or not np.isin(bits, (0, 1)).all():
            raise ValueError("a pattern is a non-empty 1-D array of 0 and 1")
        _, longest, step = SHORT_PATTERN
        repeats = step // math.gcd(bits.size, step)  # also gives at least 32 bits
        if bits.size * repeats <= longest:
            command = ":DIGital1:PATTern {},HEX"
        else:
            repeats = LONG_PATTERN_STEP // math.gcd(bits.size, LONG_PATTERN_STEP)
            limit = long_pattern_limit(self.frequency)
            if bits.size * repeats > limit:
                raise ValueError(f"a pattern of {bits.size} bits needs {bits.size * repeats} "
                                 f"bits on the 81134A, more than its {limit} at this clock")
            command = ":DIGital1:PATTern:LDATa {}"
        self._select("DATA")
        self.write_checked(command.format(pattern_block(np.tile(bits, repeats))))

    def read_pattern(self) -> np.ndarray:
        """The short pattern as stored (``:DIGital1:PATTern?`` answers hex in a block)."""
        text = self.query(":DIGital1:PATTern?")
        try:
            digits = int(text[1])
            length = int(text[2:2 + digits])
            payload = text[2 + digits:2 + digits + length]
            values = np.array([int(c, 16) for c in payload], dtype=np.uint8)  # <= 2048 digits
        except (ValueError, IndexError):
            raise InstrumentError(self.name, ":DIGital1:PATTern?",
                                  f"not a hex block: {text[:40]!r}") from None
        return ((values[:, None] >> np.array([3, 2, 1, 0], dtype=np.uint8)) & 1).ravel()

    def set_pulse(self, *, period: float, width: float) -> None:
        """Pulse mode: one pulse of ``width`` (s) every ``period`` (s)."""
        frequency = self._check_rate("pulse rate", 1.0 / period)
        if not self.min_width <= width < period:
            raise ValueError(f"width={width:g} s must be at least {self.min_width:g} s and "
                             f"below the period {period:g} s")
        self._select("PULS")
        self.write_checked(f":FREQuency {number_text(frequency)}")
        self.write_checked(f":WIDTh1 {number_text(width)}")

    def set_square(self, frequency: float) -> None:
        """Square wave (50 % duty cycle) at ``frequency`` (Hz)."""
        frequency = self._check_rate("frequency", frequency)
        self._select("SQU")
        self.write_checked(f":FREQuency {number_text(frequency)}")

    # -- output ------------------------------------------------------------------------------
    def output_on(self) -> None:
        """Normal output of channel 1 on, then the channels connected."""
        self.write_checked(":OUTPut1:POSitive ON")
        self.write_checked(":OUTPut:CENTral ON")

    def output_off(self) -> None:
        """All channels disconnected first, then channel 1 off; unchecked (safe-state path)."""
        self.write(":OUTPut:CENTral OFF")
        self.write(":OUTPut1:POSitive OFF")

    def output_enabled(self) -> bool:
        return self.central_output and self.positive_output

    def describe_output(self) -> str:
        state = "ON" if self.output_enabled() else "OFF"
        return f"output {state}, high {self.high_level:g} V, low {self.low_level:g} V"
