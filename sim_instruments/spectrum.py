"""The simulated chip's electroluminescence spectrum: a line whose peak and width follow the
junction temperature and the carrier density of the chip's operating point.

Line shape, in photon energy E (energies are written as volts, E/q, so that they read as eV):
a Gaussian of centre E_c and standard deviation sigma. An InGaN quantum well's line is much
wider than the thermal band-to-band shape alone (FWHM 1.8 kT, Schubert, "Light-Emitting Diodes",
2nd ed. (2006), ch. 5): indium-content fluctuations add an inhomogeneous width, ~20 nm FWHM at
450 nm for blue micro-LEDs (e.g. Olivier et al., J. Lumin. 191, 112 (2017)). Both add in
quadrature: sigma^2 = sigma_inh^2 + (1.8 kT / (2 sqrt(2 ln 2)))^2, so the width grows with the
junction temperature.

Peak shifts against the reference condition (the chip's steady state at ``reference_current``):
- heating: the band gap follows Varshni, Eg(T) = Eg(0) - alpha T^2 / (T + beta) (GaN: alpha =
  0.909 meV/K, beta = 830 K, Vurgaftman & Meyer, J. Appl. Phys. 94, 3675 (2003)): a red shift;
- carriers: screening of the quantum-confined Stark field and band filling raise the transition
  energy with the carrier density n, saturating: dE = screening_shift n / (n + screening_density)
  (blue micro-LEDs shift by a few nm, tens of meV, over their current range: a blue shift).

Spectral power per wavelength: S(lambda) = P S_E(hc / lambda) hc / lambda^2 (S_E normalised to 1
over E), so its integral over wavelength is the chip's optical power P. In wavelength the peak
is where d/dE [-(E - E_c)^2 / (2 sigma^2) + 2 ln E] = 0, E_peak = (E_c + sqrt(E_c^2 + 8 sigma^2))
/ 2; at the reference condition E_c is placed so that the peak is the chip's ``wavelength``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import numpy as np
from scipy import constants as sc

from common.values import checked_number, from_mapping

from .chip import MicroLED

HC_Q = sc.h * sc.c / sc.e  # V m: photon energy (as volts) x wavelength
THERMAL_FWHM = 1.8  # FWHM of the band-to-band line in units of kT (Schubert ch. 5)
SIGMA_PER_FWHM = 1 / (2 * math.sqrt(2 * math.log(2)))

BOUNDS = {
    "reference_current": (0.0, 10.0),     # A
    "fwhm": (0.0, 200e-9),                # m, at the reference condition
    "varshni_alpha": (0.0, 1e-2),         # V/K (numerically eV/K)
    "varshni_beta": (0.0, 1e4),           # K
    "screening_shift": (0.0, 0.5),        # V (numerically eV); 0 switches it off
    "screening_density": (0.0, 1e28),     # 1/m^3
}


@dataclass(frozen=True)
class SpectrumParameters:
    """The ``simulation: spectrum:`` block, SI (energies as volts); validated on construction
    (ValueError, one line)."""

    reference_current: float = 1e-3   # A: where the peak is the chip's wavelength
    fwhm: float = 20e-9               # m: line width at the reference condition
    varshni_alpha: float = 0.909e-3   # V/K, GaN (Vurgaftman & Meyer 2003)
    varshni_beta: float = 830.0       # K, GaN
    screening_shift: float = 0.03     # V: blue shift at full screening
    screening_density: float = 1e25   # 1/m^3: density of half the screening shift

    def __post_init__(self):
        for f in fields(self):
            low, high = BOUNDS[f.name]
            value = getattr(self, f.name)
            if f.name == "screening_shift" and value == 0:
                continue  # no density shift
            object.__setattr__(self, f.name,
                               checked_number(f"spectrum.{f.name}", value, low, high))

    @classmethod
    def from_mapping(cls, mapping: Mapping | None) -> SpectrumParameters:
        return cls() if mapping is None else from_mapping(cls, mapping, "spectrum")

    def to_dict(self) -> dict:
        return asdict(self)


class EmissionSpectrum:
    """The line of one chip (its parameters and operating points) with these parameters."""

    def __init__(self, params: SpectrumParameters, chip: MicroLED):
        self.params, self.chip = params, chip
        ref = chip.steady_state(np.array([params.reference_current]))
        self.reference_temperature = float(ref.junction_temperature[0])
        self.reference_density = float(ref.carrier_density[0])
        wavelength = chip.params.wavelength
        if not params.fwhm < wavelength:
            raise ValueError(f"spectrum.fwhm={params.fwhm:g} m must be below the chip's "
                             f"wavelength {wavelength:g} m")
        peak = HC_Q / wavelength
        width = HC_Q / (wavelength - params.fwhm / 2) - HC_Q / (wavelength + params.fwhm / 2)
        thermal = self._thermal_sigma(self.reference_temperature)
        inhomogeneous = (width * SIGMA_PER_FWHM) ** 2 - thermal**2
        if not inhomogeneous > 0:
            raise ValueError(f"spectrum.fwhm={params.fwhm:g} m is narrower than the thermal "
                             f"line ({THERMAL_FWHM} kT) at {self.reference_temperature:.1f} K")
        self.inhomogeneous_sigma = math.sqrt(inhomogeneous)
        sigma = self.sigma(self.reference_temperature)
        self.reference_centre = peak - 2 * sigma**2 / peak  # its wavelength peak is `peak`

    @staticmethod
    def _thermal_sigma(temperature):
        return THERMAL_FWHM * SIGMA_PER_FWHM * sc.k * np.asarray(temperature, float) / sc.e

    def sigma(self, temperature):
        """Standard deviation of the line in energy (V) at a junction temperature (K)."""
        return np.sqrt(self.inhomogeneous_sigma**2 + self._thermal_sigma(temperature) ** 2)

    def bandgap_change(self, temperature):
        """Eg(T) - Eg(T_ref) from Varshni (V)."""
        p = self.params

        def drop(t):
            return p.varshni_alpha * t**2 / (t + p.varshni_beta)
        return drop(self.reference_temperature) - drop(np.asarray(temperature, float))

    def screening_change(self, density):
        """The carrier-density blue shift against the reference density (V, > 0 above it)."""
        p = self.params

        def shift(n):
            return p.screening_shift * n / (n + p.screening_density)
        return shift(np.asarray(density, float)) - shift(self.reference_density)

    def centre(self, temperature, density):
        """E_c (V) at a junction temperature and carrier density."""
        return self.reference_centre + self.bandgap_change(temperature) \
            + self.screening_change(density)

    def peak_wavelength(self, current):
        """lambda at the maximum of S(lambda) (m): hc / ((E_c + sqrt(E_c^2 + 8 sigma^2)) / 2)."""
        t, n = self._state(current)
        centre, sigma = self.centre(t, n), self.sigma(t)
        return 2 * HC_Q / (centre + np.sqrt(centre**2 + 8 * sigma**2))

    def _state(self, current):
        op = self.chip.steady_state(np.atleast_1d(np.asarray(current, float)))
        return op.junction_temperature, op.carrier_density

    def shape(self, wavelength, current: float) -> np.ndarray:
        """S(lambda) / P (1/m) at one DC current: integrates to 1 over wavelength."""
        t, n = self._state(current)
        centre, sigma = float(self.centre(t, n)[0]), float(self.sigma(t)[0])
        lam = np.asarray(wavelength, dtype=float)
        energy = HC_Q / lam
        gauss = np.exp(-0.5 * ((energy - centre) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        return gauss * energy / lam  # |dE/dlambda| = hc / (q lambda^2) = E / lambda

    def power_density(self, wavelength, current: float) -> np.ndarray:
        """Emitted spectral power S(lambda) (W/m) at one DC current: P(I) x shape."""
        power = float(self.chip.steady_state(np.array([current])).optical_power[0])
        return power * self.shape(wavelength, current)
