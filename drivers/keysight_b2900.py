"""Keysight (Agilent) B2900 series precision source/measure unit (B2901A/B2902A/B2911A/B2912A),
channel 1, SCPI.

Written from the Keysight B2900 SCPI Command Reference (Agilent B2900 SCPI Command Reference,
Edition 2, chapter 4 "Subsystem Commands"; entries named in comments): SOURce
(``:SOURce1:FUNCtion:MODE``, ``:SOURce1:<f>[:LEVel][:IMMediate]``, ``:SOURce1:<f>:MODE LIST``,
``:SOURce1:LIST:<f>``, up to 2500 values; ``:SOURce1:FUNCtion:SHAPe PULSe``,
``:SOURce1:PULSe:WIDTh|DELay``), SENSe (``:SENSe1:FUNCtion``, ``:SENSe1:<f>:PROTection``, the
compliance; ``:SENSe1:<f>:NPLCycles|APERture``, ``:SENSe1:REMote`` for 4-wire), TRIGger
(``:TRIGger1:ALL:COUNt|SOURce|TIMer``, ``:TRIGger1:ACQuire:DELay``), ``:INITiate (@1)``,
``:FETCh:ARRay:VOLTage|CURRent? (@1)``, ``:MEASure? (@1)`` with ``:FORMat:ELEMents:SENSe`` and
``:OUTPut1[:STATe]``, ``:OUTPut1:ON:AUTO OFF`` (a measurement never switches the output on by
itself). Pulses: the list levels are the pulse peaks, the immediate level (0 A) their base; one
pulse per timer period, measured ``:TRIGger1:ACQuire:DELay`` after the trigger over the
aperture. Readings come back as ASCII lists (``:FORMat:DATA REAL`` not used: UNVERIFIED byte
order).

Options: ``sense`` "2-wire" or "4-wire".
"""

from __future__ import annotations

import math

import numpy as np

from . import smu_common
from .base import InstrumentError, Range, ScpiInstrument, check_ranges, number_text
from .roles import SweepReadings
from .smu_common import (
    DcSweeps,
    check_sense_option,
    output_description,
    output_on_during,
    sweep_levels,
    voltage_current,
)

MAX_CURRENT = 3.03      # A DC at <= 6 V ("Source Output Ranges")
MAX_VOLTAGE = 210.0     # V, 200 V range
MAX_PULSE_CURRENT = 10.5  # A, pulses <= 1 ms at <= 6 V
NPLC = (4e-4, 100.0)    # :SENSe:<f>:NPLCycles (50 Hz; UNVERIFIED)
APERTURE = (8e-6, 2.0)  # :SENSe:<f>:APERture, s (UNVERIFIED)
MAX_SWEEP_POINTS = 2500  # [:SOURce]:LIST:<f>
MIN_PULSE_WIDTH = 50e-6  # s, :SOURce:PULSe:WIDTh
# (max current A, max voltage V, max width s, max duty): "Source Output Ranges" (B2901A/B2902A;
# the 2.5 % duty and the pulse widths from the B2961A's table of the same layout, UNVERIFIED)
PULSE_REGIONS = ((3.03, 6.3, math.inf, 1.0), (1.515, 21.0, math.inf, 1.0),
                 (0.105, 210.0, math.inf, 1.0), (10.5, 6.3, 1e-3, 0.025),
                 (1.515, 200.0, 2.5e-3, 0.025), (1.05, 180.0, 10e-3, 0.025))
CHANNEL = "(@1)"
MEASURE_START, MEASURE_SPAN = 0.6, 0.3  # fractions of the pulse width


class KeysightB2900(DcSweeps, ScpiInstrument):
    """B2900 channel 1: source I or V with compliance, spot and list sweeps, current pulses."""

    idn_pattern = r"(Keysight|Agilent) Technologies,B29[01][12]A"
    error_query = ":SYSTem:ERRor:NEXT?"

    _function: str | None = None
    _nplc = 100.0

    def __init__(self, resource, name: str | None = None, *, sense: str = "2-wire"):
        super().__init__(resource, name)
        self.sense = self.sensing = sense

    @classmethod
    def check_options(cls, options: dict) -> dict:
        """``sense``: "2-wire" or "4-wire"."""
        return check_sense_option("Keysight B2900", options)

    def output_on(self) -> None:
        self.write_checked(":OUTPut1:STATe ON")

    def output_off(self) -> None:
        self.write(":OUTPut1:STATe OFF")

    def output_enabled(self) -> bool:
        return self.query(":OUTPut1:STATe?").strip() in ("1", "ON")

    def settings(self) -> dict:
        function, level = self.read_source()
        return {"function": function, "level": level, "output": self.output_enabled(),
                "remote_sense": self.query(":SENSe1:REMote?").strip() in ("1", "ON")}

    # -- configuration ------------------------------------------------------------------------
    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        """DC ranges; with ``width``/``period`` the output range table for pulses."""
        pulsed = "width" in request or "period" in request
        top = MAX_PULSE_CURRENT if pulsed else MAX_CURRENT
        problems = check_ranges("Keysight B2900", request, {
            "current": (-top, top, "A"), "voltage": (-MAX_VOLTAGE, MAX_VOLTAGE, "V"),
            "nplc": (*NPLC, ""), "sweep_points": (1, MAX_SWEEP_POINTS, "points"),
            "width": (MIN_PULSE_WIDTH, 1e5, "s"), "period": (1e-5, 1e5, "s")})
        if problems or not pulsed:
            return problems
        return smu_common.pulse_plan_problems(
            "Keysight B2900", PULSE_REGIONS, request, max_voltage=MAX_VOLTAGE,
            outside="the Keysight B2900's output ranges")

    def _configure(self, function: str, *, nplc: float, remote_sense: bool) -> None:
        Range(*NPLC).check("nplc", nplc)
        sense = "VOLTage" if function == "CURR" else "CURRent"
        self.write_checked(":OUTPut1:ON:AUTO OFF")          # :OUTPut:ON:AUTO
        mode = "CURRent" if function == "CURR" else "VOLTage"
        self.write_checked(f":SOURce1:FUNCtion:MODE {mode}")
        self.write_checked(":SOURce1:FUNCtion:SHAPe DC")    # :SOURce:FUNCtion:SHAPe
        self._function, self._nplc = function, nplc
        self.write_checked(':SENSe1:FUNCtion "VOLT","CURR"')  # :SENSe:FUNCtion[:ON]
        self.write_checked(":FORMat:ELEMents:SENSe VOLTage,CURRent")
        self.write_checked(f":SENSe1:{sense}:NPLCycles {number_text(nplc)}")
        self.write_checked(f":SENSe1:{sense}:RANGe:AUTO ON")
        self.sensing = "4-wire" if remote_sense else self.sense
        self.write_checked(f":SENSe1:REMote {'ON' if self.sensing == '4-wire' else 'OFF'}")

    def configure_current_source(self, *, voltage_limit: float, nplc: float = 1.0,
                                 current_range: float | None = None,
                                 remote_sense: bool = False) -> None:
        """Current source; the voltage compliance (:SENSe1:VOLTage:PROTection) before any
        level. ``current_range`` is not used (auto range)."""
        Range(0.0, MAX_VOLTAGE).check("voltage_limit", voltage_limit)
        self._configure("CURR", nplc=nplc, remote_sense=remote_sense)
        self.write_checked(f":SENSe1:VOLTage:PROTection {number_text(voltage_limit)}")

    def configure_voltage_source(self, *, current_limit: float, nplc: float = 1.0,
                                 voltage_range: float | None = None,
                                 remote_sense: bool = False) -> None:
        Range(1e-9, MAX_CURRENT).check("current_limit", current_limit)
        self._configure("VOLT", nplc=nplc, remote_sense=remote_sense)
        self.write_checked(f":SENSe1:CURRent:PROTection {number_text(current_limit)}")

    def set_current(self, current: float) -> None:
        Range(-MAX_CURRENT, MAX_CURRENT).check("current", current)
        self.write(f":SOURce1:CURRent {number_text(current)}")

    def set_voltage(self, voltage: float) -> None:
        Range(-MAX_VOLTAGE, MAX_VOLTAGE).check("voltage", voltage)
        self.write(f":SOURce1:VOLTage {number_text(voltage)}")

    def read_source(self) -> tuple[str, float]:
        function = self.query(":SOURce1:FUNCtion:MODE?").strip().upper()[:4]
        function = "CURR" if function == "CURR" else "VOLT"
        return function, self.query_float(f":SOURce1:{function}?")

    def describe_output(self) -> str:
        on = self.output_enabled()
        function, level = self.read_source()
        limit = self.query_float(":SENSe1:VOLTage:PROTection?" if function == "CURR"
                                 else ":SENSe1:CURRent:PROTection?")
        return output_description(on, function, level, limit)

    # -- measurement --------------------------------------------------------------------------
    def measure(self) -> tuple[float, float]:
        """One spot measurement, :MEASure? (@1): voltage, current (the elements set)."""
        return voltage_current(self.name, ":MEASure?", self.query_floats(f":MEASure? {CHANNEL}"))

    def _levels(self, levels, top: float) -> np.ndarray:
        return sweep_levels(levels, top, least=1, most=MAX_SWEEP_POINTS, what="a B2900 list")

    def _list(self, function: str, levels: np.ndarray) -> None:
        name = "CURRent" if function == "CURR" else "VOLTage"
        self.write_checked(f":SOURce1:{name}:MODE LIST")     # [:SOURce]:<f>:MODE
        self.write_checked(f":SOURce1:LIST:{name} {','.join(map(number_text, levels))}")
        self.write_checked(f":TRIGger1:ALL:COUNt {levels.size}")

    def _run(self, levels: np.ndarray, seconds: float, what: str) -> SweepReadings:
        self.write_checked(f":INITiate {CHANNEL}")
        # UNVERIFIED: that *OPC? waits for the channel's trigger system to go idle
        self.wait_complete(seconds, what)
        voltage = self.query_floats(f":FETCh:ARRay:VOLTage? {CHANNEL}")
        current = self.query_floats(f":FETCh:ARRay:CURRent? {CHANNEL}")
        if voltage.size != levels.size or current.size != levels.size:
            raise InstrumentError(self.name, ":FETCh:ARRay?",
                                  f"{voltage.size} readings for {levels.size} levels")
        return SweepReadings(source=levels, voltage=voltage, current=current)

    def _dc_sweep(self, function: str, levels, delay: float) -> SweepReadings:
        """A DC list sweep: one point per :TRIGger1:ALL:TIMer period (the delay plus the
        integration), the output on for it and as it was after; no abort on compliance (the
        guard cuts the points at the limit). The source returns to its immediate level."""
        levels = self._levels(levels, MAX_CURRENT if function == "CURR" else MAX_VOLTAGE)
        Range(0.0, 100.0).check("delay", delay)
        if self._function != function:
            raise InstrumentError(self.name, ":SOURce1:LIST",
                                  "configure the source before its sweep")
        period = delay + self._nplc / 50.0 + 1e-3
        self._list(function, levels)
        self.write_checked(":TRIGger1:ALL:SOURce TIMer")
        self.write_checked(f":TRIGger1:ALL:TIMer {number_text(period)}")
        self.write_checked(f":TRIGger1:ACQuire:DELay {number_text(delay)}")
        with output_on_during(self):
            return self._run(levels, levels.size * period, f"a {levels.size}-point sweep")

    def pulse_sweep(self, levels: np.ndarray, *, width: float, period: float,
                    voltage_limit: float) -> SweepReadings:
        """Current pulses from a 0 A base, one per period, measured from 60 % to 90 % of the
        width (acquire delay, aperture); refused before anything is sent outside the output
        range table. The output is on only for the sweep."""
        levels = self._levels(levels, MAX_PULSE_CURRENT)
        Range(0.0, MAX_VOLTAGE).check("voltage_limit", voltage_limit)
        problems = self.check_plan({"current": float(np.max(np.abs(levels))),
                                    "voltage": voltage_limit, "width": width, "period": period,
                                    "sweep_points": levels.size})
        if not 0 < width <= period:
            problems.append(f"width {width:g} s must be within the period {period:g} s")
        aperture = MEASURE_SPAN * width
        if not APERTURE[0] <= aperture <= APERTURE[1]:
            problems.append(f"an aperture of {aperture:g} s (30 % of the width) is outside "
                            f"{APERTURE[0]:g} to {APERTURE[1]:g} s")
        if problems:
            raise ValueError("; ".join(problems))
        self.write_checked(":OUTPut1:ON:AUTO OFF")
        self.write_checked(":SOURce1:FUNCtion:MODE CURRent")
        self._function = "CURR"
        self.write_checked(":SOURce1:CURRent 0")  # the pulse base
        self.write_checked(f":SENSe1:VOLTage:PROTection {number_text(voltage_limit)}")
        self.write_checked(f":SENSe1:REMote {'ON' if self.sensing == '4-wire' else 'OFF'}")
        self.write_checked(":FORMat:ELEMents:SENSe VOLTage,CURRent")
        self.write_checked(":SOURce1:FUNCtion:SHAPe PULSe")
        self.write_checked(f":SOURce1:PULSe:WIDTh {number_text(width)}")
        self.write_checked(":SOURce1:PULSe:DELay 0")
        self.write_checked(f":SENSe1:VOLTage:APERture {number_text(aperture)}")
        self._list("CURR", levels)
        self.write_checked(":TRIGger1:ALL:SOURce TIMer")
        self.write_checked(f":TRIGger1:ALL:TIMer {number_text(period)}")
        self.write_checked(f":TRIGger1:ACQuire:DELay {number_text(MEASURE_START * width)}")
        self.output_on()
        try:
            return self._run(levels, levels.size * period, f"{levels.size} pulses")
        finally:
            self.output_off()
            self.write_checked(":SOURce1:FUNCtion:SHAPe DC")
