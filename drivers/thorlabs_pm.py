"""The Thorlabs PM SCPI family: PM100D, PM100USB and PM400 optical power meter consoles.

One command set: the PM400 User Guide (2017), 5.5 "SCPI Commands", states that its commands
"are compatible with PM100A, PM100D and PM100USB consoles ... except some console and sensor
related functions", and the PM100D Operation Manual (6.4 "PM100D SCPI Commands") and the
PM100USB Operation Manual (7 "Computer Interface") give the same SENSe:CORRection,
SENSe:POWer, SENSe:AVERage, CONFigure and READ? commands used here. A console model only sets
its identification and its own ranges. The wavelength correction is given in nm on the wire;
the driver takes metres like the rest of the project.
"""

from __future__ import annotations

from typing import ClassVar

from .base import Range, ScpiInstrument, Setting, check_ranges


class ThorlabsPowerMeter(ScpiInstrument):
    """A Thorlabs PM console with a photodiode or thermal sensor head (one sensor channel)."""

    model: ClassVar[str] = "Thorlabs PM"
    error_query = "SYSTem:ERRor?"

    wavelength_nm = Setting("SENSe:CORRection:WAVelength {}", "SENSe:CORRection:WAVelength?",
                            check=Range(185.0, 25000.0), units="nm",
                            doc="Wavelength correction in nm (limits also depend on the sensor).")
    auto_range = Setting("SENSe:POWer:DC:RANGe:AUTO {}", "SENSe:POWer:DC:RANGe:AUTO?", kind=bool)
    power_range = Setting("SENSe:POWer:DC:RANGe:UPPer {}", "SENSe:POWer:DC:RANGe:UPPer?",
                          check=Range(1e-9, 250.0), units="W")
    averaging = Setting("SENSe:AVERage:COUNt {}", "SENSe:AVERage:COUNt?", kind=int,
                        check=Range(1, 10000), doc="Samples averaged per reading (~3 ms each).")

    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        """``wavelength`` (m), ``averaging`` and ``power`` (W, the largest expected reading)
        against the console's ranges (the sensor head may narrow the wavelength range)."""
        low, high = cls.wavelength_nm.validator.low, cls.wavelength_nm.validator.high
        return check_ranges(cls.model, request, {
            "wavelength": (low * 1e-9, high * 1e-9, "m"),
            "averaging": (cls.averaging.validator.low, cls.averaging.validator.high, ""),
            "power": (0.0, cls.power_range.validator.high, "W")})

    def configure(self, *, wavelength: float, power_range: float | None = None,
                  averaging: int = 1) -> None:
        """Set wavelength correction (m), range (W, None = auto) and averaging; unit W."""
        # every value is checked before the first write, so a refusal leaves no half-set meter
        if int(averaging) != averaging:
            raise ValueError(f"averaging={averaging!r} must be a whole number of samples")
        type(self).averaging.validator.check("averaging", averaging)
        if power_range is not None:
            type(self).power_range.validator.check("power_range", power_range)
        self.wavelength_nm = wavelength * 1e9
        self.write_checked("SENSe:POWer:DC:UNIT W")
        if power_range is None:
            self.auto_range = True
        else:
            self.auto_range = False
            self.power_range = power_range
        self.averaging = int(averaging)
        self.write_checked("CONFigure:POWer")
        # a reading takes ~3 ms per averaged sample: keep the timeout above that
        self.resource.timeout = max(self.timeout_s, 2 * 3e-3 * int(averaging) + self.timeout_s) \
            * 1000.0

    def read_power(self) -> float:
        """One power reading in W (``READ?`` after ``CONFigure:POWer``)."""
        return self.query_float("READ?")
