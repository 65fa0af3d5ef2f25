"""The whole recipe checked before anything moves (``bench check``, and the runner before step 1).

Per step: every role it needs is on the station; every parameter within the sample's limits
(the sequence's ``check_limits``, log sweeps not starting at 0, result limits min <= max) and
within the declared ranges of the models that will carry it out: the sequence's ``plan`` gives
one ``check_plan`` request per role (keys in ``drivers.roles``), asked of each driver class before
anything is opened and of the connected instrument after identification (ranges it reported).
The sample's values are checked for plausibility (almost certainly a unit mistake otherwise);
those refuse unless forced. A simulated bench whose chip is not the recipe's sample says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from common.errors import BenchError, ConfigError
from drivers import driver_class
from sequences.base import Sequence

MAX_DENSITY = 1e8  # A/m^2 (10 kA/cm^2): a max_current above this for the diameter is implausible
DIAMETER_RANGE = (0.5e-6, 1e-3)  # m
WAVELENGTH_RANGE = (200e-9, 2e-6)  # m


class PlanError(ConfigError):
    """The recipe was refused before anything moved; one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("the recipe was refused before anything was sent: "
                         + "; ".join(problems))  # one line, as every refusal
        self.problems = problems


@dataclass
class StepPlan:
    """One step's plan: the instrument filling each role and what it will be asked to do."""

    name: str
    sequence: str
    instruments: dict[str, str] = field(default_factory=dict)  # role -> station instrument
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> check_plan request
    problems: list[str] = field(default_factory=list)


@dataclass
class Plan:
    steps: list[StepPlan]
    problems: list[str] = field(default_factory=list)   # sample-wide, refused
    warnings: list[str] = field(default_factory=list)   # implausible values: refused unless forced
    notices: list[str] = field(default_factory=list)    # said once, never refused

    def all_problems(self, force: bool = False) -> list[str]:
        found = list(self.problems) + ([] if force else
                                       [f"{w} (--force to run anyway)" for w in self.warnings])
        return found + [f"step {s.name}: {p}" for s in self.steps for p in s.problems]

    def raise_problems(self, force: bool = False) -> None:
        problems = self.all_problems(force)
        if problems:
            raise PlanError(problems)


def fills(model: Any, protocol: type) -> bool:
    """Whether a driver (class or connected instance) has every method of a role."""
    if not isinstance(model, type):
        return isinstance(model, protocol)
    methods = [n for n in dir(protocol) if not n.startswith("_")
               and callable(getattr(protocol, n, None))]
    return all(callable(getattr(model, n, None)) for n in methods)


def resolve_roles(sequence: type[Sequence], models: dict[str, Any]) -> dict[str, str]:
    """role -> station instrument name for one sequence; ``models`` maps instrument names to
    driver classes or connected drivers. A role is filled by the instrument of its own name,
    else by the only instrument that can act as it; an absent optional role is left out.
    ConfigError when a required role cannot be filled."""
    chosen = {}
    wanted = [(role, protocol, False) for role, protocol in sequence.roles.items()] + \
        [(role, protocol, True) for role, protocol in sequence.optional_roles.items()]
    for role, protocol, optional in wanted:
        if role in models:
            if not fills(models[role], protocol):
                raise ConfigError(f"instrument {role!r} cannot act as {protocol.__name__}")
            chosen[role] = role
            continue
        matches = [name for name, model in models.items() if fills(model, protocol)]
        if optional and not matches:
            continue
        if len(matches) != 1:
            raise ConfigError(f"sequence {sequence.name} needs a {protocol.__name__} as "
                              f"{role!r}; the station has "
                              f"{'none' if not matches else 'several: ' + ', '.join(matches)}")
        chosen[role] = matches[0]
    return chosen


def _sample_checks(recipe, plan: Plan) -> None:
    sample, limits = recipe.sample, recipe.limits
    low, high = DIAMETER_RANGE
    if not low <= sample.diameter <= high:
        plan.warnings.append(f"sample diameter {sample.diameter:g} m is outside "
                             f"{low:g}-{high:g} m: a unit mistake? (SI: metres)")
    low, high = WAVELENGTH_RANGE
    if not low <= sample.wavelength <= high:
        plan.warnings.append(f"sample wavelength {sample.wavelength:g} m is outside "
                             f"{low:g}-{high:g} m: a unit mistake? (SI: metres)")
    area = math.pi * sample.diameter**2 / 4
    if limits.max_current > MAX_DENSITY * area:
        plan.warnings.append(f"max_current {limits.max_current:g} A is more than 10 kA/cm^2 "
                             f"for a {sample.diameter:g} m diameter ({MAX_DENSITY * area:.3g} A):"
                             f" a unit mistake? (SI: amperes)")


def _chip_notice(recipe, station_config, force_sim: bool, plan: Plan) -> None:
    if not (force_sim or any(i.simulated for i in station_config.instruments.values())):
        return
    from sim_instruments.chip import ChipParameters  # only for a simulated bench

    try:
        chip = ChipParameters.from_mapping((station_config.simulation or {}).get("chip") or {})
    except (ValueError, TypeError):
        return  # the station check reports a bad chip
    differs = [f"{what} {chip_value:g} m (sample {value:g} m)" for what, chip_value, value in (
        ("diameter", chip.diameter, recipe.sample.diameter),
        ("wavelength", chip.wavelength, recipe.sample.wavelength))
        if not math.isclose(chip_value, value, rel_tol=1e-6)]
    if differs:
        plan.notices.append("the simulated chip is not the recipe's sample: "
                            + ", ".join(differs))


def _clock_check(station_config, force_sim: bool, plan: Plan) -> None:
    """A simulated clock faster or slower than real time needs every instrument simulated
    (real ones live on the wall clock); the runner checks it again once the station is open."""
    clock = (station_config.simulation or {}).get("clock") or {}
    speed = clock.get("speed", 1) if isinstance(clock, dict) else 1
    real = sorted(name for name, cfg in station_config.instruments.items()
                  if not (force_sim or cfg.simulated))
    if speed != 1 and real:
        plan.problems.append(f"simulation.clock.speed {speed:g} needs an all-simulated "
                             f"station; real: {', '.join(real)}")


def _step_checks(step, recipe, setup, models: dict[str, Any], step_plan: StepPlan) -> None:
    sequence = step.sequence
    try:
        step_plan.instruments = resolve_roles(sequence, models)
    except ConfigError as exc:
        step_plan.problems.append(str(exc))
        return
    for name, (low, high) in step.limits.items():
        if low is not None and high is not None and low > high:
            step_plan.problems.append(f"result limit {name}: min {low:g} > max {high:g}")
    try:
        sequence.check_limits(step.params, recipe.limits)
        roles = {role: models[name] for role, name in step_plan.instruments.items()}
        step_plan.requests = sequence.plan(step.params, recipe.sample, setup, roles)
    except BenchError as exc:
        step_plan.problems.append(str(exc))
        return
    check_models(step_plan, {role: models[name]
                             for role, name in step_plan.instruments.items()})


def check_models(step_plan: StepPlan, models: dict[str, Any]) -> None:
    """Ask each role's model (class or connected driver) about its request; problems appended."""
    for role, request in step_plan.requests.items():
        model = models.get(role)
        if model is None:
            continue
        for problem in model.check_plan(request):
            step_plan.problems.append(f"{step_plan.instruments.get(role, role)}: {problem}")


def check_recipe(recipe, station_config, *, force_sim: bool = False) -> Plan:
    """The plan of every step, checked against the station's driver classes (nothing opened)."""
    station_config = station_config.resolved(force_sim=force_sim)  # driver: auto, by *IDN?
    models = {name: driver_class(cfg.driver)
              for name, cfg in station_config.instruments.items()}
    plan = Plan([StepPlan(step.name, step.sequence.name) for step in recipe.steps])
    _sample_checks(recipe, plan)
    _chip_notice(recipe, station_config, force_sim, plan)
    _clock_check(station_config, force_sim, plan)
    setup = station_config.passive
    for step, step_plan in zip(recipe.steps, plan.steps, strict=True):
        _step_checks(step, recipe, setup, models, step_plan)
    return plan


def check_connected(plan: Plan, drivers: dict[str, Any]) -> list[str]:
    """Problems the connected instruments report with the plan (e.g. a frequency beyond the
    option read from ``*OPT?``), asked after identification, before any output command."""
    problems = []
    for step_plan in plan.steps:
        connected = StepPlan(step_plan.name, step_plan.sequence, step_plan.instruments,
                             step_plan.requests)
        check_models(connected, {role: drivers[name]
                                 for role, name in step_plan.instruments.items()
                                 if name in drivers})
        problems += [f"step {step_plan.name}: {p}" for p in connected.problems]
    return problems


# units of the check_plan request keys (drivers.roles), for the printed plan
_UNITS = {"current": "A", "voltage": "V", "wavelength": "m", "power": "dBm", "start": "Hz",
          "stop": "Hz", "if_bandwidth": "Hz", "high": "V", "low": "V", "bit_rate": "b/s",
          "frequency": "Hz", "width": "s", "period": "s", "sample_rate": "Sa/s", "scale": "V"}
_ROLE_UNITS = {"spectrometer": {"start": "m", "stop": "m", "resolution": "m",
                                "integration_time": "s"}}  # where a key means something else


def format_plan(plan: Plan) -> str:
    """Each step's plan, one line per role: its instrument and settings."""
    from .display import format_quantity

    def shown(role: str, key: str, value: Any) -> str:
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(str(v) for v in value) + "]"
        units = _ROLE_UNITS.get(role, {}).get(key, _UNITS.get(key))
        if units is not None and isinstance(value, (int, float)):
            return format_quantity(float(value), units)
        return f"{value:g}" if isinstance(value, float) else str(value)

    lines = []
    for step_plan in plan.steps:
        lines.append(f"step {step_plan.name} ({step_plan.sequence})")
        for role, request in step_plan.requests.items():
            settings = ", ".join(f"{key} {shown(role, key, value)}"
                                 for key, value in request.items())
            lines.append(f"  {role:<18} {step_plan.instruments.get(role, '-'):<12} {settings}")
    return "\n".join(lines)
