"""Arroyo Instruments 5300-series TECSource (5305, 5310, ...) over a serial line, through pyserial.

Commands from the Arroyo "Computer Interfacing Manual" (TEC command set), cross-checked against
Arroyo's own published Python interface (github.com/ArroyoInst/arroyo_tec: line settings
38400 8N1, commands ended by CR LF, ``*IDN?``, ``TEC:T``/``TEC:T?``/``TEC:SET:T?``,
``TEC:OUT``/``TEC:OUT?``, ``TEC:LIM:THI``/``TLO``/``ITE``, ``TEC:TOL <C>,<s>`` with 0.01-10 C
and 0.1-50 s, ``TEC:ITE?``) and independent drivers (``TEC:COND?``: bit 9 in tolerance, bit 10
output on). Temperatures are degrees C on the wire and K on this side; set-points and limits
are sent to 1 uK so that the K -> C conversion never pushes a checked value past a limit.
UNVERIFIED (no manual text at hand): ``ERRSTR?`` as the error query and its ``0`` for no error,
the 5305's 5 A and the -99..250 C set-point range (the sensor narrows it), the answers' CR LF.
"""

from __future__ import annotations

import re
from typing import Any

from .base import InstrumentError, Range, ScpiInstrument, check_ranges

ZERO_C = 273.15
IN_TOLERANCE = 1 << 9  # TEC:COND? bits
OUTPUT_ON = 1 << 10


def _celsius(kelvin: float) -> str:
    """Degrees C as sent: to 1 uK, without a trailing ``.0``."""
    text = repr(round(float(kelvin) - ZERO_C, 6))
    return text[:-2] if text.endswith(".0") else text


class Arroyo5300(ScpiInstrument):
    """A TECSource holding the chip's stage: drivers.roles.TemperatureController and Output."""

    transport = "serial"
    serial_settings = {"baudrate": 38400, "bytesize": 8, "parity": "N", "stopbits": 1,
                       "xonxoff": False, "rtscts": False}
    idn_pattern = r"(?i)arroyo.*\b53\d\d\b"
    write_termination = "\r\n"
    read_termination = "\r\n"
    timeout_s = 2.0
    error_query = "ERRSTR?"
    MAX_CURRENT = 5.0  # A, 5305
    TEMPERATURE = Range(-99.0 + ZERO_C, 250.0 + ZERO_C)  # K
    TOLERANCE = Range(0.01, 10.0)  # K (the manual's C: a difference)
    HOLD = Range(0.1, 50.0)  # s

    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        """``temperature`` (K, a set-point) and ``tec_current`` (A, the TEC current limit)."""
        return check_ranges("Arroyo 5300", request, {
            "temperature": (cls.TEMPERATURE.low, cls.TEMPERATURE.high, "K"),
            "tec_current": (0.0, cls.MAX_CURRENT, "A")})

    # -- identification and errors ----------------------------------------------------------
    def connect(self) -> str:
        """``*IDN?``, the model checked, the error list read (and so emptied); outputs as found."""
        self.idn = self.query("*IDN?")
        if not re.search(self.idn_pattern, self.idn):
            raise InstrumentError(self.name, "*IDN?", f"answered {self.idn!r}, expected an "
                                  f"Arroyo 5300-series TECSource")
        self.errors()
        return self.idn

    def errors(self) -> list[str]:
        """The instrument's error list (``ERRSTR?``, which also clears it); empty for ``0``."""
        answer = self.query(self.error_query).strip()
        return [] if answer in ("0", "") or answer.startswith("0,") else [answer]

    # -- the role --------------------------------------------------------------------------
    def set_limits(self, *, low: float, high: float, current: float) -> None:
        """The instrument's own high/low temperature limits (K) and TEC current limit (A).
        Everything is checked before the first write; the limit that would cross the present
        other one is written second."""
        self.TEMPERATURE.check("low", low)
        self.TEMPERATURE.check("high", high)
        Range(0.0, self.MAX_CURRENT).check("current", current)
        if not low < high:
            raise ValueError(f"low limit {low:g} K must be below the high limit {high:g} K")
        present_high = self.query_float("TEC:LIM:THI?") + ZERO_C
        order = [("TLO", low), ("THI", high)] if low < present_high else \
            [("THI", high), ("TLO", low)]
        for name, value in order:
            self.write_checked(f"TEC:LIM:{name} {_celsius(value)}")
        self.write_checked(f"TEC:LIM:ITE {current!r}")

    def set_temperature(self, temperature: float) -> None:
        """The set-point (K); the instrument refuses one outside its limits (InstrumentError)."""
        self.TEMPERATURE.check("temperature", temperature)
        self.write_checked(f"TEC:T {_celsius(temperature)}")

    def setpoint(self) -> float:
        return self.query_float("TEC:SET:T?") + ZERO_C

    def temperature(self) -> float:
        """The measured stage temperature (K)."""
        return self.query_float("TEC:T?") + ZERO_C

    def tec_current(self) -> float:
        """The TEC current now (A, ``TEC:ITE?``)."""
        return self.query_float("TEC:ITE?")

    def set_tolerance(self, tolerance: float, hold: float) -> None:
        """In tolerance: within +-``tolerance`` (K) of the set-point for ``hold`` seconds."""
        self.TOLERANCE.check("tolerance", tolerance)
        self.HOLD.check("hold", hold)
        self.write_checked(f"TEC:TOL {float(tolerance)!r},{float(hold)!r}")

    def condition(self) -> int:
        return self._exchange("TEC:COND?", self._read, lambda text: int(text.strip()))

    def in_tolerance(self) -> bool:
        return bool(self.condition() & IN_TOLERANCE)

    def output_on(self) -> None:
        self.write_checked("TEC:OUT 1")

    def output_off(self) -> None:
        self.write("TEC:OUT 0")  # unchecked: it must also work on the way out of an error

    def output_enabled(self) -> bool:
        return self._exchange("TEC:OUT?", self._read, lambda text: int(text.strip()) == 1)

    def describe_output(self) -> str:
        state = "ON" if self.output_enabled() else "OFF"
        return (f"output {state}, set-point {self.setpoint() - ZERO_C:.3f} C, stage "
                f"{self.temperature() - ZERO_C:.3f} C, TEC current {self.tec_current():.3f} A")

    def settings(self) -> dict[str, Any]:
        tolerance, hold = (float(v) for v in self.query("TEC:TOL?").split(","))
        return {"setpoint": self.setpoint(), "output": self.output_enabled(),
                "limit_high": self.query_float("TEC:LIM:THI?") + ZERO_C,
                "limit_low": self.query_float("TEC:LIM:TLO?") + ZERO_C,
                "current_limit": self.query_float("TEC:LIM:ITE?"),
                "tolerance": tolerance, "hold": hold}
