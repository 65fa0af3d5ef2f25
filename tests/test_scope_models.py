"""The InfiniiVision, Tektronix MSO and Rigol DS1000Z simulations: their front ends limit the
edge they show to their bandwidth, against the closed form, and the scope-based sequences run
on them.

Closed form: a linear ramp of duration T (the 81134A's edge) through one pole tau = 1/(2 pi B)
is y(t) = (t - tau (1 - e^{-t/tau})) / T for t < T and 1 - tau (e^{-(t-T)/tau} - e^{-t/tau}) / T
after; its 10-90 % time is read from that formula (for T -> 0: ln 9 tau = 0.35 / B).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.optimize import brentq

from common.passive import Setup
from drivers import driver_class
from drivers.keysight_81134a import Keysight81134A
from sequences import dynamic_analysis as da
from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from sim_instruments.models import model_class
from sim_instruments.models.keysight_81134a import Keysight81134AModel
from tests.test_rf_sequences import bench_run

GENERATOR = "GPIB0::10::INSTR"
SCOPES = {  # driver: (resource, single-channel rate used for the edge, options)
    "keysight_infiniivision": ("TCPIP0::192.168.1.22::inst0::INSTR", 5e9, {}),
    "tektronix_mso": ("TCPIP0::192.168.1.23::inst0::INSTR", 6.25e9, {}),
    "rigol_ds1000z": ("USB0::0x1AB1::0x04CE::DS1ZA000000001::INSTR", 1e9,
                      {"feedthrough": [1, 2, 3]}),
}


def ramp_through_pole_rise(ramp: float, tau: float) -> float:
    def y(t):
        if t < ramp:
            return (t - tau * -math.expm1(-t / tau)) / ramp
        return 1 - tau * (math.exp(-(t - ramp) / tau) - math.exp(-t / tau)) / ramp

    t10 = brentq(lambda t: y(t) - 0.1, 0, 50 * tau + ramp)
    t90 = brentq(lambda t: y(t) - 0.9, 0, 50 * tau + ramp)
    return t90 - t10


@pytest.fixture
def scope_bench():
    managers = []

    def make(driver: str) -> SimpleNamespace:
        resource, _, options = SCOPES[driver]
        # the drive monitor on channel 3: alone in its ADC pair, the fastest rate
        world = SimulatedWorld(setup=Setup.from_mapping(
            {"oscilloscope": {"drive_channel": 3, "optical_channel": 1}}))
        manager = open_simulated_bench({resource: driver, GENERATOR: "keysight_81134a"}, world)
        managers.append(manager)
        cls = driver_class(driver)
        scope = cls(manager.open_resource(resource), name="scope", **cls.check_options(options))
        generator = Keysight81134A(manager.open_resource(GENERATOR), name="generator")
        scope.connect()
        generator.connect()
        return SimpleNamespace(scope=scope, generator=generator, world=world)

    yield make
    for manager in managers:
        manager.close()


@pytest.mark.parametrize("driver", list(SCOPES))
def test_the_drive_edge_shows_the_scopes_bandwidth(scope_bench, driver):
    bench = scope_bench(driver)
    scope, generator = bench.scope, bench.generator
    bandwidth = model_class(driver).BANDWIDTH
    rate = SCOPES[driver][1]
    bit_rate = 20e6  # runs of 16 bits: 800 ns, every edge settled
    generator.set_bit_rate(bit_rate)
    generator.set_pattern(np.repeat([1, 0], 16))
    generator.set_levels(high=0.25, low=-0.25)
    generator.output_on()
    scope.write(":CHANnel1:DISPlay 0" if driver != "tektronix_mso"
                else "DISplay:GLObal:CH1:STATE OFF")  # the drive channel alone
    scope.configure_channel(3, scale=0.1, offset=0.0, impedance="50")
    span = 2.2 * 16 / bit_rate
    scope.configure_timebase(scale=span / 10, position=span / 2 - 0.15 * 16 / bit_rate,
                             sample_rate=rate, points=int(span * rate))
    scope.configure_edge_trigger(channel=3, level=0.0)
    scope.set_averaging(1)
    scope.acquire()
    waveform = scope.fetch_waveform(3)
    assert waveform.x_increment == pytest.approx(1 / rate)
    edges = da.edge_timings(waveform.time, waveform.volts, waveform.volts)
    truth = ramp_through_pole_rise(Keysight81134AModel.RAMP, 1 / (2 * math.pi * bandwidth))
    assert np.mean(edges["drive_rise_time"]) == pytest.approx(truth, rel=0.04)
    assert np.mean(edges["drive_fall_time"]) == pytest.approx(truth, rel=0.04)


SEQUENCE_RUNS = {  # what each scope can take: its rate for two channels, a bit rate it resolves
    "keysight_infiniivision": {"sample_rate": 2.5e9, "bit_rate": 200e6},
    "tektronix_mso": {"sample_rate": 6.25e9, "bit_rate": 200e6},
    "rigol_ds1000z": {"sample_rate": 500e6, "bit_rate": 20e6},
}


def station_with(driver: str) -> dict:
    resource, _, options = SCOPES[driver]
    return {"driver": driver, "resource": resource, "simulated": True, "options": options}


@pytest.mark.parametrize("driver", list(SCOPES))
def test_pulse_response_and_eye_run_on_the_scope(tmp_path, monkeypatch, driver):
    import bench.station

    scope = station_with(driver)
    real = bench.station.builtin_station_config

    def with_scope():
        config = real()
        config["instruments"]["scope"] = scope
        return config

    monkeypatch.setattr("tests.test_rf_sequences.builtin_station_config", with_scope)
    limits = SEQUENCE_RUNS[driver]
    pulse = bench_run(tmp_path / "pulse", [{"sequence": "pulse-response", "params": {
        "bias_current": 5e-3, "modulation_current": 1e-3, "run_bits": 32, "acquisitions": 2,
        **limits}}])
    assert pulse.code == 0, pulse.step.reason
    eye = bench_run(tmp_path / "eye", [{"sequence": "eye", "params": {
        "bias_current": 5e-3, "modulation_current": 2e-3, "record_bits": 200,
        "acquisitions": 2, **limits}}])
    assert eye.code == 0, eye.step.reason
    assert eye.step.results["q_factor"]["value"] > 3  # an open eye at a rate the scope resolves
    assert eye.record.station["instruments"]["scope"]["driver"] == driver


def test_pulse_response_measures_a_slower_rise_on_a_slower_scope(tmp_path, monkeypatch):
    """The same chip on the 2.5 GHz Infiniium and the 200 MHz MSO44: the slower front end
    lengthens the light's rise (the sequence removes the drive edge, itself slowed by the scope,
    so only part of the scope's own 0.35 / B shows, but it must show)."""
    import bench.station

    real = bench.station.builtin_station_config

    def with_tek():
        config = real()
        config["instruments"]["scope"] = station_with("tektronix_mso")
        return config

    params = {"bias_current": 5e-3, "modulation_current": 1e-3, "run_bits": 32,
              "acquisitions": 2, "sample_rate": 6.25e9, "bit_rate": 200e6}
    fast = bench_run(tmp_path / "fast", [{"sequence": "pulse-response", "params": params}])
    monkeypatch.setattr("tests.test_rf_sequences.builtin_station_config", with_tek)
    slow = bench_run(tmp_path / "slow", [{"sequence": "pulse-response", "params": params}])
    assert fast.code == slow.code == 0
    fast_rise = fast.step.results["rise_time"]["value"]
    slow_rise = slow.step.results["rise_time"]["value"]
    assert slow_rise > 1.1 * fast_rise


def test_a_rate_the_scope_lacks_is_refused_before_the_run(tmp_path, monkeypatch):
    import bench.station

    real = bench.station.builtin_station_config

    def with_rigol():
        config = real()
        config["instruments"]["scope"] = station_with("rigol_ds1000z")
        return config

    monkeypatch.setattr("tests.test_rf_sequences.builtin_station_config", with_rigol)
    run = bench_run(tmp_path, [{"sequence": "pulse-response", "params": {
        "sample_rate": 2e9, "bit_rate": 20e6}}])
    assert run.code == 2 and run.record is None  # nothing was opened or written


def test_pulse_response_and_eye_run_on_the_33500b_within_its_rate(tmp_path, monkeypatch):
    """The function generator in the 81134A's place, on the 200 MHz MSO: a user pattern (the
    step) and its own PRBS at 20 Mbit/s; 100 Mbit/s is refused before anything is opened."""
    import bench.station

    real = bench.station.builtin_station_config

    def with_33500b():
        config = real()
        config["instruments"]["scope"] = station_with("tektronix_mso")
        config["instruments"]["generator"] = {
            "driver": "keysight_33500b", "resource": "USB0::0x0957::0x2307::MY52800123::INSTR",
            "simulated": True}
        return config

    monkeypatch.setattr("tests.test_rf_sequences.builtin_station_config", with_33500b)
    rates = {"sample_rate": 1e9, "bit_rate": 20e6}
    run = bench_run(tmp_path / "run", [
        {"sequence": "pulse-response", "params": {"bias_current": 5e-3,
                                                  "modulation_current": 1e-3, "run_bits": 32,
                                                  "acquisitions": 2, **rates}},
        {"sequence": "eye", "params": {"bias_current": 5e-3, "modulation_current": 2e-3,
                                       "record_bits": 200, "acquisitions": 2, **rates}}])
    assert run.code == 0, [s.reason for s in run.record.steps]
    assert [s.status for s in run.record.steps] == ["completed", "completed"]
    assert run.record.steps[1].results["q_factor"]["value"] > 3
    too_fast = bench_run(tmp_path / "fast", [{"sequence": "eye", "params": {
        "bit_rate": 100e6, "sample_rate": 1e9}}])
    assert too_fast.code == 2 and too_fast.record is None


def test_a_prbs_the_33500b_lacks_is_refused_by_the_plan():
    """eye plans its PRBS order: the 33500B generates PN7/9/11/15/20/23 only."""
    from bench.plan import check_recipe
    from bench.recipe import parse_recipe
    from bench.station import StationConfig, builtin_station_config

    config = builtin_station_config()
    config["instruments"]["generator"] = {
        "driver": "keysight_33500b", "resource": "USB0::0x0957::0x2307::MY52800123::INSTR",
        "simulated": True}
    station = StationConfig.from_mapping(config)
    sample = {"id": "dut", "diameter": 20e-6, "wavelength": 450e-9,
              "limits": {"max_current": 20e-3, "max_voltage": 6.0}}
    for order, refused in ((9, False), (10, True)):
        recipe = parse_recipe({"sample": sample, "steps": [{"sequence": "eye", "params": {
            "prbs_order": order, "bit_rate": 20e6, "sample_rate": 1e9}}]})
        problems = [p for p in check_recipe(recipe, station).all_problems() if "prbs_order" in p]
        assert bool(problems) is refused, problems
