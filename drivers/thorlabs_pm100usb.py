"""Thorlabs PM100USB power and energy meter interface (USBTMC; PM100USB Operation Manual,
7 "Computer Interface": the SCPI commands of the Thorlabs PM family, drivers/thorlabs_pm.py).
The PM100USB has no display: everything it does is set over this interface."""

from __future__ import annotations

from .thorlabs_pm import ThorlabsPowerMeter


class ThorlabsPM100USB(ThorlabsPowerMeter):
    """PM100USB interface with a photodiode or thermal sensor head."""

    model = "PM100USB"
    idn_pattern = r"(?i)thorlabs,pm100usb"
