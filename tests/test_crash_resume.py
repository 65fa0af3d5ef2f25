"""Crash safety (SIGKILL at random moments) and ``bench run --resume``."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest
import yaml

from bench.cli import main

RECIPE = {
    "sample": {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
               "limits": {"max_current": 10e-3, "max_voltage": 6.0}},
    "steps": [{"sequence": "iv", "name": "pre", "params": {"points": 40}},
              {"sequence": "liv", "name": "liv1", "params": {"points": 300, "settle": 0.015}},
              {"sequence": "liv", "name": "liv2", "params": {"points": 300, "settle": 0.015}}],
}
KILLS = 20
PARALLEL = 5  # runs killed side by side; each waits mostly on its settle time

def bench_command() -> list[str]:
    return [sys.executable, "-c", "import sys; from bench.cli import main; sys.exit(main())"]


def start_run(recipe: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(bench_command() + ["run", str(recipe), "-q", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_running(out: Path, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """The run file exists and says running (the run has really started)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if out.exists():
            try:
                with h5py.File(out, "r", locking=False) as f:
                    if f.attrs.get("status") == "running" and "steps" in f:
                        return
            except OSError:
                pass
        if process.poll() is not None:
            raise AssertionError("the run ended before it could be killed")
        time.sleep(0.02)
    raise AssertionError("the run did not start")


def points_in(path: Path) -> dict[str, int]:
    with h5py.File(path, "r") as f:
        return {name: (group["data/current"].shape[0] if "current" in group["data"] else 0)
                for name, group in f["steps"].items()}


@pytest.fixture
def recipe_file(tmp_path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(RECIPE))
    return path


def test_sigkill_at_random_moments_leaves_readable_interrupted_files(tmp_path, recipe_file,
                                                                     capsys):
    rng = random.Random(1234)
    kills = []
    for batch in range(KILLS // PARALLEL):
        runs = []
        for j in range(PARALLEL):
            out = tmp_path / f"kill{batch}-{j}.h5"
            runs.append((start_run(recipe_file, out), out))
        for process, out in runs:
            wait_until_running(out, process)
        # each run: a look at its points at a random moment, then the kill 1 s later
        start = time.monotonic()
        events = []
        for process, out in runs:
            look = start + rng.uniform(0.0, 2.0)
            events += [(look, "look", process, out), (look + 1.0, "kill", process, out)]
        seen = {}
        for when, what, process, out in sorted(events, key=lambda e: e[0]):
            time.sleep(max(0.0, when - time.monotonic()))
            if what == "look":
                seen[out] = points_in_live(out)
            else:
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills.append((out, seen[out]))
    assert len(kills) == KILLS
    for out, before in kills:
        with h5py.File(out, "r") as f:  # opens with h5py
            assert f.attrs["status"] == "running"
        after = points_in(out)
        for step, count in before.items():
            assert after.get(step, 0) >= count, (out, step)
        capsys.readouterr()
        assert main(["show", str(out), "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["status"] == "interrupted"


def points_in_live(path: Path) -> dict[str, int]:
    """Points in a file that is being written (read without locking; retried if caught
    mid-flush)."""
    for _ in range(50):
        try:
            return points_in_unlocked(path)
        except (OSError, KeyError, TypeError):  # TypeError: a group read back as None mid-write
            time.sleep(0.01)
    raise AssertionError(f"{path} could not be read while running")


def points_in_unlocked(path: Path) -> dict[str, int]:
    with h5py.File(path, "r", locking=False) as f:
        return {name: (group["data/current"].shape[0] if "current" in group["data"] else 0)
                for name, group in f["steps"].items()}


def test_resume_continues_from_the_first_unfinished_step(tmp_path, recipe_file, capsys):
    out = tmp_path / "run.h5"
    process = start_run(recipe_file, out)
    wait_until_running(out, process)
    while points_in_live(out).get("01_liv1", 0) < 30:  # well inside the second step
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with h5py.File(out, "r") as f:
        first_started = f["steps/00_pre"].attrs["started"]
        first_voltage = f["steps/00_pre/data/voltage"][()]
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    assert "interrupted" in capsys.readouterr().out

    assert main(["run", "--resume", str(out), "-q"]) == 0
    summary = capsys.readouterr().out  # every step, the one done before the kill included
    assert all(f"\n{name} " in summary for name in ("pre", "liv1", "liv2"))
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "completed"
        assert list(f["steps"]) == ["00_pre", "01_liv1", "02_liv2"]
        assert f["steps/00_pre"].attrs["started"] == first_started  # not redone
        assert (f["steps/00_pre/data/voltage"][()] == first_voltage).all()
        assert f["steps/01_liv1/data/current"].shape[0] == 300
        assert f["steps/02_liv2/data/current"].shape[0] == 300
        # the interrupted session's I/O record is set aside first, as the file opens (before
        # the resumed session records anything), then the partial step
        assert set(f["interrupted"]) == {"transcript-0", "01_liv1-1"}
        assert f["interrupted/transcript-0/smu/op"].shape[0] > 0
        assert f["transcript/smu/op"].shape[0] > 0  # the resumed session's own record
        history = json.loads(f.attrs["resumed"])
        assert history[0]["from_step"] == 1 and history[0]["previous_status"] == "interrupted"


def test_resume_refuses_a_completed_run(tmp_path, capsys):
    out = tmp_path / "done.h5"
    assert main(["run", "iv", "-q", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["run", "--resume", str(out)]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert os.path.exists(out)


def test_a_record_stream_cut_before_its_columns_is_appended_to(tmp_path):
    """A Ctrl-C between creating an I/O record stream's group and its columns leaves a group
    without columns; the next append (the run's last flush) creates them instead of failing."""
    import numpy as np

    from bench.storage import RunWriter

    writer = RunWriter(tmp_path / "run.h5")
    writer.file.create_group("io").create_group("smu")  # as a cut-short first append left it
    writer.append_records("io", "smu", np.array([0.5]), np.array([1]), [b"*IDN?"], {"write": 1})
    writer.close()
    with h5py.File(tmp_path / "run.h5", "r") as f:
        stream = f["io/smu"]
        assert bytes(stream["payload"][()]) == b"*IDN?"
        assert list(stream["op"][()]) == [1] and list(stream["time"][()]) == [0.5]
