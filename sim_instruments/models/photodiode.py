"""The light a simulated detector sees, and a silicon photodiode's response to it.

Every simulated detector takes the chip's output through ``world.detected_power`` (collection
optics, coupling). A photodiode turns it into a photocurrent R(lambda) P with the responsivity
of a constant quantum efficiency, R = eta q lambda / (h c) (Sze & Ng, Physics of Semiconductor
Devices, 3rd ed., 13.2); a power meter divides the current by the responsivity at the wavelength
it was set to, so a wrong setting scales its reading by lambda_true / lambda_set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import constants as sc
from scipy.optimize import brentq

if TYPE_CHECKING:
    from ..backend import SimulatedWorld


def detected_light(world: SimulatedWorld) -> tuple[float, float]:
    """(power W reaching the detector, its wavelength m) for the chip's present drive."""
    emitted = float(world.steady_state(world.drive_current).optical_power[0])
    return world.detected_power(emitted), world.chip.params.wavelength


def responsivity(wavelength: float, quantum_efficiency: float) -> float:
    """A/W of a detector of constant external quantum efficiency: eta q lambda / (h c)."""
    return quantum_efficiency * sc.e * wavelength / (sc.h * sc.c)


def meter_reading(world: SimulatedWorld, set_wavelength: float, samples: int,
                  noise_floor: float) -> float:
    """A photodiode power meter's reading (W): the detected power corrected by the responsivity
    at ``set_wavelength`` (constant quantum efficiency), with the chip's relative noise and the
    sensor's dark noise, both averaged over ``samples``."""
    power, wavelength = detected_light(world)
    power *= wavelength / set_wavelength
    scale = math.sqrt(samples)
    noisy = world.noise.relative(np.array([power]), world.chip_params.noise / scale)
    return float(world.noise.absolute(noisy, noise_floor / scale)[0])


@dataclass(frozen=True)
class Photodiode:
    """A silicon PIN photodiode (FDS100 class): Shockley diode with a shunt, lit.

    I(V) = I_s (exp(V / (n V_T)) - 1) + V / R_sh - R(lambda) P, the current flowing into the
    anode; at 0 V only the photocurrent flows, a reverse bias adds the dark current
    I_s + |V| / R_sh (~0.6 nA at -5 V with these values)."""

    quantum_efficiency: float = 0.7     # blue-to-near-IR silicon, typical
    saturation_current: float = 1e-10   # A
    ideality_factor: float = 1.0
    shunt_resistance: float = 1e10      # ohm
    temperature: float = 300.0          # K

    def responsivity(self, wavelength: float) -> float:
        return responsivity(wavelength, self.quantum_efficiency)

    def current(self, voltage, photocurrent: float) -> np.ndarray:
        """Current into the anode (A) at ``voltage`` (V, anode to cathode)."""
        v = np.asarray(voltage, dtype=float)
        thermal = self.ideality_factor * sc.k * self.temperature / sc.e
        diode = self.saturation_current * np.expm1(np.minimum(v / thermal, 200.0))
        return diode + v / self.shunt_resistance - photocurrent

    def voltage(self, current, photocurrent: float) -> np.ndarray:
        """Voltage (V) at which ``current`` flows into the anode (a current source on it);
        monotonic in V, solved by bracketing."""
        def one(i: float) -> float:
            return brentq(lambda v: float(self.current(v, photocurrent)) - i, -1e4, 5.0)

        return np.array([one(float(i)) for i in np.atleast_1d(current)])
