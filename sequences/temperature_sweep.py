"""``temperature-sweep``: an inner sequence (``liv`` by default) at each of a list of stage
temperatures, the stage settled at each (the TEC's own tolerance verdict, with a timeout).

The inner sequence runs unchanged; its rows are stored in this step's columns with three more:
``stage_temperature`` (the set-point, K), ``measured_temperature`` (the stage as the TEC read it
once settled, K) and ``temperature_index``; an array it stores is named ``<name>_<index>``. So
each temperature's inner data can be re-analysed alone (:meth:`TemperatureSweep.inner_data`).
With a ``PulsedSource`` on the station and ``thermal_current`` given, short pulses at that
current at each temperature give the isothermal forward voltage (``pulsed_voltage_<index>``)
for the thermal resistance.

Analysis (:mod:`sequences.thermal_analysis`): the inner analysis at each temperature, its
scalar results as derived arrays against ``stage_temperature``; ``vf_temperature_coefficient``,
``characteristic_temperature``, ``peak_eqe_temperature_coefficient`` and ``thermal_resistance``.
Before the TEC moves every temperature is checked against the sample's limits and the inner
sequence's own checks and plan are run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from common.errors import ConfigError
from drivers.roles import PulsedSource, TemperatureController

from . import thermal_analysis
from .base import Dropped, Parameter, Result, Sequence, figure, split_figures
from .stage_temperature import (
    STABILITY_PARAMETERS,
    check_stability,
    settle,
)

EXTRA_COLUMNS = {"stage_temperature": "K", "measured_temperature": "K", "temperature_index": "1"}


class _InnerRoles:
    """The optional roles of the sweep: every role of every sequence that can run inside it
    (looked up when asked, as the registry imports this module). Which of them one step uses
    is the inner sequence's; ``plan`` checks that the station fills them."""

    def __get__(self, instance, owner) -> dict[str, type]:
        from . import SEQUENCES

        roles: dict[str, type] = {"pulsed_source": PulsedSource}
        for sequence in SEQUENCES.values():
            if sequence is owner or "tec" in sequence.roles:
                continue
            for role, protocol in {**sequence.optional_roles, **sequence.roles}.items():
                roles.setdefault(role, protocol)
        return roles


class TemperatureSweep(Sequence):
    name = "temperature-sweep"
    summary = "an inner sequence (liv) at each stage temperature: dVf/dT, T1, peak EQE(T), R_th"
    roles = {"tec": TemperatureController}
    optional_roles = _InnerRoles()
    parameters = {
        "temperatures": Parameter([298.15, 318.15, 338.15, 358.15], "K",
                                  "stage temperatures, in the order visited", kind=list,
                                  minimum=1.0, maximum=1000.0),
        "inner": Parameter("liv", "", "the sequence run at each temperature", kind=str),
        "inner_parameters": Parameter({}, "", "the inner sequence's parameters", kind=dict),
        "reference_current": Parameter(1e-3, "A", "current of vf_temperature_coefficient and "
                                       "characteristic_temperature", minimum=1e-12),
        "thermal_current": Parameter(None, "A", "high current of the thermal resistance "
                                     "(needs a PulsedSource); none: not measured",
                                     minimum=1e-9),
        "pulse_width": Parameter(1e-6, "s", "width of the isothermal pulses", minimum=1e-9),
        "pulse_period": Parameter(1e-3, "s", "period of the isothermal pulses", minimum=1e-8),
        "pulses": Parameter(5, "", "pulses averaged per temperature", kind=int, minimum=1,
                            maximum=1000),
        **STABILITY_PARAMETERS,
    }
    results = {
        "vf_temperature_coefficient": Result(
            "V/K", "dV_f/dT: slope of a least-squares line of V_f at reference_current "
            "(interpolated in ln I) against the measured stage temperature (Schubert, "
            "Light-Emitting Diodes, 2nd ed., ch. 6)", ("bias_current",)),
        "characteristic_temperature": Result(
            "K", "T_1 of P = P_0 exp(-T / T_1): -1 / slope of ln P at reference_current against "
            "the measured stage temperature (Schubert ch. 6)", ("bias_current",)),
        "peak_eqe_temperature_coefficient": Result(
            "1/K", "d ln(EQE_peak) / dT: slope of a least-squares line of ln peak_eqe against "
            "the measured stage temperature"),
        "thermal_resistance": Result(
            "K/W", "R_th = dT_j / (I V - P_opt) at thermal_current, dT_j = (V_DC - V_pulsed) / "
            "(dV_pulsed/dT): the forward-voltage method (Xi & Schubert, APL 85, 2163 (2004); "
            "JESD51-1), a line through the origin over the temperatures", ("bias_current",)),
    }
    derived_axes = {"forward_voltage_at_reference": {"axis": "stage_temperature"},
                    "optical_power_at_reference": {"axis": "stage_temperature"},
                    "junction_temperature_rise": {"axis": "stage_temperature"}}

    # -- parameters and the plan ---------------------------------------------------------------
    @classmethod
    def resolve(cls, params):
        """The inner sequence's parameters resolved by it (defaults filled in, bad values
        refused) and kept resolved, so that the stored parameters say everything."""
        resolved = super().resolve(params)
        inner = cls.inner_sequence(resolved)
        given = resolved["inner_parameters"]
        if not isinstance(given, dict):
            raise ConfigError("parameter inner_parameters must be a mapping of the inner "
                              "sequence's parameters")
        try:
            resolved["inner_parameters"] = inner.resolve(given)
        except ConfigError as exc:
            raise ConfigError(f"inner sequence {inner.name}: {exc}") from None
        return resolved

    @classmethod
    def inner_sequence(cls, params) -> type[Sequence]:
        from . import get_sequence

        inner = get_sequence(params["inner"])
        if inner is cls or "tec" in inner.roles:
            raise ConfigError(f"sequence {inner.name} moves the stage itself: it cannot run "
                              f"inside a temperature sweep")
        return inner

    @classmethod
    def column_units(cls, params):
        inner = cls.inner_sequence(params)
        return {**inner.column_units(params["inner_parameters"]), **EXTRA_COLUMNS}

    @classmethod
    def check_limits(cls, params, limits):
        for temperature in params["temperatures"]:
            limits.check_temperature(temperature, "stage temperature")
        check_stability(params)
        cls.inner_sequence(params).check_limits(params["inner_parameters"], limits)
        if params["thermal_current"] is not None:
            if params["pulse_width"] >= params["pulse_period"]:
                raise ConfigError(f"pulse_width {params['pulse_width']:g} s must be shorter "
                                  f"than pulse_period {params['pulse_period']:g} s")
            limits.check_pulse(params["thermal_current"],
                               params["pulse_width"] / params["pulse_period"])

    @classmethod
    def planned_points(cls, params):
        inner = cls.inner_sequence(params)
        return len(params["temperatures"]) * inner.planned_points(params["inner_parameters"])

    @classmethod
    def plan(cls, params, sample, setup, models):
        inner = cls.inner_sequence(params)
        missing = [f"{role} ({protocol.__name__})" for role, protocol in inner.roles.items()
                   if role not in models]
        if missing:
            raise ConfigError(f"the inner sequence {inner.name} needs "
                              f"{', '.join(missing)}, which the station does not fill")
        requests = inner.plan(params["inner_parameters"],
                              dataclasses.replace(sample, temperature=params["temperatures"][0]),
                              setup, {role: models[role] for role in
                                      {**inner.optional_roles, **inner.roles} if role in models})
        # one request per role: the TEC is asked here about every other set-point
        temperatures = sorted(params["temperatures"], key=lambda t: abs(t - 298.15))
        requests["tec"] = {"temperature": temperatures[-1], "tolerance": params["tolerance"],
                           "hold": params["hold"]}
        if "tec" in models:
            problems = [problem for t in temperatures[:-1]
                        for problem in models["tec"].check_plan({"temperature": t})]
            if problems:
                raise ConfigError("; ".join(problems))
        if params["thermal_current"] is not None:
            if "pulsed_source" not in models:
                raise ConfigError("thermal_current needs a PulsedSource on the station for "
                                  "the isothermal forward voltage")
            requests["pulsed_source"] = {
                "current": params["thermal_current"],
                "voltage": params["inner_parameters"].get("voltage_limit", 5.0),
                "width": params["pulse_width"], "period": params["pulse_period"],
                "sweep_points": params["pulses"]}
        return requests

    # -- acquisition ---------------------------------------------------------------------------
    def acquire(self, ctx, params):
        inner = self.inner_sequence(params)
        tec = ctx.role("tec")
        for index, temperature in enumerate(params["temperatures"]):
            ctx.progress(f"stage {temperature:g} K ({index + 1} of "
                         f"{len(params['temperatures'])})")
            measured = settle(ctx, tec, temperature, params)
            inner_ctx = _InnerContext(ctx, inner, index, temperature, measured)
            inner().acquire(inner_ctx, params["inner_parameters"])
            if params["thermal_current"] is not None:
                self._pulsed_voltage(ctx, params, index, temperature)

    @staticmethod
    def _pulsed_voltage(ctx, params, index, temperature) -> None:
        pulsed = ctx.role("pulsed_source")
        levels = np.full(params["pulses"], params["thermal_current"])
        readings = pulsed.pulse_sweep(levels, width=params["pulse_width"],
                                      period=params["pulse_period"],
                                      voltage_limit=params["inner_parameters"].get(
                                          "voltage_limit", 5.0))
        pulsed.output_off()
        attrs = {"stage_temperature": temperature, "width": params["pulse_width"],
                 "period": params["pulse_period"]}
        ctx.array(f"pulsed_voltage_{index}", readings.voltage, "V", **attrs)
        ctx.array(f"pulsed_current_{index}", readings.current, "A", **attrs)

    # -- analysis ------------------------------------------------------------------------------
    @classmethod
    def inner_data(cls, data, params, index: int) -> dict[str, np.ndarray]:
        """The inner sequence's raw data at the ``index``-th temperature, as it stored it."""
        inner = cls.inner_sequence(params)
        rows = data["temperature_index"] == index
        out = {name: data[name][rows] for name in inner.column_units(params["inner_parameters"])}
        suffix = f"_{index}"
        for name, values in data.items():
            if name.endswith(suffix) and name not in out and name not in EXTRA_COLUMNS:
                out[name.removesuffix(suffix)] = values
        return out

    @classmethod
    def analyse(cls, data, params, sample):
        inner = cls.inner_sequence(params)
        temperatures = np.asarray(params["temperatures"], dtype=float)
        count = temperatures.size
        measured = np.full(count, np.nan)
        per_temperature: dict[str, tuple[np.ndarray, str]] = {}
        vf_ref, p_ref, vf_hot, heating, pulsed = (np.full(count, np.nan) for _ in range(5))
        i_ref, i_hot = params["reference_current"], params["thermal_current"]
        reasons: dict[str, str] = {}
        for k, temperature in enumerate(temperatures):
            rows = data["temperature_index"] == k
            if not np.any(rows):
                continue  # not measured (a sweep ended early)
            measured[k] = float(np.mean(data["measured_temperature"][rows]))
            part = cls.inner_data(data, params, k)
            here = dataclasses.replace(sample, temperature=float(temperature))
            scalars, _ = split_figures(inner.analyse(part, params["inner_parameters"], here))
            for name, (value, units, _conditions) in scalars.items():
                per_temperature.setdefault(name, (np.full(count, np.nan), units))[0][k] = value
            current, voltage = part.get("current"), part.get("voltage")
            power = part.get("optical_power")
            if current is None or voltage is None:
                reasons["dc"] = f"the inner sequence {inner.name} gives no current and voltage"
                continue
            vf_ref[k] = _at(current, voltage, i_ref, reasons, "vf_ref")
            if power is not None:
                p_ref[k] = _at(current, power, i_ref, reasons, "p_ref")
            if i_hot is not None:
                vf_hot[k] = _at(current, voltage, i_hot, reasons, "hot")
                optical = 0.0 if power is None else _at(current, power, i_hot, reasons, "hot")
                heating[k] = i_hot * vf_hot[k] - optical
                if f"pulsed_voltage_{k}" in data:
                    pulsed[k] = float(np.mean(data[f"pulsed_voltage_{k}"]))
        figures: dict[str, Any] = {"stage_temperature": (temperatures, "K"),
                                   "measured_temperature": (measured, "K"),
                                   "forward_voltage_at_reference": (vf_ref, "V")}
        for name, (values, units) in per_temperature.items():
            figures[name] = (values, units)
        at_ref = lambda: {"bias_current": (i_ref, "A")}  # noqa: E731
        figure(figures, "vf_temperature_coefficient", "V/K", lambda: _or_reason(
            reasons, "vf_ref", lambda: thermal_analysis.temperature_coefficient(
                measured, vf_ref)), at_ref)
        if "optical_power" in inner.column_units(params["inner_parameters"]):
            figures["optical_power_at_reference"] = (p_ref, "W")
            figure(figures, "characteristic_temperature", "K", lambda: _or_reason(
                reasons, "p_ref", lambda: thermal_analysis.characteristic_temperature(
                    measured, p_ref)), at_ref)
        if "peak_eqe" in per_temperature:
            figure(figures, "peak_eqe_temperature_coefficient", "1/K",
                   lambda: thermal_analysis.relative_temperature_coefficient(
                       measured, per_temperature["peak_eqe"][0]))
        cls._thermal_resistance(figures, reasons, measured, vf_hot, pulsed, heating, i_hot)
        return figures

    @staticmethod
    def _thermal_resistance(figures, reasons, measured, vf_hot, pulsed, heating, i_hot):
        if i_hot is None:
            figures["thermal_resistance"] = (Dropped(
                "not measured: give thermal_current (with a PulsedSource on the station)"), "K/W")
            return
        if np.all(np.isnan(pulsed)):
            figures["thermal_resistance"] = (Dropped(
                "no pulsed (isothermal) forward voltage was taken"), "K/W")
            return
        figure(figures, "junction_temperature_rise", "K",
               lambda: thermal_analysis.junction_temperature_rise(measured, vf_hot, pulsed))
        figure(figures, "thermal_resistance", "K/W", lambda: _or_reason(
            reasons, "hot", lambda: thermal_analysis.thermal_resistance(
                measured, vf_hot, pulsed, heating)), lambda: {"bias_current": (i_hot, "A")})


def _at(current, values, at_current, reasons, key) -> float:
    """``values`` at ``at_current`` of one temperature's data, NaN with the reason kept."""
    try:
        return thermal_analysis.value_at_current(current, values, at_current)
    except ValueError as exc:
        reasons.setdefault(key, str(exc))
        return float("nan")


def _or_reason(reasons, key, compute):
    """``compute()`` unless a temperature's value could not be read (its reason raised)."""
    if key in reasons:
        raise ValueError(reasons[key])
    if "dc" in reasons:
        raise ValueError(reasons["dc"])
    return compute()


class _InnerContext:
    """What the inner sequence sees at one temperature: the step's context with its rows
    tagged by the temperature, its arrays suffixed by the temperature's index, the sample at
    the stage temperature, and only its own roles."""

    def __init__(self, ctx, inner: type[Sequence], index: int, temperature: float,
                 measured: float):
        self._ctx, self._inner, self._index = ctx, inner, index
        self._tags = {"stage_temperature": float(temperature),
                      "measured_temperature": float(measured),
                      "temperature_index": float(index)}
        self.sample = dataclasses.replace(ctx.sample, temperature=float(temperature))
        self.limits, self.setup = ctx.limits, ctx.setup
        self.earlier: dict[str, np.ndarray] = {}

    def _own(self, name: str) -> bool:
        return name in self._inner.roles or name in self._inner.optional_roles

    def role(self, name: str) -> Any:
        if not self._own(name):
            raise ConfigError(f"sequence {self._inner.name} asked for undeclared role {name!r}")
        return self._ctx.role(name)

    def has_role(self, name: str) -> bool:
        return self._own(name) and self._ctx.has_role(name)

    def points(self, **columns) -> None:
        size = np.size(next(iter(columns.values())))
        scalar = np.ndim(next(iter(columns.values()))) == 0
        tags = self._tags if scalar else {name: np.full(size, value)
                                          for name, value in self._tags.items()}
        self._ctx.points(**columns, **tags)

    def array(self, name: str, values, units: str, **attrs) -> None:
        self._ctx.array(f"{name}_{self._index}", values, units,
                        stage_temperature=self._tags["stage_temperature"], **attrs)

    def sleep(self, seconds: float) -> None:
        self._ctx.sleep(seconds)

    def now(self) -> float:
        return self._ctx.now()

    def note(self, message: str) -> None:
        self._ctx.note(f"at {self._tags['stage_temperature']:g} K: {message}")

    def progress(self, text: str) -> None:
        self._ctx.progress(f"stage {self._tags['stage_temperature']:g} K: {text}")
