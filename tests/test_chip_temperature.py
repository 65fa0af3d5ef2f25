"""The simulated chip over its base temperature: the forward voltage's temperature coefficient
against the diode law's closed form, the recombination coefficients' power laws, the light output
falling, and the reference temperature leaving the given coefficients as they are."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import constants as sc

from sim_instruments.chip import ChipParameters, MicroLED

K_EV = sc.k / sc.e


def gap(t, p):
    """Varshni, written here: E(T) = E0 - a T^2 / (T + b), through p.bandgap at T_ref."""
    e0 = p.bandgap + p.varshni_alpha * p.reference_temperature ** 2 / (
        p.reference_temperature + p.varshni_beta)
    return e0 - p.varshni_alpha * t * t / (t + p.varshni_beta)


@pytest.mark.parametrize("current", [1e-5, 1e-3])
def test_dvf_dt_is_the_diode_laws(current):
    p = ChipParameters(noise=0.0)
    t, h = 330.0, 0.01
    volts = [MicroLED(p.at_temperature(t + d)).steady_state(np.array([current]), heating=0)
             .voltage[0] for d in (-h, h)]
    measured = (volts[1] - volts[0]) / (2 * h)
    vj = MicroLED(p.at_temperature(t)).steady_state(np.array([current]), heating=0).voltage[0] \
        - current * p.series_resistance
    slope = -p.varshni_alpha * t * (t + 2 * p.varshni_beta) / (t + p.varshni_beta) ** 2
    # dV/dT = (V_j - E_g/q) / T - 3 k / q + (dE_g/dT) / q  (Schubert, LEDs, ch. 6)
    expected = (vj - gap(t, p)) / t - 3 * K_EV + slope
    assert measured == pytest.approx(expected, rel=2e-3)
    assert -4e-3 < measured < -1e-3  # a few mV/K


def test_recombination_coefficients_follow_their_power_laws():
    p = ChipParameters()
    hot = p.at_temperature(1.25 * p.reference_temperature)
    assert hot.a_coeff == pytest.approx(p.a_coeff * 1.25)
    assert hot.b_coeff == pytest.approx(p.b_coeff / 1.25)
    assert hot.c_coeff == pytest.approx(p.c_coeff * 1.25)
    assert hot.ambient_temperature == pytest.approx(1.25 * p.reference_temperature)


def test_the_reference_temperature_keeps_the_given_coefficients():
    p = ChipParameters()
    assert p.at_temperature(p.reference_temperature) == p


def test_light_output_falls_with_a_characteristic_temperature():
    p = ChipParameters(noise=0.0)
    current = np.array([1e-3])
    powers = [MicroLED(p.at_temperature(t)).steady_state(current).optical_power[0]
              for t in (298.15, 323.15, 348.15)]
    assert powers[0] > powers[1] > powers[2]
    t0 = 25.0 / math.log(powers[0] / powers[1])
    assert 50 < t0 < 2000  # K, the range measured on InGaN LEDs


@pytest.mark.parametrize("bad", [0.0, -10.0, float("nan"), 5000.0])
def test_a_temperature_outside_the_models_bounds_is_refused(bad):
    with pytest.raises(ValueError):
        ChipParameters().at_temperature(bad)


def test_with_the_diode_law_self_heating_the_forward_voltage_method_finds_r_th():
    p = ChipParameters(noise=0.0, self_heating_diode_law=True)
    chip, current = MicroLED(p), np.array([10e-3])
    hot, cold = chip.steady_state(current), chip.steady_state(current, heating=0)
    h = 0.5  # K: the stage law's dV/dT at this current, by a finite difference
    stage = [MicroLED(p.at_temperature(p.ambient_temperature + d)).steady_state(
        current, heating=0).voltage[0] for d in (-h, h)]
    k = (stage[1] - stage[0]) / (2 * h)
    rise = (hot.voltage[0] - cold.voltage[0]) / k  # JESD51-1's electrical test method
    power = current[0] * hot.voltage[0] - hot.optical_power[0]
    assert rise / power == pytest.approx(p.thermal_resistance, rel=1e-3)
    assert hot.voltage[0] < cold.voltage[0]  # the heated junction needs less voltage
    assert not MicroLED(ChipParameters()).params.self_heating_diode_law  # default: as before


def test_the_self_heating_law_flag_is_a_boolean():
    with pytest.raises(ValueError, match="self_heating_diode_law"):
        ChipParameters(self_heating_diode_law=1)
