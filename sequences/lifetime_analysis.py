"""Lifetime analysis of a burn-in, TM-21 style: pure numpy, SI units (times in s, rates in 1/s).

Sources:
  [TM-21]  IES TM-21-11, "Projecting Long Term Lumen Maintenance of LED Light Sources",
           Illuminating Engineering Society (2011): the exponential fit Phi(t) = B exp(-alpha t)
           of the normalised output over the last part of the test (data before 1000 h left
           out), L_p = ln(100 B / p) / alpha, projections limited to 6x the test duration
           (5.5x for 10 to 19 units), and the Arrhenius relation between the decay rates at
           two or more temperatures.
  [Arrhenius] alpha = A exp(-E_a / (k_B T)), the temperature acceleration of a thermally
           activated degradation (as TM-21 uses it to interpolate between case temperatures).

TM-21 is written for LM-80 data (many thousand hours, a point every 1000 h); here the same fit
runs over any burn-in: the window is the last half of the test's duration, and only the data
after the first 1000 h where two stress times or more lie beyond 1000 h.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HOUR = 3600.0  # s
EARLY_DATA = 1000 * HOUR  # s: TM-21 leaves out the data before 1000 h
K_B_EV = 8.617333262e-5  # Boltzmann constant, eV/K (CODATA 2018, exact from the SI definitions)


@dataclass(frozen=True)
class DecayFit:
    """The TM-21 fit ln(Phi/Phi_0) = ln B - alpha t over ``window`` (s, first and last time
    used); ``points`` the number of points in it; ``duration`` the test's duration (s, its last
    time)."""

    decay_rate: float  # alpha, 1/s
    amplitude: float  # B, 1
    window: tuple[float, float]
    points: int
    duration: float

    def maintenance(self, time) -> np.ndarray:
        """The fitted normalised output B exp(-alpha t) at ``time`` (s)."""
        return self.amplitude * np.exp(-self.decay_rate * np.asarray(time, dtype=float))


@dataclass(frozen=True)
class Projection:
    """A projected lifetime L_p (s): ``value`` is the projection, or the TM-21 limit when the
    projection reaches beyond it (``capped``; reported as "> limit")."""

    value: float
    capped: bool
    limit: float


@dataclass(frozen=True)
class ArrheniusFit:
    """alpha(T) = prefactor exp(-activation_energy / (k_B T)); energy in eV, prefactor 1/s."""

    activation_energy: float
    prefactor: float

    def rate(self, temperature) -> np.ndarray:
        return self.prefactor * np.exp(-self.activation_energy
                                       / (K_B_EV * np.asarray(temperature, dtype=float)))


def _series(time, values) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float)
    y = np.asarray(values, dtype=float)
    if t.ndim != 1 or y.shape != t.shape:
        raise ValueError("time and output must be 1-D arrays of one length")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        raise ValueError("time and output must be finite")
    if t.size and t.min() < 0:
        raise ValueError("stress times must not be negative")
    order = np.argsort(t, kind="stable")
    return t[order], y[order]


def normalised_output(time, output) -> np.ndarray:
    """Phi(t) / Phi(t_0), t_0 the earliest time (the 0 h measurement of TM-21), in time order."""
    t, y = _series(time, output)
    if t.size == 0 or y[0] <= 0:
        raise ValueError("the first output reading must be positive to normalise to it")
    return y / y[0]


def fit_window(time) -> np.ndarray:
    """Mask of the points TM-21 fits: the last half of the test's duration, and only the points
    after the first 1000 h where there are data to fit there (two stress times or more); the
    6000-10000 h rule of TM-21, the last 5000 h, is the last half of 10000 h."""
    t = np.asarray(time, dtype=float)
    duration = float(t.max()) if t.size else 0.0
    window = t >= duration / 2
    late = window & (t >= EARLY_DATA)
    return late if np.unique(t[late]).size >= 2 else window


def decay_fit(time, output) -> DecayFit:
    """TM-21's least-squares fit of ln(Phi/Phi_0) = ln B - alpha t over :func:`fit_window`;
    ``output`` any measure of the light (W), normalised here to its earliest reading. ValueError
    when the window holds fewer than two distinct times or a reading is not positive."""
    t, y = _series(time, output)
    phi = normalised_output(t, y)
    inside = fit_window(t)
    tw, pw = t[inside], phi[inside]
    if np.unique(tw).size < 2:
        raise ValueError(f"the TM-21 window (from {tw.min() / HOUR if tw.size else 0:g} h) holds "
                         f"{np.unique(tw).size} stress time(s); it needs at least 2: take more "
                         f"checkpoints")
    if np.any(pw <= 0):
        raise ValueError("an output reading in the fit window is not positive")
    slope, intercept = np.polyfit(tw, np.log(pw), 1)
    return DecayFit(decay_rate=float(-slope), amplitude=float(np.exp(intercept)),
                    window=(float(tw[0]), float(tw[-1])), points=int(tw.size),
                    duration=float(t[-1]))


def projection_limit(duration: float, units: int) -> float:
    """The longest projection TM-21 reports (s): 6x the test duration for 20 units or more,
    5.5x for 10 to 19. TM-21 sets no factor below 10 units; the stricter 5.5x is used there
    (fewer units carry less confidence, never more)."""
    if not (isinstance(units, int) and units >= 1):
        raise ValueError(f"units={units!r} must be a whole number >= 1")
    if not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"test duration {duration!r} s must be finite and positive")
    return (6.0 if units >= 20 else 5.5) * duration


def lifetime(fit: DecayFit, level: float, units: int) -> Projection:
    """L_p: the time at which the fitted output falls to ``level`` (0.7 for L70),
    L_p = ln(B / level) / alpha (TM-21's ln(100 B / p) / alpha with p in percent), limited to
    :func:`projection_limit` of the test duration; a fit that does not decay (alpha <= 0) is at
    the limit. ValueError when the fit starts below ``level`` already."""
    if not 0 < level < 1:
        raise ValueError(f"level {level!r} must be in (0, 1)")
    limit = projection_limit(fit.duration, units)
    if fit.amplitude <= level:
        raise ValueError(f"the fitted output B={fit.amplitude:.3g} starts at or below "
                         f"{level:g}: no projection")
    if fit.decay_rate <= 0:
        return Projection(limit, True, limit)
    value = math.log(fit.amplitude / level) / fit.decay_rate
    return Projection(min(value, limit), value > limit, limit)


def arrhenius_fit(temperatures, rates) -> ArrheniusFit:
    """E_a and A of alpha = A exp(-E_a / (k_B T)) by least squares of ln alpha against 1/T
    (TM-21 sec. 5.3 with two temperatures; a line through all of them with more).
    ``temperatures`` (K, at least two distinct), ``rates`` (1/s, positive)."""
    t = np.asarray(temperatures, dtype=float)
    a = np.asarray(rates, dtype=float)
    if t.ndim != 1 or a.shape != t.shape:
        raise ValueError("temperatures and rates must be 1-D arrays of one length")
    if not (np.all(np.isfinite(t)) and np.all(t > 0)):
        raise ValueError("temperatures must be finite and positive (K)")
    if not (np.all(np.isfinite(a)) and np.all(a > 0)):
        raise ValueError("every decay rate must be finite and positive for an Arrhenius fit")
    if np.unique(t).size < 2:
        raise ValueError("an Arrhenius fit needs decay rates at two or more temperatures")
    slope, intercept = np.polyfit(1 / t, np.log(a), 1)
    return ArrheniusFit(activation_energy=float(-slope * K_B_EV),
                        prefactor=float(np.exp(intercept)))


def burn_in_activation_energy(steps) -> ArrheniusFit:
    """E_a from the burn-in steps of one run or several (``bench.api.open_run(path).steps``
    values, or :class:`bench.storage.StepRecord` objects): each completed ``burn-in`` step's
    ``decay_rate`` at its ``stress_temperature``, fitted by :func:`arrhenius_fit`. The steps must
    share one current density (else current, not temperature, would set the rates): ValueError."""
    temperatures, rates, densities = [], [], []
    for step in steps:
        result = step.results.get("decay_rate") if step.sequence == "burn-in" else None
        if step.status != "completed" or result is None:
            continue
        conditions = result.get("conditions") or {}
        temperatures.append(conditions["stress_temperature"]["value"])
        densities.append(conditions["current_density"]["value"])
        rates.append(result["value"])
    if densities and not np.allclose(densities, densities[0], rtol=1e-6):
        raise ValueError("the burn-ins ran at different current densities "
                         f"({', '.join(f'{d:.4g}' for d in densities)} A/m^2): no Arrhenius fit")
    return arrhenius_fit(temperatures, rates)
