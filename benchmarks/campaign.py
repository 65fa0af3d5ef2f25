"""Cost per file of ``bench campaign``: serial, and on a local Dask cluster of 2 worker processes,
against a bare h5py open-and-read of the same attributes (root attributes, sample JSON, each
step's attributes, each result's value and attributes) in the same run. Prints the median and
the spread (min-max) over the repeats, and the ratio of the framework's cost per file per worker
to the bare read (target: within 1.5x). The files are made as the tests make them
(tests/test_campaign.py: two real simulated runs copied with h5py edits).

    python benchmarks/campaign.py [--points 1000] [--repeats 5]   # --points: run files
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import h5py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_campaign import make_campaign  # noqa: E402  (the tests' campaign maker)

from bench.campaign import collect, run_files  # noqa: E402


def bare_read(paths: list[Path]) -> None:
    """What the table needs, read with h5py and nothing else."""
    for path in paths:
        with h5py.File(path, "r", locking=False) as f:
            dict(f.attrs)
            json.loads(f["sample"].attrs["json"])
            for step in f["steps"].values():
                dict(step.attrs)
                for ds in step["results"].values():
                    float(ds[()])
                    dict(ds.attrs)


def per_file(actions: dict, count: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per file of each action, the actions taking turns in every repeat (a busy
    machine then slows them alike)."""
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            times[name].append((time.perf_counter() - start) / count)
    return times


def line(name: str, times: list[float], baseline: float, workers: int = 1) -> str:
    median = statistics.median(times)
    return (f"{name:<34} {median * 1e3:7.3f} ms/file (spread {min(times) * 1e3:.3f}-"
            f"{max(times) * 1e3:.3f}); per worker {median * workers * 1e3:7.3f} ms, "
            f"ratio to bare {median * workers / baseline:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000, help="run files in the campaign")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "runs"
        make_campaign(folder, args.points, damaged=False)
        paths = run_files([folder])
        bare_read(paths)  # the page cache warm for everyone
        start = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=50) as cluster:
            started = time.perf_counter() - start
            address = cluster.scheduler_address
            collect([folder], scheduler=address)  # workers import bench once
            times = per_file({"bare": lambda: bare_read(paths),
                              "serial": lambda: collect([folder], workers=1),
                              "parallel": lambda: collect([folder], scheduler=address)},
                             len(paths), args.repeats)
        bare, serial, parallel = times["bare"], times["serial"], times["parallel"]
        baseline = statistics.median(bare)
        print(f"{len(paths)} run files, {args.repeats} repeats taking turns; local cluster of 2 "
              f"processes started in {started:.2f} s (not counted below)")
        print(f"{'bare h5py read':<34} {baseline * 1e3:7.3f} ms/file (spread "
              f"{min(bare) * 1e3:.3f}-{max(bare) * 1e3:.3f})")
        print(line("campaign serial (--workers 1)", serial, baseline))
        print(line("campaign on 2 Dask workers", parallel, baseline, workers=2))
        print(f"speed-up of 2 workers over serial: "
              f"{statistics.median(serial) / statistics.median(parallel):.2f}x")


if __name__ == "__main__":
    main()
