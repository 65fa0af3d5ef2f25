"""Degradation of the simulated chip under stress: pure numpy, SI units (energies in eV).

Model (stated here, configured as ``simulation: degradation: {...}``):

- the damage D (dimensionless) grows at the rate
  k(J, Tj) = decay_rate (J / J_ref)^m exp(-(Ea / k_B) (1 / Tj - 1 / T_ref)) for J > 0, 0 without
  current, with J = I / (chip area) the current density and Tj the junction temperature (stage plus
  self-heating): a power law in current density and Arrhenius in temperature, the acceleration
  model of LED lifetime testing (IES TM-21-11 and LM-80 practice; Meneghini et al., "A review on
  the reliability of GaN-based LEDs", IEEE Trans. Device Mater. Reliab. 8, 323 (2008));
- the optical output is the fresh chip's times exp(-D) (the extraction efficiency scaled), so at
  constant stress Phi(t) = Phi(0) exp(-k t): the exponential decay TM-21 fits;
- the forward voltage drifts through the series resistance, R_s (1 + series_resistance_growth D)
  (contact and p-GaN degradation), and the leakage grows through the shunt conductance,
  (1 / R_sh) exp(leakage_growth D) (defect-assisted tunnelling paths; Meneghini 2008).

D is integrated over simulated time with the chip's current held piecewise constant between the
moments it changes (:class:`StressHistory`), so a burn-in at constant current accumulates exactly
k t. A resumed run may carry the damage reached so far into its new world (``initial_damage``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from scipy import constants as sc

from common.values import checked_number, from_mapping

BOUNDS = {
    "decay_rate": (0.0, 1.0),                      # 1/s at the reference conditions
    "reference_current_density": (0.0, 1e10),      # A/m^2 (1e6 A/m^2 = 100 A/cm^2)
    "current_exponent": (-10.0, 10.0),             # power-law exponent m (literature 1-3)
    "activation_energy": (-5.0, 5.0),              # eV (literature 0.1-1 for InGaN LEDs)
    "reference_temperature": (1.0, 1000.0),        # K
    "series_resistance_growth": (-1.0, 1e3),       # relative R_s growth per unit of damage
    "leakage_growth": (-10.0, 100.0),              # e-folds of shunt conductance per damage
    "initial_damage": (-1.0, 1e3),                 # damage carried in (a resumed stress)
}


@dataclass(frozen=True)
class Degradation:
    """Degradation law parameters (see the module docstring); validated on construction."""

    decay_rate: float = 1e-8
    reference_current_density: float = 1e6
    current_exponent: float = 2.0
    activation_energy: float = 0.5
    reference_temperature: float = 358.15
    series_resistance_growth: float = 0.5
    leakage_growth: float = 2.0
    initial_damage: float = 0.0

    def __post_init__(self):
        for f in fields(self):
            low, high = BOUNDS[f.name]
            value = checked_number(f"simulation.degradation.{f.name}", getattr(self, f.name),
                                   low, high)
            if f.name == "initial_damage" and value < 0:
                raise ValueError(f"simulation.degradation.initial_damage must be >= 0, got "
                                 f"{value:g}")
            object.__setattr__(self, f.name, value)

    @classmethod
    def from_config(cls, config: Any) -> Degradation | None:
        """None for an absent block (no ageing), else the law; ValueError for bad input."""
        if config is None:
            return None
        if not isinstance(config, Mapping):
            raise ValueError(f"simulation.degradation must be a mapping, got "
                             f"{type(config).__name__}")
        return from_mapping(cls, config, "simulation.degradation")

    def to_dict(self) -> dict:
        return asdict(self)

    def rate(self, current_density: float, junction_temperature: float) -> float:
        """k(J, Tj) = k_ref (J / J_ref)^m exp(-(Ea / k_B)(1/Tj - 1/T_ref)), 1/s; 0 for J <= 0."""
        if not current_density > 0:
            return 0.0
        boltzmann_ev = sc.k / sc.e
        return self.decay_rate * (current_density / self.reference_current_density) \
            ** self.current_exponent * math.exp(
                -self.activation_energy / boltzmann_ev
                * (1 / junction_temperature - 1 / self.reference_temperature))


class StressHistory:
    """The damage accumulated by one chip: ``hold(t, rate)`` says that from simulated time t
    the damage grows at ``rate`` (1/s); ``damage(t)`` integrates up to t."""

    def __init__(self, start_time: float, initial_damage: float = 0.0):
        self._time, self._damage, self.rate = start_time, initial_damage, 0.0

    def damage(self, now: float) -> float:
        return self._damage + self.rate * max(now - self._time, 0.0)

    def hold(self, now: float, rate: float) -> None:
        if now > self._time:
            self._damage = self.damage(now)
            self._time = now
        self.rate = rate
