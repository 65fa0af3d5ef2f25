"""The Keithley 2450's exact command exchange, written from the Model 2450 Reference Manual
(2450-901-01), section 6 "SCPI command reference", against a scripted resource (no simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.base import InstrumentError
from drivers.keithley2450 import Keithley2450
from tests.conftest import TIMEOUT, ScriptedResource, checked, connected

IDN = "KEITHLEY INSTRUMENTS,MODEL 2450,04400001,1.7.3c"
BUFFER = '"defbuffer1"'


def smu_with(script) -> tuple[Keithley2450, ScriptedResource]:
    return connected(Keithley2450, IDN, script, name="smu")


def current_source(nplc: str = "1", limit: str = "6") -> list:
    """configure_current_source(voltage_limit=6, nplc=1): the source function, then the measure
    function (:SENSe:FUNCtion "VOLT"), its NPLC, auto range and 2-wire sense, source readback,
    source auto range, and the voltage limit before any level (:SOURce:CURRent:VLIMit)."""
    return [*checked(":SOURce:FUNCtion CURR"), *checked(':SENSe:FUNCtion "VOLT"'),
            *checked(f":SENSe:VOLTage:NPLCycles {nplc}"), *checked(":SENSe:VOLTage:RANGe:AUTO ON"),
            *checked(":SENSe:VOLTage:RSENse OFF"), *checked(":SOURce:CURRent:READ:BACK ON"),
            *checked(":SOURce:CURRent:RANGe:AUTO ON"), *checked(f":SOURce:CURRent:VLIMit {limit}")]


def real_block(values) -> bytes:
    """:FORMat:DATA REAL answers IEEE-754 doubles in an indefinite-length block (#0)."""
    return b"#0" + np.asarray(values, dtype="<f8").tobytes()


def sweep_script(points_measured: int, readings) -> list:
    """A 10-point linear current sweep 1..10 mA with failAbort ON (:SOURce:SWEep:CURRent:LINear
    start, stop, points, delay, count, rangeType, failAbort, dual, "bufferName", 6-81), run with
    :INITiate, waited for with *OPC?, its reading count from :TRACe:ACTual? (6-107)."""
    script = [*checked(f":TRACe:CLEar {BUFFER}"),
              *checked(f":SOURce:SWEep:CURRent:LINear 0.001, 0.01, 10, 0, 1, BEST, ON, OFF, "
                       f"{BUFFER}"),
              (":INITiate", None), ("*OPC?", "1"),
              (f":TRACe:ACTual? {BUFFER}", str(points_measured))]
    if points_measured:
        script += [*checked(":FORMat:DATA REAL"),
                   (f":TRACe:DATA? 1, {points_measured}, {BUFFER}, READ, SOUR",
                    real_block(readings)),
                   *checked(":FORMat:DATA ASCii")]
    return script


def test_configure_sets_the_limit_before_any_level():
    smu, resource = smu_with(current_source())
    smu.configure_current_source(voltage_limit=6.0, nplc=1.0)
    resource.done()


def test_a_sweep_that_stops_at_compliance_returns_the_points_it_measured():
    # 7 of 10 points measured: READ (voltage) and SOUR (measured current) interleaved
    voltage = np.array([2.6, 2.7, 2.8, 2.9, 3.0, 3.05, 3.1])
    current = np.arange(1, 8) * 1e-3
    pairs = np.column_stack([voltage, current]).ravel()
    smu, resource = smu_with(current_source() + sweep_script(7, pairs))
    smu.configure_current_source(voltage_limit=6.0, nplc=1.0)
    readings = smu.sweep_current(np.linspace(1e-3, 10e-3, 10))
    resource.done()
    assert readings.stopped_at_compliance
    np.testing.assert_array_equal(readings.voltage, voltage)
    np.testing.assert_array_equal(readings.current, current)
    np.testing.assert_allclose(readings.source, np.arange(1, 8) * 1e-3)


def test_a_complete_sweep_is_not_marked_as_stopped():
    pairs = np.column_stack([np.full(10, 3.0), np.arange(1, 11) * 1e-3]).ravel()
    smu, resource = smu_with(current_source() + sweep_script(10, pairs))
    smu.configure_current_source(voltage_limit=6.0, nplc=1.0)
    readings = smu.sweep_current(np.linspace(1e-3, 10e-3, 10))
    resource.done()
    assert not readings.stopped_at_compliance and readings.voltage.size == 10


def test_a_sweep_aborted_at_its_first_point_reads_nothing_back():
    smu, resource = smu_with(current_source() + sweep_script(0, []))
    smu.configure_current_source(voltage_limit=6.0, nplc=1.0)
    readings = smu.sweep_current(np.linspace(1e-3, 10e-3, 10))
    resource.done()  # no :TRACe:DATA? for an empty buffer
    assert readings.stopped_at_compliance and readings.voltage.size == 0


def test_a_list_sweep_aborts_on_compliance_too():
    levels = [1e-3, 2e-3, 5e-3]
    script = [*checked(f":TRACe:CLEar {BUFFER}"),
              *checked(":SOURce:LIST:CURRent 0.001,0.002,0.005"),
              # :SOURce:SWEep:<function>:LIST startIndex, delay, count, failAbort, buffer (6-85)
              *checked(f":SOURce:SWEep:CURRent:LIST 1, 0, 1, ON, {BUFFER}"),
              (":INITiate", None), ("*OPC?", "1"), (f":TRACe:ACTual? {BUFFER}", "3"),
              *checked(":FORMat:DATA REAL"),
              (f":TRACe:DATA? 1, 3, {BUFFER}, READ, SOUR", real_block([2.8, 1e-3, 2.9, 2e-3,
                                                                       3.0, 5e-3])),
              *checked(":FORMat:DATA ASCii")]
    smu, resource = smu_with(current_source() + script)
    smu.configure_current_source(voltage_limit=6.0, nplc=1.0)
    readings = smu.sweep_current(np.array(levels))
    resource.done()
    np.testing.assert_array_equal(readings.current, levels)


def test_a_sweep_that_never_completes_fails_after_its_computed_wait_without_a_retry():
    # nplc 10 at 50 Hz, reading + reference + zero per point, 1 ms overhead: 10 x 0.601 s
    script = current_source(nplc="10") + [
        *checked(f":TRACe:CLEar {BUFFER}"),
        *checked(f":SOURce:SWEep:CURRent:LINear 0.001, 0.01, 10, 0, 1, BEST, ON, OFF, {BUFFER}"),
        (":INITiate", None), ("*OPC?", TIMEOUT)]
    smu, resource = smu_with(script)
    smu.configure_current_source(voltage_limit=6.0, nplc=10)
    usual = resource.timeout
    with pytest.raises(InstrumentError, match="did not complete within 17.02 s"):
        smu.sweep_current(np.linspace(1e-3, 10e-3, 10))
    resource.done()  # *OPC? was not sent again
    assert resource.clears == 0 and smu.recoveries["retries"] == 0
    assert resource.timeouts[-1] == pytest.approx((2 * 6.01 + smu.timeout_s) * 1000)
    assert resource.timeout == usual


@pytest.mark.parametrize("delay", [1e-6, 49e-6, -1.0])
def test_a_sweep_delay_the_2450_does_not_take_is_refused_before_sending(delay):
    smu, resource = smu_with([])
    with pytest.raises(ValueError, match="delay"):
        smu.sweep_current(np.linspace(1e-3, 10e-3, 10), delay=delay)
    resource.done()


def test_describe_output_and_read_source_read_the_instrument():
    smu, resource = smu_with([(":OUTPut:STATe?", "1"), (":SOURce:FUNCtion?", "CURR"),
                              (":SOURce:CURRent?", "5.000000E-03"),
                              (":SOURce:CURRent:VLIMit?", "6.000000E+00"),
                              (":SOURce:FUNCtion?", "VOLT"), (":SOURce:VOLTage?", "2.5")])
    assert smu.describe_output() == "output ON, source 0.005 A, limit 6 V"
    assert smu.read_source() == ("VOLT", 2.5)
    resource.done()


@pytest.mark.parametrize("request_, problem", [
    ({"current": 1.2}, "current=1.2 A is outside the Keithley 2450's range -1.05 to 1.05 A"),
    ({"voltage": -250.0}, "voltage=-250 V is outside the Keithley 2450's range -210 to 210 V"),
    ({"nplc": 20}, "nplc=20 is outside the Keithley 2450's range 0.01 to 10"),
    ({"sweep_points": 20000}, "sweep_points=20000 points is outside"),
    ({"current": float("nan")}, "current=nan A is outside"),
    ({"current": "1 mA"}, "current='1 mA' is not a number"),
])
def test_check_plan_names_value_limit_and_model(request_, problem):
    problems = Keithley2450.check_plan(request_)
    assert len(problems) == 1 and problems[0].startswith(problem)


def test_check_plan_accepts_what_the_2450_can_do_and_ignores_other_keys():
    assert Keithley2450.check_plan({"current": 0.1, "voltage": 20.0, "nplc": 1,
                                    "sweep_points": 200, "wavelength": 450e-9}) == []


@pytest.mark.parametrize("sent, same", [
    (":SOUR:CURR:VLIM 6", True), (":source:current:vlimit 6", True),
    (":SOURce:CURRe:VLIMit 6", False), (":SOURce:CURRent:VLIMit 6.0", False),
    (":SOURce:VLIMit 6", False)])
def test_the_scripted_resource_takes_short_and_long_forms_only(sent, same):
    from tests.conftest import scpi_equal

    assert scpi_equal(sent, ":SOURce:CURRent:VLIMit 6") is same
