"""The SMU photodiode's exact command exchange: a Keithley 2450 (Reference Manual 2450-901-01,
section 6) sourcing the photodiode's bias and measuring its current, against a scripted
resource; and the options, refused before anything is sent."""

from __future__ import annotations

import pytest

from drivers.base import InstrumentError
from drivers.smu_photodiode import SmuPhotodiode
from tests.conftest import ScriptedResource, checked

IDN = "KEITHLEY INSTRUMENTS,MODEL 2450,04400002,1.7.3c"
TABLE = [[400e-9, 0.20], [500e-9, 0.30]]


def photodiode_with(script, **options) -> tuple[SmuPhotodiode, ScriptedResource]:
    resource = ScriptedResource([("*IDN?", IDN), ("*CLS", None), *script])
    meter = SmuPhotodiode(resource, name="photodiode",
                          **SmuPhotodiode.check_options({"responsivity": TABLE, **options}))
    meter.connect()
    return meter, resource


def bias_and_measure_current(limit: str, bias: str) -> list:
    """configure_voltage_source: source V, sense current (NPLC 1, auto range, 2-wire), readback,
    source auto range, the current limit (:SOURce:VOLTage:ILIMit) before the level; then the
    bias and the output."""
    return [*checked(":SOURce:FUNCtion VOLT"), *checked(':SENSe:FUNCtion "CURR"'),
            *checked(":SENSe:CURRent:NPLCycles 1"), *checked(":SENSe:CURRent:RANGe:AUTO ON"),
            *checked(":SENSe:CURRent:RSENse OFF"), *checked(":SOURce:VOLTage:READ:BACK ON"),
            *checked(":SOURce:VOLTage:RANGe:AUTO ON"),
            *checked(f":SOURce:VOLTage:ILIMit {limit}"),
            (f":SOURce:VOLTage {bias}", None), *checked(":OUTPut:STATe ON")]


def test_photocurrent_over_interpolated_responsivity_less_dark_current():
    read = ':READ? "defbuffer1", READ, SOUR'
    meter, resource = photodiode_with(
        [*bias_and_measure_current("0.001", "-5"),
         (read, "-1.251000E-04,-5.000000E+00"), (read, "-1.249000E-04,-5.000000E+00")],
        bias=-5.0, current_limit=1e-3, dark_current=1e-9)
    meter.configure(wavelength=450e-9, averaging=2)
    # R(450 nm) = 0.25 A/W between the table's 0.20 and 0.30; mean current -125.0 uA
    assert meter.read_power() == pytest.approx((125.0e-6 - 1e-9) / 0.25, rel=1e-12)
    resource.done()


def test_a_single_responsivity_holds_at_every_wavelength():
    resource = ScriptedResource([])
    meter = SmuPhotodiode(resource, responsivity=0.3)
    assert meter.responsivity(300e-9) == meter.responsivity(900e-9) == 0.3


def test_a_reading_at_the_current_limit_is_refused_not_passed_off_as_light():
    meter, resource = photodiode_with(
        [*bias_and_measure_current("0.001", "0"),
         (':READ? "defbuffer1", READ, SOUR', "-1.000000E-03,0.000000E+00")], current_limit=1e-3)
    meter.configure(wavelength=450e-9)
    with pytest.raises(InstrumentError, match="current limit"):
        meter.read_power()
    resource.done()


@pytest.mark.parametrize("kwargs", [{"wavelength": 399e-9}, {"wavelength": 501e-9},
                                    {"wavelength": float("nan")}, {"averaging": 0},
                                    {"averaging": 1.5}, {"power_range": 1.0}])
def test_a_refused_value_sends_nothing(kwargs):
    meter, resource = photodiode_with([], current_limit=1e-3)
    with pytest.raises(ValueError):
        meter.configure(**{"wavelength": 450e-9, **kwargs})
    resource.done()


@pytest.mark.parametrize("options, message", [
    ({}, "responsivity is required"),
    ({"responsivity": [[500e-9, 0.3], [400e-9, 0.2]]}, "must increase"),
    ({"responsivity": [[400e-9, 0.2]]}, "at least two"),
    ({"responsivity": [[400e-9, -0.2], [500e-9, 0.3]]}, "responsivity=-0.2"),
    ({"responsivity": "0.3"}, "responsivity='0.3'"),
    ({"responsivity": 0.3, "bias": 5.0}, "bias=5.0"),
    ({"responsivity": 0.3, "bias": float("nan")}, "bias=nan"),
    ({"responsivity": 0.3, "current_limit": 0.0}, "current_limit=0.0"),
    ({"responsivity": 0.3, "smu_driver": "thorlabs_pm100d"}, "cannot source a voltage"),
    ({"responsivity": 0.3, "smu_driver": "nonesuch"}, "not a station driver"),
    ({"responsivity": 0.3, "gain": 2}, "unknown option(s) gain"),
])
def test_bad_options_are_refused_in_one_line(options, message):
    with pytest.raises(ValueError) as error:
        SmuPhotodiode.check_options(options)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_check_plan_knows_the_table_once_built():
    assert SmuPhotodiode.check_plan({"wavelength": 1000e-9}) == []
    meter, _ = photodiode_with([], current_limit=1e-3)
    (problem,) = meter.check_plan({"wavelength": 1000e-9})
    assert problem.startswith("wavelength=1e-06 m is outside the SMU photodiode's range 4e-07")
    # 1 mA at the best 0.30 A/W: at most 3.3 mW before the current limit
    assert meter.check_plan({"wavelength": 450e-9, "power": 3e-3}) == []
    assert len(meter.check_plan({"wavelength": 450e-9, "power": 4e-3})) == 1
