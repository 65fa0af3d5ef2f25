"""TM-21-style lifetime analysis against closed forms (sequences/lifetime_analysis.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sequences.lifetime_analysis import (
    HOUR,
    K_B_EV,
    arrhenius_fit,
    decay_fit,
    fit_window,
    lifetime,
    projection_limit,
)


def synthetic(alpha, hours, b=1.0, noise=0.0, seed=3):
    t = np.asarray(hours, dtype=float) * HOUR
    phi = b * np.exp(-alpha * t)
    phi[0] = 1.0  # the 0 h reading is what the output is normalised to
    rng = np.random.default_rng(seed)
    return t, 2e-3 * phi * (1 + noise * rng.standard_normal(t.size))


def test_decay_rate_recovered_from_synthetic_data():
    alpha = 2e-9  # 1/s: L70 ~ 49,500 h
    t, power = synthetic(alpha, [0, 100, 300, 1000, 2000, 3000, 4000, 5000, 6000], noise=1e-4)
    fit = decay_fit(t, power)
    assert fit.decay_rate == pytest.approx(alpha, rel=0.03)
    assert fit.window == (3000 * HOUR, 6000 * HOUR)  # the last half
    assert fit.points == 4


def test_window_leaves_out_the_first_1000_hours():
    hours = np.array([0, 200, 500, 900, 1100, 1500])
    used = hours[fit_window(hours * HOUR)]
    np.testing.assert_array_equal(used, [1100, 1500])  # last half from 750 h, but >= 1000 h
    short = np.array([0, 10, 40, 60, 100])  # a test under 1000 h: the last half only
    np.testing.assert_array_equal(short[fit_window(short * HOUR)], [60, 100])
    edge = np.array([0, 400, 700, 900, 1001])  # one time beyond 1000 h: nothing to fit there
    np.testing.assert_array_equal(edge[fit_window(edge * HOUR)], [700, 900, 1001])


def test_early_burn_in_phase_does_not_bias_the_fit():
    """A fast initial drop (before 1000 h) followed by the steady decay: B < 1 and alpha of the
    steady part, as TM-21 intends by leaving the early data out."""
    alpha = 5e-9
    hours = np.array([0, 100, 500, 1000, 1500, 2000, 3000, 4000])
    t = hours * HOUR
    phi = 0.95 * np.exp(-alpha * t)
    phi[0] = 1.0
    phi[1] = 0.97
    fit = decay_fit(t, phi)
    assert fit.decay_rate == pytest.approx(alpha, rel=1e-9)
    assert fit.amplitude == pytest.approx(0.95, rel=1e-9)


def test_l70_and_l50_closed_form():
    alpha = 4e-9  # L50 48,000 h: within 6x the 10,000 h test
    t, power = synthetic(alpha, [0, 1000, 2000, 4000, 6000, 8000, 10000])
    fit = decay_fit(t, power)
    l70 = lifetime(fit, 0.7, units=20)
    assert not l70.capped
    assert l70.value == pytest.approx(math.log(1 / 0.7) / alpha, rel=1e-9)
    l50 = lifetime(fit, 0.5, units=20)
    assert l50.value == pytest.approx(math.log(2) / alpha, rel=1e-9) and not l50.capped


def test_amplitude_enters_lp():
    """L_p = ln(B / p) / alpha (TM-21 writes ln(100 B / p) with p in percent)."""
    alpha, b = 4e-9, 0.9
    t = np.array([0, 2000, 3000, 4000]) * HOUR
    phi = b * np.exp(-alpha * t)
    phi[0] = 1
    fit = decay_fit(t, phi)
    assert lifetime(fit, 0.7, 20).value == pytest.approx(math.log(0.9 / 0.7) / alpha, rel=1e-9)


@pytest.mark.parametrize("units, factor", [(20, 6.0), (45, 6.0), (19, 5.5), (10, 5.5),
                                           (1, 5.5)])
def test_projection_capped_as_tm21_says(units, factor):
    alpha = 1e-10  # L70 ~ 990,000 h: far beyond any cap for a 6000 h test
    t, power = synthetic(alpha, [0, 1000, 2000, 3000, 4000, 5000, 6000])
    fit = decay_fit(t, power)
    projection = lifetime(fit, 0.7, units)
    assert projection.capped
    assert projection.value == projection.limit == pytest.approx(factor * 6000 * HOUR)


def test_not_capped_just_below_the_limit_and_no_decay_is_capped():
    duration = 6000 * HOUR
    alpha = math.log(1 / 0.7) / (5.9 * duration)  # L70 at 5.9x: below 6x, above 5.5x
    t, power = synthetic(alpha, [0, 3000, 4000, 5000, 6000])
    fit = decay_fit(t, power)
    assert not lifetime(fit, 0.7, 20).capped
    assert lifetime(fit, 0.7, 12).capped
    flat = decay_fit(t, np.full(t.size, 1e-3))
    assert lifetime(flat, 0.7, 20) == lifetime(flat, 0.5, 20)
    assert lifetime(flat, 0.7, 20).capped


def test_arrhenius_activation_energy_recovered():
    ea, prefactor = 0.62, 3e2  # eV, 1/s
    temperatures = np.array([318.15, 348.15, 378.15])
    rates = prefactor * np.exp(-ea / (K_B_EV * temperatures))
    fit = arrhenius_fit(temperatures, rates)
    assert fit.activation_energy == pytest.approx(ea, rel=1e-9)
    assert fit.prefactor == pytest.approx(prefactor, rel=1e-6)
    assert fit.rate(330.0) == pytest.approx(prefactor * math.exp(-ea / (K_B_EV * 330)))


@pytest.mark.parametrize("temperatures, rates, message", [
    ([300, 300], [1e-9, 2e-9], "two or more temperatures"),
    ([300, 350], [1e-9, -1e-9], "positive"),
    ([300, float("nan")], [1e-9, 1e-9], "finite"),
    ([300, 350, 400], [1e-9, 2e-9], "one length"),
])
def test_arrhenius_refuses_what_it_cannot_fit(temperatures, rates, message):
    with pytest.raises(ValueError, match=message):
        arrhenius_fit(temperatures, rates)


def test_decay_fit_refusals():
    with pytest.raises(ValueError, match="at least 2"):
        decay_fit([0.0, 10.0], [1.0, 0.99])  # the last half holds one time
    with pytest.raises(ValueError, match="positive"):
        decay_fit([0.0, 1.0, 2.0], [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        decay_fit([0.0, 1.0, np.inf], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="whole number"):
        projection_limit(10.0, 0)
