"""Simulated Keithley 2400 SourceMeter (Model 2400 Series SourceMeter User's Manual, 2400S-900-01,
section 18 "SCPI Command Reference": SOURce, SENSe, SYSTem:RSENse, OUTPut, TRIGger, TRACe,
FORMat, READ?).

``:READ?`` answers the ``:FORMat:ELEMents`` (VOLTage, CURRent) of one reading. A list sweep
(``:SOURce:<f>:MODE LIST``, ``:SOURce:LIST:<f>`` of at most 100 values) runs on ``:INITiate``
for ``:TRIGger:COUNt`` points; with ``:TRACe:FEED SENSe`` and ``:TRACe:FEED:CONTrol NEXT`` the
readings fill the trace buffer (``:TRACe:POINts``, at most 2500), read with ``:TRACe:DATA?``.
A reading or a sweep with the output off is refused (-221, UNVERIFIED: the manual's error for
it was not found).
"""

from __future__ import annotations

import numpy as np

from .base import InstrumentModel, _on
from .smu_circuit import SmuState, list_values, release

MAX_CURRENT, MAX_VOLTAGE = 1.05, 210.0
LIST_POINTS = 100


class Keithley2400Model(SmuState, InstrumentModel):
    TREE = (
        ":OUTPut#[:STATe]", "[:SOURce#]:FUNCtion[:MODE]",
        "[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]",
        "[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]",
        "[:SOURce#]:CURRent:MODE", "[:SOURce#]:VOLTage:MODE",
        "[:SOURce#]:CURRent:RANGe:AUTO", "[:SOURce#]:VOLTage:RANGe:AUTO",
        "[:SOURce#]:LIST:CURRent", "[:SOURce#]:LIST:VOLTage", "[:SOURce#]:DELay",
        "[:SENSe#]:FUNCtion[:ON]", "[:SENSe#]:FUNCtion:CONCurrent",
        "[:SENSe#]:VOLTage[:DC]:PROTection[:LEVel]", "[:SENSe#]:CURRent[:DC]:PROTection[:LEVel]",
        "[:SENSe#]:VOLTage[:DC]:NPLCycles", "[:SENSe#]:CURRent[:DC]:NPLCycles",
        "[:SENSe#]:VOLTage[:DC]:RANGe:AUTO", "[:SENSe#]:CURRent[:DC]:RANGe:AUTO",
        ":SYSTem:RSENse", ":FORMat:ELEMents[:SENSe#]", ":TRIGger:COUNt", ":READ",
        ":INITiate[:IMMediate]", ":TRACe:CLEar", ":TRACe:POINts", ":TRACe:FEED",
        ":TRACe:FEED:CONTrol", ":TRACe:DATA", ":SYSTem:ERRor[:NEXT]",
    )
    KEYWORDS = ("CURRent", "VOLTage", "FIXed", "LIST", "SWEep", "SENSe", "NEXT", "NEVer",
                "CALCulate1", "CALCulate2")
    INITIAL_STATE = {"output": bool, "function": ("CURR", "VOLT"), "level": ("+-", MAX_VOLTAGE),
                     "limit": (0.0, MAX_VOLTAGE)}
    MAX_CURRENT = MAX_CURRENT

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.reset()

    def reset(self) -> None:
        self.lists = {"CURR": [], "VOLT": []}
        self.elements = ["VOLT", "CURR", "RES", "TIME", "STAT"]  # the manual's default
        self.trace = np.empty((0, 2))
        self.contact_open = False
        release(self.world)

    def handle(self, command):
        header, query, params = command.header, command.query, command.params
        if header in (":OUTPut#[:STATe]", "[:SOURce#]:FUNCtion[:MODE]", ":SYSTem:RSENse",
                      "[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]",
                      "[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]",
                      "[:SENSe#]:VOLTage[:DC]:PROTection[:LEVel]",
                      "[:SENSe#]:CURRent[:DC]:PROTection[:LEVel]") and not query:
            if self.sim.apply(command):
                self._apply()
            return True, None
        if header in ("[:SENSe#]:FUNCtion[:ON]", "[:SENSe#]:FUNCtion:CONCurrent") and not query:
            return True, None  # both quantities are simulated at every reading
        if header == ":FORMat:ELEMents[:SENSe#]" and not query:
            self._load_elements(params)
            return True, None
        if header in ("[:SOURce#]:LIST:CURRent", "[:SOURce#]:LIST:VOLTage") and not query:
            self._load_list(header.split(":")[-1][:4].upper(), params)
            return True, None
        if header == ":READ" and query:
            return True, self._read()
        if header == ":INITiate[:IMMediate]" and not query:
            self._initiate()
            return True, None
        if header == ":TRACe:CLEar" and not query:
            self.trace = np.empty((0, 2))
            return True, None
        if header == ":TRACe:DATA" and query:
            columns = [{"VOLT": 0, "CURR": 1}[e] for e in self.elements if e in ("VOLT", "CURR")]
            return True, ",".join(f"{v:+.6E}" for v in self.trace[:, columns].ravel().tolist())
        return False, None

    def _load_list(self, function: str, params) -> None:
        top = MAX_CURRENT if function == "CURR" else MAX_VOLTAGE
        values = list_values(self.sim, params, top, LIST_POINTS)
        if values is not None:
            self.lists[function] = values

    def _read(self) -> str | None:
        if not _on(self.sim.get("output")):
            self.sim.queue_error("settings_conflict")
            return None
        voltage, current = self._apply()
        values = dict(zip(("CURR", "VOLT"), self._noisy([current, voltage]), strict=True))
        # resistance, time and status are not simulated: the SCPI NaN stands in for them
        return ",".join(f"{values.get(e, 9.91e37):+.6E}" for e in self.elements)

    def _initiate(self) -> None:
        function = str(self.sim.get("function"))
        mode = str(self.sim.get("current_mode" if function == "CURR" else "voltage_mode"))
        count = int(self.sim.get("trigger_count"))
        if not _on(self.sim.get("output")) or mode != "LIST" or \
                len(self.lists[function]) < count:
            self.sim.queue_error("settings_conflict")
            return
        levels = np.array(self.lists[function][:count], dtype=float)
        volts, amps = self._points(levels)
        self.world.apply_many(amps, volts)
        if str(self.sim.get("trace_control")) == "NEXT":
            room = int(self.sim.get("trace_points")) - len(self.trace)
            rows = np.column_stack([self._noisy(volts), self._noisy(amps)])[:max(room, 0)]
            self.trace = np.vstack([self.trace, rows])
            if len(self.trace) >= int(self.sim.get("trace_points")):
                self.sim.set("trace_control", "NEV")  # the buffer is full: storage stops
        self._apply()
