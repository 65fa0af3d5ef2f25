"""Simulated Newport SMC100CC/PP single-axis controllers on one RS-232 daisy chain (SMC100CC &
SMC100PP User's Manual, ch. 6 "Controller command set" and the state diagram of ch. 3).

One model answers for every controller on the chain (addresses 1 to ``controllers``): the
message ``<address><command><value>`` (blanks ignored, case-insensitive, CR LF ending it) goes
to that controller; a message to an address with no controller is not answered. Each
controller runs the manual's state machine: NOT REFERENCED (0A after power-up) -> OR -> HOMING
(1E) -> READY (32) -> PA/PR -> MOVING (28) -> READY (33); a command not allowed in the present
state is refused and its error letter kept for ``TE`` (H: NOT REFERENCED, L: HOMING, M: MOVING,
K: READY); a target beyond the software limits is refused (C for PA, G for PR). Positions follow
a trapezoidal profile (velocity VA, acceleration AC) in time: ``world.clock`` when the simulated
world carries one, else the wall clock. Homing moves from where the stage was found to 0.
Each controller's position is what the coupling model reads (``axis_position``, m).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

from ..serial_sim import SerialModel

STAGE = "TRA12CC"  # the stage identifier answered by ID? (UNVERIFIED format)
VERSION = "SMC_CC - v2.0.0"  # the VE answer's text (UNVERIFIED format)
LIMITS_MM = (-12.5, 12.5)  # software limits SL/SR (stage dependent; UNVERIFIED values)
VELOCITY, ACCELERATION = 2.0, 80.0  # mm/s, mm/s^2: this simulation's VA and AC defaults
HOMING_SETTLE = 0.01  # s the home search takes beyond the travel back to 0
_MESSAGE = re.compile(r"^(\d{1,2})([A-Z]{2})(.*)$")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
NOT_REFERENCED = ("0A", "0B", "0C", "0D", "0E", "0F", "10", "11")
READY = ("32", "33", "34", "35")


@dataclass
class _Move:
    """A trapezoidal move from ``start`` to ``target`` (mm) begun at ``began`` (s)."""

    start: float
    target: float
    began: float
    velocity: float
    acceleration: float

    def duration(self) -> float:
        d, v, a = abs(self.target - self.start), self.velocity, self.acceleration
        return 2 * math.sqrt(d / a) if d < v * v / a else d / v + v / a

    def position(self, now: float) -> float:
        d, v, a = abs(self.target - self.start), self.velocity, self.acceleration
        t = min(max(now - self.began, 0.0), self.duration())
        if d < v * v / a:  # triangular: accelerate for half the time, then brake
            half = self.duration() / 2
            s = 0.5 * a * t * t if t <= half else d - 0.5 * a * (2 * half - t) ** 2
        else:
            ramp = v / a
            if t <= ramp:
                s = 0.5 * a * t * t
            elif t <= self.duration() - ramp:
                s = 0.5 * v * ramp + v * (t - ramp)
            else:
                s = d - 0.5 * a * (self.duration() - t) ** 2
        return self.start + math.copysign(min(s, d), self.target - self.start)


@dataclass
class _Controller:
    state: str = "0A"
    position: float = 0.0  # mm, where the last move ended (or the stage was found)
    move: _Move | None = None
    homing: bool = False
    error: str = "@"
    velocity: float = VELOCITY
    acceleration: float = ACCELERATION
    limits: tuple[float, float] = field(default=LIMITS_MM)


class NewportSMC100Model(SerialModel):
    """The controllers of one daisy chain (see the module docstring)."""

    TERMINATOR = b"\r\n"
    RESPONSE_TERMINATOR = b"\r\n"
    INITIAL_STATE = {"controllers": (1, 31), "referenced": bool,
                     "position": ("+-", LIMITS_MM[1]), "velocity": (0.0, 1e3),
                     "acceleration": (0.0, 1e5)}  # position mm, velocity mm/s, mm/s^2

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.controllers = {address: _Controller() for address in (1, 2, 3)}
        world.stage = self

    @classmethod
    def _check_state(cls, where, state):
        count = state.get("controllers", 3)
        if not float(count).is_integer():
            raise ValueError(f"{where}.controllers must be a whole number, got {count!r}")

    def start(self, state: dict) -> None:
        count = int(state.get("controllers", len(self.controllers)))
        self.controllers = {a: _Controller() for a in range(1, count + 1)}
        for unit in self.controllers.values():
            unit.position = float(state.get("position", 0.0))
            unit.velocity = float(state.get("velocity", VELOCITY))
            unit.acceleration = float(state.get("acceleration", ACCELERATION))
            if state.get("referenced"):
                unit.state = "32"

    def _now(self) -> float:
        clock = getattr(self.world, "clock", None)
        return clock.now() if clock is not None else time.monotonic()

    def _update(self, unit: _Controller) -> None:
        """Finish a move or a home search whose time is up."""
        if unit.move is not None and self._now() >= unit.move.began + unit.move.duration():
            unit.position, unit.move = unit.move.target, None
            unit.state = "32" if unit.homing else "33"
            unit.homing = False

    def _where(self, unit: _Controller) -> float:
        self._update(unit)
        return unit.move.position(self._now()) if unit.move is not None else unit.position

    def axis_position(self, address: int) -> float:
        """Where the stage of controller ``address`` is now (m); 0 without a controller."""
        unit = self.controllers.get(address)
        return 0.0 if unit is None else self._where(unit) * 1e-3

    # -- messages ----------------------------------------------------------------------------
    def handle_line(self, text: str) -> str | None:
        m = _MESSAGE.match(text.replace(" ", "").upper())
        if m is None:
            return None  # no address: no controller of the chain takes it
        address, command, value = int(m.group(1)), m.group(2), m.group(3)
        unit = self.controllers.get(address)
        if unit is None:
            return None
        self._update(unit)
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            unit.error = "A"  # unknown message code
            return None
        answer = handler(unit, value)
        return None if answer is None else f"{address}{command}{answer}"

    def _refuse(self, unit: _Controller) -> None:
        """The letter of "command not allowed in <state>" (TE)."""
        if unit.state in NOT_REFERENCED:
            unit.error = "H"
        elif unit.state == "1E":
            unit.error = "L"
        elif unit.state == "28":
            unit.error = "M"
        else:
            unit.error = "K"

    def _number(self, unit: _Controller, value: str) -> float | None:
        if not _NUMBER.match(value):
            unit.error = "C"  # parameter missing or out of range
            return None
        return float(value)

    def _cmd_OR(self, unit, value):
        """Execute home search: NOT REFERENCED only; ends READY at 0."""
        if unit.state not in NOT_REFERENCED:
            self._refuse(unit)
            return None
        start = unit.position
        unit.move = _Move(start, 0.0, self._now() + HOMING_SETTLE, unit.velocity,
                          unit.acceleration)
        unit.state, unit.homing = "1E", True
        return None

    def _start(self, unit, target: float, error: str) -> None:
        if unit.state not in READY:
            self._refuse(unit)
            return
        low, high = unit.limits
        if not low <= target <= high:
            unit.error = error
            return
        unit.move = _Move(unit.position, target, self._now(), unit.velocity, unit.acceleration)
        unit.state = "28"

    def _cmd_PA(self, unit, value):
        """Move absolute (mm); ``PA?`` gives the target."""
        if value == "?":
            return f"{unit.move.target if unit.move else unit.position:.6f}"
        target = self._number(unit, value)
        if target is not None:
            self._start(unit, target, "C")
        return None

    def _cmd_PR(self, unit, value):
        """Move relative (mm) from the present position."""
        step = self._number(unit, value)
        if step is not None:
            self._start(unit, self._where(unit) + step, "G")
        return None

    def _cmd_TP(self, unit, value):
        """Tell current position (mm)."""
        return f"{self._where(unit):.6f}"

    def _cmd_TS(self, unit, value):
        """Positioner error (4 hex digits, none simulated) and controller state."""
        return f"0000{unit.state}"

    def _cmd_TE(self, unit, value):
        """Last command error letter, then cleared."""
        error, unit.error = unit.error, "@"
        return error

    def _cmd_VA(self, unit, value):
        """Velocity (mm/s): ``VA?`` or set, in READY or NOT REFERENCED."""
        if value == "?":
            return f"{unit.velocity:g}"
        velocity = self._number(unit, value)
        if velocity is not None:
            if not 1e-6 < velocity <= 1e12:
                unit.error = "C"
            else:
                unit.velocity = velocity
        return None

    def _cmd_SL(self, unit, value):
        """Negative software limit (mm), query only here."""
        return f"{unit.limits[0]:g}" if value == "?" else self._refuse(unit)

    def _cmd_SR(self, unit, value):
        """Positive software limit (mm), query only here."""
        return f"{unit.limits[1]:g}" if value == "?" else self._refuse(unit)

    def _cmd_ID(self, unit, value):
        """Stage identifier."""
        return STAGE if value == "?" else None

    def _cmd_VE(self, unit, value):
        """Controller revision."""
        return f" {VERSION}"
