"""What the SMU drivers share beyond their command sets: option and level checks, the pulse
region look-up, the output description. Nothing here sends a command; each driver still speaks
its own instrument's language."""

from __future__ import annotations

import numpy as np

from .base import InstrumentError, Range

SENSES = ("2-wire", "4-wire")


def check_sense_option(model: str, options: dict) -> dict:
    """The one option ``sense`` ("2-wire" or "4-wire") of an SMU driver that takes no other."""
    unknown = sorted(set(map(str, options)) - {"sense"})
    if unknown:
        raise ValueError(f"the {model} takes the option sense, not {', '.join(unknown)}")
    sense = options.get("sense", "2-wire")
    if sense not in SENSES:
        raise ValueError(f"sense must be 2-wire or 4-wire, got {sense!r}")
    return {"sense": sense}


def pulse_region(regions, current: float, voltage: float):
    """The most permissive of ``regions`` (max current A, max voltage V, max width s, max duty)
    holding |current| at |voltage|, or None."""
    fits = [r for r in regions if abs(current) <= r[0] and abs(voltage) <= r[1]]
    return max(fits, key=lambda r: (r[2], r[3])) if fits else None


def sweep_levels(levels, top: float, *, least: int, most: int, what: str,
                 unit: str = "levels") -> np.ndarray:
    """``levels`` as a 1-D float array of ``least`` to ``most`` values within +-``top``,
    refused before anything is sent (ValueError naming ``what``, e.g. "a 2400 list")."""
    levels = np.asarray(levels, dtype=float)
    if levels.ndim != 1 or not least <= levels.size <= most:
        raise ValueError(f"{what} takes {least} to {most} {unit}, got {levels.size}")
    for level in (levels.min(), levels.max()):
        Range(-top, top).check("sweep level", level)
    return levels


def voltage_current(name: str, command: str, values) -> tuple[float, float]:
    """The two numbers of one reading, (voltage, current) in the order the driver asked for."""
    if len(values) != 2:
        raise InstrumentError(name, command, f"expected 2 values, got {len(values)}")
    return float(values[0]), float(values[1])


def output_description(on: bool, function: str, level: float, limit: float) -> str:
    """"output ON, source 0.01 A, limit 5 V": the state, level and limit read back."""
    unit, limit_unit = ("A", "V") if function == "CURR" else ("V", "A")
    return (f"output {'ON' if on else 'OFF'}, source {level:g} {unit}, limit {limit:g} "
            f"{limit_unit}")
