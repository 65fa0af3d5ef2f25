"""The 33500B's exact command exchange against a scripted resource (no simulator), written from
the 33500B Series Operating and Service Guide, SCPI Programming Reference (FUNCtion, VOLTage,
FUNCtion:PULSe, FUNCtion:PRBS, DATA:ARBitrary, FUNCtion:ARBitrary, BURSt, OUTPut, OUTPut:LOAD,
SYSTem:ERRor?)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.base import InstrumentError
from drivers.keysight_33500b import Keysight33500B
from tests.conftest import ScriptedResource

IDN = "Agilent Technologies,33522B,MY52800123,3.05-1.19-2.00-52-00"
OK = '+0,"No error"'


def ok(command: str) -> list:
    return [(command, None), ("SYSTem:ERRor?", OK)]


def generator_with(script) -> tuple[Keysight33500B, ScriptedResource]:
    resource = ScriptedResource([("*IDN?", IDN), ("*CLS", None), *script])
    generator = Keysight33500B(resource, name="generator")
    generator.connect()
    return generator, resource


def levels(high: str, low: str, present=("+1.0E-01", "+0.0E+00")) -> list:
    """OUTPut:LOAD 50 first (levels are volts into 50 ohm), the present levels read back."""
    return [*ok("OUTPut:LOAD 50"), ("VOLTage:HIGH?", present[0]), ("VOLTage:LOW?", present[1]),
            *ok(f"VOLTage:HIGH {high}"), *ok(f"VOLTage:LOW {low}")]


def test_a_pulse_with_edge_times_as_the_guide_writes_it():
    generator, resource = generator_with([
        *ok("FUNCtion PULSe"), *ok("FUNCtion:PULSe:PERiod 1e-05"),
        *ok("FUNCtion:PULSe:WIDTh 1e-06"), *ok("FUNCtion:PULSe:TRANsition:BOTH 2e-08"),
        *levels("0.4", "-0.1")])
    generator.set_pulse(high=0.4, low=-0.1, width=1e-6, period=10e-6, edge=20e-9)
    resource.done()


def test_a_pulse_that_does_not_fit_is_refused_before_sending():
    generator, resource = generator_with([])
    with pytest.raises(ValueError, match="width"):
        generator.set_pulse(high=0.4, low=0.0, width=10e-9, period=1e-6)  # < 16 ns
    with pytest.raises(ValueError, match="0.625"):
        generator.set_pulse(high=0.4, low=0.0, width=20e-9, period=1e-6, edge=20e-9)
    with pytest.raises(ValueError, match="does not fit the period"):
        generator.set_pulse(high=0.4, low=0.0, width=2e-6, period=1e-6)
    with pytest.raises(ValueError, match="high"):
        generator.set_pulse(high=6.0, low=0.0, width=1e-6, period=10e-6)
    resource.done()


def test_prbs_at_the_instruments_own_orders_and_rate():
    generator, resource = generator_with([
        *ok("FUNCtion:PRBS:DATA PN7"), *ok("FUNCtion:PRBS:BRATe 20000000"),
        *ok("FUNCtion:PRBS:TRANsition:BOTH 8.4e-09"), *ok("FUNCtion PRBS"),
        *ok("FUNCtion:PRBS:BRATe 10000000")])
    with pytest.raises(ValueError, match="bit rate"):
        generator.set_prbs(7)  # no rate yet
    with pytest.raises(ValueError, match="bit_rate"):
        generator.set_bit_rate(100e6)  # above 50 Mbit/s
    generator.set_bit_rate(20e6)
    with pytest.raises(ValueError, match="PN"):
        generator.set_prbs(10)  # PN10 is not one of the 33500B's sequences
    generator.set_prbs(7)
    generator.set_bit_rate(10e6)  # applied to the running PRBS
    resource.done()


def test_a_user_pattern_goes_as_a_held_arbitrary_waveform_of_dac_values():
    bits = np.array([1, 1, 0, 0])  # repeated to the 8-point minimum
    values = ",".join(["32767", "32767", "-32767", "-32767"] * 2)
    generator, resource = generator_with([
        *ok("FUNCtion SQUare"), *ok("DATA:VOLatile:CLEar"),
        *ok(f"DATA:ARBitrary:DAC BENCHPAT,{values}"), *ok("FUNCtion:ARBitrary BENCHPAT"),
        *ok("FUNCtion:ARBitrary:SRATe 5000000"), *ok("FUNCtion:ARBitrary:FILTer OFF"),
        *ok("FUNCtion ARB")])
    generator.set_bit_rate(5e6)
    generator.set_pattern(bits)
    resource.done()


def test_sine_with_offset_square_and_burst():
    generator, resource = generator_with([
        *ok("OUTPut:LOAD 50"), *ok("FUNCtion SINusoid"), *ok("FREQuency 1000000"),
        *ok("VOLTage 0.2"), *ok("VOLTage:OFFSet 0.5"),
        *ok("FUNCtion SQUare"), *ok("FREQuency 1000"), *ok("FUNCtion:SQUare:DCYCle 20"),
        *levels("0.3", "-0.1"),
        *ok("BURSt:MODE TRIGgered"), *ok("BURSt:NCYCles 5"), *ok("TRIGger:SOURce IMMediate"),
        *ok("BURSt:INTernal:PERiod 0.01"), *ok("BURSt:STATe ON")])
    generator.set_sine(frequency=1e6, amplitude=0.2, offset=0.5)
    generator.set_square(frequency=1e3, high=0.3, low=-0.1, duty=20.0)
    generator.set_burst(cycles=5, period=10e-3)
    resource.done()


def test_the_output_goes_on_only_with_the_50_ohm_load_setting():
    generator, resource = generator_with([
        ("OUTPut:LOAD?", "+9.9E+37"),
        ("OUTPut:LOAD?", "+5.000000000000000E+01"), *ok("OUTPut ON"), ("OUTPut OFF", None)])
    with pytest.raises(InstrumentError, match="not 50"):
        generator.output_on()
    generator.output_on()
    generator.output_off()
    resource.done()


def test_the_plan_check_names_the_models_limits():
    assert Keysight33500B.check_plan({"high": 0.5, "low": 0.0, "bit_rate": 50e6,
                                      "pattern_bits": 127}) == []
    assert Keysight33500B.check_plan({"bit_rate": 1e9}) == [
        "bit_rate=1e+09 bit/s is outside the Keysight 33500B's range 0.001 to 5e+07 bit/s"]
    assert len(Keysight33500B.check_plan({"edge": 1e-9})) == 1
    assert Keysight33500B.check_plan({"prbs_order": 10}) == [
        "prbs_order=10: the Keysight 33500B generates PN7, PN9, PN11, PN15, PN20, PN23 only"]
