"""The benchmark scripts still run (tiny sizes): they are not timed here, only kept working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).parent.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.stem)
def test_benchmark_script_runs(script, tmp_path):
    points = "2000" if script.stem == "waveform_throughput" else "50"
    done = subprocess.run([sys.executable, str(script), "--points", points, "--repeats", "1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ratio" in done.stdout or " / " in done.stdout  # it printed its comparison


def test_there_are_benchmarks():
    assert {p.stem for p in BENCHMARKS} >= {"liv_overhead", "record_overhead",
                                            "waveform_throughput"}
