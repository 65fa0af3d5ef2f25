"""The Keithley 2400's exact command exchange, written from the Model 2400 Series SourceMeter
User's Manual (2400S-900-01), section 18 "SCPI Command Reference", against a scripted resource.
Headers may be sent in short or long form (SCPI-99 6.2.1)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.base import InstrumentError
from drivers.keithley2400 import Keithley2400
from tests.conftest import checked, connected

IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,4000001,C32   Oct  4 2010 14:20:11/A02  /S/K"


def smu_with(script, **options):
    return connected(Keithley2400, IDN, script, name="smu", **options)


def current_source(remote: str = "OFF") -> list:
    """Source function, fixed mode, auto range; concurrent measurements, the voltage function,
    its NPLC and auto range; sensing; the elements V, I; the compliance before any level."""
    return [*checked(":SOURce:FUNCtion CURRent"), *checked(":SOURce:CURRent:MODE FIXed"),
            *checked(":SOURce:CURRent:RANGe:AUTO ON"), *checked(":SENSe:FUNCtion:CONCurrent ON"),
            *checked(':SENSe:FUNCtion "VOLTage"'), *checked(":SENSe:VOLTage:NPLCycles 1"),
            *checked(":SENSe:VOLTage:RANGe:AUTO ON"), *checked(f":SYSTem:RSENse {remote}"),
            *checked(":FORMat:ELEMents VOLTage,CURRent"),
            *checked(":SENSe:VOLTage:PROTection 6")]


def test_configure_set_and_read():
    smu, resource = smu_with([*current_source(), (":SOURce:CURRent 0.001", None),
                              *checked(":OUTPut:STATe ON"),
                              (":READ?", "+2.950000E+00,+1.000000E-03"),
                              (":OUTPut:STATe OFF", None)])
    smu.configure_current_source(voltage_limit=6.0)
    smu.set_current(1e-3)
    smu.output_on()
    assert smu.measure() == (2.95, 1e-3)
    smu.output_off()
    resource.done()


def test_four_wire_by_option_and_options_refused():
    smu, resource = smu_with(current_source("ON"), sense="4-wire")
    smu.configure_current_source(voltage_limit=6.0)
    resource.done()
    with pytest.raises(ValueError, match="takes the option sense"):
        Keithley2400.check_options({"channel": "a"})


def test_list_sweep_into_the_trace_buffer():
    """:SOURce:LIST:CURRent, :TRIGger:COUNt, the buffer cleared, sized and fed from SENSe with
    control NEXT; :INITiate, *OPC?, :TRACe:DATA? in V, I pairs; then fixed mode again."""
    smu, resource = smu_with([
        *current_source(), *checked(":SOURce:CURRent:MODE LIST"),
        *checked(":SOURce:LIST:CURRent 0.001,0.002,0.004"), *checked(":SOURce:DELay 0"),
        *checked(":TRIGger:COUNt 3"), *checked(":TRACe:CLEar"), *checked(":TRACe:POINts 3"),
        *checked(":TRACe:FEED SENSe"), *checked(":TRACe:FEED:CONTrol NEXT"),
        (":OUTPut:STATe?", "1"), (":INITiate", None), ("*OPC?", "1"),
        (":TRACe:DATA?", "+2.9E+00,+1.0E-03,+3.0E+00,+2.0E-03,+3.1E+00,+4.0E-03"),
        *checked(":SOURce:CURRent:MODE FIXed"), *checked(":TRIGger:COUNt 1")])
    smu.configure_current_source(voltage_limit=6.0)
    readings = smu.sweep_current(np.array([1e-3, 2e-3, 4e-3]))
    resource.done()
    np.testing.assert_array_equal(readings.voltage, [2.9, 3.0, 3.1])
    np.testing.assert_array_equal(readings.current, [1e-3, 2e-3, 4e-3])


def test_a_list_longer_than_the_manual_allows_is_refused_before_sending():
    smu, resource = smu_with(current_source())
    smu.configure_current_source(voltage_limit=6.0)
    with pytest.raises(ValueError, match="1 to 100 levels"):
        smu.sweep_current(np.linspace(1e-4, 1e-3, 101))
    resource.done()
    assert Keithley2400.check_plan({"sweep_points": 101}) == [
        "sweep_points=101 points is outside the Keithley 2400's range 1 to 100 points"]


def test_a_short_trace_is_an_error():
    smu, resource = smu_with([
        *current_source(), *checked(":SOURce:CURRent:MODE LIST"),
        *checked(":SOURce:LIST:CURRent 0.001,0.002"), *checked(":SOURce:DELay 0"),
        *checked(":TRIGger:COUNt 2"), *checked(":TRACe:CLEar"), *checked(":TRACe:POINts 2"),
        *checked(":TRACe:FEED SENSe"), *checked(":TRACe:FEED:CONTrol NEXT"),
        (":OUTPut:STATe?", "0"), *checked(":OUTPut:STATe ON"), (":INITiate", None),
        ("*OPC?", "1"), (":TRACe:DATA?", "+2.9E+00,+1.0E-03"), (":OUTPut:STATe OFF", None),
        *checked(":SOURce:CURRent:MODE FIXed"), *checked(":TRIGger:COUNt 1")])
    smu.configure_current_source(voltage_limit=6.0)
    with pytest.raises(InstrumentError, match="expected 4 values, got 2"):
        smu.sweep_current(np.array([1e-3, 2e-3]))
    resource.done()
