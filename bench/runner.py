"""The runner owns a run: opens the station, guards the roles, runs the steps, records, cleans up.

Everything a run produces goes out as one stream of events (bluesky's single document stream):
the run-file writer, the progress bar and any user callback subscribe to the same calls. Whatever
ends the run (completion, an exception, Ctrl-C, SIGTERM) the sources are ramped down and switched
off, and the file is closed with its status and reason.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from common.errors import BenchError, ConfigError
from drivers.base import InstrumentError
from drivers.roles import (
    CurrentSource,
    NetworkAnalyzer,
    Oscilloscope,
    PatternGenerator,
    PowerMeter,
    SourceMeter,
    VoltageSource,
)
from sequences.base import Sequence, split_figures

from . import __version__
from .recipe import Recipe, Step
from .safety import DriveMonitor, NetworkAnalyzerGuard, PassiveGuard, PatternGuard, SourceGuard
from .station import Station, StationConfig
from .storage import RunWriter, StorageFull, read_run, to_json
from .transcript import GROUP as TRANSCRIPT
from .transcript import Transcript

Subscriber = Callable[[str, dict[str, Any]], None]


class RunAborted(BaseException):
    """Ctrl-C or SIGTERM: stop now, leave the bench safe, keep the data."""


@dataclass
class StepOutcome:
    name: str
    sequence: str
    status: str
    reason: str
    results: dict[str, dict]


@dataclass
class RunOutcome:
    path: Path
    run_id: str
    status: str
    reason: str
    simulated: bool
    steps: list[StepOutcome] = field(default_factory=list)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def judge(figures: dict[str, tuple[float, str]],
          limits: dict[str, tuple[float | None, float | None]]) -> dict[str, dict]:
    """Attach pass/fail to each figure from the step's [min, max] limits (OpenHTF style)."""
    results = {}
    for name, (value, units) in figures.items():
        low, high = limits.get(name, (None, None))
        passed = None
        if name in limits:
            passed = bool(np.isfinite(value) and (low is None or value >= low)
                          and (high is None or value <= high))
        results[name] = {"value": float(value), "units": units, "low": low, "high": high,
                         "passed": passed}
    for name in set(limits) - set(figures):
        low, high = limits[name]
        results[name] = {"value": float("nan"), "units": "", "low": low, "high": high,
                         "passed": False}
    return results


class StepContext:
    """What a sequence sees while it acquires: guarded roles, the sample, data sinks."""

    def __init__(self, runner: Runner, step: Step, roles: dict[str, Any]):
        self.runner, self.step, self._roles = runner, step, roles
        self.sample = runner.recipe.sample
        self.limits = runner.recipe.limits
        self.setup = runner.station_config.passive
        self.units = step.sequence.column_units(step.params)
        self.columns: dict[str, list[np.ndarray]] = {name: [] for name in self.units}
        self.arrays: dict[str, np.ndarray] = {}
        self._pending: dict[str, list[np.ndarray]] = {name: [] for name in self.units}
        self._last_write = time.monotonic()
        self.count = 0

    def role(self, name: str) -> Any:
        try:
            return self._roles[name]
        except KeyError:
            sequence = self.step.sequence
            if name in sequence.optional_roles:
                raise ConfigError(f"sequence {sequence.name}: the station has no "
                                  f"{sequence.optional_roles[name].__name__} for the optional "
                                  f"role {name!r}") from None
            raise ConfigError(f"sequence {sequence.name} asked for undeclared role "
                              f"{name!r}") from None

    def has_role(self, name: str) -> bool:
        """Whether the station filled this role (an optional role may be absent)."""
        return name in self._roles

    def points(self, **columns) -> None:
        if columns.keys() != self.units.keys():
            raise ValueError(f"points() needs exactly the columns {sorted(self.units)}")
        if np.ndim(next(iter(columns.values()))) == 0:  # one row: plain floats, cheap
            for name, value in columns.items():
                self.columns[name].append(float(value))
                self._pending[name].append(float(value))
            self.count += 1
        else:
            for name, values in columns.items():
                values = np.atleast_1d(np.asarray(values, dtype=float))
                self.columns[name].append(values)
                self._pending[name].append(values)
            self.count += values.size
        now = time.monotonic()
        if now - self._last_write >= self.runner.flush_interval:
            self.flush()
        self.runner.emit("progress", step=self.step.name, done=self.count)

    def flush(self) -> None:
        if any(self._pending.values()):
            self.runner.writer.append_points(
                {name: (_join(chunks), self.units[name])
                 for name, chunks in self._pending.items() if chunks})
            self._pending = {name: [] for name in self.units}
        self._last_write = time.monotonic()

    def array(self, name: str, values: np.ndarray, units: str, **attrs: Any) -> None:
        """Store a whole raw array (waveform, trace) in the step's ``data`` group."""
        self.arrays[name] = np.asarray(values)
        self.runner.writer.write_array(name, values, units, attrs)

    def data(self) -> dict[str, np.ndarray]:
        out = {name: _join(chunks) for name, chunks in self.columns.items()}
        out.update(self.arrays)
        return out

    def sleep(self, seconds: float) -> None:
        """Wait; skipped when replaying a record (the record already holds the answers)."""
        if seconds > 0 and self.runner.replay is None:
            time.sleep(seconds)


def _join(chunks: list) -> np.ndarray:
    """One 1-D array from rows appended as floats and/or arrays."""
    if not chunks:
        return np.array([])
    try:
        return np.array(chunks, dtype=float).ravel()  # all floats, or arrays of one length
    except ValueError:
        return np.concatenate([np.atleast_1d(c) for c in chunks])


def guard_for(protocol: type, driver: Any, limits, drive: DriveMonitor) -> Any:
    """The guarded view of a driver for one role; ``drive`` is shared by one step's guards."""
    if protocol in (CurrentSource, VoltageSource, SourceMeter):
        guard = SourceGuard(driver, limits, drive)
        drive.sources.append(guard)
        return guard
    if protocol is PowerMeter:
        return PassiveGuard(driver, limits, ("configure", "read_power"))
    if protocol is PatternGenerator:
        return PatternGuard(driver, limits, drive)
    if protocol is NetworkAnalyzer:
        return NetworkAnalyzerGuard(driver, limits, drive)
    if protocol is Oscilloscope:
        return PassiveGuard(driver, limits, (
            "configure_channel", "configure_timebase", "configure_edge_trigger",
            "set_averaging", "acquire", "fetch_waveform"))
    raise ConfigError(f"no safety guard for role {protocol.__name__}")


class Runner:
    """Runs one recipe on one station into one run file."""

    def __init__(self, station_config: StationConfig, recipe: Recipe, output: str | Path | None,
                 *, force_sim: bool = False, subscribers: list[Subscriber] | None = None,
                 flush_interval: float = 0.5, warn: Callable[[str], None] | None = None,
                 record_io: bool | None = None, replay: Any = None, resume: bool = False):
        """``record_io``: keep the instrument I/O record in the file (default: the station's
        ``record_io``). ``replay``: a :class:`bench.replay.InstrumentPlayback`; its station
        answers from a recorded run, waits are skipped and the file names the source run.
        ``resume``: ``output`` is an interrupted run file; its finished steps are kept and the
        run goes on from the first unfinished one, in the same file."""
        self.station_config, self.recipe = station_config, recipe
        self.run_id = new_run_id()
        self.path = Path(output) if output else Path("runs") / f"{self.run_id}.h5"
        self.force_sim, self.flush_interval = force_sim, flush_interval
        self.subscribers = list(subscribers or [])
        self.warn = warn
        self.record_io = station_config.record_io if record_io is None else record_io
        self.replay = replay
        self.resume = resume
        self.first_step = 0
        if resume:
            record = read_run(self.path, arrays=False)
            self.run_id = record.run_id
            for step in record.steps:
                if step.status != "completed":
                    break
                self.first_step += 1
        self.transcript: Transcript | None = None
        self.station: Station | None = None
        self.writer: RunWriter | None = None
        self._sources: list[SourceGuard] = []
        self._step_drivers: list[Any] = []

    def emit(self, event: str, **payload: Any) -> None:
        for subscriber in self.subscribers:
            subscriber(event, payload)

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> RunOutcome:
        self.writer = RunWriter(self.path, self.flush_interval, append=self.resume)
        outcome = RunOutcome(self.path, self.run_id, "running", "", False)
        previous = _install_sigterm()
        try:
            station_kwargs = {"force_sim": self.force_sim}
            if self.warn is not None:
                station_kwargs["warn"] = self.warn
            if self.record_io:
                self.transcript = Transcript(self.writer, self.flush_interval)
                station_kwargs["wrap"] = self.transcript.wrap
            self.station = (Station if self.replay is None else self.replay.station)(
                self.station_config, **station_kwargs)
            try:
                self.station.open()
            finally:
                snapshot = self.station.snapshot() if self.station.instruments else \
                    {"name": self.station_config.name, "instruments": {}}
                outcome.simulated = self.station.simulated or self.force_sim
                if self.resume:
                    self.writer.resume_run(self.first_step, set_aside=(TRANSCRIPT,))
                else:
                    self._start_file(snapshot, outcome.simulated)
            self.emit("run_start", run_id=self.run_id, path=str(self.path),
                      simulated=outcome.simulated, steps=len(self.recipe.steps))
            outcome.status = "completed"
            for index, step in enumerate(self.recipe.steps):
                if index < self.first_step:
                    continue
                result = self._run_step(index, step)
                outcome.steps.append(result)
                if result.status == "failed" and step.on_error == "abort":
                    outcome.status, outcome.reason = "failed", \
                        f"step {step.name}: {result.reason}"
                    break
                if result.status == "failed" and outcome.status == "completed":
                    outcome.reason = f"step {step.name} failed; continued (on_error: continue)"
        except (RunAborted, StorageFull) as exc:  # StorageFull: the disk watch (storage.py)
            outcome.status, outcome.reason = "aborted", str(exc) or "aborted"
        except KeyboardInterrupt:
            outcome.status, outcome.reason = "aborted", "interrupted (Ctrl-C)"
        except BenchError as exc:
            outcome.status, outcome.reason = "failed", str(exc)
        except Exception as exc:  # a bug or an unforeseen instrument failure: still clean up
            outcome.status, outcome.reason = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            self._finish(outcome, previous)
        return outcome

    def _start_file(self, snapshot: dict[str, Any], simulated: bool) -> None:
        self.writer.start_run(run_id=self.run_id, software_version=__version__,
                              simulated=simulated, station=snapshot,
                              sample=self.recipe.sample_dict(), recipe=self.recipe.source,
                              source_run=self.replay and self.replay.source_run)
        self.writer.file["station"].attrs["config"] = to_json(self.station_config.mapping)

    def _finish(self, outcome: RunOutcome, previous) -> None:
        """Safe state, then the file closed with its status, then the station closed."""
        self._make_safe()
        _restore_sigterm(previous)
        if self.transcript is not None and self.writer.file.id.valid:
            self.transcript.finish()
        if self.writer.file.id.valid and "steps" in self.writer.file:
            self.writer.end_run(outcome.status, outcome.reason)
        elif self.writer.file.id.valid:  # failed before the run started: say so in the file
            self.writer.file.attrs.update({"status": outcome.status,
                                           "status_reason": outcome.reason})
        self.writer.close()
        if self.station is not None:
            self.station.close()
        self.emit("run_end", status=outcome.status, reason=outcome.reason,
                  path=str(self.path))

    def _roles_for(self, sequence: type[Sequence]) -> dict[str, Any]:
        roles = {}
        self._step_drivers = []
        drive = DriveMonitor(self.station_config.passive.bias_tee.modulation_impedance)
        wanted = [(role, protocol, False) for role, protocol in sequence.roles.items()] + \
            [(role, protocol, True) for role, protocol in sequence.optional_roles.items()]
        for role, protocol, optional in wanted:
            inst = self.station.instruments.get(role)
            if inst is None:
                matches = [i for i in self.station.instruments.values()
                           if isinstance(i.driver, protocol)]
                if optional and not matches:
                    continue
                if len(matches) != 1:
                    raise ConfigError(f"sequence {sequence.name} needs a {protocol.__name__} as "
                                      f"{role!r}; the station has "
                                      f"{'none' if not matches else 'several'}")
                inst = matches[0]
            if not isinstance(inst.driver, protocol):
                raise ConfigError(f"instrument {role!r} ({inst.config.driver}) cannot act as "
                                  f"{protocol.__name__}")
            self._step_drivers.append(inst.driver)
            roles[role] = guard_for(protocol, inst.driver, self.recipe.limits, drive)
            if isinstance(roles[role], SourceGuard):
                self._sources.append(roles[role])
        return roles

    def _run_step(self, index: int, step: Step) -> StepOutcome:
        self.writer.start_step(index, step.name, step.sequence.name, step.params, step.limits)
        self.emit("step_start", index=index, name=step.name, sequence=step.sequence.name,
                  total=step.sequence.planned_points(step.params))
        status, reason, results = "completed", "", {}
        ctx = None
        try:
            ctx = StepContext(self, step, self._roles_for(step.sequence))
            step.sequence().acquire(ctx, step.params)
            ctx.flush()
            self._check_error_queues()
            self.writer.step_json("instrument_settings", {
                driver.name: driver.settings() for driver in self._step_drivers})
            try:
                figures = step.sequence.analyse(ctx.data(), step.params, self.recipe.sample)
            except (ValueError, ArithmeticError) as exc:
                status, reason, figures = "failed", f"analysis: {exc}", {}
            scalars, derived = split_figures(figures)
            for name, (values, units) in derived.items():
                self.writer.write_array(name, values, units, group="analysis")
            results = judge(scalars, step.limits)
        except (InstrumentError, BenchError) as exc:
            status, reason = "failed", str(exc)
        except ValueError as exc:  # a driver refused a value outside its instrument's range
            status, reason = "failed", f"refused: {exc}"
        except BaseException as exc:
            interrupted = isinstance(exc, (RunAborted, KeyboardInterrupt, StorageFull))
            status = "aborted" if interrupted else "failed"
            reason = str(exc) or ("interrupted (Ctrl-C)" if interrupted else type(exc).__name__)
            raise
        finally:
            if ctx is not None:
                with contextlib.suppress(Exception):
                    ctx.flush()
            self._make_safe()
            if self.writer.file.id.valid:
                if self.transcript is not None:
                    self.transcript.flush()
                self.writer.end_step(status, reason, results)
            self.emit("step_end", name=step.name, status=status, reason=reason,
                      results=results)
        return StepOutcome(step.name, step.sequence.name, status, reason, results)

    def _check_error_queues(self) -> None:
        """An error an instrument queued during the step (and nobody read) fails the step."""
        for driver in self._step_drivers:
            errors = driver.errors()
            if errors:
                raise InstrumentError(driver.name, "(during the step)", "; ".join(errors))

    def _make_safe(self) -> None:
        """Safe state in a safe order: modulation off, bias ramped down, source outputs off.
        A failure here never hides another: every step is attempted."""
        instruments = list(self.station.instruments.values()) if self.station else []
        sources = [i.driver for i in instruments
                   if isinstance(i.driver, (CurrentSource, VoltageSource))]
        for inst in instruments:
            if inst.driver not in sources and hasattr(inst.driver, "output_off"):
                _switch_off(inst.driver.output_off, inst.driver)
        for guard in self._sources:
            _switch_off(guard.output_off, guard._driver)
        self._sources.clear()
        for driver in sources:
            _switch_off(driver.output_off, driver)


def _switch_off(output_off: Callable[[], None], driver: Any) -> None:
    """Switch an output off; if the link is gone, open it again (beyond the fault policy's one
    re-open: the safe state matters more) and try once more. Never raises."""
    try:
        output_off()
    except Exception:
        with contextlib.suppress(Exception):
            driver.resource.reopen()
            output_off()


def _install_sigterm():
    def handler(signum, frame):
        raise RunAborted("terminated (SIGTERM)")
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _restore_sigterm(previous) -> None:
    if previous is not None:
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGTERM, previous)
