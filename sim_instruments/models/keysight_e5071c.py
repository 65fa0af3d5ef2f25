"""Simulated Keysight E5071C network analyser."""

from __future__ import annotations

import math

import numpy as np

from ..backend import ieee_block
from .base import InstrumentModel, _on, differential_efficiency


class KeysightE5071CModel(InstrumentModel):
    """E5071C channel 1, trace 1: S-parameters of the modulated chip through the set-up.

    S21 = dP/dI x H_chip(f) x gain / Z_mod x receiver pole x exp(-j 2 pi f optical_delay) at the
    SMU's bias current (common.passive.Setup.link_response), S11 = (Z_mod - 50) / (Z_mod + 50),
    S12 = S22 = 0; plus complex trace noise NOISE rms at 1 kHz IF bandwidth and 0 dBm, scaling with
    sqrt(IFBW) / source amplitude and 1 / sqrt(averages). With the RF output off: noise only.
    """

    NOISE = 1e-5
    _BLOCK_DIGITS = 6  # the E5071C sends "#6" + 6-digit byte count

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.reset()

    def reset(self) -> None:
        self.trace: tuple[np.ndarray, np.ndarray] | None = None
        self.sweeps = 0

    def handle(self, command):
        if command == ":TRIGger:SEQuence:SINGle":  # valid only with the BUS trigger source
            if self.sim.get("trigger_source") != "BUS":
                self.sim.queue_error("trigger_ignored")
            else:
                self._sweep()
            return True, None
        if command == ":SENSe1:AVERage:CLEar":
            self.sweeps = 0
            return True, None
        if command == ":SENSe1:FREQuency:DATA?":
            return True, self._encode(self._frequencies())
        if command in (":CALCulate1:DATA:SDATa?", ":CALCulate1:DATA:FDATa?"):
            frequency, data = self._current_trace()
            if command.endswith("SDATa?"):
                pairs = np.column_stack([data.real, data.imag]).ravel()
            else:
                pairs = np.column_stack([self._formatted(frequency, data),
                                         np.zeros(data.size)]).ravel()
            return True, self._encode(pairs)
        return False, None

    def _frequencies(self) -> np.ndarray:
        get = self.sim.get
        start, stop = float(get("start_frequency")), float(get("stop_frequency"))
        points = int(get("points"))
        return (np.geomspace(start, stop, points) if get("sweep_type") == "LOG"
                else np.linspace(start, stop, points))

    def s_parameter(self, frequency: np.ndarray) -> np.ndarray:
        """Noise-free S-parameter of the defined trace at the present bias."""
        parameter, world = str(self.sim.get("parameter")), self.world
        if parameter == "S21":
            chip, current = world.chip, world.drive_current
            return (differential_efficiency(chip, current)
                    * chip.small_signal_response(frequency, current)
                    * world.setup.link_response(frequency))
        if parameter == "S11":
            z = world.setup.bias_tee.modulation_impedance
            return np.full(frequency.size, (z - 50.0) / (z + 50.0), dtype=complex)
        return np.zeros(frequency.size, dtype=complex)

    def _sweep(self) -> None:
        get = self.sim.get
        frequency = self._frequencies()
        data = (self.s_parameter(frequency) if _on(get("output"))
                else np.zeros(frequency.size, dtype=complex))
        count = int(get("average_count"))
        if _on(get("averaging")):
            self.sweeps += count if _on(get("trigger_average")) else 1
            averages = min(self.sweeps, count)
        else:
            averages = 1
        sigma = (self.NOISE * math.sqrt(float(get("if_bandwidth")) / 1e3)
                 * 10 ** (-float(get("source_power")) / 20) / math.sqrt(averages))
        rng = self.world.noise.rng
        noise = rng.standard_normal(frequency.size) + 1j * rng.standard_normal(frequency.size)
        self.trace = (frequency, data + sigma / math.sqrt(2) * noise)

    def _current_trace(self) -> tuple[np.ndarray, np.ndarray]:
        """The last sweep; a new one if the stimulus changed since (the channel sweeps on)."""
        if self.trace is None or not np.array_equal(self.trace[0], self._frequencies()):
            self._sweep()
        return self.trace

    def _formatted(self, frequency: np.ndarray, data: np.ndarray) -> np.ndarray:
        """The formatted data array's first value per point for the rectangular formats."""
        fmt = str(self.sim.get("trace_format"))
        phase = np.unwrap(np.angle(data))
        if fmt == "MLOG":
            return 20 * np.log10(np.maximum(np.abs(data), 1e-30))
        if fmt == "MLIN":
            return np.abs(data)
        if fmt == "PHAS":
            return np.degrees(np.angle(data))
        if fmt == "UPH":
            return np.degrees(phase)
        if fmt == "GDEL":  # group delay -d phase / d omega
            return -np.gradient(phase, 2 * np.pi * frequency)
        return data.real if fmt == "REAL" else data.imag

    def _encode(self, values: np.ndarray) -> bytes | str:
        """Per :FORMat:DATA (ASCii / REAL 64-bit / REAL32) and :FORMat:BORDer (NORMal = big
        endian, SWAPped = little endian)."""
        fmt = str(self.sim.get("data_format"))
        if fmt == "ASC":
            return ",".join(map("{:+.11E}".format, np.asarray(values, dtype=float).tolist()))
        dtype = (">" if self.sim.get("byte_order") == "NORM" else "<") + \
            ("f8" if fmt == "REAL" else "f4")
        payload = np.asarray(values).astype(dtype).tobytes()
        if len(payload) >= 10**self._BLOCK_DIGITS:
            return ieee_block(payload)
        return b"#%d%0*d" % (self._BLOCK_DIGITS, self._BLOCK_DIGITS, len(payload)) + payload
