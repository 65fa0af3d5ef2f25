"""The Rigol DS1000Z's exact command exchange against a scripted resource (no simulator),
written from the DS1000Z Programming Guide (:CHANnel, :TIMebase, :TRIGger, :ACQuire, :SINGle,
:WAVeform, :SYSTem:ERRor?), including the RAW read of the internal memory in batches of at most
250000 points (":WAVeform:DATA?")."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.rigol_ds1000z import CHUNK, RigolDS1000Z
from tests.conftest import ScriptedResource, checked, connected

IDN = "RIGOL TECHNOLOGIES,DS1054Z,DS1ZA170000000,00.04.04.SP4"
OK = '0,"No error"'


def ok(command: str) -> list:
    return checked(command, no_error=OK)


def scope_with(script, **options) -> tuple[RigolDS1000Z, ScriptedResource]:
    return connected(RigolDS1000Z, IDN, script, name="scope", **RigolDS1000Z.check_options(options))


def displayed(*on: int) -> list:
    return [(f":CHANnel{c}:DISPlay?", "1" if c in on else "0") for c in range(1, 5)]


def test_set_up_as_the_guide_writes_it_with_the_offset_moving_the_trace():
    scope, resource = scope_with([
        *ok(":CHANnel2:COUPling DC"), *ok(":CHANnel2:SCALe 0.05"),
        *ok(":CHANnel2:OFFSet -0.1"), *ok(":CHANnel2:DISPlay 1"),
        *displayed(1, 2), *ok(":TIMebase:MAIN:SCALe 1e-06"),
        *ok(":TIMebase:MAIN:OFFSet 2e-06"), *ok(":ACQuire:MDEPth 6000"),
        *ok(":TRIGger:MODE EDGE"), *ok(":TRIGger:EDGe:SOURce CHANnel2"),
        *ok(":TRIGger:EDGe:SLOPe POSitive"), *ok(":TRIGger:EDGe:LEVel 0.1"),
        *ok(":ACQuire:TYPE AVERages"), *ok(":ACQuire:AVERages 16")], feedthrough=[2])
    scope.configure_channel(2, scale=0.05, offset=0.1, impedance="50")
    # 500 MSa/s over 12 x 1 us needs 6000 points: the smallest two-channel depth
    scope.configure_timebase(scale=1e-6, position=2e-6, sample_rate=500e6)
    scope.configure_edge_trigger(channel=2, level=0.1)
    scope.set_averaging(16)
    resource.done()


def test_50_ohm_without_a_feedthrough_and_odd_averages_are_refused_before_sending():
    scope, resource = scope_with([])
    with pytest.raises(ValueError, match="no 50 ohm feed-through"):
        scope.configure_channel(1, scale=0.1, impedance="50")
    with pytest.raises(ValueError, match="power of 2"):
        scope.set_averaging(12)
    resource.done()
    assert RigolDS1000Z.check_plan({"averaging": 12}) == [
        "averaging=12 is not a power of 2 (Rigol DS1000Z)"]
    with pytest.raises(ValueError, match="feedthrough"):
        RigolDS1000Z.check_options({"feedthrough": [5]})


def test_a_record_that_needs_more_memory_than_the_channels_allow_is_refused():
    scope, resource = scope_with(displayed(1, 2, 3))
    with pytest.raises(ValueError, match="exceed the 6000000 points"):
        scope.configure_timebase(scale=10e-3, sample_rate=250e6)
    resource.done()


def test_single_is_polled_until_the_trigger_status_is_stop():
    scope, resource = scope_with([*ok(":SINGle"), (":TRIGger:STATus?", "WAIT"),
                                  (":TRIGger:STATus?", "TD"), (":TRIGger:STATus?", "STOP")])
    scope.poll_interval = 0.0
    scope.acquire()
    resource.done()


def test_the_memory_is_read_in_chunks_of_at_most_250000_points():
    points = CHUNK + 10
    codes = (np.arange(points) % 256).astype(np.uint8)
    # <format 0 BYTE>,<type 2 RAW>,<points>,<count>,<xinc>,<xorigin>,<xref>,<yinc>,<yorg>,<yref>
    pre = f"0,2,{points},1,2.000000e-09,-5.000000e-04,0,4.000000e-03,25,127"

    def block(data: np.ndarray) -> bytes:
        return b"#9" + f"{data.size:09d}".encode() + data.tobytes()

    scope, resource = scope_with([
        *ok(":WAVeform:SOURce CHANnel1"), *ok(":WAVeform:MODE RAW"),
        *ok(":WAVeform:FORMat BYTE"), (":WAVeform:PREamble?", pre),
        *ok(":WAVeform:STARt 1"), *ok(f":WAVeform:STOP {CHUNK}"),
        (":WAVeform:DATA?", block(codes[:CHUNK])),
        *ok(f":WAVeform:STARt {CHUNK + 1}"), *ok(f":WAVeform:STOP {points}"),
        (":WAVeform:DATA?", block(codes[CHUNK:]))])
    waveform = scope.fetch_waveform(1)
    resource.done()
    # PREamble: V = (code - yorigin - yreference) yincrement, t = (i - xref) xinc + xorigin
    np.testing.assert_allclose(waveform.volts, (codes.astype(float) - 25 - 127) * 4e-3)
    assert waveform.time[0] == pytest.approx(-5e-4)
    assert waveform.time[-1] == pytest.approx(-5e-4 + (points - 1) * 2e-9)
