"""The simulated drive circuit against its closed form, and the simulated instruments' start states.

Known truth: DESIGN.md's circuit, written here from scratch: a 50 ohm generator programmed to V
(into 50 ohm) has EMF 2 V; through the bias tee's Z into the chip of small-signal resistance r_d
its AC current is 2 V / (50 + Z + r_d). r_d comes from the chip's own parameters by a finite
difference of the isothermal Shockley diode plus series resistance. A VNA port of P dBm has an
incident amplitude sqrt(2 P 50).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import constants as sc

from common.passive import Setup
from drivers.keithley2450 import Keithley2450
from drivers.keysight_81134a import Keysight81134A
from drivers.keysight_e5071c import KeysightE5071C
from drivers.keysight_infiniium import KeysightInfiniium
from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from sim_instruments.chip import ChipParameters

RESOURCES = {"smu": ("USB0::0x05E6::0x2450::04400001::INSTR", "keithley2450", Keithley2450),
             "vna": ("TCPIP0::192.168.1.20::inst0::INSTR", "keysight_e5071c", KeysightE5071C),
             "scope": ("TCPIP0::192.168.1.21::hislip0::INSTR", "keysight_infiniium",
                       KeysightInfiniium),
             "generator": ("GPIB0::10::INSTR", "keysight_81134a", Keysight81134A)}
BIAS = 5e-3


def chip_resistance(params: ChipParameters, current: float) -> float:
    """dV/dI of V = n kT/q ln(1 + I / I_s) + I R_s at ``current``, central difference."""
    nvt = params.ideality_factor * sc.k * params.ambient_temperature / sc.e
    step = 1e-6 * current
    volts = [nvt * math.log1p(i / params.saturation_current) + i * params.series_resistance
             for i in (current - step, current + step)]
    return (volts[1] - volts[0]) / (2 * step)


def open_bench(world: SimulatedWorld, names=("smu", "generator", "vna", "scope")):
    manager = open_simulated_bench({RESOURCES[n][0]: RESOURCES[n][1] for n in names}, world,
                                   names={RESOURCES[n][0]: n for n in names})
    drivers = {}
    for name in names:
        driver = RESOURCES[name][2](manager.open_resource(RESOURCES[name][0]), name=name)
        driver.connect()
        drivers[name] = driver
    return manager, drivers


@pytest.fixture
def bench_factory():
    managers = []

    def make(world, names=("smu", "generator", "vna", "scope")):
        manager, drivers = open_bench(world, names)
        managers.append(manager)
        return drivers

    yield make
    for manager in managers:
        manager.close()


@pytest.mark.parametrize("impedance", [50.0, 500.0])
def test_generator_current_is_2v_over_50_plus_z_plus_rd(bench_factory, impedance):
    world = SimulatedWorld(ChipParameters(), setup=Setup.from_mapping(
        {"bias_tee": {"modulation_impedance": impedance}}))
    drivers = bench_factory(world)
    smu, generator = drivers["smu"], drivers["generator"]
    smu.configure_current_source(voltage_limit=6.0)
    smu.set_current(BIAS)
    smu.output_on()
    high, low = 0.3, -0.1
    generator.set_levels(high=high, low=low)
    generator.set_square(100e6)  # 50 % duty: the tee's capacitor takes the mean, (high + low) / 2
    generator.output_on()
    expected = (high - low) / 2 * 2 / (50 + impedance + chip_resistance(world.chip_params, BIAS))
    lowest, highest = world.drive_history[-1]
    assert highest - BIAS == pytest.approx(expected, rel=1e-3)
    assert BIAS - lowest == pytest.approx(expected, rel=1e-3)
    # what r_d = 0 (the guard's bound) and V / Z (the old, wrong circuit) would have given
    assert highest - BIAS < (high - low) / (50 + impedance)
    assert abs((highest - BIAS) - (high - low) / 2 / impedance) > 0.05 * expected
    generator.output_off()
    assert world.drive_history[-1] == (BIAS, BIAS)


@pytest.mark.parametrize("impedance", [50.0, 500.0])
def test_scope_sees_the_circuit_current_in_the_light(bench_factory, impedance):
    """The optical channel's settled levels are the chip's light at bias -+ the closed-form
    current (a long square: settled within each half period)."""
    world = SimulatedWorld(ChipParameters(noise=0.0), setup=Setup.from_mapping(
        {"bias_tee": {"modulation_impedance": impedance}}))
    drivers = bench_factory(world)
    smu, generator, scope = drivers["smu"], drivers["generator"], drivers["scope"]
    smu.configure_current_source(voltage_limit=6.0)
    smu.set_current(BIAS)
    smu.output_on()
    generator.set_levels(high=0.5, low=0.0)
    generator.set_square(15e6)
    generator.output_on()
    swing = 0.25 * 2 / (50 + impedance + chip_resistance(world.chip_params, BIAS))
    gain = world.setup.photoreceiver.gain
    chip = world.chip
    light = [gain * float(chip.optical_power_waveform(np.array([0.0, 1e-9]), np.full(2, i))[0])
             for i in (BIAS - swing, BIAS + swing)]
    wiring = world.setup.oscilloscope
    scope.configure_channel(wiring.optical_channel, scale=(light[1] - light[0]) / 6,
                            offset=sum(light) / 2)
    scope.configure_channel(wiring.drive_channel, scale=0.1, offset=0.25)
    scope.configure_timebase(scale=5e-9, position=20e-9, sample_rate=4e9, points=800)
    scope.configure_edge_trigger(channel=wiring.drive_channel, level=0.25)
    scope.set_averaging(16)
    scope.acquire()
    optical = scope.fetch_waveform(wiring.optical_channel)
    settled_high = np.median(optical.volts[(optical.time > 15e-9) & (optical.time < 30e-9)])
    settled_low = np.median(optical.volts[(optical.time > -25e-9) & (optical.time < -5e-9)])
    step = light[1] - light[0]
    assert settled_high == pytest.approx(light[1], abs=0.02 * step)
    assert settled_low == pytest.approx(light[0], abs=0.02 * step)
    drive = scope.fetch_waveform(wiring.drive_channel)  # 50 ohm input: the programmed level
    assert np.median(drive.volts[drive.time > 10e-9]) == pytest.approx(0.5, abs=5e-3)


def test_drive_monitor_into_1_mohm_shows_the_emf(bench_factory):
    world = SimulatedWorld(ChipParameters())
    drivers = bench_factory(world, names=("generator", "scope"))
    generator, scope = drivers["generator"], drivers["scope"]
    generator.set_levels(high=0.4, low=0.0)
    generator.set_square(15e6)
    generator.output_on()
    channel = world.setup.oscilloscope.drive_channel
    scope.configure_channel(channel, scale=0.2, offset=0.4, impedance="1M")
    scope.configure_timebase(scale=5e-9, position=20e-9, sample_rate=4e9, points=800)
    scope.configure_edge_trigger(channel=channel, level=0.4)
    scope.acquire()
    drive = scope.fetch_waveform(channel)
    assert np.median(drive.volts[drive.time > 10e-9]) == pytest.approx(0.8, abs=5e-3)


@pytest.mark.parametrize("impedance", [50.0, 500.0])
def test_vna_port_power_drives_sqrt_2p50_through_the_circuit(bench_factory, impedance):
    world = SimulatedWorld(ChipParameters(), setup=Setup.from_mapping(
        {"bias_tee": {"modulation_impedance": impedance}}))
    drivers = bench_factory(world, names=("smu", "vna"))
    smu, vna = drivers["smu"], drivers["vna"]
    smu.configure_current_source(voltage_limit=6.0)
    smu.set_current(BIAS)
    smu.output_on()
    vna.configure_s21(start=1e6, stop=1e9, points=11, if_bandwidth=1e3, power=-10)
    vna.output_on()
    amplitude = math.sqrt(2 * 1e-3 * 10 ** (-10 / 10) * 50)  # 0.1 V
    expected = 2 * amplitude / (50 + impedance + chip_resistance(world.chip_params, BIAS))
    lowest, highest = world.drive_history[-1]
    assert highest - BIAS == pytest.approx(expected, rel=1e-3)
    assert BIAS - lowest == pytest.approx(expected, rel=1e-3)


# -- start states ---------------------------------------------------------------------------------
def test_instruments_start_in_the_given_state(bench_factory):
    world = SimulatedWorld.from_config({"initial_state": {
        "smu": {"output": True, "function": "CURR", "level": 5e-3, "limit": 6.0},
        "generator": {"output": True, "high": 0.4, "low": 0.0},
        "vna": {"output": True, "power": -5.0, "options": "2K5"}}},
        models={"smu": "keithley2450", "generator": "keysight_81134a",
                "vna": "keysight_e5071c"})
    drivers = bench_factory(world, names=("smu", "generator", "vna"))
    assert world.commands[:2] == [("smu", "*IDN?"), ("smu", "*CLS")]  # nothing sent before
    assert world.current_history[0] == 5e-3  # the chip carried the current from the start
    assert drivers["smu"].output_enabled() and drivers["smu"].read_source() == ("CURR", 5e-3)
    assert drivers["smu"].voltage_limit == 6.0
    assert drivers["generator"].output_enabled()
    assert (drivers["generator"].high_level, drivers["generator"].low_level) == (0.4, 0.0)
    assert drivers["vna"].output_enabled() and drivers["vna"].source_power == -5.0
    assert world.max_drive_current > 5e-3  # the modulation is on the bias from the start
    drivers["smu"].output_off()
    drivers["generator"].output_off()
    drivers["vna"].output_off()
    assert world.current_history[-1] == 0.0 and world.drive_history[-1] == (0.0, 0.0)


@pytest.mark.parametrize("state, message", [
    ({"smu": 5}, "initial_state.smu must be a mapping"),
    ({"smu": {"outptu": True}}, "unknown key(s) outptu"),
    ({"smu": {"output": "yes"}}, "output must be true or false"),
    ({"smu": {"level": float("nan")}}, "level must be a finite number"),
    ({"smu": {"level": 10**400}}, "level must be within"),
    ({"smu": {"function": "CURR", "level": 2.0}}, "outside +-1.05 A"),
    ({"smu": {"function": "VOLT", "limit": 2.0}}, "limit=2 is outside [1e-09, 1.05] A"),
    ({"smu": {"function": "RES"}}, "function must be one of CURR, VOLT"),
    ({"generator": {"high": 0.02, "low": 0.0}}, "amplitude high - low = 0.02 V"),
    ({"generator": {"high": -2.2, "low": -2.5}}, "high=-2.2 V is outside the level window"),
    ({"vna": {"options": "999"}}, "names no E5071C test-set option"),
    ({"vna": {"power": 20}}, "power must be in [-55, 10]"),
    ({"vna": {"options": 285}}, "options must be a short non-empty string"),
    ({"power_meter": {"output": True}}, "takes no start state"),
    ({"ghost": {"output": True}}, "no simulated instrument named ghost"),
    ([1, 2], "initial_state must be a mapping"),
])
def test_bad_start_states_are_refused_with_one_line(state, message):
    models = {"smu": "keithley2450", "generator": "keysight_81134a", "vna": "keysight_e5071c",
              "power_meter": "thorlabs_pm100d"}
    with pytest.raises(ValueError) as info:
        SimulatedWorld.from_config({"initial_state": state}, models=models)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_start_state_is_checked_when_its_instrument_is_built():
    world = SimulatedWorld.from_config({"initial_state": {"smu": {"power": -10.0}}})  # a VNA's
    with pytest.raises(ValueError, match=r"smu: unknown key\(s\) power"):
        open_simulated_bench({RESOURCES["smu"][0]: "keithley2450"}, world,
                             names={RESOURCES["smu"][0]: "smu"})


@pytest.mark.parametrize("state", [{"output": True, "level": 5.0},
                                   {"output": True, "high": 6.0, "low": 0.0},
                                   {"power": 50.0}, {"colour": "red"}])
def test_a_start_state_no_model_can_take_is_refused_before_any_instrument(state):
    with pytest.raises(ValueError, match=r"initial_state.dut fits no simulated model \("):
        SimulatedWorld.from_config({"initial_state": {"dut": state}})
