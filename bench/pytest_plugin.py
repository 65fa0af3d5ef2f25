"""pytest plugin (entry point ``pytest11: microled_bench``): test your own sequences and analysis
on the built-in simulated bench, or against the instrument record of a real run.

Fixtures (each run file goes to the test's ``tmp_path``):

``sim_chip``
    ChipParameters overrides (SI units) for ``sim_station``; ``{}`` by default. Override this
    fixture in a ``conftest.py`` to change the simulated chip for a whole directory.
``sim_station``
    The built-in simulated bench (:class:`bench.station.StationConfig`) with ``sim_chip``.
``make_sim_station``
    Factory ``make_sim_station(collection_efficiency=None, **chip) -> StationConfig``.
``run_sequence``
    ``run_sequence(sequence, params=None, *, sample=None, limits=None, station=None, name=None)
    -> SequenceRun``: one step of a registered sequence (by name) or of your own
    :class:`sequences.base.Sequence` subclass, on ``sim_station`` unless ``station`` is given.
    The sample defaults to the simulated chip's geometry with the default safe limits; a
    ``sample`` mapping overrides keys of it. Refused requests raise as in ``bench run``.
``recorded_run``
    ``recorded_run(path, *, strict=True, sequences=()) -> bench.replay.ReplayReport``:
    re-executes a recorded run's recipe with the current code against the run's own instrument
    I/O record (no instrument, no simulator); ``sequences`` registers your own classes.

The plugin imports the bench only when a fixture is used, so it costs other test suites nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bench.api import Run
    from bench.runner import RunOutcome, StepOutcome
    from bench.station import StationConfig


@dataclass
class SequenceRun:
    """What ``run_sequence`` returns: the runner's outcome of a one-step run, and its file."""

    outcome: RunOutcome

    @property
    def path(self) -> Path:
        return self.outcome.path

    @property
    def status(self) -> str:
        """The run's status: completed, failed or aborted (``reason`` says why)."""
        return self.outcome.status

    @property
    def reason(self) -> str:
        return self.outcome.reason

    @property
    def step(self) -> StepOutcome:
        if not self.outcome.steps:
            raise AssertionError(f"the run has no step ({self.status}: {self.reason})")
        return self.outcome.steps[0]

    @property
    def results(self) -> dict[str, dict]:
        """Result name -> {value, units, low, high, passed} (SI units)."""
        return self.step.results

    @property
    def values(self) -> dict[str, float]:
        """Result name -> value (SI units)."""
        return {name: result["value"] for name, result in self.results.items()}

    @property
    def passed(self) -> bool:
        """The step completed and no result failed its limits."""
        return self.step.status == "completed" and \
            all(result["passed"] is not False for result in self.results.values())

    def __repr__(self) -> str:
        verdict = "" if not self.outcome.steps else (" PASS" if self.passed else " FAIL")
        return f"<SequenceRun {' '.join(s.name for s in self.outcome.steps)} {self.status}" \
               f"{verdict} {self.path}>"

    def open(self) -> Run:
        """The run file read back (:func:`bench.open_run`): arrays, units, station snapshot."""
        from bench.api import open_run

        return open_run(self.path)


def _register(monkeypatch: pytest.MonkeyPatch, sequence_classes) -> None:
    """Make user sequence classes known by name for this test only."""
    import sequences
    from sequences.base import Sequence

    for cls in sequence_classes:
        if not (isinstance(cls, type) and issubclass(cls, Sequence)) \
                or not isinstance(getattr(cls, "name", None), str):
            raise TypeError(f"{cls!r} is not a Sequence subclass with a name")
        if sequences.SEQUENCES.get(cls.name) is not cls:
            monkeypatch.setitem(sequences.SEQUENCES, cls.name, cls)


@pytest.fixture
def sim_chip() -> dict[str, Any]:
    """Simulated chip parameters (ChipParameters fields, SI units) for ``sim_station``."""
    return {}


@pytest.fixture
def make_sim_station():
    """Factory: the built-in simulated bench with chip parameters changed (SI units)."""
    from bench.station import StationConfig, builtin_station_config

    def make(collection_efficiency: float | None = None, **chip: Any) -> StationConfig:
        data = builtin_station_config()
        simulation = dict(data.get("simulation") or {})
        simulation["chip"] = {**(simulation.get("chip") or {}), **chip}
        if collection_efficiency is not None:
            simulation["collection_efficiency"] = collection_efficiency
        data["simulation"] = simulation
        return StationConfig.from_mapping(data, source="built-in simulated bench (pytest)")

    return make


@pytest.fixture
def sim_station(make_sim_station, sim_chip) -> StationConfig:
    """The built-in simulated bench with the chip of ``sim_chip``."""
    return make_sim_station(**sim_chip)


@pytest.fixture
def run_sequence(sim_station, tmp_path, monkeypatch):
    """Factory: run one sequence step on the simulated bench into ``tmp_path``."""
    from bench.recipe import default_sample, parse_recipe
    from bench.runner import Runner

    counter = itertools.count(1)

    def run(sequence, params: dict[str, Any] | None = None, *,
            sample: dict[str, Any] | None = None,
            limits: dict[str, list[float | None]] | None = None,
            station: StationConfig | None = None, name: str | None = None) -> SequenceRun:
        if not isinstance(sequence, str):
            _register(monkeypatch, [sequence])
            sequence = sequence.name
        station = station or sim_station
        default = default_sample(station.simulation)
        given = dict(sample or {})
        merged = {**default, **given,
                  "limits": {**default["limits"], **(given.get("limits") or {})}}
        step = {"sequence": sequence, "name": name or sequence, "params": params or {},
                "limits": limits or {}}
        recipe = parse_recipe({"sample": merged, "steps": [step]})
        path = tmp_path / f"run-{next(counter):02d}-{step['name']}.h5"
        return SequenceRun(Runner(station, recipe, path).run())

    return run


@pytest.fixture
def recorded_run(tmp_path, monkeypatch):
    """Factory: re-execute a recorded run against its own instrument I/O record."""
    from bench.replay import replay_instruments

    counter = itertools.count(1)

    def replay(path: str | Path, *, strict: bool = True, sequences=()):
        _register(monkeypatch, sequences)
        output = tmp_path / f"replay-{next(counter):02d}-{Path(path).stem}.h5"
        return replay_instruments(path, output, strict=strict)

    return replay
