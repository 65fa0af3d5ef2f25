"""The InfiniiVision 3000T's exact command exchange against a scripted resource (no simulator),
written from the 3000T X-Series Programmer's Guide (:CHANnel, :TIMebase, :TRIGger, :ACQuire,
:DIGitize, :WAVeform, :SYSTem:ERRor?) and IEEE 488.2 (*OPC?)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.base import InstrumentError
from drivers.keysight_infiniivision import KeysightInfiniiVision
from tests.conftest import ScriptedResource, checked, connected

IDN = "KEYSIGHT TECHNOLOGIES,DSOX3104T,MY58000001,07.50.2021102830"
OK = '+0,"No error"'


def ok(command: str) -> list:
    return checked(command, no_error=OK)


def scope_with(script) -> tuple[KeysightInfiniiVision, ScriptedResource]:
    return connected(KeysightInfiniiVision, IDN, script, name="scope")


def test_channel_timebase_trigger_and_averaging_are_set_as_the_guide_writes_them():
    scope, resource = scope_with([
        *ok(":CHANnel2:IMPedance FIFTy"), *ok(":CHANnel2:SCALe 0.05"),
        *ok(":CHANnel2:OFFSet 0.1"), *ok(":CHANnel2:DISPlay 1"),
        *ok(":TIMebase:REFerence CENTer"), *ok(":TIMebase:SCALe 1e-08"),
        *ok(":TIMebase:POSition 2e-08"),
        *ok(":TRIGger:MODE EDGE"), *ok(":TRIGger:EDGE:SOURce CHANnel2"),
        *ok(":TRIGger:EDGE:SLOPe POSitive"), *ok(":TRIGger:EDGE:LEVel 0.1"),
        *ok(":ACQuire:COUNt 16"), *ok(":ACQuire:TYPE AVERage"), *ok(":ACQuire:TYPE NORMal")])
    scope.configure_channel(2, scale=0.05, offset=0.1, impedance="50")
    scope.configure_timebase(scale=10e-9, position=20e-9, sample_rate=2.5e9, points=250)
    scope.configure_edge_trigger(channel=2, level=0.1)
    scope.set_averaging(16)
    scope.set_averaging(1)
    resource.done()


def test_a_50_ohm_input_is_refused_above_1_v_per_division_before_sending():
    scope, resource = scope_with([])
    with pytest.raises(ValueError, match="scale"):
        scope.configure_channel(1, scale=2.0, impedance="50")
    resource.done()


def test_digitize_is_waited_for_with_opc_and_never_asked_twice():
    scope, resource = scope_with([(":DIGitize", None), ("*OPC?", "1"), (":SYSTem:ERRor?", OK)])
    scope.acquire()
    resource.done()


def fetch_script(codes: np.ndarray, preamble: str, points: int = 100) -> list:
    block = f"#8{codes.nbytes:08d}".encode() + codes.tobytes()
    return [*ok(":WAVeform:SOURce CHANnel1"), *ok(":WAVeform:FORMat WORD"),
            *ok(":WAVeform:BYTeorder LSBFirst"), *ok(":WAVeform:UNSigned 0"),
            *ok(":WAVeform:POINts:MODE RAW"), *ok(f":WAVeform:POINts {points}"),
            (":WAVeform:PREamble?", preamble), (":WAVeform:DATA?", block)]


def test_a_word_record_is_scaled_by_the_ten_field_preamble():
    codes = np.array([-32000, -1, 0, 1, 12345, 32000], dtype="<i2")
    # <format 1 WORD>,<type 0 NORMal>,<points>,<count>,<xinc>,<xorigin>,<xref>,<yinc>,<yorg>,<yref>
    pre = "+1,+0,+6,+1,+4.0E-10,-1.0E-08,+0,+2.5E-05,+1.0E-01,+0"
    scope, resource = scope_with([
        *ok(":TIMebase:REFerence CENTer"), *ok(":TIMebase:SCALe 1e-08"),
        *ok(":TIMebase:POSition 0"), *fetch_script(codes, pre)])
    scope.configure_timebase(scale=10e-9, sample_rate=2.5e9, points=100)
    waveform = scope.fetch_waveform(1)
    resource.done()
    np.testing.assert_allclose(waveform.volts, codes * 2.5e-5 + 0.1)
    np.testing.assert_allclose(waveform.time, -10e-9 + np.arange(6) * 0.4e-9)


def test_a_record_sampled_slower_than_asked_is_refused():
    codes = np.zeros(6, dtype="<i2")
    pre = "+1,+0,+6,+1,+8.0E-10,-1.0E-08,+0,+2.5E-05,+0,+0"  # 1.25 GSa/s
    scope, resource = scope_with([
        *ok(":TIMebase:REFerence CENTer"), *ok(":TIMebase:SCALe 1e-08"),
        *ok(":TIMebase:POSition 0"), *fetch_script(codes, pre)[:-1]])
    scope.configure_timebase(scale=10e-9, sample_rate=2.5e9, points=100)
    with pytest.raises(InstrumentError, match="below the 2.5e\\+09 Sa/s asked"):
        scope.fetch_waveform(1)
    resource.done()


def test_the_plan_check_knows_the_shared_adc_of_a_channel_pair():
    assert KeysightInfiniiVision.check_plan({"sample_rate": 5e9, "channels": [1]}) == []
    assert KeysightInfiniiVision.check_plan({"sample_rate": 5e9, "channels": [1, 2]}) == [
        "sample_rate=5e+09 Sa/s is outside the InfiniiVision 3000T (2 channels on)'s range "
        "0 to 2.5e+09 Sa/s"]
    assert KeysightInfiniiVision.check_plan({"points": 2_000_000, "channels": [1, 2]}) == []
    assert len(KeysightInfiniiVision.check_plan({"points": 3_000_000, "channels": [1, 2]})) == 1


def test_error_queue_entries_name_the_command():
    scope, resource = scope_with([(":CHANnel1:IMPedance ONEMeg", None),
                                  (":SYSTem:ERRor?", '-224,"Illegal parameter value"'),
                                  (":SYSTem:ERRor?", OK)])
    with pytest.raises(InstrumentError, match="-224.*IMPedance ONEMeg"):
        scope.configure_channel(1, scale=1.0, impedance="1M")
    resource.done()

