"""Keysight InfiniiVision 3000T X-Series oscilloscope (DSOX/MSOX3xx4T), SCPI command set.

Written from the Keysight InfiniiVision 3000T X-Series Oscilloscopes Programmer's Guide, chapters
":CHANnel<n> Commands" (:SCALe, :OFFSet, :IMPedance ONEMeg|FIFTy, :DISPlay), ":TIMebase
Commands" (:SCALe, :POSition, :REFerence), ":TRIGger[:EDGE] Commands" (:MODE EDGE, :SOURce,
:LEVel, :SLOPe), ":ACQuire Commands" (:TYPE NORMal|AVERage, :COUNt), "Root (:) Commands"
(:DIGitize), ":WAVeform Commands" (:SOURce, :FORMat WORD|BYTE, :BYTeorder, :UNSigned,
:POINts:MODE, :POINts, :PREamble?, :DATA?) and ":SYSTem Commands" (:ERRor?). The record's
sample rate is the scope's choice (timebase, memory, channels): it cannot be set, so a record
sampled slower than asked is refused. Volts and seconds from the 10-field preamble:
V = (code - yreference) yincrement + yorigin, t = (i - xreference) xincrement + xorigin.
"""

from __future__ import annotations

import numpy as np

from .base import InstrumentError, Range
from .roles import Waveform
from .scope_base import RealTimeScope

_IMPEDANCE = {"50": "FIFTy", "1M": "ONEMeg"}
_SLOPE = {"rising": "POSitive", "falling": "NEGative"}
_WORD = 1  # preamble <format>: 0 BYTE, 1 WORD, 4 ASCii


class KeysightInfiniiVision(RealTimeScope):
    """InfiniiVision 3000T: channel set-up, timebase, edge trigger, averaging, :DIGitize of the
    displayed channels, signed WORD transfer in RAW points mode.

    Limits (3000T X-Series data sheet): 5 GSa/s half-channel interleaved, 2.5 GSa/s with both
    channels of a pair (1-2, 3-4) on; 4 Mpts interleaved, 2 Mpts per channel otherwise; 1 mV/div
    to 5 V/div (1 Mohm), to 1 V/div into 50 ohm; averaging 2 to 65536; bandwidth 100 MHz to
    1 GHz by model (the 3034T: 350 MHz). The pairing of the interleaved rate is UNVERIFIED.
    """

    model = "InfiniiVision 3000T"
    idn_pattern = r"(?i)^(keysight|agilent) technologies,(dso|mso)x3\d{3}t,"
    timeout_s = 10.0
    bandwidth = 350e6
    max_scale = 5.0
    max_average = 65536
    min_points = 100

    @classmethod
    def rate_for(cls, channels: int) -> float:
        return 5e9 if channels == 1 else 2.5e9

    @classmethod
    def memory_for(cls, channels: int) -> int:
        return 4_000_000 if channels == 1 else 2_000_000

    _points: int | None = None

    def configure_channel(self, channel: int, *, scale: float, offset: float = 0.0,
                          impedance: str = "50") -> None:
        """Input impedance, V/div, offset (V at the screen's centre), channel displayed
        (:DIGitize without sources acquires the displayed channels)."""
        channel = self._check_channel(channel)
        if impedance not in _IMPEDANCE:
            raise ValueError(f"impedance={impedance!r} is not one of {list(_IMPEDANCE)}")
        Range(1e-3, 1.0 if impedance == "50" else 5.0).check("scale", scale)
        Range(-100.0, 100.0).check("offset", offset)  # UNVERIFIED: the range depends on scale
        self.write_checked(f":CHANnel{channel}:IMPedance {_IMPEDANCE[impedance]}")
        self.write_checked(f":CHANnel{channel}:SCALe {scale:.9g}")
        self.write_checked(f":CHANnel{channel}:OFFSet {offset:.9g}")
        self.write_checked(f":CHANnel{channel}:DISPlay 1")

    def configure_timebase(self, *, scale: float, position: float = 0.0,
                           sample_rate: float | None = None, points: int | None = None) -> None:
        """s/div, trigger-to-reference time (s, reference at the centre); ``points`` is the
        record length transferred, ``sample_rate`` the lowest rate accepted in the record."""
        Range(2e-10, 50.0).check("scale", scale)
        Range(-500.0, 500.0).check("position", position)
        if points is not None:
            self._whole("points", points, self.min_points, self.memory_for(1))
        if sample_rate is not None:
            Range(1.0, self.rate_for(1)).check("sample_rate", sample_rate)
        self._scale, self._rate = float(scale), sample_rate
        self._points = None if points is None else int(points)
        self.write_checked(":TIMebase:REFerence CENTer")
        self.write_checked(f":TIMebase:SCALe {scale:.9g}")
        self.write_checked(f":TIMebase:POSition {position:.9g}")

    def configure_edge_trigger(self, *, channel: int, level: float,
                               slope: str = "rising") -> None:
        channel, slope_word = self._check_edge(channel, level, slope, _SLOPE, 100.0)
        self.write_checked(":TRIGger:MODE EDGE")
        self.write_checked(f":TRIGger:EDGE:SOURce CHANnel{channel}")
        self.write_checked(f":TRIGger:EDGE:SLOPe {slope_word}")
        self.write_checked(f":TRIGger:EDGE:LEVel {level:.9g}")

    def set_averaging(self, count: int) -> None:
        """Average ``count`` acquisitions (1 = :ACQuire:TYPE NORMal)."""
        count = self._whole("averaging count", count, 1, self.max_average)
        self._count = count
        if count == 1:
            self.write_checked(":ACQuire:TYPE NORMal")
        else:
            self.write_checked(f":ACQuire:COUNt {count}")
            self.write_checked(":ACQuire:TYPE AVERage")

    def settings(self) -> dict:
        out = {"timebase_scale": self.query_float(":TIMebase:SCALe?"),
               "timebase_position": self.query_float(":TIMebase:POSition?"),
               "acquire_type": self.query(":ACQuire:TYPE?"),
               "sample_rate": self.query_float(":ACQuire:SRATe?"),
               "trigger_source": self.query(":TRIGger:EDGE:SOURce?"),
               "trigger_level": self.query_float(":TRIGger:EDGE:LEVel?")}
        for channel in range(1, self.channels + 1):
            out[f"channel{channel}"] = {
                "display": self.query(f":CHANnel{channel}:DISPlay?").strip() in ("1", "ON"),
                "scale": self.query_float(f":CHANnel{channel}:SCALe?"),
                "offset": self.query_float(f":CHANnel{channel}:OFFSet?"),
                "impedance": self.query(f":CHANnel{channel}:IMPedance?")}
        return out

    def acquire(self) -> None:
        """``:DIGitize`` (all averages of the displayed channels), then ``*OPC?``, answered once
        the acquisition is complete (Programmer's Guide, :DIGitize: "use *OPC? to wait")."""
        self.write(":DIGitize")
        self.wait_complete(self.acquisition_seconds(), "the acquisition")
        errs = self.errors()
        if errs:
            raise InstrumentError(self.name, ":DIGitize", "; ".join(errs))

    def fetch_waveform(self, channel: int) -> Waveform:
        """The last acquisition of ``channel`` as signed 16-bit codes, LSB first, RAW points
        mode (the acquisition record, not the screen's), scaled by the preamble."""
        channel = self._check_channel(channel)
        self.write_checked(f":WAVeform:SOURce CHANnel{channel}")
        self.write_checked(":WAVeform:FORMat WORD")
        self.write_checked(":WAVeform:BYTeorder LSBFirst")
        self.write_checked(":WAVeform:UNSigned 0")
        self.write_checked(":WAVeform:POINts:MODE RAW")
        if self._points is not None:
            self.write_checked(f":WAVeform:POINts {self._points}")
        _, _, points, _, xinc, xorg, xref, yinc, yorg, yref = self._read_preamble(_WORD, "WORD")
        codes = np.frombuffer(self.query_block(":WAVeform:DATA?"), dtype="<i2")
        if codes.size != int(points):
            raise InstrumentError(self.name, ":WAVeform:DATA?",
                                  f"{codes.size} points received, preamble says {int(points)}")
        return Waveform(codes=codes, x_increment=xinc, x_origin=xorg, x_reference=xref,
                        y_increment=yinc, y_origin=yorg, y_reference=yref)
