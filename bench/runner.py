"""The runner owns a run: opens the station, guards the roles, runs the steps, records, cleans up.

Everything a run produces goes out as one stream of events (bluesky's single document stream):
the run-file writer, the progress bar and any user callback subscribe to the same calls.

Before anything moves the whole recipe is checked (:mod:`bench.plan`: against the driver classes
before the station opens, against the connected instruments after identification); then every
output the station can switch is read, brought to its safe state (an SMU found on is ramped down
in the sample's ramp steps) and read back, and the snapshot says what was found and done.
Whatever ends the run (completion, an exception, Ctrl-C, SIGTERM) the sources are ramped down
and switched off, a second Ctrl-C or SIGTERM being held until that sequence has ended (as
OpenHTF protects its teardown); a failure to switch off is shown and stored; the file is closed
with its final status and reason.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from common.errors import BenchError, ConfigError, StationError
from drivers.base import InstrumentError
from drivers.roles import (
    CurrentSource,
    NetworkAnalyzer,
    Oscilloscope,
    Output,
    PatternGenerator,
    Positioner,
    PowerMeter,
    PulsedCurrentSource,
    PulsedSource,
    PulseGenerator,
    SourceMeter,
    Spectrometer,
    Switch,
    TemperatureController,
    VoltageSource,
)
from sequences.base import Sequence, dropped_figures, split_figures

from . import __version__
from .clock import WallClock, clock_for
from .plan import Plan, PlanError, check_connected, check_recipe, resolve_roles
from .recipe import Recipe, Step
from .safety import (
    DriveMonitor,
    NetworkAnalyzerGuard,
    PassiveGuard,
    PatternGuard,
    PositionerGuard,
    PulsedSourceGuard,
    PulseGuard,
    SourceGuard,
    SwitchGuard,
    TemperatureGuard,
)
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


def judge(figures: dict[str, tuple[float, str, dict[str, tuple[float, str]]]],
          limits: dict[str, tuple[float | None, float | None]]) -> dict[str, dict]:
    """Attach pass/fail to each figure from the step's [min, max] limits (OpenHTF style).
    ``figures``: the scalar results of :func:`sequences.base.split_figures`, each with the
    conditions it belongs to (stored as ``conditions: {name: {value, units}}``)."""
    results = {}
    for name, (value, units, conditions) in figures.items():
        low, high = limits.get(name, (None, None))
        passed = None
        if name in limits:
            passed = bool(np.isfinite(value) and (low is None or value >= low)
                          and (high is None or value <= high))
        results[name] = {"value": float(value), "units": units, "low": low, "high": high,
                         "passed": passed,
                         "conditions": {cond: {"value": float(v), "units": u}
                                        for cond, (v, u) in conditions.items()}}
    for name in set(limits) - set(figures):
        low, high = limits[name]
        results[name] = {"value": float("nan"), "units": "", "low": low, "high": high,
                         "passed": False, "conditions": {}}
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
        self.detail = ""  # the sequence's words on its progress (progress())
        self.notes: list[str] = []
        # what an interrupted step stored, on a resume of a resumable sequence; else {}
        self.earlier: dict[str, np.ndarray] = {}

    def progress(self, text: str) -> None:
        """A few words on the step's progress beyond its row count, sent with the next rows'
        ``progress`` event (``detail``) and shown beside the progress bar."""
        self.detail = text

    def note(self, message: str) -> None:
        """Something the step's outcome should say (its reason when it completes), shown now."""
        self.notes.append(message)
        self.runner.say(f"{self.step.name}: {message}")

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
        self.runner.note_world()
        now = time.monotonic()
        if now - self._last_write >= self.runner.flush_interval:
            self.flush()
        self.runner.emit("progress", step=self.step.name, done=self.count, detail=self.detail)
        self.runner.raise_pending_stop()

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

    def now(self) -> float:
        """Seconds on the bench's clock (:mod:`bench.clock`): differences are elapsed time."""
        return self.runner.clock.now()

    def sleep(self, seconds: float) -> None:
        """Wait on the bench's clock, in slices that a stop request ends; skipped when
        replaying a record (the record already holds the answers)."""
        self.runner.raise_pending_stop()
        if seconds <= 0 or self.runner.replay is not None:
            return
        clock = self.runner.clock
        end = clock.now() + seconds
        while (left := end - clock.now()) > 0:
            clock.sleep(min(left, SLEEP_SLICE * clock.speed))
            self.runner.raise_pending_stop()


DAMAGE_ATTR = "simulated_damage"  # root attribute: the simulated chip's damage so far
SLEEP_SLICE = 0.5  # s of real time: a stop request ends a long wait within this


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
    if protocol in (PulsedSource, PulsedCurrentSource):
        guard = PulsedSourceGuard(driver, limits, drive)
        drive.sources.append(guard)
        return guard
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
    if protocol is PulseGenerator:
        return PulseGuard(driver, limits, drive)
    if protocol is TemperatureController:
        return TemperatureGuard(driver, limits)
    if protocol is Oscilloscope:
        return PassiveGuard(driver, limits, (
            "configure_channel", "configure_timebase", "configure_edge_trigger",
            "set_averaging", "acquire", "fetch_waveform"))
    if protocol is Switch:
        return SwitchGuard(driver, limits, drive)
    if protocol is Positioner:
        return PositionerGuard(driver, limits)
    if protocol is Spectrometer:
        return PassiveGuard(driver, limits, ("configure", "acquire_spectrum"))
    raise ConfigError(f"no safety guard for role {protocol.__name__}")


class Runner:
    """Runs one recipe on one station into one run file."""

    def __init__(self, station_config: StationConfig, recipe: Recipe, output: str | Path | None,
                 *, force_sim: bool = False, subscribers: list[Subscriber] | None = None,
                 flush_interval: float = 0.5, warn: Callable[[str], None] | None = None,
                 record_io: bool | None = None, replay: Any = None, resume: bool = False,
                 force: bool = False):
        """``record_io``: keep the instrument I/O record in the file (default: the station's
        ``record_io``). ``replay``: a :class:`bench.replay.InstrumentPlayback`; its station
        answers from a recorded run, waits are skipped and the file names the source run.
        ``resume``: ``output`` is an interrupted run file; its finished steps are kept and the
        run goes on from the first unfinished one, in the same file, on the same instruments
        (resources and IDNs as recorded, simulated as recorded: a simulated run resumes
        simulated without ``force_sim``). ``force``: run despite implausible sample values."""
        self.station_config, self.recipe = station_config, recipe
        self.run_id = new_run_id()
        self.path = Path(output) if output else Path("runs") / f"{self.run_id}.h5"
        self.force_sim, self.flush_interval = force_sim, flush_interval
        self.subscribers = list(subscribers or [])
        self.warn = warn
        self.record_io = station_config.record_io if record_io is None else record_io
        self.replay = replay
        self.resume, self.force = resume, force
        self.clock = WallClock()  # what ctx.now() and ctx.sleep() run on (bench/clock.py)
        self.first_step = 0
        self.steps_started = 0  # in this session (a resume's earlier steps do not count)
        self.plan: Plan | None = None
        self._recorded: dict[str, dict] = {}
        self._held: list[int] = []  # signals held while the outputs were being made safe
        self._switch_off_failures: list[str] = []
        self._resumed = False  # the interrupted file has been reopened for writing
        self._interrupted: dict[int, str] = {}  # step index -> its interrupted group (resume)
        self._commanded = False  # a command beyond identification was sent
        self._stopping = False  # a first Ctrl-C or SIGTERM was received
        self._pending_stop: int | None = None  # ... and its exception not raised yet
        if resume:
            record = read_run(self.path, arrays=False)
            self._recorded = dict(record.station.get("instruments", {}))
            self._resume_provenance(bool(record.attrs.get("simulated", False)))
            self.run_id = record.run_id
            self._carry_damage(record.attrs.get(DAMAGE_ATTR))
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
        """Send an event to every subscriber. One whose output is gone (a closed pipe or
        terminal: OSError) is dropped and the run goes on: the file keeps everything."""
        for subscriber in list(self.subscribers):
            try:
                subscriber(event, payload)
            except OSError:
                self.subscribers.remove(subscriber)

    def say(self, message: str) -> None:
        """A message for the person at the bench (stderr by default, or ``warn``), also sent to
        the subscribers as a ``message`` event."""
        with contextlib.suppress(OSError):  # stderr gone (a closed pipe): the file keeps it
            if self.warn is not None:
                self.warn(message)
            else:
                print(message, file=sys.stderr)
        self.emit("message", text=message)

    # -- checks before anything moves ----------------------------------------------------------
    def check(self) -> Plan:
        """The whole recipe against the station's driver classes, nothing opened: PlanError
        with one line per problem (implausible sample values count unless ``force``)."""
        plan = check_recipe(self.recipe, self.station_config, force_sim=self.force_sim)
        plan.raise_problems(self.force)
        for notice in plan.notices:  # said once, for a plan that will run
            self.say(f"note: {notice}")
        self.plan = plan
        return plan

    def _carry_damage(self, damage: Any) -> None:
        """A resumed simulated chip keeps the damage its stress had done (the new session's
        world starts with it, ``simulation.degradation.initial_damage``)."""
        simulation = self.station_config.simulation or {}
        law = simulation.get("degradation")
        if damage is None or not isinstance(law, dict):
            return
        self.station_config = replace(self.station_config, simulation={
            **simulation, "degradation": {**law, "initial_damage": float(damage)}})

    def note_world(self) -> None:
        """Keep the simulated chip's damage so far in the file (with the points it goes
        with), for a resume to carry on from."""
        world = getattr(self.station, "world", None)
        if world is not None and world.degradation is not None:
            self.writer.root_attrs(**{DAMAGE_ATTR: world.damage()})

    def _resume_provenance(self, was_simulated: bool) -> None:
        """Before anything opens: a resume uses the run's own instruments (names, drivers,
        resources), simulated as they were. A run whose every instrument was simulated resumes
        simulated; a real one is never resumed on simulated instruments."""
        recorded, config = self._recorded, self.station_config.instruments
        if was_simulated and recorded and all(i.get("simulated") for i in recorded.values()):
            self.force_sim = True
        differences = []
        for name in sorted(set(recorded) | set(config)):
            if name not in config:
                differences.append(f"{name}: used by the run, not on the station")
                continue
            if name not in recorded:
                differences.append(f"{name}: on the station, not used by the run")
                continue
            was, now = recorded[name], config[name]
            for key, value in (("driver", now.driver), ("resource", now.resource)):
                if was.get(key) != value:
                    differences.append(f"{name}: {key} {value} (the run used {was.get(key)})")
            if not now.fallback:
                differences += _kind_changed(name, was, self.force_sim or now.simulated)
        if differences:
            raise ConfigError(_REFUSED_RESUME + "; ".join(differences))

    def _check_identity(self) -> None:
        """Right after identification, before any output command: a resume finds the
        instruments it recorded (IDN, simulated or real); other instruments are left as found."""
        differences = []
        for name, was in self._recorded.items():
            inst = self.station.instruments.get(name)
            if inst is None:
                continue
            if was.get("idn") != inst.driver.idn:
                differences.append(f"{name}: *IDN? {inst.driver.idn!r} (the run had "
                                   f"{was.get('idn')!r})")
            differences += _kind_changed(name, was, inst.simulated)
        if differences:
            raise StationError(_REFUSED_RESUME + "; ".join(differences))

    def _check_connected_plan(self) -> None:
        """Every step's plan suits the connected instruments (ranges they reported, e.g. a VNA's
        frequency option); asked after the safe state, so that a refused run never leaves an
        output live that it found live."""
        if self.plan is not None:
            problems = check_connected(self.plan, {name: inst.driver for name, inst
                                                   in self.station.instruments.items()})
            if problems:
                raise PlanError(problems)

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> RunOutcome:
        """Check the plan (PlanError before anything is written or opened), then run it."""
        if self.plan is None:
            self.check()
        self.writer = RunWriter(self.path, self.flush_interval, append=self.resume)
        outcome = RunOutcome(self.path, self.run_id, "running", "", False)
        previous = self._install_signals()
        try:
            station_kwargs = {"force_sim": self.force_sim}
            if self.warn is not None:
                station_kwargs["warn"] = self.warn
            if self.record_io:
                # a resume writes its record only once the file is reopened (never into the
                # interrupted session's record, never into a file whose resume is refused)
                self.transcript = Transcript(None if self.resume else self.writer,
                                             self.flush_interval)
                station_kwargs["wrap"] = self.transcript.wrap
            self.station = (Station if self.replay is None else self.replay.station)(
                self.station_config, **station_kwargs)
            identified = False
            try:
                self.station.open()
                self._use_station_clock()
                self._check_identity()
                identified = True
                self._initial_safe_state()
                self._check_connected_plan()
            finally:
                outcome.simulated = self.station.simulated or self.force_sim
                if not self.resume:
                    snapshot = self.station.snapshot() if self.station.instruments else \
                        {"name": self.station_config.name, "instruments": {}}
                    self._start_file(snapshot, outcome.simulated)
                elif identified:  # a refused resume leaves the interrupted file as it was
                    self._interrupted = self.writer.resume_run(self.first_step,
                                                               set_aside=(TRANSCRIPT,))
                    self._resumed = True
                    self._record_resumed_safe_state()
                    if self.transcript is not None:
                        self.transcript.writer = self.writer
            self.emit("run_start", run_id=self.run_id, path=str(self.path),
                      simulated=outcome.simulated, steps=len(self.recipe.steps))
            outcome.status = "completed"
            for index, step in enumerate(self.recipe.steps):
                if index < self.first_step:
                    continue
                result = self._run_step(index, step)
                outcome.steps.append(result)
                self.raise_pending_stop()
                if self._switch_off_failures:  # never go on with an output that stayed on
                    outcome.status, outcome.reason = "failed", \
                        f"step {step.name}: {result.reason}"
                    break
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

    def _use_station_clock(self) -> None:
        """Steps run on the simulated world's clock when the station has one (bench/clock.py);
        a clock speed other than 1 with real instruments is refused before any command."""
        real = [name for name, inst in self.station.instruments.items() if not inst.simulated]
        try:
            self.clock = clock_for(getattr(self.station, "world", None), real)
        except ValueError as exc:
            raise ConfigError(f"station: {exc}") from None

    def _start_file(self, snapshot: dict[str, Any], simulated: bool) -> None:
        self.writer.start_run(run_id=self.run_id, software_version=__version__,
                              simulated=simulated, station=snapshot,
                              sample=self.recipe.sample_dict(), recipe=self.recipe.source,
                              source_run=self.replay and self.replay.source_run)
        self.writer.root_attrs(clock_speed=float(self.clock.speed))
        self.writer.file["station"].attrs["config"] = to_json(self.station_config.mapping)

    def _finish(self, outcome: RunOutcome, previous) -> None:
        """Safe state, then the file closed with its final status, then the station closed; a
        Ctrl-C or SIGTERM meanwhile is held until the file is closed, and makes the run
        aborted."""
        with self._signals_held():
            self._finish_held(outcome)
        _restore_signals(previous)

    def _finish_held(self, outcome: RunOutcome) -> None:
        failures_before = len(self._switch_off_failures)
        if self._commanded:  # a run refused before its first command leaves what it found
            self._make_safe()
        # a file that failed a write is not touched again: HDF5 may crash reading it
        valid = not self.writer.broken and self.writer.file.id.valid and (
            self._resumed or not self.resume)
        if self.transcript is not None and valid:
            with contextlib.suppress(StorageFull):  # a failed write: said below
                self.transcript.finish()
        if self._held and outcome.status != "aborted":
            outcome.status = "aborted"
            outcome.reason = "; ".join(filter(None, (
                outcome.reason, f"{_signal_names(self._held)} during clean-up (held until the "
                "outputs were safe)")))
        if len(self._switch_off_failures) > failures_before and outcome.status == "completed":
            outcome.status = "failed"
            outcome.reason = "switching off failed: " + "; ".join(
                self._switch_off_failures[failures_before:])
        if valid and self._switch_off_failures:
            self.writer.file.attrs["switch_off_failures"] = to_json(self._switch_off_failures)
        if valid and "steps" in self.writer.file:
            self.writer.end_run(outcome.status, outcome.reason)
        elif valid:  # failed before the run started: say so in the file
            self.writer.file.attrs.update({"status": outcome.status,
                                           "status_reason": outcome.reason})
        self.writer.close()
        if self.writer.broken and outcome.status == "completed":  # its last writes failed
            outcome.status, outcome.reason = "failed", self.writer.stopped or \
                "cannot write the run file"
        if self.station is not None:
            self.station.close()
        self.emit("run_end", status=outcome.status, reason=outcome.reason,
                  path=str(self.path))

    def _install_signals(self) -> dict:
        """For the run: the first Ctrl-C or SIGTERM stops it (KeyboardInterrupt, RunAborted);
        any later one is held (the run is already on its way out through the safe state). A
        signal landing in a finaliser (where an exception would be swallowed) is kept pending
        and raised at the step's next point (:meth:`raise_pending_stop`)."""
        def stop(signum, frame):
            if self._stopping:
                self._held.append(signum)
                return
            self._stopping, self._pending_stop = True, signum
            if frame is not None and (frame.f_code.co_name == "__del__"
                                      or frame.f_code.co_filename.endswith("weakref.py")):
                return
            self.raise_pending_stop()

        previous = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, stop)
        except ValueError:  # not the main thread: leave signals alone
            pass
        return previous

    def raise_pending_stop(self) -> None:
        """Raise the stop a first Ctrl-C or SIGTERM asked for, if not raised yet."""
        signum, self._pending_stop = self._pending_stop, None
        if signum == signal.SIGTERM:
            raise RunAborted("terminated (SIGTERM)")
        if signum is not None:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def _signals_held(self):
        """Ctrl-C and SIGTERM are recorded, not raised, until the block ends."""
        def hold(signum, frame):
            self._held.append(signum)

        previous = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, hold)
        except ValueError:  # not the main thread: signals are not ours to hold
            pass
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # -- safe state ------------------------------------------------------------------------
    def _initial_safe_state(self) -> None:
        """Every output the station can switch is read, brought to its safe state and read
        back before the first step, modulation first, sources last; what was found and done is
        kept per instrument for the snapshot. StationError when an output stays on."""
        self._commanded = True
        outputs = [i for i in self.station.instruments.values() if isinstance(i.driver, Output)]
        sources = [i for i in outputs if isinstance(i.driver, (CurrentSource, VoltageSource))]
        problems = []
        with self._signals_held():
            for inst in [i for i in outputs if i not in sources] + sources:
                inst.safe_state = self._bring_to_safe_state(inst)
                if inst.safe_state.get("problem"):
                    problems.append(f"{inst.config.name}: {inst.safe_state['problem']}")
        for inst in outputs:
            if inst.safe_state.get("was_on"):
                self.say(f"safe state: {inst.safe_state['summary']}")
        if problems:
            self._switch_off_failures += problems
            raise StationError("the outputs could not be brought to a safe state: "
                               + "; ".join(problems))
        if self._held:
            self._stopping = True  # any later signal is held on the way out
            raise RunAborted(f"{_signal_names(self._held)} while the outputs were made safe")

    def _record_resumed_safe_state(self) -> None:
        """A resume's own safe state (what this session found and did) replaces the
        interrupted session's in the snapshot of each instrument."""
        group = self.writer.file.get("station/instruments")
        for name, inst in self.station.instruments.items():
            if group is not None and name in group and inst.safe_state:
                group[name].attrs["safe_state"] = to_json(inst.safe_state)

    def _bring_to_safe_state(self, inst) -> dict[str, Any]:
        driver, name = inst.driver, inst.config.name
        try:
            found = driver.describe_output()
            was_on = bool(driver.output_enabled())
        except Exception as exc:  # unreadable: switch it off all the same
            found, was_on = f"output state unreadable ({exc})", True
        done = "switched off"
        try:
            if isinstance(driver, (CurrentSource, VoltageSource)):
                function, level = driver.read_source()
                if was_on and level != 0:
                    guard = SourceGuard(driver, self.recipe.limits)
                    guard.adopt(function, level)
                    guard.output_off()
                    done = (f"ramped from {level:g} {'A' if function == 'CURR' else 'V'} to 0 "
                            f"in the sample's ramp steps and switched off")
                else:
                    driver.output_off()
            else:
                driver.output_off()
            still_on = driver.output_enabled()
        except Exception as exc:
            problem = (_switch_off(driver.output_off, driver)
                       or f"bringing it to a safe state failed ({exc})")
            return {"found": found, "done": "failed", "was_on": was_on, "problem": problem,
                    "summary": f"{name} {_was(found)}: switching off FAILED ({problem})"}
        if still_on:
            problem = f"output still ON after switching off{_answer(driver)}"
            return {"found": found, "done": "failed", "was_on": was_on, "problem": problem,
                    "summary": f"{name} {_was(found)}: {problem}"}
        if not was_on:
            done = "switched off again (read back OFF)"
        return {"found": found, "done": done, "was_on": was_on,
                "summary": f"{name} {_was(found)}: {done}"}

    def _roles_for(self, sequence: type[Sequence]) -> dict[str, Any]:
        roles = {}
        self._step_drivers = []
        drive = DriveMonitor(self.station_config.passive.bias_tee.modulation_impedance)
        instruments = self.station.instruments
        chosen = resolve_roles(sequence, {name: inst.driver for name, inst in instruments.items()})
        protocols = {**sequence.optional_roles, **sequence.roles}
        for role, name in chosen.items():
            driver = instruments[name].driver
            self._step_drivers.append(driver)
            roles[role] = guard_for(protocols[role], driver, self.recipe.limits, drive)
            if isinstance(roles[role], SourceGuard):
                self._sources.append(roles[role])
        return roles

    def _run_step(self, index: int, step: Step) -> StepOutcome:
        self.steps_started += 1
        self.writer.start_step(index, step.name, step.sequence.name, step.params, step.limits)
        self.emit("step_start", index=index, name=step.name, sequence=step.sequence.name,
                  total=step.sequence.planned_points(step.params))
        status, reason, results = "completed", "", {}
        ctx = None
        recoveries_before = self._recoveries()
        failures_before = len(self._switch_off_failures)
        try:
            ctx = StepContext(self, step, self._roles_for(step.sequence))
            self._go_on_from_interrupted(index, step, ctx)
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
            dropped = dropped_figures(figures)
            if dropped:
                self.writer.step_json("dropped_figures", dropped)
                ctx.notes.append("figures left out: " + "; ".join(
                    f"{name} ({why})" for name, why in dropped.items()))
            if status == "completed":
                reason = "; ".join(ctx.notes)
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
            with self._signals_held():  # the step ends whole: safe, then written
                status, reason = self._end_step(step, ctx, status, reason, results,
                                                recoveries_before, failures_before)
        if self._held:
            self._stopping = True  # any later signal is held on the way out
            raise RunAborted(f"{_signal_names(self._held)} while the outputs were made safe")
        return StepOutcome(step.name, step.sequence.name, status, reason, results)

    def _go_on_from_interrupted(self, index: int, step: Step, ctx: StepContext) -> None:
        """On a resume, a resumable sequence's interrupted step goes on where it stopped: what
        it stored is copied into the new step group (the interrupted group stays, untouched,
        under /interrupted) and handed to the sequence as ``ctx.earlier``. Other parameters
        than the interrupted step's start the step afresh, and say so."""
        where = self._interrupted.get(index)
        if where is None or not step.sequence.resumable:
            return
        params, columns, arrays = self.writer.interrupted_step(where, tuple(ctx.units))
        if params != json.loads(to_json(step.params)):
            ctx.note(f"the interrupted step had other parameters: started afresh ({where} "
                     f"keeps its data)")
            return
        rows = min((values.size for values in columns.values()), default=0)
        if rows and columns.keys() == ctx.units.keys():
            self.writer.append_points({name: (values, ctx.units[name])
                                       for name, values in columns.items()})
            for name, values in columns.items():
                ctx.columns[name].append(values)
            ctx.count = rows
        for name, (values, units, attrs) in arrays.items():
            ctx.array(name, values, units, **attrs)
        ctx.earlier = ctx.data()
        self.writer.step_json("resumed_from", {"group": where, "rows": rows,
                                               "arrays": sorted(arrays)})
        ctx.note(f"went on from the interrupted step ({rows} rows kept)")

    def _end_step(self, step: Step, ctx: StepContext | None, status: str, reason: str,
                  results: dict, recoveries_before: dict, failures_before: int
                  ) -> tuple[str, str]:
        """Safe state, then the step's record: status, reason, recoveries, switch-off failures."""
        if ctx is not None:
            with contextlib.suppress(Exception):
                ctx.flush()
        self._make_safe()
        failures = self._switch_off_failures[failures_before:]
        if failures:
            status = "failed"
            reason = "; ".join(filter(None, (reason, "switching off failed: "
                                             + "; ".join(failures))))
        recoveries = self._recoveries_since(recoveries_before)
        if self.writer.file.id.valid:
            if self.transcript is not None:
                self.transcript.flush()
            self.writer.step_json("recoveries", recoveries)
            if failures:
                self.writer.step_json("switch_off_failures", failures)
            self.writer.end_step(status, reason, results)
        self.emit("step_end", name=step.name, status=status, reason=reason, results=results,
                  recoveries=recoveries)
        return status, reason

    def _recoveries(self) -> dict[str, dict[str, int]]:
        instruments = self.station.instruments.values() if self.station else []
        return {i.config.name: dict(getattr(i.driver, "recoveries", {})) for i in instruments}

    def _recoveries_since(self, before: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        """What the fault policy did during the step, per instrument: only non-zero counts."""
        changed = {}
        for name, now in self._recoveries().items():
            counts = {key: value - before.get(name, {}).get(key, 0) for key, value in now.items()}
            counts = {key: value for key, value in counts.items() if value}
            if counts:
                changed[name] = counts
        return changed

    def _check_error_queues(self) -> None:
        """An error an instrument queued during the step (and nobody read) fails the step."""
        for driver in self._step_drivers:
            errors = driver.errors()
            if errors:
                raise InstrumentError(driver.name, "(during the step)", "; ".join(errors))

    def _make_safe(self) -> None:
        """Safe state in a safe order: modulation off, bias ramped down, source outputs off,
        each read back. Signals are held meanwhile; a failure never hides another (every step
        is attempted) and is shown and kept (``_switch_off_failures``) with the instrument's
        answer."""
        instruments = list(self.station.instruments.values()) if self.station else []
        sources = [i.driver for i in instruments
                   if isinstance(i.driver, (CurrentSource, VoltageSource))]
        problems = []
        with self._signals_held():
            for inst in instruments:
                if inst.driver not in sources and hasattr(inst.driver, "output_off"):
                    problems.append(_switch_off(inst.driver.output_off, inst.driver))
            for guard in self._sources:
                problems.append(_switch_off(guard.output_off, guard._driver, check=False))
            self._sources.clear()
            for driver in sources:
                problems.append(_switch_off(driver.output_off, driver))
        for problem in filter(None, problems):
            self._switch_off_failures.append(problem)
            if self.replay is None:  # a replay drives nothing: its divergences are reported
                self.say(f"WARNING: {problem}")


_REFUSED_RESUME = "refusing to resume on other instruments than the run used: "


def _kind_changed(name: str, recorded: dict[str, Any], simulated: bool) -> list[str]:
    """The difference, if any, between how a resumed run recorded an instrument (simulated or
    real) and how it would open now."""
    if bool(recorded.get("simulated")) == simulated:
        return []
    kind = {True: "simulated", False: "real"}
    return [f"{name}: {kind[simulated]} now, {kind[bool(recorded.get('simulated'))]} in the run"]


def _switch_off(output_off: Callable[[], None], driver: Any, check: bool = True) -> str | None:
    """Switch an output off and read it back; if the link is gone, open it again (beyond the
    fault policy's one re-open: the safe state matters more) and try once more. Never raises:
    a failure comes back as one line with the instrument's answer, None when it is off."""
    name = getattr(driver, "name", type(driver).__name__)
    try:
        output_off()
    except Exception as first:
        try:
            driver.resource.reopen()
            output_off()
        except Exception as again:
            return f"{name}: switching off failed ({first}; after re-opening: {again})" \
                f"{_answer(driver)}"
    if not check or not hasattr(driver, "output_enabled"):
        return None
    try:
        if driver.output_enabled():
            return f"{name}: output still ON after switching off{_answer(driver)}"
    except Exception as exc:
        return f"{name}: switched off, but its state could not be read back ({exc})"
    return None


def _answer(driver: Any) -> str:
    """The instrument's error queue, as its answer to what just failed ("" when empty)."""
    try:
        errors = driver.errors()
    except Exception as exc:
        return f"; its error queue could not be read ({exc})"
    return f"; the instrument answered: {'; '.join(errors)}" if errors else ""


def _was(found: str) -> str:
    """"output ON at 5 mA" -> "output was ON at 5 mA" (the driver's words, in the past)."""
    return found.replace("output ", "output was ", 1)


def _signal_names(signals: list[int]) -> str:
    names = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
    return " and ".join(dict.fromkeys(names.get(s, f"signal {s}") for s in signals))


def _restore_signals(previous: dict) -> None:
    for sig, handler in previous.items():
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(sig, handler)
