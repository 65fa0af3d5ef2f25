"""A simulated Ocean Insight USB spectrometer at seabreeze's backend interface.

Simulated below the driver at the level both seabreeze backends present (the device object with
``open``/``close``, ``model``, ``serial_number`` and the ``f.spectrometer`` feature), not at the
USB protocol under ``pyseabreeze``: that protocol differs per model and is the library's own
business, and this level lets the simulation run where seabreeze is not installed. The driver
cannot tell this device from a seabreeze one; every call is logged in ``world.commands``.

The detector, a Flame-S class CCD (2048 pixels, 16-bit, data sheet values UNVERIFIED): pixel p
at lambda(p) = c0 + c1 p + c2 p^2 (nm); counts = light + electrical offset + dark current x t +
read noise, saturating at full scale. The light: the chip's spectral power through
``world.detected_power`` times the fraction entering the fibre and slit (``coupling``), x the
pixel's width x the integration time x ``COUNTS_PER_JOULE``; the masked pixels see none.
"""

from __future__ import annotations

import numpy as np

from .base import InstrumentModel

PIXELS = 2048
CALIBRATION = (339.0, 0.38, -1.5e-5)  # nm: c0, c1 per pixel, c2 per pixel^2
DARK_PIXELS = list(range(6, 19))      # optically masked
FULL_SCALE = 65535.0
INTEGRATION_MICROS = (1000, 65_000_000)
COUNTS_PER_JOULE = 3e16  # ~75 photons per count at 450 nm
OFFSET, DARK_RATE, READ_NOISE = 1500.0, 20.0, 8.0  # counts, counts/s, counts rms


class OceanSpectrometerModel(InstrumentModel):
    """The physics behind a :class:`SimulatedSeaBreezeDevice`."""

    INITIAL_STATE = {"coupling": (0.0, 1.0), "integration_time": (1e-3, 65.0)}

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.coupling = 1e-6  # a fibre tip some distance from the chip
        self.integration_micros = 100_000
        pixel = np.arange(PIXELS, dtype=float)
        c0, c1, c2 = CALIBRATION
        self.wavelengths_nm = c0 + c1 * pixel + c2 * pixel**2

    @classmethod
    def attach(cls, world, name: str, serial_number: str) -> SimulatedSeaBreezeDevice:
        """The simulated device a station's instrument ``name`` opens (what the driver's
        ``open_device(serial_number)`` gives on hardware), opened."""
        device = SimulatedSeaBreezeDevice(world, name, serial_number)
        device.open()
        return device

    def start(self, state):
        self.coupling = state.get("coupling", self.coupling)
        if "integration_time" in state:
            self.integration_micros = int(round(state["integration_time"] * 1e6))

    def intensities(self) -> np.ndarray:
        world = self.world
        wavelength = self.wavelengths_nm * 1e-9
        current = world.drive_current
        emitted = float(world.steady_state(current).optical_power[0])
        density = world.detected_power(emitted) * self.coupling \
            * world.emission_spectrum().shape(wavelength, current)
        seconds = self.integration_micros * 1e-6
        light = density * np.gradient(wavelength) * seconds * COUNTS_PER_JOULE
        light[DARK_PIXELS] = 0.0
        light = world.noise.relative(light, world.chip_params.noise)
        counts = world.noise.absolute(light + OFFSET + DARK_RATE * seconds, READ_NOISE)
        return np.clip(np.round(counts), 0.0, FULL_SCALE)


class _Feature:
    """``f.spectrometer``: seabreeze's spectrometer feature, served by the model."""

    def __init__(self, device: SimulatedSeaBreezeDevice):
        self._device = device

    def _log(self, text: str) -> None:
        device = self._device
        if not device.is_open:
            raise OSError(f"{device.serial_number}: the device is not open")
        device.world.commands.append((device.name, text))

    def set_trigger_mode(self, mode: int) -> None:
        self._log(f"set_trigger_mode {mode}")
        if mode != 0:
            raise ValueError(f"trigger mode {mode} is not simulated (0: normal)")

    def set_integration_time_micros(self, micros: int) -> None:
        self._log(f"set_integration_time_micros {micros}")
        low, high = INTEGRATION_MICROS
        if not isinstance(micros, int) or not low <= micros <= high:
            raise ValueError(f"integration time {micros!r} us is out of range")
        self._device.model_physics.integration_micros = micros

    def get_integration_time_micros_limits(self) -> tuple[int, int]:
        self._log("get_integration_time_micros_limits")
        return INTEGRATION_MICROS

    def get_maximum_intensity(self) -> float:
        self._log("get_maximum_intensity")
        return FULL_SCALE

    def get_electric_dark_pixel_indices(self) -> list[int]:
        self._log("get_electric_dark_pixel_indices")
        return list(DARK_PIXELS)

    @property
    def _spectrum_length(self) -> int:
        return PIXELS

    def get_wavelengths(self) -> np.ndarray:
        self._log("get_wavelengths")
        return self._device.model_physics.wavelengths_nm.copy()

    def get_intensities(self) -> np.ndarray:
        self._log("get_intensities")
        return self._device.model_physics.intensities()


class _Features:
    def __init__(self, device):
        self.spectrometer = _Feature(device)
        self.nonlinearity_coefficients = None  # not carried by this simulated unit


class SimulatedSeaBreezeDevice:
    """What ``seabreeze.backends.get_backend().SeaBreezeAPI().list_devices()`` gives, for one
    simulated Flame-S in ``world`` under the station name ``name``."""

    model = "FLAMES"

    def __init__(self, world, name: str, serial_number: str):
        self.world, self.name, self.serial_number = world, name, serial_number
        self.is_open = False
        self.model_physics = OceanSpectrometerModel(self, world)
        self.f = _Features(self)
        state = world.initial_state.get(name)
        if state is not None:
            OceanSpectrometerModel.check_initial_state(name, state)
            self.model_physics.start(state)

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False


