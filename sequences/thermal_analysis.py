"""Temperature-dependent DC figures of a Micro LED: pure numpy, SI units (K, V, W, A).

Sources:
  [Schubert] E. F. Schubert, "Light-Emitting Diodes", 2nd ed. (2006): ch. 6, the forward
             voltage's temperature coefficient dV_f/dT at constant current, and the light
             output's characteristic temperature, P = P_0 exp(-T / T_1).
  [Xi]       Y. Xi and E. F. Schubert, Appl. Phys. Lett. 85, 2163 (2004): the junction
             temperature by the forward-voltage method, Vf of short pulses (no self-heating)
             against the stage temperature calibrating the DC Vf at the same current.
  [JESD51-1] JEDEC JESD51-1 (1995), the electrical test method: R_th = dT_j / P_heat, P_heat the
             electrical power minus, for an LED, the light emitted (JESD51-51).
"""

from __future__ import annotations

import numpy as np


def _finite_pairs(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError("temperature and values must be 1-D arrays of one length")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def value_at_current(current, values, at_current) -> float:
    """``values`` at ``at_current`` (A), interpolated linearly in ln I between the bracketing
    points with I > 0 (as ``dc_analysis.forward_voltage`` does for V); ValueError outside the
    measured range."""
    i, v = np.asarray(current, dtype=float), np.asarray(values, dtype=float)
    keep = (i > 0) & np.isfinite(v)
    i, v = i[keep], v[keep]
    if i.size < 2:
        raise ValueError("fewer than 2 points with current > 0")
    order = np.argsort(i, kind="stable")
    i, v = i[order], v[order]
    if not i[0] <= at_current <= i[-1]:
        raise ValueError(f"{at_current:g} A is outside the measured range "
                         f"[{i[0]:g}, {i[-1]:g}] A")
    return float(np.interp(np.log(at_current), np.log(i), v))


def temperature_coefficient(temperature, forward_voltage) -> float:
    """dV_f/dT (V/K): the slope of a least-squares line of V_f at one current against the stage
    temperature [Schubert ch. 6]. At least two distinct temperatures."""
    t, v = _finite_pairs(temperature, forward_voltage)
    if np.unique(t).size < 2:
        raise ValueError("needs forward voltages at two or more temperatures")
    return float(np.polyfit(t, v, 1)[0])


def characteristic_temperature(temperature, optical_power) -> float:
    """T_1 (K) of P = P_0 exp(-T / T_1): -1 / slope of ln P against T by least squares
    [Schubert ch. 6]. ValueError when the light does not fall with temperature."""
    t, p = _finite_pairs(temperature, optical_power)
    if np.unique(t).size < 2 or np.any(p <= 0):
        raise ValueError("needs positive optical powers at two or more temperatures")
    slope = np.polyfit(t, np.log(p), 1)[0]
    if not slope < 0:
        raise ValueError("the light output does not fall with temperature: no T_1")
    return float(-1 / slope)


def relative_temperature_coefficient(temperature, values) -> float:
    """d ln y / dT (1/K) by least squares of ln y against T (y > 0), e.g. of the peak EQE."""
    t, y = _finite_pairs(temperature, values)
    if np.unique(t).size < 2 or np.any(y <= 0):
        raise ValueError("needs positive values at two or more temperatures")
    return float(np.polyfit(t, np.log(y), 1)[0])


def junction_temperature_rise(temperature, dc_voltage, pulsed_voltage) -> np.ndarray:
    """dT_j (K) at each stage temperature by the forward-voltage method [Xi]: the pulsed V_f
    (no self-heating, T_j = stage) against the stage temperature gives the calibration
    K = dV_f/dT at the current; the DC V_f at the same current and stage temperature is shifted
    by K dT_j: dT_j = (V_DC - V_pulsed) / K."""
    t = np.asarray(temperature, dtype=float)
    k = temperature_coefficient(t, pulsed_voltage)
    if k == 0:
        raise ValueError("the pulsed forward voltage does not change with temperature")
    return (np.asarray(dc_voltage, dtype=float) - np.asarray(pulsed_voltage, dtype=float)) / k


def thermal_resistance(temperature, dc_voltage, pulsed_voltage, heating_power) -> float:
    """R_th (K/W) = dT_j / P_heat [JESD51-1], dT_j by :func:`junction_temperature_rise`,
    P_heat = I V - P_optical at the DC point; a least-squares line through the origin over the
    stage temperatures, R_th = sum(dT P) / sum(P^2)."""
    rise = junction_temperature_rise(temperature, dc_voltage, pulsed_voltage)
    power = np.asarray(heating_power, dtype=float)
    keep = np.isfinite(rise) & np.isfinite(power)
    if not np.any(power[keep] > 0):
        raise ValueError("no positive heating power")
    return float(np.sum(rise[keep] * power[keep]) / np.sum(power[keep] ** 2))
