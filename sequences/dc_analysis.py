"""DC (L-I-V) analysis of a Micro LED: pure functions of numpy arrays.

Everything is in SI units, in and out: current in A, voltage in V, optical power in W,
lengths (diameter, wavelength) in m, current density in A/m^2, temperature in K.
Dimensionless figures (EQE, WPE, droop, ideality factor) are plain ratios, not percent.

Sources for the formulas:
  [Schubert]  E. F. Schubert, "Light-Emitting Diodes", 2nd ed., Cambridge University Press (2006),
              ch. 4 (diode I-V, ideality factor, series resistance, threshold voltage)
              and ch. 5 (internal, extraction, external and power efficiencies).
  [Cheung]    S. K. Cheung and N. W. Cheung, Appl. Phys. Lett. 49, 85 (1986):
              diode parameters in the presence of series resistance.
  [Piprek]    J. Piprek, "Efficiency droop in nitride-based light-emitting diodes",
              phys. stat. sol. (a) 207, 2217 (2010): droop definition and the ABC model.

Input validation: arrays must be 1-D, of equal length and finite (the functions that are fed
EQE/WPE arrays, ``peak`` and ``droop``, accept NaN in their value argument and skip it);
too few usable points, or a reference point outside the measured range, raise ValueError
(the summaries :func:`iv_figures` and :func:`liv_figures` drop such a figure with its reason,
:class:`sequences.base.Dropped`, and keep every other; bad arguments still raise)
with a message naming the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Dropped, Result, figure

__all__ = [
    "DiodeFit",
    "current_density",
    "forward_voltage",
    "turn_on_voltage",
    "diode_fit",
    "eqe",
    "wpe",
    "peak",
    "droop",
    "max_optical_power",
    "reverse_leakage",
    "liv_figures",
    "iv_figures",
]

# defining constants of the SI (2019), exact by definition; written out so that importing the
# analysis (bench sequences, bench show) does not load scipy
Q = 1.602176634e-19  # elementary charge, C
K_B = 1.380649e-23  # Boltzmann constant, J/K
H = 6.62607015e-34  # Planck constant, J s
C_LIGHT = 299792458.0  # speed of light in vacuum, m/s


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _array(name: str, values, *, allow_nan: bool = False, allow_scalar: bool = False) -> np.ndarray:
    """Convert to a float array; 1-D (or 0-D if allowed); finite (NaN optionally allowed)."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim != 1 and not (allow_scalar and arr.ndim == 0):
        shape = "a scalar or a 1-D array" if allow_scalar else "a 1-D array"
        raise ValueError(f"{name} must be {shape}, got shape {arr.shape}")
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad.ravel())[0])
        what = "infinite" if allow_nan else "non-finite (NaN or inf)"
        raise ValueError(f"{name} contains {what} values (first at index {first})")
    return arr


def _same_length(**arrays: np.ndarray) -> None:
    """Raise ValueError unless all arrays have the same shape."""
    shapes = {name: arr.shape for name, arr in arrays.items()}
    if len(set(shapes.values())) > 1:
        desc = ", ".join(
            f"{name}: {shape[0] if len(shape) == 1 else 'scalar'}" for name, shape in shapes.items()
        )
        raise ValueError(f"{', '.join(shapes)} must have the same length ({desc})")


def _positive(name: str, value, unit: str) -> float:
    """A positive finite scalar, as float."""
    try:
        val = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number in {unit}, got {value!r}") from None
    if not np.isfinite(val) or val <= 0.0:
        raise ValueError(f"{name} must be a positive finite number in {unit}, got {value!r}")
    return val


def _finite(name: str, value, unit: str) -> float:
    """A finite scalar, as float."""
    try:
        val = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in {unit}, got {value!r}") from None
    if not np.isfinite(val):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return val


def _out(arr: np.ndarray):
    """Return a float for 0-D results, the array otherwise."""
    return float(arr) if arr.ndim == 0 else arr


# --------------------------------------------------------------------------------------------
# electrical
# --------------------------------------------------------------------------------------------


def current_density(current, diameter):
    """Current density of a circular mesa: J = I / (pi D^2 / 4)   [A/m^2].

    Source: definition of current density over the emitting (mesa) area, Schubert ch. 4.
    ``current`` (A) is a scalar or a 1-D array; ``diameter`` (m) a positive scalar.
    Returns a float for a scalar current, an array otherwise.
    """
    i = _array("current", current, allow_scalar=True)
    d = _positive("diameter", diameter, "m")
    return _out(i / (np.pi * d * d / 4.0))


def forward_voltage(current, voltage, at_current) -> float:
    """Forward voltage V_f at a reference current, interpolated linearly in ln(I).

    V_f = V_k + (V_{k+1} - V_k) (ln I_ref - ln I_k) / (ln I_{k+1} - ln I_k), with I_k <= I_ref <=
    I_{k+1} the bracketing measured points. Interpolating in ln(I) is exact for the ideal diode
    V = n (kT/q) ln(I/I_s) (Schubert ch. 4). Only points with I > 0 are used, sorted by current.
    ValueError if ``at_current`` lies outside the measured positive-current range.
    """
    i = _array("current", current)
    v = _array("voltage", voltage)
    _same_length(current=i, voltage=v)
    i_ref = _positive("at_current", at_current, "A")
    pos = i > 0
    if np.count_nonzero(pos) < 2:
        raise ValueError("forward_voltage needs at least 2 points with current > 0")
    i, v = i[pos], v[pos]
    order = np.argsort(i, kind="stable")
    i, v = i[order], v[order]
    if not i[0] <= i_ref <= i[-1]:
        raise ValueError(
            f"at_current {i_ref:g} A is outside the measured range [{i[0]:g}, {i[-1]:g}] A"
        )
    return float(np.interp(np.log(i_ref), np.log(i), v))


def turn_on_voltage(current, voltage, *, fraction: float = 0.2, min_points: int = 3) -> float:
    """Turn-on (threshold) voltage: the V-axis intercept of the linear, high-current I-V part.

    Schubert ch. 4: above threshold the I-V characteristic becomes linear (dominated by the
    series resistance); extrapolating that straight line to I = 0 gives the threshold voltage
    V_th ~ E_g / q. Here a least-squares line V = V_th + R_d I is fitted to the points in the top
    ``fraction`` of the current range, I >= (1 - fraction) I_max (default: the top 20 %). If
    that holds fewer than ``min_points`` points (typical of a log-spaced sweep), the
    ``min_points`` highest-current points are used instead. The intercept V_th is returned (V).
    ValueError if the fitted slope is not positive (no linear forward region in the data).
    """
    i = _array("current", current)
    v = _array("voltage", voltage)
    _same_length(current=i, voltage=v)
    frac = _positive("fraction", fraction, "(dimensionless)")
    if frac > 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    if int(min_points) != min_points or min_points < 2:
        raise ValueError(f"min_points must be an integer >= 2, got {min_points!r}")
    min_points = int(min_points)
    pos = i > 0
    if np.count_nonzero(pos) < min_points:
        raise ValueError(
            f"turn_on_voltage needs at least {min_points} points with current > 0, "
            f"got {np.count_nonzero(pos)}"
        )
    i, v = i[pos], v[pos]
    order = np.argsort(i, kind="stable")
    i, v = i[order], v[order]
    sel = i >= (1.0 - frac) * i[-1]
    if np.count_nonzero(sel) < min_points:
        sel = np.zeros_like(sel)
        sel[-min_points:] = True
    i_fit, v_fit = i[sel], v[sel]
    if np.ptp(i_fit) == 0.0:
        raise ValueError("turn_on_voltage: the high-current points all have the same current")
    slope, intercept = np.polyfit(i_fit, v_fit, 1)
    if not slope > 0:
        raise ValueError(
            f"turn_on_voltage: the high-current I-V slope is not positive ({slope:g} ohm); "
            "no linear forward region in the data"
        )
    return float(intercept)


@dataclass(frozen=True)
class DiodeFit:
    """Result of :func:`diode_fit` (SI units)."""

    ideality_factor: float  # n, dimensionless
    saturation_current: float  # I_s, A
    series_resistance: float  # R_s, ohm
    rms_residual: float  # root-mean-square voltage residual of the fit, V
    points_used: int  # number of (I, V) points that entered the fit


def diode_fit(current, voltage, temperature, i_min=None, i_max=None) -> DiodeFit:
    """Fit the Shockley diode with series resistance: V = n (kT/q) ln(I/I_s) + I R_s.

    The model is linear in (a, b, R_s) = (n kT/q, -n (kT/q) ln I_s, R_s) with regressors
    [ln I, 1, I], so an ordinary linear least-squares fit of V gives all three at once
    (columns are equilibrated before the solve). Then n = a q / (k T), I_s = exp(-b / a).
    This is the integral form of Cheung & Cheung's method (Appl. Phys. Lett. 49, 85 (1986)),
    dV/d(ln I) = n kT/q + I R_s, without the noise of a numerical derivative; see also
    Schubert ch. 4. Uses only points with I > 0 and, when given, i_min <= I <= i_max (A).
    ``temperature`` is the junction temperature in K.
    ValueError on fewer than 3 usable points, degenerate currents, a non-positive slope, or a
    series resistance whose I R_s is below -1 mV at the top current (unphysical).
    """
    i = _array("current", current)
    v = _array("voltage", voltage)
    _same_length(current=i, voltage=v)
    t = _positive("temperature", temperature, "K")
    keep = i > 0
    if i_min is not None:
        keep &= i >= _finite("i_min", i_min, "A")
    if i_max is not None:
        keep &= i <= _finite("i_max", i_max, "A")
    if i_min is not None and i_max is not None and float(i_min) >= float(i_max):
        raise ValueError(f"i_min ({i_min!r} A) must be below i_max ({i_max!r} A)")
    n_used = int(np.count_nonzero(keep))
    if n_used < 3:
        raise ValueError(
            f"diode_fit needs at least 3 points with I > 0 inside [i_min, i_max], got {n_used}"
        )
    i, v = i[keep], v[keep]
    x = np.column_stack([np.log(i), np.ones_like(i), i])
    scale = np.linalg.norm(x, axis=0)
    coef_scaled, _, rank, _ = np.linalg.lstsq(x / scale, v, rcond=None)
    if rank < 3:
        raise ValueError(
            "diode_fit: the currents do not determine n, I_s and R_s "
            "(need at least 3 distinct currents)"
        )
    a, b, r_s = coef_scaled / scale
    if not a > 0:
        raise ValueError(
            f"diode_fit: fitted slope n kT/q = {a:g} V is not positive; data is not a forward diode"
        )
    if r_s * i.max() < -1e-3:  # a negative I R_s of over 1 mV at the top current: not a diode
        raise ValueError(
            f"diode_fit: fitted series resistance {r_s:.4g} ohm is negative; the points do not "
            f"cover enough of the forward characteristic"
        )
    v_thermal = K_B * t / Q
    residual = v - x @ np.array([a, b, r_s])
    return DiodeFit(
        ideality_factor=float(a / v_thermal),
        saturation_current=float(np.exp(-b / a)),
        series_resistance=float(r_s),
        rms_residual=float(np.sqrt(np.mean(residual**2))),
        points_used=n_used,
    )


def reverse_leakage(voltage, current, at_voltage) -> float:
    """Reverse leakage |I| at a reverse (negative) voltage, interpolated linearly in V.

    |I(V_r)| with I(V_r) = I_k + (I_{k+1} - I_k) (V_r - V_k) / (V_{k+1} - V_k) between the
    bracketing measured points (Schubert ch. 4, reverse characteristic). ``at_voltage`` must be
    negative (e.g. -5.0 V) and inside the measured voltage range; returns A.
    """
    v = _array("voltage", voltage)
    i = _array("current", current)
    _same_length(voltage=v, current=i)
    v_r = _finite("at_voltage", at_voltage, "V")
    if v_r >= 0:
        raise ValueError(f"at_voltage must be a negative (reverse) voltage, got {v_r:g} V")
    if v.size < 2:
        raise ValueError("reverse_leakage needs at least 2 points")
    order = np.argsort(v, kind="stable")
    v, i = v[order], i[order]
    if not v[0] <= v_r <= v[-1]:
        raise ValueError(
            f"at_voltage {v_r:g} V is outside the measured range [{v[0]:g}, {v[-1]:g}] V"
        )
    return float(abs(np.interp(v_r, v, i)))


# --------------------------------------------------------------------------------------------
# optical
# --------------------------------------------------------------------------------------------


def eqe(current, optical_power, wavelength):
    """External quantum efficiency: EQE = (P / (h c / lambda)) / (I / q) = P q lambda / (I h c).

    Photons emitted into the detector per electron injected (Schubert ch. 5, eq. for eta_ext),
    assuming a quasi-monochromatic emission at the peak ``wavelength`` (m). ``current`` (A) and
    ``optical_power`` (W) are scalars or equal-length 1-D arrays. NaN where I <= 0.
    """
    i = _array("current", current, allow_scalar=True)
    p = _array("optical_power", optical_power, allow_scalar=True)
    _same_length(current=i, optical_power=p)
    lam = _positive("wavelength", wavelength, "m")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(i > 0, p * Q * lam / (np.where(i > 0, i, 1.0) * H * C_LIGHT), np.nan)
    return _out(out)


def wpe(current, voltage, optical_power):
    """Wall-plug (power conversion) efficiency: WPE = P_opt / (I V).

    Source: Schubert ch. 5 (power efficiency). Scalars or equal-length 1-D arrays in A, V, W;
    NaN where I V <= 0.
    """
    i = _array("current", current, allow_scalar=True)
    v = _array("voltage", voltage, allow_scalar=True)
    p = _array("optical_power", optical_power, allow_scalar=True)
    _same_length(current=i, voltage=v, optical_power=p)
    p_el = i * v
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p_el > 0, p / np.where(p_el > 0, p_el, 1.0), np.nan)
    return _out(out)


def peak(x, y) -> tuple[float, float]:
    """Peak of y(x): (y_peak, x_at_peak), refined by a parabola in ln(x).

    The points are sorted by x and NaN values of y are skipped. At the largest y, a parabola
    y = a u^2 + b u + c, u = ln x, is passed through the maximum and its two neighbours; its
    vertex u* = -b / (2 a) (clamped to the neighbours' interval) gives the refined peak
    (three-point parabolic interpolation, e.g. Press et al., Numerical Recipes, sec. 10.3).
    ln x suits efficiency curves sampled on log-spaced currents. Falls back to the raw maximum
    when the maximum is at an end, a neighbouring x is <= 0 or repeated, or the parabola is not
    concave.
    """
    xa = _array("x", x)
    ya = _array("y", y, allow_nan=True)
    _same_length(x=xa, y=ya)
    valid = ~np.isnan(ya)
    if not valid.any():
        raise ValueError("peak: y has no finite values")
    xa, ya = xa[valid], ya[valid]
    order = np.argsort(xa, kind="stable")
    xa, ya = xa[order], ya[order]
    k = int(np.argmax(ya))
    y_best, x_best = float(ya[k]), float(xa[k])
    if 0 < k < xa.size - 1 and xa[k - 1] > 0:
        u = np.log(xa[k - 1 : k + 2])
        if u[0] < u[1] < u[2]:
            # Parabola in s = u - u[1] (better conditioned), through the three points.
            s0, s2 = u[0] - u[1], u[2] - u[1]
            y0, y1, y2 = ya[k - 1 : k + 2]
            d0, d2 = (y0 - y1) / s0, (y2 - y1) / s2  # secant slopes from the middle point
            a = (d2 - d0) / (s2 - s0)
            b = d0 - a * s0
            if a < 0:
                s_star = min(max(-b / (2.0 * a), s0), s2)
                y_best = float(y1 + b * s_star + a * s_star * s_star)
                x_best = float(np.exp(u[1] + s_star))
    return y_best, x_best


def droop(current, eqe_values) -> float:
    """Efficiency droop: (EQE_peak - EQE(I_max)) / EQE_peak.

    Piprek, pss(a) 207, 2217 (2010): the relative loss of efficiency from its peak to the
    highest drive current. The points are sorted by current inside; NaN EQE values (I <= 0
    from :func:`eqe`) are skipped; EQE_peak is the largest measured EQE (no interpolation),
    so droop is 0 when the peak is at the highest current. Dimensionless, in [0, 1] for
    non-negative EQE.
    """
    i = _array("current", current)
    e = _array("eqe_values", eqe_values, allow_nan=True)
    _same_length(current=i, eqe_values=e)
    valid = ~np.isnan(e)
    if np.count_nonzero(valid) < 2:
        raise ValueError("droop needs at least 2 points with a finite EQE")
    i, e = i[valid], e[valid]
    e = e[np.argsort(i, kind="stable")]
    e_peak = float(np.max(e))
    if not e_peak > 0:
        raise ValueError(f"droop: peak EQE must be positive, got {e_peak:g}")
    return (e_peak - float(e[-1])) / e_peak


def max_optical_power(optical_power) -> float:
    """Maximum optical output power max(P) in W (Schubert ch. 5, L-I characteristic)."""
    p = _array("optical_power", optical_power)
    if p.size == 0:
        raise ValueError("optical_power is empty")
    return float(np.max(p))


# --------------------------------------------------------------------------------------------
# figure-of-merit summaries
# --------------------------------------------------------------------------------------------


DIODE_RESULTS = {
    "forward_voltage": Result("V", "V at reference_current, interpolated linearly in ln I "
                              "between the bracketing points (Schubert, Light-Emitting Diodes, "
                              "2nd ed., ch. 4)", ("reference_current",)),
    "turn_on_voltage": Result("V", "V-axis intercept of the line V = V_th + R I fitted to the "
                              "top 20 % of the current range, at least 3 points (Schubert ch. 4)"),
    "series_resistance": Result("ohm", "R_s of the fit V = n (kT/q) ln(I / I_s) + I R_s to every "
                                "I > 0 point (Cheung & Cheung, Appl. Phys. Lett. 49, 85 (1986))"),
    "ideality_factor": Result("1", "n of the same diode fit, T the sample's temperature"),
    "saturation_current": Result("A", "I_s of the same diode fit"),
}
"""The results of :func:`iv_figures`, shared by the sequences that sweep a diode."""


def iv_figures(
    current,
    voltage,
    *,
    temperature,
    reference_current,
    i_min=None,
    i_max=None,
) -> dict[str, tuple]:
    """Electrical figures of merit of an I-V sweep: name -> (value, SI unit) or, with the
    conditions of the figure, (value, SI unit, {condition: (value, SI unit)}).

    forward_voltage at ``reference_current`` (its condition), turn_on_voltage
    (:func:`turn_on_voltage`), and series_resistance, ideality_factor, saturation_current
    from :func:`diode_fit` on all positive-current points (optionally limited to
    [i_min, i_max]; the joint fit accounts for R_s, so no low-current cut is needed).
    """
    i = _array("current", current)
    v = _array("voltage", voltage)
    _same_length(current=i, voltage=v)
    _positive("temperature", temperature, "K")
    figures: dict = {}
    figure(figures, "forward_voltage", "V", lambda: forward_voltage(i, v, reference_current),
           lambda: {"reference_current": (float(reference_current), "A")})
    figure(figures, "turn_on_voltage", "V", lambda: turn_on_voltage(i, v))
    fit = {}
    figure(fit, "fit", "", lambda: diode_fit(i, v, temperature, i_min=i_min, i_max=i_max))
    for name, units in (("series_resistance", "ohm"), ("ideality_factor", "1"),
                        ("saturation_current", "A")):
        value = fit["fit"][0]
        figures[name] = (value if isinstance(value, Dropped) else getattr(value, name), units)
    return figures


def liv_figures(
    current,
    voltage,
    optical_power,
    *,
    wavelength,
    diameter,
    temperature,
    reference_current,
    i_min=None,
    i_max=None,
) -> dict[str, tuple]:
    """Figures of merit of an L-I-V sweep, as :func:`iv_figures` gives them.

    The electrical subset of :func:`iv_figures`, plus peak_eqe and the current density at
    which it occurs (:func:`eqe`, :func:`peak`, :func:`current_density` with the mesa
    ``diameter``), peak_wpe (:func:`wpe`), droop (:func:`droop`) and max_optical_power;
    peak_eqe and peak_wpe carry the current density of their peak as their condition, droop
    the current density of the sweep's top current (where EQE(I_max) is taken).
    ``wavelength`` (m) is the emission peak used to count photons.
    """
    i = _array("current", current)
    v = _array("voltage", voltage)
    p = _array("optical_power", optical_power)
    _same_length(current=i, voltage=v, optical_power=p)
    figures = iv_figures(
        i, v, temperature=temperature, reference_current=reference_current,
        i_min=i_min, i_max=i_max,
    )
    e, w = eqe(i, p, wavelength), wpe(i, v, p)

    def at_density(current):  # the conditions of a figure taken at one current
        return {"current_density": (current_density(current, diameter), "A/m^2")}

    figure(figures, "peak_eqe", "1", lambda: peak(i, e)[0], lambda: at_density(peak(i, e)[1]))
    figure(figures, "current_density_at_peak_eqe", "A/m^2",
           lambda: current_density(peak(i, e)[1], diameter))
    figure(figures, "peak_wpe", "1", lambda: peak(i, w)[0], lambda: at_density(peak(i, w)[1]))
    figure(figures, "droop", "1", lambda: droop(i, e), lambda: at_density(float(np.max(i))))
    figure(figures, "max_optical_power", "W", lambda: max_optical_power(p))
    return figures
