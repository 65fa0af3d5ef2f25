"""``bench run --resume`` inside a step: a resumable sequence goes on from what it stored."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import bench.cli
import bench.display
import sequences
from bench.cli import main
from drivers.roles import CurrentSource
from sequences.base import Parameter, Sequence

LEVELS = np.linspace(1e-4, 2e-3, 12)


class Counting(Sequence):
    """Reads the SMU at each of LEVELS[:points], skipping the levels stored before."""

    name = "counting"
    summary = "test: resumable point-by-point readings"
    roles = {"smu": CurrentSource}
    parameters = {"points": Parameter(12, "", "levels", kind=int, minimum=1, maximum=12)}
    columns = {"set_current": "A", "voltage": "V"}
    resumable = True
    seen: list[int] = []  # rows of ctx.earlier each time the step started

    @classmethod
    def planned_points(cls, params):
        return params["points"]

    def acquire(self, ctx, params):
        done = ctx.earlier.get("set_current", np.empty(0)).size
        Counting.seen.append(done)
        smu = ctx.role("smu")
        smu.configure_current_source(voltage_limit=6.0)
        smu.output_on()
        try:
            for level in LEVELS[done:params["points"]]:
                smu.set_current(float(level))
                ctx.points(set_current=level, voltage=smu.measure()[0])
        finally:
            smu.output_off()

    @classmethod
    def analyse(cls, data, params, sample):
        return {"rows": (float(data["set_current"].size), "1")}


@pytest.fixture
def counting(monkeypatch):
    monkeypatch.setitem(sequences.SEQUENCES, "counting", Counting)
    Counting.seen = []


def recipe(write_yaml, points=12):
    return write_yaml("recipe.yaml", {
        "sample": {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
                   "limits": {"max_current": 10e-3, "max_voltage": 6.0}},
        "steps": [{"sequence": "counting", "name": "count", "params": {"points": points}}]})


def interrupt_at(monkeypatch, rows):
    def interrupt(event, payload):
        if event == "progress" and payload["done"] == rows:
            raise KeyboardInterrupt

    monkeypatch.setattr(bench.display, "Progress", lambda: interrupt)
    monkeypatch.setattr(bench.cli, "Progress", lambda: interrupt, raising=False)


def test_an_interrupted_resumable_step_goes_on_from_its_last_row(tmp_path, write_yaml,
                                                                monkeypatch, counting):
    out = tmp_path / "run.h5"
    interrupt_at(monkeypatch, 5)
    assert main(["run", recipe(write_yaml), "-o", str(out)]) in (1, 130)
    monkeypatch.undo()
    monkeypatch.setitem(sequences.SEQUENCES, "counting", Counting)
    assert main(["run", "--resume", str(out), "-q"]) == 0
    assert Counting.seen == [0, 5]  # the resumed session was given the 5 rows stored
    with h5py.File(out, "r") as f:
        (key,) = f["steps"]
        step = f["steps"][key]
        np.testing.assert_array_equal(step["data/set_current"][()], LEVELS)  # each level once
        assert step["data/voltage"].shape == (12,)
        assert float(step["results/rows"][()]) == 12
        resumed = json.loads(step.attrs["resumed_from"])
        assert resumed["rows"] == 5
        kept = f[resumed["group"]]  # the interrupted group is kept as it was
        np.testing.assert_array_equal(kept["data/set_current"][()], LEVELS[:5])
        assert kept.attrs["status"] == "aborted"


def test_other_parameters_start_the_step_afresh(tmp_path, write_yaml, monkeypatch, counting):
    out = tmp_path / "run.h5"
    interrupt_at(monkeypatch, 5)
    assert main(["run", recipe(write_yaml), "-o", str(out)]) in (1, 130)
    monkeypatch.undo()
    monkeypatch.setitem(sequences.SEQUENCES, "counting", Counting)
    with h5py.File(out, "r+") as f:  # as if the recipe had asked for fewer points
        (key,) = f["steps"]
        f["steps"][key].attrs["params"] = json.dumps({"points": 8})
    assert main(["run", "--resume", str(out), "-q"]) == 0
    assert Counting.seen == [0, 0]
    with h5py.File(out, "r") as f:
        (key,) = f["steps"]
        assert f["steps"][key]["data/set_current"].shape == (12,)
        assert "resumed_from" not in f["steps"][key].attrs
        assert "other parameters" in f["steps"][key].attrs["status_reason"]
