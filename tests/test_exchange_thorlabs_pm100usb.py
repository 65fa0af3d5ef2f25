"""The PM100USB's exact command exchange against a scripted resource (no simulator), written from
the PM100USB Operation Manual, 7 "Computer Interface" (the SCPI commands of the Thorlabs PM
family): SENSe:CORRection:WAVelength, SENSe:POWer:DC:UNIT and RANGe, SENSe:AVERage:COUNt,
CONFigure:POWer, READ?, SYSTem:ERRor?."""

from __future__ import annotations

import pytest

from drivers.base import InstrumentError
from drivers.thorlabs_pm100usb import ThorlabsPM100USB
from tests.conftest import ScriptedResource, checked

IDN = "Thorlabs,PM100USB,P2001234,1.7.0"
ERR = "SYSTem:ERRor?"


def ok(command: str) -> list:
    return checked(command, ERR)


def meter_with(script) -> tuple[ThorlabsPM100USB, ScriptedResource]:
    resource = ScriptedResource([("*IDN?", IDN), ("*CLS", None), *script])
    meter = ThorlabsPM100USB(resource, name="power_meter")
    meter.connect()
    return meter, resource


def test_configure_then_read_power_in_watts():
    meter, resource = meter_with([
        *ok("SENSe:CORRection:WAVelength 450"), *ok("SENSe:POWer:DC:UNIT W"),
        *ok("SENSe:POWer:DC:RANGe:AUTO ON"), *ok("SENSe:AVERage:COUNt 10"),
        *ok("CONFigure:POWer"), ("READ?", "2.5E-04")])
    meter.configure(wavelength=450e-9, averaging=10)
    assert meter.read_power() == 2.5e-4
    resource.done()


def test_a_fixed_range_switches_auto_range_off_first():
    meter, resource = meter_with([
        *ok("SENSe:CORRection:WAVelength 633"), *ok("SENSe:POWer:DC:UNIT W"),
        *ok("SENSe:POWer:DC:RANGe:AUTO OFF"), *ok("SENSe:POWer:DC:RANGe:UPPer 0.01"),
        *ok("SENSe:AVERage:COUNt 1"), *ok("CONFigure:POWer")])
    meter.configure(wavelength=633e-9, power_range=1e-2)
    resource.done()


def test_a_wavelength_the_sensor_refuses_is_an_error_naming_the_command():
    meter, resource = meter_with([("SENSe:CORRection:WAVelength 1500", None),
                                  (ERR, '-222,"Data out of range"'), (ERR, '0,"No error"')])
    with pytest.raises(InstrumentError, match="WAVelength 1500"):
        meter.configure(wavelength=1500e-9)
    resource.done()


@pytest.mark.parametrize("kwargs", [{"averaging": 0}, {"averaging": 2.5}, {"power_range": 1e3},
                                    {"wavelength": 100e-9}])
def test_a_refused_value_sends_nothing(kwargs):
    meter, resource = meter_with([])
    with pytest.raises(ValueError):
        meter.configure(**{"wavelength": 450e-9, **kwargs})
    resource.done()


def test_another_console_is_not_taken_for_a_pm100usb():
    resource = ScriptedResource([("*IDN?", "Thorlabs,PM100D,P0012345,2.4.0")])
    with pytest.raises(InstrumentError, match="expected a ThorlabsPM100USB"):
        ThorlabsPM100USB(resource).connect()


def test_check_plan_names_the_model():
    (problem,) = ThorlabsPM100USB.check_plan({"averaging": 20000})
    assert problem == "averaging=20000 is outside the PM100USB's range 1 to 10000"
