"""Keithley 2450 and Thorlabs PM100D drivers against the physics-backed simulator.

Known truth is the simulated chip itself (``world.chip``): every reading must equal its steady
state within the configured measurement noise (relative sigma ``chip.params.noise``).
"""

from __future__ import annotations

import re
from importlib import resources

import numpy as np
import pytest
import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError

from drivers.base import InstrumentError
from drivers.keithley2450 import Keithley2450
from drivers.thorlabs_pm100d import ThorlabsPM100D
from tests.conftest import TIMEOUT, ScriptedResource

NOISE_SIGMAS = 6  # tolerance in standard deviations of the simulated measurement noise


def rel_tol(bench) -> float:
    return NOISE_SIGMAS * bench.world.chip_params.noise


def sent(driver) -> list[str]:
    return driver.resource.sent


# -- identification and connection ----------------------------------------------------------------
def test_connect_identifies_and_leaves_the_output_off(sim_bench):
    bench = sim_bench()
    assert "MODEL 2450" in bench.smu.idn and "PM100D" in bench.meter.idn
    assert sent(bench.smu) == ["*IDN?", "*CLS"]  # nothing but identification and status clear
    assert bench.smu.output_enabled() is False
    assert bench.world.current_history == [] and bench.world.drive_current == 0.0


@pytest.mark.parametrize("driver_cls, resource", [
    (Keithley2450, "USB0::0x1313::0x8078::P0012345::INSTR"),
    (ThorlabsPM100D, "USB0::0x05E6::0x2450::04400001::INSTR"),
])
def test_wrong_idn_is_refused(sim_bench, driver_cls, resource):
    bench = sim_bench()
    driver = driver_cls(bench.manager.open_resource(resource), name="dut")
    with pytest.raises(InstrumentError) as info:
        driver.connect()
    assert info.value.command == "*IDN?"
    assert driver_cls.__name__ in str(info.value) and "answered" in str(info.value)


# -- settings ----------------------------------------------------------------------------------
def test_keithley_settings_round_trip(sim_bench):
    smu = sim_bench().smu
    smu.voltage_limit = 7.25
    smu.current_limit = 2.5e-3
    smu.source_current = 1.5e-3
    smu.source_function = "VOLT"
    assert smu.settings() == {"source_function": "VOLT", "source_current": 1.5e-3,
                              "source_voltage": 0.0, "voltage_limit": 7.25,
                              "current_limit": 2.5e-3, "output": False}
    smu.configure_current_source(voltage_limit=4.5, nplc=0.1)
    assert (smu.source_function, smu.voltage_limit) == ("CURR", 4.5)
    assert float(smu.query(":SENSe:VOLTage:NPLCycles?")) == 0.1


def test_levels_and_limits_go_out_unrounded(sim_bench):
    """What was checked against a limit is what is sent: no rounding up past it (a 2.50390625 V
    compliance checked against a 2.50390625 V max_voltage went out as 2.50391 V)."""
    bench = sim_bench()
    smu = bench.smu
    limit = 4.50390625  # ':g' would send 4.50391
    smu.configure_current_source(voltage_limit=limit)
    assert sent(smu)[-2:] == [f":SOURce:CURRent:VLIMit {limit!r}", smu.error_query]
    level = 1.23456789012345e-3
    smu.output_on()
    smu.set_current(level)
    smu.output_off()
    assert float(sent(smu)[-2].split()[-1]) == level
    assert max(bench.world.current_history) == level


def test_power_meter_settings_round_trip(sim_bench):
    meter = sim_bench().meter
    meter.configure(wavelength=850e-9, power_range=2e-3, averaging=20)
    assert meter.settings() == {"wavelength_nm": 850.0, "auto_range": False,
                                "power_range": 2e-3, "averaging": 20}
    meter.configure(wavelength=450e-9)
    assert meter.auto_range is True and meter.wavelength_nm == 450.0 and meter.averaging == 1


@pytest.mark.parametrize("action", [
    lambda b: setattr(b.smu, "voltage_limit", 300.0),
    lambda b: setattr(b.smu, "source_function", "RES"),
    lambda b: b.smu.set_current(1.2),
    lambda b: b.smu.set_voltage(-250.0),
    lambda b: b.smu.configure_current_source(voltage_limit=5.0, nplc=20),
    lambda b: b.smu.sweep_current(np.linspace(0, 1e-3, 10_001)),
    lambda b: b.smu.sweep_current(np.array([0.0, 2.0])),
    lambda b: setattr(b.meter, "wavelength_nm", 100.0),
    lambda b: setattr(b.meter, "averaging", 0),
    lambda b: b.meter.configure(wavelength=450e-9, averaging=2.5),
    lambda b: b.meter.configure(wavelength=450e-9, power_range=300.0),
], ids=["vlimit", "function", "current", "voltage", "nplc", "sweep-size", "sweep-level",
        "wavelength", "averaging", "averaging-fraction", "meter-range"])
def test_out_of_range_is_refused_locally(sim_bench, action):
    """A value outside the instrument's range raises ValueError before any command is sent."""
    bench = sim_bench()
    before = (list(sent(bench.smu)), list(sent(bench.meter)))
    with pytest.raises(ValueError):
        action(bench)
    assert (sent(bench.smu), sent(bench.meter)) == before
    assert bench.world.current_history == []


@pytest.mark.parametrize("action, command", [
    (lambda b: setattr(b.meter, "wavelength_nm", 1500.0), "SENSe:CORRection:WAVelength 1500"),
    (lambda b: setattr(b.meter, "power_range", 1.0), "SENSe:POWer:DC:RANGe:UPPer 1"),
    (lambda b: b.smu.configure_current_source(voltage_limit=5.0, current_range=2.0),
     ":SOURce:CURRent:RANGe 2"),
    (lambda b: b.smu.write_checked(":SOURce:CURRent:LIMit 1"), ":SOURce:CURRent:LIMit 1"),
], ids=["sensor-wavelength", "meter-range", "source-range", "unknown-command"])
def test_instrument_refusal_raises_with_the_command(sim_bench, action, command):
    """Values the driver accepts but the instrument (its YAML specs) refuses come back from the
    error queue as InstrumentError naming the command; the queue is drained afterwards."""
    bench = sim_bench()
    with pytest.raises(InstrumentError) as info:
        action(bench)
    assert info.value.command == command
    assert info.value.message.startswith(("-222", "-113"))
    assert command in str(info.value)
    assert bench.smu.errors() == [] and bench.meter.errors() == []


# -- measurement and sweeps --------------------------------------------------------------------
def point_by_point(smu, levels):
    smu.output_on()
    readings = []
    for level in levels:
        smu.set_current(float(level))
        readings.append(smu.measure())
    smu.set_current(0.0)
    smu.output_off()
    return np.array(readings).T  # voltage, current


SWEEPS = {
    "lin": np.linspace(1e-4, 5e-3, 50),
    "log": np.geomspace(1e-7, 5e-3, 40),
    # not lin, not log, > 100 points: a list that needs :APPend
    "list": np.sort(np.concatenate([np.geomspace(1e-6, 1e-3, 90), np.linspace(1.1e-3, 5e-3, 61)])),
}
SWEEP_VERB = {"lin": ":SOURce:SWEep:CURR:LINear", "log": ":SOURce:SWEep:CURR:LOG",
              "list": ":SOURce:SWEep:CURR:LIST"}


@pytest.mark.parametrize("kind", list(SWEEPS))
def test_current_sweep_matches_point_by_point_and_the_chip(sim_bench, kind):
    bench = sim_bench()
    smu, levels = bench.smu, SWEEPS[kind]
    smu.configure_current_source(voltage_limit=8.0, nplc=0.01)
    start = len(sent(smu))
    sweep = smu.sweep_current(levels)
    commands = sent(smu)[start:]

    assert sum(c.startswith(SWEEP_VERB[kind]) for c in commands) == 1
    assert sum(c.startswith(":TRACe:DATA?") for c in commands) == 1  # one transfer
    assert not any(c.startswith(":READ?") for c in commands)
    appends = [c for c in commands if c.startswith(":SOURce:LIST:CURR:APPend")]
    assert len(appends) == (len(levels) - 1) // 100 if kind == "list" else not appends
    plain = [c for c in commands if c != smu.error_query]
    transfer = next(i for i, c in enumerate(plain) if c.startswith(":TRACe:DATA?"))
    assert plain[transfer - 1] == ":FORMat:DATA REAL"  # binary doubles
    assert plain[-1] == ":FORMat:DATA ASCii"
    assert bench.world.drive_current == 0.0  # the output was off before: off after

    voltage, current = point_by_point(smu, levels)
    truth = bench.world.chip.steady_state(levels).voltage
    tol = rel_tol(bench)
    np.testing.assert_array_equal(sweep.source, levels)
    np.testing.assert_allclose(sweep.current, levels, rtol=tol)
    np.testing.assert_allclose(sweep.voltage, truth, rtol=tol)
    np.testing.assert_allclose(sweep.voltage, voltage, rtol=tol * np.sqrt(2))
    np.testing.assert_allclose(sweep.current, current, rtol=tol * np.sqrt(2))


def test_voltage_sweep_stops_at_the_current_limit(sim_bench):
    """failAbort ON (2450-901-01, :SOURce:SWEep:<function>:LINear): the sweep ends at the first
    point whose current reaches the limit, and returns the points measured until then."""
    bench = sim_bench()
    smu, chip = bench.smu, bench.world.chip
    limit = 1e-3
    smu.configure_voltage_source(current_limit=limit)
    levels = np.linspace(2.0, 4.0, 21)
    sweep = smu.sweep_voltage(levels)
    free = chip.current_at_voltage(levels)
    assert np.any(free > 2 * limit)  # the programmed sweep would go far beyond compliance
    below = int(np.argmax(free > limit))  # points before the first one limited
    assert sweep.stopped_at_compliance
    assert sweep.current.size in (below, below + 1)  # with or without the point that hit it
    tol = rel_tol(bench)
    np.testing.assert_array_equal(sweep.source, levels[:sweep.current.size])
    np.testing.assert_allclose(sweep.current[:below], free[:below], rtol=tol)
    assert np.all(sweep.current <= limit * (1 + tol))
    assert bench.world.max_applied_current <= limit


def test_voltage_compliance_holds_when_sourcing_current(sim_bench):
    bench = sim_bench()
    smu, chip = bench.smu, bench.world.chip
    limit = 2.9
    assert chip.steady_state(np.array([5e-3])).voltage[0] > limit + 0.3  # would exceed it
    smu.configure_current_source(voltage_limit=limit)
    smu.output_on()
    smu.set_current(5e-3)
    voltage, current = smu.measure()
    smu.output_off()
    tol = rel_tol(bench)
    assert voltage == pytest.approx(limit, rel=tol)
    assert current == pytest.approx(chip.current_at_voltage(np.array([limit]))[0], rel=tol)
    assert current < 5e-3 / 2
    assert max(bench.world.voltage_history) <= limit
    sweep = smu.sweep_current(np.linspace(1e-3, 5e-3, 5))
    assert sweep.stopped_at_compliance  # 5 mA needs more than the limit: aborted there
    assert np.all(sweep.voltage <= limit * (1 + tol))
    assert max(bench.world.voltage_history) <= limit


def test_measure_with_output_off_is_not_a_number(sim_bench):
    """The 2450 answers 9.91e37 (SCPI NaN) when it is not sourcing; the chip sees nothing."""
    bench = sim_bench()
    bench.smu.configure_current_source(voltage_limit=5.0)
    bench.smu.set_current(1e-3)
    voltage, current = bench.smu.measure()
    assert voltage > 1e37 and current > 1e37
    assert bench.world.max_applied_current == 0.0


# -- power meter -----------------------------------------------------------------------------
def test_power_follows_the_smu_current_through_the_chip(sim_bench):
    bench = sim_bench()
    smu, meter, chip = bench.smu, bench.meter, bench.world.chip
    meter.configure(wavelength=chip.params.wavelength)
    smu.configure_current_source(voltage_limit=8.0)
    levels = np.array([1e-6, 1e-5, 1e-4, 1e-3, 5e-3])
    smu.output_on()
    powers = []
    for level in levels:
        smu.set_current(float(level))
        powers.append(meter.read_power())
    smu.output_off()
    floor = NOISE_SIGMAS * 50e-12  # sensor dark noise of the simulated PM100D
    expected = chip.steady_state(levels).optical_power
    np.testing.assert_allclose(powers, expected, rtol=rel_tol(bench), atol=floor)
    assert abs(meter.read_power()) < floor  # output off: darkness


def test_wrong_wavelength_scales_the_reading(sim_bench):
    """A photodiode meter divides by its responsivity at the set wavelength (~ wavelength):
    set = 2 x true wavelength reads half the power (documented in ThorlabsPM100DModel)."""
    bench = sim_bench()
    smu, meter, chip = bench.smu, bench.meter, bench.world.chip
    smu.configure_current_source(voltage_limit=8.0)
    smu.output_on()
    smu.set_current(2e-3)
    true_power = chip.steady_state(np.array([2e-3])).optical_power[0]
    ratios = []
    for wavelength in (chip.params.wavelength, 2 * chip.params.wavelength, 600e-9):
        meter.configure(wavelength=wavelength, averaging=16)
        ratios.append(meter.read_power() / true_power)
    smu.output_off()
    tol = rel_tol(bench)
    assert ratios[0] == pytest.approx(1.0, rel=tol)
    assert ratios[1] == pytest.approx(0.5, rel=tol)
    assert ratios[2] == pytest.approx(chip.params.wavelength / 600e-9, rel=tol)


# -- the YAML contract in stock pyvisa-sim -----------------------------------------------------
@pytest.mark.parametrize("yaml_name, driver_cls", [
    ("keithley2450.yaml", Keithley2450), ("thorlabs_pm100d.yaml", ThorlabsPM100D)])
def test_yaml_works_in_plain_pyvisa_sim(yaml_name, driver_cls):
    """The YAML alone (no physics backend) answers *IDN? and takes the driver's configuration."""
    path = resources.files("sim_instruments").joinpath(yaml_name)
    manager = pyvisa.ResourceManager(f"{path}@sim")
    try:
        names = manager.list_resources()
        assert names
        for name in names:
            resource = manager.open_resource(name, write_termination="\n",
                                             read_termination="\n")
            assert pyvisa.constants.InterfaceType.usb == resource.interface_type
            assert re.search(driver_cls.idn_pattern, resource.query("*IDN?"))
            driver = driver_cls(resource)
            driver.connect()
            if driver_cls is Keithley2450:
                driver.configure_current_source(voltage_limit=4.0, nplc=0.5)
                assert driver.voltage_limit == 4.0
            else:
                driver.configure(wavelength=520e-9, averaging=4)
                assert (driver.wavelength_nm, driver.averaging) == (520.0, 4)
            assert driver.settings()
            assert driver.errors() == []
    finally:
        manager.close()


def test_a_long_sweep_is_waited_for_and_the_timeout_restored(sim_bench):
    bench = sim_bench()
    smu = bench.smu
    smu.configure_current_source(voltage_limit=5.0, nplc=10)
    usual = smu.resource.timeout
    seen = {}
    write = smu.resource.write

    def spy(message):
        if message == "*OPC?":
            seen["timeout"] = smu.resource.timeout
        return write(message)

    object.__setattr__(smu.resource, "write", spy)
    smu.sweep_current(np.linspace(1e-4, 1e-3, 100), delay=0.01)
    # 100 points x (10 ms delay + 3 integrations of 10 PLC at 50 Hz): 61 s, waited for twice
    assert seen["timeout"] >= 2 * 100 * (0.01 + 0.6) * 1000
    assert smu.resource.timeout == usual


# -- fault policy counts (drivers/base.py), on a scripted resource --------------------------------
def _lost():
    return VisaIOError(constants.VI_ERROR_CONN_LOST)


def _scripted_smu(script, resource_cls=ScriptedResource):
    resource = resource_cls(script)
    return Keithley2450(resource, name="smu"), resource


IDN_2450 = "KEITHLEY INSTRUMENTS,MODEL 2450,04400001,1.7.3c"


def test_a_timed_out_query_is_cleared_and_retried_and_counted():
    smu, resource = _scripted_smu([("*IDN?", TIMEOUT), ("*IDN?", TIMEOUT), ("*IDN?", IDN_2450)])
    assert smu.query("*IDN?") == IDN_2450
    resource.done()
    assert smu.recoveries == {"retries": 2, "reopens": 0, "device_clears": 2}
    assert resource.clears == 2


def test_a_clear_the_link_cannot_do_is_not_counted():
    class NoClear(ScriptedResource):
        def clear(self):
            raise NotImplementedError

    smu, resource = _scripted_smu([("*IDN?", TIMEOUT), ("*IDN?", IDN_2450)], NoClear)
    smu.query("*IDN?")
    assert smu.recoveries == {"retries": 1, "reopens": 0, "device_clears": 0}


def test_a_dropped_link_is_reopened_once_and_the_write_sent_again():
    class Reopening(ScriptedResource):
        reopened = 0

        def reopen(self):
            self.reopened += 1

    smu, resource = _scripted_smu([(":OUTPut:STATe OFF", _lost()), (":OUTPut:STATe OFF", None),
                                   (":OUTPut:STATe OFF", _lost())], Reopening)
    smu.output_off()
    assert smu.recoveries == {"retries": 1, "reopens": 1, "device_clears": 0}
    with pytest.raises(InstrumentError, match="write failed"):
        smu.output_off()  # a second loss in the session is not re-opened again
    resource.done()
    assert resource.reopened == 1 and smu.recoveries["reopens"] == 1


def test_an_unreadable_answer_is_asked_again_until_the_retries_run_out():
    smu, resource = _scripted_smu([(":SOURce:CURRent?", "garbled")] * 3)
    with pytest.raises(InstrumentError, match="no valid answer"):
        smu.query_float(":SOURce:CURRent?")
    resource.done()
    assert smu.recoveries == {"retries": 2, "reopens": 0, "device_clears": 3}
