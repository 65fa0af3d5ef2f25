"""``burn-in``: constant-current stress at a stage temperature, with checkpoints, TM-21 analysis.

The stage is brought to ``temperature`` and held (the TEC's own tolerance verdict); the chip is
stressed at ``current``. The stress time counts only while the stress current flows. Under
stress the optical power and forward voltage are read every ``monitor_interval`` of stress
(rows with ``checkpoint`` -1, the stress undisturbed); at ``checkpoints`` log-spaced stress times
(and at 0 before any stress) a checkpoint row is taken: optical power and forward voltage at
the stress current, then the leakage current at ``reverse_voltage`` (the stress briefly off),
and with ``liv_points`` a short LIV up to the stress current (arrays ``liv_*_<checkpoint>``).
Every row is stored as it is taken.

Resumable: a run killed in the middle and resumed (``bench run --resume``) gets its stored rows
back (``ctx.earlier``); the stress time reached by the last stored row is counted, the
checkpoints already taken are skipped, and the stress goes on (the stage settled again first).
Stress applied after the last stored row is lost from the count: at most one monitor interval
plus the file's flush interval.

Analysis (:mod:`sequences.lifetime_analysis`): the TM-21 fit of every optical power reading
under stress (checkpoints and monitor rows),
``decay_rate``, ``l70`` and ``l50`` (capped at 6x / 5.5x the test duration, ``l70_capped`` and
``l50_capped`` 1 when they are), the forward-voltage drift and leakage growth.
"""

from __future__ import annotations

import math

import numpy as np

from common.errors import ConfigError
from drivers.roles import PowerMeter, SourceMeter, TemperatureController

from . import dc_analysis, lifetime_analysis
from .base import Dropped, Parameter, Result, Sequence, figure
from .lifetime_analysis import HOUR
from .stage_temperature import (
    STABILITY_PARAMETERS,
    check_stability,
    settle,
)

MONITOR = -1.0  # the checkpoint column of a monitor row (read under stress, no leakage)
CAP_NOTE = ("TM-21-11: L_p = ln(B / p) / alpha of the decay_rate fit, limited to 6x the test "
            "duration for 20 units or more, 5.5x for fewer")


def _projection_results(p: int) -> dict[str, Result]:
    return {f"l{p}": Result("s", f"stress time to {p} % of the initial optical power, "
                            f"{CAP_NOTE}; the limit when capped", ("current_density",
                                                                    "stress_temperature")),
            f"l{p}_capped": Result("1", f"1 when l{p} is the TM-21 limit (the projection "
                                   f"reaches beyond it: report as > l{p}), else 0")}


class BurnIn(Sequence):
    name = "burn-in"
    summary = "constant-current stress at a stage temperature: TM-21 decay rate, L70, L50"
    resumable = True
    roles = {"smu": SourceMeter, "power_meter": PowerMeter, "tec": TemperatureController}
    parameters = {
        "current": Parameter(5e-3, "A", "stress current", minimum=1e-9),
        "temperature": Parameter(358.15, "K", "stage temperature of the stress", minimum=1.0,
                                 maximum=1000.0),
        "duration": Parameter(3.6e6, "s", "planned stress time (1000 h by default)",
                              minimum=0.01),
        "checkpoints": Parameter(20, "", "log-spaced checkpoints over the stress (besides the "
                                 "one at 0)", kind=int, minimum=2, maximum=1000),
        "first_checkpoint": Parameter(None, "s", "stress time of the first checkpoint "
                                      "(default duration / 100)", minimum=1e-3),
        "monitor_interval": Parameter(None, "s", "stress time between two readings under "
                                      "stress (default duration / 200, at most 600 s)",
                                      minimum=1e-3),
        "reverse_voltage": Parameter(-5.0, "V", "bias at which the leakage is read",
                                     maximum=-1e-3),
        "leakage_limit": Parameter(1e-4, "A", "current compliance at the reverse bias",
                                   minimum=1e-9),
        "voltage_limit": Parameter(5.0, "V", "SMU voltage compliance under stress",
                                   minimum=0.02),
        "nplc": Parameter(1.0, "", "SMU integration time in power-line cycles", minimum=0.01,
                          maximum=10),
        "settle": Parameter(1e-3, "s", "wait after each change of the source", minimum=0.0),
        "averaging": Parameter(1, "", "power meter samples per reading", kind=int, minimum=1),
        "liv_points": Parameter(0, "", "points of a short LIV at each checkpoint (0: none)",
                                kind=int, minimum=0, maximum=1000),
        "liv_start": Parameter(1e-6, "A", "first current of the checkpoints' LIV",
                               minimum=1e-12),
        "units": Parameter(1, "", "units the stress stands for (TM-21 sample size: the "
                           "projection limit)", kind=int, minimum=1),
        **STABILITY_PARAMETERS,
    }
    columns = {"stress_time": "s", "checkpoint": "1", "current": "A", "forward_voltage": "V",
               "optical_power": "W", "leakage_current": "A", "stage_temperature": "K"}
    results = {
        "decay_rate": Result("1/s", "alpha of the TM-21 fit Phi/Phi_0 = B exp(-alpha t) of the "
                             "optical power read under stress (checkpoints and monitor "
                             "readings) over the last half of the stress, "
                             "without the first 1000 h where two checkpoints or more lie "
                             "beyond (IES TM-21-11)",
                             ("current_density", "stress_temperature")),
        **_projection_results(70),
        **_projection_results(50),
        "optical_power_maintenance": Result("1", "P(end) / P(0) at the stress current, the "
                                            "last checkpoint over the first"),
        "forward_voltage_drift": Result("V", "V_f(end) - V_f(0) at the stress current, last "
                                        "checkpoint minus first"),
        "leakage_ratio": Result("1", "I_leak(end) / I_leak(0) at reverse_voltage, last "
                                "checkpoint over the first", ("reverse_voltage",)),
    }
    derived_axes = {"normalised_output": {"axis": "output_stress_time"},
                    "fitted_output": {"axis": "output_stress_time"}}

    # -- the plan ------------------------------------------------------------------------------
    @classmethod
    def checkpoint_times(cls, params) -> np.ndarray:
        """Stress times (s) of the checkpoints: 0, then log-spaced from first_checkpoint to
        duration."""
        first = params["first_checkpoint"] or params["duration"] / 100
        if first >= params["duration"]:
            raise ConfigError(f"first_checkpoint {first:g} s must come before the end of the "
                              f"stress ({params['duration']:g} s)")
        return np.concatenate([[0.0], np.geomspace(first, params["duration"],
                                                   params["checkpoints"])])

    @classmethod
    def monitor_interval(cls, params) -> float:
        return params["monitor_interval"] or min(params["duration"] / 200, 600.0)

    @classmethod
    def check_limits(cls, params, limits):
        limits.check_current(params["current"], "stress current")
        limits.check_voltage(params["voltage_limit"], "voltage_limit")
        limits.check_voltage(params["reverse_voltage"], "reverse_voltage")
        limits.check_current(params["leakage_limit"], "leakage_limit")
        limits.check_temperature(params["temperature"], "stress temperature")
        check_stability(params)
        cls.checkpoint_times(params)
        if params["liv_points"] and params["liv_points"] < 2:
            raise ConfigError("liv_points must be 0 (no LIV) or at least 2")
        if params["liv_points"] and params["liv_start"] >= params["current"]:
            raise ConfigError(f"liv_start {params['liv_start']:g} A must be below the stress "
                              f"current {params['current']:g} A")

    @classmethod
    def planned_points(cls, params):
        """Rows: the checkpoints (the one at 0 included) and about one monitor row per
        monitor interval."""
        return params["checkpoints"] + math.ceil(params["duration"] / cls.monitor_interval(params))

    @classmethod
    def plan(cls, params, sample, setup, models):
        return {"smu": {"current": max(params["current"], params["leakage_limit"]),
                        "voltage": max(params["voltage_limit"], abs(params["reverse_voltage"])),
                        "nplc": params["nplc"]},
                "power_meter": {"wavelength": sample.wavelength,
                                "averaging": params["averaging"]},
                "tec": {"temperature": params["temperature"], "tolerance": params["tolerance"],
                        "hold": params["hold"]}}

    # -- acquisition ---------------------------------------------------------------------------
    def acquire(self, ctx, params):
        smu, meter, tec = ctx.role("smu"), ctx.role("power_meter"), ctx.role("tec")
        stored = ctx.earlier.get("stress_time", np.array([]))
        stress = float(np.max(stored)) if np.size(stored) else 0.0
        taken = {int(c) for c in ctx.earlier.get("checkpoint", ()) if c >= 0}
        if np.size(stored):
            ctx.note(f"resumed at {stress / HOUR:.4g} h of stress with "
                     f"{len(taken)} checkpoint(s) taken")
        meter.configure(wavelength=ctx.sample.wavelength, averaging=params["averaging"])
        settle(ctx, tec, params["temperature"], params)
        run = _Stress(ctx, smu, meter, tec, params, stress)
        for index, at in enumerate(self.checkpoint_times(params)):
            if index in taken:
                continue
            run.stress_until(at)
            run.checkpoint(index)
        run.stop_stress()

    # -- analysis ------------------------------------------------------------------------------
    @classmethod
    def analyse(cls, data, params, sample):
        order = np.argsort(data["stress_time"], kind="stable")  # every reading under stress
        time, power = data["stress_time"][order], data["optical_power"][order]
        checkpoints = data["checkpoint"][order] >= 0
        voltage = data["forward_voltage"][order][checkpoints]
        leakage = data["leakage_current"][order][checkpoints]
        conditions = {"current_density": (dc_analysis.current_density(params["current"],
                                                                       sample.diameter),
                                          "A/m^2"),
                      "stress_temperature": (params["temperature"], "K")}
        figures = {}
        try:
            fit = lifetime_analysis.decay_fit(time, power)
        except ValueError as exc:
            fit = None
            for name in ("decay_rate", "l70", "l70_capped", "l50", "l50_capped"):
                figures[name] = (Dropped(str(exc)), cls.results[name].units)
        if fit is not None:
            figures["decay_rate"] = (fit.decay_rate, "1/s", conditions)
            for p in (70, 50):
                try:
                    projection = lifetime_analysis.lifetime(fit, p / 100, params["units"])
                except ValueError as exc:
                    figures[f"l{p}"] = (Dropped(str(exc)), "s")
                    figures[f"l{p}_capped"] = (Dropped(str(exc)), "1")
                    continue
                figures[f"l{p}"] = (projection.value, "s", conditions)
                figures[f"l{p}_capped"] = (float(projection.capped), "1")
            figures["fitted_output"] = (fit.maintenance(time), "1")
        figure(figures, "normalised_output", "1",
               lambda: lifetime_analysis.normalised_output(time, power))
        figures["output_stress_time"] = (time, "s")
        if voltage.size >= 2:
            figure(figures, "optical_power_maintenance", "1",
                   lambda: _ratio(power[checkpoints]))
            figures["forward_voltage_drift"] = (float(voltage[-1] - voltage[0]), "V")
            figure(figures, "leakage_ratio", "1", lambda: _ratio(np.abs(leakage)),
                   lambda: {"reverse_voltage": (params["reverse_voltage"], "V")})
        return figures


def _ratio(values: np.ndarray) -> float:
    """Last over first, the first positive (ValueError otherwise)."""
    if not values[0] > 0:
        raise ValueError("the first checkpoint's reading is not positive")
    return float(values[-1] / values[0])


class _Stress:
    """One session of a burn-in's stress: the stress current on and off, the stress time it
    accumulates (on the bench's clock, only while the stress current flows), and the rows."""

    def __init__(self, ctx, smu, meter, tec, params, stress_time: float):
        self.ctx, self.smu, self.meter, self.tec, self.params = ctx, smu, meter, tec, params
        self.stress = stress_time  # s of stress before the current stress interval
        self.since: float | None = None  # bench clock when the stress current came on
        self.interval = BurnIn.monitor_interval(params)

    def elapsed(self) -> float:
        """Stress time so far (s)."""
        return self.stress + (self.ctx.now() - self.since if self.since is not None else 0.0)

    def start_stress(self) -> None:
        if self.since is not None:
            return
        self.smu.configure_current_source(voltage_limit=self.params["voltage_limit"],
                                          nplc=self.params["nplc"])
        self.smu.output_on()
        before = self.ctx.now()
        self.smu.set_current(self.params["current"])  # ramped up in the sample's steps
        self.since = (before + self.ctx.now()) / 2  # the stress counts from the ramp's middle
        self.ctx.sleep(self.params["settle"])

    def stop_stress(self) -> None:
        """The stress current off (ramped down), the stress counted to the ramp's middle."""
        if self.since is None:
            return
        before = self.elapsed()
        self.smu.output_off()
        self.stress = (before + self.elapsed()) / 2
        self.since = None

    def reading(self) -> tuple[float, float, float, float]:
        """(stress time s, measured current A, forward voltage V, optical power W) at the
        stress current; the stress time is the middle of the power reading (what TM-21 fits)."""
        before = self.elapsed()
        power = self.meter.read_power()
        at = (before + self.elapsed()) / 2
        voltage, current = self.smu.measure()
        return at, current, voltage, power

    def points(self, **row) -> None:
        """One row stored, the stress time so far and planned shown with the progress."""
        self.ctx.progress(f"stress {self.elapsed() / HOUR:.4g} h of "
                          f"{self.params['duration'] / HOUR:.4g} h planned (hours)")
        self.ctx.points(**row)

    def monitor(self) -> None:
        """A row read under stress, the stress undisturbed."""
        at, current, voltage, power = self.reading()
        self.points(stress_time=at, checkpoint=MONITOR,
                    current=current, forward_voltage=voltage, optical_power=power,
                    leakage_current=math.nan, stage_temperature=self.tec.temperature())

    def stress_until(self, target: float) -> None:
        """Stress until ``target`` s of stress, a monitor row every monitor interval."""
        if target <= self.elapsed():
            return
        self.start_stress()
        while (left := target - self.elapsed()) > 0:
            self.ctx.sleep(min(left, self.interval))
            if target - self.elapsed() > 0:
                self.monitor()

    def checkpoint(self, index: int) -> None:
        """Optical power and V_f at the stress current, then the leakage with the stress off: one
        row; then the short LIV, if asked."""
        self.start_stress()
        at, current, voltage, power = self.reading()
        self.stop_stress()
        self.points(stress_time=at, checkpoint=float(index), current=current,
                    forward_voltage=voltage, optical_power=power, leakage_current=self.leakage(),
                    stage_temperature=self.tec.temperature())
        if self.params["liv_points"]:  # after the row: a resume never takes it twice
            self.short_liv(index)

    def leakage(self) -> float:
        """|I| at reverse_voltage (A)."""
        params = self.params
        self.smu.configure_voltage_source(current_limit=params["leakage_limit"],
                                          nplc=params["nplc"])
        self.smu.output_on()
        try:
            self.smu.set_voltage(params["reverse_voltage"])
            self.ctx.sleep(params["settle"])
            _, current = self.smu.measure()
        finally:
            self.smu.output_off()
        return abs(current)

    def short_liv(self, index: int) -> None:
        params = self.params
        levels = np.geomspace(params["liv_start"], params["current"], params["liv_points"])
        self.smu.configure_current_source(voltage_limit=params["voltage_limit"],
                                          nplc=params["nplc"])
        self.smu.output_on()
        readings = []
        try:
            for level in levels:
                self.smu.set_current(float(level))
                self.ctx.sleep(params["settle"])
                voltage, current = self.smu.measure()
                readings.append((current, voltage, self.meter.read_power()))
        finally:
            self.smu.output_off()
        current, voltage, power = np.array(readings).T
        attrs = {"checkpoint": index}
        self.ctx.array(f"liv_current_{index}", current, "A", **attrs)
        self.ctx.array(f"liv_voltage_{index}", voltage, "V", **attrs)
        self.ctx.array(f"liv_optical_power_{index}", power, "W", **attrs)
