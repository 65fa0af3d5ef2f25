"""``spectrum``: the line analysis on synthetic lines of known width, and the sequence end to end
on the built-in simulated bench against the simulated chip's own line (its peak, its width, the
sign of its shift) and its optical power; refusals before anything moves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig, builtin_station_config
from bench.storage import read_run
from common.errors import LimitError
from sequences.base import Sample
from sequences.spectrum import SpectrumSequence, centroid_wavelength, fwhm, peak_wavelength

SAMPLE = {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
          "limits": {"max_current": 20e-3, "max_voltage": 6.0}}
CURRENTS = [0.2e-3, 1e-3, 10e-3]


# -- the analysis on synthetic lines -----------------------------------------------------------
@pytest.mark.parametrize("sigma, step", [(8e-9, 0.1e-9), (3e-9, 0.5e-9), (10e-9, 1e-9)])
def test_the_fwhm_of_a_gaussian_is_2_sqrt_2_ln2_sigma(sigma, step):
    wavelength = np.arange(400e-9, 500e-9, step)
    centre = 451.37e-9
    values = 3e-6 * np.exp(-0.5 * ((wavelength - centre) / sigma) ** 2)
    assert fwhm(wavelength, values) == pytest.approx(2 * math.sqrt(2 * math.log(2)) * sigma,
                                                     rel=2e-3)
    assert peak_wavelength(wavelength, values) == pytest.approx(centre, abs=step / 50)
    assert centroid_wavelength(wavelength, values) == pytest.approx(centre, abs=step / 50)


def test_the_centroid_of_an_asymmetric_line_leans_to_its_long_tail():
    wavelength = np.linspace(400e-9, 520e-9, 2401)
    x = wavelength - 450e-9
    values = np.where(x < 0, np.exp(-0.5 * (x / 5e-9) ** 2), np.exp(-0.5 * (x / 15e-9) ** 2))
    # mean of the two half-Gaussians: (15 - 5) nm sqrt(2 / pi), less the 2 % tails left out
    assert centroid_wavelength(wavelength, values, floor=1e-9) == pytest.approx(
        450e-9 + 10e-9 * math.sqrt(2 / math.pi), abs=0.05e-9)


@pytest.mark.parametrize("values, message", [
    (np.exp(-0.5 * ((np.linspace(0, 1, 101) - 0.98) / 0.05) ** 2), "past the edge"),
    (np.zeros(101), "no light"),
    (np.full(101, np.nan), "non-finite"),
])
def test_what_is_not_a_line_in_the_window_is_refused(values, message):
    with pytest.raises(ValueError, match=message):
        fwhm(np.linspace(400e-9, 500e-9, 101), values)


def test_analysis_gives_per_current_arrays_and_drops_what_it_cannot_give():
    wavelength = np.linspace(400e-9, 500e-9, 501)
    rows = [np.exp(-0.5 * ((wavelength - c) / 8e-9) ** 2) for c in (452e-9, 450e-9)]
    data = {"wavelength": wavelength, "spectra": np.array(rows), "current": np.array([1e-3,
                                                                                       5e-3])}
    figures = SpectrumSequence.analyse(data, {}, Sample("chip", 20e-6, 450e-9))
    assert figures["wavelength_shift"][0] == pytest.approx(-2e-9, abs=1e-12)  # a blue shift
    assert figures["peak_wavelength"][2]["current"] == (5e-3, "A")
    assert figures["fwhm_per_current"][0] == pytest.approx([18.84e-9] * 2, rel=1e-3)
    one = SpectrumSequence.analyse({**data, "spectra": data["spectra"][:1],
                                    "current": data["current"][:1]}, {},
                                   Sample("chip", 20e-6, 450e-9))
    assert "two currents" in one["wavelength_shift"][0]


# -- end to end on the built-in bench ------------------------------------------------------------
def dc_station() -> dict:
    """The built-in bench without its high-speed instruments (not used here: faster)."""
    station = builtin_station_config()
    for name in ("vna", "scope", "generator"):
        del station["instruments"][name]
    return station


def run_spectrum(tmp_path, stations, params, station=None):
    recipe = parse_recipe({"sample": SAMPLE, "steps": [{"sequence": "spectrum",
                                                       "params": params}]})
    config = StationConfig.from_mapping(station or dc_station())
    outcome = Runner(config, recipe, tmp_path / "run.h5").run()
    return outcome, stations[0].world if stations else None


@pytest.fixture(scope="module")
def spectrum_run(tmp_path_factory):
    from tests.conftest import record_stations

    with pytest.MonkeyPatch.context() as patch:
        stations = record_stations(patch)
        path = tmp_path_factory.mktemp("spectrum")
        outcome, world = run_spectrum(path, stations, {"currents": CURRENTS,
                                                       "resolution": 0.1e-9})
    return outcome.steps[0], world, read_run(path / "run.h5").steps[0]


def true_fwhm(world, current) -> float:
    """The simulated line's FWHM on a 1 pm grid, from the model's own spectral density."""
    grid = np.linspace(350e-9, 550e-9, 200_001)
    density = world.emission_spectrum().power_density(grid, current)
    above = grid[density >= density.max() / 2]
    return float(above[-1] - above[0])


def test_spectrum_recovers_the_simulated_peak_and_width(spectrum_run):
    step, world, _ = spectrum_run
    assert step.status == "completed", step.reason
    truth = world.emission_spectrum()
    assert step.results["peak_wavelength"]["value"] == pytest.approx(
        float(truth.peak_wavelength(CURRENTS[-1])[0]), abs=0.5e-9)
    assert step.results["fwhm"]["value"] == pytest.approx(true_fwhm(world, CURRENTS[-1]),
                                                          rel=0.05)


def test_every_current_has_its_peak_width_and_power(spectrum_run):
    _, world, record = spectrum_run
    truth = world.emission_spectrum()
    analysis = record.analysis
    for k, current in enumerate(record.data["current"]):
        assert analysis["peak_wavelength_per_current"][k] == pytest.approx(
            float(truth.peak_wavelength(current)[0]), abs=0.5e-9)
        assert analysis["fwhm_per_current"][k] == pytest.approx(true_fwhm(world, current),
                                                                rel=0.05)
        power = world.detected_power(float(world.chip.steady_state(
            np.array([current])).optical_power[0]))
        assert analysis["integrated_power_per_current"][k] == pytest.approx(power, rel=0.02)


def test_the_wavelength_shift_has_the_sign_of_the_model(spectrum_run):
    step, world, _ = spectrum_run
    truth = world.emission_spectrum()
    expected = float(truth.peak_wavelength(CURRENTS[-1])[0] - truth.peak_wavelength(
        CURRENTS[0])[0])
    measured = step.results["wavelength_shift"]["value"]
    assert abs(expected) > 0.5e-9 and np.sign(measured) == np.sign(expected)
    assert measured == pytest.approx(expected, abs=0.3e-9)


def test_the_spectra_are_one_2d_dataset_with_units_and_axis(spectrum_run):
    _, _, record = spectrum_run
    spectra, wavelength = record.data["spectra"], record.data["wavelength"]
    assert spectra.shape == (len(CURRENTS), wavelength.size)
    assert record.units["spectra"] == "W" and record.units["wavelength"] == "m"
    assert record.attrs["spectra"]["rows"] == "set_current"
    assert record.data["dark"].shape == wavelength.shape
    assert float(record.data["resolution"]) == pytest.approx(0.1e-9)
    assert wavelength[0] == pytest.approx(390e-9) and wavelength[-1] == pytest.approx(510e-9)


def test_a_current_beyond_the_limits_is_refused_before_anything_moves(tmp_path, stations):
    with pytest.raises(LimitError, match="spectrum current 0.03 A exceeds"):
        run_spectrum(tmp_path, stations, {"currents": [1e-3, 30e-3]})
    assert not stations  # refused before any instrument was opened


def test_a_window_outside_the_osa_model_is_refused_before_the_chip_is_driven(tmp_path,
                                                                           stations):
    station = dc_station()
    station["simulation"]["initial_state"] = {"osa": {"model": "AQ6370D"}}  # 600-1700 nm
    outcome, _ = run_spectrum(tmp_path, stations, {"currents": [1e-3]}, station)
    assert outcome.status == "failed" and "outside the AQ6370D's range" in outcome.reason
    assert stations and stations[0].world.max_applied_current == 0
    sent = [command for name, command in stations[0].world.commands if name == "osa"]
    assert sent and not any(c.startswith(":SENS") and "?" not in c for c in sent)


def test_a_resolution_the_osa_does_not_have_is_refused_by_bench_check(tmp_path):
    from bench.plan import check_recipe

    recipe = parse_recipe({"sample": SAMPLE, "steps": [{"sequence": "spectrum", "params": {
        "resolution": 0.3e-9}}]})
    problems = check_recipe(recipe, StationConfig.load(None)).all_problems()
    assert len(problems) == 1 and "not a resolution setting" in problems[0]
