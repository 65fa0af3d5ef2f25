"""Simulated Keysight 33522B (33500B Series) waveform generator, channel 1."""

from __future__ import annotations

import math

import numpy as np

from ..backend import SOURCE_IMPEDANCE
from ..scpi import number
from .base import DriveSignal, InstrumentModel, _on

# FUNCtion:PRBS:DATA's polynomials x^n + x^k + 1 (33500 Series Operating and Service Guide,
# FUNCtion Subsystem); the output begins with n periods of high output: the all-ones state
_TAPS = {7: 6, 9: 5, 11: 9, 15: 14, 20: 17, 23: 18}
DAC_FULL_SCALE = 32767  # DATA:ARBitrary:DAC values -32767..+32767 map to LOW..HIGH


def maximal_sequence(order: int) -> np.ndarray:
    """One period (2^order - 1 bits) of x^order + x^tap + 1 from the all-ones state."""
    tap = _TAPS[order]
    state = [1] * order
    out = np.empty(2**order - 1, dtype=np.uint8)
    for k in range(out.size):
        bit = state[order - 1] ^ state[tap - 1]
        out[k] = state[order - 1]
        state = [bit, *state[:-1]]
    return out


class Keysight33500BModel(InstrumentModel):
    """33522B channel 1 driving the chip's bias tee: pulse (period, width, 10-90 % edges),
    square, PRBS (PN7..PN23 at FUNCtion:PRBS:BRATe), arbitrary waveforms from DAC values, sine.

    Levels: the programmed numbers are volts across the load the instrument is told it drives
    (OUTPut:LOAD, 50 ohm after *RST, INFinity = open circuit), so the EMF behind its 50 ohm is
    V (50 + R_load) / R_load and the signal into 50 ohm is half that. Into 50 ohm the levels stay
    within +-5 V and 1 mV..10 V peak to peak (the window scales with the load): outside the window
    is -222, a pair that would leave the amplitude range or put HIGH at or below LOW is -221.
    Arbitrary waveforms (filter OFF: each sample held) step with the fastest edge; a sine reaches
    the chip's modulation record (ac_volts) but not the scope (the simulated drive is made of
    level steps). Bursts are accepted and the output simulated as continuous (a simplification).
    """

    FASTEST_EDGE = 8.4e-9  # s, 10-90 % (data sheet, UNVERIFIED)
    WINDOW_50 = 5.0        # V into 50 ohm
    AMPLITUDE_50 = (1e-3, 10.0)
    MAX_ARB_POINTS = 1_000_000
    INITIAL_STATE = {"output": bool, "high": ("+-", 5.0), "low": ("+-", 5.0)}

    # 33500B Series Operating and Service Guide, SCPI Programming Reference
    TREE = (
        "[:SOURce#]:FUNCtion", "[:SOURce#]:FREQuency", "[:SOURce#]:VOLTage[:AMPLitude]",
        "[:SOURce#]:VOLTage:OFFSet", "[:SOURce#]:VOLTage:HIGH", "[:SOURce#]:VOLTage:LOW",
        "[:SOURce#]:FUNCtion:SQUare:DCYCle", "[:SOURce#]:FUNCtion:PULSe:PERiod",
        "[:SOURce#]:FUNCtion:PULSe:WIDTh", "[:SOURce#]:FUNCtion:PULSe:TRANsition[:BOTH]",
        "[:SOURce#]:FUNCtion:PRBS:DATA", "[:SOURce#]:FUNCtion:PRBS:BRATe",
        "[:SOURce#]:FUNCtion:PRBS:TRANsition[:BOTH]", "[:SOURce#]:DATA:VOLatile:CLEar",
        "[:SOURce#]:DATA:ARBitrary:DAC", "[:SOURce#]:FUNCtion:ARBitrary",
        "[:SOURce#]:FUNCtion:ARBitrary:SRATe", "[:SOURce#]:FUNCtion:ARBitrary:FILTer",
        "[:SOURce#]:BURSt:MODE", "[:SOURce#]:BURSt:NCYCles", "[:SOURce#]:BURSt:INTernal:PERiod",
        "[:SOURce#]:BURSt:STATe", ":TRIGger#:SOURce", ":OUTPut#[:STATe]", ":OUTPut#:LOAD",
        ":SYSTem:ERRor[:NEXT]",
    )
    KEYWORDS = ("SINusoid", "SQUare", "TRIangle", "RAMP", "PULSe", "PRBS", "NOISe", "ARB", "DC",
                "NORMal", "STEP", "OFF", "TRIGgered", "GATed", "IMMediate", "EXTernal", "TIMer",
                "BUS", "INFinity", "MINimum", "MAXimum")
    _LEVELS = {"[:SOURce#]:VOLTage:HIGH", "[:SOURce#]:VOLTage:LOW",
               "[:SOURce#]:VOLTage[:AMPLitude]", "[:SOURce#]:VOLTage:OFFSet"}
    _DRIVE = {"[:SOURce#]:FUNCtion", "[:SOURce#]:FREQuency", "[:SOURce#]:FUNCtion:SQUare:DCYCle",
              "[:SOURce#]:FUNCtion:PULSe:WIDTh", "[:SOURce#]:FUNCtion:PULSe:TRANsition[:BOTH]",
              "[:SOURce#]:FUNCtion:PRBS:DATA", "[:SOURce#]:FUNCtion:PRBS:BRATe",
              "[:SOURce#]:FUNCtion:PRBS:TRANsition[:BOTH]",
              "[:SOURce#]:FUNCtion:ARBitrary:SRATe", "[:SOURce#]:FUNCtion:ARBitrary:FILTer",
              ":OUTPut#[:STATe]"}

    def __init__(self, sim, world):
        super().__init__(sim, world)
        world.modulation_source = self
        self.reset()

    def reset(self) -> None:
        self.load = 50.0  # ohm; math.inf for INFinity
        self.arbs: dict[str, np.ndarray] = {}
        self.arb = ""
        self._ac: tuple | None = None

    @classmethod
    def _check_state(cls, where, state):
        high, low = state.get("high", 0.05), state.get("low", -0.05)
        if not cls.AMPLITUDE_50[0] <= high - low <= cls.AMPLITUDE_50[1]:
            raise ValueError(f"{where}: high - low = {high - low:g} V is outside "
                             f"{cls.AMPLITUDE_50[0]:g}..{cls.AMPLITUDE_50[1]:g} V into 50 ohm")

    def start(self, state):
        for name in ("high", "low"):
            if name in state:
                self.sim.set(name, state[name])
        if state.get("output"):
            self.sim.set("output", "1")
        self._changed()

    def _changed(self) -> None:
        self._ac = None
        self.world.note_drive()

    # -- levels ---------------------------------------------------------------------------
    def _scale(self) -> float:
        """Volts across the set load per volt into 50 ohm (1 at 50 ohm, 2 open circuit)."""
        return 2.0 if math.isinf(self.load) else 2 * self.load / (SOURCE_IMPEDANCE + self.load)

    def _set_levels(self, command) -> None:
        header, params = command.header, command.params
        try:
            value = number(params[0]) if len(params) == 1 else None
        except ValueError:
            value = None
        if value is None:
            self.sim.queue_error("illegal_parameter")
            return
        high, low = float(self.sim.get("high")), float(self.sim.get("low"))
        if header.endswith("HIGH"):
            high = value
        elif header.endswith("LOW"):
            low = value
        elif header.endswith("OFFSet"):
            high, low = value + (high - low) / 2, value - (high - low) / 2
        else:  # amplitude, peak to peak, around the present offset
            middle = (high + low) / 2
            high, low = middle + value / 2, middle - value / 2
        scale = self._scale()
        window = self.WINDOW_50 * scale
        if not (-window <= high <= window and -window <= low <= window):
            self.sim.queue_error("data_out_of_range")
            return
        if not self.AMPLITUDE_50[0] * scale - 1e-12 <= high - low \
                <= self.AMPLITUDE_50[1] * scale + 1e-12:
            self.sim.queue_error("settings_conflict")
            return
        self.sim.set("high", high)
        self.sim.set("low", low)
        self._changed()

    def handle(self, command):
        header, query, params = command.header, command.query, command.params
        if command.suffixes[:1] not in ((), (1,)):
            return False, None  # channel 2 is not simulated
        if header in self._LEVELS:
            if query:
                high, low = float(self.sim.get("high")), float(self.sim.get("low"))
                value = {"HIGH": high, "LOW": low, "OFFSet": (high + low) / 2}.get(
                    header.rsplit(":", 1)[-1], high - low)
                return True, f"{value:+.15E}"
            self._set_levels(command)
            return True, None
        if header == ":OUTPut#:LOAD":
            if query:
                return True, "+9.9E+37" if math.isinf(self.load) else f"{self.load:+.15E}"
            self._set_load(params)
            return True, None
        if header == "[:SOURce#]:FUNCtion:PULSe:PERiod":
            if query:
                return True, f"{1 / float(self.sim.get('frequency')):+.15E}"
            try:
                period = number(params[0])
            except (ValueError, IndexError):
                self.sim.queue_error("illegal_parameter")
                return True, None
            if not 1 / 30e6 <= period <= 1e6:
                self.sim.queue_error("data_out_of_range")
            else:
                self.sim.set("frequency", 1 / period)
                self._changed()
            return True, None
        if header == "[:SOURce#]:DATA:ARBitrary:DAC" and not query:
            self._load_arb(params)
            return True, None
        if header == "[:SOURce#]:DATA:VOLatile:CLEar" and not query:
            if str(self.sim.get("function")) == "ARB":
                self.sim.queue_error("settings_conflict")  # the waveform is in use
            else:
                self.arbs.clear()
                self.arb = ""
            return True, None
        if header == "[:SOURce#]:FUNCtion:ARBitrary":
            if query:
                return True, f'"{self.arb}"'
            name = params[0].strip('"').upper() if len(params) == 1 else ""
            if name not in self.arbs:
                self.sim.queue_error("illegal_parameter")
            else:
                self.arb = name
                self._changed()
            return True, None
        if header == "[:SOURce#]:FUNCtion" and not query and len(params) == 1 \
                and self.sim.tree.keyword(params[0]) == "ARB" and not self.arb:
            self.sim.queue_error("settings_conflict")  # no arbitrary waveform selected
            return True, None
        if header in self._DRIVE and not query:
            self.sim.apply(command)
            self._changed()
            return True, None
        return False, None

    def _set_load(self, params) -> None:
        word = self.sim.tree.keyword(params[0]) if len(params) == 1 else ""
        if word == "INFINITY":
            self.load = math.inf
        else:
            try:
                load = number(params[0])
            except (ValueError, IndexError):
                self.sim.queue_error("illegal_parameter")
                return
            if not 1.0 <= load <= 10e3:
                self.sim.queue_error("data_out_of_range")
                return
            self.load = load
        self._changed()

    def _load_arb(self, params) -> None:
        """``DATA:ARBitrary:DAC <name>,<value>,...``: 8 to 1M integers in -32767..32767."""
        if len(params) < 9:
            self.sim.queue_error("data_out_of_range")
            return
        try:
            values = np.array([int(p) for p in params[1:]], dtype=np.int32)
        except ValueError:
            self.sim.queue_error("illegal_parameter")
            return
        if values.size > self.MAX_ARB_POINTS or np.any(np.abs(values) > DAC_FULL_SCALE):
            self.sim.queue_error("data_out_of_range")
            return
        self.arbs[params[0].strip('"').upper()] = values

    # -- the output --------------------------------------------------------------------------
    def ac_volts(self):
        if self._ac is None:
            self._ac = (None,)
            if _on(self.sim.get("output")):
                if str(self.sim.get("function")) == "SIN":
                    half = (float(self.sim.get("high")) - float(self.sim.get("low"))) \
                        / 2 / self._scale()
                    self._ac = (-half, half)
                else:
                    signal = self.output_signal()
                    if signal is not None:
                        mean = signal.mean_volts()
                        self._ac = (min(signal.low, signal.high) - mean,
                                    max(signal.low, signal.high) - mean)
        return None if self._ac == (None,) else self._ac

    def output_signal(self) -> DriveSignal | None:
        """The voltage at the output into 50 ohm now (level steps), or None (off, a sine)."""
        get = self.sim.get
        if not _on(get("output")):
            return None
        function = str(get("function"))
        frequency = float(get("frequency"))
        if function == "PULS":
            period = 1 / frequency
            ramp = float(get("pulse_transition")) / 0.8  # 10-90 % of a linear 0-100 % ramp
            width = min(max(float(get("pulse_width")), ramp), period - ramp)
            starts, levels = np.array([0.0, width]), np.array([1.0, 0.0])
        elif function == "SQU":
            period = 1 / frequency
            ramp = self.FASTEST_EDGE / 0.8
            starts = np.array([0.0, period * float(get("square_duty")) / 100])
            levels = np.array([1.0, 0.0])
        elif function == "PRBS":
            bits = maximal_sequence(int(str(get("prbs_data"))[2:]))
            step = 1 / float(get("prbs_rate"))
            period, ramp = bits.size * step, float(get("prbs_transition")) / 0.8
            starts, levels = np.arange(bits.size) * step, bits.astype(float)
        elif function == "ARB" and self.arb:
            values = self.arbs[self.arb]
            step = 1 / float(get("arb_rate"))
            period, ramp = values.size * step, self.FASTEST_EDGE / 0.8
            starts = np.arange(values.size) * step
            levels = (values + DAC_FULL_SCALE) / (2 * DAC_FULL_SCALE)
        else:
            return None
        shortest = float(np.min(np.diff(np.append(starts, period))))
        scale = self._scale()
        return DriveSignal(starts, levels, period, min(ramp, shortest / 2),
                           float(get("low")) / scale, float(get("high")) / scale)
