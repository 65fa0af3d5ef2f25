"""Framework overhead of a `liv` step, and the gain of an instrument-side `iv` sweep.

(a) Cost per point of a 1000-point `liv` step run by the bench (guarded roles, drivers, error
    checks, HDF5 storage, I/O record, progress bar), divided by the cost per point of a bare loop
    sending the minimal SCPI exchanges of one point (set the level, `:READ?` on the SMU, `READ?` on
    the power meter) with plain pyvisa calls to the same simulated instruments.
(b) Speed-up of `Keithley2450.sweep_current` (instrument-side sweep, one binary transfer) over the
    same levels set and read point by point through the same driver.

Both sides of each ratio run in this process on fresh simulated benches; each figure is the
median of --repeats runs. The simulator has no integration time (a real 2450 needs >= ~0.3 ms per
reading), so the ratios measure software and VISA round-trip cost only: on hardware the
instrument's own time dilutes (a) and the round trips saved by (b) are worth less or more
depending on the link (USB/GPIB round trips are ~0.1-1 ms, loopback ~20 us).

Run: python benchmarks/liv_overhead.py [--points N] [--repeats R]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.display import Progress
from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig
from drivers.keithley2450 import Keithley2450
from sim_instruments.backend import SimulatedWorld, open_simulated_bench

SMU = "USB0::0x05E6::0x2450::04400001::INSTR"
METER = "USB0::0x1313::0x8078::P0012345::INSTR"


class Terminal(io.StringIO):
    """An in-memory terminal, so the progress bar redraws as it would for a person."""

    def isatty(self) -> bool:
        return True


def levels_for(points: int) -> np.ndarray:
    return np.geomspace(1e-6, 5e-3, points)  # the `liv` default range, log spaced


def liv_per_point(points: int, record_io: bool) -> float:
    """Seconds per point inside a `liv` step run by the bench: time from the first to the last
    progress event over (points - 1), so station opening and analysis are left out."""
    stamps: list[float] = []

    def on_event(event, payload):
        if event == "progress":
            stamps.append(time.perf_counter())

    config = StationConfig.load(None)
    recipe = parse_recipe({
        "sample": {"id": "bench", "diameter": 20e-6, "wavelength": 450e-9,
                   "limits": {"max_current": 10e-3, "max_voltage": 6.0}},
        "steps": [{"sequence": "liv", "params": {"start": 1e-6, "stop": 5e-3, "points": points,
                                                 "settle": 0.0}}]})
    with tempfile.TemporaryDirectory() as folder:
        runner = Runner(config, recipe, Path(folder) / "run.h5", record_io=record_io,
                        subscribers=[Progress(stream=Terminal()), on_event])
        outcome = runner.run()
    if outcome.status != "completed" or len(stamps) != points:
        raise SystemExit(f"liv run did not complete: {outcome.status} {outcome.reason}")
    return (stamps[-1] - stamps[0]) / (points - 1)


def bare_per_point(points: int) -> float:
    """Seconds per point of the minimal exchanges in a plain pyvisa loop (no driver, no checks,
    no storage): the smallest possible cost of the same measurement on the same simulator."""
    manager = open_simulated_bench({SMU: "keithley2450", METER: "thorlabs_pm100d"},
                                   SimulatedWorld())
    smu, meter = manager.open_resource(SMU), manager.open_resource(METER)
    for resource in (smu, meter):
        resource.write_termination = resource.read_termination = "\n"
    for command in (":SOURce:FUNCtion CURR", ':SENSe:FUNCtion "VOLT"',
                    ":SOURce:CURRent:VLIMit 5", ":OUTPut:STATe ON"):
        smu.write(command)
    meter.write("SENSe:CORRection:WAVelength 450")
    rows = []
    start = time.perf_counter()
    for level in levels_for(points):
        smu.write(f":SOURce:CURRent {level:.9g}")
        voltage, current = (float(v) for v in smu.query(':READ? "defbuffer1", READ, SOUR')
                            .split(","))
        rows.append((level, current, voltage, float(meter.query("READ?"))))
    elapsed = time.perf_counter() - start
    smu.write(":OUTPut:STATe OFF")
    manager.close()
    return elapsed / points


def keithley() -> tuple[Keithley2450, object]:
    manager = open_simulated_bench({SMU: "keithley2450"}, SimulatedWorld())
    smu = Keithley2450(manager.open_resource(SMU))
    smu.connect()
    smu.configure_current_source(voltage_limit=5.0, nplc=0.01)
    return smu, manager


def sweep_time(points: int) -> float:
    smu, manager = keithley()
    start = time.perf_counter()
    smu.sweep_current(levels_for(points))
    elapsed = time.perf_counter() - start
    manager.close()
    return elapsed


def point_by_point_time(points: int) -> float:
    smu, manager = keithley()
    start = time.perf_counter()
    smu.output_on()
    for level in levels_for(points):
        smu.set_current(float(level))
        smu.measure()
    smu.output_off()
    elapsed = time.perf_counter() - start
    manager.close()
    return elapsed


def interleaved(repeats: int, **runs) -> dict[str, list[float]]:
    """Each run once per repetition, in turn, so that both sides of a ratio see the same load
    of a shared machine; returns every timing by name."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(run())
    return times


def ratio(times, over: str, under: str) -> float:
    """Median of the per-repetition ratios (robust to load that drifts between repetitions)."""
    return statistics.median(a / b for a, b in zip(times[over], times[under], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n, r = args.points, args.repeats

    a = interleaved(r, bare=lambda: bare_per_point(n),
                    recorded=lambda: liv_per_point(n, True),
                    unrecorded=lambda: liv_per_point(n, False))
    print(f"(a) liv step, {n} points, medians of {r} interleaved runs (simulated, settle 0)")
    print(f"    bare pyvisa loop            {statistics.median(a['bare']) * 1e6:8.1f} us/point")
    for name, label in (("recorded", "I/O record"), ("unrecorded", "no record ")):
        extra = statistics.median(x - y for x, y in zip(a[name], a["bare"], strict=True))
        print(f"    bench liv step, {label} {statistics.median(a[name]) * 1e6:8.1f} us/point   "
              f"ratio {ratio(a, name, 'bare'):5.2f}   overhead {extra * 1e6:6.1f} us/point")

    b = interleaved(r, stepped=lambda: point_by_point_time(n), sweep=lambda: sweep_time(n))
    print(f"(b) Keithley 2450 current sweep, {n} points, medians of {r} interleaved runs")
    print(f"    point by point (set + :READ?)      {statistics.median(b['stepped']) * 1e3:8.1f} ms")
    print(f"    instrument-side sweep + 1 transfer {statistics.median(b['sweep']) * 1e3:8.1f} ms"
          f"   speed-up {ratio(b, 'stepped', 'sweep'):5.1f}x")
    print("    (the simulator has no integration time: these are software/VISA costs only)")


if __name__ == "__main__":
    main()
