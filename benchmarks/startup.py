"""Start-up time of the command line, as ratios to ``python -c "import numpy"`` measured in the
same run, alternating, each the median of several fresh interpreters (spread: min-max).

Targets (issue 9): ``bench --help`` within 2x, ``bench show RUN`` within 3x of the baseline.

    python benchmarks/startup.py [--repeats 9] [--points 50]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"--help": 2.0, "show": 3.0}


def wall_time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="fresh interpreters per command")
    parser.add_argument("--points", type=int, default=50, help="points of the run `show` reads")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run.h5"
        subprocess.run([python, "-m", "bench", "run", "iv", "-q", "-o", str(run)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        commands = {"import numpy (baseline)": [python, "-c", "import numpy"],
                    "--help": [python, "-m", "bench", "--help"],
                    "--version": [python, "-m", "bench", "--version"],
                    "sequences": [python, "-m", "bench", "sequences"],
                    "show": [python, "-m", "bench", "show", str(run)]}
        times: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():  # warm the file cache once
            wall_time(argv)
        for _ in range(max(args.repeats, 1)):  # alternating: load drifts hit all alike
            for name, argv in commands.items():
                times[name].append(wall_time(argv))
    base = statistics.median(times["import numpy (baseline)"])
    print(f"{'command':<26} {'median':>9} {'min-max':>17} {'ratio':>7}  target")
    for name, values in times.items():
        median = statistics.median(values)
        target = TARGETS.get(name)
        verdict = "" if target is None else \
            f"<= {target:g}x {'ok' if median / base <= target else 'MISSED'}"
        label = name if name.startswith("import") else f"bench {name}"
        print(f"{label:<26} {median * 1e3:7.1f}ms {min(values) * 1e3:7.1f}-"
              f"{max(values) * 1e3:7.1f}ms {median / base:6.2f}x  {verdict}")


if __name__ == "__main__":
    main()
