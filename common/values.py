"""Checks of values a user gives in a station or recipe, shared by the passive set-up and the
simulated chip: one ValueError naming the value, never an OverflowError or a silent clamp."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import fields
from typing import Any


def shown(value: Any) -> str:
    """A value as a short text for an error message (a 400-digit number is not printed)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:12]}... ({len(text)} characters)"


def checked_number(name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a float when it is a real number (not a bool) in [low, high], a ``low`` of 0
    meaning > 0; one ValueError naming ``name`` otherwise. Bounds are compared before any float
    conversion, so a 400-digit integer is refused, not an OverflowError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number, got {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {shown(value)}")
    if low == 0 and not value > 0:
        raise ValueError(f"{name} must be > 0, got {shown(value)}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {shown(value)}")
    return float(value)


def checked_keys(mapping: Any, where: str, valid, required=()) -> None:
    """A configuration block's shape: a mapping, no key beyond ``valid``, every ``required``
    key present; else one ValueError naming ``where`` (and the valid keys)."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{where} must be a mapping, got {type(mapping).__name__}")
    unknown = sorted(str(k) for k in mapping if k not in valid)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                         f"valid keys: {', '.join(valid)}")
    for key in required:
        if key not in mapping:
            raise ValueError(f"{where} needs {key}")


def from_mapping(cls: type, mapping: Any, where: str):
    """An instance of the dataclass ``cls`` from a mapping of its fields (:func:`checked_keys`
    for its shape)."""
    checked_keys(mapping, where, [f.name for f in fields(cls)])
    return cls(**mapping)
