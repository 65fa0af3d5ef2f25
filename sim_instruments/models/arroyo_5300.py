"""Simulated Arroyo Instruments 5300-series TECSource, at the pyserial layer.

Written from the Arroyo Computer Interfacing Manual's command set as Arroyo's own published
Python interface (github.com/ArroyoInst/arroyo_tec) and independent drivers use it: ASCII
lines ended by CR, LF or both, case-insensitive, optional lowercase letters of a mnemonic may be
left out (``TEC:OUTput``, ``TEC:LIMit:THI``, ``TEC:TOLerance``); answers are bare numbers in the
instrument's units (degrees C, A, s) ended by CR LF; a command is not acknowledged; an unknown
query is not answered. Temperatures on this instrument are in degrees C; the stage beneath it is
simulated in K (sim_instruments/stage.py).

Refused (an error is queued, nothing changes), as the manual says a TECSource refuses them: a
set-point outside the programmed temperature limits, a low limit above the high one (or the
reverse), a current limit beyond the model's, a tolerance outside 0.01-10 C or a time window
outside 0.1-50 s. With the stage beyond a temperature limit while the output is on, the output
goes off (the limit's purpose). The error codes and texts below are this simulation's own
(UNVERIFIED against the manual's error table); ``ERR?`` answers the codes, ``ERRSTR?`` codes and
texts, both ``0`` when there is none, and reading clears the list.
"""

from __future__ import annotations

import re

from ..serial_sim import SerialModel
from ..stage import ThermalStage

ZERO_C = 273.15
MAX_CURRENT = 5.0  # A (a 5305; the 5310 and 5320 carry more)
TEMPERATURE_RANGE = (-99.0, 250.0)  # C, what the set-point and limits accept at most
ERRORS = {
    100: "Command not found",
    201: "Value out of range",
    202: "Set-point outside the temperature limits",
    203: "Invalid parameter",
}
# mnemonic -> (short form, long form)
_MNEMONICS = {"TEC": ("TEC", "TEC"), "T": ("T", "T"), "SET": ("SET", "SET"),
              "OUT": ("OUT", "OUTPUT"), "LIM": ("LIM", "LIMIT"), "THI": ("THI", "THI"),
              "TLO": ("TLO", "TLO"), "ITE": ("ITE", "ITE"), "TOL": ("TOL", "TOLERANCE"),
              "COND": ("COND", "CONDITION")}
_COMMAND = re.compile(r"^\s*([*A-Za-z:]+)(\?)?\s*(.*?)\s*$")


def _mnemonic(word: str) -> str | None:
    word = word.upper()
    for name, (short, long) in _MNEMONICS.items():
        if long.startswith(word) and len(word) >= len(short):
            return name
    return None


class Arroyo5300Model(SerialModel):
    """The TECSource: set-point, limits, tolerance and output over the world's thermal stage."""

    TERMINATOR = b"\n"  # the driver ends with CR LF; the CR is stripped with the line
    RESPONSE_TERMINATOR = b"\r\n"
    IDN = "Arroyo Instruments,5305 TECSource,SIM0001,1.0"
    INITIAL_STATE = {"output": bool, "setpoint": (1.0, 600.0), "temperature": (1.0, 600.0)}

    def __init__(self, sim, world):
        super().__init__(sim, world)
        room = world.chip_params.ambient_temperature
        self.stage = ThermalStage(world.stage_params, room, world.time())
        world.stage = self.stage
        self.high, self.low = 100.0, 0.0  # C, temperature limits
        self.errors: list[int] = []

    def start(self, state: dict) -> None:
        now = self.world.time()
        if "temperature" in state:
            self.stage.value = float(state["temperature"])
        if "setpoint" in state:
            self.stage.control(now, setpoint=float(state["setpoint"]))
        if state.get("output"):
            self.stage.control(now, enabled=True)

    def output_enabled(self) -> bool:
        return self.stage.enabled

    # -- the command set --------------------------------------------------------------------
    def handle_line(self, text: str) -> str | None:
        match = _COMMAND.match(text)
        if not match:
            return self._error(100)
        header, query, argument = match.group(1), bool(match.group(2)), match.group(3)
        if header.upper() == "*IDN" and query:
            return self.IDN
        if header.upper() in ("ERR", "ERRSTR") and query:
            codes, self.errors = self.errors, []
            if not codes:
                return "0"
            if header.upper() == "ERR":
                return ",".join(str(c) for c in codes)
            return ",".join(f'{c},"{ERRORS[c]}"' for c in codes)
        words = [_mnemonic(w) for w in header.split(":")]
        if None in words or words[:1] != ["TEC"]:
            return None if query else self._error(100)
        path = ":".join(words[1:])
        now = self.world.time()
        self._watch_limits(now)
        stage = self.stage
        if query:
            answers = {
                "T": lambda: stage.temperature(now) - ZERO_C,
                "SET:T": lambda: stage.setpoint - ZERO_C,
                "OUT": lambda: int(stage.enabled),
                "LIM:THI": lambda: self.high, "LIM:TLO": lambda: self.low,
                "LIM:ITE": lambda: stage.current_limit,
                "ITE": lambda: stage.current(now),
                "TOL": lambda: f"{stage.tolerance:.3f},{stage.window:.3f}",
                "COND": lambda: self._condition(now),
            }
            answer = answers.get(path)
            if answer is None:
                return None
            value = answer()
            return value if isinstance(value, str) else (
                str(value) if isinstance(value, int) else f"{value:.4f}")
        return self._set(path, argument, now)

    def _set(self, path: str, argument: str, now: float) -> None:
        try:
            values = [float(v) for v in argument.split(",")] if argument else []
        except ValueError:
            return self._error(203)
        if path == "TOL":
            if len(values) != 2:
                return self._error(203)
            tolerance, window = values
            if not (0.01 <= tolerance <= 10.0 and 0.1 <= window <= 50.0):
                return self._error(201)
            self.stage.control(now, tolerance=tolerance, window=window)
            return None
        if len(values) != 1:
            return self._error(203)
        value = values[0]
        if path == "OUT":
            if value not in (0.0, 1.0):
                return self._error(203)
            self.stage.control(now, enabled=value == 1.0)
        elif path == "T":
            if not self.low <= value <= self.high:
                return self._error(202)
            self.stage.control(now, setpoint=value + ZERO_C)
        elif path in ("LIM:THI", "LIM:TLO"):
            high, low = (value, self.low) if path == "LIM:THI" else (self.high, value)
            if not (TEMPERATURE_RANGE[0] <= value <= TEMPERATURE_RANGE[1] and low < high):
                return self._error(201)
            self.high, self.low = high, low
        elif path == "LIM:ITE":
            if not 0.0 <= value <= MAX_CURRENT:
                return self._error(201)
            self.stage.control(now, current_limit=value)
        else:
            return self._error(100)
        return None

    def _watch_limits(self, now: float) -> None:
        """The output goes off when the stage is beyond a temperature limit."""
        celsius = self.stage.temperature(now) - ZERO_C
        if self.stage.enabled and not self.low <= celsius <= self.high:
            self.stage.control(now, enabled=False)

    def _condition(self, now: float) -> int:
        """TEC:COND? bits: 0 current limit, 3 high and 4 low temperature limit, 9 in
        tolerance, 10 output on."""
        stage, celsius = self.stage, self.stage.temperature(now) - ZERO_C
        bits = 0
        if stage.enabled and abs(stage.demand(stage.value)) >= stage.limit():
            bits |= 1
        if celsius > self.high:
            bits |= 1 << 3
        if celsius < self.low:
            bits |= 1 << 4
        if stage.in_tolerance(now):
            bits |= 1 << 9
        if stage.enabled:
            bits |= 1 << 10
        return bits

    def _error(self, code: int) -> None:
        self.errors.append(code)
        return None
