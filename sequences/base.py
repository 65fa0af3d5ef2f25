"""What a measurement sequence is: declared roles and parameters, acquisition, pure analysis.

A sequence talks to roles (never to a model or to VISA) through the step context the runner gives
it, and hands its raw data back as named arrays with units. ``analyse`` is a pure function of the
stored raw data giving every figure: scalar results and derived arrays (see :data:`Figures`), so a
run can be re-analysed, derived arrays included, from its file alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from common.errors import ComplianceError, ConfigError


@dataclass(frozen=True)
class Parameter:
    """One parameter of a sequence: default, SI units, accepted kind and bounds. A default of
    None makes the parameter optional: left out (or null), the sequence chooses it."""

    default: Any
    units: str = ""
    doc: str = ""
    kind: type = float
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None

    def coerce(self, name: str, value: Any) -> Any:
        if value is None and self.default is None:  # optional: the sequence picks the value
            return None
        if self.kind is list:
            items = value if isinstance(value, (list, tuple)) else None
            if items is None or not items or not all(_is_number(v) for v in items):
                raise ConfigError(f"parameter {name} must be a non-empty list of numbers")
            for item in items:
                self._bounds(name, float(item))
            return [float(v) for v in items]
        if self.kind in (float, int):
            if not _is_number(value) or (self.kind is int and float(value) != int(value)):
                raise ConfigError(f"parameter {name}={value!r} must be "
                                  f"{'a whole number' if self.kind is int else 'a number'}"
                                  f"{f' ({self.units})' if self.units else ''}")
            value = self.kind(value)
            self._bounds(name, value)
            return value
        if self.kind is bool and not isinstance(value, bool):
            raise ConfigError(f"parameter {name}={value!r} must be true or false")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"parameter {name}={value!r} must be one of {list(self.choices)}")
        return value

    def _bounds(self, name: str, value: float) -> None:
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"parameter {name}={value:g} is below its minimum {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"parameter {name}={value:g} is above its maximum {self.maximum:g}")


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(float(value)))


@dataclass(frozen=True)
class Sample:
    """The device under test as the analysis needs it (SI units)."""

    id: str
    diameter: float
    wavelength: float
    temperature: float = 298.15


class StepContext(Protocol):
    """What the runner gives a sequence while it acquires."""

    sample: Sample
    limits: Any  # bench.safety.SafeLimits
    setup: Any  # the station's passive set-up (common.passive.Setup, defaults filled in)
    # on a resume of a resumable sequence: the interrupted step's stored columns and arrays
    # (already copied into this step: skip what they cover); {} otherwise
    earlier: dict[str, np.ndarray]

    def role(self, name: str) -> Any: ...
    def has_role(self, name: str) -> bool:
        """Whether the station filled this (optional) role."""
        ...

    def points(self, **columns: float | np.ndarray) -> None:
        """Append one or more rows of the step's declared columns (and advance progress)."""
        ...

    def array(self, name: str, values: np.ndarray, units: str, **attrs: Any) -> None: ...
    def sleep(self, seconds: float) -> None:
        """Wait on the bench's clock (a simulated station may run faster than real time)."""
        ...

    def now(self) -> float:
        """Seconds on the bench's clock; differences are elapsed (e.g. stress) time."""
        ...

    def note(self, message: str) -> None:
        """Something the step's outcome should say (stored as its reason, shown)."""
        ...


class Dropped(str):
    """The value of a figure the analysis could not give: the reason, in words."""


Conditions = dict[str, tuple[float, str]]
"""The conditions a result belongs to: snake_case SI quantity -> (value, SI units), e.g.
``{"bias_current": (5e-3, "A"), "current_density": (1.59e7, "A/m^2")}``."""

Figures = dict[str, tuple[float | np.ndarray | Dropped, str] |
               tuple[float | Dropped, str, Conditions]]
"""What ``analyse`` returns: name -> (value, SI units), or (value, SI units, conditions) for a
result that belongs to conditions (:data:`Conditions`: the bias, the current density, the bit
rate it was measured at). A scalar value is a result (judged against the step's limits, stored
in the step's ``results`` with its conditions); a numpy array with at least one dimension is a
derived array (e.g. EQE against current density), stored in the step's ``analysis`` group with
its units and rewritten when the run is re-analysed; a :class:`Dropped` value is a figure that
could not be given, with its reason (every other figure is kept)."""


@dataclass(frozen=True)
class Result:
    """A scalar result a sequence declares: its SI units, a one-line definition (the formula,
    and its source where there is one) and the names of the conditions it carries."""

    units: str
    definition: str
    conditions: tuple[str, ...] = ()


def figure(figures: Figures, name: str, units: str, compute,
           conditions=None) -> None:
    """``figures[name] = (compute(), units)``, with ``conditions()`` (:data:`Conditions`) when
    given, or the figure dropped with the reason when the data cannot give it (ValueError,
    ArithmeticError in either)."""
    try:
        value = compute()
        figures[name] = (value, units, conditions()) if conditions else (value, units)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        figures[name] = (Dropped(str(exc) or type(exc).__name__), units)


def dropped_figures(figures: Figures) -> dict[str, str]:
    """name -> reason of every figure the analysis dropped."""
    return {name: str(entry[0]) for name, entry in figures.items()
            if isinstance(entry[0], Dropped)}


def split_figures(figures: Figures) -> tuple[dict[str, tuple[float, str, Conditions]],
                                             dict[str, tuple[np.ndarray, str]]]:
    """(scalar results as (value, units, conditions), derived arrays as (array, units)) of what
    ``analyse`` returned (see :data:`Figures`); a result without conditions gets ``{}``;
    dropped figures are in neither (:func:`dropped_figures`)."""
    scalars, arrays = {}, {}
    for name, (value, units, *rest) in figures.items():
        if isinstance(value, Dropped):
            continue
        if np.ndim(value) >= 1:
            arrays[name] = (np.asarray(value), units)
        else:
            conditions = rest[0] if rest else {}
            scalars[name] = (value, units, {cond: (float(v), str(u)) for cond, (v, u)
                                            in (conditions or {}).items()})
    return scalars, arrays


class Sequence:
    """Base class: subclasses fill in the class attributes and the two methods."""

    name: ClassVar[str]
    summary: ClassVar[str]
    roles: ClassVar[dict[str, type]]
    # roles used when the station has them; an absent optional role is simply left out
    optional_roles: ClassVar[dict[str, type]] = {}
    # an interrupted step goes on from what it stored (``ctx.earlier``) on --resume
    resumable: ClassVar[bool] = False
    parameters: ClassVar[dict[str, Parameter]]
    columns: ClassVar[dict[str, str]] = {}   # streamed per-point columns -> units
    # the scalar results analyse() can give: name -> units, definition, conditions (Result)
    results: ClassVar[dict[str, Result]] = {}
    # what each derived array is drawn against, for the report: {"axis": <1-D derived array>},
    # {"rows": <1-D array naming the rows>, "axis": ...} (a line per row) or
    # {"axes": [<row axis>, <column axis>]} (an image); the keys of the raw arrays' attributes
    derived_axes: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def resolve(cls, params: dict[str, Any] | None) -> dict[str, Any]:
        """Parameters with defaults filled in; unknown names and bad values raise ConfigError."""
        params = dict(params or {})
        unknown = set(params) - set(cls.parameters)
        if unknown:
            raise ConfigError(f"unknown parameter(s) {sorted(unknown)} for sequence {cls.name}; "
                              f"known: {sorted(cls.parameters)}")
        return {name: spec.coerce(name, params.get(name, spec.default))
                for name, spec in cls.parameters.items()}

    @classmethod
    def column_units(cls, params: dict[str, Any]) -> dict[str, str]:
        """Units of the streamed columns (may depend on the parameters)."""
        return dict(cls.columns)

    @classmethod
    def check_limits(cls, params: dict[str, Any], limits: Any) -> None:
        """Refuse, before anything is sent, a plan that would exceed the sample's limits."""

    @classmethod
    def planned_points(cls, params: dict[str, Any]) -> int:
        return 1

    @classmethod
    def plan(cls, params: dict[str, Any], sample: Sample, setup: Any,
             models: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """What each role will be asked to do, as ``check_plan`` requests (role -> settings, keys
        in ``drivers.roles``), for ``bench check`` and the runner's check before step 1.
        ``models``: role -> the driver class (or connected driver) that will fill it, for the
        model attributes the levels depend on (a generator's source impedance). ConfigError for
        what the sequence can already tell is impossible."""
        return {}

    def acquire(self, ctx: StepContext, params: dict[str, Any]) -> None:
        raise NotImplementedError

    @classmethod
    def analyse(cls, data: dict[str, np.ndarray], params: dict[str, Any],
                sample: Sample) -> Figures:
        """Every figure from the raw data alone (``data``: the step's columns and arrays):
        scalar results and derived arrays (:data:`Figures`)."""
        raise NotImplementedError


ON_COMPLIANCE = Parameter("stop", "", "compliance reached after the chip conducted: end the "
                          "sweep there and analyse the points (stop), or fail the step (fail)",
                          kind=str, choices=("stop", "fail"))


def smu_parameters(settle: str) -> dict[str, Parameter]:
    """The SMU settings of every sequence that biases the chip point by point; ``settle`` says
    what the wait follows."""
    return {"voltage_limit": Parameter(5.0, "V", "SMU voltage compliance", minimum=0.02),
            "nplc": Parameter(1.0, "", "SMU integration time in power-line cycles",
                              minimum=0.01, maximum=10),
            "settle": Parameter(1e-3, "s", settle, minimum=0.0),
            "on_compliance": ON_COMPLIANCE}


def stop_at_compliance(ctx: StepContext, params: dict[str, Any], current: float,
                       where: str) -> None:
    """A sweep ended at the SMU's compliance after the chip conducted, at ``current`` (A; the
    programmed current of a current source, the current limit of a voltage source), ``where``
    saying at which level: said in the step's outcome and stored as ``compliance_current`` for
    the analysis; with ``on_compliance: fail`` the step fails instead."""
    message = f"compliance reached at {current:g} A ({where}): the sweep ended there"
    if params.get("on_compliance") == "fail":
        raise ComplianceError(f"{message} (on_compliance: fail)")
    ctx.note(message)
    ctx.array("compliance_current", np.float64(current), "A",
              note="current at which the SMU reached its compliance; the sweep ended there")


def compliance_figure(data: dict[str, np.ndarray], figures: Figures) -> None:
    """The ``compliance_current`` result (A) when the sweep ended at compliance
    (:func:`stop_at_compliance`)."""
    if "compliance_current" in data:
        figures["compliance_current"] = (float(data["compliance_current"]), "A")


def sweep_levels(start: float, stop: float, points: int, spacing: str) -> np.ndarray:
    """Sweep levels, log (geometric) or lin; log needs start and stop of the same sign, not 0."""
    if spacing == "log":
        if start == 0 or stop == 0 or (start > 0) != (stop > 0):
            raise ConfigError("a log sweep needs start and stop non-zero and of the same sign")
        return np.geomspace(start, stop, points)
    return np.linspace(start, stop, points)

