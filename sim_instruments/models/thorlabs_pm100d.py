"""Simulated Thorlabs PM100D optical power meter."""

from __future__ import annotations

import numpy as np

from .base import InstrumentModel


class ThorlabsPM100DModel(InstrumentModel):
    """PM100D: reads the chip's optical power through the collection optics and sensor."""

    NOISE_FLOOR = 50e-12  # W, photodiode sensor dark noise (S120C class)
    # PM100D operation manual, SCPI command reference
    TREE = ("[:SENSe#]:CORRection:WAVelength", "[:SENSe#]:POWer[:DC]:UNIT",
            "[:SENSe#]:POWer[:DC]:RANGe:AUTO", "[:SENSe#]:POWer[:DC]:RANGe[:UPPer]",
            "[:SENSe#]:AVERage[:COUNt]", ":CONFigure#[:SCALar]:POWer", ":MEASure#[:SCALar]:POWer",
            ":READ", ":SYSTem:ERRor[:NEXT]")
    KEYWORDS = ("DBM",)

    def handle(self, command):
        if command.query and command.header in (":READ", ":MEASure#[:SCALar]:POWer") \
                and not command.params:
            return True, f"{self._power():.6E}"
        return False, None

    def _power(self) -> float:
        """Reading in W. A photodiode meter divides photocurrent by its responsivity at the set
        wavelength; with responsivity ~ proportional to wavelength (constant quantum efficiency), a
        wrong wavelength setting scales the reading by true/set wavelength."""
        world = self.world
        power = world.detected_power(float(world.steady_state(world.drive_current)
                                           .optical_power[0]))
        power *= world.chip_params.wavelength / (float(self.sim.get("wavelength_nm")) * 1e-9)
        samples = int(self.sim.get("averaging"))
        rel = world.chip_params.noise / np.sqrt(samples)
        noisy = world.noise.relative(np.array([power]), rel)
        noisy = world.noise.absolute(noisy, self.NOISE_FLOOR / np.sqrt(samples))
        return float(noisy[0])
