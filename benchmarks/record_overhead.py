"""Overhead of the instrument I/O record: a 1000-point liv on the built-in simulated bench, run
with and without ``record_io`` in the same process, alternating; prints the ratio of the best
times (the bare run, record_io off, is the baseline) and the size the record adds to the file.
As a busy machine blurs that ratio, it also times the recording wrapper alone: a write + read
pair on a loopback resource, recorded against bare, in the same process.

    python benchmarks/record_overhead.py [--points 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.recipe import default_sample, parse_recipe
from bench.runner import Runner
from bench.station import StationConfig
from bench.storage import RunWriter, read_records
from bench.transcript import Transcript


class Loopback:
    """The cheapest resource possible: answers each query with a fixed reading."""

    timeout, read_termination, write_termination = 5000.0, "\n", "\n"

    def write(self, message: str) -> None:
        self.last = message

    def read(self) -> str:
        return "+1.234567E-03"

    def close(self) -> None:
        pass


def pair_time(resource, pairs: int) -> float:
    """Seconds per operation for ``pairs`` write + read pairs."""
    start = time.perf_counter()
    for _ in range(pairs):
        resource.write(':READ? "defbuffer1", READ, SOUR')
        resource.read()
    return (time.perf_counter() - start) / (2 * pairs)


def one_run(folder: Path, points: int, record_io: bool, index: int) -> tuple[float, Path]:
    station = StationConfig.load(None)
    recipe = parse_recipe({"sample": default_sample(station.simulation), "steps": [
        {"sequence": "liv", "params": {"points": points, "settle": 0}}]})
    path = folder / f"{'rec' if record_io else 'bare'}{index}.h5"
    runner = Runner(station, recipe, path, record_io=record_io)
    start = time.perf_counter()
    outcome = runner.run()
    elapsed = time.perf_counter() - start
    if outcome.status != "completed":
        raise SystemExit(f"run failed: {outcome.reason}")
    return elapsed, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        one_run(folder, 20, True, -1)  # warm-up: imports, YAML parsing, first HDF5 file
        bare, recorded = [], []
        for i in range(args.repeats):
            bare.append(one_run(folder, args.points, False, i)[0])
            seconds, path = one_run(folder, args.points, True, i)
            recorded.append(seconds)
        operations = sum(len(s) for s in read_records(path, "transcript").values())
        extra = path.stat().st_size - (folder / "bare0.h5").stat().st_size
        writer = RunWriter(folder / "loopback.h5")
        recorded_loop = Transcript(writer).wrap("loopback", Loopback())
        bare_loop = Loopback()
        wrapper = min(pair_time(recorded_loop, 50_000) - pair_time(bare_loop, 50_000)
                      for _ in range(3))
        writer.close()
    print(f"liv, {args.points} points, best of {args.repeats}: bare {min(bare) * 1e3:.1f} ms, "
          f"recorded {min(recorded) * 1e3:.1f} ms")
    print(f"record_io overhead ratio (recorded / bare): {min(recorded) / min(bare):.3f}")
    print(f"record: {operations} operations, {extra / 1024:.1f} KiB added to the run file")
    per_operation = min(bare) / operations
    print(f"recording wrapper alone: {wrapper * 1e6:.2f} us per operation = "
          f"{wrapper / per_operation:.4f} of the bare run's {per_operation * 1e6:.0f} us per "
          f"operation")


if __name__ == "__main__":
    main()
