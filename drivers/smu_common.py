"""What the SMU drivers share beyond their command sets: option and level checks, the pulse
region look-up, the output description. Nothing here sends a command; each driver still speaks
its own instrument's language."""

from __future__ import annotations

from contextlib import contextmanager

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


def pulse_plan_problems(model: str, regions, request: dict, *, max_voltage: float,
                        outside: str, with_voltage: bool = False) -> list[str]:
    """What a pulse plan's ``current`` at ``voltage`` (the limit; ``max_voltage`` if not
    given), ``width`` and ``period`` break in the model's pulse ``regions``: no region holds
    the point (``outside`` names what was searched), or the width or the duty cycle is beyond
    the region's. ``with_voltage``: the messages name the voltage beside the current."""
    current, voltage = request.get("current", 0.0), request.get("voltage", max_voltage)
    width, period = request.get("width"), request.get("period")
    region = pulse_region(regions, current, voltage)
    if region is None:
        return [f"current={current:g} A at voltage={voltage:g} V is outside {outside}"]
    at = f"{current:g} A, {voltage:g} V" if with_voltage else f"{current:g} A"
    problems = []
    if width is not None and width > region[2]:
        problems.append(f"width={width:g} s is beyond the {region[2]:g} s the {model} allows "
                        f"at {at}")
    if width is not None and period is not None and width / period > region[3]:
        problems.append(f"duty cycle {width / period:g} is beyond the {region[3]:g} the "
                        f"{model} allows at {at}")
    return problems


@contextmanager
def output_on_during(smu):
    """The output switched on for what runs inside if it was off, and off again after (even
    on an error); an output that was on stays on."""
    was_on = smu.output_enabled()
    if not was_on:
        smu.output_on()
    try:
        yield
    finally:
        if not was_on:
            smu.output_off()


class DcSweeps:
    """The role's ``sweep_current`` and ``sweep_voltage`` of an SMU driver whose
    ``_dc_sweep(function, levels, delay)`` ("CURR" or "VOLT") runs either."""

    def sweep_current(self, levels: np.ndarray, *, delay: float = 0.0):
        return self._dc_sweep("CURR", levels, delay)

    def sweep_voltage(self, levels: np.ndarray, *, delay: float = 0.0):
        return self._dc_sweep("VOLT", levels, delay)
