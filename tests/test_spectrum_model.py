"""The simulated chip's emission spectrum against independent truth: the chip's own optical power
and wavelength, the Varshni and screening closed forms written out here, and the configuration's
refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import constants as sc

from sim_instruments.backend import SimulatedWorld
from sim_instruments.chip import ChipParameters, MicroLED
from sim_instruments.spectrum import EmissionSpectrum, SpectrumParameters

GRID = np.linspace(300e-9, 700e-9, 400_001)  # 1 pm steps, far beyond the line's tails


def line(chip=None, **spectrum) -> EmissionSpectrum:
    chip = MicroLED(ChipParameters(**(chip or {})))
    return EmissionSpectrum(SpectrumParameters(**spectrum), chip)


@pytest.mark.parametrize("current", [1e-5, 1e-3, 5e-3, 20e-3])
def test_the_spectrum_integrates_to_the_chips_optical_power(current):
    model = line()
    power = float(model.chip.steady_state(np.array([current])).optical_power[0])
    assert np.trapezoid(model.power_density(GRID, current), GRID) == pytest.approx(power,
                                                                                rel=1e-9)


@pytest.mark.parametrize("wavelength, reference", [(450e-9, 1e-3), (520e-9, 5e-3)])
def test_the_peak_at_the_reference_current_is_the_chips_wavelength(wavelength, reference):
    model = line({"wavelength": wavelength}, reference_current=reference)
    density = model.power_density(GRID, reference)
    assert GRID[np.argmax(density)] == pytest.approx(wavelength, abs=1.5e-12)
    assert float(model.peak_wavelength(reference)[0]) == pytest.approx(wavelength, rel=1e-12)


@pytest.mark.parametrize("current", [1e-4, 20e-3])
def test_the_closed_form_peak_is_the_maximum_of_the_line(current):
    model = line()
    density = model.power_density(GRID, current)
    assert float(model.peak_wavelength(current)[0]) == pytest.approx(GRID[np.argmax(density)],
                                                                     abs=1.5e-12)


def test_the_width_at_the_reference_is_the_configured_fwhm():
    model = line(fwhm=25e-9)
    density = model.power_density(GRID, 1e-3)
    above = GRID[density >= density.max() / 2]
    assert above[-1] - above[0] == pytest.approx(25e-9, rel=5e-3)


def test_the_line_widens_with_the_junction_temperature_as_kt():
    model = line()
    per_kelvin = 1.8 * sc.k / sc.e / (2 * math.sqrt(2 * math.log(2)))  # thermal sigma / T, V/K
    widening = model.sigma(400.0) ** 2 - model.sigma(300.0) ** 2
    assert widening == pytest.approx(per_kelvin**2 * (400.0**2 - 300.0**2), rel=1e-9)
    hot = model.power_density(GRID, 20e-3)  # Tj ~ 390 K against ~ 301 K at the reference
    above = GRID[hot >= hot.max() / 2]
    assert above[-1] - above[0] > 20.5e-9


def closed_form_shift(chip: MicroLED, low: float, high: float, p: SpectrumParameters) -> float:
    """Change of the line's centre energy (V) from ``low`` to ``high`` current: Varshni with
    alpha, beta and the screening term a n / (n + n0), written out independently."""
    op = chip.steady_state(np.array([low, high]))
    t, n = op.junction_temperature, op.carrier_density

    def gap(temperature):
        return -p.varshni_alpha * temperature**2 / (temperature + p.varshni_beta)

    def screening(density):
        return p.screening_shift * density / (density + p.screening_density)
    return float(gap(t[1]) - gap(t[0]) + screening(n[1]) - screening(n[0]))


@pytest.mark.parametrize("chip, low, high", [
    ({"thermal_resistance": 1e-3}, 1e-4, 5e-3),   # no heating: screening blue shift
    ({}, 1e-4, 1e-3),                              # low currents: screening wins
    ({}, 5e-3, 20e-3),                             # high currents: heating wins
    ({"thermal_resistance": 5000.0}, 1e-3, 5e-3),  # a hot chip: red shift
])
def test_the_shift_has_the_sign_of_the_closed_form(chip, low, high):
    model = line(chip)
    energy = closed_form_shift(model.chip, low, high, model.params)
    shift = float(model.peak_wavelength(high)[0] - model.peak_wavelength(low)[0])
    assert abs(energy) > 1e-4  # the cases are chosen to shift clearly
    assert np.sign(shift) == -np.sign(energy)
    # and about by the amount: d lambda = -lambda^2 dE / (hc/q) for a small shift
    expected = -(450e-9) ** 2 * energy / (sc.h * sc.c / sc.e)
    assert shift == pytest.approx(expected, rel=0.15)


def test_the_world_reads_its_spectrum_block_and_follows_its_chip():
    world = SimulatedWorld.from_config({"chip": {"wavelength": 460e-9},
                                        "spectrum": {"fwhm": 30e-9, "reference_current": 2e-3}})
    model = world.emission_spectrum()
    assert model.params.fwhm == 30e-9 and model is world.emission_spectrum()
    assert float(model.peak_wavelength(2e-3)[0]) == pytest.approx(460e-9, rel=1e-12)


@pytest.mark.parametrize("block, message", [
    ({"fwhm": -1e-9}, "spectrum.fwhm must be > 0"),
    ({"fwhm": float("nan")}, "spectrum.fwhm must be a finite number"),
    ({"reference_current": "1 mA"}, "spectrum.reference_current must be a finite number"),
    ({"screening_shift": 2.0}, "spectrum.screening_shift must be in"),
    ({"widht": 1e-9}, "spectrum: unknown key(s) widht; valid keys: reference_current, fwhm"),
    ("narrow", "spectrum must be a mapping"),
])
def test_a_bad_spectrum_block_is_refused_in_one_line(block, message):
    with pytest.raises(ValueError) as info:
        SimulatedWorld.from_config({"spectrum": block})
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_line_narrower_than_its_thermal_width_is_refused():
    with pytest.raises(ValueError, match="narrower than the thermal line"):
        line(fwhm=1e-9)
