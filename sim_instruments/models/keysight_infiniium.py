"""Simulated Keysight Infiniium real-time oscilloscope."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..backend import ieee_block
from .base import _on
from .scope_chain import ScopeModel


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


class KeysightInfiniiumModel(ScopeModel):
    """Infiniium MXR254A: single acquisitions (:DIGitize) of the set-up's drive and optical
    channels, edge trigger on the drive channel, WORD/BYTE/ASCii transfer with the preamble.

    Simulator conventions: the 16-bit code range spans 10 vertical divisions around the offset
    (y_increment = 10 scale / 65536, codes clipped); the front end is one pole at the analog
    bandwidth; noise is NOISE_FLOOR + NOISE_PER_DIVISION x scale rms, divided by sqrt(averages);
    a trigger on another channel, or with no edge through the level, free-runs (AUTO sweep).
    The analogue chain (generator edges, chip, photoreceiver, front end) is the scopes' shared
    one (scope_chain.ScopeInputs).
    """

    CHANNELS = 4
    MAX_SAMPLE_RATE = 16e9     # Sa/s (UNVERIFIED data-sheet value)
    MAX_AUTO_POINTS = 1_000_000
    BANDWIDTH = 2.5e9          # Hz, MXR254A (the model number's "25")
    NOISE_FLOOR = 100e-6       # V rms
    NOISE_PER_DIVISION = 2e-3  # x V/div, rms
    FRAME = "MXR254A:MY61010123"
    _REFERENCE = {"LEFT": 0.0, "CENTer": 0.5, "RIGHt": 1.0}

    def reset(self) -> None:
        self.rate_auto = self.points_auto = True
        self.records: dict[int, _ScopeRecord] = {}
        self.done = False

    @property
    def time_constant(self) -> float:
        return self.inputs.time_constant

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
            channels = self._displayed()
        get = self.sim.get
        rate, points = self._timing()
        dt = 1.0 / rate
        x_origin = float(get("timebase_position")) \
            - self._REFERENCE[str(get("timebase_reference"))] * points * dt
        signal = self.inputs.signal()
        drive = self.world.setup.oscilloscope.drive_channel
        trigger = 0.0
        if get("trigger_source") == f"CHANnel{drive}":
            trigger = self.inputs.trigger_time(
                signal, source=drive, level=float(get(f"trigger_level_ch{drive}")),
                rising=get("trigger_slope") == "POSitive")
        inputs = {c: 50.0 if get(f"ch{c}_input") == "DC50" else 1e6 for c in channels}
        volts = self.inputs.record(inputs, trigger + x_origin, dt, points, signal)
        averages = int(get("average_count")) if _on(get("average")) else 1
        tb_scale = float(get("timebase_scale"))
        x_display = (10 * tb_scale, float(get("timebase_position"))
                     - self._REFERENCE[str(get("timebase_reference"))] * 10 * tb_scale)
        self.records = {}
        for channel in channels:
            scale, offset, codes, y_increment = self._word_record(channel, volts[channel], averages)
            self.records[channel] = _ScopeRecord(
                codes, dt, x_origin, y_increment, offset, averages,
                2 if get(f"ch{channel}_input") == "DC50" else 1, x_display, (8 * scale, offset))
        self.done = True

    # -- transfer ----------------------------------------------------------------------------
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
