"""Keysight 33500B Series waveform generators (33509B-33522B), channel 1, SCPI command set.

Written from the Keysight 33500B Series Operating and Service Guide, "SCPI Programming
Reference": FUNCtion {SINusoid|SQUare|PULSe|PRBS|ARB}, FREQuency, VOLTage, VOLTage:OFFSet,
VOLTage:HIGH/LOW, FUNCtion:SQUare:DCYCle, FUNCtion:PULSe:PERiod/WIDTh/TRANsition[:BOTH],
FUNCtion:PRBS:DATA/BRATe/TRANsition[:BOTH], DATA:VOLatile:CLEar, DATA:ARBitrary:DAC,
FUNCtion:ARBitrary, FUNCtion:ARBitrary:SRATe/FILTer, BURSt:MODE/NCYCles/INTernal:PERiod/STATe,
TRIGger:SOURce, OUTPut, OUTPut:LOAD, SYSTem:ERRor?.

``OUTPut:LOAD 50`` is sent before any level: the bench's drive circuit (common.passive.
DriveCircuit, the guards and the sequences) programs levels as volts into 50 ohm, the EMF behind
the generator's 50 ohm being twice the level. With the load set to high Z the instrument would
take the same number as the EMF, and the chip would get half the current asked for.

Two roles: PatternGenerator (PRBS at the instrument's own orders and rate; a user pattern as an
arbitrary waveform of one DAC sample per bit, the filter off so each bit is held) and
PulseGenerator (pulses with edge control).
"""

from __future__ import annotations

import numpy as np

from .base import InstrumentError, Range, ScpiInstrument, check_ranges, number_text
from .keysight_81134a import level_path

PRBS_ORDERS = (7, 9, 11, 15, 20, 23)  # FUNCtion:PRBS:DATA PN7|PN9|PN11|PN15|PN20|PN23
ARB_NAME = "BENCHPAT"  # the volatile arbitrary waveform a user pattern is loaded as
_DAC_HIGH, _DAC_LOW = 32767, -32767  # DATA:ARBitrary:DAC full scale: HIGH and LOW levels


class Keysight33500B(ScpiInstrument):
    """33500B channel 1: pulses with edge times, square, sine with offset, burst, PRBS and
    user patterns into 50 ohm.

    Limits (33500B data sheet, the 30 MHz models; UNVERIFIED, no data sheet text found):
    pulse, square and sine up to 30 MHz; pulse width >= 16 ns, edge (10-90 %) 8.4 ns to 1 us,
    an edge at most 0.625 of the width (UNVERIFIED rule); PRBS 1 mbit/s to 50 Mbit/s; arbitrary
    waveforms of 8 to 1,000,000 points at up to 250 MSa/s; levels within +-5 V and 1 mV to
    10 V peak to peak into 50 ohm.
    """

    idn_pattern = r"(?i)^(keysight|agilent) technologies,335\d\dB,"
    error_query = "SYSTem:ERRor?"
    min_bit_rate = 1e-3
    max_bit_rate = 50e6     # PRBS FUNCtion:PRBS:BRATe; patterns (ARB) at the same bound
    max_frequency = 30e6
    source_impedance = 50.0
    level_resolution = 1e-3  # V (UNVERIFIED: 4 digits of amplitude resolution)
    level_window = (-5.0, 5.0)
    amplitude_range = (1e-3, 10.0)
    min_width, min_edge, max_edge = 16e-9, 8.4e-9, 1e-6
    arb_points = (8, 1_000_000)

    _bit_rate: float | None = None
    _mode: str = ""

    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        """``high``/``low`` (their window and amplitude), ``bit_rate``/``frequency``,
        ``pattern_bits`` (arbitrary waveform length), ``width``, ``period``, ``edge``, and
        ``prbs_order`` (only its own PN orders)."""
        model = "Keysight 33500B"
        problems = check_ranges(model, request, {
            "high": (*cls.level_window, "V"), "low": (*cls.level_window, "V"),
            "bit_rate": (cls.min_bit_rate, cls.max_bit_rate, "bit/s"),
            "frequency": (1e-6, cls.max_frequency, "Hz"),
            "pattern_bits": (1, cls.arb_points[1], "bits"),
            "width": (cls.min_width, 1e6, "s"), "period": (1 / cls.max_frequency, 1e6, "s"),
            "edge": (cls.min_edge, cls.max_edge, "s")})
        if not problems and "high" in request and "low" in request:
            swing = request["high"] - request["low"]
            if not cls.amplitude_range[0] <= round(swing, 9) <= cls.amplitude_range[1]:
                problems.append(f"amplitude high - low = {swing:g} V is outside the {model}'s "
                                f"range 0.001 to 10 V")
        order = request.get("prbs_order")
        if order is not None and order not in PRBS_ORDERS:
            problems.append(f"prbs_order={order!r}: the {model} generates PN"
                            f"{', PN'.join(map(str, PRBS_ORDERS))} only")
        if not problems and {"width", "period"} <= set(request):
            if request["width"] >= request["period"]:
                problems.append(f"width {request['width']:g} s does not fit the period "
                                f"{request['period']:g} s ({model})")
        return problems

    # -- levels ------------------------------------------------------------------------------
    def read_levels(self) -> tuple[float, float]:
        """(high, low) in V, read from the instrument."""
        return self.query_float("VOLTage:HIGH?"), self.query_float("VOLTage:LOW?")

    def set_levels(self, *, high: float, low: float) -> None:
        """High and low level (V into 50 ohm, OUTPut:LOAD 50 set first); refused before sending
        unless valid, written in an order that keeps every state in between valid."""
        for name, value in (("high", high), ("low", low)):
            Range(*self.level_window).check(name, value)
        Range(*self.amplitude_range).check("amplitude (high - low)", round(high - low, 9))
        self.write_checked("OUTPut:LOAD 50")
        steps = level_path(self.read_levels(), (float(high), float(low)),
                           window=self.level_window, amplitude=self.amplitude_range,
                           resolution=self.level_resolution)
        for node, value in steps:
            self.write_checked(f"VOLTage:{node} {number_text(value)}")

    # -- PatternGenerator ------------------------------------------------------------------
    def set_bit_rate(self, bit_rate: float) -> None:
        """Bit rate of the PRBS or user pattern (applied to the one running now)."""
        self._bit_rate = Range(self.min_bit_rate, self.max_bit_rate).check("bit_rate", bit_rate)
        if self._mode == "PRBS":
            self.write_checked(f"FUNCtion:PRBS:BRATe {number_text(self._bit_rate)}")
        elif self._mode == "ARB":
            self.write_checked(f"FUNCtion:ARBitrary:SRATe {number_text(self._bit_rate)}")

    def _rate(self) -> float:
        if self._bit_rate is None:
            raise ValueError("set the bit rate before the pattern")
        return self._bit_rate

    def set_prbs(self, order: int) -> None:
        """The instrument's own PRBS 2^order - 1 at the bit rate, fastest edges."""
        if order not in PRBS_ORDERS:
            raise ValueError(f"PRBS order {order!r}: the 33500B generates "
                             f"PN{', PN'.join(map(str, PRBS_ORDERS))} only")
        rate = self._rate()
        self.write_checked(f"FUNCtion:PRBS:DATA PN{order}")
        self.write_checked(f"FUNCtion:PRBS:BRATe {number_text(rate)}")
        self.write_checked(f"FUNCtion:PRBS:TRANsition:BOTH {number_text(self.min_edge)}")
        self.write_checked("FUNCtion PRBS")
        self._mode = "PRBS"

    def set_pattern(self, bits: np.ndarray) -> None:
        """A user pattern as an arbitrary waveform, one DAC sample per bit (+32767 = HIGH,
        -32767 = LOW) at a sample rate equal to the bit rate, the filter off (each sample
        held); repeated to the 8-point minimum when shorter (the same periodic stream)."""
        bits = np.asarray(bits)
        if bits.ndim != 1 or bits.size == 0 or not np.isin(bits, (0, 1)).all():
            raise ValueError("a pattern is a non-empty 1-D array of 0 and 1")
        bits = np.tile(bits, -(-self.arb_points[0] // bits.size))
        if bits.size > self.arb_points[1]:
            raise ValueError(f"a pattern of {bits.size} bits is longer than the 33500B's "
                             f"{self.arb_points[1]} arbitrary waveform points")
        rate = self._rate()
        values = ",".join(str(_DAC_HIGH) if b else str(_DAC_LOW) for b in bits.tolist())
        self.write_checked("FUNCtion SQUare")  # the volatile memory cannot be cleared in use
        self.write_checked("DATA:VOLatile:CLEar")
        self.write_checked(f"DATA:ARBitrary:DAC {ARB_NAME},{values}")
        self.write_checked(f"FUNCtion:ARBitrary {ARB_NAME}")
        self.write_checked(f"FUNCtion:ARBitrary:SRATe {number_text(rate)}")
        self.write_checked("FUNCtion:ARBitrary:FILTer OFF")
        self.write_checked("FUNCtion ARB")
        self._mode = "ARB"

    # -- PulseGenerator --------------------------------------------------------------------
    def set_pulse(self, *, high: float, low: float, width: float, period: float,
                  edge: float | None = None) -> None:
        """Rectangular pulses, levels in V into 50 ohm, width, period and 10-90 % edge time
        (both edges; None = the fastest), refused before sending when they do not fit."""
        edge = self.min_edge if edge is None else edge
        problems = self.check_plan({"high": high, "low": low, "width": width,
                                    "period": period, "edge": edge})
        if not problems and edge > 0.625 * width:
            problems.append(f"edge {edge:g} s is longer than 0.625 x the width {width:g} s")
        if problems:
            raise ValueError("; ".join(problems))
        self.write_checked("FUNCtion PULSe")
        self.write_checked(f"FUNCtion:PULSe:PERiod {number_text(period)}")
        self.write_checked(f"FUNCtion:PULSe:WIDTh {number_text(width)}")
        self.write_checked(f"FUNCtion:PULSe:TRANsition:BOTH {number_text(edge)}")
        self.set_levels(high=high, low=low)
        self._mode = "PULS"

    # -- other waveforms (driver only, not a role: the guards do not pass them) ------------
    def set_sine(self, *, frequency: float, amplitude: float, offset: float = 0.0) -> None:
        """A sine of ``amplitude`` V peak to peak around ``offset`` V (into 50 ohm)."""
        Range(1e-6, self.max_frequency).check("frequency", frequency)
        Range(*self.amplitude_range).check("amplitude", amplitude)
        Range(*self.level_window).check("offset + amplitude / 2", offset + amplitude / 2)
        Range(*self.level_window).check("offset - amplitude / 2", offset - amplitude / 2)
        self.write_checked("OUTPut:LOAD 50")
        self.write_checked("FUNCtion SINusoid")
        self.write_checked(f"FREQuency {number_text(frequency)}")
        self.write_checked(f"VOLTage {number_text(amplitude)}")
        self.write_checked(f"VOLTage:OFFSet {number_text(offset)}")
        self._mode = "SIN"

    def set_square(self, *, frequency: float, high: float, low: float,
                   duty: float = 50.0) -> None:
        """A square wave between two levels (V into 50 ohm), duty cycle in %."""
        Range(1e-6, self.max_frequency).check("frequency", frequency)
        Range(0.01, 99.99).check("duty", duty)  # UNVERIFIED: the limit depends on frequency
        self.write_checked("FUNCtion SQUare")
        self.write_checked(f"FREQuency {number_text(frequency)}")
        self.write_checked(f"FUNCtion:SQUare:DCYCle {number_text(duty)}")
        self.set_levels(high=high, low=low)
        self._mode = "SQU"

    def set_burst(self, *, cycles: int, period: float) -> None:
        """Triggered bursts of ``cycles`` periods of the present waveform every ``period`` s
        (internal trigger)."""
        if isinstance(cycles, bool) or int(cycles) != cycles or not 1 <= cycles <= 100_000_000:
            raise ValueError(f"cycles={cycles!r} must be a whole number in 1..100000000")
        Range(1e-6, 8000.0).check("period", period)
        self.write_checked("BURSt:MODE TRIGgered")
        self.write_checked(f"BURSt:NCYCles {int(cycles)}")
        self.write_checked("TRIGger:SOURce IMMediate")
        self.write_checked(f"BURSt:INTernal:PERiod {number_text(period)}")
        self.write_checked("BURSt:STATe ON")

    # -- output --------------------------------------------------------------------------------
    def output_on(self) -> None:
        """Output on, once the load setting is 50 ohm (the levels' meaning; see the module)."""
        load = self.query("OUTPut:LOAD?").strip()
        if float(load) != 50.0:
            raise InstrumentError(self.name, "OUTPut:LOAD?",
                                  f"the load setting is {load} ohm, not 50: set the levels first")
        self.write_checked("OUTPut ON")

    def output_off(self) -> None:
        """Unchecked, so that it also works on the way out of an error."""
        self.write("OUTPut OFF")

    def output_enabled(self) -> bool:
        return self.query("OUTPut?").strip() in ("1", "ON")

    def read_source(self) -> tuple[str, float]:
        """("VOLT", the high level in V into 50 ohm), read from the instrument."""
        return "VOLT", self.read_levels()[0]

    def describe_output(self) -> str:
        high, low = self.read_levels()
        return (f"output {'ON' if self.output_enabled() else 'OFF'}, "
                f"{self.query('FUNCtion?').strip()}, high {high:g} V, low {low:g} V, "
                f"load {self.query('OUTPut:LOAD?').strip()} ohm")

    def settings(self) -> dict:
        high, low = self.read_levels()
        return {"output": self.output_enabled(), "function": self.query("FUNCtion?").strip(),
                "high": high, "low": low, "load": self.query_float("OUTPut:LOAD?"),
                "frequency": self.query_float("FREQuency?")}
