"""Simulated Keysight 34980A mainframe with matrix modules (34980A Programmer's Reference, ROUTe
subsystem; matrix channel numbers ``srcc``: slot, row, two-digit column, as on the 34931A-34933A).

The simulated mainframe holds a 34932A dual 4x16 armature matrix in every slot (rows 1-8, columns
1-16 in two-wire mode). Relays close and open at once (no settling time is simulated). Which
emitter a crosspoint reaches is the array's wiring (sim_instruments/array.py), not this model's.
"""

from __future__ import annotations

import re

from .base import InstrumentModel

SLOTS = range(1, 9)
ROWS, COLUMNS = 8, 16  # 34932A
_CHANNEL = re.compile(r"\d{4}$")


class Keysight34980AModel(InstrumentModel):
    """Relay state of the crosspoints; ROUTe:CLOSe/OPEN with channel lists, CLOSe? per channel."""

    TREE = (":ROUTe:CLOSe", ":ROUTe:OPEN", ":ROUTe:OPEN:ALL", ":SYSTem:ERRor[:NEXT]")
    KEYWORDS = ("ALL",)

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.closed: set[tuple[int, int, int]] = set()
        world.switch = self

    def reset(self) -> None:
        """*RST opens every channel."""
        self.closed.clear()

    def closed_crosspoints(self) -> list[tuple[int, int, int]]:
        """(slot, row, column) of every closed relay, in channel order."""
        return sorted(self.closed)

    def _channels(self, params) -> list[tuple[int, int, int]] | None:
        """A channel list ``(@1101,1203,1305:1308)``; ranges span the rectangle of rows and
        columns between their ends within one slot. -222 and None for a channel that is not on
        a module."""
        text = ",".join(params).replace(" ", "")
        if not (text.startswith("(@") and text.endswith(")")) or len(text) < 4:
            self.sim.queue_error("illegal_parameter")
            return None
        found = []
        for item in text[2:-1].split(","):
            ends = item.split(":")
            if len(ends) > 2 or not all(_CHANNEL.match(e) for e in ends):
                self.sim.queue_error("illegal_parameter")
                return None
            (s1, r1, c1), (s2, r2, c2) = (self._split(e) for e in (ends[0], ends[-1]))
            if s1 != s2 or not all(self._valid(*p) for p in ((s1, r1, c1), (s2, r2, c2))):
                self.sim.queue_error("data_out_of_range")
                return None
            found += [(s1, r, c) for r in range(min(r1, r2), max(r1, r2) + 1)
                      for c in range(min(c1, c2), max(c1, c2) + 1)]
        return found

    @staticmethod
    def _split(channel: str) -> tuple[int, int, int]:
        return int(channel[0]), int(channel[1]), int(channel[2:])

    @staticmethod
    def _valid(slot: int, row: int, column: int) -> bool:
        return slot in SLOTS and 1 <= row <= ROWS and 1 <= column <= COLUMNS

    def handle(self, command):
        header, query, params = command.header, command.query, command.params
        if header == ":ROUTe:CLOSe":
            channels = self._channels(params)
            if channels is None:
                return True, None
            if query:
                return True, ",".join("1" if c in self.closed else "0" for c in channels)
            self.closed.update(channels)
            return True, None
        if header == ":ROUTe:OPEN" and not query:
            channels = self._channels(params)
            if channels is not None:
                self.closed.difference_update(channels)
            return True, None
        if header == ":ROUTe:OPEN:ALL" and not query:
            return True, self._open_all(params)
        return False, None

    def _open_all(self, params) -> None:
        """ROUTe:OPEN:ALL [{<slot>|ALL}]: every channel of one slot, or of all (the default)."""
        if len(params) > 1:
            self.sim.queue_error("illegal_parameter")
            return None
        which = params[0] if params else "ALL"
        if self.sim.tree.keyword(which) == "ALL":
            self.closed.clear()
            return None
        if not which.isdigit() or int(which) not in SLOTS:
            self.sim.queue_error("data_out_of_range")
            return None
        self.closed = {c for c in self.closed if c[0] != int(which)}
        return None
