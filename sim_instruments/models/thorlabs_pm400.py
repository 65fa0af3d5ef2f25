"""Simulated Thorlabs PM400: the PM family's command tree and photodiode reading (PM400 User
Guide 5.5: its SCPI commands are the PM100D/PM100USB's); its own identity lives in its YAML."""

from __future__ import annotations

from .thorlabs_pm100d import ThorlabsPM100DModel


class ThorlabsPM400Model(ThorlabsPM100DModel):
    """PM400 with a photodiode sensor: the chip's light through world.detected_power."""
