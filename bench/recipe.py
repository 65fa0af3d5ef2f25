"""Recipes: a sample with its safe operating limits, and the steps to run on it.

```yaml
sample:
  id: W12-D34
  diameter: 20e-6          # m, for current density
  wavelength: 450e-9       # m, power meter correction and EQE
  temperature: 298.15      # K, stage temperature for the diode fit
  limits: {max_current: 10e-3, max_voltage: 6.0, max_reverse_voltage: 10}
  attributes: {wafer: W12, die: [3, 4], lot: 7}   # free: text, numbers, short lists of them
steps:
  - sequence: liv
    name: liv_room_temperature
    params: {start: 1e-6, stop: 5e-3, points: 60}
    limits: {peak_eqe: [0.1, null]}   # pass/fail per result; null = open bound
    on_error: abort                   # or continue with the next step
```
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import ConfigError
from sequences import get_sequence
from sequences.base import Sample, Sequence

from .campaign import CAMPAIGN_COLUMNS
from .safety import SafeLimits
from .yamlio import load_yaml

_SAMPLE_KEYS = {"id", "diameter", "wavelength", "temperature", "limits", "attributes"}
MAX_ATTRIBUTES, MAX_LIST = 32, 16  # free sample attributes: how many, and items in one list
_STEP_KEYS = {"sequence", "name", "params", "limits", "on_error"}
DEFAULT_LIMITS = {"max_current": 10e-3, "max_voltage": 6.0, "max_reverse_voltage": 10.0}


@dataclass
class Step:
    name: str
    sequence: type[Sequence]
    params: dict[str, Any]
    limits: dict[str, tuple[float | None, float | None]]
    on_error: str = "abort"


@dataclass
class Recipe:
    sample: Sample
    limits: SafeLimits
    steps: list[Step]
    source: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)  # the sample's free attributes

    def check(self) -> None:
        """Refuse any step whose plan exceeds the sample's limits, before anything runs."""
        for step in self.steps:
            step.sequence.check_limits(step.params, self.limits)

    def sample_dict(self) -> dict[str, Any]:
        return {"id": self.sample.id, "diameter": self.sample.diameter,
                "wavelength": self.sample.wavelength, "temperature": self.sample.temperature,
                "limits": self.limits.to_dict(),
                **({"attributes": dict(self.attributes)} if self.attributes else {})}


def _positive(where: str, value: Any, at_most: float) -> float:
    """A finite positive number up to ``at_most`` (a bound no chip or stage reaches: 1 m, 1000 K;
    plausibility of the value is the plan check's)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e18:
        value = math.inf  # beyond a float: refused below like inf
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{where}={value!r} must be a finite positive number (SI units)")
    if value > at_most:
        raise ConfigError(f"{where}={value!r} is beyond {at_most:g} (SI units: m, K)")
    return float(value)


def _sample_id(value: Any) -> str:
    """A sample id is text (or a whole number written plainly), at most 100 characters."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigError(f"recipe: sample id must be text, not {type(value).__name__} "
                          f"({value!r:.40})")
    text = str(value)
    if not text.strip() or len(text) > 100 or not text.isprintable():
        raise ConfigError(f"recipe: sample id {text[:40]!r} must be 1 to 100 printable "
                          f"characters")
    return text


def _attribute_value(where: str, value: Any) -> Any:
    """Text (at most 100 printable characters), a finite number, or a list of up to MAX_LIST of
    them all of one kind (all text or all numbers)."""
    def scalar(item: Any) -> str:
        if isinstance(item, str) and len(item) <= 100 and item.isprintable():
            return "text"
        if isinstance(item, (int, float)) and not isinstance(item, bool) and \
                math.isfinite(item) and abs(item) <= 1e18:
            return "number"
        raise ConfigError(f"recipe: sample attribute {where}={item!r:.40} must be text (at most "
                          f"100 printable characters), a finite number or a short list of them")
    if isinstance(value, list):
        kinds = {scalar(item) for item in value}
        if not value or len(value) > MAX_LIST or len(kinds) > 1:
            raise ConfigError(f"recipe: sample attribute {where} must be a list of 1 to "
                              f"{MAX_LIST} items, all text or all numbers")
        return list(value)
    scalar(value)
    return value


def parse_attributes(data: Any) -> dict[str, Any]:
    """The sample's free ``attributes`` (wafer, die, lot...): names are lower-case identifiers
    (they become columns of ``bench campaign``), values as :func:`_attribute_value` says."""
    if data is None:
        return {}
    if not isinstance(data, dict) or len(data) > MAX_ATTRIBUTES:
        raise ConfigError(f"recipe: sample attributes must be a mapping of at most "
                          f"{MAX_ATTRIBUTES} names to values")
    for name in data:
        if not isinstance(name, str) or not name.isidentifier() or name != name.lower() or \
                len(name) > 40:
            raise ConfigError(f"recipe: sample attribute name {name!r:.40} must be a lower-case "
                              f"identifier (letters, digits, _) of at most 40 characters")
        if name in CAMPAIGN_COLUMNS:
            raise ConfigError(f"recipe: sample attribute {name!r} is a column of the campaign "
                              f"table already; choose another name")
    return {name: _attribute_value(name, value) for name, value in data.items()}


def parse_sample(data: Any) -> tuple[Sample, SafeLimits]:
    if not isinstance(data, dict):
        raise ConfigError("recipe: 'sample' must be a mapping with id, diameter, wavelength, "
                          "limits")
    unknown = set(data) - _SAMPLE_KEYS
    if unknown:
        raise ConfigError(f"recipe: sample has unknown key(s) {sorted(map(str, unknown))}; "
                          f"known: {sorted(_SAMPLE_KEYS)}")
    for key in ("id", "diameter", "wavelength", "limits"):
        if key not in data:
            raise ConfigError(f"recipe: sample must give {key}")
    sample = Sample(id=_sample_id(data["id"]),
                    diameter=_positive("sample diameter", data["diameter"], at_most=1.0),
                    wavelength=_positive("sample wavelength", data["wavelength"], at_most=1.0),
                    temperature=_positive("sample temperature", data.get("temperature", 298.15),
                                          at_most=1000.0))
    parse_attributes(data.get("attributes"))
    try:
        return sample, SafeLimits.from_mapping(data["limits"])
    except ConfigError as exc:
        raise ConfigError(f"recipe: {exc}") from None


def _bound(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (isinstance(value, int) and abs(value) > 1e18) or not math.isfinite(value):
        raise ValueError(value)
    return float(value)


def _parse_limits(step: str, raw: Any) -> dict[str, tuple[float | None, float | None]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe: step {step!r} limits must map result names to [min, max]")
    out = {}
    for name, bounds in raw.items():
        try:
            if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
                raise ValueError(bounds)
            low, high = _bound(bounds[0]), _bound(bounds[1])
        except ValueError:
            raise ConfigError(f"recipe: step {step!r} limit {name} must be [min, max] "
                              f"(finite numbers or null)") from None
        if low is not None and high is not None and low > high:
            raise ConfigError(f"recipe: step {step!r} limit {name} has min {low:g} above "
                              f"max {high:g}")
        out[str(name)] = (low, high)
    return out


def parse_step(index: int, raw: Any) -> Step:
    if not isinstance(raw, dict) or "sequence" not in raw:
        raise ConfigError(f"recipe: step {index + 1} must be a mapping with a 'sequence'")
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise ConfigError(f"recipe: step {index + 1} has unknown key(s) "
                          f"{sorted(map(str, unknown))}; "
                          f"known: {sorted(_STEP_KEYS)}")
    if not isinstance(raw["sequence"], str):
        raise ConfigError(f"recipe: step {index + 1} sequence must be a name")
    sequence = get_sequence(raw["sequence"])
    if raw.get("name") is not None and not isinstance(raw["name"], str):
        raise ConfigError(f"recipe: step {index + 1} name must be text")
    name = raw.get("name") or sequence.name
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"recipe: step name {name!r} may use letters, digits, - and _ only")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"recipe: step {name!r} params must be a mapping")
    try:
        resolved = sequence.resolve(params)
    except ConfigError as exc:
        raise ConfigError(f"recipe: step {name!r}: {exc}") from None
    on_error = raw.get("on_error", "abort")
    if on_error not in ("abort", "continue"):
        raise ConfigError(f"recipe: step {name!r} on_error must be abort or continue")
    limits = _parse_limits(name, raw.get("limits"))
    unknown = sorted(set(limits) - set(sequence.results))
    if unknown and sequence.results:  # a sequence that declares no results is not checked
        raise ConfigError(f"recipe: step {name!r} has limits on {unknown}, which {sequence.name} "
                          f"does not give; its results: {', '.join(sequence.results)}")
    return Step(name, sequence, resolved, limits, on_error)


def parse_recipe(data: dict[str, Any]) -> Recipe:
    if not isinstance(data, dict):
        raise ConfigError("recipe: must be a mapping with sample and steps")
    unknown = set(data) - {"sample", "steps"}
    if unknown:
        raise ConfigError(f"recipe: unknown key(s) {sorted(map(str, unknown))}; "
                          f"known: sample, steps")
    sample, limits = parse_sample(data.get("sample"))
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ConfigError("recipe: 'steps' must be a non-empty list")
    steps = [parse_step(i, raw) for i, raw in enumerate(raw_steps)]
    names = [s.name for s in steps]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(f"recipe: step names must be unique; repeated: {sorted(duplicates)}")
    recipe = Recipe(sample, limits, steps, source=data,
                    attributes=parse_attributes(data["sample"].get("attributes")))
    recipe.check()
    return recipe


def default_sample(simulation: dict[str, Any] | None) -> dict[str, Any]:
    """The sample of ``bench run SEQUENCE``: the geometry of the station's simulated chip (the
    built-in chip when the station simulates none) with the default safe limits."""
    from sim_instruments.chip import ChipParameters

    chip = ChipParameters.from_mapping((simulation or {}).get("chip") or {})
    return {"id": "default-sample", "diameter": chip.diameter, "wavelength": chip.wavelength,
            "temperature": chip.ambient_temperature, "limits": dict(DEFAULT_LIMITS)}


def load_recipe(target: str, *, sample: dict[str, Any]) -> Recipe:
    """A recipe file, or the name of one sequence run with its defaults on ``sample``."""
    if Path(target).suffix in (".yaml", ".yml") or Path(target).exists():
        return parse_recipe(load_yaml(target, "recipe"))
    get_sequence(target)  # a clear error for an unknown name
    return parse_recipe({"sample": sample, "steps": [{"sequence": target}]})
