"""Thorlabs PM400 touch-screen optical power and energy meter console (USBTMC; PM400 User Guide,
2017, 5.5 "SCPI Commands"). Its manual says its SCPI commands are those of the PM100A/PM100D/
PM100USB except "some console and sensor related functions"; the ones this driver uses
(wavelength correction, power range and auto-range, averaging, CONFigure:POWer, READ?) are the
family's (drivers/thorlabs_pm.py). Identification per 5.5.2.2 ``*IDN?``:
``THORLABS,MMM,SSS,X.X.X``."""

from __future__ import annotations

from .thorlabs_pm import ThorlabsPowerMeter


class ThorlabsPM400(ThorlabsPowerMeter):
    """PM400 console with a photodiode or thermal sensor head."""

    model = "PM400"
    idn_pattern = r"(?i)thorlabs,pm400"
