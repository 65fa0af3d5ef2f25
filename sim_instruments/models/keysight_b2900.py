"""Simulated Keysight B2900 series SMU, channel 1 (B2900 SCPI Command Reference: SOURce, SENSe,
OUTPut, TRIGger, INITiate, MEASure and FETCh subsystems; "Source Output Ranges").

Spot measurements (``:MEASure? (@1)``) answer the elements ``:FORMat:ELEMents:SENSe`` names
(VOLTage, CURRent). A list sweep (``:SOURce1:<f>:MODE LIST``, ``:SOURce1:LIST:<f>``) runs on
``:INITiate[:IMMediate][:ALL] (@1)`` for ``:TRIGger1:ALL:COUNt`` points and its readings come
back with ``:FETCh:ARRay:VOLTage|CURRent? (@1)``. With ``:SOURce1:FUNCtion:SHAPe PULSe`` each
point is a pulse of ``:SOURce1:PULSe:WIDTh`` after ``:SOURce1:PULSe:DELay`` from the immediate
(base) level to the list level, one per ``:TRIGger1:ALL:TIMer`` period, measured
``:TRIGger1:ACQuire:DELay`` after the trigger over ``:SENSe1:VOLTage:APERture``; a pulse outside
the output range table (width, duty cycle) is refused (-222) when the sweep starts. With
``:OUTPut1:ON:AUTO ON`` (the default here, UNVERIFIED) :MEASure? and :INITiate switch the
output on. ``pulses`` keeps every pulse given to the chip: (level A, width s, period s).
"""

from __future__ import annotations

import math

import numpy as np

from . import smu_circuit
from .base import InstrumentModel, _on
from .smu_circuit import SmuState, heating_within_pulse, list_values, release

MAX_CURRENT, MAX_PULSE_CURRENT, MAX_VOLTAGE = 3.03, 10.5, 210.0
# B2901A/B2902A output ranges: (max current A, max voltage V, max width s, max duty)
PULSE_REGIONS = ((3.03, 6.3, math.inf, 1.0), (1.515, 21.0, math.inf, 1.0),
                 (0.105, 210.0, math.inf, 1.0), (10.5, 6.3, 1e-3, 0.025),
                 (1.515, 200.0, 2.5e-3, 0.025), (1.05, 180.0, 10e-3, 0.025))
CHANNEL = "(@1)"
LIST_POINTS = 2500  # [:SOURce]:LIST:<f>


def pulse_region(current: float, voltage: float):
    return smu_circuit.pulse_region(PULSE_REGIONS, current, voltage)


class KeysightB2900Model(SmuState, InstrumentModel):
    TREE = (
        ":OUTPut#[:STATe]", ":OUTPut#:ON:AUTO",
        "[:SOURce#]:FUNCtion:MODE", "[:SOURce#]:FUNCtion:SHAPe",
        "[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]",
        "[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]",
        "[:SOURce#]:CURRent:MODE", "[:SOURce#]:VOLTage:MODE",
        "[:SOURce#]:LIST:CURRent", "[:SOURce#]:LIST:VOLTage",
        "[:SOURce#]:PULSe:WIDTh", "[:SOURce#]:PULSe:DELay",
        ":SENSe#:FUNCtion[:ON]", ":SENSe#:VOLTage[:DC]:PROTection[:LEVel]",
        ":SENSe#:CURRent[:DC]:PROTection[:LEVel]", ":SENSe#:VOLTage[:DC]:NPLCycles",
        ":SENSe#:CURRent[:DC]:NPLCycles", ":SENSe#:VOLTage[:DC]:APERture",
        ":SENSe#:VOLTage[:DC]:RANGe:AUTO", ":SENSe#:CURRent[:DC]:RANGe:AUTO",
        ":SENSe#:REMote", ":FORMat:ELEMents:SENSe",
        ":TRIGger#[:ALL]:COUNt", ":TRIGger#[:ALL]:SOURce[:SIGNal]", ":TRIGger#[:ALL]:TIMer",
        ":TRIGger#:ACQuire:DELay", ":INITiate[:IMMediate][:ALL]", ":MEASure",
        ":FETCh:ARRay:VOLTage", ":FETCh:ARRay:CURRent", ":SYSTem:ERRor[:NEXT]",
    )
    KEYWORDS = ("CURRent", "VOLTage", "FIXed", "LIST", "SWEep", "DC", "PULSe", "AINT", "TIMer",
                "BUS")
    INITIAL_STATE = {"output": bool, "function": ("CURR", "VOLT"), "level": ("+-", MAX_VOLTAGE),
                     "limit": (0.0, MAX_VOLTAGE)}
    MAX_CURRENT = MAX_CURRENT

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.pulses: list[tuple[float, float, float]] = []
        self.reset()

    def reset(self) -> None:
        self.lists = {"CURR": [], "VOLT": []}
        self.elements = ["VOLT", "CURR"]
        self.readings = {"VOLT": np.empty(0), "CURR": np.empty(0)}
        self.contact_open = False
        release(self.world)

    # -- commands -----------------------------------------------------------------------------
    def handle(self, command):
        header, query, params = command.header, command.query, command.params
        if header in (":OUTPut#[:STATe]", "[:SOURce#]:FUNCtion:MODE", ":SENSe#:REMote",
                      "[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]",
                      "[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]",
                      ":SENSe#:VOLTage[:DC]:PROTection[:LEVel]",
                      ":SENSe#:CURRent[:DC]:PROTection[:LEVel]") and not query:
            if self.sim.apply(command):
                self._apply()
            return True, None
        if header == ":SENSe#:FUNCtion[:ON]" and not query:
            names = [p.strip("\"'").upper() for p in params]
            if not names or any(n not in ("VOLT", "CURR", "VOLTAGE", "CURRENT") for n in names):
                self.sim.queue_error("illegal_parameter")
            return True, None
        if header == ":FORMat:ELEMents:SENSe" and not query:
            self._load_elements(params)
            return True, None
        if header in ("[:SOURce#]:LIST:CURRent", "[:SOURce#]:LIST:VOLTage") and not query:
            self._load_list(header.split(":")[-1][:4].upper(), params)
            return True, None
        if header == ":MEASure" and query:
            return True, self._measure(params)
        if header == ":INITiate[:IMMediate][:ALL]" and not query:
            if params != (CHANNEL,):
                self.sim.queue_error("illegal_parameter")
            else:
                self._initiate()
            return True, None
        if header in (":FETCh:ARRay:VOLTage", ":FETCh:ARRay:CURRent") and query:
            data = self.readings["VOLT" if header.endswith("VOLTage") else "CURR"]
            return True, ",".join(f"{v:+.6E}" for v in data.tolist())
        return False, None

    def _load_list(self, function: str, params) -> None:
        top = MAX_PULSE_CURRENT if function == "CURR" else MAX_VOLTAGE
        values = list_values(self.sim, params, top, LIST_POINTS)
        if values is not None:
            self.lists[function] = values

    def _auto_on(self) -> bool:
        if not _on(self.sim.get("output")):
            if not _on(self.sim.get("auto_on")):
                return False
            self.sim.set("output", "1")
        return True

    def _measure(self, params) -> str | None:
        if params not in ((), (CHANNEL,)):
            self.sim.queue_error("illegal_parameter")
            return None
        if self._auto_on():
            voltage, current = self._apply()
        else:
            voltage = current = 0.0
        current, voltage = self._noisy([current, voltage])
        values = {"VOLT": voltage, "CURR": current}
        return ",".join(f"{values[e]:+.6E}" for e in self.elements)

    def _initiate(self) -> None:
        function = str(self.sim.get("function"))
        mode = str(self.sim.get("current_mode" if function == "CURR" else "voltage_mode"))
        count = int(self.sim.get("trigger_count"))
        levels = np.array(self.lists[function][:count], dtype=float)
        if mode != "LIST" or levels.size < count or not self._auto_on():
            self.sim.queue_error("settings_conflict")
            return
        pulsed = str(self.sim.get("shape")) == "PULS"
        if pulsed and function == "CURR":
            heating = self._pulse_heating(levels)
            if heating is None:
                return
            volts, amps = np.empty(count), np.empty(count)
            for k, (level, theta) in enumerate(zip(levels, heating, strict=True)):
                v, i = self._points(np.array([level]), float(theta))
                volts[k], amps[k] = v[0], i[0]
        elif pulsed:
            self.sim.queue_error("settings_conflict")  # voltage pulses: not simulated
            return
        else:
            volts, amps = self._points(levels)
        self.world.apply_many(amps, volts)
        self.readings = {"VOLT": self._noisy(volts), "CURR": self._noisy(amps)}
        self._apply()  # back to the immediate (base) level

    def _pulse_heating(self, levels: np.ndarray) -> np.ndarray | None:
        width, delay = float(self.sim.get("pulse_width")), float(self.sim.get("pulse_delay"))
        period = float(self.sim.get("trigger_timer"))
        if str(self.sim.get("trigger_source")) != "TIM" or delay + width > period:
            self.sim.queue_error("settings_conflict")
            return None
        limit = float(self.sim.get("voltage_protection"))
        for level in levels:
            region = pulse_region(level, limit)
            if region is None or width > region[2] or width / period > region[3]:
                self.sim.queue_error("data_out_of_range")
                return None
        acquire = float(self.sim.get("acquire_delay")) - delay  # from the pulse's start
        aperture = float(self.sim.get("voltage_aperture"))
        tau = self.world.chip_params.thermal_time_constant
        self.pulses.extend((float(level), width, period) for level in levels)
        theta = heating_within_pulse(max(acquire, 0.0) + aperture / 2, width, period, tau)
        return np.full(levels.size, theta)
