"""The Thorlabs PM family's exact command exchange against a scripted resource (no simulator):
PM100D (Operation Manual, "SCPI commands"), PM100USB (Operation Manual, 7 "Computer Interface")
and PM400 (User Guide 2017, 5.5 "SCPI Commands", compatible with the PM100 set; 5.5.2.2 for
*IDN?). The three share one driver base (drivers/thorlabs_pm.py) and one command set:
SENSe:CORRection:WAVelength, SENSe:POWer:DC:UNIT and RANGe, SENSe:AVERage:COUNt,
CONFigure:POWer, READ?, SYSTem:ERRor?; each is checked here on its own class and identity."""

from __future__ import annotations

import pytest

from drivers.base import InstrumentError
from drivers.thorlabs_pm100d import ThorlabsPM100D
from drivers.thorlabs_pm100usb import ThorlabsPM100USB
from drivers.thorlabs_pm400 import ThorlabsPM400
from tests.conftest import ScriptedResource, checked

ERR = "SYSTem:ERRor?"
# each model's class and an *IDN? answer in its manual's format
MODELS = {"PM100D": (ThorlabsPM100D, "Thorlabs,PM100D,P0012345,2.4.0"),
          "PM100USB": (ThorlabsPM100USB, "Thorlabs,PM100USB,P2001234,1.7.0"),
          "PM400": (ThorlabsPM400, "THORLABS,PM400,P5001234,1.6.0")}


@pytest.fixture(params=sorted(MODELS))
def model(request):
    return request.param


def ok(command: str) -> list:
    return checked(command, ERR)


def meter_with(model: str, script):
    cls, idn = MODELS[model]
    resource = ScriptedResource([("*IDN?", idn), ("*CLS", None), *script])
    meter = cls(resource, name="power_meter")
    meter.connect()
    return meter, resource


def test_configure_then_read_power_in_watts(model):
    meter, resource = meter_with(model, [
        *ok("SENSe:CORRection:WAVelength 450"), *ok("SENSe:POWer:DC:UNIT W"),
        *ok("SENSe:POWer:DC:RANGe:AUTO ON"), *ok("SENSe:AVERage:COUNt 10"),
        *ok("CONFigure:POWer"), ("READ?", "1.234000E-06")])
    meter.configure(wavelength=450e-9, averaging=10)
    assert meter.read_power() == 1.234e-6
    resource.done()


def test_a_fixed_range_switches_auto_range_off_first(model):
    meter, resource = meter_with(model, [
        *ok("SENSe:CORRection:WAVelength 520"), *ok("SENSe:POWer:DC:UNIT W"),
        *ok("SENSe:POWer:DC:RANGe:AUTO OFF"), *ok("SENSe:POWer:DC:RANGe:UPPer 0.001"),
        *ok("SENSe:AVERage:COUNt 1"), *ok("CONFigure:POWer")])
    meter.configure(wavelength=520e-9, power_range=1e-3)
    resource.done()


def test_a_wavelength_the_sensor_refuses_is_an_error_naming_the_command(model):
    meter, resource = meter_with(model, [("SENSe:CORRection:WAVelength 1500", None),
                                         (ERR, '-222,"Data out of range"'), (ERR, '0,"No error"')])
    with pytest.raises(InstrumentError, match="WAVelength 1500"):
        meter.configure(wavelength=1500e-9)
    resource.done()


@pytest.mark.parametrize("kwargs", [{"averaging": 0}, {"averaging": 2.5}, {"power_range": 1e3},
                                    {"wavelength": 100e-9}])
def test_a_refused_value_sends_nothing(model, kwargs):
    meter, resource = meter_with(model, [])
    with pytest.raises(ValueError):
        meter.configure(**{"wavelength": 450e-9, **kwargs})
    resource.done()


def test_another_console_is_not_taken_for_this_model(model):
    cls, _ = MODELS[model]
    other = next(idn for name, (_, idn) in MODELS.items() if name != model)
    with pytest.raises(InstrumentError, match=f"expected a {cls.__name__}"):
        cls(ScriptedResource([("*IDN?", other)])).connect()


@pytest.mark.parametrize("request_, problem", [
    ({"wavelength": 100e-9}, "wavelength=1e-07 m is outside the {}'s range 1.85e-07 to"),
    ({"averaging": 20000}, "averaging=20000 is outside the {}'s range 1 to 10000"),
    ({"power": 300.0}, "power=300 W is outside the {}'s range 0 to 250 W"),
])
def test_check_plan_names_value_limit_and_model(model, request_, problem):
    problems = MODELS[model][0].check_plan(request_)
    assert len(problems) == 1 and problems[0].startswith(problem.format(model)), problems


def test_check_plan_accepts_a_blue_led_reading(model):
    assert MODELS[model][0].check_plan({"wavelength": 450e-9, "averaging": 100,
                                        "power": 1e-3}) == []
