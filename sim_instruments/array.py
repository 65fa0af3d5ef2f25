"""A simulated array of R x C micro-LEDs behind a switch matrix: each emitter its own chip.

``simulation: array:`` (all SI, spreads relative standard deviations)::

    array:
      rows: 32
      columns: 32
      pitch: 50.0e-6                 # m, emitter spacing (moves the coupling optimum per emitter)
      spread: {diameter: 0.02, efficiency: 0.05, forward_voltage: 0.01}
      dead: [[0, 3], [7, 7]]         # or dead_rate: 0.01 (that share of emitters, seeded)
      shorted: [[2, 2]]              # or shorted_rate
      leaky: [[5, 1]]                # or leaky_rate
      short_resistance: 10.0         # ohm across a shorted emitter
      leak_resistance: 1.0e6         # ohm, shunt of a leaky emitter
      seed: 7
      slots: [1, 2, 3, 4, 5, 6, 7, 8]  # switch slots wired to the array (default: 1, 2, ...)

Every emitter is the base chip (``simulation: chip:``) with its own draws: diameter x (1 + s_D
N), extraction efficiency x (1 + s_eta N), and the forward voltage scaled by (1 + s_V N) through
the ideality factor and the series resistance together (V = n_id Vt ln(1 + I/Is) + I Rs scales
exactly by that factor at every current, isothermal and with the shunt negligible). N is a
standard normal drawn from ``seed``, redrawn beyond 4 sigma so that no factor reaches zero.

Faulty emitters: *dead* is an open circuit (no junction contact: no current, no light);
*shorted* is ``short_resistance`` across the emitter (modelled as the junction's shunt with the
series resistance bypassed, so V = I R_short while the diode is off); *leaky* a low shunt
``leak_resistance`` across the junction. Shunted emitters emit from the junction current only,
I - V_j / R_sh (:class:`ShuntedMicroLED`).

Wiring (the simulated bench's, one crosspoint per emitter): the array is tiled in blocks of
``MODULE_ROWS`` x ``MODULE_COLUMNS`` emitters, one matrix module (a 34932A dual 4x16: rows 1-8,
columns 1-16) per block, blocks in row-major order on ``slots``; emitter (r, c) is matrix row
r % 8 + 1, column c % 16 + 1 of its block's slot.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from common.values import checked_keys, checked_number, shown

from .chip import ChipParameters, MicroLED

MODULE_ROWS, MODULE_COLUMNS = 8, 16  # a 34932A dual 4x16 matrix: rows 1-8, columns 1-16
MAX_SLOTS = 8                        # slots of a 34980A mainframe
MAX_EMITTERS = MAX_SLOTS * MODULE_ROWS * MODULE_COLUMNS
FAULTS = ("dead", "shorted", "leaky")
SPREADS = ("diameter", "efficiency", "forward_voltage")
MAX_SPREAD = 0.2   # relative standard deviation; 4 sigma stays above zero
TRUNCATION = 4.0   # draws beyond this many sigma are drawn again
SHORT_SERIES = 1e-3  # ohm: the series resistance a short bypasses (the model needs > 0)
_KEYS = ("rows", "columns", "pitch", "spread", *FAULTS, *(f"{k}_rate" for k in FAULTS),
         "short_resistance", "leak_resistance", "seed", "slots")


class ShuntedMicroLED(MicroLED):
    """A chip with a low shunt: the light (and so the heat balance) comes from the current
    through the junction, I - V_j / R_sh, not from the current at the terminals (the base model
    neglects the shunt there, right for R_sh ~ 1e12 ohm, wrong for a leaky or shorted one)."""

    def _isothermal_light(self, current):
        i = np.asarray(current, dtype=float)
        junction = np.clip(i - self._junction_voltage(i) / self.params.shunt_resistance, 0.0,
                           None)
        return super()._isothermal_light(junction)


def _count(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {shown(value)}")
    return int(value)


def _normal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Standard normal draws, those beyond TRUNCATION sigma drawn again."""
    values = rng.standard_normal(shape)
    while (wild := np.abs(values) > TRUNCATION).any():
        values[wild] = rng.standard_normal(int(wild.sum()))
    return values


class EmitterArray:
    """The array's layout, per-emitter factors and faults; chips built on first use."""

    def __init__(self, base: ChipParameters, rows: int, columns: int, pitch: float,
                 spread: dict[str, float], faults: dict[tuple[int, int], str],
                 short_resistance: float, leak_resistance: float, seed: int,
                 slots: tuple[int, ...], config: dict[str, Any]):
        self.base, self.rows, self.columns, self.pitch = base, rows, columns, pitch
        self.spread, self.faults = spread, faults
        self.short_resistance, self.leak_resistance = short_resistance, leak_resistance
        self.slots, self.config = slots, config
        rng = np.random.default_rng(seed)
        self.factors = {name: 1.0 + spread[name] * _normal(rng, (rows, columns))
                        for name in SPREADS}
        for pick in (np.min, np.max):  # the extreme draws checked once against chip.BOUNDS
            self._changes({name: float(pick(f)) for name, f in self.factors.items()}, None, True)
        self._chips: dict[tuple[int, int, float | None], MicroLED] = {}

    # -- configuration -----------------------------------------------------------------------
    @classmethod
    def from_config(cls, raw: Any, base: ChipParameters) -> EmitterArray:
        """The ``array:`` block checked (ValueError, one line naming the key)."""
        where = "simulation.array"
        checked_keys(raw, where, _KEYS, required=("rows", "columns"))
        rows = _count(f"{where}.rows", raw["rows"], 1, MAX_EMITTERS)
        columns = _count(f"{where}.columns", raw["columns"], 1, MAX_EMITTERS)
        blocks = math.ceil(rows / MODULE_ROWS) * math.ceil(columns / MODULE_COLUMNS)
        if blocks > MAX_SLOTS:
            raise ValueError(f"{where}: {rows} x {columns} emitters need {blocks} matrix modules "
                             f"of {MODULE_ROWS} x {MODULE_COLUMNS}; a 34980A holds {MAX_SLOTS}")
        pitch = checked_number(f"{where}.pitch", raw.get("pitch", 50e-6), 0.0, 1e-2)
        spread_raw = {} if raw.get("spread") is None else raw["spread"]
        checked_keys(spread_raw, f"{where}.spread", SPREADS)
        spread = {}
        for name in SPREADS:
            value = spread_raw.get(name, 0.0)
            spread[name] = 0.0 if value == 0 and not isinstance(value, bool) else \
                checked_number(f"{where}.spread.{name}", value, 0.0, MAX_SPREAD)
        top = base.extraction_efficiency * (1 + TRUNCATION * spread["efficiency"])
        if top > 1:
            raise ValueError(f"{where}.spread.efficiency={spread['efficiency']:g} could draw an "
                             f"extraction efficiency {top:.3g} > 1 (base "
                             f"{base.extraction_efficiency:g}, draws up to {TRUNCATION:g} sigma)")
        seed = _count(f"{where}.seed", raw.get("seed", 0), 0, 2**63 - 1)
        slots = cls._slots(raw.get("slots"), blocks, where)
        faults = cls._faults(raw, rows, columns, np.random.default_rng([seed, 1]), where)
        short = checked_number(f"{where}.short_resistance", raw.get("short_resistance", 10.0),
                               1.0, 1e4)
        leak = checked_number(f"{where}.leak_resistance", raw.get("leak_resistance", 1e6),
                              1e3, 1e11)
        return cls(base, rows, columns, pitch, spread, faults, short, leak, seed, slots,
                   dict(raw))

    @staticmethod
    def _slots(raw: Any, blocks: int, where: str) -> tuple[int, ...]:
        if raw is None:
            return tuple(range(1, blocks + 1))
        if not isinstance(raw, list) or len(raw) != blocks:
            raise ValueError(f"{where}.slots must list {blocks} slot number(s), one per "
                             f"{MODULE_ROWS} x {MODULE_COLUMNS} block, got {shown(raw)}")
        slots = tuple(_count(f"{where}.slots[]", s, 1, MAX_SLOTS) for s in raw)
        if len(set(slots)) != len(slots):
            raise ValueError(f"{where}.slots repeats a slot: {list(slots)}")
        return slots

    @staticmethod
    def _faults(raw: Mapping, rows: int, columns: int, rng: np.random.Generator,
                where: str) -> dict[tuple[int, int], str]:
        faults: dict[tuple[int, int], str] = {}
        for kind in FAULTS:
            listed, rate = raw.get(kind), raw.get(f"{kind}_rate")
            if listed is not None and rate is not None:
                raise ValueError(f"{where}: give {kind} or {kind}_rate, not both")
            if listed is None:
                continue
            if not isinstance(listed, list):
                raise ValueError(f"{where}.{kind} must be a list of [row, column], got "
                                 f"{shown(listed)}")
            for entry in listed:
                if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                    raise ValueError(f"{where}.{kind}: {shown(entry)} is not a [row, column]")
                r = _count(f"{where}.{kind} row", entry[0], 0, rows - 1)
                c = _count(f"{where}.{kind} column", entry[1], 0, columns - 1)
                if (r, c) in faults:
                    raise ValueError(f"{where}: emitter [{r}, {c}] is listed twice "
                                     f"({faults[(r, c)]} and {kind})")
                faults[(r, c)] = kind
        total = 0.0
        for kind in FAULTS:
            rate = raw.get(f"{kind}_rate")
            if rate is None:
                continue
            rate = 0.0 if rate == 0 and not isinstance(rate, bool) else \
                checked_number(f"{where}.{kind}_rate", rate, 0.0, 1.0)
            total += rate
            if total > 1:
                raise ValueError(f"{where}: the fault rates add up to more than 1")
            free = [k for k in range(rows * columns) if divmod(k, columns) not in faults]
            count = round(rate * rows * columns)
            for k in rng.choice(free, size=min(count, len(free)), replace=False):
                faults[divmod(int(k), columns)] = kind
        return faults

    # -- emitters ----------------------------------------------------------------------------
    def fault(self, row: int, column: int) -> str | None:
        """"dead", "shorted", "leaky" or None (a good emitter)."""
        return self.faults.get((row, column))

    def parameters(self, row: int, column: int) -> ChipParameters:
        """The emitter's own chip parameters (a dead emitter's are those it would have)."""
        f = {name: float(self.factors[name][row, column]) for name in SPREADS}
        return self._changes(f, self.fault(row, column), False)

    def _changes(self, f: dict[str, float], kind: str | None, check: bool) -> ChipParameters:
        """The base chip with factors ``f`` and fault ``kind`` applied. Checked (``check``:
        dataclasses.replace validates every field) for the extreme draws and the fault values
        at configuration; per emitter the fields are then known to be in bounds and are set
        without the validation, which would dominate a 32 x 32 map's set-up (~1 ms each)."""
        b = self.base
        changes = dict(diameter=b.diameter * f["diameter"],
                       extraction_efficiency=b.extraction_efficiency * f["efficiency"],
                       ideality_factor=b.ideality_factor * f["forward_voltage"],
                       series_resistance=b.series_resistance * f["forward_voltage"])
        if kind == "shorted":
            changes.update(shunt_resistance=self.short_resistance, series_resistance=SHORT_SERIES)
        elif kind == "leaky":
            changes.update(shunt_resistance=self.leak_resistance)
        if check:
            for fault in ("shorted", "leaky"):
                self._changes(f, fault, False).__post_init__()
            return dataclasses.replace(b, **changes)
        params = copy.copy(b)
        for name, value in changes.items():
            object.__setattr__(params, name, value)
        return params

    def chip(self, row: int, column: int, temperature: float | None = None) -> MicroLED:
        """The emitter's chip model on a stage at ``temperature`` (K, kept to 1 mK; None: as
        configured), built on first use and kept."""
        if temperature is not None:
            temperature = round(temperature, 3)
            if temperature == self.base.ambient_temperature:
                temperature = None
        key = (row, column, temperature)
        chip = self._chips.get(key)
        if chip is None:
            kind = ShuntedMicroLED if self.fault(row, column) in ("shorted", "leaky") \
                else MicroLED
            params = self.parameters(row, column)
            if temperature is not None:
                params = params.at_temperature(temperature)
            chip = self._chips[key] = kind(params)
        return chip

    def offset(self, row: int, column: int) -> tuple[float, float, float]:
        """Position (m) of an emitter relative to emitter (0, 0): columns along x, rows along y."""
        return column * self.pitch, row * self.pitch, 0.0

    # -- wiring ------------------------------------------------------------------------------
    def emitter_at(self, slot: int, matrix_row: int, matrix_column: int
                   ) -> tuple[int, int] | None:
        """The emitter wired to a crosspoint (matrix row and column 1-based), or None."""
        if slot not in self.slots or not 1 <= matrix_row <= MODULE_ROWS \
                or not 1 <= matrix_column <= MODULE_COLUMNS:
            return None
        block = self.slots.index(slot)
        across = math.ceil(self.columns / MODULE_COLUMNS)
        row = (block // across) * MODULE_ROWS + matrix_row - 1
        column = (block % across) * MODULE_COLUMNS + matrix_column - 1
        return (row, column) if row < self.rows and column < self.columns else None
