"""The Infiniium's exact command exchange against a scripted resource (no simulator), written
from the Infiniium 9000/90000 Series Programmer's References (Channel, Timebase, Acquire,
Trigger, Root :DIGitize, Waveform, System) and IEEE 488.2 (*OPC?)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.base import InstrumentError
from drivers.keysight_infiniium import KeysightInfiniium
from tests.conftest import TIMEOUT, ScriptedResource, checked, connected

IDN = "KEYSIGHT TECHNOLOGIES,MXR404A,MY61000123,11.10.00201"
ERR = ":SYSTem:ERRor? STRing"  # answers <n>,"<text>" (System commands)


def ok(command: str) -> list:
    return checked(command, ERR)


def scope_with(script) -> tuple[KeysightInfiniium, ScriptedResource]:
    return connected(KeysightInfiniium, IDN, script, name="scope", opening=ok(":SYSTem:HEADer OFF"))


SETUP = [*ok(":TIMebase:SCALe 1e-09"), *ok(":TIMebase:POSition 0"), *ok(":ACQuire:MODE RTIMe"),
         *ok(":ACQuire:SRATe:ANALog 1.6e+10"), *ok(":ACQuire:POINts:ANALog 1000"),
         *ok(":ACQuire:AVERage:COUNt 16"), *ok(":ACQuire:AVERage ON")]


def set_up(scope):
    scope.configure_timebase(scale=1e-9, sample_rate=16e9, points=1000)
    scope.set_averaging(16)


def test_an_averaged_acquisition_is_waited_for_from_its_settings():
    scope, resource = scope_with(SETUP + [(":DIGitize", None), ("*OPC?", "1"),
                                          (ERR, '0,"No error"')])
    set_up(scope)
    scope.acquire()
    resource.done()
    # 16 acquisitions x (10 div x 1 ns + 1000 points x 10 ns + 1 ms re-arm)
    expected = 16 * (10e-9 + 1000 * 10e-9 + 1e-3)
    assert max(resource.timeouts) == pytest.approx((2 * expected + scope.timeout_s) * 1000)


def test_an_acquisition_that_never_completes_is_not_asked_again():
    scope, resource = scope_with(SETUP + [(":DIGitize", None), ("*OPC?", TIMEOUT)])
    set_up(scope)
    with pytest.raises(InstrumentError, match="the acquisition did not complete"):
        scope.acquire()
    resource.done()
    assert resource.clears == 0 and scope.recoveries["retries"] == 0


def preamble(points: int) -> str:
    """24 fields: WORD (2), RAW (1), points, count, x increment/origin/reference, y
    increment/origin/reference, coupling DCFIFTY, display ranges, date, time, frame, RTIMe,
    100 % complete, SECOND, VOLT, bandwidths."""
    fields = ["2", "1", str(points), "1", "6.25E-11", "-2.0E-9", "0", "1.5E-5", "0.02", "0",
              "2", "1E-8", "-5E-9", "0.4", "0", '"01 DEC 2026"', '"21:00:00:00"',
              '"MXR404A:MY61000123"', "0", "100", "2", "1", "4E9", "0"]
    return ",".join(fields)


def test_a_waveform_comes_as_one_word_block_scaled_by_the_preamble():
    codes = np.array([-32000, -1, 0, 1, 12345, 32000], dtype="<i2")
    block = f"#2{codes.nbytes}".encode() + codes.tobytes()
    scope, resource = scope_with([
        *ok(":WAVeform:SOURce CHANnel2"), *ok(":WAVeform:FORMat WORD"),
        *ok(":WAVeform:BYTeorder LSBFirst"), *ok(":WAVeform:STReaming OFF"),
        (":WAVeform:PREamble?", preamble(codes.size)), (":WAVeform:DATA?", block)])
    waveform = scope.fetch_waveform(2)
    resource.done()
    # Data Conversion: V = (code - Yref) Yinc + Yorigin, t = (i - Xref) Xinc + Xorigin
    np.testing.assert_allclose(waveform.volts, codes * 1.5e-5 + 0.02)
    np.testing.assert_allclose(waveform.time, np.arange(6) * 6.25e-11 - 2e-9)


def test_a_channel_is_set_up_input_first():
    scope, resource = scope_with([*ok(":CHANnel3:INPut DC50"), *ok(":CHANnel3:SCALe 0.05"),
                                  *ok(":CHANnel3:OFFSet 0.1"), *ok(":CHANnel3:DISPlay ON")])
    scope.configure_channel(3, scale=0.05, offset=0.1)
    resource.done()


@pytest.mark.parametrize("request_, problem", [
    ({"sample_rate": 20e9}, "sample_rate=2e+10 Sa/s is outside the Infiniium EXR/MXR's range"),
    ({"points": 200_000_000}, "points=200000000 points is outside"),
    ({"scale": 2.0}, "scale=2 V/div is outside the Infiniium EXR/MXR's range 0.001 to 1 V/div"),
    ({"averaging": 70000}, "averaging=70000 is outside"),
    ({"channels": [1, 5]}, "channel 5 is not one of 1..4"),
    ({"channels": 3}, "channels=3 is not a list of channel numbers"),
])
def test_check_plan_names_value_limit_and_model(request_, problem):
    problems = KeysightInfiniium.check_plan(request_)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_check_plan_accepts_what_the_scope_can_do():
    assert KeysightInfiniium.check_plan({"sample_rate": 16e9, "points": 1000, "scale": 2.0,
                                         "impedance": "1M", "averaging": 64,
                                         "channels": [1, 4]}) == []
