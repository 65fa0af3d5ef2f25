"""Tests of sequences.dc_analysis against closed-form synthetic L-I-V data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import constants

from sequences import dc_analysis as dc

Q, K_B, H, C = constants.e, constants.k, constants.h, constants.c

# Diode (Shockley + series resistance), the values named in the module's brief.
N_IDEAL, I_SAT, R_SER, T_K = 2.2, 1e-24, 100.0, 298.15

# ABC recombination for a blue InGaN micro-LED, SI units.
A_SRH = 1e7  # 1/s
B_RAD = 1e-17  # m^3/s   (1e-11 cm^3/s)
C_AUG = 1e-42  # m^6/s   (1e-30 cm^6/s)
THICKNESS = 3e-9  # m, active region
DIAMETER = 10e-6  # m, mesa
ETA_INJ, ETA_EXTR = 0.9, 0.7
WAVELENGTH = 450e-9  # m


def shockley_voltage(current, n=N_IDEAL, i_s=I_SAT, r_s=R_SER, t=T_K):
    """V = n kT/q ln(I/I_s) + I R_s."""
    current = np.asarray(current, dtype=float)
    return n * K_B * t / Q * np.log(current / i_s) + current * r_s


def carrier_density(current_density_values):
    """Solve J/(q d) = A n + B n^2 + C n^3 for n, per point, with numpy.roots.

    Scaled by n0 = sqrt(A/C) so that the cubic is well conditioned:
    x^3 + (B n0 / A) x^2 + x - G / (A n0) = 0, n = x n0.
    """
    n0 = np.sqrt(A_SRH / C_AUG)
    beta = B_RAD * n0 / A_SRH
    out = []
    for j in np.atleast_1d(current_density_values):
        g = j / (Q * THICKNESS) / (A_SRH * n0)
        roots = np.roots([1.0, beta, 1.0, -g])
        real = roots[np.abs(roots.imag) < 1e-9 * max(1.0, abs(g))].real
        out.append(real[real > 0][0] * n0)
    return np.array(out)


def abc_eqe(current):
    """EQE = injection x B n^2 / (A n + B n^2 + C n^3) x extraction."""
    area = np.pi * DIAMETER**2 / 4
    n = carrier_density(np.asarray(current) / area)
    iqe = B_RAD * n**2 / (A_SRH * n + B_RAD * n**2 + C_AUG * n**3)
    return ETA_INJ * iqe * ETA_EXTR


def optical_power(current):
    """P = EQE x (h c / (lambda q)) x I."""
    return abc_eqe(current) * H * C / (WAVELENGTH * Q) * np.asarray(current)


def peak_eqe_analytic():
    return ETA_INJ * ETA_EXTR * B_RAD / (B_RAD + 2 * np.sqrt(A_SRH * C_AUG))


def j_at_peak_analytic():
    n = np.sqrt(A_SRH / C_AUG)
    return Q * THICKNESS * (A_SRH * n + B_RAD * n**2 + C_AUG * n**3)


# --------------------------------------------------------------------------------------------
# current density
# --------------------------------------------------------------------------------------------


def test_current_density_scalar_and_array():
    assert dc.current_density(1e-3, 10e-6) == pytest.approx(1e-3 / (np.pi * 25e-12), rel=1e-12)
    j = dc.current_density(np.array([0.0, 1e-6, 2e-6]), 2e-6)
    np.testing.assert_allclose(j, np.array([0.0, 1e-6, 2e-6]) / (np.pi * 1e-12), rtol=1e-12)
    assert isinstance(dc.current_density(1e-3, 10e-6), float)


@pytest.mark.parametrize("diameter", [0.0, -1e-6, np.nan, np.inf])
def test_current_density_bad_diameter(diameter):
    with pytest.raises(ValueError, match="diameter"):
        dc.current_density(1e-3, diameter)


# --------------------------------------------------------------------------------------------
# forward voltage
# --------------------------------------------------------------------------------------------


def test_forward_voltage_exact_for_ideal_diode_between_points():
    current = np.logspace(-7, -2, 11)  # coarse on purpose
    voltage = shockley_voltage(current, r_s=0.0)  # linear in ln I: interpolation is exact
    for i_ref in (1e-7, 3.3e-6, 1e-4, 7e-3, 1e-2):
        assert dc.forward_voltage(current, voltage, i_ref) == pytest.approx(
            float(shockley_voltage(i_ref, r_s=0.0)), abs=1e-12
        )


def test_forward_voltage_ignores_order_and_non_positive_currents():
    current = np.logspace(-6, -3, 31)
    voltage = shockley_voltage(current)
    perm = np.random.default_rng(1).permutation(current.size)
    c = np.concatenate([[0.0, -1e-9], current[perm]])
    v = np.concatenate([[0.0, -0.5], voltage[perm]])
    assert dc.forward_voltage(c, v, 1e-4) == pytest.approx(float(shockley_voltage(1e-4)), abs=1e-12)


def test_forward_voltage_linear_log_interpolation_by_hand():
    # halfway in ln I between 1 mA and 4 mA is 2 mA -> halfway in V
    assert dc.forward_voltage([1e-3, 4e-3], [3.0, 3.2], 2e-3) == pytest.approx(3.1, abs=1e-12)


@pytest.mark.parametrize("i_ref", [1e-8, 1.0])
def test_forward_voltage_outside_range(i_ref):
    current = np.logspace(-6, -3, 10)
    with pytest.raises(ValueError, match="outside the measured range"):
        dc.forward_voltage(current, shockley_voltage(current), i_ref)


# --------------------------------------------------------------------------------------------
# turn-on voltage
# --------------------------------------------------------------------------------------------


def test_turn_on_voltage_exact_for_linear_high_current_region():
    # exponential toe below 1 mA, exactly linear above: V = 2.6 V + 150 ohm * I
    current = np.linspace(0.0, 10e-3, 101)
    toe = 2.75 + 0.05 * np.log(np.maximum(current, 1e-12) / 1e-3)
    voltage = np.where(current >= 1e-3, 2.6 + 150.0 * current, toe)
    assert dc.turn_on_voltage(current, voltage) == pytest.approx(2.6, abs=1e-12)


def test_turn_on_voltage_shockley_matches_tangent_intercept():
    # Linear sweep: the top 20 % is I in [4, 5] mA; the LS line ~ tangent at the mean current.
    current = np.linspace(0.0, 5e-3, 201)[1:]
    voltage = shockley_voltage(current)
    used = current[current >= 0.8 * current[-1]]
    i_c = used.mean()
    a = N_IDEAL * K_B * T_K / Q
    tangent_intercept = float(shockley_voltage(i_c)) - i_c * (a / i_c + R_SER)
    assert dc.turn_on_voltage(current, voltage) == pytest.approx(tangent_intercept, abs=1e-3)


def test_turn_on_voltage_log_sweep_falls_back_to_top_points():
    current = np.logspace(-7, np.log10(5e-3), 60)  # only 2 points in the top 20 %
    voltage = shockley_voltage(current)
    top = current[-3:]
    slope, intercept = np.polyfit(top, shockley_voltage(top), 1)
    assert dc.turn_on_voltage(current, voltage) == pytest.approx(intercept, abs=1e-12)
    assert isinstance(dc.turn_on_voltage(current, voltage), float)


def test_turn_on_voltage_rejects_non_increasing_curve():
    current = np.linspace(1e-3, 1e-2, 20)
    with pytest.raises(ValueError, match="slope is not positive"):
        dc.turn_on_voltage(current, 3.0 - 10.0 * current)


def test_turn_on_voltage_too_few_points():
    with pytest.raises(ValueError, match="at least 3 points"):
        dc.turn_on_voltage([0.0, 1e-3, 2e-3], [0.0, 2.8, 2.9])


# --------------------------------------------------------------------------------------------
# diode fit
# --------------------------------------------------------------------------------------------


def test_diode_fit_exact_noise_free():
    current = np.logspace(-7, np.log10(5e-3), 60)
    fit = dc.diode_fit(current, shockley_voltage(current), T_K)
    assert isinstance(fit, dc.DiodeFit)
    assert fit.ideality_factor == pytest.approx(N_IDEAL, rel=1e-9)
    assert fit.saturation_current == pytest.approx(I_SAT, rel=1e-7)
    assert fit.series_resistance == pytest.approx(R_SER, rel=1e-9)
    assert fit.rms_residual < 1e-12
    assert fit.points_used == 60
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.ideality_factor = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("n", "i_s", "r_s", "t"),
    [(1.0, 1e-30, 5.0, 300.0), (4.5, 1e-15, 2e3, 350.0), (2.0, 1e-20, 0.0, 77.0)],
)
def test_diode_fit_exact_other_parameters(n, i_s, r_s, t):
    current = np.logspace(-9, -3, 25)
    voltage = shockley_voltage(current, n=n, i_s=i_s, r_s=r_s, t=t)
    fit = dc.diode_fit(current, voltage, t)
    assert fit.ideality_factor == pytest.approx(n, rel=1e-8)
    assert fit.saturation_current == pytest.approx(i_s, rel=1e-6)
    assert fit.series_resistance == pytest.approx(r_s, rel=1e-8, abs=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_diode_fit_with_relative_voltage_noise(seed):
    rng = np.random.default_rng(seed)
    current = np.logspace(-7, np.log10(5e-3), 60)
    voltage = shockley_voltage(current)
    noisy = voltage * (1 + 1e-3 * rng.standard_normal(current.size))
    fit = dc.diode_fit(current, noisy, T_K)
    assert fit.ideality_factor == pytest.approx(N_IDEAL, rel=0.02)
    assert fit.series_resistance == pytest.approx(R_SER, rel=0.02)
    # the residual is of the order of the noise, ~1e-3 x 2-3.5 V
    assert 1e-3 < fit.rms_residual < 6e-3


def test_diode_fit_uses_only_positive_points_in_window():
    current = np.concatenate([[-1e-6, 0.0], np.logspace(-8, -2, 61)])
    voltage = np.concatenate([[-3.0, 0.0], shockley_voltage(current[2:])])
    voltage_bad = voltage.copy()
    voltage_bad[current > 1e-3] += 0.5  # garbage above the window
    voltage_bad[(current > 0) & (current < 1e-7)] -= 0.3  # and below it
    fit = dc.diode_fit(current, voltage_bad, T_K, i_min=1e-7, i_max=1e-3)
    assert fit.points_used == 41
    assert fit.ideality_factor == pytest.approx(N_IDEAL, rel=1e-9)
    assert fit.series_resistance == pytest.approx(R_SER, rel=1e-8)
    assert fit.saturation_current == pytest.approx(I_SAT, rel=1e-7)


def test_diode_fit_errors():
    current = np.logspace(-7, -3, 10)
    voltage = shockley_voltage(current)
    with pytest.raises(ValueError, match="at least 3 points"):
        dc.diode_fit(current, voltage, T_K, i_min=5e-4)
    with pytest.raises(ValueError, match="temperature"):
        dc.diode_fit(current, voltage, 0.0)
    with pytest.raises(ValueError, match="i_min .* must be below i_max"):
        dc.diode_fit(current, voltage, T_K, i_min=1e-3, i_max=1e-5)
    with pytest.raises(ValueError, match="distinct currents"):
        dc.diode_fit([1e-3, 1e-3, 1e-3, 1e-3], [3.0, 3.0, 3.0, 3.0], T_K)
    with pytest.raises(ValueError, match="not positive"):
        dc.diode_fit(current, 3.0 - 0.05 * np.log(current), T_K)


# --------------------------------------------------------------------------------------------
# EQE, WPE: units
# --------------------------------------------------------------------------------------------


def test_eqe_units_one_watt_at_450nm_from_one_amp():
    expected = 450e-9 / (H * C / Q)  # photon energy 2.755 eV -> 0.363 photons per electron
    assert dc.eqe(1.0, 1.0, 450e-9) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.36295, rel=1e-4)
    assert isinstance(dc.eqe(1.0, 1.0, 450e-9), float)


def test_eqe_array_and_nan_for_non_positive_current():
    out = dc.eqe([-1e-3, 0.0, 2e-3], [1e-6, 0.0, 1e-3], 450e-9)
    assert np.isnan(out[0]) and np.isnan(out[1])
    assert out[2] == pytest.approx(1e-3 * Q * 450e-9 / (2e-3 * H * C), rel=1e-12)


def test_eqe_recovers_abc_model():
    current = np.logspace(-7, -2, 30)
    np.testing.assert_allclose(dc.eqe(current, optical_power(current), WAVELENGTH),
                               abc_eqe(current), rtol=1e-12)


def test_wpe_units_and_nan():
    assert dc.wpe(1.0, 3.0, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    out = dc.wpe([1e-3, 0.0, -1e-3, 1e-3], [3.0, 0.0, -3.0, -0.1], [1e-3, 0.0, 1e-6, 1e-6])
    assert out[0] == pytest.approx(1e-3 / 3e-3, rel=1e-12)
    assert np.isnan(out[1]) and np.isnan(out[3])
    # I < 0 and V < 0: I V > 0 is power delivered to the device; the ratio is defined
    assert out[2] == pytest.approx(1e-6 / 3e-3, rel=1e-12)


def test_eqe_wpe_relation_photon_energy():
    # WPE = EQE x (h c / (lambda q)) / V
    current = np.logspace(-6, -2, 20)
    voltage = shockley_voltage(current)
    power = optical_power(current)
    e = dc.eqe(current, power, WAVELENGTH)
    w = dc.wpe(current, voltage, power)
    np.testing.assert_allclose(w, e * H * C / (WAVELENGTH * Q) / voltage, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# peak, droop, max power
# --------------------------------------------------------------------------------------------


def test_peak_of_parabola_in_log_x_is_exact():
    x = np.logspace(-3, 0, 13)
    u0 = np.log(0.0337)
    y = 0.8 - 0.1 * (np.log(x) - u0) ** 2
    y_peak, x_peak = dc.peak(x, y)
    assert y_peak == pytest.approx(0.8, abs=1e-12)
    assert x_peak == pytest.approx(0.0337, rel=1e-10)


def test_peak_ignores_nan_and_order_and_handles_edges():
    x = np.array([3.0, 1.0, 2.0, 0.0, 4.0])
    y = np.array([0.5, 0.2, 0.3, np.nan, 0.9])  # max at the end: no refinement
    assert dc.peak(x, y) == (0.9, 4.0)
    # maximum whose neighbour has x <= 0: raw maximum
    assert dc.peak([0.0, 1.0, 2.0], [0.1, 0.5, 0.2]) == (0.5, 1.0)
    # flat top: not concave -> raw maximum (first)
    assert dc.peak([1.0, 2.0, 3.0], [0.5, 0.5, 0.5]) == (0.5, 1.0)


def test_peak_refined_stays_inside_neighbours():
    # equal steps h = ln 2 in ln x: s* = h (y2 - y0) / (2 (2 y1 - y0 - y2)),
    # y* = y1 + (y2 - y0)^2 / (8 (2 y1 - y0 - y2))
    y_peak, x_peak = dc.peak([1.0, 2.0, 4.0], [0.0, 1.0, 0.99])
    h = np.log(2.0)
    assert y_peak == pytest.approx(1.0 + 0.99**2 / (8 * 1.01), rel=1e-12)
    assert x_peak == pytest.approx(2.0 * np.exp(h * 0.99 / (2 * 1.01)), rel=1e-12)
    assert 2.0 < x_peak < 4.0


def test_peak_errors():
    with pytest.raises(ValueError, match="no finite values"):
        dc.peak([1.0, 2.0], [np.nan, np.nan])
    with pytest.raises(ValueError, match="infinite"):
        dc.peak([1.0, 2.0], [np.inf, 1.0])
    with pytest.raises(ValueError, match="same length"):
        dc.peak([1.0, 2.0, 3.0], [1.0, 2.0])


def test_peak_eqe_matches_abc_analytic():
    current = np.logspace(-8, -2, 121)  # dense log sweep, 20 points per decade
    e = dc.eqe(current, optical_power(current), WAVELENGTH)
    e_peak, i_peak = dc.peak(current, e)
    assert e_peak == pytest.approx(peak_eqe_analytic(), rel=0.01)
    assert e_peak <= peak_eqe_analytic() * (1 + 1e-9)
    assert dc.current_density(i_peak, DIAMETER) == pytest.approx(j_at_peak_analytic(), rel=0.05)


def test_droop_hand_computed():
    assert dc.droop([1.0, 2.0, 3.0, 4.0], [0.2, 0.5, 0.4, 0.3]) == pytest.approx(0.4)
    # same data, shuffled, with a NaN EQE (I = 0) that must be skipped
    assert dc.droop([3.0, 0.0, 4.0, 1.0, 2.0], [0.4, np.nan, 0.3, 0.2, 0.5]) == pytest.approx(0.4)
    # peak at the highest current: no droop
    assert dc.droop([1.0, 2.0, 3.0], [0.1, 0.2, 0.3]) == 0.0


def test_droop_abc_model():
    current = np.logspace(-8, -2, 121)
    e = abc_eqe(current)
    expected = (e.max() - e[-1]) / e.max()
    assert dc.droop(current, dc.eqe(current, optical_power(current), WAVELENGTH)) == pytest.approx(
        expected, rel=1e-12
    )
    assert 0.0 < expected < 1.0


def test_droop_errors():
    with pytest.raises(ValueError, match="at least 2 points"):
        dc.droop([0.0, 1.0], [np.nan, 0.3])
    with pytest.raises(ValueError, match="peak EQE must be positive"):
        dc.droop([1.0, 2.0], [0.0, -0.1])


def test_max_optical_power():
    assert dc.max_optical_power([1e-6, 3e-3, 2e-3]) == 3e-3
    with pytest.raises(ValueError, match="empty"):
        dc.max_optical_power([])


# --------------------------------------------------------------------------------------------
# reverse leakage
# --------------------------------------------------------------------------------------------


def test_reverse_leakage_linear_interpolation():
    voltage = np.array([0.0, -1.0, -2.0, -4.0, -6.0])
    current = np.array([0.0, -1e-9, -2e-9, -5e-9, -1e-8])
    assert dc.reverse_leakage(voltage, current, -5.0) == pytest.approx(7.5e-9, rel=1e-12)
    assert dc.reverse_leakage(voltage, current, -2.0) == pytest.approx(2e-9, rel=1e-12)


def test_reverse_leakage_errors():
    voltage = np.array([-5.0, -1.0, 0.0])
    current = np.array([-1e-8, -1e-9, 0.0])
    with pytest.raises(ValueError, match="negative"):
        dc.reverse_leakage(voltage, current, 5.0)
    with pytest.raises(ValueError, match="outside the measured range"):
        dc.reverse_leakage(voltage, current, -10.0)


# --------------------------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------------------------

LIV_UNITS = {
    "forward_voltage": "V",
    "turn_on_voltage": "V",
    "series_resistance": "ohm",
    "ideality_factor": "1",
    "saturation_current": "A",
    "peak_eqe": "1",
    "current_density_at_peak_eqe": "A/m^2",
    "peak_wpe": "1",
    "droop": "1",
    "max_optical_power": "W",
}


def _liv_sweep():
    current = np.concatenate([[0.0], np.logspace(-8, -2, 121)])
    voltage = np.concatenate([[0.0], shockley_voltage(current[1:])])
    power = np.concatenate([[0.0], optical_power(current[1:])])
    return current, voltage, power


def test_liv_figures_values_and_units():
    current, voltage, power = _liv_sweep()
    i_ref = 1e-4  # a grid point
    figs = dc.liv_figures(
        current, voltage, power,
        wavelength=WAVELENGTH, diameter=DIAMETER, temperature=T_K, reference_current=i_ref,
    )
    assert list(figs) == list(LIV_UNITS)
    assert {k: u for k, (_, u, *_) in figs.items()} == LIV_UNITS
    assert all(isinstance(v, float) for v, *_ in figs.values())
    assert figs["forward_voltage"][0] == pytest.approx(float(shockley_voltage(i_ref)), abs=1e-9)
    assert figs["turn_on_voltage"][0] == dc.turn_on_voltage(current, voltage)
    assert figs["ideality_factor"][0] == pytest.approx(N_IDEAL, rel=1e-9)
    assert figs["saturation_current"][0] == pytest.approx(I_SAT, rel=1e-7)
    assert figs["series_resistance"][0] == pytest.approx(R_SER, rel=1e-9)
    assert figs["peak_eqe"][0] == pytest.approx(peak_eqe_analytic(), rel=0.01)
    assert figs["current_density_at_peak_eqe"][0] == pytest.approx(j_at_peak_analytic(), rel=0.05)
    w = power[1:] / (current[1:] * voltage[1:])
    assert w.max() <= figs["peak_wpe"][0] <= w.max() * 1.01
    e = abc_eqe(current[1:])
    assert figs["droop"][0] == pytest.approx((e.max() - e[-1]) / e.max(), rel=1e-9)
    assert figs["max_optical_power"][0] == power.max()


def test_iv_figures_is_the_electrical_subset():
    current, voltage, power = _liv_sweep()
    kw = dict(temperature=T_K, reference_current=2e-4)
    iv = dc.iv_figures(current, voltage, **kw)
    liv = dc.liv_figures(current, voltage, power, wavelength=WAVELENGTH, diameter=DIAMETER, **kw)
    assert list(iv) == list(LIV_UNITS)[:5]
    assert iv == {k: liv[k] for k in iv}


def test_figures_pass_fit_window_through():
    current, voltage, power = _liv_sweep()
    voltage = voltage.copy()
    voltage[current > 1e-3] += 0.2  # corrupt the top decade; the window excludes it
    iv = dc.iv_figures(current, voltage, temperature=T_K, reference_current=1e-5,
                       i_min=1e-7, i_max=1e-3)
    assert iv["ideality_factor"][0] == pytest.approx(N_IDEAL, rel=1e-9)
    assert iv["series_resistance"][0] == pytest.approx(R_SER, rel=1e-8)


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (dc.forward_voltage, ([1e-6, 1e-5, 1e-4], [2.5, 2.7], 1e-5)),
        (dc.turn_on_voltage, ([1e-6, 1e-5, 1e-4], [2.5, 2.7])),
        (dc.diode_fit, ([1e-6, 1e-5, 1e-4], [2.5, 2.7], 300.0)),
        (dc.eqe, ([1e-6, 1e-5], [1e-7], 450e-9)),
        (dc.wpe, ([1e-6, 1e-5], [2.5, 2.7], [1e-7])),
        (dc.droop, ([1.0, 2.0], [0.1])),
        (dc.reverse_leakage, ([-1.0, -2.0], [1e-9], -1.5)),
    ],
)
def test_mismatched_lengths(func, args):
    with pytest.raises(ValueError, match="must have the same length"):
        func(*args)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(bad):
    current = np.array([1e-6, 1e-5, 1e-4, 1e-3])
    voltage = np.array([2.5, 2.6, bad, 2.9])
    with pytest.raises(ValueError, match=r"voltage contains non-finite .* index 2"):
        dc.diode_fit(current, voltage, 300.0)
    with pytest.raises(ValueError, match="voltage contains non-finite"):
        dc.forward_voltage(current, voltage, 1e-5)
    with pytest.raises(ValueError, match="current contains non-finite"):
        dc.eqe(voltage, current, 450e-9)
    with pytest.raises(ValueError, match="optical_power contains non-finite"):
        dc.max_optical_power(voltage)
    with pytest.raises(ValueError, match="current contains non-finite"):
        dc.droop(voltage, current)


def test_too_few_points():
    with pytest.raises(ValueError, match="at least 2 points with current > 0"):
        dc.forward_voltage([0.0, 1e-3], [0.0, 3.0], 1e-3)
    with pytest.raises(ValueError, match="at least 3 points"):
        dc.diode_fit([0.0, 1e-4, 1e-3], [0.0, 2.8, 3.0], 300.0)
    with pytest.raises(ValueError, match="at least 2 points"):
        dc.reverse_leakage([-1.0], [-1e-9], -1.0)


def test_shape_and_type_errors():
    with pytest.raises(ValueError, match="1-D"):
        dc.diode_fit(np.ones((3, 2)), np.ones((3, 2)), 300.0)
    with pytest.raises(ValueError, match="numeric"):
        dc.forward_voltage(["a", "b"], [1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="wavelength"):
        dc.eqe(1.0, 1.0, -450e-9)
    with pytest.raises(ValueError, match="temperature"):
        dc.liv_figures(*_liv_sweep(), wavelength=WAVELENGTH, diameter=DIAMETER,
                       temperature=-1.0, reference_current=1e-4)
