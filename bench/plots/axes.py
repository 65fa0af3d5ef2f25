"""What every plot module shares: figures drawn off pyplot, display units and axis labels.

Figures are matplotlib ``Figure`` objects on the Agg canvas, never pyplot, so a report changes no
global matplotlib state. Files hold SI units; axes show display units (SI prefixes, current
density in A/cm^2) and say so in their labels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench.display import _CONVERSIONS, _PREFIXES, format_quantity

FIGSIZE = (7.0, 4.4)  # inches; at DPI this is 770 x 484 px
DPI = 110
NO_PREFIX = ("dB", "dBm")  # logarithmic units take no SI prefix

Plot = tuple[str, str, Figure]  # (file-name part, caption, figure)
Plots = list[Plot]


def display_scale(values: np.ndarray, units: str) -> tuple[float, str]:
    """(factor, display unit) to show ``values`` given in SI ``units`` on an axis:
    A/m^2 -> A/cm^2, dimensionless as is, otherwise the SI prefix of the largest magnitude."""
    if units in _CONVERSIONS:
        shown, factor = _CONVERSIONS[units]
        return factor, shown
    if units in ("", "1"):
        return 1.0, ""
    if units in NO_PREFIX:
        return 1.0, units
    values = np.asarray(values, dtype=float)
    finite = np.abs(values[np.isfinite(values)]) if values.size else values
    largest = float(finite.max()) if finite.size else 0.0
    if largest == 0.0:
        return 1.0, units
    for factor, prefix in _PREFIXES:
        if largest >= factor * 0.9995:
            return 1.0 / factor, ("\u00b5" if prefix == "u" else prefix) + units
    return 1.0 / _PREFIXES[-1][0], _PREFIXES[-1][1] + units


def superscripts(text: str) -> str:
    return text.replace("^2", "\u00b2").replace("^3", "\u00b3")


def axis_label(name: str, units: str) -> str:
    """``current_density``, ``A/cm^2`` -> ``current density (A/cm²)``."""
    label = name.replace("_", " ")
    units = superscripts(units)
    return f"{label} ({units})" if units else label


def scaled(values: np.ndarray, units: str) -> tuple[np.ndarray, str]:
    """``values`` in display units, and the unit."""
    values = np.asarray(values, dtype=float)
    factor, shown = display_scale(values, units)
    return values * factor, shown


def quantity(value: float, units: str) -> str:
    """A number with its display unit, for legends and titles (``1.5 mA``, ``2e+04 A/cm²``)."""
    text = format_quantity(value, units)
    number, _, unit = text.partition(" ")
    if unit.startswith("u") and unit[1:] == units:
        unit = "\u00b5" + unit[1:]
    return superscripts(f"{number} {unit}" if unit else number)


def use_log(values: np.ndarray) -> bool:
    """A log axis for positive data spanning more than two decades."""
    values = np.asarray(values, dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    return positive.size >= 2 and positive.size == np.count_nonzero(np.isfinite(values)) \
        and positive.max() / positive.min() > 100


def positive_only(values: np.ndarray) -> np.ndarray:
    """``values`` with every point a log axis cannot show (<= 0, not finite) as NaN."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def new_figure(rows: int = 1, columns: int = 1, *, height: float | None = None,
               sharex: bool = True) -> tuple[Figure, np.ndarray]:
    """A figure of ``rows`` x ``columns`` axes (constrained layout: labels never overlap) and
    its axes, flattened."""
    fig = Figure(figsize=(FIGSIZE[0], height or FIGSIZE[1]), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, sharex=sharex, squeeze=False)
    return fig, axes.ravel()


def grid(ax: Any) -> None:
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)


def result_value(step: Any, name: str) -> float | None:
    """A finite scalar result of the step, or None."""
    value = step.results.get(name, {}).get("value")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def condition(step: Any, result: str, name: str) -> float | None:
    """A condition of a result (``conditions: {name: {value, units}}``, issue 10), or None for
    results stored without conditions (older files)."""
    conditions = step.results.get(result, {}).get("conditions") or {}
    value = conditions.get(name, {}).get("value") if isinstance(conditions, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def param_value(step: Any, name: str) -> float | None:
    value = step.params.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def plain_log_ticks(ax: Any, which: str = "xy") -> None:
    """Log-axis tick labels as plain numbers (0.3, 2000), the minor ticks at 2 and 5 labelled
    too: readable on an axis spanning a decade or two, where 3x10^-1 is not."""
    from matplotlib.ticker import FuncFormatter

    def plain(value: float, _position: int) -> str:
        return f"{value:g}"

    def two_and_five(value: float, _position: int) -> str:
        mantissa = round(value / 10 ** math.floor(math.log10(value)), 6) if value > 0 else 0
        return f"{value:g}" if mantissa in (2.0, 5.0) else ""

    for name in which:
        axis = ax.xaxis if name == "x" else ax.yaxis
        if (ax.get_xscale() if name == "x" else ax.get_yscale()) != "log":
            continue
        low, high = ax.get_xlim() if name == "x" else ax.get_ylim()
        if low > 0 and high / low < 300:
            axis.set_major_formatter(FuncFormatter(plain))
            axis.set_minor_formatter(FuncFormatter(two_and_five))
