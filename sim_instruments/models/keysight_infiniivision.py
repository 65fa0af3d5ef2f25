"""Simulated Keysight InfiniiVision DSOX3034T (3000T X-Series) oscilloscope."""

from __future__ import annotations

import math

import numpy as np

from ..backend import ieee_block
from .base import _on
from .scope_chain import ScopeModel


class KeysightInfiniiVisionModel(ScopeModel):
    """DSOX3034T: :DIGitize of the displayed channels, edge trigger, NORMal/AVERage acquisition,
    WORD/BYTE transfer (signed or unsigned, either byte order) with the 10-field preamble.

    Data sheet figures: 350 MHz (one pole here), 5 GSa/s and 4 Mpts with one channel of a pair
    (1-2, 3-4) on, 2.5 GSa/s and 2 Mpts with both. The record spans the 10 divisions at the highest
    rate the memory allows; ``:WAVeform:POINts`` in RAW mode gives at most that many points,
    decimated by a whole factor. Simulator conventions: the code range spans 10
    vertical divisions around the offset (8 of them on screen), noise NOISE_FLOOR +
    NOISE_PER_DIVISION x scale rms / sqrt(averages); a trigger off the drive channel free-runs.
    """

    CHANNELS = 4
    BANDWIDTH = 350e6
    NOISE_FLOOR = 200e-6
    NOISE_PER_DIVISION = 4e-3
    _REFERENCE = {"LEFT": 0.1, "CENTer": 0.5, "RIGHt": 0.9}  # of the screen, 10 divisions

    # 3000T X-Series Programmer's Guide, command reference
    TREE = (
        ":CHANnel#:DISPlay", ":CHANnel#:SCALe", ":CHANnel#:OFFSet", ":CHANnel#:IMPedance",
        ":TIMebase:SCALe", ":TIMebase:POSition", ":TIMebase:REFerence",
        ":TRIGger:MODE", ":TRIGger[:EDGE]:SOURce", ":TRIGger[:EDGE]:SLOPe",
        ":TRIGger[:EDGE]:LEVel", ":ACQuire:TYPE", ":ACQuire:COUNt", ":ACQuire:SRATe",
        ":WAVeform:SOURce", ":WAVeform:FORMat", ":WAVeform:BYTeorder", ":WAVeform:UNSigned",
        ":WAVeform:POINts:MODE", ":WAVeform:POINts", ":WAVeform:PREamble", ":WAVeform:DATA",
        ":DIGitize", ":SYSTem:ERRor",
    )
    KEYWORDS = ("CHANnel", "ONEMeg", "FIFTy", "LEFT", "CENTer", "RIGHt", "EDGE", "POSitive",
                "NEGative", "NORMal", "AVERage", "BYTE", "WORD", "ASCii", "LSBFirst", "MSBFirst",
                "RAW", "MAXimum")

    def reset(self) -> None:
        self.records: dict[int, tuple[np.ndarray, float, float, float, int]] = {}

    def _rate_and_memory(self, channels: list[int]) -> tuple[float, int]:
        pairs = [sum(c in channels for c in pair) for pair in ((1, 2), (3, 4))]
        return (2.5e9, 2_000_000) if max(pairs) == 2 else (5e9, 4_000_000)

    def handle(self, command):
        header, query, params = command.header, command.query, command.params
        if header == ":DIGitize" and not query:
            self._digitize(params)
            return True, None
        if header == ":ACQuire:SRATe" and query:
            return True, f"{self._rate_and_memory(self._displayed())[0]:E}"
        if header == ":WAVeform:PREamble" and query:
            record = self._source_record()
            return True, "" if record is None else self._preamble(record)
        if header == ":WAVeform:DATA" and query:
            return True, self._data()
        return False, None

    def _digitize(self, sources) -> None:
        channels = []
        for source in sources:
            word = self.sim.tree.keyword(source)
            if word[:7] != "CHANNEL" or word[7:] not in ("1", "2", "3", "4"):
                self.sim.queue_error("illegal_parameter")
                return
            channels.append(int(word[7:]))
        get = self.sim.get
        channels = channels or self._displayed()
        rate, memory = self._rate_and_memory(channels)
        span = 10 * float(get("timebase_scale"))
        rate = min(rate, memory / span)
        record_points = max(100, int(span * rate))
        wanted = int(get("waveform_points")) if get("points_mode") == "RAW" else 62_500
        step = math.ceil(record_points / wanted)  # decimation to the points asked
        points, dt = record_points // step, step / rate
        x_origin = float(get("timebase_position")) \
            - self._REFERENCE[str(get("timebase_reference"))] * span
        signal = self.inputs.signal()
        source = str(get("trigger_source"))
        trigger = self.inputs.trigger_time(
            signal, source=int(source[-1]), level=float(get("trigger_level")),
            rising=get("trigger_slope") == "POSitive")
        inputs = {c: 50.0 if get(f"ch{c}_impedance") == "FIFTy" else 1e6 for c in channels}
        volts = self.inputs.record(inputs, trigger + x_origin, dt, points, signal)
        averages = int(get("average_count")) if get("acquire_type") == "AVERage" else 1
        self.records = {}
        for channel in channels:
            _, offset, codes, y_increment = self._word_record(channel, volts[channel], averages)
            self.records[channel] = (codes, dt, x_origin, y_increment, offset, averages)

    def _preamble(self, record) -> str:
        """<format>,<type>,<points>,<count>,<xincrement>,<xorigin>,<xreference>,<yincrement>,
        <yorigin>,<yreference> (:WAVeform:PREamble?); unsigned data moves yreference."""
        codes, dt, x_origin, y_increment, offset, averages = record
        fmt = str(self.sim.get("waveform_format"))
        unsigned = _on(self.sim.get("waveform_unsigned"))
        if fmt == "BYTE":
            y_increment, reference = y_increment * 256, (128 if unsigned else 0)
        else:
            reference = 32768 if unsigned else 0
        fields = [{"BYTE": 0, "WORD": 1}[fmt], 2 if averages > 1 else 0, codes.size, averages,
                  f"{dt:.10E}", f"{x_origin:.10E}", 0, f"{y_increment:.10E}",
                  f"{offset:.10E}", reference]
        return ",".join(str(f) for f in fields)

    def _data(self) -> bytes:
        record = self._source_record()
        if record is None:
            return ieee_block(b"")
        codes = record[0].astype(np.int32)
        unsigned = _on(self.sim.get("waveform_unsigned"))
        if self.sim.get("waveform_format") == "BYTE":
            codes = codes >> 8
            payload = (codes + 128).astype(np.uint8) if unsigned else codes.astype(np.int8)
        else:
            order = "<" if self.sim.get("waveform_byteorder") == "LSBFirst" else ">"
            payload = (codes + 32768).astype(order + "u2") if unsigned \
                else codes.astype(order + "i2")
        return ieee_block(payload.tobytes())
