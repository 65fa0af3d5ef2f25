"""Keysight (Agilent) 81134A 3.35 GHz pulse pattern generator, SCPI command set.

Sources, in order of authority:
- 81133A/81134A Programming Guide (March 2007): only a few pages were found (DIGital pattern
  commands p.27-29, OUTPut0); cited as "Prog. Guide".
- The 81100-family Programming Guides (81101A, 81104A, 81110A, 81130A), whose pulse-generator
  subsystems the 81134A shares: ``[:SOURce]:PULSe:WIDTh[1|2]`` (pulse width),
  ``[:SOURce]:VOLTage[1|2]:HIGH|LOW`` (levels), ``[:SOURce]:FREQuency``, ``:OUTPut[1|2]``.
  Cited as "81100 family"; confirmed for the family, not on an 81134A page.
- Public drivers of the 81133A/81134A (Lab::Measurement's Agilent81134A): facts only; a command
  known only from there is marked UNVERIFIED.
No query is sent whose existence rests on a guess: the pulse width is remembered, not read back
(``:WIDTh1?`` appears in no manual of the family).

The chip is driven from channel 1's normal output (``:OUTPut1:POSitive``); ``:OUTPut:CENTral``
connects or disconnects all channels at once and is the first thing switched off.
Modes (``:FUNCtion:MODE1``): PULSe (width at a repetition frequency), SQUare and DATA (user
pattern, one bit per clock period; the clock ``:FREQuency`` is the bit rate, output divider 1).
A PRBS is generated here and sent as a user pattern through the documented pattern commands
(Prog. Guide p.27-29), rather than through the instrument's PRBS mode, whose commands could not be
checked against the manual.

Levels: every state the output passes through while levels change (one level written at a time)
lies inside the level window with an amplitude inside the amplitude range (see ``level_path``),
so the instrument never refuses an intermediate pair.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Choice, InstrumentError, Range, ScpiInstrument, Setting, check_ranges, number_text

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


def level_path(present: tuple[float, float], target: tuple[float, float], *,
               window: tuple[float, float], amplitude: tuple[float, float],
               resolution: float) -> list[tuple[str, float]]:
    """Writes, one level at a time, that take the output from ``present`` (high, low) to
    ``target`` with every state in between inside ``window`` and with high - low inside
    ``amplitude``: ``[("HIGH", v), ("LOW", v), ...]``. Where neither direct order works (a
    move wider than the largest amplitude), the levels walk there together in valid steps on the
    ``resolution`` grid. ValueError when the target itself is not a valid state."""
    (w_low, w_high), (a_min, a_max) = window, amplitude
    tol = 1e-9 * max(1.0, abs(w_low), abs(w_high))

    def valid(high: float, low: float) -> bool:
        return (w_low - tol <= low and high <= w_high + tol
                and a_min - tol <= high - low <= a_max + tol)

    if not valid(*target):
        raise ValueError(f"levels high={target[0]:g} V, low={target[1]:g} V: the window is "
                         f"{w_low:g} to {w_high:g} V and the amplitude {a_min:g} to {a_max:g} V")

    def inward(value: float, low: float, high: float) -> float:
        """``value`` moved onto the resolution grid without leaving [low, high]."""
        grid = round(value / resolution) * resolution
        if grid > high + tol:
            grid -= resolution
        elif grid < low - tol:
            grid += resolution
        return grid

    high, low = present
    steps: list[tuple[str, float]] = []
    for _ in range(1000):
        if (high, low) == tuple(target):
            return steps
        if high != target[0] and valid(target[0], low):
            steps.append(("HIGH", target[0]))
            high = target[0]
        elif low != target[1] and valid(high, target[1]):
            steps.append(("LOW", target[1]))
            low = target[1]
        elif target[0] > high:  # walking up: raise high as far as the present low allows
            lo, hi = max(low + a_min, w_low), min(low + a_max, w_high)
            high = inward(min(target[0], hi), lo, hi)
            steps.append(("HIGH", high))
            lo, hi = max(high - a_max, w_low), high - a_min
            low = inward(min(target[1], hi), lo, hi)
            steps.append(("LOW", low))
        else:  # walking down: lower low as far as the present high allows
            lo, hi = max(high - a_max, w_low), min(high - a_min, w_high)
            low = inward(max(target[1], lo), lo, hi)
            steps.append(("LOW", low))
            lo, hi = low + a_min, min(low + a_max, w_high)
            high = inward(max(target[0], lo), lo, hi)
            steps.append(("HIGH", high))
    raise ValueError(f"no valid way from {present} to {target}")


class Keysight81134A(ScpiInstrument):
    """81134A channel 1: pulses, square wave, PRBS or a user pattern into 50 ohm.

    Model limits (81133A/81134A data sheet, 5988-5549EN; not found in the searchable manuals,
    so UNVERIFIED): clock 15 MHz to 3.35 GHz; levels inside -2 V..+3 V with 50 mV..2 V
    amplitude, level resolution 5 mV; pulse width from 100 ps.
    """

    idn_pattern = r"(?i)^(agilent|keysight) technologies,81134A,"  # UNVERIFIED: IDN format
    min_bit_rate = 15e6
    max_bit_rate = 3.35e9
    source_impedance = 50.0        # ohm
    level_resolution = 5e-3        # V, UNVERIFIED (data sheet, from memory)
    level_window = (-2.0, 3.0)     # V, UNVERIFIED
    amplitude_range = (0.05, 2.0)  # V peak-peak, UNVERIFIED
    min_width = 100e-12            # s, UNVERIFIED
    max_pattern_bits = 12 << 20    # :DIGital:PATTern:LDATa at >= 60 MHz (Prog. Guide p.29)

    _width: float | None = None    # the width set_pulse programmed (not readable, see above)

    # [:SOURce]:FREQuency (81100 family; the 81134A's clock is one frequency for both channels)
    frequency = Setting(":FREQuency {}", ":FREQuency?", check=Range(min_bit_rate, max_bit_rate),
                        units="Hz", doc="Clock: bit rate (DATA) or repetition rate.")
    # UNVERIFIED: :FUNCtion:MODE1 (Lab::Measurement's 81134A driver; no manual page found)
    mode = Setting(":FUNCtion:MODE1 {}", ":FUNCtion:MODE1?", kind=str,
                   check=Choice(("PULS", "SQU", "DATA")))
    # [:SOURce]:VOLTage[1|2][:LEVel][:IMMediate]:HIGH|LOW (81100 family)
    high_level = Setting(":VOLTage1:HIGH {}", ":VOLTage1:HIGH?", check=Range(*level_window),
                         units="V")
    low_level = Setting(":VOLTage1:LOW {}", ":VOLTage1:LOW?", check=Range(*level_window),
                        units="V")
    # :OUTPut[1|2][:POSitive][:STATe] (81100 family); :OUTPut:CENTral UNVERIFIED (Lab::Measurement)
    positive_output = Setting(":OUTPut1:POSitive {}", ":OUTPut1:POSitive?", kind=bool)
    central_output = Setting(":OUTPut:CENTral {}", ":OUTPut:CENTral?", kind=bool,
                             doc="Connects (ON) or disconnects (OFF) all channels.")

    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        """The model's ranges for ``high``, ``low`` (and their amplitude), ``bit_rate`` or
        ``frequency``, ``pattern_bits``, ``width`` and ``period``."""
        model = "81134A"
        problems = check_ranges(model, request, {
            "high": (*cls.level_window, "V"), "low": (*cls.level_window, "V"),
            "bit_rate": (cls.min_bit_rate, cls.max_bit_rate, "bit/s"),
            "frequency": (cls.min_bit_rate, cls.max_bit_rate, "Hz"),
            "pattern_bits": (1, cls.max_pattern_bits, "bits"),
            "width": (cls.min_width, 1 / cls.min_bit_rate, "s"),
            "period": (1 / cls.max_bit_rate, 1 / cls.min_bit_rate, "s")})
        high, low = request.get("high"), request.get("low")
        if not problems and high is not None and low is not None:
            problems += check_ranges(model, {"amplitude": round(high - low, 9)},
                                     {"amplitude": (*cls.amplitude_range, "V")})
        width, period = request.get("width"), request.get("period")
        if not problems and width is not None and period is not None and not width < period:
            problems.append(f"width={width:g} s is not below period={period:g} s ({model})")
        return problems

    # -- clock and levels ------------------------------------------------------------------
    def _check_rate(self, name: str, rate: float) -> float:
        return Range(self.min_bit_rate, self.max_bit_rate).check(f"{name} (1/s)", rate)

    def set_bit_rate(self, bit_rate: float) -> None:
        """Clock = bit rate (one bit per period in DATA and PRBS modes)."""
        bit_rate = self._check_rate("bit rate", bit_rate)
        self.write_checked(f":FREQuency {number_text(bit_rate)}")

    def read_levels(self) -> tuple[float, float]:
        """(high, low) in V into 50 ohm, read from the instrument."""
        return self.high_level, self.low_level

    def set_levels(self, *, high: float, low: float) -> None:
        """High and low level (V into 50 ohm). Refused before anything is sent unless both are
        inside the window with an amplitude in range; written one at a time in an order (with
        intermediate pairs where needed) that keeps every state in between valid too, starting
        from the levels read back from the instrument."""
        for name, value in (("high", high), ("low", low)):
            Range(*self.level_window).check(name, value)
        # to the nanovolt: 3.0 - 2.95 is 0.04999999999999982 in binary floating point
        Range(*self.amplitude_range).check("amplitude (high - low)", round(high - low, 9))
        steps = level_path(self.read_levels(), (float(high), float(low)),
                           window=self.level_window, amplitude=self.amplitude_range,
                           resolution=self.level_resolution)
        for node, value in steps:
            self.write_checked(f":VOLTage1:{node} {number_text(value)}")

    # -- signal modes ------------------------------------------------------------------------
    def _select(self, mode: str) -> None:
        # UNVERIFIED: :FUNCtion PATTern, the pulse/pattern operating mode (Lab::Measurement)
        self.write_checked(":FUNCtion PATTern")
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
        """Pulse mode: one pulse of ``width`` (s) every ``period`` (s); the width through
        ``[:SOURce]:PULSe:WIDTh1`` (81100 family, not confirmed on an 81134A page)."""
        frequency = self._check_rate("pulse rate", 1.0 / period)
        if not self.min_width <= width < period:
            raise ValueError(f"width={width:g} s must be at least {self.min_width:g} s and "
                             f"below the period {period:g} s")
        self._select("PULS")
        self.write_checked(f":FREQuency {number_text(frequency)}")
        self.write_checked(f":PULSe:WIDTh1 {number_text(width)}")
        self._width = float(width)

    @property
    def width(self) -> float | None:
        """The pulse width set_pulse programmed (s); None before. Remembered, not queried."""
        return self._width

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

    def read_source(self) -> tuple[str, float]:
        """("VOLT", the high level in V into 50 ohm): the peak the output drives; read from the
        instrument (``read_levels`` gives both levels)."""
        return "VOLT", self.high_level

    def describe_output(self) -> str:
        """Channel and central output states and both levels, read from the instrument."""
        central, channel = self.central_output, self.positive_output
        high, low = self.read_levels()
        state = "ON" if central and channel else "OFF"
        return (f"output {state} (central {'ON' if central else 'OFF'}, channel 1 "
                f"{'ON' if channel else 'OFF'}), high {high:g} V, low {low:g} V")

    def settings(self) -> dict:
        out = super().settings()
        out["width"] = self._width  # remembered: the instrument is not asked (see the module)
        return out
