"""The Keithley 2600B's exact command exchange, written from the Series 2600B Reference Manual
(2600BS-901-01 Rev. F), section 9 "TSP command reference", against a scripted resource. TSP is
Lua and case-sensitive: every message must be the expected text exactly."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.base import InstrumentError
from drivers.keithley2600b import Keithley2600B
from tests.conftest import ScriptedResource, connected

IDN = "Keithley Instruments Inc., Model 2602B, 4400001, 3.3.5"
EMPTY = "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00"  # errorqueue.next(), no error


class ExactResource(ScriptedResource):
    def write(self, message: str):
        assert self.script, f"sent {message!r} after the end of the script"
        assert message == self.script[0][0], \
            f"sent {message!r}, the manual's exchange is {self.script[0][0]!r}"
        return super().write(message)


def ok(command: str) -> list:
    """A command, then errorqueue.next() printed: code 0, "Queue Is Empty"."""
    return [(command, None), ("print(errorqueue.next())", EMPTY)]


def smu_with(script, **options) -> tuple[Keithley2600B, ExactResource]:
    return connected(Keithley2600B, IDN, script, name="smu", resource=ExactResource,
                     opening=[("print(localnode.linefreq)", "6.00000e+01")], **options)


def current_source(sense: str = "SENSE_LOCAL") -> list:
    """configure_current_source(voltage_limit=6, nplc=1): smua.source.func, smua.measure.nplc,
    smua.sense, the measure and source auto ranges, then smua.source.limitv before any level."""
    return [*ok("smua.source.func = smua.OUTPUT_DCAMPS"), *ok("smua.measure.nplc = 1"),
            *ok(f"smua.sense = smua.{sense}"), *ok("smua.measure.autorangev = smua.AUTORANGE_ON"),
            *ok("smua.source.autorangei = smua.AUTORANGE_ON"), *ok("smua.source.limitv = 6")]


def block(values) -> bytes:
    """printbuffer in format.REAL64, format.LITTLEENDIAN: "#0" and the doubles."""
    return b"#0" + np.asarray(values, dtype="<f8").tobytes()


def test_configure_sets_the_limit_before_any_level_and_reads_the_line_frequency():
    smu, resource = smu_with(current_source())
    smu.configure_current_source(voltage_limit=6.0, nplc=1.0)
    resource.done()
    assert smu.line_frequency == 60.0


def test_four_wire_from_the_station_option_or_the_step():
    smu, resource = smu_with(current_source("SENSE_REMOTE"), sense="4-wire")
    smu.configure_current_source(voltage_limit=6.0)
    resource.done()
    smu, resource = smu_with(current_source("SENSE_REMOTE"))
    smu.configure_current_source(voltage_limit=6.0, remote_sense=True)
    resource.done()


def test_channel_b_and_options_refused():
    smu, resource = smu_with([("print(smub.source.output)", "1.00000e+00")], channel="b")
    assert smu.output_enabled()
    resource.done()
    with pytest.raises(ValueError, match="channel must be a or b"):
        Keithley2600B.check_options({"channel": "c"})
    with pytest.raises(ValueError, match="sense must be 2-wire or 4-wire"):
        Keithley2600B.check_options({"sense": "remote"})
    with pytest.raises(ValueError, match="not speed"):
        Keithley2600B.check_options({"speed": 1})


def test_level_output_and_a_reading_current_first():
    """smua.measure.iv() returns current, then voltage (print separates them by a tab)."""
    smu, resource = smu_with([("smua.source.leveli = 0.005", None),
                              *ok("smua.source.output = smua.OUTPUT_ON"),
                              ("print(smua.measure.iv())", "5.00000e-03\t3.20000e+00"),
                              ("smua.source.output = smua.OUTPUT_OFF", None)])
    smu.set_current(5e-3)
    smu.output_on()
    assert smu.measure() == (3.2, 5e-3)
    smu.output_off()
    resource.done()


def test_an_error_in_the_queue_names_the_command():
    smu, resource = smu_with([
        ("smua.source.limitv = 6", None),
        ("print(errorqueue.next())", "-2.86000e+02\tTSP Runtime error at line 1\t2.00000e+01"
                                     "\t1.00000e+00"),
        ("print(errorqueue.next())", EMPTY)])
    smu._function = "CURR"
    with pytest.raises(InstrumentError, match="TSP Runtime error"):
        smu._set("source.limitv", "6")
    resource.done()


def test_describe_output_reads_the_instrument():
    smu, resource = smu_with([("print(smua.source.output)", "0.00000e+00"),
                              ("print(smua.source.func)", "0.00000e+00"),
                              ("print(smua.source.leveli)", "2.00000e-03"),
                              ("print(smua.source.limitv)", "6.00000e+00")])
    assert smu.describe_output() == "output OFF, source 0.002 A, limit 6 V"
    resource.done()


def list_sweep(levels: str, count: int, limit: str = "6") -> list:
    return [*ok("smua.nvbuffer1.clear()"), *ok("smua.nvbuffer2.clear()"),
            *ok(f"smua.trigger.source.listi({{{levels}}})"),
            *ok(f"smua.trigger.source.limitv = {limit}"),
            *ok("smua.trigger.source.action = smua.ENABLE"),
            *ok("smua.trigger.measure.iv(smua.nvbuffer1, smua.nvbuffer2)"),
            *ok("smua.trigger.measure.action = smua.ENABLE"),
            *ok("smua.trigger.measure.stimulus = 0"),
            *ok("smua.trigger.endsweep.action = smua.SOURCE_IDLE"),
            *ok(f"smua.trigger.count = {count}"), *ok("smua.trigger.arm.count = 1")]


def read_back(count: int, values) -> list:
    return [*ok("smua.trigger.initiate()"), ("*OPC?", "1"),
            *ok("format.data = format.REAL64"), *ok("format.byteorder = format.LITTLEENDIAN"),
            (f"printbuffer(1, {count}, smua.nvbuffer1.readings, smua.nvbuffer2.readings)",
             block(values)),
            *ok("format.data = format.ASCII")]


def test_dc_list_sweep_into_the_buffers():
    """Current in nvbuffer1, voltage in nvbuffer2, printbuffer interleaves them by point; an
    output found off is on for the sweep only."""
    smu, resource = smu_with([*current_source(), ("print(smua.source.limitv)", "6.00000e+00"),
                              *list_sweep("0.001, 0.002, 0.003", 3),
                              *ok("smua.trigger.source.stimulus = 0"),
                              *ok("smua.trigger.endpulse.action = smua.SOURCE_HOLD"),
                              *ok("smua.measure.delay = 0.001"),
                              ("print(smua.source.output)", "0.00000e+00"),
                              *ok("smua.source.output = smua.OUTPUT_ON"),
                              *read_back(3, [1e-3, 2.9, 2e-3, 3.0, 3e-3, 3.1]),
                              ("smua.source.output = smua.OUTPUT_OFF", None)])
    smu.configure_current_source(voltage_limit=6.0)
    readings = smu.sweep_current(np.array([1e-3, 2e-3, 3e-3]), delay=1e-3)
    resource.done()
    np.testing.assert_array_equal(readings.current, [1e-3, 2e-3, 3e-3])
    np.testing.assert_array_equal(readings.voltage, [2.9, 3.0, 3.1])


def test_pulse_sweep_with_two_timers_measured_late_in_the_pulse():
    """Width 100 us, period 10 ms (1 %): timer 1 paces the period (passthrough, from the arm
    event), timer 2 ends the pulse; the reading starts at 60 us and lasts 30 us: nplc = 30 us x
    60 Hz = 0.0018. Output on only for the sweep."""
    smu, resource = smu_with([
        *ok("smua.source.func = smua.OUTPUT_DCAMPS"), *ok("smua.sense = smua.SENSE_LOCAL"),
        *ok("smua.source.leveli = 0"), *ok("smua.source.limitv = 6"),
        *ok("smua.measure.nplc = 0.0018"), *ok("smua.measure.delay = 6e-05"),
        *list_sweep("0.01, 0.02", 2),
        *ok("trigger.timer[1].delay = 0.01"), *ok("trigger.timer[1].count = 1"),
        *ok("trigger.timer[1].passthrough = true"),
        *ok("trigger.timer[1].stimulus = smua.trigger.ARMED_EVENT_ID"),
        *ok("trigger.timer[2].delay = 0.0001"), *ok("trigger.timer[2].count = 1"),
        *ok("trigger.timer[2].passthrough = false"),
        *ok("trigger.timer[2].stimulus = trigger.timer[1].EVENT_ID"),
        *ok("smua.trigger.source.stimulus = trigger.timer[1].EVENT_ID"),
        *ok("smua.trigger.endpulse.stimulus = trigger.timer[2].EVENT_ID"),
        *ok("smua.trigger.endpulse.action = smua.SOURCE_IDLE"),
        *ok("smua.source.output = smua.OUTPUT_ON"),
        *read_back(2, [0.01, 3.3, 0.02, 3.5]),
        ("smua.source.output = smua.OUTPUT_OFF", None)])
    readings = smu.pulse_sweep(np.array([0.01, 0.02]), width=100e-6, period=10e-3,
                               voltage_limit=6.0)
    resource.done()
    np.testing.assert_array_equal(readings.voltage, [3.3, 3.5])


@pytest.mark.parametrize("level, width, period, match", [
    (4.0, 1e-3, 0.02, "duty cycle 0.05 is beyond the 0.04"),  # region 3 at 6 V: <= 4 %
    (8.0, 3e-3, 1.0, "width=0.003 s is beyond the 0.0018 s"),  # region 4: <= 1.8 ms
    (0.01, 50e-6, 1e-2, "width=5e-05 s is outside"),  # shorter than 100 us
    (12.0, 1e-4, 1.0, r"outside the instrument's range \[-10.1, 10.1\]"),
])
def test_pulses_outside_the_pulse_regions_are_refused_before_anything_is_sent(
        level, width, period, match):
    smu, resource = smu_with([])
    with pytest.raises(ValueError, match=match):
        smu.pulse_sweep(np.array([0.001, level]), width=width, period=period, voltage_limit=6.0)
    resource.done()
    assert resource.sent == ["*IDN?", "*CLS", "print(localnode.linefreq)"]
