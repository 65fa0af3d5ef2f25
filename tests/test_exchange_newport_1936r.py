"""The Newport 1936-R's exact command exchange, written from the 1936-R/2936-R Series User's
Manual (chapter 8, "Communication Command Reference": PM:MODE 8.3.3.59, PM:UNITs 8.3.3.101,
PM:RANge 8.3.3.63, PM:MAX:Power? 8.3.3.54, PM:MIN:Lambda? 8.3.3.55, PM:FILTer 8.3.3.48, the
root-level ECHO and ERRSTR?), against a scripted resource and then over pyserial's own
``serial_for_url`` against the simulated meter."""

from __future__ import annotations

import pytest

from drivers.base import InstrumentError
from drivers.newport_1936r import Newport1936R
from drivers.serial_link import open_serial
from sim_instruments import serial_sim
from sim_instruments.backend import SimulatedWorld
from tests.conftest import ScriptedResource

IDN = "NEWPORT 1936-R v1.0.3 03/18/11 SN10234"
NO_ERROR = '0,"No Error"'
CONNECT = [("ECHO 0", None), ("*IDN?", IDN), ("PM:MIN:Lambda?", "200"),
           ("PM:MAX:Lambda?", "1100"), ("ERRSTR?", NO_ERROR)]


def ok(command: str) -> list:
    """A set command (not answered) and the error query that checks it."""
    return [(command, None), ("ERRSTR?", NO_ERROR)]


def meter_with(script) -> tuple[Newport1936R, ScriptedResource]:
    resource = ScriptedResource([*CONNECT, *script])
    meter = Newport1936R(resource, name="power_meter")
    meter.connect()
    return meter, resource


def test_the_link_is_rs232_at_the_meters_settings():
    assert Newport1936R.transport == "serial"
    assert Newport1936R.serial_settings == {"baudrate": 38400, "bytesize": 8, "parity": "N",
                                            "stopbits": 1, "xonxoff": False, "rtscts": False}
    resource = ScriptedResource([])
    Newport1936R(resource)
    assert (resource.write_termination, resource.read_termination) == ("\r", "\r\n")


def test_connect_turns_echo_off_and_reads_the_detector_range():
    meter, resource = meter_with([])
    assert meter.idn == IDN and resource.clears == 1  # the echo of "ECHO 0" is dropped
    assert meter.wavelength_range == pytest.approx((200e-9, 1100e-9))
    resource.done()


def test_a_stale_echo_in_place_of_the_identity_is_read_past():
    resource = ScriptedResource([("ECHO 0", None), ("*IDN?", "ECHO 0"), ("*IDN?", IDN),
                                 *CONNECT[2:]])
    assert Newport1936R(resource).connect() == IDN
    resource.done()


def test_configure_dc_watts_at_the_wavelength_auto_range_no_filter_then_read():
    meter, resource = meter_with([
        *ok("PM:MODE 0"), *ok("PM:UNITs 2"), *ok("PM:Lambda 450"), *ok("PM:AUTO 1"),
        *ok("PM:FILTer 0"), ("PM:Power?", "1.234000e-06")])
    meter.configure(wavelength=450.2e-9)  # the meter takes whole nm
    assert meter.read_power() == 1.234e-6
    resource.done()


def test_a_fixed_range_is_the_most_sensitive_stage_whose_full_scale_holds_it():
    meter, resource = meter_with([
        *ok("PM:MODE 0"), *ok("PM:UNITs 2"), *ok("PM:Lambda 520"), *ok("PM:AUTO 0"),
        *ok("PM:RANge 0"), ("PM:MAX:Power?", "1.0e-07"),
        *ok("PM:RANge 1"), ("PM:MAX:Power?", "1.0e-06"),
        *ok("PM:DIGITALFILTER 100"), *ok("PM:FILTer 2")])
    meter.configure(wavelength=520e-9, power_range=5e-7, averaging=100)
    resource.done()


def test_an_error_the_meter_reports_names_the_command():
    meter, resource = meter_with([("PM:MODE 0", None), ("ERRSTR?", '104,"Parameter error"')])
    with pytest.raises(InstrumentError, match=r"104.*PM:MODE 0"):
        meter.configure(wavelength=450e-9)
    resource.done()


@pytest.mark.parametrize("kwargs", [{"wavelength": 150e-9}, {"wavelength": 1200e-9},
                                    {"wavelength": float("nan")}, {"averaging": 0},
                                    {"averaging": 2.5}, {"averaging": 20000},
                                    {"power_range": -1.0}, {"power_range": float("inf")}])
def test_a_refused_value_sends_nothing(kwargs):
    meter, resource = meter_with([])
    with pytest.raises(ValueError):
        meter.configure(**{"wavelength": 450e-9, **kwargs})
    resource.done()


def test_check_plan_uses_the_detectors_range_once_connected():
    assert Newport1936R.check_plan({"wavelength": 1500e-9}) == []  # a thermopile could
    meter, _ = meter_with([])
    (problem,) = meter.check_plan({"wavelength": 1500e-9})
    assert problem.startswith("wavelength=1.5e-06 m is outside the 1936-R's range 2e-07 to")


def test_the_serial_exchange_through_pyserial():
    world = SimulatedWorld()
    url = serial_sim.attach("newport_1936r", world, "power_meter")
    meter = Newport1936R(open_serial(url, Newport1936R.serial_settings), name="power_meter")
    meter.connect()
    meter.configure(wavelength=450e-9, averaging=4)
    meter.read_power()
    sent = [command for name, command in world.commands if name == "power_meter"]
    assert sent == ["ECHO 0", "*IDN?", "PM:MIN:Lambda?", "PM:MAX:Lambda?", "ERRSTR?",
                    "PM:MODE 0", "ERRSTR?", "PM:UNITs 2", "ERRSTR?", "PM:Lambda 450",
                    "ERRSTR?", "PM:AUTO 1", "ERRSTR?", "PM:DIGITALFILTER 4", "ERRSTR?",
                    "PM:FILTer 2", "ERRSTR?", "PM:Power?"]
    assert meter.settings()["wavelength_nm"] == 450


def test_a_meter_found_echoing_in_pulse_mode_is_set_right():
    world = SimulatedWorld(initial_state={"power_meter": {"echo": True, "mode": 5}})
    url = serial_sim.attach("newport_1936r", world, "power_meter")
    meter = Newport1936R(open_serial(url, Newport1936R.serial_settings), name="power_meter")
    assert meter.connect().startswith("NEWPORT 1936-R")
    meter.configure(wavelength=450e-9)
    assert meter.settings()["mode"] == 0


def test_the_simulated_meter_refuses_a_wavelength_its_detector_lacks():
    world = SimulatedWorld()
    url = serial_sim.attach("newport_1936r", world, "power_meter")
    meter = Newport1936R(open_serial(url, Newport1936R.serial_settings), name="power_meter")
    meter.connect()
    meter.wavelength_range = (100e-9, 2000e-9)  # as if the driver did not know the detector
    with pytest.raises(InstrumentError, match="PM:Lambda 1500"):
        meter.configure(wavelength=1500e-9)
