"""The chip as any simulated SMU sees it: force leads, 2- or 4-wire sensing, pulse self-heating.

The SMU's force path reaches the chip through the leads of ``setup.leads.resistance`` R_L
(common/passive.py). In 2-wire (local) sensing the SMU measures, and regulates, the voltage at
its own terminals, V_chip(I) + I R_L; in 4-wire (remote) sensing its sense leads meet the
force leads at the chip, so it measures and regulates V_chip(I) itself (the sense leads carry
no current). A current source whose terminal voltage would exceed its voltage limit holds the
limit instead and delivers the current at which V_chip + I R_L (2-wire) or V_chip (4-wire)
equals it; a voltage source is limited by its current limit the same way.

Pulses: the junction temperature rise during a pulse train of width w and period T follows the
chip's single thermal pole tau (``ChipParameters.thermal_time_constant``). In the periodic
steady state the rise at the end of a pulse is ``chip.pulse_heating_fraction(w, T, tau)`` of
the DC rise (theta_w); the junction starts each pulse at theta_0 = theta_w exp(-(T - w) / tau)
and a time t into it has risen to theta(t) = 1 - (1 - theta_0) exp(-t / tau). A reading taken
over an aperture is evaluated at its middle. Each pulse is taken as one of a train at its own
level (the earlier pulses of a sweep at other levels are not remembered: at a low duty cycle
their heat is gone before the next).
"""

from __future__ import annotations

import math

import numpy as np

from ..chip import MicroLED, pulse_heating_fraction
from ..scpi import number
from .base import _on


def check_start_current(where: str, state: dict, max_current: float, suffix: str = "") -> None:
    """A bench file's start state of a current source beyond ``max_current`` is refused."""
    if state.get("function", "CURR") == "CURR" and abs(state.get("level", 0.0)) > max_current:
        raise ValueError(f"{where}.level={state['level']:g} is outside +-{max_current:g} A"
                         f"{suffix}")


def release(world) -> None:
    """No current through the chip any more (output off, reset)."""
    if world.drive_current != 0.0:
        world.apply(0.0, 0.0)


def pulse_region(regions, current: float, voltage: float):
    """The most permissive of ``regions`` (max current A, max voltage V, max width s, max duty)
    holding |current| at |voltage|, or None."""
    fits = [r for r in regions if abs(current) <= r[0] and abs(voltage) <= r[1]]
    return max(fits, key=lambda r: (r[2], r[3])) if fits else None


def list_values(sim, params, top: float, most: int) -> list[float] | None:
    """The numbers of a source-list command (1 to ``most`` of them, each within +-``top``), or
    None with the SCPI error queued (illegal parameter, data out of range)."""
    try:
        values = [number(p) for p in params]
    except ValueError:
        sim.queue_error("illegal_parameter")
        return None
    if not 1 <= len(values) <= most or any(abs(v) > top for v in values):
        sim.queue_error("data_out_of_range")
        return None
    return values


def heating_within_pulse(time: float, width: float, period: float, tau: float) -> float:
    """theta(t): the junction rise at ``time`` into a pulse over its DC value (see above)."""
    if tau <= 0:
        return 1.0
    end = pulse_heating_fraction(width, period, tau)
    start = end * math.exp(-(period - width) / tau)
    return 1.0 - (1.0 - start) * math.exp(-min(time, width) / tau)


def _terminal_voltage(chip: MicroLED, current: np.ndarray, lead: float,
                      heating: float) -> np.ndarray:
    return chip.steady_state(current, heating=heating).voltage + current * lead


def _current_at(chip: MicroLED, limit: np.ndarray, lead: float, heating: float,
                top: np.ndarray) -> np.ndarray:
    """The current in [0, top] (elementwise, top > 0) at which the regulated voltage
    V_chip(I) + I lead equals ``limit``: bisection, 60 halvings (to 1e-18 of top)."""
    low, high = np.zeros_like(top), top.copy()
    for _ in range(60):
        middle = 0.5 * (low + high)
        above = _terminal_voltage(chip, middle, lead, heating) > limit
        high = np.where(above, middle, high)
        low = np.where(above, low, middle)
    return 0.5 * (low + high)


def current_source_points(chip: MicroLED, levels, limit: float, *, lead: float,
                          remote_sense: bool, heating: float = 1.0
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(measured voltage, current, in_compliance) of a current source at ``levels`` with a
    voltage ``limit``: the voltage the SMU sees is the chip's, plus I x lead in 2-wire."""
    levels = np.atleast_1d(np.asarray(levels, dtype=float))
    regulated_lead = 0.0 if remote_sense else lead
    current = levels.copy()
    voltage = _terminal_voltage(chip, current, regulated_lead, heating)
    railed = np.abs(voltage) > limit
    if railed.any():
        sign = np.sign(levels[railed])
        current[railed] = sign * _current_at(chip, np.full(sign.shape, limit), regulated_lead,
                                             heating, np.abs(levels[railed]))
        voltage[railed] = sign * limit
    return voltage, current, railed


def voltage_source_points(chip: MicroLED, levels, limit: float, *, lead: float,
                          remote_sense: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(measured voltage, current, in_compliance) of a voltage source at ``levels`` (DC) with a
    current ``limit``; the programmed voltage is held at the terminals (2-wire) or at the chip
    (4-wire)."""
    levels = np.atleast_1d(np.asarray(levels, dtype=float))
    regulated_lead = 0.0 if remote_sense else lead
    current = np.asarray(chip.current_at_voltage(levels), dtype=float)
    forward = (levels > 0) & (regulated_lead > 0)
    if forward.any():  # the lead's drop: the chip gets less than the terminals
        top = np.full(int(forward.sum()), limit)
        current[forward] = _current_at(chip, levels[forward], regulated_lead, 1.0, top)
    railed = np.abs(current) >= limit * (1 - 1e-9)
    voltage = levels.copy()
    if railed.any():
        current[railed] = np.sign(current[railed]) * limit
        voltage[railed] = _terminal_voltage(chip, current[railed], regulated_lead, 1.0)
    return voltage, current, railed


class SmuState:
    """Mixin of the SCPI SMU models whose YAML names the source state ``function`` (CURR |
    VOLT), ``current``, ``voltage``, ``voltage_protection``, ``current_protection``,
    ``remote_sense`` and ``output``: the chip's operating point at those settings."""

    contact_open = False
    MAX_CURRENT: float  # A, the largest start level a bench file may give

    @classmethod
    def _check_state(cls, where, state):
        check_start_current(where, state, cls.MAX_CURRENT)

    def start(self, state):
        function = state.get("function", "CURR")
        self.sim.set("function", function)
        if "level" in state:
            self.sim.set("current" if function == "CURR" else "voltage", state["level"])
        if "limit" in state:
            self.sim.set("voltage_protection" if function == "CURR" else "current_protection",
                         state["limit"])
        if state.get("output"):
            self.sim.set("output", "1")
            self._apply()

    def open_contact(self) -> None:
        self.contact_open = True

    def _load_elements(self, params) -> None:
        """:FORMat:ELEMents: the readings' order, of VOLTage and CURRent only."""
        names = [self.sim.tree.keyword(p)[:4] for p in params]
        if not names or any(n not in ("VOLT", "CURR") for n in names):
            self.sim.queue_error("illegal_parameter")
        else:
            self.elements = names

    @property
    def _open(self) -> bool:
        """No chip across the terminals: the probe lifted, or no emitter routed to them."""
        return self.contact_open or self.world.circuit_open

    def _points(self, levels, heating: float = 1.0):
        function = str(self.sim.get("function"))
        remote = _on(self.sim.get("remote_sense"))
        lead = self.world.setup.leads.resistance
        if function == "CURR":
            limit = float(self.sim.get("voltage_protection"))
            if self._open:
                levels = np.atleast_1d(levels)
                return np.sign(levels) * limit, np.zeros_like(levels)
            v, i, _ = current_source_points(self.world.chip, levels, limit, lead=lead,
                                            remote_sense=remote, heating=heating)
        else:
            limit = float(self.sim.get("current_protection"))
            if self._open:
                levels = np.atleast_1d(levels)
                return levels, np.zeros_like(levels)
            v, i, _ = voltage_source_points(self.world.chip, levels, limit, lead=lead,
                                            remote_sense=remote)
        return v, i

    def _level(self) -> float:
        function = str(self.sim.get("function"))
        return float(self.sim.get("current" if function == "CURR" else "voltage"))

    def _apply(self) -> tuple[float, float]:
        if not _on(self.sim.get("output")):
            release(self.world)
            return 0.0, 0.0
        v, i = self._points(self._level())
        self.world.apply(float(i[0]), float(v[0]))
        return float(v[0]), float(i[0])

    def _noisy(self, values) -> np.ndarray:
        return self.world.noise.relative(np.asarray(values, dtype=float),
                                         self.world.chip_params.noise)

