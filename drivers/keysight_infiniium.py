"""Keysight Infiniium EXR/MXR real-time oscilloscope, SCPI command set.

EXR and MXR use the Infiniium command set. No EXR/MXR-specific manual text was found; commands
are checked against the Agilent Infiniium 9000 Series and 90000 Series Oscilloscopes
Programmer's References and the Infiniium 8000A Programmer's Reference, chapters "Channel",
"Timebase", "Acquire", "Trigger", "Root (:DIGitize)", "Waveform" and "Status Reporting".
Binary transfer: ``:WAVeform:FORMat WORD`` (signed 16-bit), ``:WAVeform:BYTeorder LSBFirst`` and
``:WAVeform:STReaming OFF`` so that ``:WAVeform:DATA?`` answers with a definite-length block;
volts and seconds from ``:WAVeform:PREamble?`` ("Data Conversion": V = (code - Yref) Yinc +
Yorigin, t = (i - Xref) Xinc + Xorigin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Choice, InstrumentError, Range, ScpiInstrument, Setting, check_ranges
from .roles import Waveform
from .scope_base import ScopeChecks

_IMPEDANCE = {"50": "DC50", "1M": "DC"}  # :CHANnel<N>:INPut (DC50 confirmed; DC = 1 Mohm DC)
# UNVERIFIED in a manual: NEGative (public Infiniium 9000 scripts send it, code cross-check only)
_SLOPE = {"rising": "POSitive", "falling": "NEGative"}
_WORD = 2  # preamble format code of WORD (Programmer's Reference, :WAVeform:PREamble?)


@dataclass(frozen=True)
class Preamble:
    """The 24 fields of ``:WAVeform:PREamble?`` in the documented order (9000 Prog. Ref.)."""

    format: int         # 0 ASCii, 1 BYTE, 2 WORD, 3 LONG, 4 LONGLONG
    type: int           # 1 RAW, 2 AVERage, 3 VHIStogram, 4 HHIStogram, 6 INTerpolate, ...
    points: int
    count: int          # averages (AVERage) or 0/1 (RAW)
    x_increment: float  # s
    x_origin: float     # s
    x_reference: float
    y_increment: float  # V per code
    y_origin: float     # V
    y_reference: float
    coupling: int       # 0 AC, 1 DC, 2 DCFIFTY, 3 LFREJECT
    x_display_range: float
    x_display_origin: float
    y_display_range: float
    y_display_origin: float
    date: str
    time: str
    frame: str          # model:serial
    acquisition_mode: int  # 0 RTIMe, 1 ETIMe, 3 PDETect
    completion: int     # % of time buckets filled
    x_units: int        # 2 SECOND
    y_units: int        # 1 VOLT
    max_bandwidth: float  # Hz
    min_bandwidth: float  # Hz

    @classmethod
    def parse(cls, text: str) -> Preamble:
        """Split the comma-separated answer (strings may be quoted) into typed fields."""
        values = [v.strip().strip('"') for v in text.split(",")]
        if len(values) != 24:
            raise ValueError(f"expected 24 preamble fields, got {len(values)}")
        kinds = [f.type for f in cls.__dataclass_fields__.values()]
        converted = [float(v) if k == "float" else (int(float(v)) if k == "int" else v)
                     for v, k in zip(values, kinds, strict=True)]
        return cls(*converted)


class KeysightInfiniium(ScopeChecks, ScpiInstrument):
    """Infiniium EXR/MXR: channel set-up, timebase, edge trigger, averaging, :DIGitize, WORD fetch.

    Model limits, all UNVERIFIED (data-sheet values from memory, no source found): 16 GSa/s,
    100 Mpts per channel (standard memory), 1 mV/div to 1 V/div into 50 ohm and to 5 V/div into
    1 Mohm, offset within +-12 V (in truth it depends on the scale).
    """

    # UNVERIFIED in a manual; public MXR scripts expect "KEYSIGHT TECHNOLOGIES,MXR404A,..."
    idn_pattern = r"(?i)^keysight technologies,(EXR|MXR)\d"
    error_query = ":SYSTem:ERRor? STRing"  # "<n>,"<text>"" (number only without STRing)
    timeout_s = 30.0  # an averaged :DIGitize can take seconds
    channels = 4
    max_sample_rate = 16e9
    min_sample_rate = 100.0  # UNVERIFIED
    max_points = 100_000_000
    min_points = 16  # UNVERIFIED

    max_average = 65534  # UNVERIFIED
    divisions = 10       # horizontal divisions of the graticule: the record spans 10 x s/div
    # what configure_timebase/set_averaging set, to size the acquisition's wait
    _scale = 20.0        # s/div, the slowest until configured
    _points: int | None = None
    _count = 1

    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        """``sample_rate``, ``points``, ``scale`` (V/div; into 50 ohm unless ``impedance`` is
        "1M"), ``averaging`` and each of ``channels`` against the model's declared ranges."""
        model = "Infiniium EXR/MXR"
        top = 5.0 if request.get("impedance") == "1M" else 1.0
        problems = check_ranges(model, request, {
            "sample_rate": (cls.min_sample_rate, cls.max_sample_rate, "Sa/s"),
            "points": (cls.min_points, cls.max_points, "points"),
            "scale": (1e-3, top, "V/div"),
            "averaging": (1, cls.max_average, "")})
        channels = request.get("channels", ())
        if not isinstance(channels, (list, tuple)):
            return [*problems, f"channels={channels!r} is not a list of channel numbers ({model})"]
        for channel in channels:
            if isinstance(channel, bool) or channel not in range(1, cls.channels + 1):
                problems.append(f"channel {channel!r} is not one of 1..{cls.channels} ({model})")
        return problems

    timebase_scale = Setting(":TIMebase:SCALe {}", ":TIMebase:SCALe?",
                             check=Range(5e-12, 20.0), units="s/div")
    timebase_position = Setting(":TIMebase:POSition {}", ":TIMebase:POSition?",
                                check=Range(-200.0, 200.0), units="s",
                                doc="Time from the trigger to the reference point.")
    timebase_reference = Setting(":TIMebase:REFerence {}", ":TIMebase:REFerence?", kind=str,
                                 check=Choice(("LEFT", "CENTer", "RIGHt")))
    sample_rate = Setting(None, ":ACQuire:SRATe:ANALog?", units="Sa/s",
                          doc="Actual analog sample rate (set with configure_timebase).")
    points = Setting(None, ":ACQuire:POINts:ANALog?", kind=int,
                     doc="Actual record length (set with configure_timebase).")
    acquire_mode = Setting(":ACQuire:MODE {}", ":ACQuire:MODE?", kind=str,
                           check=Choice(("RTIMe",)))
    averaging = Setting(":ACQuire:AVERage {}", ":ACQuire:AVERage?", kind=bool)
    # UNVERIFIED: the count range (2 to 65534)
    average_count = Setting(":ACQuire:AVERage:COUNt {}", ":ACQuire:AVERage:COUNt?", kind=int,
                            check=Range(2, 65534))
    trigger_mode = Setting(":TRIGger:MODE {}", ":TRIGger:MODE?", kind=str,
                           check=Choice(("EDGE",)))
    trigger_source = Setting(":TRIGger:EDGE:SOURce {}", ":TRIGger:EDGE:SOURce?", kind=str)
    trigger_slope = Setting(":TRIGger:EDGE:SLOPe {}", ":TRIGger:EDGE:SLOPe?", kind=str,
                            check=Choice(tuple(_SLOPE.values())))

    def connect(self) -> str:
        """Identify, clear status, answers without headers (``:SYSTem:HEADer OFF``)."""
        idn = super().connect()
        self.write_checked(":SYSTem:HEADer OFF")
        return idn

    # -- configuration ---------------------------------------------------------------------
    def configure_channel(self, channel: int, *, scale: float, offset: float = 0.0,
                          impedance: str = "50") -> None:
        """Input impedance ("50" or "1M", DC coupled), V/div, offset (V at centre), displayed
        (a displayed channel is digitized by :DIGitize)."""
        channel = self._check_channel(channel)
        if impedance not in _IMPEDANCE:
            raise ValueError(f"impedance={impedance!r} is not one of {list(_IMPEDANCE)}")
        Range(1e-3, 1.0 if impedance == "50" else 5.0).check("scale", scale)
        Range(-12.0, 12.0).check("offset", offset)
        self.write_checked(f":CHANnel{channel}:INPut {_IMPEDANCE[impedance]}")
        self.write_checked(f":CHANnel{channel}:SCALe {scale:.9g}")
        self.write_checked(f":CHANnel{channel}:OFFSet {offset:.9g}")
        self.write_checked(f":CHANnel{channel}:DISPlay ON")

    def set_channel_display(self, channel: int, on: bool) -> None:
        """Show or hide a channel; :DIGitize acquires the displayed ones."""
        channel = self._check_channel(channel)
        self.write_checked(f":CHANnel{channel}:DISPlay {'ON' if on else 'OFF'}")

    def channel_settings(self, channel: int) -> dict:
        channel = self._check_channel(channel)
        display = self.query(f":CHANnel{channel}:DISPlay?").strip() in ("1", "ON")
        return {"display": display,
                "scale": self.query_float(f":CHANnel{channel}:SCALe?"),
                "offset": self.query_float(f":CHANnel{channel}:OFFSet?"),
                "input": self.query(f":CHANnel{channel}:INPut?")}

    def configure_timebase(self, *, scale: float, position: float = 0.0,
                           sample_rate: float | None = None, points: int | None = None) -> None:
        """s/div, trigger-to-reference time (s), analog sample rate and record length (None =
        AUTO; a set rate is rounded up to the next available one by the instrument)."""
        Range(5e-12, 20.0).check("scale", scale)
        Range(-200.0, 200.0).check("position", position)
        if sample_rate is not None:
            Range(self.min_sample_rate, self.max_sample_rate).check("sample_rate", sample_rate)
        if points is not None:
            if int(points) != points:
                raise ValueError(f"points={points!r} must be a whole number")
            Range(self.min_points, self.max_points).check("points", points)
        self._scale, self._points = float(scale), None if points is None else int(points)
        self.write_checked(f":TIMebase:SCALe {scale:.9g}")
        self.write_checked(f":TIMebase:POSition {position:.9g}")
        self.write_checked(":ACQuire:MODE RTIMe")
        self.write_checked(":ACQuire:SRATe:ANALog " +
                           ("AUTO" if sample_rate is None else f"{sample_rate:.9g}"))
        self.write_checked(":ACQuire:POINts:ANALog " +
                           ("AUTO" if points is None else str(int(points))))

    def configure_edge_trigger(self, *, channel: int, level: float,
                               slope: str = "rising") -> None:
        channel, slope_word = self._check_edge(channel, level, slope, _SLOPE, 12.0)
        self.write_checked(":TRIGger:MODE EDGE")
        self.write_checked(f":TRIGger:EDGE:SOURce CHANnel{channel}")
        self.write_checked(f":TRIGger:EDGE:SLOPe {slope_word}")
        self.write_checked(f":TRIGger:LEVel CHANnel{channel},{level:.9g}")

    def trigger_level(self, channel: int) -> float:
        channel = self._check_channel(channel)
        return self.query_float(f":TRIGger:LEVel? CHANnel{channel}")

    def set_averaging(self, count: int) -> None:
        """Average ``count`` acquisitions (1 = off)."""
        if isinstance(count, bool) or int(count) != count or count < 1:
            raise ValueError(f"averaging count={count!r} must be a whole number >= 1")
        Range(1, self.max_average).check("averaging count", count)
        self._count = int(count)
        if count == 1:
            self.averaging = False
        else:
            self.average_count = int(count)
            self.averaging = True

    def settings(self) -> dict:
        out = super().settings()
        for channel in range(1, self.channels + 1):
            out[f"channel{channel}"] = self.channel_settings(channel)
        source = out["trigger_source"].upper()
        if source.startswith("CHAN"):
            out["trigger_level"] = self.trigger_level(int(source[-1]))
        return out

    # -- acquisition -----------------------------------------------------------------------
    def acquisition_seconds(self) -> float:
        """Expected duration of one :DIGitize with averaging: per acquisition the record time
        (10 divisions x s/div), 10 ns of processing per record point (at most the longest
        record at the highest rate when the length is AUTO) and 1 ms to re-arm. An estimate,
        UNVERIFIED: no timing is given in the manuals."""
        points = self._points or min(self.max_points,
                                     self.divisions * self._scale * self.max_sample_rate)
        return self._count * (self.divisions * self._scale + 10e-9 * points + 1e-3)

    def acquire(self) -> None:
        """One acquisition (all averages) of the displayed channels: ``:DIGitize``, then
        ``*OPC?``, which the instrument answers once the acquisition is complete; waited for
        the time the settings need, never asked twice."""
        self.write(":DIGitize")
        # UNVERIFIED in an Infiniium manual (the InfiniiVision Programmer's Guides document
        # ":DIGitize then *OPC?" as blocking synchronization; public Infiniium 9000 code does it)
        self.wait_complete(self.acquisition_seconds(), "the acquisition")
        errs = self.errors()
        if errs:
            raise InstrumentError(self.name, ":DIGitize", "; ".join(errs))

    def preamble(self) -> Preamble:
        text = self.query(":WAVeform:PREamble?")
        try:
            return Preamble.parse(text)
        except ValueError as exc:
            reason = "; ".join(self.errors()) or f"{exc}: {text[:80]!r}"
            raise InstrumentError(self.name, ":WAVeform:PREamble?", reason) from None

    def fetch_waveform(self, channel: int) -> Waveform:
        """The last acquisition of ``channel`` as signed 16-bit codes, little endian, in one
        definite-length block, with the preamble's scaling."""
        channel = self._check_channel(channel)
        self.write_checked(f":WAVeform:SOURce CHANnel{channel}")
        self.write_checked(":WAVeform:FORMat WORD")
        self.write_checked(":WAVeform:BYTeorder LSBFirst")
        self.write_checked(":WAVeform:STReaming OFF")
        pre = self.preamble()
        if pre.format != _WORD:
            raise InstrumentError(self.name, ":WAVeform:PREamble?",
                                  f"format code {pre.format}, expected {_WORD} (WORD)")
        raw = self.query_block(":WAVeform:DATA?")
        codes = np.frombuffer(raw, dtype="<i2")
        if codes.size != pre.points:
            errs = self.errors()
            raise InstrumentError(self.name, ":WAVeform:DATA?",
                                  f"{codes.size} points received, preamble says {pre.points}"
                                  + (f" ({'; '.join(errs)})" if errs else ""))
        return Waveform(codes=codes, x_increment=pre.x_increment, x_origin=pre.x_origin,
                        x_reference=pre.x_reference, y_increment=pre.y_increment,
                        y_origin=pre.y_origin, y_reference=pre.y_reference)
