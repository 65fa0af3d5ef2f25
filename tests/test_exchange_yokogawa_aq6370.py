"""The AQ6370 series' exact command exchange against a scripted resource (no simulator), written
from the AQ6370 series remote control manual (IM AQ6370C-17EN): 6.4 operation status register
(bit 0 Sweep, ``:STATus:OPERation:EVENt?``), SENSe (``:SENSe:WAVelength:STARt/STOP`` in m,
``:SENSe:BANDwidth:RESolution``, ``:SENSe:SWEep:POINts[:AUTO]``), INITiate (``:INITiate:SMODe
SINGle``, ``:INITiate``), TRACe (``:TRACe:X? TRA``, ``:TRACe:Y? TRA``), FORMat."""

from __future__ import annotations

import math

import pytest

from drivers.base import InstrumentError
from drivers.yokogawa_aq6370 import YokogawaAQ6370
from tests.conftest import ScriptedResource, checked

IDN_373B = "YOKOGAWA,AQ6373B,91Y000001,02.01"
IDN_370D = "YOKOGAWA,AQ6370D,90Y000002,05.01"


def osa_with(script, idn=IDN_373B, **options) -> tuple[YokogawaAQ6370, ScriptedResource]:
    resource = ScriptedResource([("*IDN?", idn), ("*CLS", None), *script])
    osa = YokogawaAQ6370(resource, name="osa", **options)
    osa.connect()
    return osa, resource


def configure_script(start="4e-07", stop="5e-07", resolution="5e-10", points="1001"):
    script = [(":SENSe:WAVelength:STOP?", "+1.20000000E-006"),
              *checked(f":SENSe:WAVelength:STARt {start}"),
              *checked(f":SENSe:WAVelength:STOP {stop}")]
    if resolution is not None:
        script += checked(f":SENSe:BANDwidth:RESolution {resolution}")
    if points is None:
        script += checked(":SENSe:SWEep:POINts:AUTO ON")
    else:
        script += [*checked(":SENSe:SWEep:POINts:AUTO OFF"),
                   *checked(f":SENSe:SWEep:POINts {points}")]
    return script + [*checked(":INITiate:SMODe SINGle"), *checked(":TRACe:ACTive TRA"),
                     *checked(":TRACe:ATTRibute:TRA WRITe"),
                     *checked(":DISPlay:TRACe:Y1:SPACing LOGarithmic"),
                     *checked(":FORMat:DATA ASCii")]


def test_connect_identifies_and_reads_the_model_without_changing_a_setting():
    osa, resource = osa_with([])
    assert osa.model == "AQ6373B"
    assert (osa.min_wavelength, osa.max_wavelength) == (350e-9, 1200e-9)
    resource.done()


def test_configure_sends_window_resolution_points_and_single_sweep_mode():
    osa, resource = osa_with(configure_script())
    osa.configure(start=400e-9, stop=500e-9, resolution=0.5e-9, points=1001)
    resource.done()


def test_configure_without_points_or_resolution_uses_auto_sampling_and_keeps_the_rbw():
    osa, resource = osa_with(configure_script(resolution=None, points=None))
    osa.configure(start=400e-9, stop=500e-9)
    resource.done()


def test_a_window_above_the_present_stop_sets_stop_first():
    script = [(":SENSe:WAVelength:STOP?", "+5.00000000E-007"),
              *checked(":SENSe:WAVelength:STOP 9e-07"),
              *checked(":SENSe:WAVelength:STARt 8e-07"),
              *configure_script(resolution=None, points=None)[5:]]
    osa, resource = osa_with(script)
    osa.configure(start=800e-9, stop=900e-9)
    resource.done()


def test_acquire_waits_for_the_sweep_bit_then_reads_trace_a_in_watts():
    osa, resource = osa_with([
        ("*CLS", None), (":INITiate", None),
        (":STATus:OPERation:EVENt?", "0"), (":STATus:OPERation:EVENt?", "1"),
        (":SYSTem:ERRor?", '0,"No error"'),
        (":TRACe:X? TRA", "+4.50000000E-007,+4.51000000E-007,+4.52000000E-007"),
        (":TRACe:Y? TRA", "-30.00,+0.00,-60.00"),
        (":SENSe:BANDwidth:RESolution?", "+5.00000000E-010"),
        (":SYSTem:ERRor?", '0,"No error"')])
    spectrum = osa.acquire_spectrum()
    assert spectrum.wavelength.tolist() == [450e-9, 451e-9, 452e-9]
    assert spectrum.values == pytest.approx([1e-6, 1e-3, 1e-9], rel=1e-12)  # dBm -> W
    assert spectrum.units == "W" and spectrum.resolution == 5e-10
    resource.done()


def test_other_operation_bits_do_not_end_the_wait():
    osa, resource = osa_with([
        ("*CLS", None), (":INITiate", None),
        (":STATus:OPERation:EVENt?", "16"), (":STATus:OPERation:EVENt?", "17"),
        (":SYSTem:ERRor?", '0,"No error"')])
    osa.sweep()
    resource.done()


def test_a_sweep_that_never_ends_raises_after_the_sweep_timeout():
    osa, resource = osa_with([("*CLS", None), (":INITiate", None),
                              (":STATus:OPERation:EVENt?", "0")])
    osa.sweep_timeout = 0.0  # past the deadline at the first poll
    with pytest.raises(InstrumentError, match="did not end within 0 s"):
        osa.sweep()
    resource.done()


def test_an_error_after_the_sweep_is_raised():
    osa, _ = osa_with([("*CLS", None), (":INITiate", None),
                       (":STATus:OPERation:EVENt?", "1"),
                       (":SYSTem:ERRor?", '-221,"Settings conflict"'),
                       (":SYSTem:ERRor?", '0,"No error"')])
    with pytest.raises(InstrumentError, match="Settings conflict"):
        osa.sweep()


@pytest.mark.parametrize("kwargs, problem", [
    ({"start": 450e-9, "stop": 460e-9, "resolution": 0.3e-9}, "not a resolution setting"),
    ({"start": 300e-9, "stop": 460e-9}, "start=3e-07 m is outside the AQ6373B's range"),
    ({"start": 460e-9, "stop": 450e-9}, "is not below stop"),
    ({"start": 400e-9, "stop": 500e-9, "points": 50}, "points=50 points is outside"),
    ({"start": 400e-9, "stop": 500e-9, "integration_time": 0.1}, "no integration time"),
])
def test_a_refused_setting_sends_nothing(kwargs, problem):
    osa, resource = osa_with([])
    with pytest.raises(ValueError, match=problem):
        osa.configure(**kwargs)
    resource.done()


def test_a_blue_chip_is_outside_an_aq6370d_which_its_instance_refuses():
    request = {"start": 420e-9, "stop": 480e-9, "resolution": 0.5e-9}
    assert YokogawaAQ6370.check_plan(request) == []  # the series' widest on the class
    osa, _ = osa_with([], idn=IDN_370D)
    problems = osa.check_plan(request)
    assert len(problems) == 2 and all("outside the AQ6370D's range" in p for p in problems)
    assert math.isclose(osa.min_wavelength, 600e-9)


def test_an_unknown_model_is_refused_at_connect():
    resource = ScriptedResource([("*IDN?", "YOKOGAWA,AQ6399,1,1"), ("*CLS", None)])
    with pytest.raises(InstrumentError, match="no known AQ6370-series model"):
        YokogawaAQ6370(resource, name="osa").connect()


@pytest.mark.parametrize("options, message", [
    ({"sweep_timeout": 0.1}, "outside the instrument's range"),
    ({"sweep_timeout": "long"}, "must be a number"),
    ({"points": 5}, "unknown option"),
])
def test_station_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        YokogawaAQ6370.check_options(options)
    assert YokogawaAQ6370.check_options({"sweep_timeout": 600}) == {"sweep_timeout": 600.0}
