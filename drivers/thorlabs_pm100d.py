"""Thorlabs PM100D optical power meter console (PM100D Operation Manual, 6.4 "PM100D SCPI
Commands"); the command set is the Thorlabs PM family's (drivers/thorlabs_pm.py)."""

from __future__ import annotations

from .thorlabs_pm import ThorlabsPowerMeter


class ThorlabsPM100D(ThorlabsPowerMeter):
    """PM100D console with a photodiode or thermal sensor head."""

    model = "PM100D"
    idn_pattern = r"(?i)thorlabs,pm100d"
