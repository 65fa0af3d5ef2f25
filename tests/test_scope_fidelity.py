"""Fidelity of the simulated Infiniium's analogue chain: records against the analytic chain.

Known truth: the simulated chip's small-signal response (MicroLED.small_signal_response), the
photoreceiver's pole (common.passive.Photoreceiver.response), the scope's front-end pole at
KeysightInfiniiumModel.BANDWIDTH and the 81134A's linear edge (DriveSignal.ramp); their step
response comes from an inverse FFT on a 0.25 ps grid, independent of the simulator's time-domain
code. Steps are small-signal: 50 mV (the generator's minimum swing) from its 50 ohm source (EMF
twice the level) through a 1 kohm bias tee into the chip is ~95 uA on a 10 mA bias. Crossings
are read on equivalent-time records (:func:`acquire_step`):
linear interpolation between samples 100 ps apart would itself lengthen a 330 ps rise by ~4 %.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from pyvisa import rname
from scipy import constants as sc

from common.passive import Setup
from drivers.keithley2450 import Keithley2450
from drivers.keysight_81134a import Keysight81134A
from drivers.keysight_infiniium import KeysightInfiniium
from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from sim_instruments.chip import ChipParameters
from sim_instruments.models.keysight_infiniium import KeysightInfiniiumModel

RESOURCES = {"smu": ("USB0::0x05E6::0x2450::04400001::INSTR", "keithley2450", Keithley2450),
             "scope": ("TCPIP0::192.168.1.21::hislip0::INSTR", "keysight_infiniium",
                       KeysightInfiniium),
             "generator": ("GPIB0::10::INSTR", "keysight_81134a", Keysight81134A)}
FAST_CHIP = {"diameter": 10e-6, "series_resistance": 50.0, "capacitance": 0.3e-12}
BIAS = 10e-3
SMALL_SIGNAL = {"bias_tee": {"modulation_impedance": 1000.0}}
SWING = 0.05  # V, the 81134A's minimum
# a chip far faster than the scope (lifetime ~10 ps, RC 0.05 ps) seen by a 200 GHz receiver:
# its light has the generator's edge shape, so the scope's front end delays both channels alike
INSTANT_CHIP = {"diameter": 10e-6, "a_coeff": 1e11, "capacitance": 1e-15,
                "series_resistance": 50.0}
INSTANT_RECEIVER = {"bandwidth": 200e9, "transimpedance": 2e5}  # x100 gain: that chip is dim
CABLES = [{}, {"drive_delay": 3.3e-9, "monitor_delay": 0.1e-9, "receiver_delay": 5.2e-9}]
RATES = [10e9, 16e9]


@pytest.fixture
def scope_bench():
    """Factory ``scope_bench(setup, **chip)``: a simulated world with a connected 2450, Infiniium
    and 81134A; ``bench.generator_signal()`` is the generator model's present output."""
    managers = []

    def make(setup, **chip) -> SimpleNamespace:
        world = SimulatedWorld(ChipParameters(**chip), setup=Setup.from_mapping(setup))
        manager = open_simulated_bench({r: model for r, model, _ in RESOURCES.values()}, world)
        managers.append(manager)
        bench = SimpleNamespace(world=world)
        for name, (resource, _, cls) in RESOURCES.items():
            driver = cls(manager.open_resource(resource), name=name)
            driver.connect()
            setattr(bench, name, driver)
        generator_model = manager.visalib.devices[
            rname.to_canonical_name(RESOURCES["generator"][0])].model
        bench.generator_signal = generator_model.output_signal
        return bench

    yield make
    for manager in managers:
        manager.close()


def settled_light(chip, current: float) -> float:
    """The chip's light (W) settled at ``current`` (its waveform model starts settled)."""
    return float(chip.optical_power_waveform(np.array([0.0, 1e-9]), np.full(2, current))[0])


def acquire_step(bench, sample_rate: float, phases: int = 8) -> tuple:
    """A 15 MHz square of SWING around BIAS; both channels around the rising edge (trigger at
    mid-swing on the drive channel), -5 ns to +20 ns, averaged 65534 times. Acquired ``phases``
    times, the record shifted by 1 / phases of a sample interval each time, and merged
    (equivalent-time sampling, as a scope's random trigger phase builds up): crossings are then
    read between points far closer than the edges are long. Returns (optical, drive), each with
    ``time`` and ``volts``."""
    bench.smu.configure_current_source(voltage_limit=6.0)
    bench.smu.set_current(BIAS)
    bench.smu.output_on()
    bench.generator.set_levels(high=0.5, low=-SWING / 2)  # through states of >= 50 mV amplitude
    bench.generator.set_levels(high=SWING / 2, low=-SWING / 2)
    bench.generator.set_square(15e6)
    bench.generator.output_on()
    setup, scope = bench.world.setup, bench.scope
    wiring = setup.oscilloscope
    step = SWING * drive_admittance(bench, BIAS) / 2
    levels = [setup.photoreceiver.gain * settled_light(bench.world.chip, BIAS + sign * step)
              for sign in (-1, 1)]
    scope.configure_channel(wiring.optical_channel, scale=max((levels[1] - levels[0]) / 5, 1e-3),
                            offset=sum(levels) / 2)
    scope.configure_channel(wiring.drive_channel, scale=SWING / 5, offset=0.0)
    scope.configure_edge_trigger(channel=wiring.drive_channel, level=0.0)
    scope.set_averaging(65534)
    records = {wiring.optical_channel: [], wiring.drive_channel: []}
    for phase in range(phases):
        scope.configure_timebase(scale=2.5e-9, position=7.5e-9 + phase / phases / sample_rate,
                                 sample_rate=sample_rate, points=int(round(25e-9 * sample_rate)))
        scope.acquire()
        for channel, waveforms in records.items():
            waveforms.append(scope.fetch_waveform(channel))
            assert waveforms[-1].x_increment == 1 / sample_rate
    merged = []
    for waveforms in records.values():
        time = np.concatenate([w.time for w in waveforms])
        order = np.argsort(time)
        merged.append(SimpleNamespace(time=time[order], volts=np.concatenate(
            [w.volts for w in waveforms])[order]))
    assert merged[1].time[0] < -4e-9 and merged[1].time[-1] > 19e-9
    return tuple(merged)


def chip_resistance(params: ChipParameters, current: float) -> float:
    """r_d = dV/dI of the isothermal chip, V = n kT/q ln(1 + I / I_s) + I R_s, by a central
    difference from the chip's own parameters."""
    nvt = params.ideality_factor * sc.k * params.ambient_temperature / sc.e
    step = 1e-6 * current
    volts = [nvt * np.log1p(i / params.saturation_current) + i * params.series_resistance
             for i in (current - step, current + step)]
    return (volts[1] - volts[0]) / (2 * step)


def drive_admittance(bench, current: float) -> float:
    """Chip current per programmed generator volt (DESIGN.md's circuit): 2 / (50 + Z + r_d)."""
    z = bench.world.setup.bias_tee.modulation_impedance
    return 2 / (50 + z + chip_resistance(bench.world.chip_params, current))


def normalised(waveform) -> np.ndarray:
    """The record as a unit step: median before -1 ns = 0, after 10 ns = 1."""
    t, v = waveform.time, waveform.volts
    low, high = np.median(v[t < -1e-9]), np.median(v[t > 10e-9])
    assert abs(high - low) > 100 * np.std(v[t < -1e-9])  # a clean step, far above the noise
    return (v - low) / (high - low)


def crossing(waveform, fraction: float) -> float:
    """Time where the normalised record first reaches ``fraction``."""
    return first_time(waveform.time, normalised(waveform), fraction)


def analytic_steps(bench) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, optical, drive): unit step responses of the analytic chain to the generator's linear
    edge starting at t = 0. Optical: edge x chip small-signal response at BIAS x receiver pole x
    front end; drive: edge x front end. By inverse FFT, 0.25 ps steps over 65 ns."""
    dt, n = 0.25e-12, 1 << 18
    f = np.fft.rfftfreq(n, dt)
    ramp = bench.generator_signal().ramp
    edge = np.sinc(f * ramp) * np.exp(-1j * np.pi * f * ramp)
    front_end = 1 / (1 + 1j * f / KeysightInfiniiumModel.BANDWIDTH)
    optical = (bench.world.chip.small_signal_response(f, BIAS)
               * bench.world.setup.photoreceiver.response(f) * front_end * edge)
    return (np.arange(n) * dt, np.cumsum(np.fft.irfft(optical, n)),
            np.cumsum(np.fft.irfft(front_end * edge, n)))


def first_time(t: np.ndarray, y: np.ndarray, fraction: float) -> float:
    """Time where ``y`` first reaches ``fraction``, linearly interpolated."""
    k = int(np.argmax(y >= fraction))
    return float(t[k - 1] + (fraction - y[k - 1]) * (t[k] - t[k - 1]) / (y[k] - y[k - 1]))


@pytest.mark.parametrize("sample_rate", RATES)
def test_step_rise_time_matches_the_analytic_chain(scope_bench, sample_rate):
    """10-90 % rise of the light on the scope: chip, receiver, front end and generator edge."""
    bench = scope_bench(SMALL_SIGNAL, **FAST_CHIP)
    optical, _ = acquire_step(bench, sample_rate)
    t10, t90 = crossing(optical, 0.1), crossing(optical, 0.9)
    t, truth, _ = analytic_steps(bench)
    expected = first_time(t, truth, 0.9) - first_time(t, truth, 0.1)
    assert 300e-12 < expected < 400e-12  # the chain is fast against the 100 ps sample interval
    assert t90 - t10 == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("sample_rate", RATES)
def test_records_are_the_analytic_chain_sampled(scope_bench, sample_rate):
    """Each channel, normalised, against its analytic step at the record's instants: record
    time 0 is the trigger, the generator's mid-level half-way up its edge; the light arrives
    the set-up's skew later."""
    bench = scope_bench(SMALL_SIGNAL, **FAST_CHIP)
    optical, drive = acquire_step(bench, sample_rate)
    t, optical_truth, drive_truth = analytic_steps(bench)
    start = bench.generator_signal().ramp / 2
    skew = bench.world.setup.drive_to_optical_skew
    for waveform, truth, delay in ((drive, drive_truth, 0.0), (optical, optical_truth, skew)):
        edge = (waveform.time > delay - 1e-9) & (waveform.time < delay + 3e-9)
        expected = np.interp(waveform.time[edge] + start - delay, t, truth, left=0.0)
        assert np.abs(normalised(waveform)[edge] - expected).max() < 0.005


@pytest.mark.parametrize("sample_rate", RATES)
def test_drive_to_optical_delay_matches_the_analytic_chain(scope_bench, sample_rate):
    """The single-pole front end delays the fast drive edge less (~tau ln 2) than the slower
    optical edge (up to tau): the chain, not the chip alone, sets the measured delay."""
    bench = scope_bench(SMALL_SIGNAL, **FAST_CHIP)
    optical, drive = acquire_step(bench, sample_rate)
    measured = crossing(optical, 0.5) - crossing(drive, 0.5)
    t, optical_truth, drive_truth = analytic_steps(bench)
    chain = first_time(t, optical_truth, 0.5) - first_time(t, drive_truth, 0.5)
    assert measured == pytest.approx(bench.world.setup.drive_to_optical_skew + chain, abs=2e-12)


def chip_delay(bench) -> float:
    """The chip's own delay on the generator's rising edge: 50 % of its light minus 50 % of its
    current, from MicroLED.optical_power_waveform on a 0.1 ps grid."""
    signal = bench.generator_signal()
    edge = signal.first_crossing((signal.high + signal.low) / 2, rising=True)
    t = edge + np.arange(-1e-9, 1e-9, 0.1e-12)
    current = BIAS + (signal.volts(t) - signal.mean_volts()) * drive_admittance(bench, BIAS)
    light = bench.world.chip.optical_power_waveform(t, current)
    y = (light - light[0]) / (light[-1] - light[0])
    return first_time(t, y, 0.5) - edge


@pytest.mark.parametrize("cables", CABLES, ids=["default-cables", "other-cables"])
@pytest.mark.parametrize("sample_rate", RATES)
def test_front_end_and_sampling_cancel_in_the_delay(scope_bench, sample_rate, cables):
    """Light with the drive's edge shape: the measured delay is the set-up's skew plus the chip's
    own delay plus the receiver's group delay, whatever the cables."""
    setup = {**SMALL_SIGNAL, "cables": cables, "photoreceiver": INSTANT_RECEIVER}
    bench = scope_bench(setup, **INSTANT_CHIP)
    optical, drive = acquire_step(bench, sample_rate)
    measured = crossing(optical, 0.5) - crossing(drive, 0.5)
    setup = bench.world.setup
    own = chip_delay(bench)
    assert 5e-12 < own < 20e-12
    expected = setup.drive_to_optical_skew + own + setup.photoreceiver.time_constant
    assert measured == pytest.approx(expected, abs=2e-12)

