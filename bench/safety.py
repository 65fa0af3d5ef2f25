"""Safe operating limits of a sample, enforced between sequences and drivers.

Sequences never hold a driver: the runner hands them guards built here, which check every level,
compliance and sweep against the sample's limits *before* the driver is called, refuse
with the limit and the requested value (never clamp), and ramp source levels in bounded steps.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from common.errors import ComplianceError, ComplianceReached, ConfigError, LimitError
from common.passive import DriveCircuit
from drivers.roles import SweepReadings


@dataclass(frozen=True)
class SafeLimits:
    """Safe operating limits of one sample, SI units. ``ramp_step`` defaults to max_current/10."""

    max_current: float
    max_voltage: float
    max_reverse_voltage: float = 5.0
    max_pulse_current: float | None = None
    max_duty_cycle: float | None = None
    ramp_step: float | None = None

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any] | None) -> SafeLimits:
        """Checked limits: each a finite positive number (NaN, inf, 1e308 and text refused, never
        read as "no limit"), currents and voltages within the largest the bench's source
        drivers declare, a ``ramp_step`` that reaches max_current in at most MAX_RAMP_LEVELS."""
        if mapping is not None and not isinstance(mapping, dict):
            raise ConfigError(f"sample limits must be a mapping, not {type(mapping).__name__}")
        mapping = dict(mapping or {})
        known = {f.name for f in fields(cls)}
        unknown = set(mapping) - known
        if unknown:
            raise ConfigError(f"unknown sample limit(s) {sorted(unknown, key=str)}; "
                              f"known: {sorted(known)}")
        for required in ("max_current", "max_voltage"):
            if required not in mapping:
                raise ConfigError(f"sample limits must give {required}")
        max_current, max_voltage = source_ranges()
        bounds = {"max_current": (max_current, "A"), "max_pulse_current": (max_current, "A"),
                  "ramp_step": (max_current, "A"), "max_voltage": (max_voltage, "V"),
                  "max_reverse_voltage": (max_voltage, "V"), "max_duty_cycle": (1.0, "")}
        for key, value in mapping.items():
            if value is None and key in _DEFAULTED:
                continue
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e18:
                value = math.inf  # refused below as any number beyond a float's range
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not math.isfinite(value) or value <= 0:
                raise ConfigError(f"sample limit {key}={value!r} must be a finite positive "
                                  f"number (SI)")
            bound, units = bounds[key]
            if value > bound:
                whose = "at most 1" if key == "max_duty_cycle" else \
                    f"within the bench's source instruments ({bound:g} {units} at most)"
                raise ConfigError(f"sample limit {key}={value!r} must be {whose}")
            mapping[key] = float(value)
        ramp_step = mapping.get("ramp_step")
        if ramp_step is not None and mapping["max_current"] / ramp_step > MAX_RAMP_LEVELS:
            raise ConfigError(f"sample limit ramp_step={ramp_step:g} A would ramp to max_current "
                              f"{mapping['max_current']:g} A in more than {MAX_RAMP_LEVELS} "
                              f"levels; give at least {mapping['max_current'] / MAX_RAMP_LEVELS:g}"
                              f" A")
        return cls(**mapping)

    @property
    def step(self) -> float:
        return self.ramp_step if self.ramp_step is not None else self.max_current / 10

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # -- checks (raise LimitError naming the limit and the value) -----------------------------
    def check_current(self, current: float, what: str = "current") -> None:
        if not np.isfinite(current) or abs(current) > self.max_current:
            raise LimitError(f"{what} {current:g} A exceeds the sample's max_current "
                             f"{self.max_current:g} A")

    def check_voltage(self, voltage: float, what: str = "voltage") -> None:
        if not np.isfinite(voltage) or voltage > self.max_voltage:
            raise LimitError(f"{what} {voltage:g} V exceeds the sample's max_voltage "
                             f"{self.max_voltage:g} V")
        if voltage < -self.max_reverse_voltage:
            raise LimitError(f"{what} {voltage:g} V exceeds the sample's max_reverse_voltage "
                             f"{self.max_reverse_voltage:g} V")

    def check_pulse(self, current: float, duty_cycle: float) -> None:
        limit = self.max_pulse_current if self.max_pulse_current is not None else self.max_current
        if abs(current) > limit:
            raise LimitError(f"pulse current {current:g} A exceeds the sample's "
                             f"max_pulse_current {limit:g} A")
        if self.max_duty_cycle is not None and duty_cycle > self.max_duty_cycle:
            raise LimitError(f"duty cycle {duty_cycle:g} exceeds the sample's max_duty_cycle "
                             f"{self.max_duty_cycle:g}")


_DEFAULTED = ("max_pulse_current", "max_duty_cycle", "ramp_step")  # null: the documented default
MAX_RAMP_LEVELS = 1000  # levels of a ramp from 0 to max_current at ramp_step


def source_ranges() -> tuple[float, float]:
    """The largest current (A) and voltage (V) any source driver of the bench declares (its
    module's ``MAX_CURRENT`` and ``MAX_VOLTAGE``): no sample limit can be beyond them."""
    from drivers import DRIVERS

    currents, voltages = [], []
    for target in DRIVERS.values():
        module = importlib.import_module(target.split(":")[0])
        if hasattr(module, "MAX_CURRENT") and hasattr(module, "MAX_VOLTAGE"):
            currents.append(float(module.MAX_CURRENT))
            voltages.append(float(module.MAX_VOLTAGE))
    return max(currents), max(voltages)


def ramp(start: float, stop: float, step: float) -> np.ndarray:
    """Intermediate levels from start to stop (stop included, start excluded), none above step."""
    count = int(np.ceil(abs(stop - start) / step)) if step > 0 else 1
    return np.linspace(start, stop, max(count, 1) + 1)[1:]


class _Guard:
    """Common part of the role guards: forwards harmless calls, hides the driver."""

    _forwarded = ("connect", "settings", "name", "idn")

    def __init__(self, driver, limits: SafeLimits):
        object.__setattr__(self, "_driver", driver)
        object.__setattr__(self, "_limits", limits)

    def __getattr__(self, attr):
        if attr in self._forwarded or attr in type(self)._passthrough:
            return getattr(self._driver, attr)
        raise AttributeError(f"a sequence may not call {attr!r} on {self._driver.name}: "
                             f"it is not part of the role")

    def __setattr__(self, attr, value):
        raise AttributeError(f"a sequence may not set {attr!r} on {self._driver.name}")


class SourceGuard(_Guard):
    """Guards an SMU (CurrentSource / VoltageSource roles)."""

    _passthrough = ("output_enabled",)

    def __init__(self, driver, limits: SafeLimits, drive: DriveMonitor | None = None):
        super().__init__(driver, limits)
        object.__setattr__(self, "_drive", drive)
        object.__setattr__(self, "_mode", None)
        object.__setattr__(self, "_level", 0.0)
        object.__setattr__(self, "_compliance", None)
        object.__setattr__(self, "_on", False)
        object.__setattr__(self, "_conducted", False)  # a reading carried its programmed current

    def _set(self, **state):
        for key, value in state.items():
            object.__setattr__(self, key, value)

    def adopt(self, function: str, level: float) -> None:
        """Take over a source found with its output on at ``level`` (``function`` "CURR" or
        "VOLT", as ``read_source`` gives it), so that ``output_off`` ramps it down in the
        sample's steps."""
        if function not in ("CURR", "VOLT"):
            raise LimitError(f"{self._driver.name}: unknown source function {function!r}")
        self._set(_mode=function, _level=float(level), _on=True,
                  _compliance=float("inf"))

    def configure_current_source(self, *, voltage_limit: float, **options) -> None:
        self._limits.check_voltage(voltage_limit, "voltage_limit")
        if self._on:
            raise LimitError("refusing to change the source mode with the output on")
        self._driver.configure_current_source(voltage_limit=voltage_limit, **options)
        self._set(_mode="CURR", _level=0.0, _compliance=voltage_limit, _conducted=False)
        self._driver.set_current(0.0)

    def configure_voltage_source(self, *, current_limit: float, **options) -> None:
        self._limits.check_current(current_limit, "current_limit")
        if self._on:
            raise LimitError("refusing to change the source mode with the output on")
        self._driver.configure_voltage_source(current_limit=current_limit, **options)
        self._set(_mode="VOLT", _level=0.0, _compliance=current_limit)
        self._driver.set_voltage(0.0)

    def _check_level(self, mode: str, level: float) -> None:
        if self._mode != mode:
            raise LimitError(f"configure the {'current' if mode == 'CURR' else 'voltage'} "
                             f"source (with its compliance) before setting a level")
        if mode == "CURR":
            self._limits.check_current(level)
            if level < 0 and self._compliance > self._limits.max_reverse_voltage:
                raise LimitError(f"negative current with voltage_limit {self._compliance:g} V "
                                 f"exceeds max_reverse_voltage "
                                 f"{self._limits.max_reverse_voltage:g} V")
        else:
            self._limits.check_voltage(level)

    @property
    def bias_current(self) -> float:
        """The most current this source can push into the chip now (A): its level in current
        mode, its compliance in voltage mode, 0 when off."""
        if not self._on:
            return 0.0
        return abs(self._level) if self._mode == "CURR" else abs(self._compliance)

    def _move(self, mode: str, level: float) -> None:
        self._check_level(mode, level)
        if (self._drive is not None and self._on and mode == "CURR"
                and abs(level) > abs(self._level)):
            self._drive.check_bias_change(self, abs(level))
        setter = self._driver.set_current if mode == "CURR" else self._driver.set_voltage
        step = self._limits.step if mode == "CURR" else self._limits.max_voltage / 10
        levels = ramp(self._level, level, step) if self._on and abs(level - self._level) > step \
            else (level,)
        for value in levels:
            setter(float(value))
            self._set(_level=float(value))

    def set_current(self, current: float) -> None:
        self._move("CURR", float(current))

    def set_voltage(self, voltage: float) -> None:
        self._move("VOLT", float(voltage))

    def output_on(self) -> None:
        if self._mode is None:
            raise LimitError("set the compliance (configure the source) before the output goes on")
        if self._level != 0.0:
            target = self._level
            (self._driver.set_current if self._mode == "CURR" else self._driver.set_voltage)(0.0)
            self._set(_level=0.0)
        else:
            target = 0.0
        self._driver.output_on()
        self._set(_on=True)
        if target:
            self._move(self._mode, target)

    def output_off(self) -> None:
        """Ramp the level down, then switch off."""
        try:
            if self._on and self._mode is not None and self._level != 0.0:
                self._move(self._mode, 0.0)
        finally:
            self._driver.output_off()
            self._set(_on=False)

    def _stuck(self, voltage, current, levels) -> np.ndarray:
        """Elementwise: a current source at its voltage limit (within 0.5 %), i.e. in compliance:
        it no longer delivers its level. (A voltage source at its current limit is its
        compliance doing its job, e.g. the top of a forward sweep: never stuck.)"""
        if self._mode != "CURR":
            return np.zeros(np.shape(levels), dtype=bool)
        return np.atleast_1d(np.abs(voltage) >= 0.995 * self._compliance)

    def _conducting(self, voltage, current, levels) -> np.ndarray:
        """Elementwise: a reading that carried its programmed (non-zero) current below the
        compliance: the chip conducts."""
        levels = np.atleast_1d(np.asarray(levels, dtype=float))
        return ((np.abs(levels) > 0) & (np.abs(current) >= 0.9 * np.abs(levels))
                & (np.abs(voltage) < 0.995 * self._compliance))

    def _compliance_error(self, voltage, current, level, reached: bool) -> ComplianceError:
        where = (f"{self._driver.name} reached its voltage limit {self._compliance:g} V at a "
                 f"programmed {level:g} A (measured {voltage:g} V, {current:g} A)")
        if reached:
            return ComplianceReached(f"{where}, after the chip had conducted: compliance", level)
        return ComplianceError(f"{where} before the chip conducted: open contact or damaged "
                               f"chip?")

    def measure(self) -> tuple[float, float]:
        """One reading. A current source pinned at its compliance raises ComplianceReached when
        the chip had conducted before (the sequence may end its sweep there), ComplianceError
        (open contact) when it never had."""
        voltage, current = self._driver.measure()
        if self._on and self._mode == "CURR":
            if self._stuck(voltage, current, self._level)[0]:
                raise self._compliance_error(voltage, current, self._level, self._conducted)
            if self._conducting(voltage, current, self._level)[0]:
                self._set(_conducted=True)
        return voltage, current

    def _sweep(self, mode: str, levels, delay: float) -> SweepReadings:
        """An instrument-side sweep. Compliance after the chip conducted ends it: the points
        before it are returned with ``stopped_at_compliance`` (the 2450 aborts there itself);
        compliance before any point conducted is an open contact (ComplianceError)."""
        levels = np.asarray(levels, dtype=float)
        if levels.ndim != 1 or levels.size == 0:
            raise LimitError("a sweep needs a non-empty 1-D list of levels")
        for value in (levels.min(), levels.max()):
            self._check_level(mode, float(value))
        if self._on:
            self._move(mode, 0.0)
        sweep = self._driver.sweep_current if mode == "CURR" else self._driver.sweep_voltage
        readings = sweep(levels, delay=delay)
        stuck = self._stuck(readings.voltage, readings.current, readings.source)
        if not (stuck.any() or readings.stopped_at_compliance):
            return readings
        kept = int(np.argmax(stuck)) if stuck.any() else readings.source.size
        level = float(levels[kept]) if kept < levels.size else float(levels[-1])
        conducted = self._mode != "CURR" or bool(np.any(self._conducting(
            readings.voltage[:kept], readings.current[:kept], readings.source[:kept])))
        if self._mode == "VOLT" and kept < 2:
            raise ComplianceError(f"{self._driver.name} reached its current limit "
                                  f"{self._compliance:g} A within the sweep's first levels "
                                  f"(from {levels[0]:g} V): a short?")
        if not conducted or kept < 2:
            i = min(kept, readings.source.size - 1)
            measured = (float(readings.voltage[i]), float(readings.current[i])) if i >= 0 \
                else (self._compliance, 0.0)  # aborted before its first reading
            raise self._compliance_error(*measured, level, False)
        return SweepReadings(readings.source[:kept], readings.voltage[:kept],
                             readings.current[:kept], stopped_at_compliance=True)

    def sweep_current(self, levels, *, delay: float = 0.0):
        return self._sweep("CURR", levels, delay)

    def sweep_voltage(self, levels, *, delay: float = 0.0):
        return self._sweep("VOLT", levels, delay)


class PassiveGuard(_Guard):
    """Guards a role that cannot harm the sample (a power meter): every role call passes."""

    def __init__(self, driver, limits: SafeLimits, passthrough: tuple[str, ...]):
        super().__init__(driver, limits)
        object.__setattr__(self, "_allowed", passthrough)

    def __getattr__(self, attr):
        if attr in self._allowed or attr in self._forwarded:
            return getattr(self._driver, attr)
        raise AttributeError(f"a sequence may not call {attr!r} on {self._driver.name}")

    _passthrough = ()


class DriveMonitor:
    """What the modulation guards of one step share: the DC bias now, and the bias tee.

    The modulation (pattern generator or VNA source) reaches the chip through the bias tee's
    modulation path Z (``modulation_impedance``), on top of the SMU's DC bias; its current is
    bounded with the real drive circuit, :class:`common.passive.DriveCircuit` (the source's own
    ``source_impedance``, EMF twice the level programmed into 50 ohm, the chip taken as a short).
    The bias now is the level of every current-mode source whose output is on; a voltage-mode
    source counts with its current compliance (the most it can drive).
    """

    def __init__(self, modulation_impedance: float):
        self.modulation_impedance = modulation_impedance  # ohm, the bias tee's modulation path
        self.sources: list[SourceGuard] = []
        self.modulations: list[PatternGuard | NetworkAnalyzerGuard] = []

    def circuit(self, driver) -> DriveCircuit:
        """The drive circuit of a modulation source (its ``source_impedance``) into the tee."""
        return DriveCircuit(float(driver.source_impedance), self.modulation_impedance)

    def bias_current(self) -> float:
        return sum(source.bias_current for source in self.sources)

    def check_bias_change(self, source: SourceGuard, new_bias: float) -> None:
        """Refuse raising a bias under a running modulation beyond its limit."""
        for modulation in self.modulations:
            amount = modulation.active_modulation
            if amount:
                name, limit = modulation.limit()
                total = self.bias_current() - source.bias_current + new_bias + amount
                if total > limit:
                    raise LimitError(f"bias {new_bias:g} A with the running modulation "
                                     f"{amount:g} A exceeds the sample's {name} {limit:g} A")

    def check(self, modulation: float, limit: float, limit_name: str, what: str) -> None:
        """Refuse when bias + modulation (A) exceeds ``limit`` (A)."""
        bias = self.bias_current()
        if not np.isfinite(modulation) or bias + modulation > limit:
            raise LimitError(f"{what} {modulation:g} A on top of the bias {bias:g} A exceeds the "
                             f"sample's {limit_name} {limit:g} A")


class PatternGuard(_Guard):
    """Guards a pattern generator driving the chip through the bias tee.

    The peak chip current is taken as bias + 2 (high - low) / (R_source + Z): the full swing of
    the generator's EMF into the tee path with the chip as a short
    (:meth:`common.passive.DriveCircuit.swing_current`), which bounds the peak for any pattern's
    mark density and any chip resistance. It must stay within ``max_pulse_current`` (``max_current``
    when unset), checked when the levels are set and again when the output goes on (the bias may
    have changed in between); the output cannot go on before levels are set through the guard.
    A peak above ``max_current`` is pulsed drive: the pattern's share of ones (its duty cycle)
    must then stay within ``max_duty_cycle``; a pattern not set through the guard counts as 1.
    """

    _passthrough = ("set_bit_rate", "min_bit_rate", "max_bit_rate", "source_impedance",
                    "level_resolution")

    def __init__(self, driver, limits: SafeLimits, drive: DriveMonitor):
        super().__init__(driver, limits)
        object.__setattr__(self, "_drive", drive)
        object.__setattr__(self, "_swing_current", None)
        object.__setattr__(self, "_on", False)
        object.__setattr__(self, "_duty", 1.0)
        drive.modulations.append(self)

    @property
    def active_modulation(self) -> float:
        return self._swing_current if self._on else 0.0

    def limit(self) -> tuple[str, float]:
        limits = self._limits
        return ("max_pulse_current", limits.max_pulse_current) \
            if limits.max_pulse_current is not None else ("max_current", limits.max_current)

    def _check(self, swing_current: float, duty: float | None = None) -> None:
        self._drive.check(swing_current, self.limit()[1], self.limit()[0], "modulation swing")
        peak = self._drive.bias_current() + swing_current
        if peak > self._limits.max_current:
            self._limits.check_pulse(peak, self._duty if duty is None else duty)

    def set_pattern(self, bits) -> None:
        duty = float(np.mean(np.asarray(bits, dtype=float)))
        if self._swing_current is not None:
            self._check(self._swing_current, duty)
        self._driver.set_pattern(bits)
        object.__setattr__(self, "_duty", duty)

    def set_prbs(self, order: int) -> None:
        duty = 2 ** (order - 1) / (2**order - 1)  # ones in a maximal-length 2^n - 1 sequence
        if self._swing_current is not None:
            self._check(self._swing_current, duty)
        self._driver.set_prbs(order)
        object.__setattr__(self, "_duty", duty)

    def output_off(self) -> None:
        try:
            self._driver.output_off()
        finally:
            object.__setattr__(self, "_on", False)

    def set_levels(self, *, high: float, low: float) -> None:
        high, low = float(high), float(low)
        if not high > low:
            raise LimitError(f"pattern levels need high > low, got high {high:g} V, "
                             f"low {low:g} V")
        swing = self._drive.circuit(self._driver).swing_current(high, low)
        self._check(swing)
        self._driver.set_levels(high=high, low=low)
        object.__setattr__(self, "_swing_current", swing)

    def output_on(self) -> None:
        if self._swing_current is None:
            raise LimitError("set the pattern levels before the generator's output goes on")
        self._check(self._swing_current)
        self._driver.output_on()
        object.__setattr__(self, "_on", True)


class NetworkAnalyzerGuard(_Guard):
    """Guards a VNA whose source drives the chip through the bias tee.

    A port power P (dBm into 50 ohm) is an incident amplitude a = sqrt(2 P 50) V, an EMF 2 a
    behind the port's ``source_impedance``; into the tee path Z with the chip as a short the
    current amplitude is at most 2 a / (R_source + Z)
    (:meth:`common.passive.DriveCircuit.sine_amplitude`); bias + amplitude must stay within
    ``max_current`` (a continuous modulation), checked at configuration and again when the RF
    output goes on.
    """

    _passthrough = ("measure_s21", "source_impedance")

    def __init__(self, driver, limits: SafeLimits, drive: DriveMonitor):
        super().__init__(driver, limits)
        object.__setattr__(self, "_drive", drive)
        object.__setattr__(self, "_amplitude", None)
        object.__setattr__(self, "_on", False)
        drive.modulations.append(self)

    @property
    def active_modulation(self) -> float:
        return self._amplitude if self._on else 0.0

    def limit(self) -> tuple[str, float]:
        return "max_current", self._limits.max_current

    def output_off(self) -> None:
        try:
            self._driver.output_off()
        finally:
            object.__setattr__(self, "_on", False)

    def _check(self, amplitude: float) -> None:
        self._drive.check(amplitude, self._limits.max_current, "max_current",
                          "VNA modulation amplitude")

    def configure_s21(self, *, power: float, **options) -> None:
        power = float(power)
        if not np.isfinite(power):
            raise LimitError(f"VNA power {power!r} dBm is not a number")
        amplitude = self._drive.circuit(self._driver).sine_amplitude(power)
        self._check(amplitude)
        self._driver.configure_s21(power=power, **options)
        object.__setattr__(self, "_amplitude", amplitude)

    def output_on(self) -> None:
        if self._amplitude is None:
            raise LimitError("configure the S21 sweep (its source power) before the VNA's "
                             "output goes on")
        self._check(self._amplitude)
        self._driver.output_on()
        object.__setattr__(self, "_on", True)


# == Emitter arrays and optical coupling (issue 11) ============================================

class SwitchGuard(_Guard):
    """Guards a Switch: routing the SMU to another emitter while it drives is hot switching,
    which arcs the relay and hits the new emitter with the old level. ``select`` and
    ``open_all`` are refused unless every source of the step is off or at zero *as read back
    from its instrument* (``output_enabled``, ``read_source``: what the guard remembers could be
    stale after a fault) and no modulation of the step is running.

    The runner's safe state does not open the routes: once every output is off (which it
    checks and reads back) a closed route carries nothing, the next run's safe state switches
    its sources off before any step, and every ``select`` opens all routes first; a sequence
    that wants the array disconnected at its end calls ``open_all`` itself."""

    _passthrough = ("rows", "columns", "selected")

    def __init__(self, driver, limits: SafeLimits, drive: DriveMonitor):
        super().__init__(driver, limits)
        object.__setattr__(self, "_drive", drive)

    def _check_quiet(self, what: str) -> None:
        for source in self._drive.sources:
            smu = source._driver
            if smu.output_enabled():
                function, level = smu.read_source()
                if level != 0.0:
                    units = "A" if function == "CURR" else "V"
                    raise LimitError(f"refusing to {what}: {smu.name}'s output is on at "
                                     f"{level:g} {units}; switch it off or to zero first")
        for modulation in self._drive.modulations:
            if modulation.active_modulation:
                raise LimitError(f"refusing to {what}: {modulation._driver.name}'s "
                                 f"modulation is running")

    def select(self, row: int, column: int) -> None:
        self._check_quiet(f"switch to emitter ({row}, {column})")
        self._driver.select(row, column)

    def open_all(self) -> None:
        self._check_quiet("open the switch's routes")
        self._driver.open_all()


class PositionerGuard(_Guard):
    """Guards a Positioner: every target, absolute or relative (from the position read back),
    must be a finite number within the axis's travel from the station (``travel``); refused
    before anything is sent, never clamped."""

    _passthrough = ("axes", "travel", "position", "home")

    def _moves(self, moves: dict[str, Any]) -> dict[str, float]:
        """The moves as floats, each on a known axis and finite (LimitError otherwise)."""
        checked = {}
        for axis, value in moves.items():
            if axis not in self._driver.axes:
                raise LimitError(f"{self._driver.name} has no axis {axis!r} (axes: "
                                 f"{', '.join(self._driver.axes)})")
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                    or not np.isfinite(value):
                raise LimitError(f"{self._driver.name}: {axis} = {value!r:.30} is not a "
                                 f"finite number (m)")
            checked[axis] = float(value)
        return checked

    def _within_travel(self, targets: dict[str, float]) -> None:
        for axis, target in targets.items():
            low, high = self._driver.travel(axis)
            if not low <= target <= high:
                raise LimitError(f"{self._driver.name}: {axis} = {target:g} m is outside its "
                                 f"travel {low:g} to {high:g} m")

    def move_to(self, **positions: float) -> None:
        positions = self._moves(positions)
        self._within_travel(positions)
        self._driver.move_to(**positions)

    def move_by(self, **steps: float) -> None:
        steps = self._moves(steps)
        now = self._driver.position()
        self._within_travel({axis: now[axis] + step for axis, step in steps.items()})
        self._driver.move_by(**steps)
