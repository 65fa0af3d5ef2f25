"""The PM100D's exact command exchange against a scripted resource (no simulator), written from
the PM100D Operation Manual, "SCPI commands" (SENSe:CORRection, SENSe:POWer, SENSe:AVERage,
CONFigure, READ?)."""

from __future__ import annotations

import pytest

from drivers.thorlabs_pm100d import ThorlabsPM100D
from tests.conftest import ScriptedResource, checked

IDN = "Thorlabs,PM100D,P0012345,2.4.0"
ERR = "SYSTem:ERRor?"


def ok(command: str) -> list:
    return checked(command, ERR)


def meter_with(script) -> tuple[ThorlabsPM100D, ScriptedResource]:
    resource = ScriptedResource([("*IDN?", IDN), ("*CLS", None), *script])
    meter = ThorlabsPM100D(resource, name="power_meter")
    meter.connect()
    return meter, resource


def test_configure_then_read_power_in_watts():
    meter, resource = meter_with([
        *ok("SENSe:CORRection:WAVelength 450"), *ok("SENSe:POWer:DC:UNIT W"),
        *ok("SENSe:POWer:DC:RANGe:AUTO ON"), *ok("SENSe:AVERage:COUNt 10"),
        *ok("CONFigure:POWer"), ("READ?", "1.234000E-06")])
    meter.configure(wavelength=450e-9, averaging=10)
    assert meter.read_power() == 1.234e-6
    resource.done()


def test_a_fixed_range_switches_auto_range_off_first():
    meter, resource = meter_with([
        *ok("SENSe:CORRection:WAVelength 520"), *ok("SENSe:POWer:DC:UNIT W"),
        *ok("SENSe:POWer:DC:RANGe:AUTO OFF"), *ok("SENSe:POWer:DC:RANGe:UPPer 0.001"),
        *ok("SENSe:AVERage:COUNt 1"), *ok("CONFigure:POWer")])
    meter.configure(wavelength=520e-9, power_range=1e-3)
    resource.done()


@pytest.mark.parametrize("kwargs", [{"averaging": 0}, {"averaging": 2.5},
                                    {"power_range": 1e3}])
def test_a_refused_value_sends_nothing(kwargs):
    meter, resource = meter_with([])
    with pytest.raises(ValueError):
        meter.configure(wavelength=450e-9, **kwargs)
    resource.done()


@pytest.mark.parametrize("request_, problem", [
    ({"wavelength": 100e-9}, "wavelength=1e-07 m is outside the PM100D's range 1.85e-07 to"),
    ({"averaging": 20000}, "averaging=20000 is outside the PM100D's range 1 to 10000"),
    ({"power": 300.0}, "power=300 W is outside the PM100D's range 0 to 250 W"),
])
def test_check_plan_names_value_limit_and_model(request_, problem):
    problems = ThorlabsPM100D.check_plan(request_)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_check_plan_accepts_a_blue_led_reading():
    assert ThorlabsPM100D.check_plan({"wavelength": 450e-9, "averaging": 100,
                                      "power": 1e-3}) == []
