"""A run file as tables for pandas, Excel and Origin (``bench export``, ``step.frame()``).

Every column is named ``<name> [<units>]`` (SI, as stored; a name without brackets has no unit:
counts, codes, ratios stored without one). Per step:

- 1-D arrays of one length side by side, one table per length; raw (``data``) and derived
  (``analysis``) arrays apart, since a name may be in both. A 0-d array counts as length 1.
- each 2-D array as a long table, one row per element: its row axis (the 1-D array its ``rows``
  attribute or its sequence's ``derived_axes`` names, else the row number), its column axis (the
  same for ``axis``, else the column number) and the value. Scope codes (``<prefix>_codes`` with
  ``<prefix>_preamble``) also get ``time [s]`` and ``<prefix> [V]`` scaled by the preamble.
  A 2-D array with named ``columns`` (a preamble) is a table of those columns.
- complex values as two columns, ``<name> real`` and ``<name> imag``.

The results are one table, a row per step and result (value, units, limits, pass/fail and the
result's conditions as ``<condition> [<units>]`` columns). pandas loads only with this module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .storage import RunRecord, StepRecord, check_new_dir, check_new_file, read_run, step_key

if TYPE_CHECKING:
    import pandas as pd

EXCEL_ROWS = 1_048_576  # rows of an Excel sheet, header included


def column(name: str, units: str) -> str:
    """``<name> [<units>]``, or the bare name when there are no units."""
    return f"{name} [{units}]" if units else name


@dataclass
class ExportTable:
    """One exported table: its file stem, what it holds, and the frame."""

    stem: str
    holds: str
    frame: pd.DataFrame


# -- results ------------------------------------------------------------------------------------
def results_frame(record: RunRecord) -> pd.DataFrame:
    """One row per step and result; a step without results gives one row with no result."""
    import pandas as pd

    rows = []
    for step in record.steps:
        base = {"step": step.name, "sequence": step.sequence, "status": step.status}
        if not step.results:
            rows.append({**base, "result": ""})
        for name, result in step.results.items():
            row = {**base, "result": name, "value": result["value"], "units": result["units"],
                   "low": result["low"], "high": result["high"], "passed": result["passed"]}
            for cond, spec in (result.get("conditions") or {}).items():
                row[column(cond, spec["units"])] = spec["value"]
            rows.append(row)
    fixed = ["step", "sequence", "status", "result", "value", "units", "low", "high", "passed"]
    frame = pd.DataFrame(rows)
    frame = frame.reindex(columns=fixed + [c for c in frame.columns if c not in fixed])
    for name in ("value", "low", "high"):
        frame[name] = frame[name].astype(float)  # None (no limit) -> NaN, an empty cell
    frame["passed"] = frame["passed"].astype("boolean")
    return frame


# -- arrays ---------------------------------------------------------------------------------------
def _axes_of(step: StepRecord, name: str, derived: bool) -> dict[str, Any]:
    """What a 2-D array is drawn against: its attributes (raw) or its sequence's
    ``derived_axes`` (derived), as {"rows": name, "axis": name} or {"axes": [rows, columns]}."""
    if not derived:
        return step.attrs.get(name, {})
    from sequences import SEQUENCES

    sequence = SEQUENCES.get(step.sequence)
    return getattr(sequence, "derived_axes", {}).get(name, {}) if sequence else {}


def _value_columns(name: str, units: str, values: np.ndarray) -> dict[str, np.ndarray]:
    if np.iscomplexobj(values):
        return {column(f"{name} real", units): values.real, column(f"{name} imag", units):
                values.imag}
    return {column(name, units): values}


def _axis_column(arrays: dict[str, np.ndarray], units: dict[str, str], axis: Any, length: int,
                 fallback: str) -> tuple[str, np.ndarray]:
    """The named 1-D axis when it has the right length, else the element number."""
    if isinstance(axis, str) and np.ndim(arrays.get(axis)) == 1 and len(arrays[axis]) == length:
        return column(axis, units.get(axis, "")), np.asarray(arrays[axis])
    return (axis if isinstance(axis, str) and axis not in arrays else fallback), \
        np.arange(length)


def _long_table(step: StepRecord, name: str, derived: bool) -> dict[str, np.ndarray]:
    arrays = step.analysis if derived else step.data
    units = step.analysis_units if derived else step.units
    values = arrays[name]
    rows, cols = values.shape
    axes = _axes_of(step, name, derived)
    row_axis, col_axis = (axes["axes"] if isinstance(axes.get("axes"), list)
                          and len(axes["axes"]) == 2 else (axes.get("rows"), axes.get("axis")))
    row_name, row_values = _axis_column(arrays, units, row_axis, rows, "row")
    col_name, col_values = _axis_column(arrays, units, col_axis, cols, "index")
    if col_name == row_name:
        col_name = f"{col_name} (column)"
    table = {row_name: np.repeat(row_values, cols), col_name: np.tile(col_values, rows),
             **_value_columns(name, units.get(name, ""), values.ravel())}
    prefix = name[:-len("_codes")] if name.endswith("_codes") else None
    preamble = arrays.get(f"{prefix}_preamble") if prefix and not derived else None
    if preamble is not None and np.shape(preamble) == (rows, 6):
        from sequences.dynamic_analysis import waveform_time, waveform_volts

        scaled = str(step.attrs.get(name, {}).get("scaled_units", "V"))
        table[column("time", "s")] = waveform_time(cols, preamble).ravel()
        table[column(prefix, scaled)] = waveform_volts(values, preamble).ravel()
    return table


def _named_columns(step: StepRecord, name: str) -> dict[str, np.ndarray] | None:
    """A 2-D raw array whose attributes name its columns (e.g. a scope preamble), as those."""
    attrs, values = step.attrs.get(name, {}), step.data[name]
    try:
        names = json.loads(attrs["columns"])
        units = json.loads(attrs.get("column_units", "[]")) or [""] * len(names)
    except (KeyError, TypeError, ValueError):
        return None
    if len(names) != values.shape[1] or len(units) != len(names):
        return None
    rows = attrs.get("rows")
    label = rows if isinstance(rows, str) and rows not in step.data else "row"
    return {label: np.arange(values.shape[0]),
            **{column(n, str(u)): values[:, k]
               for k, (n, u) in enumerate(zip(names, units, strict=True))}}


def step_tables(step: StepRecord, derived: bool = False) -> list[ExportTable]:
    """The tables of one step's raw arrays (or derived ones): 1-D arrays by length, the group
    with the most arrays first; then each 2-D array. Arrays of more dimensions are left out."""
    import pandas as pd

    arrays = step.analysis if derived else step.data
    units = step.analysis_units if derived else step.units
    kind = "analysis" if derived else "data"
    key = _file_name(step_key(step.index, step.name))
    by_length: dict[int, dict[str, np.ndarray]] = {}
    first: dict[int, str] = {}  # the first array of each length names its table
    for name, values in arrays.items():
        if np.ndim(values) <= 1:
            values = np.atleast_1d(values)
            first.setdefault(len(values), name)
            by_length.setdefault(len(values), {}).update(
                _value_columns(name, units.get(name, ""), values))
    groups = sorted(by_length.items(), key=lambda item: len(item[1]), reverse=True)
    tables = []
    for k, (length, group) in enumerate(groups):
        stem = f"{key}_{kind}" if k == 0 else f"{key}_{kind}_{_file_name(first[length])}"
        tables.append(ExportTable(stem, f"{', '.join(group)}", pd.DataFrame(group)))
    for name, values in arrays.items():
        if np.ndim(values) != 2:
            continue
        named = None if derived else _named_columns(step, name)
        table = named if named is not None else _long_table(step, name, derived)
        tables.append(ExportTable(f"{key}_{kind}_{_file_name(name)}",
                            f"{name} {values.shape[0]}x{values.shape[1]}"
                            f"{'' if named is not None else ', one row per element'}",
                            pd.DataFrame(table)))
    return tables


def left_out(step: StepRecord) -> list[str]:
    """The arrays no table holds (more than two dimensions), as ``<kind>/<name> <shape>``."""
    return [f"{kind}/{name} {np.shape(values)}"
            for kind, arrays in (("data", step.data), ("analysis", step.analysis))
            for name, values in arrays.items() if np.ndim(values) > 2]


def step_frame(step: StepRecord, derived: bool = False) -> pd.DataFrame:
    """The step's main table: its 1-D raw arrays (or derived ones) of the most common length,
    side by side (an empty frame when it has none)."""
    import pandas as pd

    tables = [t for t in step_tables(step, derived)
              if t.stem.endswith("_analysis" if derived else "_data")]
    return tables[0].frame if tables else pd.DataFrame()


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "step"


# -- writing ---------------------------------------------------------------------------------------
FORMATS = {"csv": ".csv", "parquet": ".parquet"}


def default_directory(run: str | Path) -> Path:
    run = Path(run)
    return run.with_name(f"{run.stem}_export")


def export_run(run: str | Path, out_dir: str | Path | None = None, *, fmt: str = "csv",
               force: bool = False) -> tuple[list[tuple[Path, ExportTable]], list[str]]:
    """Write the results table and every step's tables into ``out_dir`` (default
    ``<run stem>_export/`` next to the run); every file is checked before the first is written
    and none is overwritten without ``force``. Returns what was written, in order, and the
    arrays left out (``<step>: <kind>/<name> <shape>``)."""
    from common.errors import BenchError

    if fmt not in FORMATS:
        raise BenchError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401  (the engine, asked before anything is read)
        except ImportError:
            raise BenchError("--format parquet needs pyarrow: pip install "
                             "'microled-bench[parquet]' (or export as csv)") from None
    record = read_run(run)
    out = check_new_dir(default_directory(run) if out_dir is None else out_dir,
                        force=force, what="export")
    tables = [ExportTable("results", "one row per step and result", results_frame(record))]
    for step in record.steps:
        tables += step_tables(step) + step_tables(step, derived=True)
    stems: set[str] = set()
    for table in tables:  # a file per table, whatever its arrays are called
        stem, k = table.stem, 1
        while table.stem in stems:
            k += 1
            table.stem = f"{stem}_{k}"
        stems.add(table.stem)
    paths = [out / f"{table.stem}{FORMATS[fmt]}" for table in tables]
    for path in paths:
        check_new_file(path, force=force, what="export table")
    for path, table in zip(paths, tables, strict=True):
        if fmt == "csv":
            table.frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        else:
            table.frame.to_parquet(path, index=False)
    skipped = [f"{step.name}: {array}" for step in record.steps for array in left_out(step)]
    return list(zip(paths, tables, strict=True)), skipped
