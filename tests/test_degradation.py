"""The simulated chip's ageing: optical output decaying as exp(-k t) over simulated time with k
from the acceleration law's closed form (power law in current density, Arrhenius in junction
temperature), the forward voltage and the leakage drifting, and the law's input validated."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import constants as sc

from sim_instruments.backend import SimulatedWorld
from sim_instruments.chip import ChipParameters
from sim_instruments.degradation import Degradation
from tests.manual_clock import ManualClock

LAW = {"decay_rate": 1e-4, "reference_current_density": 2e7, "current_exponent": 2.0,
       "activation_energy": 0.6, "reference_temperature": 330.0}


def expected_rate(world, current):
    """k = k_ref (J / J_ref)^m exp(-(Ea / k_B)(1 / Tj - 1 / T_ref)), written here."""
    chip = world.chip_at(world.stage_temperature())
    tj = chip.steady_state(np.array([current])).junction_temperature[0]
    j = current / (math.pi * chip.params.diameter ** 2 / 4)
    return LAW["decay_rate"] * (j / LAW["reference_current_density"]) ** 2 * math.exp(
        -LAW["activation_energy"] * sc.e / sc.k * (1 / tj - 1 / LAW["reference_temperature"]))


def aged_world(**chip) -> SimulatedWorld:
    return SimulatedWorld(chip_params=ChipParameters(noise=0.0, **chip),
                          degradation=Degradation(**LAW), clock=ManualClock())


def measured_rate(current, ambient=298.15, duration=3000.0):
    world = aged_world(ambient_temperature=ambient)
    world.apply(current, 3.0)
    times, powers = [], []
    for _ in range(6):
        times.append(world.time())
        powers.append(world.chip.steady_state(np.array([current])).optical_power[0])
        world.clock.sleep(duration / 5)
    return world, -np.polyfit(times, np.log(powers), 1)[0]


def test_output_decays_at_the_laws_rate():
    world, rate = measured_rate(5e-3)
    assert rate == pytest.approx(expected_rate(world, 5e-3), rel=0.03)


def test_current_and_temperature_accelerate_as_the_closed_forms_say():
    low, rate_low = measured_rate(2.5e-3, duration=20000.0)
    high, rate_high = measured_rate(5e-3)
    hot, rate_hot = measured_rate(2.5e-3, ambient=358.15, duration=8000.0)
    assert rate_high / rate_low == pytest.approx(
        expected_rate(high, 5e-3) / expected_rate(low, 2.5e-3), rel=0.04)
    assert rate_hot / rate_low == pytest.approx(
        expected_rate(hot, 2.5e-3) / expected_rate(low, 2.5e-3), rel=0.04)
    assert rate_high / rate_low > 4  # m = 2, plus the hotter junction


def test_no_current_no_ageing_and_voltage_and_leakage_drift():
    world = SimulatedWorld(chip_params=ChipParameters(noise=0.0), clock=ManualClock(),
                           degradation=Degradation(**{**LAW, "leakage_growth": 3.0}))
    fresh = world.chip
    world.clock.sleep(1000.0)
    assert world.damage() == 0 and world.chip is fresh
    world.apply(5e-3, 3.0)
    world.clock.sleep(2000.0)
    world.apply(0.0, 0.0)
    damage = world.damage()
    assert damage == pytest.approx(2000.0 * expected_rate(world, 5e-3), rel=1e-9)
    world.clock.sleep(1000.0)
    assert world.damage() == damage  # held while the current flowed only
    aged = world.chip
    leak = [float(c.current_at_voltage(np.array([-5.0]))[0]) for c in (fresh, aged)]
    assert leak[1] / leak[0] == pytest.approx(math.exp(3.0 * damage), rel=1e-3)
    volts = [float(c.steady_state(np.array([5e-3])).voltage[0]) for c in (fresh, aged)]
    assert volts[1] > volts[0]


@pytest.mark.parametrize("bad", [{"decay_rate": -1.0}, {"decay_rate": float("nan")},
                                 {"activation_energy": "0.5"}, {"bogus": 1.0},
                                 {"initial_damage": -0.1}])
def test_a_bad_law_is_refused(bad):
    with pytest.raises(ValueError):
        SimulatedWorld.from_config({"degradation": bad})


@pytest.mark.parametrize("bad", [{"speed": 0}, {"speed": -2.0}, {"speed": float("inf")},
                                 {"speed": 1e12}, {"rate": 2.0}, 5])
def test_a_bad_clock_is_refused(bad):
    with pytest.raises(ValueError):
        SimulatedWorld.from_config({"clock": bad})
