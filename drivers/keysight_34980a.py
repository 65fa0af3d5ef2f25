"""Keysight (Agilent) 34980A switch/measure mainframe with matrix modules, as an emitter switch.

Commands from the 34980A Programmer's Reference, ROUTe subsystem: ``ROUTe:CLOSe <ch_list>``,
``ROUTe:OPEN <ch_list>``, ``ROUTe:OPEN:ALL [{<slot>|ALL}]``, ``ROUTe:CLOSe? <ch_list>`` (one
1/0 per channel, in list order), ``SYSTem:ERRor?``, ``*OPC?``. Matrix channels are numbered
``srcc`` (slot, row, two-digit column), e.g. 3216 = slot 3, row 2, column 16; a two-wire 34932A
dual 4x16 armature matrix has rows 1-8 (matrix 2 is rows 5-8) and columns 1-16, a 34931A dual
4x8 rows 1-8 and columns 1-8 (module user's guides, "channel numbering"; UNVERIFIED here: the
module manuals were not found, so the sizes below are the modules' data-sheet figures).

Wiring (station ``options``): the emitter array is tiled in blocks of one module's rows x
columns, blocks in row-major order on ``slots``; emitter (r, c), 0-based, is matrix row
r % rows + 1, column c % columns + 1 of its block's slot. Options::

    options: {rows: 32, columns: 32, module: 34932A, slots: [1, 2, 3, 4, 5, 6, 7, 8]}
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .base import InstrumentError, ScpiInstrument, plan_check

MODULES = {"34931A": (8, 8), "34932A": (8, 16), "34933A": (8, 16)}  # (rows, columns), two-wire
SLOTS = 8  # of a 34980A mainframe
_OPTIONS = ("rows", "columns", "module", "slots")


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r:.40}")
    return int(value)


class Keysight34980A(ScpiInstrument):
    """34980A with matrix modules routing the SMU to one emitter at a time (roles.Switch)."""

    idn_pattern = r"(?i)(agilent|keysight) technologies,34980A"
    error_query = "SYSTem:ERRor?"

    def __init__(self, resource, name: str | None = None, *, rows: int, columns: int,
                 module: str = "34932A", slots: tuple[int, ...] = ()):
        super().__init__(resource, name)
        self.rows, self.columns, self.module = rows, columns, module
        self.module_rows, self.module_columns = MODULES[module]
        self.slots = tuple(slots)

    # -- options and plan --------------------------------------------------------------------
    @classmethod
    def check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """``rows``, ``columns`` (the emitter array), ``module`` (34931A, 34932A, 34933A) and
        ``slots`` (one per block of the module's size; default 1, 2, ...)."""
        unknown = sorted(str(k) for k in options if k not in _OPTIONS)
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)}; the 34980A takes "
                             f"{', '.join(_OPTIONS)}")
        for key in ("rows", "columns"):
            if key not in options:
                raise ValueError(f"the 34980A needs option {key} (the emitter array's size)")
        module = options.get("module", "34932A")
        if module not in MODULES:
            raise ValueError(f"module {module!r:.40} is not one of {', '.join(MODULES)}")
        module_rows, module_columns = MODULES[module]
        top = SLOTS * module_rows * module_columns
        rows = _whole("rows", options["rows"], 1, top)
        columns = _whole("columns", options["columns"], 1, top)
        blocks = math.ceil(rows / module_rows) * math.ceil(columns / module_columns)
        if blocks > SLOTS:
            raise ValueError(f"{rows} x {columns} emitters need {blocks} {module} modules; a "
                             f"34980A holds {SLOTS}")
        slots = options.get("slots", list(range(1, blocks + 1)))
        if not isinstance(slots, (list, tuple)) or len(slots) != blocks:
            raise ValueError(f"slots must list {blocks} slot number(s), one per {module_rows} x "
                             f"{module_columns} block of emitters, got {slots!r:.60}")
        slots = tuple(_whole("slot", s, 1, SLOTS) for s in slots)
        if len(set(slots)) != len(slots):
            raise ValueError(f"slots repeats a slot: {list(slots)}")
        return {"rows": rows, "columns": columns, "module": module, "slots": slots}

    @plan_check
    def check_plan(cls_or_self, request: dict) -> list[str]:
        """``rows``, ``columns``: the array a step addresses must fit the wired one (a class:
        the largest a mainframe of 34932A modules can wire)."""
        if isinstance(cls_or_self, type):
            rows = columns = SLOTS * MODULES["34932A"][0] * MODULES["34932A"][1]
        else:
            rows, columns = cls_or_self.rows, cls_or_self.columns
        problems = []
        for key, top in (("rows", rows), ("columns", columns)):
            value = request.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                    or not 1 <= value <= top:
                problems.append(f"{key}={value!r} is outside the switch's 1 to {top} wired "
                                f"{key} (34980A)")
        return problems

    # -- channels ----------------------------------------------------------------------------
    def channel(self, row: int, column: int) -> str:
        """The ``srcc`` channel of emitter (row, column), 0-based; ValueError off the array."""
        for name, value, size in (("row", row, self.rows), ("column", column, self.columns)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                    or not 0 <= value < size:
                raise ValueError(f"emitter {name} {value!r} is outside 0 to {size - 1}")
        across = math.ceil(self.columns / self.module_columns)
        block = (row // self.module_rows) * across + column // self.module_columns
        return (f"{self.slots[block]}{row % self.module_rows + 1}"
                f"{column % self.module_columns + 1:02d}")

    def _emitters(self) -> list[tuple[tuple[int, int], str]]:
        return [((r, c), self.channel(r, c)) for r in range(self.rows)
                for c in range(self.columns)]

    # -- the Switch role ---------------------------------------------------------------------
    def open_all(self) -> None:
        """Open every channel of the array's slots (``ROUTe:OPEN:ALL <slot>`` each), then wait
        for the relays (``*OPC?``)."""
        for slot in self.slots:
            self.write(f"ROUTe:OPEN:ALL {slot}")
        self.wait_complete(0.1, "opening the relays")

    def select(self, row: int, column: int) -> None:
        """Break before make: open every route of the array's slots (whoever closed them), wait
        for the relays, close the emitter's channel, read it back closed."""
        channel = self.channel(row, column)
        self.open_all()
        self.write(f"ROUTe:CLOSe (@{channel})")
        state = self.query(f"ROUTe:CLOSe? (@{channel})")
        if state != "1":
            raise InstrumentError(self.name, f"ROUTe:CLOSe? (@{channel})",
                                  f"channel {channel} for emitter ({row}, {column}) reads "
                                  f"{state!r}, not closed ({'; '.join(self.errors())})")

    def selected(self) -> tuple[int, int] | None:
        """The emitter whose channel reads closed (``ROUTe:CLOSe?`` over each slot's channels),
        None when none does; InstrumentError when several do (emitters in parallel)."""
        closed = []
        emitters = self._emitters()
        for slot in self.slots:
            mine = [(e, ch) for e, ch in emitters if ch[0] == str(slot)]
            command = f"ROUTe:CLOSe? (@{','.join(ch for _, ch in mine)})"
            states = self.query(command).split(",")
            if len(states) != len(mine):
                raise InstrumentError(self.name, command, f"{len(states)} states for "
                                      f"{len(mine)} channels")
            closed += [e for (e, _), s in zip(mine, states, strict=True) if s.strip() == "1"]
        if len(closed) > 1:
            raise InstrumentError(self.name, "ROUTe:CLOSe?", f"{len(closed)} emitters are "
                                  f"connected at once: {closed[:4]}")
        return closed[0] if closed else None

    def settings(self) -> dict[str, Any]:
        selected = self.selected()
        return {"rows": self.rows, "columns": self.columns, "module": self.module,
                "slots": list(self.slots),
                "selected": None if selected is None else list(selected)}
