"""Simulated Keysight Infiniium real-time oscilloscope."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..backend import SOURCE_IMPEDANCE, ieee_block
from .base import DriveSignal, InstrumentModel, _on, first_order_lowpass


@dataclass
class _ScopeRecord:
    codes: np.ndarray   # int16
    x_increment: float
    x_origin: float
    y_increment: float
    y_origin: float
    averages: int
    coupling: int       # preamble code: 1 DC (1 Mohm), 2 DCFIFTY
    x_display: tuple[float, float]  # range, origin
    y_display: tuple[float, float]


@dataclass(frozen=True)
class _AnalogGrid:
    """Time grid of the simulated analogue signal chain: ``step`` = record sample interval /
    ``factor``; record sample n is grid point ``first + n x factor`` (what the ADC samples)."""

    times: np.ndarray  # s, world time
    step: float        # s
    factor: int
    first: int

    def sampled(self, values: np.ndarray) -> np.ndarray:
        """The record's samples of a signal simulated on this grid."""
        return values[self.first::self.factor]


class KeysightInfiniiumModel(InstrumentModel):
    """Infiniium MXR254A: single acquisitions (:DIGitize) of the set-up's drive and optical
    channels, edge trigger on the drive channel, WORD/BYTE/ASCii transfer with the preamble.

    Simulator conventions: the 16-bit code range spans 10 vertical divisions around the offset
    (y_increment = 10 scale / 65536, codes clipped); the front end is one pole at the analog
    bandwidth; noise is NOISE_FLOOR + NOISE_PER_DIVISION x scale rms, divided by sqrt(averages);
    a trigger on another channel, or with no edge through the level, free-runs (AUTO sweep).
    The analogue chain (generator edges, chip, photoreceiver, front end) is simulated on a grid
    finer than the sample interval and sampled by picking points, the same grid and front end
    for every channel (:meth:`_analog_grid`).
    """

    CHANNELS = 4
    MAX_SAMPLE_RATE = 16e9     # Sa/s (UNVERIFIED data-sheet value)
    MAX_AUTO_POINTS = 1_000_000
    BANDWIDTH = 2.5e9          # Hz, MXR254A (the model number's "25")
    NOISE_FLOOR = 100e-6       # V rms
    NOISE_PER_DIVISION = 2e-3  # x V/div, rms
    MAX_PREROLL = 1_000_000    # samples simulated before the record at most
    ANALOG_RESOLUTION = 10     # analogue grid steps per generator edge, MAX_ANALOG_POINTS allowing
    MAX_ANALOG_POINTS = 4_000_000  # analogue grid points per acquisition at most (time, memory)
    FRAME = "MXR254A:MY61010123"
    _REFERENCE = {"LEFT": 0.0, "CENTer": 0.5, "RIGHt": 1.0}

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.reset()

    def reset(self) -> None:
        self.rate_auto = self.points_auto = True
        self.records: dict[int, _ScopeRecord] = {}
        self.done = False

    @property
    def time_constant(self) -> float:
        return 1 / (2 * math.pi * self.BANDWIDTH)

    # Infiniium Programmer's Reference (EXR/MXR), command reference
    TREE = (
        ":CHANnel#:DISPlay", ":CHANnel#:SCALe", ":CHANnel#:OFFSet", ":CHANnel#:INPut",
        ":TRIGger:LEVel", ":TRIGger:MODE", ":TRIGger:EDGE#:SOURce", ":TRIGger:EDGE#:SLOPe",
        ":TIMebase:SCALe", ":TIMebase:POSition", ":TIMebase:REFerence",
        ":ACQuire:SRATe[:ANALog]", ":ACQuire:POINts[:ANALog]", ":ACQuire:MODE",
        ":ACQuire:AVERage", ":ACQuire:AVERage:COUNt",
        ":WAVeform:SOURce", ":WAVeform:FORMat", ":WAVeform:BYTeorder", ":WAVeform:STReaming",
        ":WAVeform:PREamble", ":WAVeform:DATA", ":DIGitize", ":ADER", ":SYSTem:HEADer",
        ":SYSTem:ERRor",
    )
    KEYWORDS = ("CHANnel", "DC", "LEFT", "CENTer", "RIGHt", "RTIMe", "EDGE", "POSitive",
                "NEGative", "ASCii", "BYTE", "WORD", "LSBFirst", "MSBFirst", "STRing", "NUMBer",
                "AUTO", "MAXimum")
    _AUTO = {":ACQuire:SRATe[:ANALog]": "rate_auto", ":ACQuire:POINts[:ANALog]": "points_auto"}

    def handle(self, command):
        header, query, params = command.header, command.query, command.params
        if header in self._AUTO:
            flag = self._AUTO[header]
            if query:
                timing = self._timing()
                return True, (f"{timing[0]:.6E}" if flag == "rate_auto" else str(timing[1]))
            if len(params) == 1 and self.sim.tree.keyword(params[0]) == "AUTO":
                setattr(self, flag, True)
            elif self.sim.apply(command):
                setattr(self, flag, False)
            return True, None
        if header == ":SYSTem:ERRor" and query and [self.sim.tree.keyword(p) for p in params] \
                in ([], ["NUMBER"]):  # NUMBer, the default: the code alone (STRing: the YAML)
            entry = next(iter(self.sim.device._error_queues.values())).value
            return True, entry.split(b",", 1)[0].decode()
        if header == ":DIGitize" and not query:
            self._digitize(params)
            return True, None
        if header == ":ADER" and query:  # Acquisition Done Event Register, cleared by reading
            done, self.done = self.done, False
            return True, "1" if done else "0"
        if header == ":WAVeform:PREamble" and query:
            record = self._source_record()
            return True, "" if record is None else self._preamble(record)
        if header == ":WAVeform:DATA" and query:
            return True, self._data()
        return False, None

    # -- acquisition -------------------------------------------------------------------------
    def _timing(self) -> tuple[float, int]:
        """(sample rate, points): AUTO fills 10 divisions, at most 16 GSa/s and 1 Mpts."""
        span = 10 * float(self.sim.get("timebase_scale"))
        rate = self.MAX_SAMPLE_RATE if self.rate_auto else float(self.sim.get("sample_rate"))
        if self.points_auto:
            if self.rate_auto:
                rate = min(rate, self.MAX_AUTO_POINTS / span)
            points = min(span * rate, self.MAX_AUTO_POINTS)
        else:
            points = int(self.sim.get("points"))
            if self.rate_auto:
                rate = min(rate, points / span)
        return rate, max(16, int(round(points)))

    def _digitize(self, sources) -> None:
        if sources:
            channels = [self.sim.tree.keyword(s) for s in sources]
            channels = [int(c[7:]) if c[:7] == "CHANNEL" and c[7:].isdigit() else 0
                        for c in channels]
            if not all(1 <= c <= self.CHANNELS for c in channels):
                self.sim.queue_error("illegal_parameter")
                return
        else:
            channels = [c for c in range(1, self.CHANNELS + 1)
                        if _on(self.sim.get(f"ch{c}_display"))]
        get = self.sim.get
        rate, points = self._timing()
        dt = 1.0 / rate
        x_origin = float(get("timebase_position")) \
            - self._REFERENCE[str(get("timebase_reference"))] * points * dt
        source = self.world.modulation_source
        signal = source.output_signal() if source is not None else None
        grid = self._analog_grid(self._trigger_time(signal) + x_origin, dt, points, signal)
        averages = int(get("average_count")) if _on(get("average")) else 1
        tb_scale = float(get("timebase_scale"))
        x_display = (10 * tb_scale, float(get("timebase_position"))
                     - self._REFERENCE[str(get("timebase_reference"))] * 10 * tb_scale)
        self.records = {}
        for channel in channels:
            scale, offset = float(get(f"ch{channel}_scale")), float(get(f"ch{channel}_offset"))
            sigma = (self.NOISE_FLOOR + self.NOISE_PER_DIVISION * scale) / math.sqrt(averages)
            volts = self._channel_volts(channel, grid, signal)
            volts = volts + sigma * self.world.noise.rng.standard_normal(points)
            y_increment = 10 * scale / 65536
            codes = np.clip(np.rint((volts - offset) / y_increment), -32768, 32767)
            self.records[channel] = _ScopeRecord(
                codes.astype(np.int16), dt, x_origin, y_increment, offset, averages,
                2 if get(f"ch{channel}_input") == "DC50" else 1, x_display, (8 * scale, offset))
        self.done = True

    def _trigger_time(self, signal: DriveSignal | None) -> float:
        """World time of the trigger: the drive channel's first edge through the trigger level
        (generator edge + monitor_delay); 0 (free-running) otherwise."""
        wiring, get = self.world.setup.oscilloscope, self.sim.get
        if signal is None or get("trigger_source") != f"CHANnel{wiring.drive_channel}":
            return 0.0
        crossing = signal.first_crossing(float(get(f"trigger_level_ch{wiring.drive_channel}")),
                                         rising=get("trigger_slope") == "POSitive")
        return 0.0 if crossing is None else crossing + self.world.setup.cables.monitor_delay

    def _analog_grid(self, start: float, dt: float, points: int, signal: DriveSignal | None
                     ) -> _AnalogGrid:
        """Grid of the analogue simulation for a record of ``points`` samples from world time
        ``start``: a pre-roll of 8 x the slowest time constant (differential lifetime at the
        lowest drive current, chip RC, receiver, scope; at most MAX_PREROLL samples) for the chip
        and the poles to settle, and ``factor`` steps per sample interval, each at most
        1 / ANALOG_RESOLUTION of the generator's edge, within MAX_ANALOG_POINTS.
        The poles (first_order_lowpass, the chip's RC) are solved exactly for an input linear
        between grid points, and the chip's carriers are sub-stepped by its own lifetime, so the
        step is limited only by how far each stage's input departs from linear: every signal in
        the chain is the generator's output filtered, whose sharpest features are its edges (linear
        ramps, kinks at both ends). Without a modulation signal the inputs are constant: factor 1.
        """
        chip, receiver = self.world.chip, self.world.setup.photoreceiver
        slowest = max(float(chip.differential_lifetime(self._lowest_current(signal))),
                      chip.rc_time_constant(), receiver.time_constant, self.time_constant)
        preroll = int(min(self.MAX_PREROLL, math.ceil(8 * slowest / dt)))
        factor = 1
        if signal is not None:
            factor = max(1, min(math.ceil(self.ANALOG_RESOLUTION * dt / signal.ramp),
                                self.MAX_ANALOG_POINTS // (preroll + points)))
        step = dt / factor
        times = start - preroll * dt + np.arange((preroll + points - 1) * factor + 1) * step
        return _AnalogGrid(times, step, factor, preroll * factor)

    def _lowest_current(self, signal: DriveSignal | None) -> float:
        """Lowest chip current, >= 0: the bias plus the generator's lowest AC part."""
        lowest = self.world.drive_current
        if signal is not None:
            lowest += (min(signal.low, signal.high) - signal.mean_volts()) \
                * self.world.drive_admittance()
        return max(lowest, 0.0)

    def _channel_volts(self, channel: int, grid: _AnalogGrid, signal: DriveSignal | None
                       ) -> np.ndarray:
        """Volts at a scope input at the record's instants, noise-free: the generator (drive
        channel), the photoreceiver (optical channel), else 0 V, through the front-end pole;
        simulated on the analogue grid, then sampled. The drive monitor is a 50 ohm generator
        output of EMF twice its programmed level: into the 50 ohm input it shows the level,
        into 1 Mohm (:INPut DC) twice as much, EMF x R_in / (50 + R_in)."""
        setup = self.world.setup
        if signal is not None and channel == setup.oscilloscope.drive_channel:
            r_in = 50.0 if self.sim.get(f"ch{channel}_input") == "DC50" else 1e6
            volts = 2 * signal.volts(grid.times - setup.cables.monitor_delay) \
                * r_in / (SOURCE_IMPEDANCE + r_in)
        elif channel == setup.oscilloscope.optical_channel:
            volts = self._receiver_output(grid, signal)
        else:
            volts = np.zeros(grid.times.size)
        return grid.sampled(first_order_lowpass(volts, grid.step, self.time_constant))

    def _receiver_output(self, grid: _AnalogGrid, signal: DriveSignal | None) -> np.ndarray:
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

    # -- transfer ----------------------------------------------------------------------------
    def _source_record(self) -> _ScopeRecord | None:
        record = self.records.get(int(str(self.sim.get("waveform_source"))[-1]))
        if record is None:
            self.sim.queue_error("no_data")
        return record

    def _preamble(self, r: _ScopeRecord) -> str:
        """The 24 preamble fields in the Programmer's Reference order (:WAVeform:PREamble?)."""
        fmt = str(self.sim.get("waveform_format"))
        y_increment = r.y_increment * (256 if fmt == "BYTE" else 1)
        stamp = time.localtime()
        fields = [{"ASCii": 0, "BYTE": 1, "WORD": 2}[fmt], 2 if r.averages > 1 else 1,
                  r.codes.size, r.averages, f"{r.x_increment:.16E}", f"{r.x_origin:.16E}", 0,
                  f"{y_increment:.16E}", f"{r.y_origin:.16E}", 0, r.coupling,
                  f"{r.x_display[0]:.6E}", f"{r.x_display[1]:.6E}", f"{r.y_display[0]:.6E}",
                  f"{r.y_display[1]:.6E}", time.strftime('"%d %b %Y"', stamp).upper(),
                  time.strftime('"%H:%M:%S:00"', stamp), f'"{self.FRAME}"', 0, 100, 2, 1,
                  f"{self.BANDWIDTH:.6E}", "0.000000E+00"]
        return ",".join(str(f) for f in fields)

    def _data(self) -> bytes | str:
        record = self._source_record()
        if record is None:
            return ieee_block(b"")
        fmt = str(self.sim.get("waveform_format"))
        if fmt == "ASCii":  # volts, no block header
            volts = record.codes * record.y_increment + record.y_origin
            return ",".join(map("{:.6E}".format, volts.tolist()))
        order = "<" if self.sim.get("waveform_byteorder") == "LSBFirst" else ">"
        payload = (record.codes.astype(order + "i2") if fmt == "WORD"
                   else (record.codes >> 8).astype(np.int8)).tobytes()
        return b"#0" + payload if _on(self.sim.get("waveform_streaming")) else ieee_block(payload)
