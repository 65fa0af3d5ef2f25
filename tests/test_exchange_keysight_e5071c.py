"""The E5071C's exact command exchange against a scripted resource (no simulator), written from
the E5071C Programming help (SENSe, SOURce, CALCulate, TRIGger, FORMat, OUTPut) and IEEE 488.2
(*OPT?, *OPC?)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.base import InstrumentError
from drivers.keysight_e5071c import KeysightE5071C
from tests.conftest import TIMEOUT, ScriptedResource, checked

IDN = "Keysight Technologies,E5071C,MY46100123,B.13.10"


def vna_with(options: str, script=()) -> tuple[KeysightE5071C, ScriptedResource]:
    resource = ScriptedResource([("*IDN?", IDN), ("*CLS", None), ("*OPT?", options), *script])
    vna = KeysightE5071C(resource, name="vna")
    vna.connect()
    return vna, resource


@pytest.mark.parametrize("options, low, high", [
    ('"285"', 100e3, 8.5e9), ("240,008,010", 9e3, 4.5e9), ("460", 9e3, 6.5e9),
    ("2K5,1E5", 300e3, 20e9), ("4D5", 300e3, 14e9), ("445", 100e3, 4.5e9)])
def test_the_frequency_range_follows_the_test_set_option(options, low, high):
    vna, resource = vna_with(options)
    resource.done()
    assert (vna.min_frequency, vna.max_frequency) == (low, high)
    assert vna.check_plan({"start": low, "stop": high}) == []
    assert vna.check_plan({"stop": high * 1.01})[0].startswith(f"stop={high * 1.01:g} Hz is "
                                                               "outside the E5071C option")


def test_an_unknown_option_keeps_the_narrowest_range_and_says_so():
    vna, resource = vna_with("008,1E5")
    resource.done()
    assert (vna.option, vna.min_frequency, vna.max_frequency) == (None, 300e3, 4.5e9)
    # the class knows the widest an E5071C can have; this one may be the narrowest
    assert KeysightE5071C.check_plan({"start": 9e3, "stop": 20e9}) == []
    assert len(vna.check_plan({"start": 9e3, "stop": 8.5e9})) == 2

    class Anything(ScriptedResource):
        def write(self, message):
            self._reply = "0" if message.endswith("?") else None

    vna.resource = Anything([])
    assert "narrowest" in vna.settings()["frequency_range_note"]


def configure_script(present_stop: str = "+8.5E+09") -> list:
    """configure_s21(start=1 MHz, stop=3 GHz, 201 points, 1 kHz IF bandwidth, -10 dBm, 4
    averages): one trace measuring S21, log magnitude, log sweep, start below the present stop
    so STARt first, points, IF bandwidth (:SENSe1:BANDwidth[:RESolution]), port power, averaging
    with the trigger averaging the group, continuous initiation waiting for the BUS trigger."""
    return [*checked(":CALCulate1:PARameter:COUNt 1"),
            *checked(":CALCulate1:PARameter1:DEFine S21"),
            *checked(":CALCulate1:PARameter1:SELect"), *checked(":CALCulate1:SELected:FORMat MLOG"),
            *checked(":SENSe1:SWEep:TYPE LOG"), (":SENSe1:FREQuency:STOP?", present_stop),
            *checked(":SENSe1:FREQuency:STARt 1000000"),
            *checked(":SENSe1:FREQuency:STOP 3000000000"),
            *checked(":SENSe1:SWEep:POINts 201"), *checked(":SENSe1:BANDwidth 1000"),
            *checked(":SOURce1:POWer -10"), *checked(":SENSe1:AVERage:COUNt 4"),
            *checked(":SENSe1:AVERage ON"), *checked(":TRIGger:SEQuence:AVERage ON"),
            *checked(":INITiate1:CONTinuous ON"), *checked(":TRIGger:SEQuence:SOURce BUS")]


def configure(vna):
    vna.configure_s21(start=1e6, stop=3e9, points=201, if_bandwidth=1e3, power=-10, averaging=4)


def real64(values) -> bytes:
    """:FORMat:DATA REAL + :FORMat:BORDer SWAP: little-endian doubles, definite-length block."""
    payload = np.asarray(values, dtype="<f8").tobytes()
    return f"#{len(str(len(payload)))}{len(payload)}".encode() + payload


def test_a_measurement_triggers_waits_and_reads_binary_blocks():
    frequency = np.geomspace(1e6, 3e9, 201)
    s21 = 0.5 * np.exp(-1j * frequency / 1e9)
    interleaved = np.column_stack([s21.real, s21.imag]).ravel()
    vna, resource = vna_with("285", configure_script() + [
        (":CALCulate1:PARameter1:DEFine?", "S21"),
        *checked(":SENSe1:AVERage:CLEar"), (":TRIGger:SEQuence:SINGle", None), ("*OPC?", "+1"),
        (":SYSTem:ERRor?", '+0,"No error"'),
        *checked(":FORMat:DATA REAL"), *checked(":FORMat:BORDer SWAP"),
        (":SENSe1:FREQuency:DATA?", real64(frequency)),
        *checked(":FORMat:DATA REAL"), *checked(":FORMat:BORDer SWAP"),
        (":CALCulate1:DATA:SDATa?", real64(interleaved))])
    configure(vna)
    got_frequency, got_s21 = vna.measure_s21()
    resource.done()
    np.testing.assert_array_equal(got_frequency, frequency)
    np.testing.assert_array_equal(got_s21, s21)
    # 4 sweeps x 201 points x (1 ms + 50 us), waited for twice over plus the usual timeout
    assert max(resource.timeouts) == pytest.approx(
        (2 * 4 * 201 * (1e-3 + 50e-6) + vna.timeout_s) * 1000)


def test_a_sweep_that_never_completes_fails_after_its_computed_wait_without_a_retry():
    vna, resource = vna_with("285", configure_script() + [
        *checked(":SENSe1:AVERage:CLEar"), (":TRIGger:SEQuence:SINGle", None),
        ("*OPC?", TIMEOUT)])
    configure(vna)
    with pytest.raises(InstrumentError, match="the sweep did not complete within 11.69 s"):
        vna.sweep()
    resource.done()  # no device clear, no second *OPC?
    assert resource.clears == 0 and vna.recoveries == {"retries": 0, "reopens": 0,
                                                       "device_clears": 0}
    assert resource.timeout == vna.timeout_s * 1000


def test_output_describe_output_and_read_source_read_the_instrument():
    vna, resource = vna_with("285", [
        (":OUTPut:STATe?", "1"), (":OUTPut:STATe?", "0"), (":SOURce1:POWer?", "-1.0E+01"),
        (":SOURce1:POWer?", "-5"), *checked(":OUTPut:STATe ON"), (":OUTPut:STATe OFF", None)])
    assert vna.output_enabled() is True
    assert vna.describe_output() == "RF output OFF, port power -10 dBm"
    assert vna.read_source() == ("POW", -5.0)
    vna.output_on()
    vna.output_off()
    resource.done()


@pytest.mark.parametrize("request_, problem", [
    ({"points": 30000}, "points=30000 points is outside the E5071C's range 2 to 20001 points"),
    ({"if_bandwidth": 5.0}, "if_bandwidth=5 Hz is outside the E5071C's range 10 to 1.5e+06 Hz"),
    ({"power": 15.0}, "power=15 dBm is outside the E5071C's range -55 to 10 dBm"),
    ({"averaging": 1000}, "averaging=1000 is outside the E5071C's range 1 to 999"),
    ({"start": 1e3}, "start=1000 Hz is outside the E5071C's range 9000 to 2e+10 Hz"),
    ({"start": 2e9, "stop": 1e9}, "start=2e+09 Hz is not below stop=1e+09 Hz (E5071C)"),
])
def test_check_plan_names_value_limit_and_model(request_, problem):
    assert KeysightE5071C.check_plan(request_) == [problem]
