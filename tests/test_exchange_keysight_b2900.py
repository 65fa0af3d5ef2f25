"""The Keysight B2900's exact command exchange, written from the B2900 SCPI Command Reference
(chapter 4 "Subsystem Commands"), against a scripted resource (no simulator). Headers may be
sent in short or long form (SCPI-99 6.2.1)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.keysight_b2900 import KeysightB2900
from tests.conftest import connected

IDN = "Keysight Technologies,B2902A,MY51140001,3.4.2011.5100"
NO_ERROR = '+0,"No error"'


def ok(command: str) -> list:
    return [(command, None), (":SYSTem:ERRor:NEXT?", NO_ERROR)]


def smu_with(script, **options):
    return connected(KeysightB2900, IDN, script, name="smu", **options)


def current_source(remote: str = "OFF") -> list:
    """No automatic output-on, current mode, DC shape, both measurement functions, the
    elements V,I, NPLC, auto range, sensing, then the voltage compliance before any level."""
    return [*ok(":OUTPut1:ON:AUTO OFF"), *ok(":SOURce1:FUNCtion:MODE CURRent"),
            *ok(":SOURce1:FUNCtion:SHAPe DC"), *ok(':SENSe1:FUNCtion "VOLT","CURR"'),
            *ok(":FORMat:ELEMents:SENSe VOLTage,CURRent"), *ok(":SENSe1:VOLTage:NPLCycles 1"),
            *ok(":SENSe1:VOLTage:RANGe:AUTO ON"), *ok(f":SENSe1:REMote {remote}"),
            *ok(":SENSe1:VOLTage:PROTection 6")]


def test_configure_and_a_spot_measurement():
    smu, resource = smu_with([*current_source(), (":SOURce1:CURRent 0.002", None),
                              *ok(":OUTPut1:STATe ON"),
                              (":MEASure? (@1)", "+3.100000E+00,+2.000000E-03"),
                              (":OUTPut1:STATe OFF", None)])
    smu.configure_current_source(voltage_limit=6.0)
    smu.set_current(2e-3)
    smu.output_on()
    assert smu.measure() == (3.1, 2e-3)
    smu.output_off()
    resource.done()


def test_four_wire_by_option():
    smu, resource = smu_with(current_source("ON"), sense="4-wire")
    smu.configure_current_source(voltage_limit=6.0)
    resource.done()
    with pytest.raises(ValueError, match="sense must be"):
        KeysightB2900.check_options({"sense": "4wire"})


def test_list_sweep_on_the_timer_fetched_as_arrays():
    """Period = delay + NPLC / 50 Hz + 1 ms = 0.021 s; the output on for the sweep only."""
    smu, resource = smu_with([
        *current_source(), *ok(":SOURce1:CURRent:MODE LIST"),
        *ok(":SOURce1:LIST:CURRent 0.001,0.002"), *ok(":TRIGger1:ALL:COUNt 2"),
        *ok(":TRIGger1:ALL:SOURce TIMer"), *ok(":TRIGger1:ALL:TIMer 0.021"),
        *ok(":TRIGger1:ACQuire:DELay 0"), (":OUTPut1:STATe?", "0"), *ok(":OUTPut1:STATe ON"),
        *ok(":INITiate (@1)"), ("*OPC?", "1"),
        (":FETCh:ARRay:VOLTage? (@1)", "+2.9E+00,+3.0E+00"),
        (":FETCh:ARRay:CURRent? (@1)", "+1.0E-03,+2.0E-03"), (":OUTPut1:STATe OFF", None)])
    smu.configure_current_source(voltage_limit=6.0)
    readings = smu.sweep_current(np.array([1e-3, 2e-3]))
    resource.done()
    np.testing.assert_array_equal(readings.voltage, [2.9, 3.0])


def test_pulses_from_a_zero_base_measured_late_in_the_pulse():
    """Width 100 us each 10 ms: aperture 30 us from 60 us after the trigger."""
    smu, resource = smu_with([
        *ok(":OUTPut1:ON:AUTO OFF"), *ok(":SOURce1:FUNCtion:MODE CURRent"),
        *ok(":SOURce1:CURRent 0"), *ok(":SENSe1:VOLTage:PROTection 6"),
        *ok(":SENSe1:REMote OFF"), *ok(":FORMat:ELEMents:SENSe VOLTage,CURRent"),
        *ok(":SOURce1:FUNCtion:SHAPe PULSe"), *ok(":SOURce1:PULSe:WIDTh 0.0001"),
        *ok(":SOURce1:PULSe:DELay 0"), *ok(":SENSe1:VOLTage:APERture 3e-05"),
        *ok(":SOURce1:CURRent:MODE LIST"), *ok(":SOURce1:LIST:CURRent 0.01"),
        *ok(":TRIGger1:ALL:COUNt 1"), *ok(":TRIGger1:ALL:SOURce TIMer"),
        *ok(":TRIGger1:ALL:TIMer 0.01"), *ok(":TRIGger1:ACQuire:DELay 6e-05"),
        *ok(":OUTPut1:STATe ON"), *ok(":INITiate (@1)"), ("*OPC?", "1"),
        (":FETCh:ARRay:VOLTage? (@1)", "+3.3E+00"), (":FETCh:ARRay:CURRent? (@1)", "+1.0E-02"),
        (":OUTPut1:STATe OFF", None), *ok(":SOURce1:FUNCtion:SHAPe DC")])
    readings = smu.pulse_sweep(np.array([0.01]), width=100e-6, period=10e-3, voltage_limit=6.0)
    resource.done()
    assert readings.voltage.tolist() == [3.3]


@pytest.mark.parametrize("level, width, period, match", [
    (5.0, 1e-4, 1e-3, "duty cycle 0.1 is beyond the 0.025"),
    (5.0, 2e-3, 1.0, "width=0.002 s is beyond the 0.001 s"),
    (0.01, 20e-6, 1e-2, "width=2e-05 s is outside"),
])
def test_pulses_outside_the_output_ranges_are_refused_before_anything_is_sent(
        level, width, period, match):
    smu, resource = smu_with([])
    with pytest.raises(ValueError, match=match):
        smu.pulse_sweep(np.array([level]), width=width, period=period, voltage_limit=5.0)
    resource.done()
    assert resource.sent == ["*IDN?", "*CLS"]
