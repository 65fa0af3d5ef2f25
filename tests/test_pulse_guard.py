"""PulseGuard (bench/safety.py): a PulseGenerator's peak bias + 2 (high - low) / (R_source + Z)
and its duty cycle width / period against the sample's limits, before anything is sent; and the
simulated 33500B's own record of what reached the chip (world.drive_history)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.runner import guard_for
from bench.safety import DriveMonitor, PulseGuard, SafeLimits, SourceGuard
from common.errors import LimitError
from drivers.keysight_33500b import Keysight33500B
from drivers.roles import PulseGenerator
from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from tests.test_safety import FakeSource

LIMITS = SafeLimits(max_current=5e-3, max_voltage=5.0, max_pulse_current=20e-3,
                    max_duty_cycle=0.1)


def guarded(limits=LIMITS, bias=2e-3):
    drive = DriveMonitor(modulation_impedance=50.0)
    smu = SourceGuard(FakeSource(), limits, drive)
    drive.sources.append(smu)
    smu.configure_current_source(voltage_limit=4.0)
    smu.output_on()
    smu.set_current(bias)
    generator = FakeSource()
    return PulseGuard(generator, limits, drive), generator, smu


def test_the_runner_guards_the_pulse_generator_role():
    assert isinstance(guard_for(PulseGenerator, FakeSource(), LIMITS,
                                DriveMonitor(modulation_impedance=50.0)), PulseGuard)


def test_a_pulse_above_max_current_needs_a_duty_cycle_within_max_duty_cycle():
    pulse, generator, _ = guarded()
    # 2 x 0.5 V / (50 + 50) ohm = 10 mA on 2 mA: a 12 mA peak, above max_current 5 mA
    with pytest.raises(LimitError, match="max_current 0.005 A"):
        pulse.set_pulse(high=0.5, low=0.0, width=2e-6, period=10e-6)  # duty 0.2
    assert generator.calls == []
    pulse.set_pulse(high=0.5, low=0.0, width=1e-6, period=10e-6)  # duty 0.1: allowed
    assert generator.calls[-1][0] == "set_pulse"
    pulse.output_on()
    assert generator.calls[-1][0] == "output_on"


def test_the_peak_is_bounded_by_max_pulse_current_at_any_duty_cycle():
    pulse, generator, _ = guarded()
    # 2 x 1 V / 100 ohm = 20 mA on 2 mA: 22 mA > max_pulse_current 20 mA
    with pytest.raises(LimitError, match="max_pulse_current 0.02 A"):
        pulse.set_pulse(high=1.0, low=0.0, width=0.1e-6, period=10e-6)
    assert generator.calls == []


def test_within_max_current_any_duty_cycle_is_allowed():
    pulse, generator, _ = guarded()
    pulse.set_pulse(high=0.1, low=0.0, width=9e-6, period=10e-6)  # 2 + 2 mA at duty 0.9
    assert generator.calls[-1][0] == "set_pulse"


def test_bad_pulses_and_an_unset_pulse_are_refused():
    pulse, generator, _ = guarded()
    with pytest.raises(LimitError, match="high > low"):
        pulse.set_pulse(high=0.0, low=0.1, width=1e-6, period=10e-6)
    with pytest.raises(LimitError, match="0 < width < period"):
        pulse.set_pulse(high=0.1, low=0.0, width=10e-6, period=10e-6)
    with pytest.raises(LimitError, match="0 < width < period"):
        pulse.set_pulse(high=0.1, low=0.0, width=float("nan"), period=10e-6)
    with pytest.raises(LimitError, match="set the pulse"):
        pulse.output_on()
    assert generator.calls == []


def test_raising_the_bias_under_running_pulses_is_refused():
    pulse, _, smu = guarded(bias=1e-3)
    pulse.set_pulse(high=0.8, low=0.0, width=1e-6, period=10e-6)  # 1 + 16 mA, duty 0.1
    pulse.output_on()
    with pytest.raises(LimitError, match="max_pulse_current"):
        smu.set_current(5e-3)  # 5 + 16 mA > 20 mA


def test_the_simulated_33500b_drives_the_chip_with_the_guarded_peak():
    """The simulation's own drive circuit (2 V / (50 + Z + r_d)) keeps the chip's current
    below the guard's bound (r_d = 0), and above it by no more than r_d accounts for."""
    world = SimulatedWorld()
    resource = "USB0::0x0957::0x2307::MY52800123::INSTR"
    manager = open_simulated_bench({resource: "keysight_33500b"}, world)
    try:
        driver = Keysight33500B(manager.open_resource(resource), name="generator")
        driver.connect()
        limits = SafeLimits(max_current=20e-3, max_voltage=5.0)
        drive = DriveMonitor(modulation_impedance=world.setup.bias_tee.modulation_impedance)
        pulse = PulseGuard(driver, limits, drive)
        pulse.set_pulse(high=0.4, low=-0.4, width=1e-6, period=10e-6, edge=20e-9)
        pulse.output_on()
        low, high = world.drive_history[-1]
        bound = 2 * 0.8 / (50.0 + world.setup.bias_tee.modulation_impedance)
        assert 0 < high - low <= bound
        assert high - low == pytest.approx(
            2 * 0.8 / (100.0 + world.chip_resistance()), rel=1e-9)
        # duty 0.1: the AC part is +0.9 and -0.1 of the swing around the blocked mean
        assert high / (high - low) == pytest.approx(0.9, rel=1e-6)
        pulse.output_off()
        assert np.isclose(world.drive_history[-1][1] - world.drive_history[-1][0], 0.0)
    finally:
        manager.close()


@pytest.mark.parametrize("order", [7, 9, 11])
def test_the_simulated_prbs_is_maximal_and_starts_with_n_ones(order):
    """33500 Series Operating and Service Guide (FUNCtion:PRBS:DATA): PN<n> is a shift
    register of n bits whose output begins with n periods high; a maximal sequence holds every
    non-zero n-bit word exactly once per period."""
    from sim_instruments.models.keysight_33500b import maximal_sequence

    bits = maximal_sequence(order)
    assert bits.size == 2**order - 1 and bits[:order].all()
    cyclic = np.concatenate([bits, bits[:order - 1]])
    words = {int("".join(map(str, cyclic[k:k + order])), 2) for k in range(bits.size)}
    assert words == set(range(1, 2**order))


def test_a_33500b_found_driving_the_chip_is_seen_and_switched_off():
    """A generator left on by a killed run (simulation: initial_state) modulates the chip
    until the driver's output_off; a start state it could not hold is refused."""
    world = SimulatedWorld(initial_state={"generator": {"output": True, "high": 0.5,
                                                        "low": 0.0}})
    resource = "USB0::0x0957::0x2307::MY52800123::INSTR"
    manager = open_simulated_bench({resource: "keysight_33500b"}, world,
                                   names={resource: "generator"})
    try:
        driver = Keysight33500B(manager.open_resource(resource), name="generator")
        driver.connect()
        assert driver.output_enabled() and "high 0.5 V" in driver.describe_output()
        low, high = world.drive_history[-1]
        assert high - low > 0
        driver.output_off()
        assert world.drive_history[-1][1] - world.drive_history[-1][0] == 0.0
    finally:
        manager.close()
    from sim_instruments.models.keysight_33500b import Keysight33500BModel

    with pytest.raises(ValueError, match="high - low"):
        Keysight33500BModel.check_initial_state("generator", {"high": 0.0, "low": 0.5})
