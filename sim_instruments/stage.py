"""The thermal stage under the chip, held by a TEC: pure Python, SI units.

A stage of heat capacity C, coupled to the room (``T_room``, the chip's ``ambient_temperature``)
through a conductance G, is pumped by a TEC carrying I (heat alpha I):
C dT/dt = alpha I - G (T - T_room). The controller asks for the current that makes the closed loop
first order with time constant ``time_constant`` (tau):
I_d(T) = [(T - T_room) / tau_p + (T_set - T) / tau] / h, with tau_p = C / G
(``passive_time_constant``) and h = alpha / C (``heating_rate``, K/s per A); the current is
clipped to +-``I_lim`` (the smaller of the TEC module's ``max_current`` and the controller's
programmed limit). Unclipped, T(t) = T_set + (T_0 - T_set) exp(-t / tau); clipped at s I_lim,
T(t) = T_inf + (T_0 - T_inf) exp(-t / tau_p) with T_inf = T_room + h s I_lim tau_p; with the
output off the stage relaxes to the room the same way with I = 0. Each piece is solved exactly
and the moments the current enters or leaves its limit are found in closed form, so an hour
or a thousand of simulated time cost the same.

Configured as ``simulation: stage: {time_constant, passive_time_constant, heating_rate,
max_current}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.values import checked_number, from_mapping


@dataclass(frozen=True)
class StageParameters:
    """The stage and its TEC module (see the module docstring); validated on construction."""

    time_constant: float = 10.0  # s, closed loop
    passive_time_constant: float = 200.0  # s, C / G
    heating_rate: float = 1.0  # K/s per A of TEC current, alpha / C
    max_current: float = 5.0  # A, the TEC module's own limit

    def __post_init__(self):
        for name, high in (("time_constant", 1e6), ("passive_time_constant", 1e7),
                           ("heating_rate", 1e4), ("max_current", 1e3)):
            checked_number(f"simulation.stage.{name}", getattr(self, name), 0.0, high)
            object.__setattr__(self, name, float(getattr(self, name)))

    @classmethod
    def from_config(cls, config: Any) -> StageParameters:
        if config is None:
            return cls()
        if not isinstance(config, Mapping):
            raise ValueError(f"simulation.stage must be a mapping, got {type(config).__name__}")
        return from_mapping(cls, config, "simulation.stage")


def _time_to(start: float, end: float, target: float, tau: float) -> float | None:
    """When T(t) = end + (start - end) exp(-t / tau) reaches ``target`` (None: never)."""
    if (start - end) == 0 or (target - end) == 0:
        return None
    ratio = (start - end) / (target - end)
    return tau * math.log(ratio) if ratio >= 1 else None


class ThermalStage:
    """The stage's temperature over simulated time, held or released by a TEC controller."""

    def __init__(self, params: StageParameters, room: float, now: float,
                 temperature: float | None = None):
        self.params, self.room = params, room
        self.time = now
        self.value = room if temperature is None else temperature
        self.setpoint = room
        self.enabled = False
        self.current_limit = params.max_current
        self.tolerance, self.window = 0.1, 5.0  # K, s
        self.band_entry: float | None = None  # since when |T - T_set| <= tolerance

    # -- control ------------------------------------------------------------------------------
    def limit(self) -> float:
        return min(self.current_limit, self.params.max_current)

    def demand(self, temperature: float) -> float:
        """I_d(T) (A), the current the loop asks for."""
        p = self.params
        return ((temperature - self.room) / p.passive_time_constant
                + (self.setpoint - temperature) / p.time_constant) / p.heating_rate

    def current(self, now: float) -> float:
        """The TEC current now (A): the demand within the limit, 0 with the output off."""
        temperature = self.temperature(now)
        if not self.enabled:
            return 0.0
        lim = self.limit()
        return max(-lim, min(lim, self.demand(temperature)))

    def control(self, now: float, **changes: Any) -> None:
        """Change ``setpoint``, ``enabled``, ``current_limit``, ``tolerance`` or ``window`` at
        ``now`` (the stage is brought up to date first)."""
        self.temperature(now)
        for key, value in changes.items():
            setattr(self, key, value)
        self.band_entry = None
        self._note_band(now, now, self.value)

    # -- evolution ----------------------------------------------------------------------------
    def temperature(self, now: float) -> float:
        """The stage temperature at ``now`` (K); time only goes forward."""
        while now > self.time:
            start, t0 = self.value, self.time
            end, tau, until = self._piece(start)
            if until is None or t0 + until >= now:
                self.value = end + (start - end) * math.exp(-(now - t0) / tau)
                self.time = now
            else:
                self.value = end + (start - end) * math.exp(-until / tau)
                self.time = t0 + until + 1e-12
            self._note_band(t0, self.time, start)
        return self.value

    def _piece(self, start: float) -> tuple[float, float, float | None]:
        """(asymptote, time constant, time until the regime changes or None) from ``start``."""
        p = self.params
        if not self.enabled:
            return self.room, p.passive_time_constant, None
        lim = self.limit()
        a = (1 / p.passive_time_constant - 1 / p.time_constant) / p.heating_rate
        b = (self.setpoint / p.time_constant - self.room / p.passive_time_constant) \
            / p.heating_rate
        need = a * start + b
        if abs(need) > lim * (1 + 1e-12):  # clipped: heading for T_inf until I_d is in range
            sign = math.copysign(1.0, need)
            end = self.room + p.heating_rate * sign * lim * p.passive_time_constant
            border = (sign * lim - b) / a if a else None
            until = None if border is None else _time_to(start, end, border,
                                                          p.passive_time_constant)
            return end, p.passive_time_constant, until
        steady = a * self.setpoint + b  # unclipped: heading for T_set unless I_d leaves range
        until = None
        if abs(steady) > lim and a:
            border = (math.copysign(lim, steady) - b) / a
            until = _time_to(start, self.setpoint, border, p.time_constant)
        return self.setpoint, p.time_constant, until

    def _note_band(self, t0: float, t1: float, start: float) -> None:
        """Keep when the temperature entered the tolerance band (monotone pieces)."""
        inside = abs(self.value - self.setpoint) <= self.tolerance
        if not inside:
            self.band_entry = None
        elif self.band_entry is None:
            entered = t1
            if abs(start - self.setpoint) <= self.tolerance:
                entered = t0
            elif self.enabled:
                reach = _time_to(start, self.setpoint, self.setpoint + math.copysign(
                    self.tolerance, start - self.setpoint), self.params.time_constant)
                if reach is not None:
                    entered = min(t1, t0 + reach)
            self.band_entry = entered

    def in_tolerance(self, now: float) -> bool:
        """Output on and within the tolerance continuously for the time window."""
        self.temperature(now)
        return self.enabled and self.band_entry is not None \
            and now - self.band_entry >= self.window
