"""Simulated Rigol DS1104Z (DS1000Z series) oscilloscope."""

from __future__ import annotations

import numpy as np

from .scope_chain import ScopeModel, noise_rms, quantise

# :ACQuire:MDEPth values by number of channels on (DS1000Z Programming Guide, :ACQuire:MDEPth)
DEPTHS = {1: (12_000, 120_000, 1_200_000, 12_000_000, 24_000_000),
          2: (6_000, 60_000, 600_000, 6_000_000, 12_000_000),
          3: (3_000, 30_000, 300_000, 3_000_000, 6_000_000),
          4: (3_000, 30_000, 300_000, 3_000_000, 6_000_000)}
MAX_RATE = {1: 1e9, 2: 500e6, 3: 250e6, 4: 250e6}  # Sa/s by channels on (data sheet)
CHUNK = {"BYTE": 250_000, "WORD": 125_000}  # most points per :WAV:DATA? (Programming Guide)


def tmc_block(payload: bytes) -> bytes:
    """The DS1000Z's data header: always #9 and nine digits of byte count (:WAVeform:DATA?)."""
    return b"#9" + f"{len(payload):09d}".encode() + payload


class RigolDS1000ZModel(ScopeModel):
    """DS1104Z (100 MHz, one pole here; 1 Mohm inputs only): :SINGle acquisitions of the
    displayed channels, :TRIGger:STATus?, memory depth by channels on, RAW BYTE/WORD reads of
    :WAV:STARt..STOP (at most 250000/125000 points each, only in the STOP state), 10-field preamble.

    The record is the memory depth at depth / (12 x s/div), at most the rate for the channels on,
    centred on the main timebase offset after the trigger. The vertical offset moves the trace:
    the screen's centre is at -offset (Programming Guide, :CHANnel<n>:OFFSet). Codes are 25 per
    division around 127 (yreference), yorigin = offset / yincrement; clipped to 0..255.
    Simplifications: NORMal and MAXimum waveform modes are served like RAW; the sample rate is
    not rounded to the instrument's steps. Noise NOISE_FLOOR + NOISE_PER_DIVISION x scale rms /
    sqrt(averages); a trigger off the drive channel free-runs.
    """

    CHANNELS = 4
    BANDWIDTH = 100e6
    NOISE_FLOOR = 300e-6
    NOISE_PER_DIVISION = 4e-3
    CODES_PER_DIVISION = 25
    CENTRE_CODE = 127

    # DS1000Z Programming Guide, command system
    TREE = (
        ":CHANnel#:DISPlay", ":CHANnel#:SCALe", ":CHANnel#:OFFSet", ":CHANnel#:COUPling",
        ":TIMebase[:MAIN]:SCALe", ":TIMebase[:MAIN]:OFFSet", ":TRIGger:MODE",
        ":TRIGger:EDGe:SOURce", ":TRIGger:EDGe:SLOPe", ":TRIGger:EDGe:LEVel", ":TRIGger:STATus",
        ":ACQuire:TYPE", ":ACQuire:AVERages", ":ACQuire:MDEPth", ":ACQuire:SRATe",
        ":SINGle", ":STOP", ":RUN", ":WAVeform:SOURce", ":WAVeform:MODE", ":WAVeform:FORMat",
        ":WAVeform:STARt", ":WAVeform:STOP", ":WAVeform:PREamble", ":WAVeform:DATA",
        ":SYSTem:ERRor",
    )
    KEYWORDS = ("CHANnel", "DC", "AC", "GND", "EDGE", "POSitive", "NEGative", "RFALl",
                "NORMal", "AVERages", "PEAK", "HRESolution", "RAW", "MAXimum", "BYTE", "WORD",
                "ASCii", "AUTO")

    def reset(self) -> None:
        self.records: dict[int, tuple[np.ndarray, float, float, float, float, int]] = {}
        self.status = "AUTO"  # running, free-running sweep

    def _timing(self) -> tuple[float, int]:
        """(sample rate, memory depth) for the channels on and the main timebase."""
        on = max(1, len(self._displayed()))
        depth = self.sim.get("memory_depth")
        span = 12 * float(self.sim.get("timebase_scale"))
        depth = DEPTHS[on][0] if str(depth) == "AUTO" else int(depth)
        return min(MAX_RATE[on], depth / span), depth

    def handle(self, command):
        header, query, params = command.header, command.query, command.params
        if header == ":ACQuire:MDEPth" and not query and len(params) == 1:
            value = self.sim.tree.keyword(params[0])
            allowed = DEPTHS[max(1, len(self._displayed()))]
            if value != "AUTO" and (not value.isdigit() or int(value) not in allowed):
                self.sim.queue_error("illegal_parameter")
            else:
                self.sim.set("memory_depth", value)
            return True, None
        if header == ":ACQuire:MDEPth" and query:
            return True, str(self.sim.get("memory_depth"))
        if header == ":ACQuire:SRATe" and query:
            return True, f"{self._timing()[0]:.4E}"
        if header == ":SINGle" and not query:
            self._single()
            return True, None
        if header in (":RUN", ":STOP") and not query:
            self.status = "AUTO" if header == ":RUN" else "STOP"
            return True, None
        if header == ":TRIGger:STATus" and query:
            return True, self.status
        if header == ":WAVeform:PREamble" and query:
            record = self._source_record()
            return True, "" if record is None else self._preamble(record)
        if header == ":WAVeform:DATA" and query:
            return True, self._data()
        return False, None

    def _single(self) -> None:
        get = self.sim.get
        channels = self._displayed()
        rate, points = self._timing()
        dt = 1.0 / rate
        x_origin = float(get("timebase_offset")) - points * dt / 2
        signal = self.inputs.signal()
        source = int(str(get("trigger_source"))[-1])
        trigger = self.inputs.trigger_time(signal, source=source,
                                           level=float(get("trigger_level")),
                                           rising=get("trigger_slope") == "POSitive")
        volts = self.inputs.record({c: 1e6 for c in channels}, trigger + x_origin, dt, points,
                                   signal)
        averages = int(get("averages")) if get("acquire_type") == "AVERages" else 1
        self.records = {}
        for channel in channels:
            scale, offset = float(get(f"ch{channel}_scale")), float(get(f"ch{channel}_offset"))
            y_increment = scale / self.CODES_PER_DIVISION
            sigma = noise_rms(self.NOISE_FLOOR, self.NOISE_PER_DIVISION, scale, averages)
            codes = quantise(volts[channel], offset=-offset - self.CENTRE_CODE * y_increment,
                             increment=y_increment, low=0, high=255, noise_rms=sigma,
                             rng=self.world.noise.rng)
            self.records[channel] = (codes.astype(np.uint8), dt, x_origin, y_increment,
                                     offset, averages)
        self.status = "STOP"

    def _preamble(self, record) -> str:
        """<format>,<type>,<points>,<count>,<xincrement>,<xorigin>,<xreference>,<yincrement>,
        <yorigin>,<yreference>: format 0 BYTE or 1 WORD, type 2 RAW."""
        codes, dt, x_origin, y_increment, offset, averages = record
        fmt = {"BYTE": 0, "WORD": 1}[str(self.sim.get("waveform_format"))]
        return ",".join(str(f) for f in (
            fmt, 2, codes.size, averages, f"{dt:.6E}", f"{x_origin:.6E}", 0,
            f"{y_increment:.6E}", f"{offset / y_increment:.6g}", self.CENTRE_CODE))

    def _data(self) -> bytes:
        record = self._source_record()
        if record is None:
            return tmc_block(b"")
        if self.status != "STOP":  # the memory is read only once stopped
            self.sim.queue_error("settings_conflict")
            return tmc_block(b"")
        codes = record[0]
        start, stop = int(self.sim.get("waveform_start")), int(self.sim.get("waveform_stop"))
        stop = min(stop, codes.size)
        fmt = str(self.sim.get("waveform_format"))
        if stop < start or stop - start + 1 > CHUNK[fmt]:
            self.sim.queue_error("data_out_of_range")
            return tmc_block(b"")
        codes = codes[start - 1:stop]  # WORD: the 8-bit code in the low byte, LSB first
        return tmc_block((codes if fmt == "BYTE" else codes.astype("<u2")).tobytes())
