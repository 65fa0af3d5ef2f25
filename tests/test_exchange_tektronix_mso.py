"""The Tektronix 4/5/6 Series MSO's exact command exchange against a scripted resource (no
simulator), written from the 4/5/6 Series MSO Programmer Manual (077-1305-xx): Vertical,
Horizontal, Trigger, Acquisition, Waveform Transfer and Status and Error groups, IEEE 488.2
(*ESR?, *OPC?)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.base import InstrumentError
from drivers.tektronix_mso import TektronixMSO
from tests.conftest import ScriptedResource, connected

IDN = "TEKTRONIX,MSO54,B012345,CF:91.1CT FV:1.30.20"


def ok(command: str) -> list:
    """A command, then *ESR? 0: no error bit, the event queue is not read."""
    return [(command, None), ("*ESR?", "0")]


def scope_with(script) -> tuple[TektronixMSO, ScriptedResource]:
    return connected(TektronixMSO, IDN, script, name="scope", opening=ok("HEADer OFF"))


def test_vertical_horizontal_trigger_and_averaging_as_the_manual_writes_them():
    scope, resource = scope_with([
        *ok("CH2:TERmination 50"), *ok("CH2:SCAle 0.05"), *ok("CH2:POSition 0"),
        *ok("CH2:OFFSet 0.1"), *ok("DISplay:GLObal:CH2:STATE ON"),
        *ok("HORizontal:MODE MANual"), *ok("HORizontal:MODE:SAMPLERate 6.25e+09"),
        *ok("HORizontal:MODE:RECOrdlength 2500"), *ok("HORizontal:DELay:MODe ON"),
        *ok("HORizontal:POSition 50"), *ok("HORizontal:DELay:TIMe 1e-07"),
        *ok("TRIGger:A:TYPe EDGE"), *ok("TRIGger:A:EDGE:SOUrce CH2"),
        *ok("TRIGger:A:EDGE:SLOpe FALL"), *ok("TRIGger:A:LEVel:CH2 0.1"),
        *ok("ACQuire:NUMAVg 64"), *ok("ACQuire:MODe AVErage")])
    scope.configure_channel(2, scale=0.05, offset=0.1, impedance="50")
    scope.configure_timebase(scale=40e-9, position=100e-9, sample_rate=6.25e9, points=2500)
    scope.configure_edge_trigger(channel=2, level=0.1, slope="falling")
    scope.set_averaging(64)
    resource.done()


def test_a_single_sequence_is_waited_for_with_opc():
    scope, resource = scope_with([*ok("ACQuire:STOPAfter SEQuence"), ("ACQuire:STATE ON", None),
                                  ("*OPC?", "1"), ("*ESR?", "0")])
    scope.acquire()
    resource.done()


def test_an_error_bit_in_esr_reads_the_event_queue():
    scope, resource = scope_with([
        ("CH1:TERmination 1.0E+6", None), ("*ESR?", "32"),
        ("ALLEv?", '113,"Undefined header; Command not found: CH1:TERM",'
                   '0,"No events to report - queue empty"')])
    with pytest.raises(InstrumentError, match='113,"Undefined header'):
        scope.configure_channel(1, scale=1.0, impedance="1M")
    resource.done()


def test_curve_is_signed_16_bit_lsb_first_scaled_by_the_wfmoutpre_fields():
    codes = np.array([-30000, -2, 0, 3, 30000], dtype="<i2")
    block = f"#2{codes.nbytes}".encode() + codes.tobytes()
    fields = {"NR_Pt": "5", "XINcr": "1.6E-10", "XZEro": "-2.0E-8", "PT_Off": "0",
              "YMUlt": "7.8125E-6", "YOFf": "0", "YZEro": "0.25"}
    scope, resource = scope_with([
        *ok("HORizontal:MODE MANual"), *ok("HORizontal:MODE:SAMPLERate 6.25e+09"),
        *ok("HORizontal:MODE:RECOrdlength 1000"), *ok("HORizontal:DELay:MODe ON"),
        *ok("HORizontal:POSition 50"), *ok("HORizontal:DELay:TIMe 0"),
        *ok("DATa:SOUrce CH1"), *ok("DATa:ENCdg SRIBinary"), *ok("WFMOutpre:BYT_Nr 2"),
        *ok("DATa:STARt 1"), *ok("DATa:STOP 1000"),
        *[(f"WFMOutpre:{name}?", value) for name, value in fields.items()],
        ("CURVe?", block)])
    scope.configure_timebase(scale=16e-9, sample_rate=6.25e9, points=1000)
    waveform = scope.fetch_waveform(1)
    resource.done()
    # Waveform Transfer: V = (code - YOFf) YMUlt + YZEro, t = (i - PT_Off) XINcr + XZEro
    np.testing.assert_allclose(waveform.volts, codes * 7.8125e-6 + 0.25)
    np.testing.assert_allclose(waveform.time, -20e-9 + np.arange(5) * 0.16e-9)


def test_the_plan_check_refuses_what_the_4_series_cannot_sample():
    assert TektronixMSO.check_plan({"sample_rate": 6.25e9, "points": 31_250_000,
                                    "channels": [1, 2, 3, 4]}) == []
    assert len(TektronixMSO.check_plan({"sample_rate": 10e9, "channels": [1]})) == 1
    assert len(TektronixMSO.check_plan({"averaging": 20000})) == 1
