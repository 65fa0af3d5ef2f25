"""Simulated SMU channel reading a calibrated photodiode (driver ``smu_photodiode``).

A Keithley 2450 (its whole simulated command set, sim_instruments/models/keithley2450.py) whose
terminals see a photodiode instead of the chip: its load is :class:`PhotodiodeCircuit`, which
answers the 2450 model's questions of its world (the load's I-V, its operating point, where the
drive is recorded) for the photodiode lit by the chip through ``world.detected_power``. What this
SMU sources is kept in the circuit's own histories: it never drives the chip, and the world's
``current_history`` stays the chip's.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .keithley2450 import Keithley2450Model
from .photodiode import Photodiode, detected_light


class PhotodiodeCircuit:
    """The 2450 model's view of its world with a photodiode at its terminals (anode on HI)."""

    circuit_open = False  # the photodiode is wired to this SMU, behind no switch

    def __init__(self, world, diode: Photodiode):
        self.world, self.diode = world, diode
        self.drive_current = 0.0
        self.current_history: list[float] = []
        self.voltage_history: list[float] = []

    # what the 2450 model reads of its world: noise, chip parameters (its noise figure)
    @property
    def noise(self):
        return self.world.noise

    @property
    def chip_params(self):
        return self.world.chip_params

    def photocurrent(self) -> float:
        """R(lambda) x the light on the photodiode now (A)."""
        power, wavelength = detected_light(self.world)
        return self.diode.responsivity(wavelength) * power

    # the load: the photodiode's I-V under the present light
    @property
    def chip(self):
        return self

    def current_at_voltage(self, voltage) -> np.ndarray:
        return self.diode.current(voltage, self.photocurrent())

    def steady_state(self, current):
        return SimpleNamespace(voltage=self.diode.voltage(current, self.photocurrent()))

    # where the 2450 model records what it sources
    def apply(self, current: float, voltage: float) -> None:
        self.drive_current = current
        self.current_history.append(current)
        self.voltage_history.append(voltage)

    def apply_many(self, currents, voltages) -> None:
        if len(currents):
            self.current_history.extend(np.asarray(currents, dtype=float).tolist())
            self.voltage_history.extend(np.asarray(voltages, dtype=float).tolist())
            self.drive_current = self.current_history[-1]


class PhotodiodeOn2450Model(Keithley2450Model):
    """A 2450 biasing a photodiode and measuring its current."""

    PHOTODIODE = Photodiode()

    def __init__(self, sim, world):
        super().__init__(sim, PhotodiodeCircuit(world, self.PHOTODIODE))

    def _apply(self, function, level):
        self._last = None  # the bias holds still but the light does not: no cached point
        return super()._apply(function, level)
