"""Campaigns: every run file under some folders as one table, a row per step (``bench campaign``).

Each row: ``run_id``, ``run_status``, ``simulated``, ``sample_id``, the sample's free attributes
(one column each, by name), ``sequence``, ``step``, ``status`` (the step's), ``reason``, each
result as ``<name> [<units>]`` with its verdict ``<name> passed`` (a nullable boolean; empty
without limits) and its conditions ``<name> @ <condition> [<units>]``, then ``file``, ``started``
and ``ended`` (the step's). A run without steps gives one row with empty step columns.

Files are read with metadata and results only (never the arrays), as Dask tasks over batches of
files: a local cluster of processes, an existing scheduler by address, or ``workers=1`` in this
process without Dask. The rows are put in file order afterwards, so every way gives the same table.
A damaged or foreign file is skipped and listed with its reason (``Campaign.skipped``).

``where`` is a pandas ``DataFrame.query`` expression. Besides the columns' own names (in
backticks when they hold spaces or brackets), every column is also known by a plain alias: the
name without its ``[<units>]``, with `` @ `` as ``_at_`` and spaces as ``_`` (``peak_eqe``,
``peak_eqe_passed``, ``f3db_at_bias_current``); an alias two columns would share is left out.

:func:`reanalyse_all` re-runs every step's analysis with the current code as the same kind of
tasks (``bench replay``'s re-analysis, new files, originals only read) and lists what changed;
:func:`plot` draws one column against another.
"""

from __future__ import annotations

import math
import re
import sys
import time
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import BenchError, RunFileError

if TYPE_CHECKING:
    import pandas as pd

FIXED = ("run_id", "run_status", "simulated", "sample_id")
STEP = ("sequence", "step", "status", "reason")
TAIL = ("file", "started", "ended")
CAMPAIGN_COLUMNS = frozenset(FIXED + STEP + TAIL)  # a sample attribute may not take these names
SKIPPED = ("file", "reason")
# files per Dask task: a task costs ~1 ms to schedule, a file 6-9 ms to read here (measured by
# benchmarks/campaign.py); up to 4 tasks per worker keep them all busy to the end
MAX_BATCH = 200


@dataclass
class Campaign:
    """The table (one row per step) and the files left out, ``(file, reason)`` each."""

    table: pd.DataFrame
    skipped: list[tuple[str, str]]

    def skipped_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.skipped, columns=list(SKIPPED))


def run_files(folders: Iterable[str | Path]) -> list[Path]:
    """Every ``*.h5`` under the folders (recursively), sorted, each once; a folder that does
    not exist is refused (BenchError)."""
    found: set[Path] = set()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise BenchError(f"{folder}: no such folder" if not folder.exists()
                             else f"{folder}: not a folder (bench campaign reads folders)")
        found.update(path for path in folder.rglob("*.h5") if path.is_file())
    return sorted(found)


def step_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of one run file; RunFileError for a damaged or foreign one."""
    from .export import column
    from .storage import read_run

    record = read_run(path, arrays=False, station=False)
    sample = record.sample
    attributes = sample.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise RunFileError(f"{path}: damaged run file (its sample attributes are "
                           f"{type(attributes).__name__}, not a mapping)")
    run = {"run_id": record.run_id, "run_status": record.status,
           "simulated": bool(record.attrs.get("simulated", False)),
           "sample_id": str(sample.get("id", "")),
           **{k: v for k, v in attributes.items() if k not in CAMPAIGN_COLUMNS}}
    tail = {"file": str(path)}
    if not record.steps:
        return [{**run, **dict.fromkeys(STEP, ""), **tail, "started":
                 str(record.attrs.get("started", "")), "ended": str(record.attrs.get("ended", ""))}]
    rows = []
    for step in record.steps:
        row = {**run, "sequence": step.sequence, "step": step.name, "status": step.status,
               "reason": step.reason}
        for name, result in step.results.items():
            row[column(name, result["units"])] = result["value"]
            row[f"{name} passed"] = result["passed"]
            for cond, spec in (result.get("conditions") or {}).items():
                row[column(f"{name} @ {cond}", spec["units"])] = spec["value"]
        rows.append({**row, **tail, "started": step.started, "ended": step.ended})
    return rows


def read_batch(paths: list[str]) -> list[tuple[str, list[dict[str, Any]], str]]:
    """One Dask task: per file its path, its rows and "", or no rows and why it was skipped."""
    out = []
    for path in paths:
        try:
            out.append((path, step_rows(path), ""))
        except RunFileError as exc:
            out.append((path, [], str(exc)))
        except Exception as exc:  # noqa: BLE001  a file must never stop the campaign
            out.append((path, [], f"{path}: not readable ({type(exc).__name__}: {exc})"))
    return out


def collect(folders: Iterable[str | Path], *, workers: int = 1, scheduler: str | None = None,
            where: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> Campaign:
    """Read every run file under ``folders`` (module docstring): ``workers=1`` in this process,
    more on a local Dask cluster of that many processes, or on the Dask scheduler at
    ``scheduler`` (``tcp://host:port``). ``progress(done, total)`` is called as files finish."""
    _check_workers(workers)
    paths = run_files([folders] if isinstance(folders, (str, Path)) else folders)
    rows, skipped = [], []
    for path, file_rows, reason in _run_tasks(read_batch, [str(p) for p in paths], workers,
                                              scheduler, progress):
        rows += file_rows
        if reason:
            skipped.append((path, reason))
    table = _frame(rows)
    if where:
        table = select(table, where)
    return Campaign(table, skipped)


CHANGES = ("file", "new_file", "run_id", "step", "status", "result", "units", "stored",
           "reanalysed", "stored_passed", "reanalysed_passed", "changed")


@dataclass
class Reanalysis:
    """The campaign table of the new files, the changes (a row per step and result, CHANGES)
    and the source files skipped with their reasons."""

    campaign: Campaign
    changes: pd.DataFrame


def reanalyse_batch(jobs: list[tuple[str, str, bool]]) -> list[tuple[str, list, list, str]]:
    """One Dask task: ``bench replay``'s re-analysis of each ``(source, new file, force)``;
    per source its change rows, the new file's table rows and "", or no rows and why it was
    skipped."""
    from .replay import reanalyse

    out = []
    for source, target, force in jobs:
        try:
            changes = _changes(reanalyse(source, target, force=force), source, target)
            out.append((source, changes, step_rows(target), ""))
        except BenchError as exc:
            out.append((source, [], [], str(exc)))
        except Exception as exc:  # noqa: BLE001  a file must never stop the campaign
            out.append((source, [], [], f"{source}: not re-analysed ({type(exc).__name__}: "
                                        f"{exc})"))
    return out


def _changes(report, source: str, target: str) -> list[dict[str, Any]]:
    rows = []
    for step in report.steps:
        for name in {**step.stored, **step.replayed}:
            old, new = step.stored.get(name), step.replayed.get(name)
            same = old is not None and new is not None and old["units"] == new["units"] and \
                old["passed"] == new["passed"] and \
                (old.get("conditions") or {}) == (new.get("conditions") or {}) and \
                (old["value"] == new["value"] or (math.isnan(old["value"]) and
                                                  math.isnan(new["value"])))
            rows.append({"file": source, "new_file": target, "run_id": report.source.run_id,
                         "step": step.name, "status": step.status, "result": name,
                         "units": (new or old)["units"],
                         "stored": old["value"] if old else math.nan,
                         "reanalysed": new["value"] if new else math.nan,
                         "stored_passed": old["passed"] if old else None,
                         "reanalysed_passed": new["passed"] if new else None,
                         "changed": not same})
    return rows


def reanalyse_all(folders: Iterable[str | Path], out_dir: str | Path, *, workers: int = 1,
                  scheduler: str | None = None, where: str | None = None, force: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> Reanalysis:
    """Re-run every step's ``analyse`` (the current code) on the raw data of every run file
    under ``folders``, each written as a new file ``<out_dir>/<folder name>/<its path under the
    folder>`` (the originals are only read, as by ``bench replay``); as Dask tasks like
    :func:`collect`, whose table of the new files it returns with what changed."""
    import pandas as pd

    _check_workers(workers)
    folders = [Path(f) for f in ([folders] if isinstance(folders, (str, Path)) else folders)]
    out_dir = Path(out_dir)
    names = [f.resolve().name for f in folders]
    if len(set(names)) != len(names):
        raise BenchError(f"--reanalyse: the folders share a name ({', '.join(names)}); the new "
                         f"files go to <out>/<folder name>/, give folders of different names")
    jobs = []
    for folder in folders:
        if out_dir.resolve().is_relative_to(folder.resolve()):
            raise BenchError(f"--reanalyse {out_dir}: inside {folder}, which is read; a later "
                             f"campaign of {folder} would count each run twice")
        for path in run_files([folder]):
            jobs.append((str(path), str(out_dir / folder.resolve().name /
                                        path.relative_to(folder)), force))
    existing = [target for _, target, _ in jobs if Path(target).exists()]
    if existing and not force:
        raise BenchError(f"--reanalyse: {len(existing)} of the new files exist already (first: "
                         f"{existing[0]}); nothing is overwritten without --force")
    changed, rows, skipped = [], [], []
    for source, change_rows, table_rows, reason in _run_tasks(reanalyse_batch, jobs, workers,
                                                              scheduler, progress):
        changed += change_rows
        rows += table_rows
        if reason:
            skipped.append((source, reason))
    table = _frame(rows)
    campaign = Campaign(select(table, where) if where else table, skipped)
    changes = pd.DataFrame(changed, columns=list(CHANGES))
    for name in ("stored_passed", "reanalysed_passed"):
        changes[name] = changes[name].astype("boolean")
    return Reanalysis(campaign, changes)


def _check_workers(workers: Any) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise BenchError(f"workers={workers!r} must be a whole number of at least 1")


def _run_tasks(task: Callable[[list], list], items: list, workers: int, scheduler: str | None,
               progress: Callable[[int, int], None] | None) -> list:
    """``task`` over ``items`` in batches (one Dask task each; in this process when
    ``workers`` is 1 and there is no ``scheduler``); the results in the order of ``items``."""
    size = max(1, min(MAX_BATCH, math.ceil(len(items) / (4 * workers))))
    batches = [items[i:i + size] for i in range(0, len(items), size)]
    results: list[list | None] = [None] * len(batches)
    done = 0

    def finished(index: int, batch_result: list) -> None:
        nonlocal done
        results[index] = batch_result
        done += len(batch_result)
        if progress:
            progress(done, len(items))

    if scheduler is None and workers == 1:
        for index, batch in enumerate(batches):
            finished(index, task(batch))
    elif batches:
        _on_dask(task, batches, workers, scheduler, finished)
    return [item for batch in results for item in batch or ()]


STALL_TIMEOUT = 120.0  # s without any batch finishing before the campaign gives up


def _on_dask(task: Callable[[list], list], batches: list[list], workers: int,
             scheduler: str | None, finished: Callable[[int, Any], None]) -> None:
    """Each batch a task on a Dask distributed cluster, results handed on as they complete."""
    import contextlib

    try:
        from distributed import Client, LocalCluster, wait
    except ImportError:
        raise BenchError("bench campaign on Dask needs dask and distributed: pip install "
                         "dask distributed (or --workers 1)") from None
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=50))  # loopback only, no dashboard
            address = cluster.scheduler_address
        else:
            address = scheduler
        try:
            client = stack.enter_context(Client(address, timeout="10s"))
        except OSError as exc:
            raise BenchError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        futures = client.map(task, batches, pure=False)
        index = {future.key: k for k, future in enumerate(futures)}
        remaining = set(futures)
        while remaining:  # results as they complete; a cluster that stops is an error, not a hang
            try:
                done, remaining = wait(remaining, timeout=STALL_TIMEOUT,
                                       return_when="FIRST_COMPLETED")
            except TimeoutError:
                raise BenchError(f"the Dask cluster at {address} finished no task in "
                                 f"{STALL_TIMEOUT:g} s ({len(remaining)} of {len(futures)} "
                                 f"left): a worker may have died; --workers 1 reads in this "
                                 f"process") from None
            for future in done:
                finished(index[future.key], future.result())


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as one DataFrame: the run columns, the attributes, the step columns, the results
    (in the order first met), then file and times."""
    import pandas as pd

    met: dict[str, None] = {}
    for row in rows:
        met.update(dict.fromkeys(row))
    fixed = CAMPAIGN_COLUMNS
    # attribute names are identifiers; a result without units has its "<name> passed" beside it
    results = [c for c in met if c not in fixed and (" [" in c or " @ " in c or
                                                     c.endswith(" passed") or f"{c} passed" in met)]
    attributes = [c for c in met if c not in fixed and c not in results]
    columns = [*FIXED, *attributes, *STEP, *results, *TAIL]
    frame = pd.DataFrame(rows, columns=columns)
    for name in columns:
        if name.endswith(" passed"):
            frame[name] = frame[name].astype("boolean")
        elif name in results:
            frame[name] = frame[name].astype(float)
        elif name in attributes:
            frame[name] = _one_kind(frame[name])
    return frame


def _one_kind(values: pd.Series) -> pd.Series:
    """An attribute column for Parquet: lists as they are, scalars of one kind as they are;
    a column mixing text and numbers (wafer 12 in one recipe, "W12" in another) as text."""
    kinds = {type(v).__name__ if not isinstance(v, (int, float)) or isinstance(v, bool)
             else "number" for v in values if v is not None and not _missing(v)}
    if len(kinds) <= 1:
        return values
    return values.map(lambda v: None if v is None or _missing(v) else str(v))


def _missing(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def alias(name: str) -> str:
    """The plain name of a column for ``where`` (module docstring)."""
    return re.sub(r"\s+", "_", re.sub(r"\s*\[[^\]]*\]$", "", name).replace(" @ ", "_at_"))


def select(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """The rows of ``table`` for which the ``DataFrame.query`` expression ``where`` holds."""
    names: dict[str, list[str]] = {}
    for name in table.columns:
        names.setdefault(alias(name), []).append(name)
    view = table.assign(**{plain: table[found[0]] for plain, found in names.items()
                           if len(found) == 1 and plain not in table.columns})
    try:
        chosen = view.query(where, engine="python")
    except Exception as exc:  # noqa: BLE001  pandas raises many kinds; each is one line here
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BenchError(f"--where {where!r}: {text}") from None
    return table.loc[chosen.index].reset_index(drop=True)


def column_named(table: pd.DataFrame, name: str) -> str:
    """The table's column called ``name`` or known by that alias (BenchError otherwise)."""
    if name in table.columns:
        return name
    found = [c for c in table.columns if alias(c) == name]
    if len(found) != 1:
        raise BenchError(f"--plot: no column {name!r}" if not found else
                         f"--plot: {name!r} names {len(found)} columns ({', '.join(found)}); "
                         f"give one of them in full")
    return found[0]


def plot(table: pd.DataFrame, x: str, y: str, by: str | None = None):
    """A figure of ``y`` against ``x`` (names or aliases): a scatter when ``x`` holds numbers
    (a series per value of ``by``), a map when it holds [column, row] pairs (a wafer's die
    coordinates; the colour is ``y``), else per value of ``x`` a box of ``y``, or the fraction
    of true values when ``y`` is a verdict (``<result> passed``: the yield)."""
    import numpy as np
    import pandas as pd

    from .plots.axes import grid, new_figure

    x, y = column_named(table, x), column_named(table, y)
    by = column_named(table, by) if by else None
    values = table[y]
    verdict = values.dtype == "boolean" or values.dtype == bool
    if not verdict and not pd.api.types.is_numeric_dtype(values):
        raise BenchError(f"--plot: {y} does not hold numbers or verdicts")
    data = table[[c for c in dict.fromkeys((x, y, by)) if c]].copy()
    data = data[values.notna()]
    fig, (ax,) = new_figure()
    pairs = data[x].map(lambda v: isinstance(v, (list, tuple, np.ndarray)) and len(v) == 2)
    if len(data) and pairs.all():
        where = np.array([list(v) for v in data[x]], dtype=float)
        dots = ax.scatter(where[:, 0], where[:, 1], c=data[y].astype(float), cmap="viridis",
                          marker="s")
        fig.colorbar(dots, ax=ax, label=y)
        ax.set(xlabel=f"{x} (column)", ylabel=f"{x} (row)", aspect="equal")
    elif pd.api.types.is_numeric_dtype(data[x]):
        for label, group in (data.groupby(by, sort=True) if by else [(None, data)]):
            ax.scatter(group[x], group[y].astype(float), s=12,
                       label=None if label is None else f"{by} {label}")
        if by:
            ax.legend(fontsize="small")
        ax.set(xlabel=x, ylabel=y)
        grid(ax)
    else:
        groups = sorted(data.groupby(data[x].astype(str)), key=lambda item: item[0])
        names = [name for name, _ in groups]
        if verdict:
            ax.bar(names, [group[y].astype(float).mean() for _, group in groups])
            ax.set(ylabel=f"fraction {y} (yield)", ylim=(0, 1))
        else:
            ax.boxplot([group[y].astype(float).to_numpy() for _, group in groups],
                       tick_labels=names)
            ax.set(ylabel=y)
        ax.set(xlabel=x)
        grid(ax)
    ax.set_title(f"{len(data)} steps")
    return fig


def campaign(paths: str | Path | Iterable[str | Path], scheduler: str | None = None,
             workers: int = 1, where: str | None = None) -> pd.DataFrame:
    """The campaign table of every run file under ``paths`` (folders) as a pandas DataFrame; the
    skipped files ``(file, reason)`` are in ``frame.attrs["skipped"]``."""
    result = collect(paths, workers=workers, scheduler=scheduler, where=where)
    result.table.attrs["skipped"] = result.skipped
    return result.table


class Progress:
    """Files done and time left on stderr: one line rewritten on a terminal, else a line every
    few seconds."""

    def __init__(self, stream=None, every: float = 5.0):
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.every, self.last = every, -math.inf
        self.tty = self.stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < (0.2 if self.tty else self.every):
            return
        self.last = now
        elapsed = now - self.start
        left = elapsed / done * (total - done) if done else math.nan
        line = f"campaign: {done}/{total} files, " + \
            (f"{left:.0f} s left" if done < total else f"done in {elapsed:.1f} s")
        end = "\n" if done >= total or not self.tty else ""
        print(("\r" if self.tty else "") + line, end=end, file=self.stream, flush=True)


class _CallableModule(types.ModuleType):
    """``bench.campaign(paths)``: the package attribute is this module once it is imported."""

    def __call__(self, *args, **kwargs) -> pd.DataFrame:
        return campaign(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
