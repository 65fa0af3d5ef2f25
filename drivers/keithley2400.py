"""Keithley 2400 SourceMeter (legacy SCPI; 2400, also answered by the 2401), GPIB or RS-232.

Written from the Model 2400 Series SourceMeter User's Manual (2400S-900-01), section 18 "SCPI
Command Reference" (subsystems named in comments): SOURce (``:SOURce:FUNCtion``,
``:SOURce:<f>[:LEVel]``, ``:SOURce:<f>:MODE FIXed|LIST``, ``:SOURce:LIST:<f>`` of up to 100
values, ``:SOURce:DELay``), SENSe (``:SENSe:FUNCtion:CONCurrent``, ``:SENSe:FUNCtion``,
``:SENSe:<f>:PROTection``, the compliance, ``:SENSe:<f>:NPLCycles``, ``:SENSe:<f>:RANGe:AUTO``),
``:SYSTem:RSENse`` (4-wire), ``:FORMat:ELEMents VOLTage,CURRent`` so that ``:READ?`` and
``:TRACe:DATA?`` give voltage, current pairs, TRIGger (``:TRIGger:COUNt``), TRACe
(``:TRACe:CLEar``, ``:TRACe:POINts``, ``:TRACe:FEED SENSe``, ``:TRACe:FEED:CONTrol NEXT``) and
``:OUTPut[:STATe]``. No pulse mode (that is the 2430's). Options: ``sense``.
"""

from __future__ import annotations

from .base import InstrumentError, Range, ScpiInstrument, check_ranges, number_text
from .roles import SweepReadings
from .smu_common import (
    DcSweeps,
    check_sense_option,
    output_description,
    sweep_levels,
    voltage_current,
)

MAX_CURRENT = 1.05    # A, 1 A range + 5 %
MAX_VOLTAGE = 210.0   # V, 200 V range + 5 %
NPLC = (0.01, 10.0)   # :SENSe:<f>:NPLCycles
MAX_SWEEP_POINTS = 100  # :SOURce:LIST:<f> (the trace buffer holds 2500)


class Keithley2400(DcSweeps, ScpiInstrument):
    """2400 SourceMeter: source I or V with compliance, :READ?, list sweeps into the buffer."""

    idn_pattern = r"KEITHLEY INSTRUMENTS INC\.,MODEL 240[01]"
    error_query = ":SYSTem:ERRor?"

    _function: str | None = None
    _nplc = 10.0

    def __init__(self, resource, name: str | None = None, *, sense: str = "2-wire"):
        super().__init__(resource, name)
        self.sense = sense

    @classmethod
    def check_options(cls, options: dict) -> dict:
        """``sense``: "2-wire" or "4-wire"."""
        return check_sense_option("Keithley 2400", options)

    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        return check_ranges("Keithley 2400", request, {
            "current": (-MAX_CURRENT, MAX_CURRENT, "A"),
            "voltage": (-MAX_VOLTAGE, MAX_VOLTAGE, "V"), "nplc": (*NPLC, ""),
            "sweep_points": (1, MAX_SWEEP_POINTS, "points")})

    def settings(self) -> dict:
        function, level = self.read_source()
        return {"function": function, "level": level, "output": self.output_enabled(),
                "remote_sense": self.query(":SYSTem:RSENse?").strip() in ("1", "ON")}

    def _configure(self, function: str, *, nplc: float, remote_sense: bool) -> None:
        Range(*NPLC).check("nplc", nplc)
        source, sense = (("CURRent", "VOLTage") if function == "CURR"
                         else ("VOLTage", "CURRent"))
        self.write_checked(f":SOURce:FUNCtion {source}")
        self.write_checked(f":SOURce:{source}:MODE FIXed")
        self.write_checked(f":SOURce:{source}:RANGe:AUTO ON")
        self._function, self._nplc = function, nplc
        self.write_checked(":SENSe:FUNCtion:CONCurrent ON")
        self.write_checked(f':SENSe:FUNCtion "{sense}"')
        self.write_checked(f":SENSe:{sense}:NPLCycles {number_text(nplc)}")
        self.write_checked(f":SENSe:{sense}:RANGe:AUTO ON")
        remote = remote_sense or self.sense == "4-wire"
        self.write_checked(f":SYSTem:RSENse {'ON' if remote else 'OFF'}")
        self.write_checked(":FORMat:ELEMents VOLTage,CURRent")

    def configure_current_source(self, *, voltage_limit: float, nplc: float = 1.0,
                                 current_range: float | None = None,
                                 remote_sense: bool = False) -> None:
        """Current source; the voltage compliance (:SENSe:VOLTage:PROTection) before any
        level. ``current_range`` is not used (auto range)."""
        Range(0.0, MAX_VOLTAGE).check("voltage_limit", voltage_limit)
        self._configure("CURR", nplc=nplc, remote_sense=remote_sense)
        self.write_checked(f":SENSe:VOLTage:PROTection {number_text(voltage_limit)}")

    def configure_voltage_source(self, *, current_limit: float, nplc: float = 1.0,
                                 voltage_range: float | None = None,
                                 remote_sense: bool = False) -> None:
        Range(1e-9, MAX_CURRENT).check("current_limit", current_limit)
        self._configure("VOLT", nplc=nplc, remote_sense=remote_sense)
        self.write_checked(f":SENSe:CURRent:PROTection {number_text(current_limit)}")

    def set_current(self, current: float) -> None:
        Range(-MAX_CURRENT, MAX_CURRENT).check("current", current)
        self.write(f":SOURce:CURRent {number_text(current)}")

    def set_voltage(self, voltage: float) -> None:
        Range(-MAX_VOLTAGE, MAX_VOLTAGE).check("voltage", voltage)
        self.write(f":SOURce:VOLTage {number_text(voltage)}")

    def output_on(self) -> None:
        self.write_checked(":OUTPut:STATe ON")

    def output_off(self) -> None:
        self.write(":OUTPut:STATe OFF")

    def output_enabled(self) -> bool:
        return self.query(":OUTPut:STATe?").strip() in ("1", "ON")

    def read_source(self) -> tuple[str, float]:
        function = "CURR" if self.query(":SOURce:FUNCtion?").strip().upper()[:4] == "CURR" \
            else "VOLT"
        return function, self.query_float(f":SOURce:{function}?")

    def describe_output(self) -> str:
        on = self.output_enabled()
        function, level = self.read_source()
        limit = self.query_float(":SENSe:VOLTage:PROTection?" if function == "CURR"
                                 else ":SENSe:CURRent:PROTection?")
        return output_description(on, function, level, limit)

    def measure(self) -> tuple[float, float]:
        """One reading, :READ?: voltage, current (the :FORMat:ELEMents configure set)."""
        return voltage_current(self.name, ":READ?", self.query_floats(":READ?"))

    def sweep_seconds(self, points: int, delay: float) -> float:
        """Per point its source delay, the integration at 50 Hz and 1 ms (an estimate)."""
        return points * (delay + self._nplc / 50.0 + 1e-3)

    def _dc_sweep(self, function: str, levels, delay: float) -> SweepReadings:
        """A source list run by the trigger model into the trace buffer, the output on for it
        and as it was after; the 2400 does not stop at compliance (the guard cuts there)."""
        levels = sweep_levels(levels, MAX_CURRENT if function == "CURR" else MAX_VOLTAGE,
                              least=1, most=MAX_SWEEP_POINTS, what="a 2400 list")
        Range(0.0, 9999.999).check("delay", delay)
        if self._function != function:
            raise InstrumentError(self.name, ":SOURce:LIST", "configure the source first")
        name, n = ("CURRent" if function == "CURR" else "VOLTage"), levels.size
        self.write_checked(f":SOURce:{name}:MODE LIST")
        self.write_checked(f":SOURce:LIST:{name} {','.join(map(number_text, levels))}")
        self.write_checked(f":SOURce:DELay {number_text(delay)}")
        self.write_checked(f":TRIGger:COUNt {n}")
        self.write_checked(":TRACe:CLEar")
        self.write_checked(f":TRACe:POINts {n}")
        self.write_checked(":TRACe:FEED SENSe")
        self.write_checked(":TRACe:FEED:CONTrol NEXT")
        was_on = self.output_enabled()
        if not was_on:
            self.output_on()
        try:
            self.write(":INITiate")
            # UNVERIFIED: that *OPC? answers once the trigger model is back to idle
            self.wait_complete(self.sweep_seconds(n, delay), f"a {n}-point sweep")
            values = self.query_floats(":TRACe:DATA?")
        finally:
            if not was_on:
                self.output_off()
            self.write_checked(f":SOURce:{name}:MODE FIXed")
            self.write_checked(":TRIGger:COUNt 1")
        if values.size != 2 * n:
            raise InstrumentError(self.name, ":TRACe:DATA?",
                                  f"expected {2 * n} values, got {values.size}")
        return SweepReadings(source=levels, voltage=values[0::2].copy(),
                             current=values[1::2].copy())
