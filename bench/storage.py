"""The run file: one HDF5 file per run, written as the run goes (layout: docs/run-file.md).

Storage knows nothing of instruments: it receives named arrays with units and JSON-able metadata.
Every array carries a ``units`` attribute (SI); structured metadata is JSON text in attributes,
so any HDF5 tool can read the file. The writer flushes at most ``flush_interval`` seconds after
new data.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from common.errors import BenchError, RunFileError

FORMAT_NAME = "microled-bench-run"
FORMAT_VERSION = 1


def to_json(value: Any) -> str:
    """JSON for metadata; numpy scalars and arrays become plain numbers and lists."""
    def default(obj):
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
    return json.dumps(value, default=default)


def check_new_file(path: str | Path, *, force: bool = False, what: str = "run file") -> Path:
    """Refuse, before anything is opened, an output file that cannot be written or would
    overwrite one (unless ``force``): a directory, a path under a file, an unwritable place.
    Missing parent directories are created."""
    path = Path(path)
    if path.is_dir():
        raise BenchError(f"{path} is a directory; give the {what}'s name (e.g. {path}/run.h5)")
    if os.path.lexists(path):
        if not force:
            raise BenchError(f"{path} already exists; nothing is overwritten without --force")
        if not path.is_file():
            raise BenchError(f"{path} exists and is not a regular file; it is never replaced")
    _check_writable_dir(path.parent, what)
    return path


def check_new_dir(path: str | Path, *, force: bool = False, what: str = "report") -> Path:
    """The same check for an output directory: an existing file is refused, and so is a
    directory that already holds ``report.html`` (unless ``force``)."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise BenchError(f"{path} exists and is not a directory; give a directory for the "
                         f"{what}")
    if (path / "report.html").exists() and not force:
        raise BenchError(f"{path} already holds a report; nothing is overwritten without "
                         f"--force")
    _check_writable_dir(path, what)
    return path


def _check_writable_dir(directory: Path, what: str) -> None:
    for parent in (directory, *directory.parents):  # the nearest part that exists
        if parent.exists():
            if not parent.is_dir():
                raise BenchError(f"cannot write the {what} under {directory}: {parent} is a "
                                 f"file, not a directory")
            break
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=directory, prefix=".bench-probe-")
        probe.close()
    except OSError as exc:
        raise BenchError(f"cannot write the {what} in {directory}: "
                         f"{exc.strerror or exc}") from None


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def step_key(index: int, name: str) -> str:
    return f"{index:02d}_{name}"


MIN_FREE_BYTES = 256 * 1024  # the run stops when its file system has less free space


class StorageFull(BaseException):
    """The run file cannot take more: its file system is nearly full, or a write failed. Like
    Ctrl-C it stops the run (the outputs are made safe, what was written is kept); raised once."""


# what h5py raises when the disk refuses a write (a flush that fails says RuntimeError)
_WRITE_ERRORS = (OSError, RuntimeError)


def _writes(method):
    """A write of data: skipped once writing has stopped; an OSError stops writing for good (an
    HDF5 file that failed a write is not written again, only closed) and raises StorageFull."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if self.stopped:
            return None
        try:
            return method(self, *args, **kwargs)
        except _WRITE_ERRORS as exc:
            self._broke(exc)
            raise StorageFull(self.stopped) from None
    return guarded


def _finishing(method):
    """A write that closes a step or the run: still made when the space ran low (it is small),
    never after a failed write; never raises."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if self.broken:
            return None
        try:
            return method(self, *args, **kwargs)
        except _WRITE_ERRORS as exc:
            self._broke(exc)
            return None
    return guarded


class RunWriter:
    """Writes one run file incrementally. Methods mirror the runner's event stream.

    The free space of the file's file system is read at each flush and before each large
    array: below ``MIN_FREE_BYTES`` the writer raises :class:`StorageFull` ("disk nearly full")
    and writes no more data, so that every point already written stays readable."""

    def __init__(self, path: str | Path, flush_interval: float = 0.5, append: bool = False):
        """``append``: continue an existing run file (see :meth:`resume_run`); the record
        streams of the interrupted session are set aside at once, before anything is written
        (a kill may have cut their last compressed chunk)."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sys.unraisablehook, sys.excepthook = _quiet_hdf5_teardown, _quiet_hdf5_traceback
        self.stopped: str = ""  # why writing stopped ("" while it goes on)
        self.broken = False  # a write failed: the file is only closed
        try:
            self.file = h5py.File(self.path, "r+" if append else "w")
        except OSError as exc:
            raise RunFileError(f"{self.path}: cannot open for writing ({exc})") from None
        self.flush_interval = flush_interval
        self._last_flush = 0.0
        self._step: h5py.Group | None = None
        if append:
            self._set_aside_records()

    def _set_aside_records(self) -> None:
        moved = self.file.require_group("interrupted")
        for name in list(self.file):
            group = self.file[name]
            if name != "interrupted" and isinstance(group, h5py.Group) and len(group) and all(
                    "op_codes" in member.attrs for member in group.values()):
                self.file.move(name, f"interrupted/{name}-{len(moved)}")

    def _broke(self, exc: BaseException) -> None:
        """A write failed: say why once and write no more."""
        said = re.search(r"error message = '([^']*)'", str(exc))
        self.stopped = self.stopped or \
            f"cannot write the run file: {said.group(1) if said else exc}"
        self.broken = True

    def check_space(self, needed: int = 0) -> None:
        """Stop the run (StorageFull) if writing ``needed`` bytes would leave less than
        MIN_FREE_BYTES free on the file's file system."""
        if self.stopped:
            return
        try:
            info = os.statvfs(self.path.parent)
        except OSError:  # no statvfs here: the write errors still stop the run
            return
        free = info.f_bavail * info.f_frsize
        if free - needed < MIN_FREE_BYTES:
            self.stopped = (f"disk nearly full: {free // 1024} KiB free on the file system of "
                            f"{self.path}; the run stopped, every point written is kept")
            with contextlib.suppress(*_WRITE_ERRORS):
                self.file.flush()
            raise StorageFull(self.stopped)

    # -- run ---------------------------------------------------------------------------------
    @_writes
    def start_run(self, *, run_id: str, software_version: str, simulated: bool,
                  station: dict, sample: dict, recipe: dict, source_run: str | None = None):
        attrs = self.file.attrs
        attrs.update({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "run_id": run_id,
                      "software_version": software_version, "started": now_iso(), "ended": "",
                      "status": "running", "status_reason": "", "simulated": bool(simulated),
                      "sample_id": str(sample.get("id", "")), "writer_pid": os.getpid(),
                      "writer_host": socket.gethostname()})
        if source_run:
            attrs["source_run"] = source_run
        self.file.create_group("steps", track_order=True)
        self.write_station(station)
        self.file.create_group("sample").attrs["json"] = to_json(sample)
        self.file.create_group("recipe").attrs["json"] = to_json(recipe)
        self.flush(force=True)

    @_writes
    def resume_run(self, first_step: int, set_aside: tuple[str, ...] = ()) -> dict[int, str]:
        """Reopen an interrupted run at ``first_step``: later step groups (partial data) move to
        ``/interrupted/<step>-<n>``, and so do the ``set_aside`` groups (``<group>-<n>``: records
        of the interrupted session, whose last compressed chunk a kill may have cut, so they are
        kept as they are and not appended to); the status goes back to running, the resume is
        logged. Returns {step index: where its interrupted group went}."""
        moved = self.file.require_group("interrupted")
        where = {}
        for key in list(self.file["steps"]):
            index = int(self.file["steps"][key].attrs["index"])
            if index >= first_step:
                where[index] = f"interrupted/{key}-{len(moved)}"
                self.file.move(f"steps/{key}", where[index])
        for group in set_aside:
            if group in self.file:
                self.file.move(group, f"interrupted/{group}-{len(moved)}")
        attrs = self.file.attrs
        history = json.loads(attrs.get("resumed", "[]"))
        history.append({"at": now_iso(), "from_step": first_step,
                        "previous_status": ("interrupted" if attrs.get("status") == "running"
                                            else str(attrs.get("status", ""))),
                        "previous_reason": str(attrs.get("status_reason", ""))})
        attrs.update({"status": "running", "status_reason": "", "ended": "",
                      "resumed": to_json(history), "writer_pid": os.getpid(),
                      "writer_host": socket.gethostname()})
        self.flush(force=True)
        return where

    def interrupted_step(self, where: str, columns: tuple[str, ...]
                         ) -> tuple[dict, dict[str, np.ndarray], dict[str, tuple]]:
        """What an interrupted step stored, to go on from it: (its parameters, its columns cut
        to the rows every column holds (a kill may have cut a row half-way), its other data
        arrays as (values, units, attributes))."""
        group = self.file[where]
        data = group["data"]
        kept = {name: data[name][()] for name in columns if name in data}
        rows = min((values.size for values in kept.values()), default=0)
        arrays = {name: (ds[()], str(ds.attrs.get("units", "")),
                         {k: v for k, v in ds.attrs.items() if k != "units"})
                  for name, ds in data.items() if name not in columns}
        return (json.loads(group.attrs["params"]),
                {name: values[:rows] for name, values in kept.items()}, arrays)

    @_writes
    def write_station(self, station: dict) -> None:
        group = self.file.require_group("station")
        group.attrs["json"] = to_json({k: v for k, v in station.items() if k != "instruments"})
        instruments = group.require_group("instruments")
        for name, info in station.get("instruments", {}).items():
            inst = instruments.require_group(name)
            for key, value in info.items():
                inst.attrs[key] = value if isinstance(value, (str, bool, int, float)) \
                    else to_json(value)

    @_finishing
    def end_run(self, status: str, reason: str = "") -> None:
        self.file.attrs.update({"status": status, "status_reason": reason, "ended": now_iso()})
        self.file.flush()  # the last write: no space check (the run is over)

    @_writes
    def root_attrs(self, **attrs: Any) -> None:
        """Root attributes of the run written as it goes (e.g. the simulated chip's damage)."""
        self.file.attrs.update(attrs)

    # -- steps -------------------------------------------------------------------------------
    @_writes
    def start_step(self, index: int, name: str, sequence: str, params: dict,
                   limits: dict) -> None:
        step = self.file["steps"].create_group(step_key(index, name), track_order=True)
        step.attrs.update({"name": name, "sequence": sequence, "index": index,
                           "status": "running", "status_reason": "", "started": now_iso(),
                           "ended": "", "params": to_json(params), "limits": to_json(limits)})
        step.create_group("data", track_order=True)
        step.create_group("results", track_order=True)
        self._step = step
        self.flush(force=True)

    @_finishing
    def step_json(self, key: str, value: Any) -> None:
        """A structured attribute of the current step, as JSON."""
        self._step.attrs[key] = to_json(value)

    @_writes
    def append_points(self, columns: dict[str, tuple[np.ndarray, str]]) -> None:
        """Append rows to the current step's 1-D columns (created on first use, resizable)."""
        data = self._step["data"]
        for name, (values, units) in columns.items():
            values = np.atleast_1d(np.asarray(values, dtype=float))
            if name not in data:
                ds = data.create_dataset(name, shape=(0,), maxshape=(None,), dtype="f8",
                                         chunks=(1024,))
                ds.attrs["units"] = units
            ds = data[name]
            ds.resize((ds.shape[0] + values.size,))
            ds[-values.size:] = values
        self.flush()

    @_writes
    def write_array(self, name: str, values: np.ndarray, units: str,
                    attrs: dict[str, Any] | None = None, group: str = "data") -> None:
        """Store a whole array (waveform, trace) at once, uncompressed and contiguous: measured
        (benchmarks/waveform_throughput.py), gzip of a 1M-point record costs 4-7x its fetch for
        a file 0.55-0.66 the size, a plain write 0.1x; any HDF5 tool reads it without plugins."""
        values = np.asarray(values)
        self.check_space(values.nbytes)
        target = self._step.require_group(group)
        ds = target.create_dataset(name, data=values)
        ds.attrs["units"] = units
        for key, value in (attrs or {}).items():
            ds.attrs[key] = value if isinstance(value, (str, int, float, np.number)) \
                else to_json(value)
        self.flush()

    @_finishing
    def end_step(self, status: str, reason: str, results: dict[str, dict]) -> None:
        """``results``: name -> {value, units, low, high, passed, conditions}; the
        conditions ({name: {value, units}}) are stored as JSON when there are any."""
        group = self._step["results"]
        for name, result in results.items():
            ds = group.create_dataset(name, data=float(result["value"]))
            ds.attrs["units"] = result["units"]
            if result.get("conditions"):
                ds.attrs["conditions"] = to_json(result["conditions"])
            ds.attrs["low"] = np.nan if result.get("low") is None else float(result["low"])
            ds.attrs["high"] = np.nan if result.get("high") is None else float(result["high"])
            ds.attrs["passed"] = "" if result.get("passed") is None else \
                ("pass" if result["passed"] else "fail")
        self._step.attrs.update({"status": status, "status_reason": reason,
                                 "ended": now_iso()})
        self._step = None
        self.flush(force=True)

    # -- append-only byte records (e.g. an I/O transcript) ------------------------------------
    @_writes
    def append_records(self, group: str, stream: str, times: np.ndarray, ops: np.ndarray,
                       payloads: list[bytes], op_codes: dict[str, int],
                       attrs: dict[str, Any] | None = None) -> None:
        """Append records (time, op code, payload bytes) to the stream ``/<group>/<stream>``.

        Datasets, all resizable, gzip-compressed but ``payload``: ``time`` (float64,
        ``units`` s), ``op`` (uint8; the ``op_codes`` attribute maps names to codes, JSON),
        ``offsets`` (uint64: where each record's payload starts in ``payload``; it ends where
        the next one starts) and
        ``payload`` (uint8, every payload concatenated, so binary payloads keep every byte).
        ``attrs`` are set on the stream's group when it is created.
        """
        if not len(times):
            return
        target = self.file.require_group(group).get(stream)
        if target is None:
            target = self.file[group].create_group(stream)
            target.attrs["op_codes"] = to_json(op_codes)
            for key, value in (attrs or {}).items():
                target.attrs[key] = value
        # each column created where it is missing, not only with the group: a Ctrl-C between
        # the group and its columns must not leave a stream that can never be appended to
        for name, dtype, chunk in (("time", "f8", 4096), ("op", "u1", 4096),
                                   ("offsets", "u8", 4096), ("payload", "u1", 16384)):
            if name in target:
                continue
            # payloads hold binary blocks (a 1M-point waveform): not compressed, as the
            # waveforms themselves (see write_array), in 16 KiB chunks (a 2 MB block appends
            # in ~2 ms; an uncompressed chunk takes its full size on disk at once, for each
            # instrument); the small columns are compressed
            packed = {} if name == "payload" else {
                "compression": "gzip", "compression_opts": 1, "shuffle": dtype != "u1"}
            ds = target.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype,
                                       chunks=(chunk,), **packed)
            if name == "time":
                ds.attrs["units"] = "s"
        lengths = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=len(payloads))
        offsets = target["payload"].shape[0] + np.cumsum(lengths) - lengths
        # payload first and time last: a reader of a file cut short trusts the shortest column
        for name, values in (("payload", np.frombuffer(b"".join(payloads), dtype=np.uint8)),
                             ("offsets", offsets), ("op", np.asarray(ops, dtype=np.uint8)),
                             ("time", np.asarray(times, dtype=float))):
            ds = target[name]
            ds.resize((ds.shape[0] + values.size,))
            if values.size:
                ds[-values.size:] = values
        self.flush()

    @_writes
    def copy_from(self, source: str | Path, item: str, into: str, *, skip: tuple[str, ...] = (),
                  missing_ok: bool = False) -> None:
        """Copy the members of group ``item`` of another file (opened read-only), but ``skip``,
        into group ``into`` of this one, byte for byte with attributes, chunking and compression;
        a group that exists on both sides is merged member by member."""
        with h5py.File(source, "r", locking=False) as src:
            if missing_ok and item not in src:
                return
            _merge(src[item], self.file.require_group(into), skip)
        self.flush()

    # -- housekeeping --------------------------------------------------------------------------
    def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_flush >= self.flush_interval:
            self.file.flush()
            self._last_flush = now
            self.check_space()

    def close(self) -> None:
        """Close the file; never raises. A file whose write failed is not touched again: HDF5
        can neither flush nor close it (its metadata cache keeps failing, and tearing it down
        crashes), so it is left as the disk holds it (see :func:`abandoned`)."""
        if not self.file.id.valid:
            return
        if not self.broken:
            try:
                self.file.flush()
                self.file.close()
                return
            except _WRITE_ERRORS as exc:  # the last flush failed: the run did not end well
                self._broke(exc)
        _ABANDONED.append((self.file, self._step))  # kept alive: no dealloc, no flush


_ABANDONED: list = []


def abandoned() -> bool:
    """Whether a run file failed a write in this process; the process should then end with
    ``os._exit`` after its last output, as HDF5's own clean-up at exit would crash on it."""
    return bool(_ABANDONED)


def _from_h5py_dealloc(tb) -> bool:
    while tb is not None:
        if "h5py" in tb.tb_frame.f_code.co_filename and "dealloc" in tb.tb_frame.f_code.co_name:
            return True
        tb = tb.tb_next
    return False


def _quiet_hdf5_traceback(kind, value, tb, _default=sys.excepthook) -> None:
    """Cython prints the traceback of a failing h5py dealloc through sys.excepthook: after a
    write failure that is the same failure again, which the run already said in one line."""
    if not _from_h5py_dealloc(tb):
        _default(kind, value, tb)


def _quiet_hdf5_teardown(unraisable, _default=sys.unraisablehook) -> None:
    """The same for the "Exception ignored in ... __dealloc__" report."""
    if not _from_h5py_dealloc(unraisable.exc_traceback) and \
            "dealloc" not in repr(getattr(unraisable, "object", "")):
        _default(unraisable)


def _merge(source: h5py.Group, target: h5py.Group, skip: tuple[str, ...] = ()) -> None:
    for name, member in source.items():
        if name in skip:
            continue
        if name in target and isinstance(member, h5py.Group):
            target[name].attrs.update(member.attrs)
            _merge(member, target[name])
        else:
            source.copy(member, target, name)


# -- reading ------------------------------------------------------------------------------------
@dataclass(repr=False)
class StepRecord:
    """One step of a run file, read back: the raw data (``data``, with ``units`` and the other
    ``attrs`` of each array, what the sequence's ``analyse`` receives), the derived arrays
    ``analyse`` returned (``analysis``, with ``analysis_units``) and the scalar ``results``."""

    name: str
    sequence: str
    status: str
    reason: str
    params: dict
    limits: dict
    data: dict[str, np.ndarray] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, dict] = field(default_factory=dict)
    analysis: dict[str, np.ndarray] = field(default_factory=dict)
    analysis_units: dict[str, str] = field(default_factory=dict)
    results: dict[str, dict] = field(default_factory=dict)
    index: int = -1
    started: str = ""
    ended: str = ""
    instrument_settings: dict = field(default_factory=dict)  # read back after acquisition
    recoveries: dict = field(default_factory=dict)  # {instrument: {retries, reopens, ...}}

    def __repr__(self) -> str:
        """Names, shapes and results, not the arrays (a notebook shows this)."""
        def shapes(arrays: dict[str, np.ndarray]) -> str:
            return "{" + ", ".join(f"{name}: {np.shape(values)}" for name, values
                                   in arrays.items()) + "}"
        results = ", ".join(f"{name}={r['value']:.4g}"
                            f"{' ' + r['units'] if r['units'] not in ('', '1') else ''}"
                            for name, r in self.results.items())
        return (f"<Step {self.name} ({self.sequence}) {self.status}"
                f"{': ' + self.reason if self.reason else ''} data={shapes(self.data)}"
                f"{' analysis=' + shapes(self.analysis) if self.analysis else ''}"
                f" results={{{results}}}>")


@dataclass
class RunRecord:
    """A run file's metadata and steps, read back with plain numpy arrays."""

    path: Path
    attrs: dict[str, Any]
    station: dict
    sample: dict
    recipe: dict
    steps: list[StepRecord]

    @property
    def run_id(self) -> str:
        return self.attrs.get("run_id", "")

    @property
    def not_run(self) -> list[tuple[str, str]]:
        """``(name, sequence)`` of the recipe's steps that have no group in the file: they never
        started (an earlier step aborted the run, or it was interrupted)."""
        raw = self.recipe.get("steps") if isinstance(self.recipe, dict) else None
        stored = {step.name for step in self.steps}
        planned = []
        for item in raw if isinstance(raw, list) else ():
            if isinstance(item, dict) and isinstance(item.get("sequence"), str):
                name = str(item.get("name") or item["sequence"])
                if name not in stored:
                    planned.append((name, item["sequence"]))
        return planned

    @property
    def status(self) -> str:
        """``interrupted`` when the file says running but its writer process is gone."""
        status = self.attrs.get("status", "")
        if status == "running" and not _writer_alive(self.attrs):
            return "interrupted"
        return status


def _writer_alive(attrs: dict[str, Any]) -> bool:
    """Whether the process that writes the file still runs (checked on the same host only)."""
    if attrs.get("writer_host") != socket.gethostname():
        return False
    try:
        os.kill(int(attrs.get("writer_pid", 0)), 0)
    except (OSError, ValueError):
        return False
    return int(attrs.get("writer_pid", 0)) > 0


def _attr_text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_run(path: str | Path, *, arrays: bool = True, station: bool = True) -> RunRecord:
    """Open a run file read-only; any problem raises :class:`RunFileError` with one clear line.
    ``arrays=False`` reads metadata and results only (fast on large files; what ``bench show``
    needs); ``station=False`` also leaves out the station snapshot and the recipe (empty in the
    record): what a campaign's table needs, a third fewer HDF5 attribute reads per file."""
    path = _existing_file(path)
    try:
        with h5py.File(path, "r", locking=False) as f:  # a live run may be read
            if f.attrs.get("format") != FORMAT_NAME:
                raise RunFileError(f"{path}: an HDF5 file, but not a microled-bench run file")
            attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
            snapshot = _read_station(f["station"]) if station else {}
            steps = [_read_step(group, arrays) for group in f["steps"].values()]
            record = RunRecord(path, attrs, snapshot, json.loads(f["sample"].attrs["json"]),
                               json.loads(f["recipe"].attrs["json"]) if station else {}, steps)
        for key in ("status", "run_id"):
            if not isinstance(attrs.get(key), str):
                raise RunFileError(f"{path}: damaged run file (its {key} is "
                                   f"{attrs.get(key)!r:.40})")
        for what, value in (("sample", record.sample), ("recipe", record.recipe)):
            if not isinstance(value, dict):
                raise RunFileError(f"{path}: damaged run file (its {what} is "
                                   f"{type(value).__name__}, not a mapping)")
    except RunFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, AttributeError, RuntimeError,
            RecursionError) as exc:
        # h5py yields None for an object whose header is damaged (hence AttributeError/TypeError)
        raise RunFileError(f"{path}: not a readable run file ({exc})") from None
    if record.status == "interrupted":  # the step the writer was in when it died
        for step in record.steps:
            if step.status == "running":
                step.status = "interrupted"
    return record


def _read_station(group: h5py.Group) -> dict[str, Any]:
    """The station snapshot: its JSON, the station file as given (for --resume) and each
    instrument's attributes."""
    station = json.loads(group.attrs["json"])
    if "config" in group.attrs:
        station["config"] = json.loads(group.attrs["config"])
    station["instruments"] = {
        name: {k: _attr_text(v) if isinstance(v, (str, bytes)) else
               (v.item() if isinstance(v, np.generic) else v)
               for k, v in inst.attrs.items()}
        for name, inst in group["instruments"].items()}
    return station


def _existing_file(path: str | Path) -> Path:
    """A run file to read: a regular file (a FIFO or device would block the open)."""
    path = Path(path)
    try:
        if not path.exists():
            if os.path.lexists(path):
                raise RunFileError(f"{path}: a symbolic link that leads nowhere (or in a loop)")
            raise RunFileError(f"{path}: no such file")
        if not path.is_file():
            raise RunFileError(f"{path}: not a regular file")
    except OSError as exc:  # e.g. a symbolic-link loop
        raise RunFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return path


def _read_step(group: h5py.Group, arrays: bool = True) -> StepRecord:
    a = group.attrs
    step = StepRecord(name=str(a["name"]), sequence=str(a["sequence"]), status=str(a["status"]),
                      reason=str(a["status_reason"]), params=json.loads(a["params"]),
                      limits=json.loads(a["limits"]), index=int(a.get("index", -1)),
                      started=str(a.get("started", "")), ended=str(a.get("ended", "")),
                      instrument_settings=json.loads(a.get("instrument_settings", "{}")),
                      recoveries=json.loads(a.get("recoveries", "{}")))
    for name, ds in group["data"].items() if arrays else ():
        step.data[name] = ds[()]
        step.units[name] = str(ds.attrs.get("units", ""))
        step.attrs[name] = {k: v for k, v in ds.attrs.items() if k != "units"}
    for name, ds in group.get("analysis", {}).items() if arrays else ():
        step.analysis[name] = ds[()]
        step.analysis_units[name] = str(ds.attrs.get("units", ""))
    for name, ds in group["results"].items():
        low, high = float(ds.attrs["low"]), float(ds.attrs["high"])
        passed = str(ds.attrs["passed"])
        step.results[name] = {"value": float(ds[()]), "units": str(ds.attrs["units"]),
                              "low": None if np.isnan(low) else low,
                              "high": None if np.isnan(high) else high,
                              "passed": None if passed == "" else passed == "pass",
                              "conditions": _conditions(name, ds.attrs.get("conditions"))}
    return step


def _conditions(result: str, text) -> dict[str, dict]:
    """A result's stored conditions ({name: {value, units}}); {} for a file written before
    results carried them. ValueError for anything else (a damaged file)."""
    if text is None:
        return {}
    conditions = json.loads(_attr_text(text))
    if not isinstance(conditions, dict) or not all(
            isinstance(c, dict) and set(c) == {"value", "units"} and isinstance(c["units"], str)
            and isinstance(c["value"], (int, float)) and not isinstance(c["value"], bool)
            for c in conditions.values()):
        raise ValueError(f"result {result}: conditions are not {{name: {{value, units}}}}")
    return {name: {"value": float(c["value"]), "units": c["units"]}
            for name, c in conditions.items()}


@dataclass
class ByteRecords:
    """One stream of append-only byte records read back (see ``RunWriter.append_records``)."""

    times: np.ndarray
    ops: np.ndarray
    payloads: list[bytes]
    op_codes: dict[str, int]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.payloads)


def read_records(path: str | Path, group: str) -> dict[str, ByteRecords]:
    """Every stream of records under ``/<group>`` (empty if there is none), read-only.

    A file cut short may hold columns of different lengths; the shortest one counts.
    Any problem raises :class:`RunFileError` with one clear line.
    """
    path = _existing_file(path)
    try:
        with h5py.File(path, "r", locking=False) as f:  # a live run may be read
            if group not in f:
                return {}
            streams = {}
            for name, g in f[group].items():
                times, ops, offsets = g["time"][()], g["op"][()], g["offsets"][()]
                payload = g["payload"][()].tobytes()
                count = min(times.size, ops.size, offsets.size)
                starts = offsets[:count].astype(np.int64)
                ends = np.append(offsets[1:], len(payload))[:count].astype(np.int64)
                if np.any(ends < starts) or np.any(ends > len(payload)):
                    raise RunFileError(f"{path}: record stream {group}/{name} is damaged "
                                       f"(payload offsets out of order)")
                streams[name] = ByteRecords(
                    times=times[:count], ops=ops[:count],
                    payloads=[payload[a:b] for a, b in zip(starts.tolist(), ends.tolist(),
                                                           strict=True)],
                    op_codes=json.loads(g.attrs["op_codes"]),
                    attrs={k: _attr_text(v) if isinstance(v, (str, bytes)) else v
                           for k, v in g.attrs.items() if k != "op_codes"})
            return streams
    except RunFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, AttributeError, RuntimeError) as exc:
        raise RunFileError(f"{path}: not a readable run file ({exc})") from None
