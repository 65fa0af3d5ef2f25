"""Reading runs back: re-analysis of stored raw data, and re-execution against the I/O record.

``reanalyse`` runs each step's ``sequence.analyse(data, params, sample)`` (the current code) on the
raw data stored in a run file, which gives new results and new derived arrays.
``replay_instruments`` re-executes the stored recipe with every driver talking to a
:class:`~bench.transcript.ReplayResource` that answers from the run's own record: no instrument
and no simulator is involved, so the raw data must come out bit for bit. Both compare the new
results with the stored ones and can write a new run file naming its source; the source file is
only ever opened read-only.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from common.errors import BenchError, ConfigError, RunFileError
from sequences import get_sequence
from sequences.base import split_figures

from . import __version__
from .display import aligned, format_conditions, format_quantity
from .recipe import parse_recipe, parse_sample
from .runner import Runner, judge, new_run_id
from .station import InstrumentConfig, Station, StationConfig
from .storage import (
    RunRecord,
    RunWriter,
    StepRecord,
    check_new_file,
    read_records,
    read_run,
    step_key,
)
from .transcript import GROUP, ReplayResource


@dataclass
class StepReplay:
    """One step: what the file says and what the current code says (results, and the derived
    arrays of a re-analysis: name -> (array, units))."""

    name: str
    status: str
    reason: str
    stored: dict[str, dict]
    replayed: dict[str, dict]
    raw_differences: list[str] = field(default_factory=list)
    derived: dict[str, tuple[np.ndarray, str]] = field(default_factory=dict)
    stored_derived: dict[str, tuple[np.ndarray, str]] = field(default_factory=dict)

    def derived_differences(self) -> list[str]:
        """The derived arrays (``analysis/<name>``) the current code computes otherwise."""
        found = []
        for name in sorted(set(self.stored_derived) | set(self.derived)):
            old, new = self.stored_derived.get(name), self.derived.get(name)
            if old is None or new is None:
                found.append(f"{name}: {'new' if old is None else 'no longer computed'}")
            elif old[1] != new[1] or np.shape(old[0]) != np.shape(new[0]):
                found.append(f"{name}: units or shape changed")
            elif not np.array_equal(old[0], new[0], equal_nan=True):
                delta = np.nanmax(np.abs(np.asarray(new[0], float) - np.asarray(old[0], float)))
                found.append(f"{name}: differs, max |difference| {delta:.3g} {new[1]}")
        return found


@dataclass
class ReplayReport:
    source: RunRecord
    steps: list[StepReplay]
    output: Path | None = None
    status: str = ""
    reason: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.warnings and all(
            not s.raw_differences and _same_results(s.stored, s.replayed)
            and not s.derived_differences() for s in self.steps)


def _same_value(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _same_conditions(a: dict, b: dict) -> bool:
    """Whether two results belong to the same conditions (none stored: ``{}``)."""
    a, b = a.get("conditions") or {}, b.get("conditions") or {}
    return a.keys() == b.keys() and all(
        _same_value(a[c]["value"], b[c]["value"]) and a[c]["units"] == b[c]["units"]
        for c in a)


def _same_results(a: dict[str, dict], b: dict[str, dict]) -> bool:
    return a.keys() == b.keys() and all(
        _same_value(a[n]["value"], b[n]["value"]) and a[n]["passed"] == b[n]["passed"]
        and a[n]["units"] == b[n]["units"] and _same_conditions(a[n], b[n]) for n in a)


def _check_output(source: Path, output: str | Path | None, force: bool) -> Path | None:
    """The new run file: never the source, never an existing file without ``force``."""
    if output is None:
        return None
    output = Path(output)
    if output.exists() and output.resolve() == Path(source).resolve():
        raise BenchError(f"{output}: refusing to overwrite the run being replayed; "
                         f"give another -o")
    return check_new_file(output, force=force)


# -- re-analysis ---------------------------------------------------------------------------------
def _analyse_step(path: Path, step: StepRecord, sample) -> StepReplay:
    """One stored step under the current analysis code: status, reason, judged results and
    derived arrays.

    A step whose acquisition did not finish keeps its stored status, results and derived arrays:
    the runner never analysed it either.
    """
    stored_derived = {name: (values, step.analysis_units[name])
                      for name, values in step.analysis.items()}
    if step.status != "completed" and not step.reason.startswith("analysis:"):
        return StepReplay(step.name, step.status, step.reason, step.results, step.results,
                          derived=stored_derived, stored_derived=stored_derived)
    sequence = get_sequence(step.sequence)
    try:
        params = sequence.resolve(step.params)
    except ConfigError as exc:
        raise ConfigError(f"step {step.name}: stored parameters: {exc}") from None
    try:
        figures = sequence.analyse(step.data, params, sample)
        status, reason = "completed", ""
    except (ValueError, ArithmeticError) as exc:
        figures, status, reason = {}, "failed", f"analysis: {exc}"
    except KeyError as exc:  # the live run always hands every array over; the file lost one
        raise RunFileError(f"{path}: step {step.name} lacks its raw data {exc}") from None
    scalars, derived = split_figures(figures)
    limits = {name: tuple(bounds) for name, bounds in step.limits.items()}
    return StepReplay(step.name, status, reason, step.results, judge(scalars, limits),
                      derived=derived, stored_derived=stored_derived)


def reanalyse(path: str | Path, output: str | Path | None = None, *,
              force: bool = False) -> ReplayReport:
    """Recompute every step's results and derived arrays from the stored raw data; with
    ``output``, write a new run file holding the source's raw data and I/O record with the new
    results and derived arrays."""
    path = Path(path)
    output = _check_output(path, output, force)
    record = read_run(path)
    sample, _limits = parse_sample(record.sample)
    report = ReplayReport(record, [_analyse_step(path, step, sample) for step in record.steps],
                          output=output, status=record.status,
                          reason=record.attrs.get("status_reason", ""))
    if output is not None:
        _write_reanalysed(record, report, output)
    return report


def _write_reanalysed(record: RunRecord, report: ReplayReport, output: Path) -> None:
    writer = RunWriter(output)
    try:
        writer.start_run(run_id=new_run_id(), software_version=__version__,
                         simulated=bool(record.attrs.get("simulated", False)),
                         station=record.station, sample=record.sample, recipe=record.recipe,
                         source_run=record.run_id)
        for position, (step, new) in enumerate(zip(record.steps, report.steps, strict=True)):
            index = step.index if step.index >= 0 else position
            writer.start_step(index, step.name, step.sequence, step.params, step.limits)
            key = f"steps/{step_key(index, step.name)}"
            writer.copy_from(record.path, key, key, skip=("results", "analysis"))
            if step.instrument_settings:
                writer.step_json("instrument_settings", step.instrument_settings)
            for name, (values, units) in new.derived.items():
                writer.write_array(name, values, units, group="analysis")
            writer.end_step(new.status, new.reason, new.replayed)
        writer.copy_from(record.path, GROUP, GROUP, missing_ok=True)
        writer.end_run(report.status, report.reason)
    finally:
        writer.close()


# -- re-execution against the record -------------------------------------------------------------
class ReplayStation(Station):
    """A station whose instruments are the record of a run: nothing real or simulated is opened.

    Each instrument's driver talks to a ReplayResource instead of a VISA resource.
    """

    def __init__(self, config: StationConfig, playback: InstrumentPlayback, **options: Any):
        options.pop("force_sim", None)
        super().__init__(config, **options)
        self.playback = playback

    def open_resource(self, cfg: InstrumentConfig) -> tuple[Any, bool, str]:
        return (self.playback.resource(cfg.name), cfg.simulated,
                f"replayed from the record of run {self.playback.source_run}")

    def snapshot(self) -> dict[str, Any]:
        snapshot = super().snapshot()
        snapshot["simulation"] = self.playback.source.station.get("simulation", {})
        snapshot["replay_of"] = self.playback.source_run
        return snapshot


class InstrumentPlayback:
    """The ``replay`` option of :class:`~bench.runner.Runner`: one ReplayResource per
    instrument, all answering from the source run's record."""

    def __init__(self, source: RunRecord, strict: bool = True):
        self.source, self.strict = source, strict
        self.records = read_records(source.path, GROUP)
        if not self.records:
            raise BenchError(f"{source.path}: the run holds no instrument I/O record "
                             f"(recorded with record_io: false); replay --instruments needs one")
        self.resources: dict[str, ReplayResource] = {}

    @property
    def source_run(self) -> str:
        return self.source.run_id

    def station(self, config: StationConfig, **options: Any) -> ReplayStation:
        return ReplayStation(config, self, **options)

    def resource(self, name: str) -> ReplayResource:
        self.resources[name] = ReplayResource(name, self.records[name], strict=self.strict)
        return self.resources[name]

    def finish(self, complete: bool) -> list[str]:
        """Raise the first divergence; with ``complete`` (the replayed run ended as the recorded
        one did) also one for records never reached (strict). Return the lenient warnings."""
        for resource in self.resources.values():
            if resource.divergence is not None:
                raise resource.divergence
        if complete:
            for resource in self.resources.values():
                resource.check_finished()
        return [w for r in self.resources.values() for w in r.warnings]


def _station_config(record: RunRecord) -> StationConfig:
    station = record.station
    instruments = {name: {"driver": info["driver"], "resource": info["resource"],
                          "simulated": bool(info.get("simulated", False)),
                          "options": _stored_options(info.get("options"))}
                   for name, info in station.get("instruments", {}).items()}
    if not instruments:
        raise BenchError(f"{record.path}: the run's station snapshot names no instruments")
    return StationConfig.from_mapping(
        {"name": station.get("name", "station"), "instruments": instruments,
         "setup": station.get("setup") or {}}, source=f"record of run {record.run_id}")


def _stored_options(stored: Any) -> dict[str, Any]:
    """An instrument's station options as the snapshot keeps them (JSON text), or none."""
    if stored is None:
        return {}
    try:
        options = json.loads(stored) if isinstance(stored, str) else stored
    except ValueError:
        options = None
    if not isinstance(options, dict):
        raise BenchError(f"damaged run file: instrument options {stored!r:.60} are not a mapping")
    return options


def _stored_recipe(record: RunRecord):
    """The stored recipe, each step with the parameters it actually ran with."""
    recipe = parse_recipe(record.recipe)
    ran = {step.name: step.params for step in record.steps}
    for step in recipe.steps:
        if step.name in ran:
            try:
                step.params = step.sequence.resolve(ran[step.name])
            except ConfigError as exc:
                raise ConfigError(f"step {step.name}: stored parameters: {exc}") from None
    return recipe


def _raw_differences(old: StepRecord, new: StepRecord) -> list[str]:
    differences = []
    for name in sorted(set(old.data) | set(new.data)):
        if name not in new.data or name not in old.data:
            differences.append(f"{name}: only in the {'stored' if name in old.data else 'new'} "
                               f"run")
        elif (old.data[name].dtype != new.data[name].dtype
              or not np.array_equal(old.data[name], new.data[name])):
            differences.append(f"{name}: differs")
    return differences


def replay_instruments(path: str | Path, output: str | Path | None = None, *,
                       strict: bool = True, subscribers: list | None = None,
                       force: bool = False) -> ReplayReport:
    """Re-execute the stored recipe against the run's I/O record; compare raw data and results.

    Strict: the first command that differs from the record raises ReplayDivergence.
    """
    path = Path(path)
    output = _check_output(path, output, force)
    record = read_run(path)
    if record.attrs.get("resumed"):
        raise BenchError(f"{path}: the run was resumed after an interruption, so its I/O record "
                         f"holds several sessions; replay --instruments re-executes single-session "
                         f"runs only (plain replay re-analyses it)")
    playback = InstrumentPlayback(record, strict=strict)
    config, recipe = _station_config(record), _stored_recipe(record)
    missing = sorted(set(config.instruments) - set(playback.records))
    if missing:
        raise BenchError(f"{path}: no I/O record for instrument(s) {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as scratch:
        target = output or Path(scratch) / "replay.h5"
        runner = Runner(config, recipe, target, subscribers=subscribers, replay=playback)
        outcome = runner.run()
        warnings = playback.finish(complete=outcome.status == record.status)
        try:
            new = read_run(target)
        except RunFileError:
            raise BenchError(f"the replay failed before its run started: {outcome.reason}") \
                from None
    new_steps = {step.name: step for step in new.steps}
    steps = []
    for old in record.steps:
        replayed = new_steps.get(old.name)
        if replayed is None:
            steps.append(StepReplay(old.name, "not run", "", old.results, {},
                                    ["step not run in the replay"]))
            continue
        steps.append(StepReplay(old.name, replayed.status, replayed.reason, old.results,
                                replayed.results, _raw_differences(old, replayed)))
    if outcome.status != record.status:
        warnings.append(f"the replayed run ended {outcome.status} ({outcome.reason}); the "
                        f"recorded run ended {record.status}")
    return ReplayReport(record, steps, output=output, status=outcome.status,
                        reason=outcome.reason, warnings=warnings)


# -- display -------------------------------------------------------------------------------------
def _difference(stored: dict | None, replayed: dict | None) -> str:
    if stored is None or replayed is None:
        return "only stored" if replayed is None else "new result"
    a, b = stored["value"], replayed["value"]
    if _same_value(a, b):
        said = "=" if stored["passed"] == replayed["passed"] else "verdict changed"
    elif not (math.isfinite(a) and math.isfinite(b)):
        said = "changed"
    else:
        relative = f" ({(b - a) / abs(a):+.3g})" if a else ""
        said = f"{format_quantity(b - a, replayed['units'])}{relative}"
    if _same_conditions(stored, replayed):
        return said
    now = format_conditions(replayed.get("conditions")) or "no conditions"
    return f"conditions changed ({now})" if said == "=" else f"{said}; conditions now {now}"


def format_report(report: ReplayReport) -> str:
    """The results beside the stored ones, with the difference (absolute, and relative)."""
    rows = [("step", "result", "stored", "replayed", "difference")]
    for step in report.steps:
        for name in list(step.stored) + [n for n in step.replayed if n not in step.stored]:
            old, new = step.stored.get(name), step.replayed.get(name)
            rows.append((step.name, name,
                         format_quantity(old["value"], old["units"]) if old else "-",
                         format_quantity(new["value"], new["units"]) if new else "-",
                         _difference(old, new)))
        if step.status != "completed":
            rows.append((step.name, f"({step.status})", step.reason[:60], "", ""))
        for difference in step.raw_differences:
            rows.append((step.name, "(raw data)", difference, "", ""))
        for difference in step.derived_differences():
            rows.append((step.name, "(derived array)", difference, "", ""))
    return "\n".join([aligned(rows)] + [f"warning: {w}" for w in report.warnings])
