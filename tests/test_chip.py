"""Chip physics against known truth: analytic ABC results, self-consistency, an ODE reference."""

import math

import numpy as np
import pytest
from scipy import constants as sc
from scipy.integrate import solve_ivp

from sim_instruments.chip import ChipParameters, MicroLED, NoiseSource, OperatingPoint

OTHER = dict(diameter=50e-6, a_coeff=3e7, b_coeff=2e-17, c_coeff=2e-42, series_resistance=40.0,
             ideality_factor=3.0)
PARAMS = [ChipParameters(), ChipParameters(**OTHER)]


@pytest.fixture(params=PARAMS, ids=["default", "large"])
def chip(request):
    return MicroLED(request.param)


def isothermal_power(chip, current):
    """P0 = EQE x (h c / lambda q) x I: the steady-state light without self-heating."""
    return chip.eqe(current) * chip.photon_energy / sc.e * current


def rise_time(t, y):
    """10-90 % rise time of a monotone step response (linear interpolation of the crossings)."""
    y = (y - y[0]) / (y[-1] - y[0])
    return float(np.interp(0.9, y, t) - np.interp(0.1, y, t))


# -- recombination and efficiency -------------------------------------------------------------
def test_carrier_density_solves_the_cubic(chip):
    p = chip.params
    current = np.logspace(-12, 0, 121)
    n = chip.carrier_density(current)
    g = p.injection_efficiency * current / (sc.e * p.area * p.active_thickness)
    residual = p.a_coeff * n + p.b_coeff * n**2 + p.c_coeff * n**3 - g
    assert np.all(n > 0)
    assert np.max(np.abs(residual) / g) < 1e-10
    assert np.all(chip.carrier_density(np.array([0.0, -1e-3])) == 0)


def test_peak_eqe_matches_the_analytic_abc_peak(chip):
    p = chip.params
    current = np.logspace(-9, -1, 20001)
    eqe = chip.eqe(current)
    assert eqe.max() == pytest.approx(chip.peak_eqe(), rel=5e-3)
    assert current[np.argmax(eqe)] == pytest.approx(chip.current_at_peak_eqe(), rel=1e-2)
    assert chip.iqe(math.sqrt(p.a_coeff / p.c_coeff)) == pytest.approx(chip.peak_iqe(), rel=1e-12)
    assert chip.peak_eqe() == pytest.approx(
        p.injection_efficiency * p.extraction_efficiency * chip.peak_iqe())


# -- DC electrical and thermal ----------------------------------------------------------------
def test_voltage_at_low_current_follows_shockley(chip):
    p = chip.params
    current = np.logspace(-8, -6, 9)
    op = chip.steady_state(current)
    nvt = p.ideality_factor * sc.k * p.ambient_temperature / sc.e
    expected = nvt * np.log(current / p.saturation_current) + current * p.series_resistance
    assert np.allclose(op.voltage, expected, rtol=1e-4)
    assert np.all(op.junction_temperature - p.ambient_temperature < 1e-2)
    assert np.allclose(op.optical_power, isothermal_power(chip, current), rtol=1e-5)


def test_self_heating_is_self_consistent(chip):
    p = chip.params
    current = np.array([5e-3, 20e-3, 50e-3])
    op = chip.steady_state(current)
    rise = op.junction_temperature - p.ambient_temperature
    assert np.all(rise > 5)
    assert np.allclose(rise, p.thermal_resistance * (current * op.voltage - op.optical_power),
                       rtol=1e-9)
    cold = MicroLED(ChipParameters(**{**p.to_dict(), "thermal_resistance": 1e-12}))
    cold_op = cold.steady_state(current)
    assert np.allclose(op.voltage, cold_op.voltage + p.voltage_temperature_coefficient * rise,
                       rtol=1e-9)
    droop = np.exp(-rise / p.characteristic_temperature)
    assert np.allclose(op.optical_power, isothermal_power(chip, current) * droop, rtol=1e-9)
    assert isinstance(op, OperatingPoint) and op.carrier_density.shape == current.shape


def test_current_at_voltage_inverts_steady_state(chip):
    p = chip.params
    voltage = np.array([-5.0, -0.1, 0.0, 1.0, 2.5, 3.0, 4.0, 8.0])
    current = chip.current_at_voltage(voltage)
    assert np.all(np.diff(current) > 0)
    assert np.allclose(chip.steady_state(current).voltage, voltage, rtol=1e-9, atol=1e-12)
    # reverse bias: saturation current plus shunt leakage
    assert current[0] == pytest.approx(-p.saturation_current - 5.0 / p.shunt_resistance, rel=1e-6)


def test_thermal_runaway_gives_nan():
    hot = MicroLED(ChipParameters(voltage_temperature_coefficient=1e-2, thermal_resistance=1e4))
    op = hot.steady_state(np.array([1e-4, 2e-2]))
    assert np.isfinite(op.voltage[0]) and np.isnan(op.junction_temperature[1])


def test_sidewall_formula_and_area():
    assert ChipParameters.sidewall_a_coeff(1e6, 1.0, 20e-6) == pytest.approx(1e6 + 2e5)
    assert ChipParameters(diameter=2e-6).area == pytest.approx(math.pi * 1e-12)


# -- dynamics ---------------------------------------------------------------------------------
def test_differential_lifetime_is_dn_dg(chip):
    p = chip.params
    volume = p.area * p.active_thickness
    for current in (1e-6, 1e-4, 1e-2):
        di = current * 1e-6
        dn = chip.carrier_density(current + di) - chip.carrier_density(current - di)
        dg = p.injection_efficiency * 2 * di / (sc.e * volume)
        assert dn / dg == pytest.approx(chip.differential_lifetime(current), rel=1e-6)


def test_f3db_single_pole_and_two_poles(chip):
    fast = MicroLED(ChipParameters(**{**chip.params.to_dict(), "capacitance": 1e-30}))
    current = np.array([1e-5, 1e-3, 1e-2])
    tau = fast.differential_lifetime(current)
    assert np.allclose(fast.f3db(current), 1 / (2 * np.pi * tau), rtol=1e-9)
    assert np.allclose(fast.f3db(current, level=0.5), np.sqrt(3) / (2 * np.pi * tau), rtol=1e-9)
    for level in (1 / math.sqrt(2), 0.5, 0.1):
        f = chip.f3db(current, level=level)
        assert np.allclose(np.abs(chip.small_signal_response(f, current)), level, rtol=1e-9)
    assert chip.small_signal_response(0.0, 1e-3) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        chip.f3db(1e-3, level=1.0)


def test_waveform_small_step_rise_time_matches_f3db(chip):
    for low in (1e-4, 2e-3):
        high = low * 1.01
        tau = float(chip.differential_lifetime(low))
        dt = tau / 50
        t = np.arange(int(40 * tau / dt)) * dt
        current = np.where(t < 5 * tau, low, high)
        power = chip.optical_power_waveform(t, current)
        expected = 0.35 / float(chip.f3db(0.5 * (low + high)))
        assert rise_time(t, power) == pytest.approx(expected, rel=0.05)


def test_waveform_settles_to_isothermal_steady_state(chip):
    t = np.arange(4000) * 20e-12
    current = np.where(t < 20e-9, 1e-4, 3e-3)
    power = chip.optical_power_waveform(t, current)
    assert power[0] == pytest.approx(isothermal_power(chip, 1e-4), rel=1e-9)
    assert power[-1] == pytest.approx(isothermal_power(chip, 3e-3), rel=1e-6)
    cold = MicroLED(ChipParameters(**{**chip.params.to_dict(), "thermal_resistance": 1e-12}))
    assert power[-1] == pytest.approx(float(cold.steady_state(3e-3).optical_power), rel=1e-6)
    flat = chip.optical_power_waveform(t, np.full(t.size, 1e-3))
    assert np.allclose(flat, isothermal_power(chip, 1e-3), rtol=1e-12)


@pytest.mark.parametrize("dt", [20e-12, 100e-12, 500e-12])
def test_waveform_large_signal_matches_ode_reference(chip, dt):
    """Square-wave drive vs a tight Radau solution of the same RC + carrier equations."""
    p = chip.params
    t = np.arange(int(40e-9 / dt)) * dt
    current = np.where((t // 10e-9) % 2 == 0, 5e-5, 4e-3)
    power = chip.optical_power_waveform(t, current)
    volume, rc = p.area * p.active_thickness, chip.rc_time_constant()

    def rhs(time_, y):
        i_j, n = y
        generation = p.injection_efficiency * i_j / (sc.e * volume)
        recombination = p.a_coeff * n + p.b_coeff * n**2 + p.c_coeff * n**3
        return [(np.interp(time_, t, current) - i_j) / rc, generation - recombination]

    n0 = float(chip.carrier_density(current[0]))
    sol = solve_ivp(rhs, (0, t[-1]), [current[0], n0], method="Radau", t_eval=t, rtol=1e-10,
                    atol=[1e-15, n0 * 1e-9], max_step=dt)
    reference = p.extraction_efficiency * p.b_coeff * sol.y[1] ** 2 * volume * chip.photon_energy
    assert np.max(np.abs(power - reference)) < 3e-3 * reference.max()


def test_waveform_handles_a_million_samples():
    chip = MicroLED()
    t = np.arange(1_000_000) * 10e-12
    current = np.where((t // 10e-9) % 2 == 0, 1e-4, 2e-3)
    power = chip.optical_power_waveform(t, current)
    assert np.all(np.isfinite(power)) and power.shape == t.shape


def test_waveform_rejects_bad_sampling():
    chip = MicroLED()
    with pytest.raises(ValueError, match="uniformly"):
        chip.optical_power_waveform(np.array([0.0, 1e-9, 3e-9]), np.ones(3) * 1e-3)
    with pytest.raises(ValueError, match="equal length"):
        chip.optical_power_waveform(np.arange(3) * 1e-9, np.ones(4) * 1e-3)


# -- parameters and noise ---------------------------------------------------------------------
def test_from_mapping_round_trip_and_errors():
    params = ChipParameters.from_mapping(OTHER)
    assert ChipParameters.from_mapping(params.to_dict()) == params
    assert ChipParameters.from_mapping({"diameter": 30e-6, "seed": 7}).seed == 7
    with pytest.raises(ValueError, match=r"diametr.*valid keys:.*diameter"):
        ChipParameters.from_mapping({"diametr": 1e-5})
    with pytest.raises(ValueError, match="a_coeff must be > 0"):
        ChipParameters.from_mapping({"a_coeff": -1e7})
    with pytest.raises(ValueError, match="capacitance must be a finite number"):
        ChipParameters.from_mapping({"capacitance": True})
    with pytest.raises(ValueError, match="must be a finite number"):
        ChipParameters.from_mapping({"diameter": "20e-6"})
    with pytest.raises(ValueError, match=r"extraction_efficiency must be in \(0, 1\]"):
        ChipParameters.from_mapping({"extraction_efficiency": 1.2})
    with pytest.raises(ValueError, match="seed"):
        ChipParameters.from_mapping({"seed": 1.5})
    assert ChipParameters.from_mapping({"voltage_temperature_coefficient": 2e-3, "noise": 0})


def test_noise_source_is_reproducible():
    values = np.linspace(1.0, 2.0, 50)
    a, b = NoiseSource(3), NoiseSource(3)
    assert np.array_equal(a.relative(values, 1e-2), b.relative(values, 1e-2))
    assert np.array_equal(a.absolute(values, 1e-3), b.absolute(values, 1e-3))
    noisy = NoiseSource(4).relative(np.full(100_000, 2.0), 1e-2)
    assert np.std(noisy / 2.0 - 1) == pytest.approx(1e-2, rel=0.02)
    assert not np.array_equal(NoiseSource(5).relative(values, 1e-2), a.relative(values, 1e-2))
    chip = MicroLED(ChipParameters(noise=0.0))
    assert np.array_equal(chip.noisy(values), values)
