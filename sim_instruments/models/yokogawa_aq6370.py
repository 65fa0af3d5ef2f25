"""Simulated Yokogawa AQ6370-series optical spectrum analyser."""

from __future__ import annotations

import math

import numpy as np

from ..scpi import number
from .base import InstrumentModel, _on

# Series members: wavelength range (m) and resolution settings (m), from Yokogawa's data sheets
# of the AQ6370C/D/E, AQ6373/B, AQ6374 and AQ6375/B (as pymeasure's AQ6370 drivers carry them).
NM = 1e-9
SERIES = {
    **dict.fromkeys(("AQ6370C", "AQ6370D", "AQ6370E"),
                    ((600e-9, 1700e-9), (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0))),
    **dict.fromkeys(("AQ6373", "AQ6373B"),
                    ((350e-9, 1200e-9), (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
                                             10.0))),
    "AQ6374": ((350e-9, 1750e-9), (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)),
    **dict.fromkeys(("AQ6375", "AQ6375B"),
                    ((1200e-9, 2400e-9), (0.05, 0.1, 0.2, 0.5, 1.0, 2.0))),
}
SWEEP_MODES = {"SINGLE": "1", "REPEAT": "2", "AUTO": "3", "SEGMENT": "4"}


class YokogawaAQ6370Model(InstrumentModel):
    """An AQ6370-series OSA looking at the chip's light (through ``world.detected_power``).

    A sweep (``:INITiate``) samples the chip's emission spectrum at the present DC current at
    ``points`` wavelengths from start to stop (``AUTO`` sampling: a step of a fifth of the
    resolution, within 101..50001 points), as seen through the resolution filter (a Gaussian of
    FWHM the resolution, each point the power within it, W), plus the noise floor
    ``NOISE_FLOOR`` and the chip's relative noise; then it latches bit 0 (Sweep) of the
    operation event register, which ``:STATus:OPERation:EVENt?`` reads and clears (manual 6.4).
    The trace's level data (``:TRACe:Y?``) are in dBm on a log level scale and in W on a linear
    one; ``:TRACe:X?`` gives the wavelengths in m. Wavelengths and resolutions outside the
    model's own (``SERIES``, chosen with ``simulation: initial_state: {<name>: {model: ...}}``)
    are refused (-222). Not simulated: ``*CLS`` clearing the event register (the backend serves
    ``*CLS``), sweep duration (a sweep is complete at once), the REAL binary format.
    """

    NOISE_FLOOR = 1e-12  # W (-90 dBm), the AQ6373B's NORM/HIGH sensitivity class, UNVERIFIED
    # AQ6370 series remote control manual, chapter "Remote Commands"
    TREE = (
        ":SENSe:WAVelength:STARt", ":SENSe:WAVelength:STOP", ":SENSe:BANDwidth[:RESolution]",
        ":SENSe:BWIDth[:RESolution]", ":SENSe:SWEep:POINts", ":SENSe:SWEep:POINts:AUTO",
        ":INITiate:SMODe", ":INITiate[:IMMediate]", ":ABORt", ":STATus:OPERation[:EVENt]",
        ":STATus:OPERation:CONDition", ":TRACe:ACTive", ":TRACe:ATTRibute:TRA",
        ":TRACe[:DATA]:X", ":TRACe[:DATA]:Y", ":DISPlay[:WINDow]:TRACe:Y#[:SCALe]:SPACing",
        ":FORMat[:DATA]", ":SYSTem:ERRor[:NEXT]")
    KEYWORDS = ("SINGle", "REPeat", "AUTO", "SEGMent", "WRITe", "LOGarithmic", "LINear",
                "ASCii")
    INITIAL_STATE = {"model": tuple(SERIES), "sweep_mode": tuple(s.lower() for s in SWEEP_MODES)}
    _WAVELENGTH = {":SENSe:WAVelength:STARt", ":SENSe:WAVelength:STOP"}
    _RESOLUTION = {":SENSe:BANDwidth[:RESolution]", ":SENSe:BWIDth[:RESolution]"}

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.model = "AQ6373B"
        self.reset()

    @property
    def wavelength_range(self) -> tuple[float, float]:
        return SERIES[self.model][0]

    @property
    def resolutions(self) -> tuple[float, ...]:
        return tuple(r * NM for r in SERIES[self.model][1])

    def reset(self) -> None:
        self.event = 0
        self.trace: tuple[np.ndarray, np.ndarray] | None = None
        low, high = self.wavelength_range
        self.sim.set("start_wavelength", low)
        self.sim.set("stop_wavelength", high)

    def start(self, state):
        if "model" in state:
            self.model = state["model"]
            self.reset()
        if "sweep_mode" in state:
            self.sim.set("sweep_mode", SWEEP_MODES[state["sweep_mode"].upper()])

    def handle(self, command):
        header, query, params = command.header, command.query, command.params
        if header == "*IDN" and query:
            return True, f"YOKOGAWA,{self.model},91Y000001,02.01"
        if not query and len(params) == 1 and header in self._WAVELENGTH | self._RESOLUTION:
            try:
                value = number(params[0])
            except ValueError:
                return False, None  # the YAML refuses it
            if header in self._WAVELENGTH:
                low, high = self.wavelength_range
                ok = low <= value <= high
            else:
                ok = any(math.isclose(value, r, rel_tol=1e-6) for r in self.resolutions)
            if ok:
                self.sim.set("start_wavelength" if header.endswith("STARt") else
                             "stop_wavelength" if header.endswith("STOP") else "resolution",
                             value)
            else:
                self.sim.queue_error("data_out_of_range")
            return True, None
        if header == ":INITiate:SMODe" and not query and len(params) == 1:
            mode = params[0].upper()
            mode = SWEEP_MODES.get(self.sim.tree.keyword(mode), mode)
            if mode in SWEEP_MODES.values():
                self.sim.set("sweep_mode", mode)
            else:
                self.sim.queue_error("illegal_parameter")
            return True, None
        if header == ":INITiate[:IMMediate]" and not query and not params:
            self._sweep()
            return True, None
        if header == ":STATus:OPERation[:EVENt]" and query:
            event, self.event = self.event, 0
            return True, str(event)
        if header == ":STATus:OPERation:CONDition" and query:
            return True, "0"  # no sweep in progress: a sweep completes at once here
        if header in (":TRACe[:DATA]:X", ":TRACe[:DATA]:Y") and query:
            if len(params) != 1 or self.sim.tree.keyword(params[0]) != "TRA":
                return True, None  # only trace A is simulated: an unanswered query
            if self.trace is None:
                self.sim.queue_error("settings_conflict")  # no sweep since power-on
                return True, None
            wavelength, watts = self.trace
            if header.endswith("X"):
                return True, self._ascii(wavelength)
            if self.sim.get("y_spacing") == "LOG":
                return True, self._ascii(10 * np.log10(watts / 1e-3))
            return True, self._ascii(watts)
        return False, None

    @staticmethod
    def _ascii(values: np.ndarray) -> str:
        return ",".join(map("{:+.8E}".format, np.asarray(values, dtype=float).tolist()))

    def _wavelengths(self) -> np.ndarray:
        get = self.sim.get
        start, stop = float(get("start_wavelength")), float(get("stop_wavelength"))
        if _on(self.sim.get("points_auto")):
            step = float(self.sim.get("resolution")) / 5
            points = int(min(50001, max(101, round((stop - start) / step) + 1)))
        else:
            points = int(self.sim.get("points"))
        return np.linspace(start, stop, points)

    def _sweep(self) -> None:
        """One sweep into trace A (when it is in WRITE mode) at the present DC current."""
        world = self.world
        wavelength = self._wavelengths()
        resolution = float(self.sim.get("resolution"))
        if wavelength[-1] <= wavelength[0]:
            self.sim.queue_error("settings_conflict")  # start not below stop
            return
        # the line through the resolution filter, on a grid fine enough for the filter
        step = min(resolution / 10, (wavelength[-1] - wavelength[0]) / (wavelength.size - 1))
        fine = np.arange(wavelength[0] - 3 * resolution, wavelength[-1] + 3 * resolution, step)
        current = world.drive_current
        emitted = float(world.steady_state(current).optical_power[0])
        density = world.detected_power(emitted) * world.emission_spectrum().shape(fine, current)
        sigma = resolution / (2 * math.sqrt(2 * math.log(2)))
        half = int(math.ceil(4 * sigma / step))
        kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * step / sigma) ** 2)
        filtered = np.convolve(density, kernel / kernel.sum(), mode="same")
        watts = np.interp(wavelength, fine, filtered) * resolution  # power within the filter
        noisy = world.noise.relative(watts, world.chip_params.noise)
        noisy = np.abs(world.noise.absolute(noisy + self.NOISE_FLOOR, 0.3 * self.NOISE_FLOOR))
        if self.sim.get("trace_a_attribute") == "WRIT" or self.trace is None:
            self.trace = (wavelength, np.maximum(noisy, 1e-3 * self.NOISE_FLOOR))
        self.event |= 1  # bit 0: Sweep (operation status register, manual 6.4)
