"""Newport SMC100CC/PP single-axis motion controllers, one per axis on an RS-232 daisy chain.

Protocol from the SMC100CC & SMC100PP User's Manual (EDH0206En), ch. 6: ASCII messages
``<address><command><value>`` ended by CR LF, no checksum (6.3 "Command syntax"); RS-232 at
57600 baud, 8 data bits, no parity, 1 stop bit, XON/XOFF (ch. 4, "RS-232-C communication").
Commands used: ``OR`` execute home search, ``PA`` move absolute, ``PR`` move relative, ``TP``
tell position, ``TS`` positioner error (4 hex digits) and controller state (2 characters),
``TE`` last command error (a letter, ``@`` none), ``VA?`` velocity, ``ID?`` stage identifier,
``VE`` controller revision. Units on the wire are mm (the stage's); this driver takes m.

Station ``options`` (travel in m, checked before any move is sent)::

    options:
      axes:
        x: {address: 1, travel: [-5.0e-3, 5.0e-3]}
        y: {address: 2, travel: [-5.0e-3, 5.0e-3]}
        z: {address: 3, travel: [-1.0e-3, 1.0e-3]}
"""

from __future__ import annotations

import math
import numbers
import time
from typing import Any

from .base import InstrumentError, ScpiInstrument, plan_check

NOT_REFERENCED = ("0A", "0B", "0C", "0D", "0E", "0F", "10", "11")
HOMING = ("1E", "1F")
MOVING = "28"
READY = ("32", "33", "34", "35")
ERRORS = {  # TE letters (manual, TE command)
    "A": "unknown message code or floating point controller address",
    "B": "controller address not correct", "C": "parameter missing or out of range",
    "D": "command not allowed", "E": "home sequence already started",
    "F": "ESP stage name unknown", "G": "displacement out of limits",
    "H": "command not allowed in NOT REFERENCED state",
    "I": "command not allowed in CONFIGURATION state",
    "J": "command not allowed in DISABLE state", "K": "command not allowed in READY state",
    "L": "command not allowed in HOMING state", "M": "command not allowed in MOVING state",
    "N": "current position out of software limit", "S": "communication time out",
    "U": "error during EEPROM access", "V": "error during command execution",
    "W": "command not allowed for PP version", "X": "command not allowed for CC version"}
POSITIONER_ERRORS = ("negative end of run", "positive end of run", "peak current limit",
                     "RMS current limit", "short circuit detection", "following error",
                     "homing time out", "wrong ESP stage", "DC voltage too low",
                     "80 W output power exceeded")  # TS error bits 0-9
MAX_TRAVEL = 1.0       # m: no stage of the family travels further
HOMING_TIMEOUT = 60.0  # s, a home search over a long stage at its homing velocity
POLL = 0.005           # s between TS polls


def _mm(metres: float) -> str:
    """A position in mm as the controller reads it: fixed point, 1 nm resolution (finer than
    any SMC100 stage's increment), no exponent."""
    text = f"{metres * 1e3:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class NewportSMC100(ScpiInstrument):
    """SMC100CC/PP controllers of a daisy chain as one Positioner (drivers.roles)."""

    transport = "serial"
    serial_settings = {"baudrate": 57600, "bytesize": 8, "parity": "N", "stopbits": 1,
                       "xonxoff": True}
    write_termination = "\r\n"
    read_termination = "\r\n"
    timeout_s = 1.0

    def __init__(self, resource, name: str | None = None, *, axes: dict[str, dict[str, Any]]):
        super().__init__(resource, name)
        self._axes = {axis: (int(spec["address"]), (float(spec["travel"][0]),
                                                    float(spec["travel"][1])))
                      for axis, spec in axes.items()}
        self.axes = tuple(self._axes)
        self.velocity: dict[str, float] = {}  # m/s, read at connect

    # -- options and plan --------------------------------------------------------------------
    @classmethod
    def check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """``axes``: {name: {address: 1-31, travel: [low, high] m}}, addresses distinct;
        returned in the same form (a run file's snapshot is checked again on replay)."""
        unknown = sorted(str(k) for k in options if k != "axes")
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)}; the SMC100 takes axes")
        raw = options.get("axes")
        if not isinstance(raw, dict) or not raw:
            raise ValueError("the SMC100 needs option axes: {name: {address, travel: [low, "
                             "high] m}}")
        axes = {}
        for name, spec in raw.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"axis name {name!r:.30} must be a short identifier (x, y, z)")
            if not isinstance(spec, dict) or set(spec) != {"address", "travel"}:
                raise ValueError(f"axis {name} must give exactly address and travel")
            address = spec["address"]
            if isinstance(address, bool) or not isinstance(address, int) \
                    or not 1 <= address <= 31:
                raise ValueError(f"axis {name} address must be 1-31, got {address!r:.30}")
            travel = spec["travel"]
            if not isinstance(travel, (list, tuple)) or len(travel) != 2 or not all(
                    isinstance(v, numbers.Real) and not isinstance(v, bool)
                    and math.isfinite(v) and abs(v) <= MAX_TRAVEL for v in travel) \
                    or not travel[0] < travel[1]:
                raise ValueError(f"axis {name} travel must be [low, high] m with low < high, "
                                 f"within +-{MAX_TRAVEL:g} m, got {travel!r:.60}")
            axes[name] = {"address": address, "travel": [float(travel[0]), float(travel[1])]}
        addresses = [spec["address"] for spec in axes.values()]
        if len(set(addresses)) != len(addresses):
            raise ValueError(f"two axes share an address: {addresses}")
        return {"axes": axes}

    @plan_check
    def check_plan(cls_or_self, request: dict) -> list[str]:
        """``positions``: {axis: (low, high) m} a step will visit, within each axis's travel
        (a class, knowing no station: only that the axes' ranges are numbers)."""
        positions = request.get("positions")
        if positions is None:
            return []
        if not isinstance(positions, dict):
            return [f"positions={positions!r:.40} is not a mapping of axes (SMC100)"]
        problems = []
        for axis, span in positions.items():
            try:
                low, high = (float(v) for v in span)
            except (TypeError, ValueError):
                problems.append(f"positions[{axis}]={span!r:.40} is not (low, high) (SMC100)")
                continue
            if isinstance(cls_or_self, type):
                continue
            if axis not in cls_or_self._axes:
                problems.append(f"axis {axis!r} is not one of {', '.join(cls_or_self.axes)}")
                continue
            t_low, t_high = cls_or_self.travel(axis)
            if not (t_low <= low <= high <= t_high):
                problems.append(f"positions[{axis}] {low:g} to {high:g} m is outside its "
                                f"travel {t_low:g} to {t_high:g} m (SMC100)")
        return problems

    def travel(self, axis: str) -> tuple[float, float]:
        return self._axes[axis][1]

    # -- the protocol ------------------------------------------------------------------------
    def _ask(self, axis: str, command: str) -> str:
        """``<address><command>`` and its answer's value (the echo of address and command
        removed); a reply to another address or command is a damaged answer (retried)."""
        prefix = f"{self._axes[axis][0]}{command.rstrip('?')}"

        def value(text: str) -> str:
            text = text.strip()
            if not text.upper().startswith(prefix.upper()):
                raise ValueError(f"answer {text!r} is not to {prefix}")
            return text[len(prefix):].strip()
        return self._exchange(f"{self._axes[axis][0]}{command}", self._read, value)

    def _send(self, axis: str, command: str) -> None:
        self.write(f"{self._axes[axis][0]}{command}")

    def _error(self, axis: str) -> str | None:
        """The controller's last command error (``TE``), None when it is ``@``."""
        letter = self._ask(axis, "TE")
        return None if letter == "@" else f"{letter}: {ERRORS.get(letter, 'unknown error')}"

    def _state(self, axis: str) -> str:
        """The controller state (``TS``); InstrumentError on a positioner error bit."""
        answer = self._ask(axis, "TS")
        if len(answer) != 6:
            raise InstrumentError(self.name, f"{self._axes[axis][0]}TS",
                                  f"axis {axis}: answer {answer!r} is not 4 + 2 characters")
        bits = int(answer[:4], 16)
        faults = [text for k, text in enumerate(POSITIONER_ERRORS) if bits >> k & 1]
        if faults:
            raise InstrumentError(self.name, f"{self._axes[axis][0]}TS",
                                  f"axis {axis}: positioner error {', '.join(faults)}")
        return answer[4:].upper()

    def errors(self) -> list[str]:
        found = []
        for axis in self.axes:
            error = self._error(axis)
            if error:
                found.append(f"axis {axis}: {error}")
        return found

    def connect(self) -> str:
        """Identify each controller (``VE``, ``ID?``), clear its error (``TE``), read its
        velocity (``VA?``). Nothing moves."""
        versions = []
        for axis in self.axes:
            version = self._ask(axis, "VE")
            if "SMC" not in version.upper():
                raise InstrumentError(self.name, f"{self._axes[axis][0]}VE",
                                      f"axis {axis} answered {version!r}, not an SMC100")
            stage = self._ask(axis, "ID?")
            self._error(axis)
            self.velocity[axis] = float(self._ask(axis, "VA?")) * 1e-3
            if not self.velocity[axis] > 0:
                raise InstrumentError(self.name, f"{self._axes[axis][0]}VA?",
                                      f"axis {axis}: velocity {self.velocity[axis]!r}")
            versions.append(f"{axis}: {version} ({stage})")
        self.idn = "Newport SMC100; " + "; ".join(versions)
        return self.idn

    def _wait_ready(self, axes, seconds: float, what: str) -> None:
        """Poll ``TS`` until every axis is READY, for at most twice the expected time plus
        the timeout; a controller that falls back to NOT REFERENCED or DISABLE raises."""
        deadline = time.monotonic() + 2 * seconds + self.timeout_s
        waiting = list(axes)
        while waiting:
            for axis in list(waiting):
                state = self._state(axis)
                if state in READY:
                    waiting.remove(axis)
                elif state not in HOMING and state != MOVING:
                    error = self._error(axis)
                    raise InstrumentError(self.name, f"{self._axes[axis][0]}TS",
                                          f"axis {axis}: {what} ended in state {state}"
                                          f"{'; ' + error if error else ''}")
            if waiting:
                if time.monotonic() > deadline:
                    raise InstrumentError(self.name, "TS", f"{what}: axes {waiting} not READY "
                                          f"within {2 * seconds + self.timeout_s:.3g} s")
                time.sleep(POLL)

    def _checked(self, axis: str, command: str) -> None:
        self._send(axis, command)
        error = self._error(axis)
        if error:
            raise InstrumentError(self.name, f"{self._axes[axis][0]}{command}",
                                  f"axis {axis} refused it: {error}")

    # -- the Positioner role -----------------------------------------------------------------
    def home(self, axes: tuple[str, ...] | None = None) -> None:
        """Home search (``OR``) on each axis not yet referenced, then wait for READY."""
        axes = self.axes if axes is None else tuple(axes)
        for axis in axes:
            if axis not in self._axes:
                raise ValueError(f"axis {axis!r} is not one of {', '.join(self.axes)}")
        started = [axis for axis in axes if self._state(axis) in NOT_REFERENCED]
        for axis in started:
            self._checked(axis, "OR")
        self._wait_ready(started, HOMING_TIMEOUT, "home search")

    def _targets(self, moves: dict[str, float], relative: bool) -> dict[str, float]:
        """Absolute targets (m) of a move, each checked against its axis's travel before
        anything is sent (ValueError)."""
        now = self.position() if relative else {}
        targets = {}
        for axis, value in moves.items():
            if axis not in self._axes:
                raise ValueError(f"axis {axis!r} is not one of {', '.join(self.axes)}")
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value):
                raise ValueError(f"axis {axis}: {value!r:.30} is not a finite position (m)")
            target = now[axis] + value if relative else float(value)
            low, high = self.travel(axis)
            if not low <= target <= high:
                raise ValueError(f"axis {axis}: target {target:g} m is outside its travel "
                                 f"{low:g} to {high:g} m")
            targets[axis] = target
        return targets

    def _move(self, moves: dict[str, float], relative: bool) -> None:
        targets = self._targets(moves, relative)
        expected = 0.0
        for axis, target in targets.items():
            if relative:
                distance = abs(moves[axis])
                self._checked(axis, f"PR{_mm(moves[axis])}")
            else:
                distance = abs(target - float(self._ask(axis, "TP")) * 1e-3)
                self._checked(axis, f"PA{_mm(target)}")
            expected = max(expected, distance / self.velocity[axis])
        self._wait_ready(targets, expected, "move")

    def move_to(self, **positions: float) -> None:
        """Absolute move (m) of the named axes, returning once all are READY."""
        self._move(positions, relative=False)

    def move_by(self, **steps: float) -> None:
        """Relative move (m) of the named axes; the targets are checked from ``TP`` first."""
        self._move(steps, relative=True)

    def position(self) -> dict[str, float]:
        """Each axis's position (``TP``), m."""
        return {axis: float(self._ask(axis, "TP")) * 1e-3 for axis in self.axes}

    def settings(self) -> dict[str, Any]:
        return {"axes": {axis: {"address": address, "travel": list(travel)}
                         for axis, (address, travel) in self._axes.items()},
                "position": self.position(), "velocity": dict(self.velocity)}
