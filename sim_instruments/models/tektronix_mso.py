"""Simulated Tektronix MSO44 (4 Series MSO) oscilloscope."""

from __future__ import annotations

import numpy as np

from ..backend import ieee_block
from .base import _on
from .scope_chain import ScopeModel


class TektronixMSOModel(ScopeModel):
    """MSO44 with the 200 MHz bandwidth (one pole here): single sequences (ACQuire:STOPAfter
    SEQuence, ACQuire:STATE ON) of the displayed channels at the manual-mode sample rate and
    record length, edge trigger, sample/average mode, CURVe? in RIBinary/SRIBinary (1 or 2
    bytes) of DATa:STARt..STOP with the WFMOutpre fields, *ESR? and ALLEv? for errors.

    Timing (Programmer Manual, Horizontal): the delay (HORizontal:DELay:TIMe) is the time from
    the trigger to the expansion point, HORizontal:POSition % into the record. The sample rate
    and record length are taken as set in any horizontal mode (the simulation's simplification:
    the real AUTO mode derives them from the scale). Simulator conventions: 16-bit codes span
    10 divisions around the offset (position 0), noise NOISE_FLOOR + NOISE_PER_DIVISION x scale
    rms / sqrt(averages); a trigger off the drive channel free-runs.
    """

    CHANNELS = 4
    BANDWIDTH = 200e6
    NOISE_FLOOR = 150e-6
    NOISE_PER_DIVISION = 3e-3
    _ERROR_BITS = 32  # *ESR? CME: a command error is waiting in the event queue

    # 4/5/6 Series MSO Programmer Manual, command groups
    TREE = (
        "CH#:SCAle", "CH#:OFFSet", "CH#:POSition", "CH#:TERmination",
        "DISplay:GLObal:CH#:STATE", "HORizontal:MODE", "HORizontal:MODE:SAMPLERate",
        "HORizontal:MODE:RECOrdlength", "HORizontal:DELay:MODe", "HORizontal:DELay:TIMe",
        "HORizontal:POSition", "TRIGger:A:TYPe", "TRIGger:A:EDGE:SOUrce",
        "TRIGger:A:EDGE:SLOpe", "TRIGger:A:LEVel:CH#", "ACQuire:MODe", "ACQuire:NUMAVg",
        "ACQuire:STOPAfter", "ACQuire:STATE", "DATa:SOUrce", "DATa:ENCdg", "DATa:STARt",
        "DATa:STOP", "WFMOutpre:BYT_Nr", "WFMOutpre:NR_Pt", "WFMOutpre:XINcr",
        "WFMOutpre:XZEro", "WFMOutpre:PT_Off", "WFMOutpre:YMUlt", "WFMOutpre:YOFf",
        "WFMOutpre:YZEro", "WFMOutpre", "CURVe", "HEADer", "ALLEv",
    )
    KEYWORDS = ("CH", "MANual", "AUTO", "EDGE", "RISe", "FALL", "SAMple", "AVErage",
                "SEQuence", "RUNSTop", "RIBinary", "SRIBinary", "ON", "OFF")
    _FIELDS = {"WFMOutpre:NR_Pt", "WFMOutpre:XINcr", "WFMOutpre:XZEro", "WFMOutpre:PT_Off",
               "WFMOutpre:YMUlt", "WFMOutpre:YOFf", "WFMOutpre:YZEro"}

    def reset(self) -> None:
        self.records: dict[int, tuple[np.ndarray, float, float, float, float, int]] = {}

    def handle(self, command):
        header, query = command.header, command.query
        if header == "*ESR" and query:
            return True, str(self._ERROR_BITS if self.sim._error_queue._queue else 0)
        if header == "ALLEv" and query:
            return True, self._all_events()
        if header == "ACQuire:STATE" and not query:
            if self.sim.apply(command) and _on(self.sim.get("acquire_state")):
                self._sequence()
            return True, None
        if header in self._FIELDS and query:
            fields = self._fields()
            return True, "" if fields is None else fields[header.split(":")[1]]
        if header == "WFMOutpre" and query:
            fields = self._fields()
            return True, "" if fields is None else ";".join(fields.values())
        if header == "CURVe" and query:
            return True, self._curve()
        return False, None

    def _all_events(self) -> str:
        """Every queued event, oldest first (ALLEv?), or the empty queue's event 0."""
        queue = self.sim._error_queue
        events = [queue.value.decode() for _ in range(len(queue._queue))]
        return ",".join(events) or '0,"No events to report - queue empty"'

    def _sequence(self) -> None:
        """One acquisition sequence of the displayed channels; stops (ACQuire:STATE 0)."""
        get = self.sim.get
        channels = self._displayed()
        rate, points = float(get("sample_rate")), int(get("record_length"))
        dt = 1.0 / rate
        delay = float(get("delay_time")) if _on(get("delay_mode")) else 0.0
        x_origin = delay - float(get("horizontal_position")) / 100 * points * dt
        signal = self.inputs.signal()
        source = int(str(get("trigger_source"))[-1])
        trigger = self.inputs.trigger_time(
            signal, source=source, level=float(get(f"trigger_level_ch{source}")),
            rising=get("trigger_slope") == "RISe")
        inputs = {c: float(get(f"ch{c}_termination")) for c in channels}
        volts = self.inputs.record(inputs, trigger + x_origin, dt, points, signal)
        averages = int(get("average_count")) if get("acquire_mode") == "AVErage" else 1
        self.records = {}
        for channel in channels:
            _, offset, codes, y_increment = self._word_record(channel, volts[channel], averages)
            self.records[channel] = (codes, dt, x_origin, y_increment, offset, averages)
        self.sim.set("acquire_state", "0")

    def _selection(self):
        """(record, first index, last index + 1) of DATa:SOUrce's DATa:STARt..STOP (1-based,
        STOP beyond the record meaning its end), or None with -200 queued (no waveform)."""
        record = self.records.get(int(str(self.sim.get("data_source"))[-1]))
        if record is None:
            self.sim.queue_error("no_data")
            return None
        start = int(self.sim.get("data_start"))
        stop = min(int(self.sim.get("data_stop")), record[0].size)
        return record, start - 1, max(stop, start)

    def _fields(self) -> dict[str, str] | None:
        selection = self._selection()
        if selection is None:
            return None
        (codes, dt, x_origin, y_increment, offset, _), first, end = selection
        byte = int(self.sim.get("byte_nr")) == 1
        return {"NR_Pt": str(end - first), "XINcr": f"{dt:.10E}",
                "XZEro": f"{x_origin + first * dt:.10E}", "PT_Off": "0",
                "YMUlt": f"{y_increment * (256 if byte else 1):.10E}", "YOFf": "0",
                "YZEro": f"{offset:.10E}"}

    def _curve(self) -> bytes:
        selection = self._selection()
        if selection is None:
            return ieee_block(b"")
        (codes, *_), first, end = selection
        codes = codes[first:end]
        little = self.sim.get("encoding") == "SRIBinary"  # RIBinary: MSB first
        if int(self.sim.get("byte_nr")) == 1:
            return ieee_block((codes.astype(np.int32) >> 8).astype(np.int8).tobytes())
        return ieee_block(codes.astype("<i2" if little else ">i2").tobytes())
