"""Reading runs back from Python (notebooks, scripts): one run, or a table over many.

``open_run(path)`` gives one run file as numpy arrays with their units::

    run = open_run("runs/20250101-120000-abc123.h5")
    liv = run.steps["liv"]
    liv.data["current"], liv.units["current"]      # raw data: ndarray, "A"
    liv.analysis["eqe"], liv.analysis_units["eqe"] # derived array (from analyse): ndarray, "1"
    liv.results["peak_eqe"]["value"]               # SI; with units, limits, passed
    liv.frame()                                    # DataFrame: "current [A]", "voltage [V]"...

``summarize(folder_or_paths)`` gives one row (a dict) per run and step with the key results in
SI units, ready for ``print_table``; ``.frame()`` makes it a pandas DataFrame with units in the
column names. Files are read with :func:`bench.storage.read_run`, so a damaged file raises
:class:`common.errors.RunFileError`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import RunFileError

from .display import aligned, format_quantity
from .storage import RunRecord, StepRecord, read_run

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Run", "Step", "Table", "campaign", "open_run", "summarize", "format_table",
           "print_table"]


@dataclass(repr=False)
class Step(StepRecord):
    """One step read back (:class:`bench.storage.StepRecord`), with its arrays as DataFrames."""

    def frame(self, derived: bool = False) -> pd.DataFrame:
        """The step's 1-D raw arrays of one length side by side (the streamed columns), or with
        ``derived`` its derived arrays, columns named ``<name> [<units>]``; the other arrays are
        in :meth:`tables`."""
        from .export import step_frame

        return step_frame(self, derived)

    def tables(self, derived: bool = False) -> dict[str, pd.DataFrame]:
        """Every table ``bench export`` writes for this step's raw (or derived) arrays, by
        file stem (docs/notebook-api.md says how arrays are laid out)."""
        from .export import step_tables

        return {table.stem: table.frame for table in step_tables(self, derived)}


class Run:
    """One run file read back: metadata, sample, station snapshot and steps by name."""

    def __init__(self, record: RunRecord):
        self.record = record
        self.steps: dict[str, Step] = {
            step.name: Step(**{f.name: getattr(step, f.name) for f in fields(step)})
            for step in record.steps}

    @property
    def path(self) -> Path:
        return self.record.path

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def status(self) -> str:
        """completed / failed / aborted, or interrupted when the writer died mid-run."""
        return self.record.status

    @property
    def reason(self) -> str:
        return str(self.record.attrs.get("status_reason", ""))

    @property
    def simulated(self) -> bool:
        return bool(self.record.attrs.get("simulated", False))

    @property
    def started(self) -> str:
        return str(self.record.attrs.get("started", ""))

    @property
    def ended(self) -> str:
        return str(self.record.attrs.get("ended", ""))

    @property
    def software_version(self) -> str:
        return str(self.record.attrs.get("software_version", ""))

    @property
    def attrs(self) -> dict[str, Any]:
        """The file's root attributes as stored."""
        return self.record.attrs

    @property
    def sample(self) -> dict:
        """Sample id, geometry (SI) and its safe operating limits."""
        return self.record.sample

    @property
    def station(self) -> dict:
        """Station snapshot: per instrument its driver, resource, *IDN? and settings."""
        return self.record.station

    @property
    def recipe(self) -> dict:
        """The recipe as given."""
        return self.record.recipe

    def results(self) -> dict[str, dict[str, float]]:
        """Result values in SI units: step name -> result name -> value."""
        return {name: {result: r["value"] for result, r in step.results.items()}
                for name, step in self.steps.items()}

    def report(self, out_dir: str | Path | None = None, *, force: bool = False):
        """Write the PNG plots and HTML page of ``bench report`` (an existing report only with
        ``force``); returns the written paths."""
        from .report import write_report

        return write_report(self.path, out_dir, force=force)

    def __repr__(self) -> str:
        return (f"<Run {self.run_id} {self.status}{' SIMULATED' if self.simulated else ''} "
                f"sample={self.sample.get('id', '')!r} steps={list(self.steps)}>")


def open_run(path: str | Path) -> Run:
    """Read one run file; a missing, damaged or foreign file raises RunFileError."""
    return Run(read_run(path))


class Table(list):
    """Rows (dicts) of :func:`summarize`; ``units`` maps each result column to its SI unit."""

    def __init__(self, rows: Iterable[dict[str, Any]] = (), units: dict[str, str] | None = None):
        super().__init__(rows)
        self.units: dict[str, str] = dict(units or {})

    def __str__(self) -> str:
        return format_table(self, units=self.units)

    def frame(self) -> pd.DataFrame:
        """The rows as one pandas DataFrame, a row per run and step; result and condition
        columns named ``<name> [<units>]`` (``passed`` a nullable boolean)."""
        import pandas as pd

        from .export import column

        frame = pd.DataFrame(list(self), columns=_columns(self) if self else list(_RUN_COLUMNS))
        frame["passed"] = frame["passed"].astype("boolean")
        return frame.rename(columns={name: column(name, units)
                                     for name, units in self.units.items()})


_RUN_COLUMNS = ("run_id", "status", "simulated", "sample_id", "step", "sequence", "step_status",
                "passed")


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every key met, in order."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def _run_files(source: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(source, (str, Path)):
        source = Path(source)
        if source.is_dir():
            return sorted(source.glob("*.h5"))
        return [source]
    return [Path(p) for p in source]


def _verdict(step: StepRecord) -> bool | None:
    """True when every limited result passed, False when one failed, None without limits."""
    verdicts = [r["passed"] for r in step.results.values() if r["passed"] is not None]
    return None if not verdicts else all(verdicts)


def summarize(source: str | Path | Iterable[str | Path], *,
              skip_unreadable: bool = False) -> Table:
    """One row per run and step: run_id, file, status, simulated, sample_id, step, sequence,
    step_status, passed, then each result's value in SI units (``Table.units`` names them), each
    followed by its conditions as ``<result> @ <condition>`` (``Table.frame()``: a DataFrame).

    ``source`` is a folder (its ``*.h5`` files, by name), one file, or a list of files. A run
    without steps gives one row with an empty ``step``. An unreadable file raises RunFileError,
    or is skipped with a warning when ``skip_unreadable`` is true.
    """
    table = Table()
    for path in _run_files(source):
        try:
            record = read_run(path)
        except RunFileError as exc:
            if not skip_unreadable:
                raise
            warnings.warn(f"skipped {exc}", stacklevel=2)
            continue
        run = {"run_id": record.run_id, "file": str(path), "status": record.status,
               "simulated": bool(record.attrs.get("simulated", False)),
               "sample_id": str(record.sample.get("id", ""))}
        if not record.steps:
            table.append({**run, "step": "", "sequence": "", "step_status": "", "passed": None})
        for step in record.steps:
            row = {**run, "step": step.name, "sequence": step.sequence,
                   "step_status": step.status, "passed": _verdict(step)}
            for name, result in step.results.items():
                row[name] = result["value"]
                if result["units"]:
                    table.units.setdefault(name, result["units"])
                for cond, spec in (result.get("conditions") or {}).items():
                    row[f"{name} @ {cond}"] = spec["value"]
                    if spec["units"]:
                        table.units.setdefault(f"{name} @ {cond}", spec["units"])
            table.append(row)
    return table


def campaign(paths, scheduler: str | None = None, workers: int = 1,
             where: str | None = None) -> pd.DataFrame:
    """Every run file under the folders ``paths`` as one DataFrame, a row per step, read as Dask
    tasks (:func:`bench.campaign.campaign`; the skipped files in ``frame.attrs["skipped"]``)."""
    from .campaign import campaign as run_campaign

    return run_campaign(paths, scheduler=scheduler, workers=workers, where=where)


def _cell(value: Any, units: str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return format_quantity(float(value), units) if units is not None else f"{value:.4g}"
    return str(value)


def format_table(rows: list[dict[str, Any]], columns: list[str] | None = None,
                 units: dict[str, str] | None = None) -> str:
    """Rows as an aligned text table; numbers with units are shown with an SI prefix (or in
    A/cm^2 for A/m^2), each cell naming its display unit. ``columns`` picks and orders them
    (default: every column met, in order; ``file`` left out)."""
    if units is None:
        units = getattr(rows, "units", {})
    if columns is None:
        columns = [key for key in _columns(rows) if key != "file"]
    cells = [list(columns)] + [[_cell(row.get(col), units.get(col)) for col in columns]
                               for row in rows]
    return aligned(cells)


def print_table(rows: list[dict[str, Any]], columns: list[str] | None = None,
                units: dict[str, str] | None = None) -> None:
    """Print :func:`format_table` (no pandas needed)."""
    print(format_table(rows, columns, units))
