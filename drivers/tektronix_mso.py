"""Tektronix 4, 5 and 6 Series MSO (MSO44/46, MSO54-58, MSO64) oscilloscopes, their SCPI-style
command set.

Written from the 4/5/6 Series MSO Programmer Manual (Tektronix 077-1305-xx), command groups
"Vertical" (CH<x>:SCAle, CH<x>:OFFSet, CH<x>:POSition, CH<x>:TERmination,
DISplay:GLObal:CH<x>:STATE), "Horizontal" (HORizontal:MODE MANual, HORizontal:MODE:SAMPLERate,
HORizontal:MODE:RECOrdlength, HORizontal:DELay:MODe, HORizontal:DELay:TIMe,
HORizontal:POSition), "Trigger" (TRIGger:A:TYPe EDGE, TRIGger:A:EDGE:SOUrce,
TRIGger:A:EDGE:SLOpe, TRIGger:A:LEVel:CH<x>), "Acquisition" (ACQuire:MODe SAMple|AVErage,
ACQuire:NUMAVg, ACQuire:STOPAfter SEQuence, ACQuire:STATE), "Waveform Transfer" (DATa:SOUrce,
DATa:ENCdg SRIBinary, DATa:STARt, DATa:STOP, WFMOutpre:BYT_Nr and the WFMOutpre fields,
CURVe?) and "Status and Error" (*ESR?, ALLEv?, HEADer). Scaling (Waveform Transfer, "scaling
waveform data"): V = (code - YOFf) YMUlt + YZEro, t = (i - PT_Off) XINcr + XZEro.
"""

from __future__ import annotations

import re

import numpy as np

from .base import InstrumentError, Range
from .roles import Waveform
from .scope_base import RealTimeScope

_TERMINATION = {"50": "50", "1M": "1.0E+6"}
_SLOPE = {"rising": "RISe", "falling": "FALL"}
# UNVERIFIED format: ALLEv? answers <code>,"<message>"[,<code>,"<message>"...] with HEADer OFF
_EVENT = re.compile(r'(-?\d+)\s*,\s*"([^"]*)"')
_NO_EVENTS = (0, 1)  # "no events to report": queue empty / new events pending *ESR?


class TektronixMSO(RealTimeScope):
    """4/5/6 Series MSO: vertical set-up, manual horizontal mode (rate and record length set),
    edge trigger, sample/average acquisition, a single sequence waited for with *OPC?, signed
    16-bit binary transfer (SRIBinary: signed, LSB first) of DATa:STARt..STOP.

    Limits (4 Series MSO data sheet, the smallest of the family): 6.25 GSa/s on every channel,
    31.25 Mpts per channel standard, 1 mV/div to 10 V/div (1 Mohm; to 1 V/div into 50 ohm),
    averaging 2 to 10240, bandwidth 200 MHz to 1.5 GHz (the MSO44 in the simulation: 200 MHz).
    """

    model = "Tektronix 4/5/6 Series MSO"
    idn_pattern = r"(?i)^tektronix,mso[456]\d"
    error_query = "*ESR?"
    timeout_s = 10.0
    bandwidth = 200e6
    max_scale = 10.0
    max_average = 10240
    min_points = 1000

    @classmethod
    def rate_for(cls, channels: int) -> float:
        return 6.25e9

    @classmethod
    def memory_for(cls, channels: int) -> int:
        return 31_250_000

    _points: int | None = None

    def connect(self) -> str:
        """Identify, clear status, answers without headers (HEADer OFF)."""
        idn = super().connect()
        self.write_checked("HEADer OFF")
        return idn

    def errors(self) -> list[str]:
        """*ESR? (IEEE 488.2 standard event status); when an error bit is set, ALLEv? drains
        the event queue (4/5/6 Series: *ESR? must be read before events are reported)."""
        status = int(float(self._exchange("*ESR?", self._read, str.strip)))
        if not status & 0b0011_1100:  # QYE, DDE, EXE, CME
            return []
        text = self._exchange("ALLEv?", self._read, str.strip)
        found = [f"{code},\"{message}\"" for code, message in _EVENT.findall(text)
                 if int(code) not in _NO_EVENTS]
        return found or [f"*ESR? {status}: {text[:80]}"]

    def configure_channel(self, channel: int, *, scale: float, offset: float = 0.0,
                          impedance: str = "50") -> None:
        """Termination, V/div, offset (V at the centre, position 0 div), channel displayed."""
        channel = self._check_channel(channel)
        if impedance not in _TERMINATION:
            raise ValueError(f"impedance={impedance!r} is not one of {list(_TERMINATION)}")
        Range(1e-3, 1.0 if impedance == "50" else 10.0).check("scale", scale)
        Range(-10.0, 10.0).check("offset", offset)  # UNVERIFIED: the range depends on scale
        self.write_checked(f"CH{channel}:TERmination {_TERMINATION[impedance]}")
        self.write_checked(f"CH{channel}:SCAle {scale:.9g}")
        self.write_checked(f"CH{channel}:POSition 0")
        self.write_checked(f"CH{channel}:OFFSet {offset:.9g}")
        self.write_checked(f"DISplay:GLObal:CH{channel}:STATE ON")

    def configure_timebase(self, *, scale: float, position: float = 0.0,
                           sample_rate: float | None = None, points: int | None = None) -> None:
        """Manual horizontal mode: the sample rate and record length are set (the scale follows
        as record / (10 x rate)); without them, the record is 10 x ``scale`` at the full rate.
        The trigger is ``position`` s before the record's centre (delay mode, expansion point
        at 50 %)."""
        Range(1e-10, 1000.0).check("scale", scale)
        Range(-1000.0, 1000.0).check("position", position)
        rate = self.rate_for(1) if sample_rate is None else sample_rate
        Range(1.0, self.rate_for(1)).check("sample_rate", rate)
        if points is None:
            points = int(round(self.divisions * scale * rate))
        points = self._whole("points", points, self.min_points, self.memory_for(1))
        self._scale, self._rate, self._points = points / rate / self.divisions, rate, points
        self.write_checked("HORizontal:MODE MANual")
        self.write_checked(f"HORizontal:MODE:SAMPLERate {rate:.9g}")
        self.write_checked(f"HORizontal:MODE:RECOrdlength {points}")
        self.write_checked("HORizontal:DELay:MODe ON")
        self.write_checked("HORizontal:POSition 50")
        self.write_checked(f"HORizontal:DELay:TIMe {position:.9g}")

    def configure_edge_trigger(self, *, channel: int, level: float,
                               slope: str = "rising") -> None:
        channel, slope_word = self._check_edge(channel, level, slope, _SLOPE, 10.0)
        self.write_checked("TRIGger:A:TYPe EDGE")
        self.write_checked(f"TRIGger:A:EDGE:SOUrce CH{channel}")
        self.write_checked(f"TRIGger:A:EDGE:SLOpe {slope_word}")
        self.write_checked(f"TRIGger:A:LEVel:CH{channel} {level:.9g}")

    def set_averaging(self, count: int) -> None:
        """Average ``count`` acquisitions (1 = ACQuire:MODe SAMple)."""
        count = self._whole("averaging count", count, 1, self.max_average)
        self._count = count
        if count == 1:
            self.write_checked("ACQuire:MODe SAMple")
        else:
            self.write_checked(f"ACQuire:NUMAVg {count}")
            self.write_checked("ACQuire:MODe AVErage")

    def settings(self) -> dict:
        out = {"sample_rate": self.query_float("HORizontal:MODE:SAMPLERate?"),
               "record_length": int(self.query_float("HORizontal:MODE:RECOrdlength?")),
               "delay": self.query_float("HORizontal:DELay:TIMe?"),
               "acquire_mode": self.query("ACQuire:MODe?"),
               "trigger_source": self.query("TRIGger:A:EDGE:SOUrce?")}
        for channel in range(1, self.channels + 1):
            out[f"channel{channel}"] = {
                "display": self.query(f"DISplay:GLObal:CH{channel}:STATE?") in ("1", "ON"),
                "scale": self.query_float(f"CH{channel}:SCAle?"),
                "offset": self.query_float(f"CH{channel}:OFFSet?"),
                "termination": self.query_float(f"CH{channel}:TERmination?")}
        return out

    def acquire(self) -> None:
        """One sequence (all averages): ACQuire:STOPAfter SEQuence, ACQuire:STATE ON, then *OPC?,
        which the instrument answers once the sequence is complete (Acquisition group,
        ACQuire:STATE: "use *OPC? to wait for a single sequence")."""
        self.write_checked("ACQuire:STOPAfter SEQuence")
        self.write("ACQuire:STATE ON")
        self.wait_complete(self.acquisition_seconds(), "the acquisition")
        errs = self.errors()
        if errs:
            raise InstrumentError(self.name, "ACQuire:STATE ON", "; ".join(errs))

    def _field(self, name: str) -> float:
        return self.query_float(f"WFMOutpre:{name}?")

    def fetch_waveform(self, channel: int) -> Waveform:
        """Channel ``channel``'s record, points 1..record length, as signed 16-bit LSB-first
        codes (SRIBinary, BYT_Nr 2) with the WFMOutpre scaling."""
        channel = self._check_channel(channel)
        self.write_checked(f"DATa:SOUrce CH{channel}")
        self.write_checked("DATa:ENCdg SRIBinary")
        self.write_checked("WFMOutpre:BYT_Nr 2")
        self.write_checked("DATa:STARt 1")
        self.write_checked(f"DATa:STOP {self._points or self.memory_for(1)}")
        points = int(self._field("NR_Pt"))
        scaling = {name: self._field(name)
                   for name in ("XINcr", "XZEro", "PT_Off", "YMUlt", "YOFf", "YZEro")}
        self._check_rate(scaling["XINcr"], "WFMOutpre:XINcr?")
        codes = np.frombuffer(self.query_block("CURVe?"), dtype="<i2")
        if codes.size != points:
            raise InstrumentError(self.name, "CURVe?",
                                  f"{codes.size} points received, WFMOutpre:NR_Pt? says {points}")
        return Waveform(codes=codes, x_increment=scaling["XINcr"], x_origin=scaling["XZEro"],
                        x_reference=scaling["PT_Off"], y_increment=scaling["YMUlt"],
                        y_origin=scaling["YZEro"], y_reference=scaling["YOFf"])
