"""Simulated Keysight E5071C network analyser."""

from __future__ import annotations

import math

import numpy as np

from ..backend import ieee_block, incident_amplitude
from ..scpi import number
from .base import InstrumentModel, _on, differential_efficiency

# Test-set option -> frequency range (Hz), E5071C data sheet (5989-5479EN): 2x0 / 4x0 from 9 kHz,
# 2x5 / 4x5 (with bias tees) from 100 kHz, to 4.5 / 6.5 / 8.5 GHz; 2D5 / 4D5 and 2K5 / 4K5
# 300 kHz to 14 / 20 GHz.
OPTIONS = {
    **dict.fromkeys(("240", "440"), (9e3, 4.5e9)), **dict.fromkeys(("245", "445"), (100e3, 4.5e9)),
    **dict.fromkeys(("260", "460"), (9e3, 6.5e9)), **dict.fromkeys(("265", "465"), (100e3, 6.5e9)),
    **dict.fromkeys(("280", "480"), (9e3, 8.5e9)), **dict.fromkeys(("285", "485"), (100e3, 8.5e9)),
    **dict.fromkeys(("2D5", "4D5"), (300e3, 14e9)), **dict.fromkeys(("2K5", "4K5"), (300e3, 20e9)),
}
DEFAULT_OPTIONS = "280"  # 2 ports, 9 kHz - 8.5 GHz


def option_code(options: str) -> str | None:
    """The test-set option code among comma-separated ``*OPT?`` codes, or None."""
    codes = [code.strip().strip('"').upper() for code in options.split(",")]
    return next((code for code in codes if code in OPTIONS), None)


class KeysightE5071CModel(InstrumentModel):
    """E5071C channel 1, trace 1: S-parameters of the modulated chip through the set-up.

    Port 1 is a 50 ohm source of incident amplitude a1 (EMF 2 a1) driving the chip through the
    bias tee (SimulatedWorld.drive_admittance: i = 2 a1 / (50 + Z + r_d)); the receiver's output
    into port 2 is the outgoing wave b2, so S21 = dP/dI x H_chip(f) x receiver gain x pole x
    exp(-j 2 pi f optical_delay) x 2 / (50 + Z + r_d) at the SMU's bias; S11 = (Z + r_d - 50) /
    (Z + r_d + 50), S12 = S22 = 0; plus complex trace noise NOISE rms at 1 kHz IF bandwidth and
    0 dBm, scaling with sqrt(IFBW) / source amplitude and 1 / sqrt(averages). With the RF output
    off: noise only. The frequency range is the test-set option's (``*OPT?``; configurable with
    ``simulation: initial_state: {<name>: {options: "..."}}``); outside it a frequency is refused
    (-222) and the setting stays.
    """

    NOISE = 1e-5
    _BLOCK_DIGITS = 6  # the E5071C sends "#6" + 6-digit byte count
    # E5071C Programmer's Guide, SCPI command reference
    TREE = (
        ":SENSe#:FREQuency:STARt", ":SENSe#:FREQuency:STOP", ":SENSe#:FREQuency:DATA",
        ":SENSe#:SWEep:POINts", ":SENSe#:SWEep:TYPE", ":SENSe#:BANDwidth[:RESolution]",
        ":SENSe#:AVERage[:STATe]", ":SENSe#:AVERage:COUNt", ":SENSe#:AVERage:CLEar",
        ":SOURce#:POWer[:LEVel][:IMMediate][:AMPLitude]",
        ":TRIGger[:SEQuence]:AVERage", ":TRIGger[:SEQuence]:SOURce", ":TRIGger[:SEQuence]:SINGle",
        ":INITiate#:CONTinuous",
        ":CALCulate#:PARameter:COUNt", ":CALCulate#:PARameter#:DEFine",
        ":CALCulate#:PARameter#:SELect", ":CALCulate#[:SELected]:FORMat",
        ":CALCulate#[:SELected]:DATA:SDATa", ":CALCulate#[:SELected]:DATA:FDATa",
        ":OUTPut[:STATe]", ":FORMat:DATA", ":FORMat:BORDer", ":SYSTem:ERRor[:NEXT]",
    )
    KEYWORDS = ("LINear", "LOGarithmic", "INTernal", "EXTernal", "MANual", "BUS",
                "MLOGarithmic", "MLINear", "PHASe", "UPHase", "REAL", "IMAGinary", "GDELay",
                "ASCii", "NORMal", "SWAPped")
    INITIAL_STATE = {"output": bool, "power": (-55.0, 10.0), "options": str}
    _FREQUENCY = {":SENSe#:FREQuency:STARt", ":SENSe#:FREQuency:STOP"}

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.options = DEFAULT_OPTIONS
        self.reset()

    @property
    def frequency_range(self) -> tuple[float, float]:
        return OPTIONS[option_code(self.options)]

    def reset(self) -> None:
        self.trace: tuple[np.ndarray, np.ndarray] | None = None
        self.sweeps = 0
        self.sim.set("stop_frequency", self.frequency_range[1])  # preset: the option's top

    @classmethod
    def _check_state(cls, where, state):
        if "options" in state and option_code(state["options"]) is None:
            raise ValueError(f"{where}.options={state['options']!r:.60} names no E5071C "
                             f"test-set option; known: {', '.join(OPTIONS)}")

    def start(self, state):
        if "options" in state:
            self.options = state["options"].strip()
            self.reset()
        if "power" in state:
            self.sim.set("source_power", state["power"])
        if state.get("output"):
            self.sim.set("output", "1")
        self.world.note_drive()

    def ac_volts(self):
        if not _on(self.sim.get("output")):
            return None
        amplitude = incident_amplitude(float(self.sim.get("source_power")))
        return -amplitude, amplitude

    def handle(self, command):
        header, query = command.header, command.query
        if command.suffixes[:1] not in ((), (1,)):
            return False, None  # channel 1 only: the YAML has no element for the others
        if header == "*OPT" and query:
            return True, self.options
        if header in self._FREQUENCY and not query and len(command.params) == 1:
            try:
                value = number(command.params[0])
            except ValueError:
                return False, None
            low, high = self.frequency_range
            if not low <= value <= high:
                self.sim.queue_error("data_out_of_range")
            else:
                self.sim.apply(command)
            return True, None
        if header in (":OUTPut[:STATe]", ":SOURce#:POWer[:LEVel][:IMMediate][:AMPLitude]") \
                and not query:
            self.sim.apply(command)
            self.world.note_drive()
            return True, None
        if header == ":TRIGger[:SEQuence]:SINGle" and not query:
            if self.sim.get("trigger_source") != "BUS":  # valid only with the BUS trigger
                self.sim.queue_error("trigger_ignored")
            else:
                self._sweep()
            return True, None
        if header == ":SENSe#:AVERage:CLEar" and not query:
            self.sweeps = 0
            return True, None
        if header == ":SENSe#:FREQuency:DATA" and query:
            return True, self._encode(self._frequencies())
        if header in (":CALCulate#[:SELected]:DATA:SDATa", ":CALCulate#[:SELected]:DATA:FDATa") \
                and query:
            frequency, data = self._current_trace()
            if header.endswith("SDATa"):
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
            chip, current, setup = world.chip, world.drive_current, world.setup
            receiver = setup.photoreceiver
            return (differential_efficiency(chip, current)
                    * chip.small_signal_response(frequency, current)
                    * receiver.gain * receiver.response(frequency)
                    * np.exp(-2j * np.pi * frequency * setup.optical_delay)
                    * world.drive_admittance())
        if parameter == "S11":
            z = world.setup.bias_tee.modulation_impedance + world.chip_resistance()
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
