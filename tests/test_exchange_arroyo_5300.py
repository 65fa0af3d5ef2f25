"""The Arroyo 5300 TECSource's exact command exchange, written from the Arroyo Computer
Interfacing Manual's TEC commands (as Arroyo's published Python interface uses them): against a
scripted resource, and once through the simulated port opened by pyserial's serial_for_url."""

from __future__ import annotations

import pytest
import serial

from drivers.arroyo_5300 import Arroyo5300
from drivers.base import InstrumentError
from drivers.roles import Output, TemperatureController
from drivers.serial_link import open_serial
from sim_instruments import serial_sim
from sim_instruments.backend import SimulatedWorld
from tests.conftest import ScriptedResource

IDN = "Arroyo Instruments,5310 TECSource,123456,1.23"


def ok(command: str) -> list:
    return [(command, None), ("ERRSTR?", "0")]


def tec_with(script) -> tuple[Arroyo5300, ScriptedResource]:
    resource = ScriptedResource([("*IDN?", IDN), ("ERRSTR?", "0"), *script])
    tec = Arroyo5300(resource, name="tec")
    tec.connect()
    return tec, resource


def test_line_settings_and_terminations_are_the_manuals():
    assert Arroyo5300.transport == "serial"
    assert Arroyo5300.serial_settings == {"baudrate": 38400, "bytesize": 8, "parity": "N",
                                          "stopbits": 1, "xonxoff": False, "rtscts": False}
    tec, resource = tec_with([])
    assert resource.write_termination == "\r\n" and resource.read_termination == "\r\n"
    assert isinstance(tec, TemperatureController) and isinstance(tec, Output)
    resource.done()


def test_set_point_is_sent_in_celsius_and_read_back_in_kelvin():
    tec, resource = tec_with([*ok("TEC:T 85"), ("TEC:SET:T?", "85.000"),
                              ("TEC:T?", "84.512")])
    tec.set_temperature(358.15)
    assert tec.setpoint() == pytest.approx(358.15, abs=1e-9)
    assert tec.temperature() == pytest.approx(357.662, abs=1e-9)
    resource.done()


def test_limits_low_first_when_below_the_present_high_limit():
    tec, resource = tec_with([("TEC:LIM:THI?", "100.000"), *ok("TEC:LIM:TLO 10"),
                              *ok("TEC:LIM:THI 90"), *ok("TEC:LIM:ITE 2.5")])
    tec.set_limits(low=283.15, high=363.15, current=2.5)
    resource.done()


def test_limits_high_first_when_the_new_low_is_above_the_present_high():
    tec, resource = tec_with([("TEC:LIM:THI?", "50.000"), *ok("TEC:LIM:THI 120"),
                              *ok("TEC:LIM:TLO 60"), *ok("TEC:LIM:ITE 1.0")])
    tec.set_limits(low=333.15, high=393.15, current=1.0)
    resource.done()


def test_tolerance_output_and_condition_register():
    tec, resource = tec_with([*ok("TEC:TOL 0.1,5.0"), *ok("TEC:OUT 1"),
                              ("TEC:COND?", str(1 << 9 | 1 << 10)), ("TEC:COND?", "1024"),
                              ("TEC:OUT?", "1"), ("TEC:OUT 0", None), ("TEC:OUT?", "0")])
    tec.set_tolerance(0.1, 5.0)
    tec.output_on()
    assert tec.in_tolerance() is True
    assert tec.in_tolerance() is False
    assert tec.output_enabled() is True
    tec.output_off()
    assert tec.output_enabled() is False
    resource.done()


def test_a_refused_set_point_raises_with_the_instruments_error():
    tec, resource = tec_with([("TEC:T 150", None), ("ERRSTR?", '202,"out of limits"')])
    with pytest.raises(InstrumentError, match="202"):
        tec.set_temperature(423.15)
    resource.done()


@pytest.mark.parametrize("call", [
    lambda t: t.set_temperature(float("nan")), lambda t: t.set_temperature(100.0),
    lambda t: t.set_tolerance(0.001, 5.0), lambda t: t.set_tolerance(0.1, 60.0),
    lambda t: t.set_limits(low=300.0, high=290.0, current=1.0),
    lambda t: t.set_limits(low=280.0, high=300.0, current=50.0)])
def test_values_outside_the_model_are_refused_before_anything_is_sent(call):
    tec, resource = tec_with([])
    with pytest.raises(ValueError):
        call(tec)
    resource.done()


def test_check_plan_names_value_limit_and_model():
    assert Arroyo5300.check_plan({"temperature": 358.15, "tec_current": 2.0}) == []
    problems = Arroyo5300.check_plan({"temperature": 600.0, "tec_current": 9.0})
    assert len(problems) == 2 and all("Arroyo 5300" in p for p in problems)


def test_a_wrong_instrument_is_refused_at_connect():
    resource = ScriptedResource([("*IDN?", "Thorlabs,PM100D,P1,2.4")])
    with pytest.raises(InstrumentError, match="5300"):
        Arroyo5300(resource, name="tec").connect()


def test_the_simulated_port_through_serial_for_url():
    world = SimulatedWorld()
    url = serial_sim.attach("arroyo_5300", world, "tec")
    port = serial.serial_for_url(url, **Arroyo5300.serial_settings, timeout=0.2)
    port.write(b"*IDN?\r\nTEC:SET:T?\r\n")
    assert port.read_until(b"\r\n").startswith(b"Arroyo Instruments,53")
    assert float(port.read_until(b"\r\n")) == pytest.approx(25.0)
    port.write(b"TEC:OUTPUT?\r\n")  # a long form of the mnemonic
    assert port.read_until(b"\r\n") == b"0\r\n"
    port.close()
    tec = Arroyo5300(open_serial(url, Arroyo5300.serial_settings), name="tec")
    tec.connect()
    assert tec.setpoint() == pytest.approx(world.chip_params.ambient_temperature)
    assert [c for _, c in world.commands][-3:] == ["*IDN?", "ERRSTR?", "TEC:SET:T?"]
