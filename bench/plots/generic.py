"""Plots of any step from its arrays: the fallback for a sequence without a plot module.

Raw arrays are drawn from their attributes, then derived arrays from their sequence's
``derived_axes``: each 1-D array against its axis or the first array of its length, complex
arrays over a frequency axis as |S| in dB, scope codes as volts against time, and other 2-D arrays
as lines per row or as images.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bench.display import format_quantity
from bench.storage import StepRecord

from .axes import (
    FIGSIZE,
    Plots,
    axis_label,
    display_scale,
    new_figure,
    scaled,
    superscripts,
    use_log,
)

MAX_PANELS = 6  # subplots per figure before starting another figure
X_AXIS_NAMES = ("frequency", "time")


# -- generic plots ---------------------------------------------------------------------------------
# Array attributes the sequences use to describe their arrays (all optional):
#   axis: name of the 1-D array along the last dimension; axes: [row axis, column axis];
#   rows: what the rows of a 2-D array are (an array name, or a word such as "acquisition");
#   columns: names of a table's columns (a table is not plotted); scaled_units with a
#   ``<prefix>_preamble`` table: integer scope codes, scaled as sequences.dynamic_analysis says.
# Raw arrays carry them in the file; derived arrays (the step's ``analysis``) take them from their
# sequence's ``derived_axes``. The two sets are plotted apart: a name may be in both.
MAX_TRACES = 12  # rows drawn as lines; a 2-D array with more rows becomes an image


def _numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "biufc" and values.ndim in (1, 2) and values.size > 0


def _attr(attrs: dict[str, dict], name: str, key: str) -> Any:
    """An array attribute as text, number or (JSON) list; None when absent."""
    value = attrs.get(name, {}).get(key)
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and value.startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _Arrays:
    """One set of plottable arrays of a step (raw or derived), and the 1-D axes they name."""

    def __init__(self, step: StepRecord, values: dict[str, np.ndarray], units: dict[str, str],
                 attrs: dict[str, dict]):
        self.step, self.units, self.attrs = step, units, attrs
        self.values = {n: np.asarray(v) for n, v in values.items() if _numeric(np.asarray(v))}

    @classmethod
    def raw(cls, step: StepRecord) -> _Arrays:
        return cls(step, step.data, step.units, step.attrs)

    @classmethod
    def derived(cls, step: StepRecord) -> _Arrays:
        from sequences import SEQUENCES

        sequence = SEQUENCES.get(step.sequence)
        return cls(step, step.analysis, step.analysis_units,
                   {} if sequence is None else sequence.derived_axes)

    def attr(self, name: str, key: str) -> Any:
        return _attr(self.attrs, name, key)

    def axis(self, name: str | None, length: int) -> str | None:
        """``name`` if it is a real 1-D array of ``length`` points."""
        values = self.values.get(name) if isinstance(name, str) else None
        if values is None or values.ndim != 1 or values.size != length \
                or values.dtype.kind == "c":
            return None
        return name

    def column_axis(self, name: str) -> str | None:
        """The x axis of an array: its ``axis`` or the column axis of ``axes``; complex data
        falls back to a ``frequency`` array of its length."""
        values = self.values[name]
        axes = self.attr(name, "axes")
        candidates = [self.attr(name, "axis"),
                      axes[-1] if isinstance(axes, list) and axes else None]
        if values.dtype.kind == "c":
            candidates.append("frequency")
        return next((c for c in candidates if self.axis(c, values.shape[-1]) and c != name),
                    None)

    def row_axis(self, name: str) -> str | None:
        values = self.values[name]
        axes = self.attr(name, "axes")
        candidates = [axes[0] if isinstance(axes, list) and len(axes) == 2 else None,
                      self.attr(name, "rows")]
        return next((c for c in candidates if self.axis(c, values.shape[0])), None)

    def scaled(self, name: str) -> tuple[np.ndarray, str]:
        return scaled(self.values[name].astype(float), self.units.get(name, ""))

    def referenced(self) -> set[str]:
        """Arrays that serve as an axis, row labels or scaling of another array."""
        names = set()
        for name, values in self.values.items():
            axis = self.column_axis(name)
            names.update(n for n in (axis, self.row_axis(name) if values.ndim == 2 else None)
                         if n and n != name)
            if _scope_preamble(self, name):
                names.add(_scope_preamble(self, name))
        return names


def _scope_preamble(arrays: _Arrays, name: str) -> str | None:
    """The preamble table that scales integer scope codes ``<prefix>_codes``."""
    if not name.endswith("_codes") or not arrays.attr(name, "scaled_units"):
        return None
    preamble = name[: -len("_codes")] + "_preamble"
    return preamble if preamble in arrays.values else None


def plots(step: StepRecord, sample: dict | None = None) -> Plots:
    """Plots of any step from its raw arrays, then from its derived arrays (see
    :func:`array_plots`); ``sample`` is not needed."""
    return array_plots(_Arrays.raw(step)) + array_plots(_Arrays.derived(step))


def array_plots(arrays: _Arrays) -> Plots:
    """Plots of one set of arrays from their attributes: 1-D arrays against their ``axis`` (or
    the first array of their length, ``frequency``/``time`` preferred), complex arrays over a
    frequency axis as 20 log10 |S| in dB, scope codes as volts against time, other 2-D arrays as
    one line per row or as an image."""
    referenced = arrays.referenced()
    plots: Plots = []
    groups: dict[str, list[str]] = {}
    by_length: dict[int, list[str]] = {}
    for name, values in arrays.values.items():
        if values.ndim != 1 or values.dtype.kind == "c" or values.size < 2:
            continue
        axis = arrays.column_axis(name)
        if axis:
            groups.setdefault(axis, []).append(name)
        elif name not in referenced:
            by_length.setdefault(values.size, []).append(name)
    for names in by_length.values():
        x_name = next((n for n in X_AXIS_NAMES if n in names), names[0])
        if len(names) == 1:
            groups.setdefault("", []).extend(names)  # a lone array: against its index
        else:
            groups.setdefault(x_name, []).extend(n for n in names if n != x_name)
    for x_name, ys in groups.items():
        for start in range(0, len(ys), MAX_PANELS):
            plots.append(_columns_figure(arrays, x_name, ys[start:start + MAX_PANELS]))
    for name, values in arrays.values.items():
        if values.ndim == 1 and values.dtype.kind == "c":
            plots.append(_traces_figure(arrays, name))
        elif values.ndim == 2 and not arrays.attr(name, "columns"):
            if _scope_preamble(arrays, name):
                plots.append(_scope_figure(arrays, name))
            elif arrays.column_axis(name) and values.shape[0] <= MAX_TRACES \
                    and not isinstance(arrays.attr(name, "axes"), list):
                plots.append(_traces_figure(arrays, name))
            else:
                plots.append(_image_figure(arrays, name))
    return plots


def _columns_figure(arrays: _Arrays, x_name: str, ys: list[str]) -> tuple[str, str, Figure]:
    step = arrays.step
    fig, axes = new_figure(len(ys), height=max(FIGSIZE[1], 1.9 * len(ys) + 0.6))
    if x_name:
        x_shown, x_unit = arrays.scaled(x_name)
        x_label = axis_label(x_name, x_unit)
    else:
        x_shown = np.arange(arrays.values[ys[0]].size)
        x_label = "point index"
    for ax, name in zip(axes, ys, strict=True):
        y_shown, y_unit = arrays.scaled(name)
        ax.plot(x_shown, y_shown, "o-" if y_shown.size <= 200 else "-", ms=3)
        ax.set_ylabel(axis_label(name, y_unit))
        ax.grid(True, which="both", alpha=0.3)
    if x_name and use_log(x_shown):
        axes[-1].set_xscale("log")
    axes[-1].set_xlabel(x_label)
    against = x_name.replace("_", " ") if x_name else "point index"
    what = ys[0].replace("_", " ") if len(ys) == 1 else f"{len(ys)} quantities"
    axes[0].set_title(f"{step.name}: {what} against {against}")
    return (f"{'_'.join(ys[:2])}", f"{', '.join(ys)} against {against}.", fig)


def _row_labels(arrays: _Arrays, name: str, rows: int) -> list[str]:
    """``bias current 1 mA``, ... from the array naming the rows, else ``row 0``, ..."""
    row_axis = arrays.row_axis(name)
    if row_axis:
        units = arrays.units.get(row_axis, "")
        return [f"{row_axis.replace('_', ' ')} {superscripts(format_quantity(v, units))}"
                for v in arrays.values[row_axis].astype(float)]
    word = arrays.attr(name, "rows")
    return [f"{word if isinstance(word, str) else 'row'} {k}" for k in range(rows)]


def _traces_figure(arrays: _Arrays, name: str) -> tuple[str, str, Figure]:
    """One line per row (a 1-D array is one row) against the column axis; complex data as
    20 log10 |S| in dB."""
    step, values = arrays.step, arrays.values[name]
    rows = np.atleast_2d(values)
    complex_data = values.dtype.kind == "c"
    if complex_data:
        with np.errstate(divide="ignore"):
            shown = 20 * np.log10(np.abs(rows))
        shown[~np.isfinite(shown)] = np.nan
        y_label, what = f"|{name}| (dB)", f"|{name}|"
    else:
        shown, y_unit = scaled(rows.astype(float), arrays.units.get(name, ""))
        y_label, what = axis_label(name, y_unit), name.replace("_", " ")
    x_name = arrays.column_axis(name)
    fig, (ax,) = new_figure()
    if x_name:
        x_shown, x_unit = arrays.scaled(x_name)
        x_label, against = axis_label(x_name, x_unit), x_name.replace("_", " ")
    else:
        x_shown, x_label, against = np.arange(rows.shape[1]), "point index", "point index"
    labels = [what] if values.ndim == 1 else _row_labels(arrays, name, rows.shape[0])
    for row, label in zip(shown, labels, strict=True):
        ax.plot(x_shown, row, "-", label=label)
    if x_name and use_log(x_shown):
        ax.set_xscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"{step.name}: {what} against {against}")
    caption = (f"20 log10 |{name}| in dB" if complex_data else what) + f" against {against}"
    if values.ndim == 2:
        caption += f", one line per {arrays.attr(name, 'rows') or 'row'}"
    return (f"{name}_db" if complex_data else name, caption + ".", fig)


def _scope_figure(arrays: _Arrays, name: str) -> tuple[str, str, Figure]:
    """Integer scope codes as volts against time, scaled by their preamble
    (sequences.dynamic_analysis.waveform_volts / waveform_time)."""
    from sequences import dynamic_analysis

    step, codes = arrays.step, arrays.values[name]
    preamble = arrays.values[_scope_preamble(arrays, name)]
    try:
        time = dynamic_analysis.waveform_time(codes.shape[-1], preamble)
        volts = dynamic_analysis.waveform_volts(codes, preamble)
    except ValueError:
        return _image_figure(arrays, name)
    prefix = name[: -len("_codes")]
    units = str(arrays.attr(name, "scaled_units"))
    t_factor, t_unit = display_scale(time, "s")
    v_factor, v_unit = display_scale(volts, units)
    labels = _row_labels(arrays, name, codes.shape[0])
    fig, (ax,) = new_figure()
    shown = range(min(codes.shape[0], MAX_TRACES))
    for k in shown:
        ax.plot(time[k] * t_factor, volts[k] * v_factor, "-", lw=1,
                alpha=1.0 if codes.shape[0] == 1 else 0.7, label=labels[k])
    ax.set_xlabel(axis_label("time", t_unit))
    ax.set_ylabel(axis_label(prefix, v_unit))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    drawn = f"{len(shown)} of {codes.shape[0]}" if codes.shape[0] > len(shown) \
        else f"{codes.shape[0]}"
    ax.set_title(f"{step.name}: {prefix} records ({drawn})")
    return (prefix, f"{prefix} scope records ({drawn}), scaled to {units} by "
                    f"{prefix}_preamble.", fig)


def _image_figure(arrays: _Arrays, name: str) -> tuple[str, str, Figure]:
    """A 2-D array as an image, on its axes' values when it names them."""
    step, values = arrays.step, arrays.values[name]
    fig, (ax,) = new_figure()
    data = np.abs(values) if values.dtype.kind == "c" else values.astype(float)
    x_name, y_name = arrays.column_axis(name), arrays.row_axis(name)
    extent, labels = [], []
    for axis_name, size, word in ((x_name, values.shape[1], "column"),
                                  (y_name, values.shape[0], "row")):
        if axis_name:
            shown, unit = arrays.scaled(axis_name)
            half = (shown[-1] - shown[0]) / (2 * (size - 1)) if size > 1 else 0.5
            extent += [shown[0] - half, shown[-1] + half]
            labels.append(axis_label(axis_name, unit))
        else:
            extent += [-0.5, size - 0.5]
            labels.append(f"{word} index (0..{size - 1})")
    image = ax.imshow(data, aspect="auto", origin="lower", interpolation="nearest",
                      cmap="viridis", extent=extent)
    units = arrays.units.get(name, "")
    shown_name = f"|{name}|" if values.dtype.kind == "c" else name.replace("_", " ")
    fig.colorbar(image, ax=ax, label=axis_label(shown_name, "" if units == "1" else units))
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(f"{step.name}: {name} ({values.shape[0]} x {values.shape[1]})")
    return (name, f"{name}: {values.shape[0]} x {values.shape[1]} array as an image.", fig)
