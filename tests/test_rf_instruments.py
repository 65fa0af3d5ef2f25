"""E5071C, Infiniium and 81134A drivers and the passive set-up against the physics-backed simulator.

Known truth is the simulated chip (``world.chip``: carrier density, small-signal response) and the
set-up (``common.passive.Setup``); S21 and the scope's waveforms must follow them within the
simulated instrument noise, and binary transfers must equal, code for code, what the simulated
instrument produced.
"""

from __future__ import annotations

import math
import re
from importlib import resources
from types import SimpleNamespace

import numpy as np
import pytest
import pyvisa
from pyvisa import rname
from scipy import constants as sc
from scipy.optimize import brentq

from bench.station import Station, StationConfig
from common.passive import Setup
from drivers import DRIVERS, driver_class
from drivers.base import InstrumentError
from drivers.keithley2450 import Keithley2450
from drivers.keysight_81134a import Keysight81134A, prbs_bits
from drivers.keysight_e5071c import FREQUENCY_OPTIONS, NARROWEST, KeysightE5071C
from drivers.keysight_infiniium import KeysightInfiniium
from drivers.roles import NetworkAnalyzer, Oscilloscope, PatternGenerator
from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from sim_instruments.chip import ChipParameters
from sim_instruments.models.keysight_e5071c import KeysightE5071CModel

RESOURCES = {"smu": "USB0::0x05E6::0x2450::04400001::INSTR",
             "vna": "TCPIP0::192.168.1.20::inst0::INSTR",
             "scope": "TCPIP0::192.168.1.21::hislip0::INSTR",
             "generator": "GPIB0::10::INSTR"}
MODELS = {"smu": "keithley2450", "vna": "keysight_e5071c", "scope": "keysight_infiniium",
          "generator": "keysight_81134a"}
DRIVER_CLASSES = {"smu": Keithley2450, "vna": KeysightE5071C, "scope": KeysightInfiniium,
                  "generator": Keysight81134A}
FAST_CHIP = {"diameter": 10e-6, "a_coeff": 5e7, "capacitance": 0.3e-12,
             "series_resistance": 150.0, "seed": 7}
# a 1 kohm series resistor in the bias tee keeps the 81134A's 50 mV minimum swing small-signal
SMALL_SIGNAL = {"bias_tee": {"modulation_impedance": 1000.0}}


@pytest.fixture
def rf_bench():
    """Factory ``rf_bench(setup=None, **chip)``: a simulated world with a connected SMU, E5071C,
    Infiniium and 81134A; ``bench.model(name)`` is the simulated instrument's physics model."""
    managers = []

    def make(setup=None, **chip) -> SimpleNamespace:
        world = SimulatedWorld(ChipParameters(**chip), setup=Setup.from_mapping(setup))
        manager = open_simulated_bench({RESOURCES[n]: MODELS[n] for n in RESOURCES}, world,
                                       names={RESOURCES[n]: n for n in RESOURCES})
        managers.append(manager)
        bench = SimpleNamespace(world=world, manager=manager)
        for name, cls in DRIVER_CLASSES.items():
            driver = cls(manager.open_resource(RESOURCES[name]), name=name)
            driver.connect()
            setattr(bench, name, driver)
        bench.model = lambda name: manager.visalib.devices[
            rname.to_canonical_name(RESOURCES[name])].model
        return bench

    yield make
    for manager in managers:
        manager.close()


def sent_to(bench, name: str) -> list[str]:
    return [command for who, command in bench.world.commands if who == name]


def bias(bench, current: float) -> None:
    bench.smu.configure_current_source(voltage_limit=6.0)
    bench.smu.set_current(current)
    bench.smu.output_on()


def isothermal_power(chip, current: float) -> float:
    """P = eta_extr B n^2 V_act h c / lambda: the light behind the chip's waveform model."""
    p = chip.params
    n = float(chip.carrier_density(np.array([current]))[0])
    return p.extraction_efficiency * p.b_coeff * n**2 * chip.volume * sc.h * sc.c / p.wavelength


def crossing(t: np.ndarray, v: np.ndarray, level: float, rising: bool = True) -> float:
    """Time of the first crossing of ``level``, linearly interpolated between samples."""
    above = v > level if rising else v < level
    k = int(np.argmax(above))
    assert above[k] and k > 0, "no crossing in the record"
    return float(t[k - 1] + (level - v[k - 1]) * (t[k] - t[k - 1]) / (v[k] - v[k - 1]))


# -- identification, roles, outputs ----------------------------------------------------------
def test_drivers_are_registered_and_fill_their_roles():
    assert driver_class("keysight_e5071c") is KeysightE5071C
    assert driver_class("keysight_infiniium") is KeysightInfiniium
    assert driver_class("keysight_81134a") is Keysight81134A
    assert {"keysight_e5071c", "keysight_infiniium", "keysight_81134a"} <= set(DRIVERS)
    assert (Keysight81134A.min_bit_rate, Keysight81134A.max_bit_rate) == (15e6, 3.35e9)


def test_connect_identifies_and_switches_nothing_on(rf_bench):
    bench = rf_bench()
    assert "E5071C" in bench.vna.idn and "MXR254A" in bench.scope.idn \
        and "81134A" in bench.generator.idn
    assert isinstance(bench.vna, NetworkAnalyzer) and isinstance(bench.scope, Oscilloscope) \
        and isinstance(bench.generator, PatternGenerator)
    assert sent_to(bench, "vna") == ["*IDN?", "*CLS", "*OPT?"]  # identification only
    assert sent_to(bench, "generator") == ["*IDN?", "*CLS"]
    assert sent_to(bench, "scope")[:2] == ["*IDN?", "*CLS"]
    assert bench.vna.output_enabled() is False
    assert bench.generator.output_enabled() is False
    assert bench.model("generator").output_signal() is None


@pytest.mark.parametrize("name, other", [("vna", "scope"), ("scope", "generator"),
                                         ("generator", "vna")])
def test_wrong_idn_is_refused(rf_bench, name, other):
    bench = rf_bench()
    driver = DRIVER_CLASSES[name](bench.manager.open_resource(RESOURCES[other]), name="dut")
    with pytest.raises(InstrumentError, match="answered"):
        driver.connect()


def test_outputs_switch_on_and_off(rf_bench):
    bench = rf_bench()
    bench.generator.output_on()
    bench.vna.output_on()
    assert bench.generator.output_enabled() and bench.vna.output_enabled()
    assert bench.model("generator").output_signal() is not None
    bench.generator.output_off()
    bench.vna.output_off()
    assert not bench.generator.output_enabled() and not bench.vna.output_enabled()
    assert bench.model("generator").output_signal() is None
    sent = sent_to(bench, "generator")
    last_off = len(sent) - 1 - sent[::-1].index(":OUTPut:CENTral OFF")
    assert sent[last_off + 1] == ":OUTPut1:POSitive OFF"  # all channels disconnected first


@pytest.mark.parametrize("yaml_file, cls", [("keysight_e5071c.yaml", KeysightE5071C),
                                            ("keysight_infiniium.yaml", KeysightInfiniium),
                                            ("keysight_81134a.yaml", Keysight81134A)])
def test_plain_pyvisa_sim_loads_the_yaml(yaml_file, cls):
    path = resources.files("sim_instruments").joinpath(yaml_file)
    manager = pyvisa.ResourceManager(f"{path}@sim")
    try:
        (resource_name,) = manager.list_resources()
        resource = manager.open_resource(resource_name, read_termination="\n",
                                         write_termination="\n")
        driver = cls(resource)
        assert driver.connect() == resource.query("*IDN?")
        assert driver.errors() == []
    finally:
        manager.close()


# -- settings round trips ----------------------------------------------------------------------
def test_vna_settings_round_trip(rf_bench):
    vna = rf_bench().vna
    vna.configure_s21(start=1e6, stop=2.5e9, points=401, if_bandwidth=3e3, power=-12.5,
                      averaging=4, log_sweep=False)
    settings = vna.settings()
    option, frequency_range = settings.pop("option"), settings.pop("frequency_range")
    assert tuple(frequency_range) == FREQUENCY_OPTIONS.get(option, NARROWEST)
    settings.pop("frequency_range_note", None)
    assert settings == {
        "start_frequency": 1e6, "stop_frequency": 2.5e9, "points": 401, "sweep_type": "LIN",
        "if_bandwidth": 3e3, "source_power": -12.5, "averaging": True, "average_count": 4,
        "trigger_averaging": True, "trigger_source": "BUS", "continuous": True,
        "parameter": "S21", "trace_format": "MLOG", "output": False, "data_format": "ASC",
        "byte_order": "NORM"}
    # a span below the present one: start is set first, so start < stop throughout
    vna.configure_s21(start=3e5, stop=9e5, points=11, if_bandwidth=10, power=0)
    assert (vna.start_frequency, vna.stop_frequency, vna.averaging) == (3e5, 9e5, False)


def test_scope_settings_round_trip(rf_bench):
    scope = rf_bench().scope
    scope.configure_channel(3, scale=0.02, offset=-0.15, impedance="50")
    scope.configure_timebase(scale=2e-9, position=1.5e-9, sample_rate=8e9, points=2048)
    scope.configure_edge_trigger(channel=3, level=0.05, slope="falling")
    scope.set_averaging(8)
    settings = scope.settings()
    assert settings["channel3"] == {"display": True, "scale": 0.02, "offset": -0.15,
                                    "input": "DC50"}
    assert {k: settings[k] for k in ("timebase_scale", "timebase_position", "sample_rate",
                                     "points", "averaging", "average_count", "trigger_source",
                                     "trigger_slope", "trigger_level")} == {
        "timebase_scale": 2e-9, "timebase_position": 1.5e-9, "sample_rate": 8e9,
        "points": 2048, "averaging": True, "average_count": 8, "trigger_source": "CHANnel3",
        "trigger_slope": "NEGative", "trigger_level": 0.05}
    scope.set_averaging(1)
    scope.configure_timebase(scale=1e-8)  # AUTO: 10 divisions at the full rate
    assert (scope.averaging, scope.sample_rate, scope.points) == (False, 16e9, 1600)


def test_generator_settings_round_trip(rf_bench):
    gen = rf_bench().generator
    gen.set_bit_rate(2.5e9)
    gen.set_levels(high=0.4, low=-0.1)
    gen.set_prbs(7)  # sent as a user pattern: 2^7 - 1 bits repeated to 32-bit steps
    assert gen.settings() == {"frequency": 2.5e9, "mode": "DATA",
                              "width": None, "high_level": 0.4, "low_level": -0.1,
                              "positive_output": False, "central_output": False}
    stored = gen.read_pattern()
    assert stored.size == 127 * 32 and np.array_equal(stored, np.tile(prbs_bits(7), 32))
    gen.set_levels(high=-0.5, low=-1.0)  # entirely below the old low: low goes first
    gen.set_levels(high=2.0, low=1.5)    # entirely above the old high: high goes first
    assert (gen.high_level, gen.low_level) == (2.0, 1.5)
    gen.set_pulse(period=10e-9, width=2e-9)
    assert (gen.mode, gen.frequency, gen.width) == ("PULS", 1e8, 2e-9)
    gen.set_square(50e6)
    assert (gen.mode, gen.frequency) == ("SQU", 50e6)


# -- refusals --------------------------------------------------------------------------------
@pytest.mark.parametrize("name, call, limit", [
    ("generator", lambda g: g.set_bit_rate(4e9), "3.35e+09"),
    ("generator", lambda g: g.set_bit_rate(10e6), "1.5e+07"),
    ("generator", lambda g: g.set_levels(high=3.5, low=2.0), "3"),
    ("generator", lambda g: g.set_levels(high=0.02, low=0.0), "0.05"),
    ("generator", lambda g: g.set_prbs(8), "PRBS order"),
    ("generator", lambda g: g.set_pattern(np.array([0, 1, 2])), "0 and 1"),
    ("generator", lambda g: g.set_pulse(period=10e-9, width=10e-9), "width"),
    ("vna", lambda v: v.configure_s21(start=1e6, stop=9e9, points=201, if_bandwidth=1e3,
                                      power=0), "8.5e+09"),
    ("vna", lambda v: v.configure_s21(start=2e9, stop=1e9, points=201, if_bandwidth=1e3,
                                      power=0), "below"),
    ("vna", lambda v: v.configure_s21(start=1e6, stop=1e9, points=30000, if_bandwidth=1e3,
                                      power=0), "20001"),
    ("vna", lambda v: v.configure_s21(start=1e6, stop=1e9, points=201, if_bandwidth=1e3,
                                      power=15), "10"),
    ("scope", lambda s: s.configure_channel(5, scale=0.1), "1..4"),
    ("scope", lambda s: s.configure_channel(1, scale=2.0, impedance="50"), "scale"),
    ("scope", lambda s: s.configure_channel(1, scale=0.1, impedance="75"), "impedance"),
    ("scope", lambda s: s.configure_timebase(scale=1e-9, sample_rate=20e9), "1.6e+10"),
    ("scope", lambda s: s.configure_timebase(scale=1e-9, points=10.5), "whole"),
    ("scope", lambda s: s.configure_edge_trigger(channel=1, level=0, slope="up"), "slope"),
    ("scope", lambda s: s.set_averaging(0), "averaging"),
])
def test_out_of_range_is_refused_before_sending(rf_bench, name, call, limit):
    bench = rf_bench()
    before = len(sent_to(bench, name))
    with pytest.raises(ValueError, match=re.escape(limit)):
        call(getattr(bench, name))
    assert len(sent_to(bench, name)) == before  # nothing reached the instrument


def test_instrument_refusals_raise_from_the_error_queue(rf_bench):
    bench = rf_bench()
    with pytest.raises(InstrumentError, match="-222"):
        bench.vna.write_checked(":SENSe1:SWEep:POINts 30000")
    with pytest.raises(InstrumentError, match="-221"):  # the high level must stay above the low
        bench.generator.high_level = -0.5
    with pytest.raises(InstrumentError, match="-222"):  # 16 bits: below the 32-bit minimum
        bench.generator.write_checked(":DIGital1:PATTern #14ABCD,HEX")
    with pytest.raises(InstrumentError, match="-161"):
        bench.generator.write_checked(":DIGital1:PATTern #18ABC,HEX")
    bench.vna.trigger_source = "INT"
    with pytest.raises(InstrumentError, match="-211"):  # a single sweep needs the BUS trigger
        bench.vna.sweep()
    bench.scope.acquire()  # only channel 1 is displayed: channel 4 holds no data
    with pytest.raises(InstrumentError, match="-230"):
        bench.scope.fetch_waveform(4)
    with pytest.raises(InstrumentError, match="-222"):
        bench.scope.write_checked(":ACQuire:SRATe:ANALog 2e10")
    for driver in (bench.vna, bench.generator, bench.scope):
        assert driver.errors() == []  # every error was read and reported once


# -- network analyser: binary transfer and physics ---------------------------------------------
def test_vna_binary_transfers_are_exact(rf_bench):
    bench = rf_bench()
    bias(bench, 1e-3)
    bench.vna.configure_s21(start=1e6, stop=3e9, points=1601, if_bandwidth=1e3, power=-10)
    bench.vna.output_on()
    frequency, s21 = bench.vna.measure_s21()
    model_frequency, model_s21 = bench.model("vna").trace
    assert np.array_equal(frequency, model_frequency) and np.array_equal(s21, model_s21)
    assert np.allclose(frequency, np.geomspace(1e6, 3e9, 1601), rtol=1e-12)
    # the other byte order and single precision, read by hand from the same trace
    bench.vna.write_checked(":FORMat:DATA REAL32")
    bench.vna.write_checked(":FORMat:BORDer NORM")
    raw = np.frombuffer(bench.vna.query_block(":CALCulate1:DATA:SDATa?"), dtype=">f4")
    assert np.array_equal(raw[0::2], model_s21.real.astype(np.float32))
    assert np.array_equal(raw[1::2], model_s21.imag.astype(np.float32))
    bench.vna.trace_format = "MLOG"
    np.testing.assert_allclose(bench.vna.read_formatted(), 20 * np.log10(np.abs(model_s21)),
                               rtol=1e-12)
    bench.vna.trace_format = "UPH"
    np.testing.assert_allclose(bench.vna.read_formatted(),
                               np.degrees(np.unwrap(np.angle(model_s21))), rtol=1e-12)


@pytest.mark.parametrize("chip", [{}, FAST_CHIP], ids=["default-chip", "fast-chip"])
def test_s21_follows_the_chip_and_receiver(rf_bench, chip):
    setup = {"photoreceiver": {"bandwidth": 3e9, "delay": 0.4e-9, "coupling": 0.3},
             "cables": {"drive_delay": 1.5e-9, "receiver_delay": 2.5e-9}}
    bench = rf_bench(setup, **chip)
    bench.vna.configure_s21(start=1e6, stop=3e9, points=101, if_bandwidth=1e3, power=-10,
                            averaging=4)
    sigma = KeysightE5071CModel.NOISE * 10 ** (10 / 20) / math.sqrt(4)
    bench.vna.output_on()
    chip_model, receiver = bench.world.chip, bench.world.setup.photoreceiver
    for current in (0.2e-3, 1e-3, 5e-3):
        bias(bench, current)
        frequency, s21 = bench.vna.measure_s21()
        step = 1e-6 * current
        slope = (isothermal_power(chip_model, current + step)
                 - isothermal_power(chip_model, current - step)) / (2 * step)  # W/A
        delay = 1.5e-9 + 0.4e-9 + 2.5e-9
        # port 1's EMF is twice the incident wave: 2 / (50 + Z + r_d) A per volt into the chip,
        # r_d = dV/dI of the isothermal chip (Shockley diode + series resistance)
        p, nvt = chip_model.params, chip_model.thermal_voltage * chip_model.params.ideality_factor
        r_d = nvt / (current + p.saturation_current) + p.series_resistance
        expected = (slope * chip_model.small_signal_response(frequency, current)
                    * receiver.coupling * receiver.responsivity * receiver.transimpedance
                    * 2 / (50.0 + 50.0 + r_d) / (1 + 1j * frequency / 3e9)
                    * np.exp(-2j * np.pi * frequency * delay))
        assert np.all(np.abs(s21 - expected) < 6 * sigma + 1e-6 * np.abs(expected)), current
    bench.vna.output_off()
    _, s21 = bench.vna.measure_s21()
    assert np.all(np.abs(s21) < 6 * sigma)  # no stimulus: noise only


# -- oscilloscope: step response, delays, transfers ---------------------------------------------
def scope_on_square(bench, current: float, *, high: float, low: float, points: int = 600,
                    averages: int = 64) -> tuple:
    """Square wave at 15 MHz on the biased chip; optical and drive channels acquired around the
    rising edge (trigger at the middle of the drive swing); returns both waveforms."""
    bias(bench, current)
    gen, scope, wiring = bench.generator, bench.scope, bench.world.setup.oscilloscope
    gen.set_levels(high=high, low=low)
    gen.set_square(15e6)
    gen.output_on()
    swing = (high - low) / 2 / bench.world.setup.bias_tee.modulation_impedance
    settled = [bench.world.setup.photoreceiver.gain * isothermal_power(bench.world.chip, i)
               for i in (current - swing, current + swing)]
    scope.configure_channel(wiring.optical_channel, scale=max((settled[1] - settled[0]) / 5, 1e-3),
                            offset=sum(settled) / 2)
    scope.configure_channel(wiring.drive_channel, scale=(high - low) / 4,
                            offset=(high + low) / 2)
    scope.configure_timebase(scale=3e-9, position=10e-9, sample_rate=16e9, points=points)
    scope.configure_edge_trigger(channel=wiring.drive_channel, level=(high + low) / 2)
    scope.set_averaging(averages)
    scope.acquire()
    return scope.fetch_waveform(wiring.optical_channel), scope.fetch_waveform(wiring.drive_channel)


@pytest.mark.parametrize("chip, current", [({}, 2e-3), (FAST_CHIP, 2e-3)],
                         ids=["default-chip", "fast-chip"])
def test_step_response_rise_time_matches_the_small_signal_bandwidth(rf_bench, chip, current):
    bench = rf_bench(SMALL_SIGNAL, **chip)
    optical, _ = scope_on_square(bench, current, high=0.025, low=-0.025)
    t, v = optical.time, optical.volts
    low, high = np.median(v[t < 0]), np.median(v[t > 25e-9])
    assert high - low > 20 * np.std(v[t < 0])  # a clean step, well above the noise
    rise = crossing(t, v, low + 0.9 * (high - low)) - crossing(t, v, low + 0.1 * (high - low))
    receiver_pole = bench.world.setup.photoreceiver.bandwidth
    chip_model = bench.world.chip
    f3db = brentq(lambda f: abs(chip_model.small_signal_response(f, current)
                                / (1 + 1j * f / receiver_pole)) - 2**-0.5, 1e5, 1e11)
    assert rise == pytest.approx(0.35 / f3db, rel=0.05)


def test_drive_and_optical_edges_move_with_the_cable_delays(rf_bench):
    bench = rf_bench()
    edges = []
    for setup in (SMALL_SIGNAL, {**SMALL_SIGNAL,
                                 "cables": {"drive_delay": 2.0e-9, "monitor_delay": 0.8e-9,
                                            "receiver_delay": 2.5e-9},
                                 "photoreceiver": {"delay": 0.2e-9}}):
        bench.world.setup = Setup.from_mapping(setup)
        optical, drive = scope_on_square(bench, 1e-3, high=0.5, low=0.0, points=800)
        t, v = optical.time, optical.volts
        low, high = np.median(v[t < 0]), np.median(v[(t > 20e-9) & (t < 30e-9)])
        drive_edge = crossing(drive.time, drive.volts, 0.25)
        assert abs(drive_edge) < 2 * drive.x_increment  # the trigger sits on the drive edge
        assert np.median(drive.volts[drive.time > 5e-9]) == pytest.approx(0.5, abs=1e-3)
        edges.append(crossing(t, v, (low + high) / 2) - drive_edge)
    # skew = drive_delay + receiver delay + receiver_delay - monitor_delay: +1.0 +0.2 +0.5 -0.3 ns
    assert edges[1] - edges[0] == pytest.approx(1.4e-9, abs=3e-12)  # same edge, same scope


def test_scope_waveform_matches_what_the_instrument_acquired(rf_bench):
    bench = rf_bench(SMALL_SIGNAL)
    optical, drive = scope_on_square(bench, 1e-3, high=0.5, low=0.0, averages=1)
    model = bench.model("scope")
    wiring = bench.world.setup.oscilloscope
    for waveform, channel in ((optical, wiring.optical_channel), (drive, wiring.drive_channel)):
        record = model.records[channel]
        assert np.array_equal(waveform.codes, record.codes)
        assert (waveform.x_increment, waveform.x_origin, waveform.y_increment,
                waveform.y_origin) == (record.x_increment, record.x_origin, record.y_increment,
                                       record.y_origin)
    assert drive.x_increment == 1 / 16e9 and drive.codes.size == 600
    pre = bench.scope.preamble()
    assert (pre.format, pre.type, pre.points, pre.coupling, pre.x_units, pre.y_units) == \
        (2, 1, 600, 2, 2, 1)  # WORD, RAW, DCFIFTY, seconds, volts


def test_averaging_lowers_the_scope_noise_by_sqrt_n(rf_bench):
    bench = rf_bench()
    scope, channel = bench.scope, bench.world.setup.oscilloscope.drive_channel
    scope.configure_channel(channel, scale=0.01)
    scope.configure_timebase(scale=1e-7, sample_rate=4e9, points=4096)
    spread = []
    for count in (1, 16):
        scope.set_averaging(count)
        scope.acquire()
        spread.append(np.std(scope.fetch_waveform(channel).volts))  # generator off: noise only
    assert spread[0] / spread[1] == pytest.approx(4.0, rel=0.05)
    assert scope.preamble().type == 2 and scope.preamble().count == 16  # AVERage, 16 hits


def test_million_point_word_transfer_keeps_every_byte(rf_bench):
    bench = rf_bench()
    gen, scope = bench.generator, bench.scope
    gen.set_levels(high=0.5, low=0.0)
    gen.set_bit_rate(1e9)
    gen.set_prbs(7)
    gen.output_on()
    drive_channel = bench.world.setup.oscilloscope.drive_channel
    scope.set_channel_display(1, False)
    scope.configure_channel(drive_channel, scale=0.1, offset=0.25)
    scope.configure_timebase(scale=5e-9, sample_rate=16e9, points=1_000_000)
    scope.configure_edge_trigger(channel=drive_channel, level=0.25)
    scope.acquire()
    waveform = scope.fetch_waveform(drive_channel)
    record = bench.model("scope").records[drive_channel]
    assert waveform.codes.size == 1_000_000
    assert np.array_equal(waveform.codes, record.codes)
    high_bytes = np.count_nonzero(record.codes.astype("<i2").view(np.uint8) >= 0x80)
    assert high_bytes > 100_000  # bytes >= 0x80 were in the block and arrived intact


# -- generator: patterns reach the chip -------------------------------------------------------
@pytest.mark.parametrize("length, repeats, command", [(5, 32, ":DIGital1:PATTern #"),
                                                     (32, 1, ":DIGital1:PATTern #"),
                                                     (8192, 1, ":DIGital1:PATTern #"),
                                                     (5000, 16, ":DIGital1:PATTern:LDATa #")])
def test_user_patterns_load_repeated_to_a_valid_length(rf_bench, length, repeats, command):
    bench = rf_bench()
    bits = np.random.default_rng(length).integers(0, 2, length)
    bench.generator.set_pattern(bits)
    assert np.array_equal(bench.model("generator").bits, np.tile(bits, repeats))
    assert sent_to(bench, "generator")[-2].startswith(command)
    assert bench.generator.mode == "DATA"
    if command == ":DIGital1:PATTern #":
        assert np.array_equal(bench.generator.read_pattern(), np.tile(bits, repeats))


def test_scope_sees_the_user_pattern_on_the_drive_channel(rf_bench):
    bench = rf_bench()
    bits = np.array([0, 0, 1, 1, 1, 0, 1, 0] * 4)
    bench.generator.set_pattern(bits)
    bench.generator.set_bit_rate(1e9)
    bench.generator.set_levels(high=0.3, low=-0.2)
    bench.generator.output_on()
    drive_channel = bench.world.setup.oscilloscope.drive_channel
    bench.scope.configure_channel(drive_channel, scale=0.1, offset=0.05)
    bench.scope.configure_timebase(scale=2e-9, position=10e-9, sample_rate=16e9, points=800)
    bench.scope.configure_edge_trigger(channel=drive_channel, level=0.05)
    bench.scope.acquire()
    drive = bench.scope.fetch_waveform(drive_channel)
    centres = np.searchsorted(drive.time, (np.arange(20) + 0.5) * 1e-9)  # bit centres after 0
    seen = (drive.volts[centres] > 0.05).astype(int)
    assert np.allclose(drive.volts[centres], np.where(seen, 0.3, -0.2), atol=5e-3)
    assert np.array_equal(seen, np.roll(bits, -2)[:20])  # the trigger is the first 0 -> 1 edge


@pytest.mark.parametrize("order", [7, 9, 10, 11, 15])
def test_prbs_is_maximal_length(order):
    period = 2**order - 1
    bits = np.tile(prbs_bits(order), 2)
    assert bits.size == 2 * period
    assert bits[:period].sum() == 2 ** (order - 1)  # balanced: one more 1 than 0
    for divisor in (d for d in range(1, period) if period % d == 0):
        assert not np.array_equal(bits[:period - divisor], bits[divisor:period])


# -- passive set-up ---------------------------------------------------------------------------
def test_setup_defaults_and_round_trip():
    setup = Setup.from_mapping(None)
    assert setup.to_dict() == {
        "bias_tee": {"modulation_impedance": 50.0},
        "photoreceiver": {"responsivity": 0.3, "transimpedance": 2000.0, "bandwidth": 10.0e9,
                          "delay": 0.0, "coupling": 0.5},
        "cables": {"drive_delay": 1.0e-9, "monitor_delay": 0.5e-9, "receiver_delay": 2.0e-9},
        "oscilloscope": {"optical_channel": 1, "drive_channel": 2},
        "leads": {"resistance": 0.0}}
    custom = Setup.from_mapping({"photoreceiver": {"bandwidth": 2e9}, "cables": None})
    assert Setup.from_mapping(custom.to_dict()) == custom
    assert custom.photoreceiver.bandwidth == 2e9 and custom.cables == Setup().cables
    assert setup.optical_delay == pytest.approx(3.0e-9)
    assert setup.drive_to_optical_skew == pytest.approx(2.5e-9)


@pytest.mark.parametrize("mapping, message", [
    ({"bias_te": {}}, "unknown key(s) bias_te"),
    ({"photoreceiver": {"gain": 3}}, "setup.photoreceiver: unknown key(s) gain"),
    ({"photoreceiver": {"coupling": 1.5}}, "coupling must be in (0, 1]"),
    ({"photoreceiver": {"bandwidth": 0}}, "bandwidth must be > 0"),
    ({"cables": {"drive_delay": -1e-9}}, "drive_delay must be >= 0"),
    ({"cables": {"drive_delay": "1 ns"}}, "finite number"),
    ({"oscilloscope": {"optical_channel": 2}}, "must differ"),
    ({"oscilloscope": {"drive_channel": 1.5}}, "channel number"),
    ({"bias_tee": 50}, "must be a mapping"),
])
def test_setup_errors_name_the_key(mapping, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Setup.from_mapping(mapping)


def test_station_setup_reaches_the_simulated_world():
    config = StationConfig.load(None)
    assert {"vna", "scope", "generator"} <= set(config.instruments)
    assert Setup.from_mapping(config.setup) == Setup()
    config.setup = {"bias_tee": {"modulation_impedance": 200.0}}
    with Station(config, warn=lambda message: None) as station:
        assert station.world.setup.bias_tee.modulation_impedance == 200.0
        assert station.instruments["generator"].driver.output_enabled() is False
        stored = station.snapshot()["setup"]  # defaults filled in: self-describing run files
        assert stored == Setup.from_mapping(config.setup).to_dict()
        assert stored["bias_tee"]["modulation_impedance"] == 200.0
