"""Simulated Thorlabs PM100D optical power meter."""

from __future__ import annotations

from .base import InstrumentModel
from .photodiode import meter_reading


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
        """Reading in W: the photodiode meter's (models/photodiode.py), corrected at the set
        wavelength and averaged over the set count."""
        return meter_reading(self.world, float(self.sim.get("wavelength_nm")) * 1e-9,
                             int(self.sim.get("averaging")), self.NOISE_FLOOR)
