"""What a simulated real-time scope's inputs see: the set-up's analogue signals through its
front end, shared by every scope model (Infiniium, InfiniiVision, Tektronix MSO, Rigol DS1000Z).

The generator's output (the drive monitor) and the photoreceiver's output (the chip's light) are
simulated on a grid finer than the record's sample interval and sampled by picking points; the
scope's front end is one pole at its analogue bandwidth, the same for every channel, so a slower
scope shows a slower edge. Each model keeps its own command set, trigger and number formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..backend import SOURCE_IMPEDANCE
from .base import DriveSignal, InstrumentModel, _on, first_order_lowpass


@dataclass(frozen=True)
class AnalogGrid:
    """Time grid of the simulated analogue signal chain: ``step`` = record sample interval /
    ``factor``; record sample n is grid point ``first + n x factor`` (what the ADC samples)."""

    times: np.ndarray  # s, world time
    step: float        # s
    factor: int
    first: int

    def sampled(self, values: np.ndarray) -> np.ndarray:
        """The record's samples of a signal simulated on this grid."""
        return values[self.first::self.factor]


class ScopeModel(InstrumentModel):
    """Base of the simulated scopes: the shared analogue inputs (``self.inputs``, at the model's
    ``BANDWIDTH``), the displayed channels and the record chosen by ``:WAVeform:SOURce``.
    Each model keeps its own command set, acquisition and transfer formats."""

    CHANNELS = 4
    BANDWIDTH = 1e9
    NOISE_FLOOR: float         # V rms, each model's own
    NOISE_PER_DIVISION: float  # x V/div, rms

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.inputs = ScopeInputs(world, self.BANDWIDTH)
        self.reset()

    def _displayed(self) -> list[int]:
        """The channels whose display is on (``ch<n>_display``)."""
        return [c for c in range(1, self.CHANNELS + 1) if _on(self.sim.get(f"ch{c}_display"))]

    def _source_record(self):
        """The record of the ``waveform_source`` channel, or None with -200 queued (no data)."""
        record = self.records.get(int(str(self.sim.get("waveform_source"))[-1]))
        if record is None:
            self.sim.queue_error("no_data")
        return record

    def _word_record(self, channel: int, volts: np.ndarray, averages: int
                     ) -> tuple[float, float, np.ndarray, float]:
        """(scale, offset, signed 16-bit codes, y increment) of ``channel``'s ``volts`` at its
        ``ch<n>_scale`` and ``ch<n>_offset`` settings (word_codes, the model's noise)."""
        get = self.sim.get
        scale, offset = float(get(f"ch{channel}_scale")), float(get(f"ch{channel}_offset"))
        codes, y_increment = word_codes(volts, scale=scale, offset=offset, averages=averages,
                                        floor=self.NOISE_FLOOR,
                                        per_division=self.NOISE_PER_DIVISION,
                                        rng=self.world.noise.rng)
        return scale, offset, codes, y_increment


class ScopeInputs:
    """The set-up's signals at the inputs of a scope of analogue ``bandwidth`` (Hz).

    ``MAX_PREROLL`` bounds the samples simulated before the record, ``ANALOG_RESOLUTION`` the
    analogue grid steps per generator edge, ``MAX_ANALOG_POINTS`` the grid (time, memory)."""

    MAX_PREROLL = 1_000_000
    ANALOG_RESOLUTION = 10
    MAX_ANALOG_POINTS = 4_000_000

    def __init__(self, world, bandwidth: float):
        self.world, self.bandwidth = world, float(bandwidth)

    @property
    def time_constant(self) -> float:
        return 1 / (2 * math.pi * self.bandwidth)

    def signal(self) -> DriveSignal | None:
        """The modulation generator's output now, or None (off, or no generator)."""
        source = self.world.modulation_source
        return source.output_signal() if source is not None else None

    def trigger_time(self, signal: DriveSignal | None, *, source: int, level: float,
                     rising: bool) -> float:
        """World time of an edge trigger on channel ``source`` at ``level`` (V at the input):
        the drive channel's first edge through the level (generator edge + monitor_delay);
        0 (free-running, AUTO sweep) on another channel or without an edge through the level.
        ``level`` is compared with the generator's programmed level (a 50 ohm input)."""
        wiring = self.world.setup.oscilloscope
        if signal is None or source != wiring.drive_channel:
            return 0.0
        crossing = signal.first_crossing(level, rising=rising)
        return 0.0 if crossing is None else crossing + self.world.setup.cables.monitor_delay

    def record(self, inputs: dict[int, float], start: float, dt: float, points: int,
               signal: DriveSignal | None) -> dict[int, np.ndarray]:
        """Noise-free volts at each channel's input (``{channel: input resistance ohm}``) at
        the record's ``points`` instants from world time ``start``, ``dt`` apart."""
        grid = self.grid(start, dt, points, signal)
        return {channel: self.channel_volts(channel, r_in, grid, signal)
                for channel, r_in in inputs.items()}

    def grid(self, start: float, dt: float, points: int, signal: DriveSignal | None
             ) -> AnalogGrid:
        """Grid of the analogue simulation for a record of ``points`` samples from world time
        ``start``: a pre-roll of 8 x the slowest time constant (differential lifetime at the
        lowest drive current, chip RC, receiver, scope; at most MAX_PREROLL samples) for the chip
        and the poles to settle, and ``factor`` steps per sample interval, each at most
        1 / ANALOG_RESOLUTION of the generator's edge (or of a quarter of the front end's time
        constant, if longer), within MAX_ANALOG_POINTS.
        The poles (first_order_lowpass, the chip's RC) are solved exactly for an input linear
        between grid points, and the chip's carriers are sub-stepped by its own lifetime, so the
        step is limited only by how far each stage's input departs from linear: every signal in
        the chain is the generator's output filtered, whose sharpest features are its edges
        (linear ramps, kinks at both ends). Without a modulation signal the inputs are constant:
        factor 1."""
        chip, receiver = self.world.chip, self.world.setup.photoreceiver
        slowest = max(float(chip.differential_lifetime(self._lowest_current(signal))),
                      chip.rc_time_constant(), receiver.time_constant, self.time_constant)
        preroll = int(min(self.MAX_PREROLL, math.ceil(8 * slowest / dt)))
        factor = 1
        if signal is not None:  # an edge faster than a quarter of the front end's time
            # constant is integrated by it: resolving it finer changes nothing the ADC sees
            edge = max(signal.ramp, self.time_constant / 4)
            factor = max(1, min(math.ceil(self.ANALOG_RESOLUTION * dt / edge),
                                self.MAX_ANALOG_POINTS // (preroll + points)))
        step = dt / factor
        times = start - preroll * dt + np.arange((preroll + points - 1) * factor + 1) * step
        return AnalogGrid(times, step, factor, preroll * factor)

    def _lowest_current(self, signal: DriveSignal | None) -> float:
        """Lowest chip current, >= 0: the bias plus the generator's lowest AC part."""
        lowest = self.world.drive_current
        if signal is not None:
            lowest += (min(signal.low, signal.high) - signal.mean_volts()) \
                * self.world.drive_admittance()
        return max(lowest, 0.0)

    def channel_volts(self, channel: int, r_in: float, grid: AnalogGrid,
                      signal: DriveSignal | None) -> np.ndarray:
        """Volts at a scope input at the record's instants, noise-free: the generator (drive
        channel), the photoreceiver (optical channel), else 0 V, through the front-end pole;
        simulated on the analogue grid, then sampled. The drive monitor is a 50 ohm generator
        output of EMF twice its programmed level: into a 50 ohm input it shows the level,
        into 1 Mohm twice as much, EMF x R_in / (50 + R_in)."""
        setup = self.world.setup
        if signal is not None and channel == setup.oscilloscope.drive_channel:
            volts = 2 * signal.volts(grid.times - setup.cables.monitor_delay) \
                * r_in / (SOURCE_IMPEDANCE + r_in)
        elif channel == setup.oscilloscope.optical_channel:
            volts = self._receiver_output(grid, signal)
        else:
            volts = np.zeros(grid.times.size)
        return grid.sampled(first_order_lowpass(volts, grid.step, self.time_constant))

    def _receiver_output(self, grid: AnalogGrid, signal: DriveSignal | None) -> np.ndarray:
        """Photoreceiver output: i(t) = I_bias + (V_gen - <V_gen>) x 2 / (50 + Z + r_d) (the
        generator's EMF is twice its programmed level; the tee's capacitor blocks the mean)
        reaches the chip after drive_delay, the light (MicroLED.optical_power_waveform) the
        scope after the receiver's delays, through its gain and pole."""
        world, setup = self.world, self.world.setup
        current = np.full(grid.times.size, world.drive_current)
        if signal is not None:
            current += (signal.volts(grid.times - setup.optical_delay) - signal.mean_volts()) \
                * world.drive_admittance()
        power = world.chip.optical_power_waveform(grid.times, current)
        receiver = setup.photoreceiver
        return first_order_lowpass(receiver.gain * power, grid.step, receiver.time_constant)


def quantise(volts: np.ndarray, *, offset: float, increment: float, low: int, high: int,
             noise_rms: float, rng) -> np.ndarray:
    """ADC codes of ``volts`` with Gaussian noise: rint((v + noise - offset) / increment),
    clipped to [low, high] (the screen's edge is where a real ADC saturates)."""
    noisy = volts + noise_rms * rng.standard_normal(volts.size)
    return np.clip(np.rint((noisy - offset) / increment), low, high)


def noise_rms(floor: float, per_division: float, scale: float, averages: int) -> float:
    """A simulated scope's noise: ``floor`` + ``per_division`` x scale (V/div) rms, divided by
    sqrt(averages)."""
    return (floor + per_division * scale) / math.sqrt(averages)


def word_codes(volts: np.ndarray, *, scale: float, offset: float, averages: int, floor: float,
               per_division: float, rng) -> tuple[np.ndarray, float]:
    """Signed 16-bit codes of ``volts`` and their y increment: the code range spans 10 vertical
    divisions around ``offset`` (y_increment = 10 scale / 65536), noise as noise_rms."""
    y_increment = 10 * scale / 65536
    codes = quantise(volts, offset=offset, increment=y_increment, low=-32768, high=32767,
                     noise_rms=noise_rms(floor, per_division, scale, averages), rng=rng)
    return codes.astype(np.int16), y_increment
