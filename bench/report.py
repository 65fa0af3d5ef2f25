"""``bench report``: PNG plots of every step and one self-contained HTML page per run.

Plots are drawn on matplotlib ``Figure`` objects with the Agg canvas, never through pyplot, so
making a report changes no global matplotlib state (a notebook keeps its own backend). Files stay
in SI units; axes show display units (SI prefixes, current density in A/cm^2) and say so.

Known sequences get their natural plots (liv: L-I-V and its derived EQE/WPE against current
density; iv: |I| against V on a log axis); any other step gets generic plots of its raw arrays,
guided by their attributes, then of its derived arrays, guided by its sequence's
``derived_axes`` (see "generic plots" below): each 1-D array against its axis or the first
array of its length, complex arrays over a frequency axis as |S| in dB, scope codes as volts
against time, and other 2-D arrays as lines per row or as images.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import __version__
from .display import _CONVERSIONS, _PREFIXES, format_limits, format_quantity, verdict
from .storage import RunRecord, StepRecord, check_new_dir, now_iso, read_run

FIGSIZE = (7.0, 4.4)  # inches; at DPI this is 770 x 484 px
DPI = 110
MAX_PANELS = 6  # generic plots: subplots per figure before starting another figure
X_AXIS_NAMES = ("frequency", "time")
NO_PREFIX = ("dB", "dBm")  # logarithmic units take no SI prefix


@dataclass
class Report:
    """What :func:`write_report` wrote."""

    html: Path
    plots: list[Path]


# -- display units ---------------------------------------------------------------------------------
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
    finite = np.abs(values[np.isfinite(values)]) if values.size else values
    largest = float(finite.max()) if finite.size else 0.0
    if largest == 0.0:
        return 1.0, units
    for factor, prefix in _PREFIXES:
        if largest >= factor * 0.9995:
            return 1.0 / factor, ("\u00b5" if prefix == "u" else prefix) + units
    return 1.0 / _PREFIXES[-1][0], _PREFIXES[-1][1] + units


def _superscripts(text: str) -> str:
    return text.replace("^2", "\u00b2").replace("^3", "\u00b3")


def axis_label(name: str, units: str) -> str:
    """``current_density``, ``A/cm^2`` -> ``current density (A/cm²)``."""
    label = name.replace("_", " ")
    units = _superscripts(units)
    return f"{label} ({units})" if units else label


def _scaled(values: np.ndarray, units: str) -> tuple[np.ndarray, str]:
    factor, shown = display_scale(values, units)
    return values * factor, shown


def _use_log(values: np.ndarray) -> bool:
    """A log axis for positive data spanning more than two decades."""
    positive = values[np.isfinite(values) & (values > 0)]
    return positive.size >= 2 and positive.size == np.count_nonzero(np.isfinite(values)) \
        and positive.max() / positive.min() > 100


def _new_figure(rows: int = 1, height: float | None = None) -> tuple[Figure, Any]:
    fig = Figure(figsize=(FIGSIZE[0], height or FIGSIZE[1]), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, axes


# -- plots of known sequences ----------------------------------------------------------------------
Plots = list[tuple[str, str, Figure]]  # (file-name part, caption, figure)


def liv_plots(step: StepRecord, sample: dict) -> Plots:
    """L-I-V on twin axes, then the derived EQE and WPE against current density."""
    current, voltage, power = (np.asarray(step.data[k], dtype=float)
                               for k in ("current", "voltage", "optical_power"))
    plots: Plots = []
    i_shown, i_unit = _scaled(current, step.units.get("current", "A"))
    v_shown, v_unit = _scaled(voltage, step.units.get("voltage", "V"))
    p_shown, p_unit = _scaled(power, step.units.get("optical_power", "W"))
    fig, (ax,) = _new_figure()
    ax.plot(i_shown, v_shown, "o-", color="C0", ms=3, label="voltage")
    ax.set_xlabel(axis_label("current", i_unit))
    ax.set_ylabel(axis_label("voltage", v_unit), color="C0")
    ax.tick_params(axis="y", labelcolor="C0")
    ax.grid(True, alpha=0.3)
    right = ax.twinx()
    right.plot(i_shown, p_shown, "s-", color="C3", ms=3, label="optical power")
    right.set_ylabel(axis_label("optical power", p_unit), color="C3")
    right.tick_params(axis="y", labelcolor="C3")
    handles = ax.get_lines() + right.get_lines()
    ax.legend(handles, [h.get_label() for h in handles], loc="upper left")
    ax.set_title(f"{step.name}: L-I-V")
    plots.append(("liv", "Light and voltage against current (linear axes).", fig))

    if not all(name in step.analysis for name in ("current_density", "eqe", "wpe")):
        return plots  # the analysis failed: no derived arrays
    density = np.asarray(step.analysis["current_density"], dtype=float)
    efficiencies = {"EQE": step.analysis["eqe"], "WPE": step.analysis["wpe"]}
    j_shown, j_unit = _scaled(density, "A/m^2")
    fig, (ax,) = _new_figure()
    for (label, values), marker in zip(efficiencies.items(), ("o-", "s-"), strict=True):
        ax.plot(j_shown, 100 * values, marker, ms=3, label=label)
    peak = step.results.get("peak_eqe", {}).get("value")
    j_peak = step.results.get("current_density_at_peak_eqe", {}).get("value")
    if peak is not None and j_peak is not None and math.isfinite(peak) and math.isfinite(j_peak):
        factor, _ = display_scale(density, "A/m^2")
        ax.plot([j_peak * factor], [100 * peak], "*", color="k", ms=12,
                label=f"peak EQE {100 * peak:.3g} % at "
                      f"{_superscripts(format_quantity(j_peak, 'A/m^2'))}")
    if _use_log(j_shown):
        ax.set_xscale("log")
    ax.set_xlabel(axis_label("current density", j_unit))
    ax.set_ylabel("efficiency (%)")
    ax.set_ylim(bottom=0)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(f"{step.name}: external quantum and wall-plug efficiency")
    plots.append(("efficiency", "EQE and WPE against current density "
                  f"(mesa diameter {format_quantity(sample['diameter'], 'm')}).", fig))
    return plots


def iv_plots(step: StepRecord, sample: dict) -> Plots:
    """|I| against V on a log current axis, with the forward voltage marked."""
    current = np.asarray(step.data["current"], dtype=float)
    voltage = np.asarray(step.data["voltage"], dtype=float)
    v_shown, v_unit = _scaled(voltage, step.units.get("voltage", "V"))
    fig, (ax,) = _new_figure()
    magnitude = np.abs(current)
    ax.plot(v_shown, np.where(magnitude > 0, magnitude, np.nan), "o-", ms=3, label="|current|")
    vf = step.results.get("forward_voltage", {}).get("value")
    reference = step.params.get("reference_current")
    if vf is not None and reference and math.isfinite(vf):
        ax.plot([vf], [reference], "*", color="k", ms=12,
                label=f"forward voltage {format_quantity(vf, 'V')} "
                      f"at {format_quantity(reference, 'A')}")
    if np.any(magnitude > 0):
        ax.set_yscale("log")
    ax.set_xlabel(axis_label("voltage", v_unit))
    ax.set_ylabel(axis_label("|current|", step.units.get("current", "A")))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(f"{step.name}: I-V")
    return [("iv", "Current magnitude against voltage (log current axis).", fig)]


PLOTTERS: dict[str, tuple[tuple[str, ...], Callable[[StepRecord, dict], Plots]]] = {
    "liv": (("current", "voltage", "optical_power"), liv_plots),
    "iv": (("current", "voltage"), iv_plots),
}


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
        return _scaled(self.values[name].astype(float), self.units.get(name, ""))

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


def generic_plots(step: StepRecord) -> Plots:
    """Plots of any step from its raw arrays, then from its derived arrays (see
    :func:`array_plots`)."""
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
    fig, axes = _new_figure(len(ys), height=max(FIGSIZE[1], 1.9 * len(ys) + 0.6))
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
    if x_name and _use_log(x_shown):
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
        return [f"{row_axis.replace('_', ' ')} {_superscripts(format_quantity(v, units))}"
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
        shown, y_unit = _scaled(rows.astype(float), arrays.units.get(name, ""))
        y_label, what = axis_label(name, y_unit), name.replace("_", " ")
    x_name = arrays.column_axis(name)
    fig, (ax,) = _new_figure()
    if x_name:
        x_shown, x_unit = arrays.scaled(x_name)
        x_label, against = axis_label(x_name, x_unit), x_name.replace("_", " ")
    else:
        x_shown, x_label, against = np.arange(rows.shape[1]), "point index", "point index"
    labels = [what] if values.ndim == 1 else _row_labels(arrays, name, rows.shape[0])
    for row, label in zip(shown, labels, strict=True):
        ax.plot(x_shown, row, "-", label=label)
    if x_name and _use_log(x_shown):
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
    fig, (ax,) = _new_figure()
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
    fig, (ax,) = _new_figure()
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


def step_plots(step: StepRecord, sample: dict) -> Plots:
    """The plots of one step: the sequence's own when its data is there, else generic."""
    known = PLOTTERS.get(step.sequence)
    if known is not None:
        needed, plotter = known
        columns = [np.asarray(step.data[k]) for k in needed if k in step.data]
        if len(columns) == len(needed) and all(
                c.ndim == 1 and c.dtype.kind in "iuf" and c.size == columns[0].size >= 2
                for c in columns):
            return plotter(step, sample)
    try:
        return generic_plots(step)
    except (ValueError, TypeError, IndexError):  # a damaged file: its arrays make no plot
        return []


# -- the HTML page ---------------------------------------------------------------------------------
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 60em; padding: 0 1em; color: #1d1d1f; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { text-align: left; padding: 0.25em 0.8em; border-bottom: 1px solid #e4e4e4;
         vertical-align: top; }
th { background: #f4f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.banner { background: #ffb000; color: #000; font-weight: bold; padding: 0.7em 1em;
          border-radius: 4px; font-size: 1.1em; }
.status-completed, .pass { color: #11772d; font-weight: bold; }
.status-failed, .status-aborted, .status-interrupted, .fail { color: #b00020; font-weight: bold; }
.note { color: #555; font-size: 0.9em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
code { background: #f4f4f6; padding: 0 0.2em; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    """Rows of already escaped HTML cells."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        (f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>")
        for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(status: str) -> str:
    return f'<span class="status-{_e(status.replace(" ", "-"))}">{_e(status)}</span>'


def _verdict_cell(passed: bool | None) -> str:
    text = verdict(passed)
    return f'<span class="{text.lower()}">{text}</span>' if text else ""


def _quantity(value: Any, units: str) -> str:
    if isinstance(value, list) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return ", ".join(_quantity(v, units) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _e("-" if value is None else value)
    if " " in units or units in NO_PREFIX:  # e.g. "A or V", "dB": shown as is
        return _e(f"{value:.4g} {units}")
    return _e(format_quantity(float(value), units))


def _param_units(sequence: str) -> dict[str, str]:
    """Units of a registered sequence's parameters (empty for an unknown sequence)."""
    from sequences import SEQUENCES

    cls = SEQUENCES.get(sequence)
    return {} if cls is None else {name: p.units for name, p in cls.parameters.items()}


def _metadata_html(record: RunRecord) -> str:
    a, sample = record.attrs, record.sample
    rows = [["run id", _e(record.run_id)], ["status", _status(record.status)]]
    if a.get("status_reason"):
        rows.append(["reason", _e(a["status_reason"])])
    rows += [["simulated", "yes" if a.get("simulated") else "no"],
             ["started", _e(a.get("started", ""))], ["ended", _e(a.get("ended", "") or "-")],
             ["software", _e(f"microled-bench {a.get('software_version', '')}")],
             ["run file", f"<code>{_e(record.path.name)}</code> (format "
                          f"{_e(a.get('format', ''))} v{_e(a.get('format_version', ''))})"]]
    if a.get("source_run"):
        rows.append(["source run", _e(a["source_run"])])
    sample_rows = [["id", _e(sample.get("id", ""))],
                   ["diameter", _quantity(sample.get("diameter"), "m")],
                   ["wavelength", _quantity(sample.get("wavelength"), "m")],
                   ["temperature", _quantity(sample.get("temperature"), "K")]]
    limit_units = {"current": "A", "voltage": "V", "duty": "", "ramp": "A"}
    for name, value in (sample.get("limits") or {}).items():
        if value is not None:
            units = next((u for key, u in limit_units.items() if key in name), "")
            sample_rows.append([_e(name.replace("_", " ")), _quantity(value, units)])
    return (_table(["run", ""], rows) + "<h2>Sample</h2>"
            + _table(["sample", ""], sample_rows))


def _station_html(station: dict) -> str:
    rows = [[_e(name), _e(info.get("driver", "")), _e(info.get("resource", "")),
             _e(info.get("idn", "")), "yes" if info.get("simulated") in (True, "True", 1)
             else "no", _e(info.get("note", ""))]
            for name, info in (station.get("instruments") or {}).items()]
    title = f"<p>{_e(station.get('name', ''))} <span class='note'>" \
            f"({_e(station.get('source', ''))})</span></p>"
    return title + _table(["instrument", "driver", "resource", "*IDN?", "simulated", "note"],
                          rows)


def _summary_html(record: RunRecord) -> str:
    rows = []
    for step in record.steps:
        if not step.results:
            rows.append([_e(step.name), _status(step.status), _e(step.reason), "", "", ""])
        for name, r in step.results.items():
            rows.append([_e(step.name), _e(name), _quantity(r["value"], r["units"]),
                         _e(r["units"] or "1"), _e(format_limits(r)),
                         _verdict_cell(r["passed"])])
    for name, _sequence in record.not_run:
        rows.append([_e(name), _status("not run"), "an earlier step ended the run", "", "",
                     ""])
    return _table(["step", "result", "value (display units)", "SI unit", "limits", "verdict"],
                  rows, numeric=(2,))


def _step_html(step: StepRecord, images: list[tuple[str, bytes]]) -> str:
    units = _param_units(step.sequence)
    params = [[_e(name), _quantity(value, units.get(name, ""))]
              for name, value in step.params.items()]
    parts = [f'<h2 id="step-{_e(step.name)}">Step {_e(step.name)} '
             f'<span class="note">sequence {_e(step.sequence)}</span></h2>',
             f"<p>status {_status(step.status)}"
             f"{' - ' + _e(step.reason) if step.reason else ''}"
             f" <span class='note'>{_e(step.started)} to {_e(step.ended or '-')}</span></p>",
             _table(["parameter", "value"], params, numeric=(1,)) if params else ""]
    if not images:
        parts.append("<p class='note'>no data to plot was recorded for this step.</p>")
    for caption, png in images:
        parts.append(f'<figure><img src="data:image/png;base64,'
                     f'{base64.b64encode(png).decode("ascii")}" alt="{_e(caption)}">'
                     f"<figcaption>{_e(caption)}</figcaption></figure>")
    return "\n".join(parts)


def render_html(record: RunRecord, images: dict[str, list[tuple[str, bytes]]]) -> str:
    """The report page; ``images`` maps step name -> [(caption, PNG bytes)]."""
    simulated = bool(record.attrs.get("simulated"))
    banner = ('<div class="banner">SIMULATED run: every reading comes from the simulated '
              "bench, not from a chip.</div>") if simulated else ""
    toc = " | ".join(f'<a href="#step-{_e(s.name)}">{_e(s.name)}</a>' for s in record.steps)
    body = [banner, f"<h1>Run {_e(record.run_id)}</h1>",
            f"<p>steps: {toc or '<em>none</em>'}</p>", _metadata_html(record),
            "<h2>Station</h2>", _station_html(record.station),
            "<h2>Results</h2>",
            "<p class='note'>Values are shown in display units: SI prefixes (mA, mW, ...) and "
            "current density in A/cm^2; the run file holds SI units (A/m^2).</p>",
            _summary_html(record)]
    body += [_step_html(step, images.get(step.name, [])) for step in record.steps]
    body.append(f"<hr><p class='note'>report made {_e(now_iso())} by microled-bench "
                f"{_e(__version__)}</p>")
    title = f"{'[SIMULATED] ' if simulated else ''}run {record.run_id}"
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def write_report(run_path: str | Path, out_dir: str | Path | None = None, *,
                 force: bool = False) -> Report:
    """Read a run file, write one PNG per plot and ``report.html`` into ``out_dir``
    (default: ``<run file stem>_report/`` next to the run file); a directory that already holds
    a report is refused unless ``force``."""
    record = read_run(run_path)
    out = Path(out_dir) if out_dir else record.path.with_name(f"{record.path.stem}_report")
    check_new_dir(out, force=force)
    images: dict[str, list[tuple[str, bytes]]] = {}
    written: list[Path] = []
    for position, step in enumerate(record.steps):
        images[step.name] = []
        for number, (part, caption, fig) in enumerate(step_plots(step, record.sample), 1):
            path = out / f"{position:02d}_{step.name}_{number}_{_safe(part)}.png"
            fig.savefig(path, format="png")
            written.append(path)
            images[step.name].append((caption, path.read_bytes()))
    html_path = out / "report.html"
    html_path.write_text(render_html(record, images), encoding="utf-8")
    return Report(html_path, written)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:60]
