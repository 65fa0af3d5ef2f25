"""Simulated Keithley 2450 SourceMeter."""

from __future__ import annotations

import re

import numpy as np

from .base import _NUMBER, InstrumentModel


class Keithley2450Model(InstrumentModel):
    """Keithley 2450: source I or V into the chip, compliance, READ?, list/lin/log sweeps."""

    _SWEEP = re.compile(
        rf":SOURce:SWEep:(CURR|VOLT):(LINear|LOG) ({_NUMBER}), ({_NUMBER}), (\d+), ({_NUMBER}), "
        r'1, BEST, OFF, OFF, "defbuffer1"$')
    _LIST_SWEEP = re.compile(rf':SOURce:SWEep:(CURR|VOLT):LIST 1, ({_NUMBER}), 1, OFF, '
                             r'"defbuffer1"$')
    _LIST = re.compile(r":SOURce:LIST:(CURR|VOLT)(:APPend)? (.+)$")
    _TRACE = re.compile(r':TRACe:DATA\? (\d+), (\d+), "defbuffer1", READ, SOUR$')

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.reset()

    def reset(self) -> None:
        self.contact_open = False
        self.buffer: list[tuple[float, float]] = []
        self.lists = {"CURR": [], "VOLT": []}
        self.sweep: tuple[str, np.ndarray] | None = None
        self.binary = False

    # -- the electrical operating point ------------------------------------------------------
    def _output_on(self) -> bool:
        return str(self.sim.get("output")) in ("1", "ON")

    def open_contact(self) -> None:
        self.contact_open = True

    def _operating_point(self, function: str, level: float) -> tuple[float, float]:
        """(voltage, current) at the chip for a programmed level, compliance included."""
        chip = self.world.chip
        if self.contact_open:  # open circuit: no current; a current source rails to its limit
            if function == "CURR":
                return float(np.sign(level)) * float(self.sim.get("voltage_limit")), 0.0
            return level, 0.0
        if function == "CURR":
            limit = float(self.sim.get("voltage_limit"))
            voltage = float(chip.steady_state(np.array([level])).voltage[0])
            if voltage > limit or voltage < -limit:  # in compliance: the limit holds the voltage
                voltage = float(np.sign(voltage) * limit)
                level = float(chip.current_at_voltage(np.array([voltage]))[0])
            return voltage, level
        limit = float(self.sim.get("current_limit"))
        current = float(chip.current_at_voltage(np.array([level]))[0])
        if abs(current) > limit:
            current = float(np.sign(current) * limit)
            level = float(chip.steady_state(np.array([current])).voltage[0])
        return level, current

    def _apply(self, function: str, level: float) -> tuple[float, float]:
        voltage, current = self._operating_point(function, level)
        self.world.apply(current, voltage)
        return voltage, current

    def _reading(self, function: str, level: float) -> tuple[float, float]:
        """(READing, SOURce) buffer elements, with measurement noise."""
        voltage, current = self._apply(function, level)
        noisy = self.world.noise.relative(np.array([voltage, current]),
                                          self.world.chip_params.noise)
        return ((float(noisy[0]), float(noisy[1])) if function == "CURR"
                else (float(noisy[1]), float(noisy[0])))

    def _level(self, function: str) -> float:
        return float(self.sim.get("source_current" if function == "CURR" else "source_voltage"))

    # -- command handling ----------------------------------------------------------------------
    def handle(self, command):
        function = str(self.sim.get("source_function"))
        if command in (":OUTPut:STATe ON", ":OUTPut:STATe OFF"):
            self.sim.set("output", command.rsplit(" ", 1)[1])
            if self._output_on():
                self._apply(function, self._level(function))
            else:
                self.world.apply(0.0, 0.0)
            return True, None
        if command.startswith((":SOURce:CURRent ", ":SOURce:VOLTage ")) and self._output_on():
            self._set_live(command)
            return True, None
        if command == ':READ? "defbuffer1", READ, SOUR':
            if not self._output_on():
                return True, "9.9100E+37,9.9100E+37"  # SCPI NaN: no source, no measurement
            reading = self._reading(function, self._level(function))
            self.buffer.append(reading)
            return True, f"{reading[0]:.6E},{reading[1]:.6E}"
        if command == ':TRACe:CLEar "defbuffer1"':
            self.buffer = []
            return True, None
        if command in (":FORMat:DATA REAL", ":FORMat:DATA ASCii"):
            self.binary = command.endswith("REAL")
            return True, None
        match = self._SWEEP.match(command)
        if match:
            func, kind, start, stop, points, _delay = match.groups()
            start, stop, points = float(start), float(stop), int(points)
            levels = (np.linspace(start, stop, points) if kind == "LINear"
                      else np.geomspace(start, stop, points))
            return self._configure_sweep(func, levels)
        match = self._LIST.match(command)
        if match:
            func, append, values = match.groups()
            try:
                values = [float(v) for v in values.split(",")]
            except ValueError:
                self.sim.queue_error("data_out_of_range")
                return True, None
            if len(values) > 100:
                self.sim.queue_error("data_out_of_range")
            else:
                self.lists[func] = (self.lists[func] if append else []) + values
            return True, None
        match = self._LIST_SWEEP.match(command)
        if match:
            return self._configure_sweep(match.group(1), np.array(self.lists[match.group(1)]))
        if command == ":INITiate":
            self._run_sweep()
            return True, None
        if command == ":TRACe:ACTual?":
            return True, str(len(self.buffer))
        match = self._TRACE.match(command)
        if match:
            return True, self._trace(int(match.group(1)), int(match.group(2)))
        return False, None

    def _set_live(self, command: str):
        """A level change while the output is on: the YAML setter checks and stores it (an
        out-of-range level queues -222), then it reaches the chip at once."""
        self.sim._match_yaml(command.encode())
        function = "CURR" if command.startswith(":SOURce:CURRent") else "VOLT"
        if function == str(self.sim.get("source_function")):
            self._apply(function, self._level(function))

    def _configure_sweep(self, function: str, levels: np.ndarray):
        limit = 1.05 if function == "CURR" else 210.0
        if levels.size < 2 or np.any(np.abs(levels) > limit):
            self.sim.queue_error("data_out_of_range")
        else:
            self.sweep = (function, levels)
            self.sim.set("source_function", function)
        return True, None

    def _run_sweep(self) -> None:
        """Trigger model of a source sweep: output on, one reading per level, source back off."""
        if self.sweep is None:
            self.sim.queue_error("command_error")
            return
        function, levels = self.sweep
        self.buffer = [self._reading(function, float(level)) for level in levels]
        if not self._output_on():
            self.world.apply(0.0, 0.0)

    def _trace(self, start: int, end: int) -> bytes | str:
        if not 1 <= start <= end <= len(self.buffer):
            self.sim.queue_error("data_out_of_range")
            return b""
        values = np.array(self.buffer[start - 1:end], dtype="<f8").ravel()
        if self.binary:
            return b"#0" + values.tobytes()  # indefinite-length block, as the 2450 sends
        return ",".join(f"{v:.6E}" for v in values)
