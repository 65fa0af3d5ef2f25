"""Simulated Thorlabs PM100USB: the PM family's command tree and photodiode reading (its manual,
7 "Computer Interface", gives the PM100D's SCPI set); its own identity lives in its YAML."""

from __future__ import annotations

from .thorlabs_pm100d import ThorlabsPM100DModel


class ThorlabsPM100USBModel(ThorlabsPM100DModel):
    """PM100USB with a photodiode sensor: the chip's light through world.detected_power."""
