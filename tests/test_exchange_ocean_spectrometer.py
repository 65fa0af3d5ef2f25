"""The Ocean driver's exact exchange with seabreeze's backend interface (the device object of
``cseabreeze``/``pyseabreeze``: ``f.spectrometer.set_integration_time_micros``,
``get_integration_time_micros_limits``, ``get_maximum_intensity``,
``get_electric_dark_pixel_indices``, ``get_wavelengths`` in nm, ``get_intensities``,
``set_trigger_mode``; ``f.nonlinearity_coefficients``), against a scripted device written from
the library's documentation (no simulator, no seabreeze needed); then the ``spectrum`` sequence
on the simulated device against the simulated chip."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.base import InstrumentError
from drivers.ocean_spectrometer import OceanSpectrometer, open_device

WAVELENGTHS_NM = np.linspace(400.0, 500.0, 11)  # 10 nm pixels
DARK = [0, 1]


class ScriptedFeature:
    """Plays ``(call, arguments, answer)`` in order; anything else fails the test."""

    def __init__(self, script):
        self.script = list(script)

    def __getattr__(self, name):
        def call(*args):
            assert self.script, f"called {name}{args} after the end of the script"
            expected, expected_args, answer = self.script.pop(0)
            assert (name, args) == (expected, expected_args), \
                f"called {name}{args}, the exchange is {expected}{expected_args}"
            if isinstance(answer, Exception):
                raise answer
            return answer
        return call


class ScriptedDevice:
    model, serial_number = "FLAMES", "FLMS00001"

    def __init__(self, script, coefficients=None):
        self.f = type("Features", (), {})()
        self.f.spectrometer = ScriptedFeature(script)
        self.f.nonlinearity_coefficients = None if coefficients is None else type(
            "NC", (), {"get_nonlinearity_coefficients": staticmethod(lambda: coefficients)})()
        self.closed = False

    def close(self):
        self.closed = True

    def done(self):
        assert not self.f.spectrometer.script, f"never called: {self.f.spectrometer.script}"


CONNECT = [("get_wavelengths", (), WAVELENGTHS_NM),
           ("get_integration_time_micros_limits", (), (1000, 65_000_000)),
           ("get_maximum_intensity", (), 65535.0),
           ("get_electric_dark_pixel_indices", (), DARK),
           ("set_trigger_mode", (0,), None)]


def connected(script, coefficients=None, **options):
    device = ScriptedDevice(CONNECT + list(script), coefficients)
    driver = OceanSpectrometer(device, name="ccd", **options)
    assert driver.connect() == "Ocean Insight,FLAMES,FLMS00001"
    return driver, device


def test_connect_reads_axis_limits_full_scale_and_dark_pixels_in_si():
    driver, device = connected([])
    assert driver.wavelengths == pytest.approx(WAVELENGTHS_NM * 1e-9)
    assert (driver.min_integration, driver.max_integration) == (1e-3, 65.0)
    device.done()


def test_configure_sets_whole_microseconds_and_the_spectrum_is_the_window_less_the_dark():
    raw = np.array([100.0, 102.0, 150, 200, 300, 400, 500, 400, 300, 200, 150])
    driver, device = connected([("set_integration_time_micros", (25_000,), None),
                                ("get_intensities", (), raw)])
    driver.configure(start=420e-9, stop=480e-9, integration_time=0.025)
    spectrum = driver.acquire_spectrum()
    assert spectrum.wavelength == pytest.approx(np.arange(420, 481, 10) * 1e-9)
    assert spectrum.values == pytest.approx(raw[2:9] - 101.0)  # mean of the masked pixels
    assert spectrum.units == "counts" and spectrum.integration_time == 0.025
    device.done()


def test_nonlinearity_divides_by_the_eeprom_polynomial_in_the_dark_corrected_counts():
    raw = np.full(11, 1100.0)
    raw[DARK] = 100.0
    driver, device = connected([("get_intensities", (), raw)], coefficients=[0.5, 1e-3],
                               nonlinearity=True)
    driver.configure(start=400e-9, stop=500e-9)
    counts = driver.acquire_spectrum().values
    assert counts[5] == pytest.approx(1000.0 / (0.5 + 1e-3 * 1000.0))
    device.done()


def test_a_saturated_pixel_in_the_window_raises():
    raw = np.full(11, 200.0)
    raw[6] = 65535.0
    driver, _ = connected([("get_intensities", (), raw)])
    driver.configure(start=400e-9, stop=500e-9)
    with pytest.raises(InstrumentError, match="saturated"):
        driver.acquire_spectrum()


@pytest.mark.parametrize("kwargs, problem", [
    ({"integration_time": 0.0001}, "integration_time=0.0001 s is outside"),
    ({"integration_time": 0.0100005}, "whole number of microseconds"),
    ({"resolution": 1e-9}, "resolution is fixed"),
    ({"points": 100}, "points is fixed"),
    ({"start": 300e-9}, "start=3e-07 m is outside"),
])
def test_a_refused_setting_touches_nothing(kwargs, problem):
    driver, device = connected([])
    with pytest.raises(ValueError, match=problem):
        driver.configure(**{"start": 420e-9, "stop": 480e-9, **kwargs})
    device.done()


def test_a_library_error_is_an_instrument_error_naming_the_call():
    driver, _ = connected([("get_intensities", (), RuntimeError("USB transfer timed out"))])
    driver.configure(start=400e-9, stop=500e-9)
    with pytest.raises(InstrumentError, match="seabreeze: USB transfer timed out.*get_intensities"):
        driver.acquire_spectrum()


def test_options_are_checked_and_a_missing_feature_is_refused_at_connect():
    with pytest.raises(ValueError, match="unknown option"):
        OceanSpectrometer.check_options({"boxcar": 3})
    with pytest.raises(ValueError, match="must be true or false"):
        OceanSpectrometer.check_options({"electric_dark": "yes"})
    device = ScriptedDevice(CONNECT[:4])
    with pytest.raises(InstrumentError, match="no nonlinearity coefficients"):
        OceanSpectrometer(device, name="ccd", nonlinearity=True).connect()


def test_without_seabreeze_a_real_device_cannot_open_and_says_why():
    try:
        import seabreeze  # noqa: F401
    except ImportError:
        with pytest.raises(OSError, match=r"seabreeze library is not installed.*\[spectra\]"):
            open_device("FLMS00001")
    else:
        pytest.skip("seabreeze is installed: opening would look for hardware")


# -- the spectrum sequence on the simulated device ----------------------------------------------
def test_spectrum_runs_on_the_simulated_ocean_device_against_the_chip(tmp_path, stations):
    from bench.recipe import parse_recipe
    from bench.runner import Runner
    from bench.station import StationConfig, builtin_station_config

    station = builtin_station_config()
    for name in ("osa", "vna", "scope", "generator"):  # only what the sequence uses
        del station["instruments"][name]
    station["instruments"]["ccd"] = {"driver": "ocean_spectrometer", "resource": "FLMS00001",
                                     "simulated": True}
    recipe = parse_recipe({
        "sample": {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
                   "limits": {"max_current": 20e-3, "max_voltage": 6.0}},
        "steps": [{"sequence": "spectrum", "params": {"currents": [0.5e-3, 10e-3],
                                                      "integration_time": 0.05}}]})
    outcome = Runner(StationConfig.from_mapping(station), recipe, tmp_path / "run.h5").run()
    step = outcome.steps[0]
    assert step.status == "completed", step.reason
    world = stations[0].world
    truth = world.emission_spectrum()
    assert step.results["peak_wavelength"]["value"] == pytest.approx(
        float(truth.peak_wavelength(10e-3)[0]), abs=0.5e-9)
    grid = np.linspace(380e-9, 520e-9, 140_001)
    density = truth.power_density(grid, 10e-3)
    above = grid[density >= density.max() / 2]
    assert step.results["fwhm"]["value"] == pytest.approx(above[-1] - above[0], rel=0.05)
    calls = [c for name, c in world.commands if name == "ccd"]
    assert "set_integration_time_micros 50000" in calls
    assert calls.count("get_intensities") == 3  # the dark and two currents
