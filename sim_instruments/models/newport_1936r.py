"""Simulated Newport 1936-R optical power meter on its RS-232 port (a pyserial-level model).

Written from the 1936-R/2936-R Series User's Manual, chapters 7 and 8: headers as the manual
writes them (upper case = the short form, matched case-insensitively through the SCPI header
matcher), queries end in ``?``, set commands are not answered. A set command with a value the
meter does not take, or a command it does not know, is kept for ``ERRSTR?``/``ERRors?``; an
unknown query is not answered (the reader times out). In echo mode (``ECHO 1``; a meter may be
found so) every message is echoed back before its answer. The detector is a silicon 918D-UV
class head calibrated 200-1100 nm whose gain stages 0..7 end at 100 nW x 10^r.
"""

from __future__ import annotations

import math

from ..scpi import CommandTree, number
from ..serial_sim import SerialModel
from .photodiode import meter_reading, responsivity

DETECTOR_WAVELENGTHS = (200, 1100)  # nm, PM:MIN:Lambda? / PM:MAX:Lambda?
FULL_SCALE = tuple(100e-9 * 10**r for r in range(8))  # W per PM:RANge
NOISE_FLOOR = 20e-12  # W, silicon head dark noise
QUANTUM_EFFICIENCY = 0.7  # of the silicon head, for readings in A
IDN = "NEWPORT 1936-R v1.0.3 03/18/11 SN10234"
# set command -> (state key, accepted integer values)
_SETTINGS = {
    "PM:UNITs": ("units", (0, 2, 6)),  # A, W, dBm simulated (8.3.3.101)
    "PM:MODE": ("mode", tuple(range(8))),
    "PM:AUTO": ("auto", (0, 1)),
    "PM:RANge": ("range", tuple(range(8))),
    "PM:FILTer": ("filter", (0, 1, 2, 3)),
    "PM:ANALOGFILTER": ("analog", (0, 1, 2, 3, 4)),
    "PM:DIGITALFILTER": ("digital", tuple(range(10001))),
    "ECHO": ("echo", (0, 1)),
}
_TREE = CommandTree(("PM:Lambda", "PM:Power", "PM:MIN:Lambda", "PM:MAX:Lambda", "PM:MAX:Power",
                     "ERRors", "ERRSTR", *_SETTINGS))
_DEFAULTS = {"wavelength": 633, "units": 2, "mode": 0, "auto": 1, "range": 3, "filter": 0,
             "analog": 0, "digital": 10, "echo": 0}
UNKNOWN, BAD_VALUE = (102, "Unknown command"), (104, "Parameter out of range")


class Newport1936RModel(SerialModel):
    """1936-R with a silicon detector, reading the chip's light through world.detected_power."""

    TERMINATOR = b"\r"
    RESPONSE_TERMINATOR = b"\r\n"
    INITIAL_STATE = {"echo": bool, "mode": (0, 7),
                     "wavelength": DETECTOR_WAVELENGTHS}

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.state = dict(_DEFAULTS)
        self.errors: list[tuple[int, str]] = []

    def start(self, state):
        if "echo" in state:
            self.state["echo"] = int(state["echo"])
        if "mode" in state:
            self.state["mode"] = round(state["mode"])
        if "wavelength" in state:
            self.state["wavelength"] = round(state["wavelength"])

    def handle_line(self, text):
        echoing = bool(self.state["echo"])  # as it was when the message arrived
        answer = self._answer(text)
        if not echoing:
            return answer
        return text if answer is None else f"{text}\r\n{answer}"

    def _answer(self, text: str) -> str | None:
        head, _, rest = text.partition(" ")
        query = head.endswith("?")
        if head.upper() == "*IDN?":
            return IDN
        found = _TREE.match_header(head[:-1] if query else head)
        if found is None:
            if not query:
                self.errors.append(UNKNOWN)
            return None
        header = found[0]
        if query:
            return self._query(header)
        if header == "PM:Lambda":
            self._set_wavelength(rest.strip())
        elif header in _SETTINGS:
            key, accepted = _SETTINGS[header]
            try:
                value = number(rest.strip())
            except ValueError:
                value = math.nan
            if value not in accepted:
                self.errors.append(BAD_VALUE)
            else:
                self.state[key] = int(value)
        else:
            self.errors.append(UNKNOWN)
        return None

    def _set_wavelength(self, text: str) -> None:
        low, high = DETECTOR_WAVELENGTHS
        try:
            value = number(text)
        except ValueError:
            value = math.nan
        if not low <= value <= high:
            self.errors.append(BAD_VALUE)
        else:
            self.state["wavelength"] = round(value)

    def _query(self, header: str) -> str | None:
        if header == "PM:Power":
            return f"{self._reading():.6e}"
        if header == "PM:Lambda":
            return str(self.state["wavelength"])
        if header == "PM:MIN:Lambda":
            return str(DETECTOR_WAVELENGTHS[0])
        if header == "PM:MAX:Lambda":
            return str(DETECTOR_WAVELENGTHS[1])
        if header == "PM:MAX:Power":
            return f"{FULL_SCALE[self.state['range']]:.6e}"
        if header in ("ERRors", "ERRSTR"):
            code, message = self.errors.pop(0) if self.errors else (0, "No Error")
            return str(code) if header == "ERRors" else f'{code},"{message}"'
        if header in _SETTINGS:
            return str(self.state[_SETTINGS[header][0]])
        return None

    def _reading(self) -> float:
        """DC continuous: the detected power corrected at the set wavelength, running-averaged
        by the digital filter when it is on, saturating at a fixed range's full scale. Other
        acquisition modes wait for pulses or a trigger the DC light never gives: 0."""
        state = self.state
        if state["mode"] != 0:
            return 0.0
        samples = state["digital"] if state["filter"] in (2, 3) and state["digital"] > 0 else 1
        watts = meter_reading(self.world, state["wavelength"] * 1e-9, samples, NOISE_FLOOR)
        if not state["auto"]:
            watts = min(watts, FULL_SCALE[state["range"]])
        if state["units"] == 0:  # the detector current: responsivity at the set wavelength
            return watts * responsivity(state["wavelength"] * 1e-9, QUANTUM_EFFICIENCY)
        if state["units"] == 6:
            return 10 * math.log10(max(watts, 1e-15) / 1e-3)
        return watts
