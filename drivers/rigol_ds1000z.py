"""Rigol DS1000Z / MSO1000Z oscilloscopes (DS1054Z, DS1074Z, DS1104Z ...), their SCPI commands.

Written from the Rigol DS1000Z Programming Guide (2014 and later editions), chapters ":CHANnel<n>
Commands" (:DISPlay, :SCALe, :OFFSet, :COUPling), ":TIMebase Commands" (:MAIN:SCALe,
:MAIN:OFFSet), ":TRIGger Commands" (:MODE EDGE, :EDGe:SOURce, :EDGe:SLOPe, :EDGe:LEVel,
:STATus?), ":ACQuire Commands" (:TYPE NORMal|AVERages, :AVERages, :MDEPth, :SRATe?), root
commands (:SINGle, :STOP) and ":WAVeform Commands" (:SOURce, :MODE RAW, :FORMat BYTE,
:STARt, :STOP, :PREamble?, :DATA?). RAW reads of the internal memory are chunked: at most
250000 points per :WAV:DATA? in BYTE format (":WAVeform:DATA?", reading the memory in
batches). Scaling (":WAVeform:PREamble?"): V = (code - yorigin - yreference) yincrement,
t = (i - xreference) xincrement + xorigin.

The DS1000Z has only 1 Mohm inputs: a "50" ohm channel needs a 50 ohm feed-through terminator
at the input, which the station declares (``options: {feedthrough: [1, 2]}``); without one the
driver refuses a 50 ohm set-up rather than pretend.
"""

from __future__ import annotations

import time

import numpy as np

from .base import InstrumentError, Range
from .roles import Waveform
from .scope_base import RealTimeScope

_SLOPE = {"rising": "POSitive", "falling": "NEGative"}
CHUNK = 250_000  # points per :WAV:DATA? in BYTE format (Programming Guide, :WAVeform:DATA?)
# :ACQuire:MDEPth values by channels on (Programming Guide, :ACQuire:MDEPth; 24M needs 1 channel)
_DEPTHS = {1: (12_000, 120_000, 1_200_000, 12_000_000, 24_000_000),
           2: (6_000, 60_000, 600_000, 6_000_000, 12_000_000),
           3: (3_000, 30_000, 300_000, 3_000_000, 6_000_000),
           4: (3_000, 30_000, 300_000, 3_000_000, 6_000_000)}


class RigolDS1000Z(RealTimeScope):
    """DS1000Z: vertical set-up, main timebase (12 divisions), edge trigger, normal/average
    acquisition, :SINGle waited for with :TRIGger:STATus?, RAW BYTE reads in 250000-point chunks.

    Limits (DS1000Z data sheet): 1 GSa/s with one channel, 500 MSa/s with two, 250 MSa/s with
    three or four; memory depths as above; 1 mV/div to 10 V/div; averages 2 to 1024 in powers of
    2; bandwidth 50 MHz (DS1054Z), 70 MHz (DS1074Z), 100 MHz (DS1104Z, simulated)."""

    model = "Rigol DS1000Z"
    idn_pattern = r"(?i)^rigol technologies,(ds|mso)1[01]\d4z"
    timeout_s = 10.0
    bandwidth = 100e6
    max_scale = 10.0
    max_average = 1024
    min_points = 100
    divisions = 12  # the DS1000Z screen has 12 horizontal divisions
    poll_interval = 0.02  # s between :TRIGger:STATus? queries while waiting for :SINGle

    def __init__(self, resource, name: str | None = None, feedthrough=()):
        super().__init__(resource, name=name)
        self.feedthrough = tuple(feedthrough)

    @classmethod
    def check_options(cls, options: dict) -> dict:
        """``feedthrough``: the channels fitted with a 50 ohm feed-through terminator."""
        unknown = sorted(set(map(str, options)) - {"feedthrough"})
        if unknown:
            raise ValueError(f"the RigolDS1000Z driver takes only 'feedthrough' (got "
                             f"{', '.join(unknown)})")
        channels = options.get("feedthrough", [])
        if not isinstance(channels, list) or any(
                isinstance(c, bool) or c not in range(1, cls.channels + 1) for c in channels):
            raise ValueError(f"feedthrough must be a list of channel numbers 1..{cls.channels}, "
                             f"got {channels!r}")
        return {"feedthrough": sorted(set(channels))}

    @classmethod
    def rate_for(cls, channels: int) -> float:
        return {1: 1e9, 2: 500e6}.get(channels, 250e6)

    @classmethod
    def memory_for(cls, channels: int) -> int:
        return _DEPTHS[min(max(channels, 1), 4)][-1]

    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        problems = super().check_plan(request)
        count = request.get("averaging", 1)
        if isinstance(count, int) and count > 1 and count & (count - 1):
            problems.append(f"averaging={count} is not a power of 2 ({cls.model})")
        return problems

    def configure_channel(self, channel: int, *, scale: float, offset: float = 0.0,
                          impedance: str = "50") -> None:
        """V/div and the voltage at the screen's centre (sent as :OFFSet = -centre: the
        DS1000Z's offset moves the trace); "50" only on a channel with a feed-through."""
        channel = self._check_channel(channel)
        if impedance == "50" and channel not in self.feedthrough:
            raise ValueError(f"channel {channel} has a 1 Mohm input and no 50 ohm feed-through "
                             f"(station option feedthrough: {list(self.feedthrough)})")
        if impedance not in ("50", "1M"):
            raise ValueError(f"impedance={impedance!r} is not one of ['50', '1M']")
        Range(1e-3, self.max_scale).check("scale", scale)
        Range(-100.0, 100.0).check("offset", offset)  # UNVERIFIED: depends on the scale
        self.write_checked(f":CHANnel{channel}:COUPling DC")
        self.write_checked(f":CHANnel{channel}:SCALe {scale:.9g}")
        self.write_checked(f":CHANnel{channel}:OFFSet {-offset:.9g}")
        self.write_checked(f":CHANnel{channel}:DISPlay 1")

    def channels_on(self) -> int:
        """How many channels are displayed now (the memory depths depend on it)."""
        return sum(self.query(f":CHANnel{c}:DISPlay?").strip() in ("1", "ON")
                   for c in range(1, self.channels + 1))

    def configure_timebase(self, *, scale: float, position: float = 0.0,
                           sample_rate: float | None = None, points: int | None = None) -> None:
        """The record spans ``divisions x scale`` (12 divisions, the caller's 10 included),
        centred ``position`` s after the trigger; the memory depth is the smallest that holds
        ``sample_rate`` over that span (the rate is the scope's: depth / span at most its
        maximum), refused when none does."""
        Range(5e-9, 50.0).check("scale", scale)
        Range(-500.0, 500.0).check("position", position)
        channels = max(1, self.channels_on())
        span = self.divisions * scale
        needed = max(points or 0, 0 if sample_rate is None else sample_rate * span)
        depths = [d for d in _DEPTHS[min(channels, 4)] if d >= needed * (1 - 1e-9)]
        if not depths:
            raise ValueError(f"{needed:.4g} points over {span:.4g} s exceed the "
                             f"{_DEPTHS[min(channels, 4)][-1]} points of memory with "
                             f"{channels} channel(s)")
        self._scale, self._rate = float(scale), sample_rate
        self.write_checked(f":TIMebase:MAIN:SCALe {scale:.9g}")
        self.write_checked(f":TIMebase:MAIN:OFFSet {position:.9g}")
        self.write_checked(f":ACQuire:MDEPth {depths[0]}")

    def configure_edge_trigger(self, *, channel: int, level: float,
                               slope: str = "rising") -> None:
        channel, slope_word = self._check_edge(channel, level, slope, _SLOPE, 100.0)
        self.write_checked(":TRIGger:MODE EDGE")
        self.write_checked(f":TRIGger:EDGe:SOURce CHANnel{channel}")
        self.write_checked(f":TRIGger:EDGe:SLOPe {slope_word}")
        self.write_checked(f":TRIGger:EDGe:LEVel {level:.9g}")

    def set_averaging(self, count: int) -> None:
        """Average ``count`` (a power of 2, 2..1024) acquisitions; 1 = :ACQuire:TYPE NORMal."""
        count = self._whole("averaging count", count, 1, self.max_average)
        if count & (count - 1):
            raise ValueError(f"averaging count={count} is not a power of 2")
        self._count = count
        if count == 1:
            self.write_checked(":ACQuire:TYPE NORMal")
        else:
            self.write_checked(":ACQuire:TYPE AVERages")
            self.write_checked(f":ACQuire:AVERages {count}")

    def settings(self) -> dict:
        out = {"timebase_scale": self.query_float(":TIMebase:MAIN:SCALe?"),
               "timebase_offset": self.query_float(":TIMebase:MAIN:OFFSet?"),
               "memory_depth": self.query(":ACQuire:MDEPth?"),
               "sample_rate": self.query_float(":ACQuire:SRATe?"),
               "acquire_type": self.query(":ACQuire:TYPE?"),
               "feedthrough": list(self.feedthrough)}
        for channel in range(1, self.channels + 1):
            out[f"channel{channel}"] = {
                "display": self.query(f":CHANnel{channel}:DISPlay?") in ("1", "ON"),
                "scale": self.query_float(f":CHANnel{channel}:SCALe?"),
                "offset": self.query_float(f":CHANnel{channel}:OFFSet?")}
        return out

    def acquire(self) -> None:
        """:SINGle, then :TRIGger:STATus? until "STOP" (the single acquisition is done and the
        memory can be read): the DS1000Z guide gives no *OPC? completion for :SINGle, so the
        state is polled, within twice the expected time plus the timeout."""
        self.write_checked(":SINGle")
        deadline = time.monotonic() + 2 * self.acquisition_seconds() + self.timeout_s
        while True:
            state = self.query(":TRIGger:STATus?").strip().upper()
            if state == "STOP":
                return
            if time.monotonic() > deadline:
                raise InstrumentError(self.name, ":TRIGger:STATus?",
                                      f"the single acquisition did not end (state {state})")
            time.sleep(self.poll_interval)

    def fetch_waveform(self, channel: int) -> Waveform:
        """The internal memory of ``channel`` (RAW mode, BYTE codes 0..255), read in chunks of
        at most 250000 points with :WAV:STAR/:WAV:STOP, scaled by the preamble."""
        channel = self._check_channel(channel)
        self.write_checked(f":WAVeform:SOURce CHANnel{channel}")
        self.write_checked(":WAVeform:MODE RAW")
        self.write_checked(":WAVeform:FORMat BYTE")
        _, _, points, _, xinc, xorg, xref, yinc, yorg, yref = self._read_preamble(0, "BYTE")
        points = int(points)
        chunks = []
        for start in range(1, points + 1, CHUNK):
            stop = min(start + CHUNK - 1, points)
            self.write_checked(f":WAVeform:STARt {start}")
            self.write_checked(f":WAVeform:STOP {stop}")
            chunk = self.query_block(":WAVeform:DATA?")
            if len(chunk) != stop - start + 1:
                raise InstrumentError(self.name, ":WAVeform:DATA?",
                                      f"{len(chunk)} points received for {start}..{stop}")
            chunks.append(chunk)
        codes = np.frombuffer(b"".join(chunks), dtype=np.uint8).astype(np.int16)
        return Waveform(codes=codes, x_increment=xinc, x_origin=xorg, x_reference=xref,
                        y_increment=yinc, y_origin=0.0, y_reference=yorg + yref)

    def acquisition_seconds(self) -> float:
        """Per acquisition the record time (12 divisions x s/div) and 10 ms to re-arm, plus 1 s
        of processing (an estimate, UNVERIFIED: the guide gives no timing)."""
        return self._count * (self.divisions * self._scale + 10e-3) + 1.0

