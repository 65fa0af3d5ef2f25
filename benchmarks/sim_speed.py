"""Speed of the simulated instruments against plain pyvisa-sim, and of an instrument-side sweep.

(a) Cost of one simulated exchange (``*IDN?`` and a setting query, ``:SOURce:CURRent:VLIMit?``,
    on the simulated 2450: SCPI tree matching, physics model, error queue) divided by the cost of
    one plain pyvisa-sim exchange (``*IDN?`` on a tiny YAML device loaded with ``@sim``). Target:
    within 3x.
(b) Speed-up of the simulated 2450's instrument-side sweep (``Keithley2450.sweep_current``: one
    trigger model run in one vectorised pass of the chip model, one binary transfer) over the
    same levels set and read point by point through the same driver. Target: >= 20x at 1000
    points.
(c) Cost of the same point-by-point levels on a chip held by the simulated TEC at 330 K and
    ageing under the degradation law (the world rebuilds the chip for each new stage
    temperature or damage) over the plain world's. Target: within 1.5x.

Both sides of each ratio run in this process; each figure is the median over --repeats runs,
with the min-max of the ratio over the runs.

Run: python benchmarks/sim_speed.py [--points N] [--repeats R]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyvisa

from drivers.keithley2450 import Keithley2450
from sim_instruments.backend import SimulatedWorld, open_simulated_bench

SMU = "USB0::0x05E6::0x2450::04400001::INSTR"
TINY_YAML = """spec: "1.1"
devices:
  tiny:
    eom:
      USB INSTR: {q: "\\n", r: "\\n"}
    dialogues:
      - q: "*IDN?"
        r: "ACME,TINY,0001,1.0"
resources:
  USB0::0x0001::0x0002::0003::INSTR:
    device: tiny
"""


def per_exchange(resource, query: str, count: int) -> float:
    """Seconds per query/answer over ``count`` exchanges."""
    start = time.perf_counter()
    for _ in range(count):
        resource.query(query)
    return (time.perf_counter() - start) / count


def plain_exchange(count: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tiny.yaml"
        path.write_text(TINY_YAML)
        manager = pyvisa.ResourceManager(f"{path}@sim")
        try:
            resource = manager.open_resource("USB0::0x0001::0x0002::0003::INSTR",
                                             read_termination="\n", write_termination="\n")
            per_exchange(resource, "*IDN?", 10)  # warm-up
            return per_exchange(resource, "*IDN?", count)
        finally:
            manager.close()


def simulated_exchange(query: str, count: int) -> float:
    manager = open_simulated_bench({SMU: "keithley2450"}, SimulatedWorld())
    try:
        resource = manager.open_resource(SMU, read_termination="\n", write_termination="\n")
        per_exchange(resource, query, 10)  # warm-up (fills the header cache, as a run does)
        return per_exchange(resource, query, count)
    finally:
        manager.close()


def thermal_world() -> SimulatedWorld:
    """A world whose chip sits on the simulated TEC's stage, held at 330 K, and ages."""
    from sim_instruments.serial_sim import attach

    world = SimulatedWorld.from_config({
        "degradation": {"decay_rate": 1e-6},
        "initial_state": {"tec": {"temperature": 330.0, "setpoint": 330.0, "output": True}}})
    attach("arroyo_5300", world, "tec")
    return world


def stepped_time(levels: np.ndarray, world: SimulatedWorld) -> float:
    """Seconds for the levels set and read point by point on the 2450 of ``world``."""
    manager = open_simulated_bench({SMU: "keithley2450"}, world)
    try:
        smu = Keithley2450(manager.open_resource(SMU), name="smu")
        smu.connect()
        smu.configure_current_source(voltage_limit=6.0)
        smu.output_on()
        start = time.perf_counter()
        for level in levels:
            smu.set_current(float(level))
            smu.measure()
        stepped = time.perf_counter() - start
        smu.output_off()
    finally:
        manager.close()
    return stepped


def sweep_times(points: int) -> tuple[float, float]:
    """(instrument-side sweep, point by point) seconds for the same levels, same driver."""
    levels = np.geomspace(1e-6, 5e-3, points)
    manager = open_simulated_bench({SMU: "keithley2450"}, SimulatedWorld())
    try:
        smu = Keithley2450(manager.open_resource(SMU), name="smu")
        smu.connect()
        smu.configure_current_source(voltage_limit=6.0)
        start = time.perf_counter()
        swept = smu.sweep_current(levels)
        sweep = time.perf_counter() - start
        smu.output_on()
        start = time.perf_counter()
        for level in levels:
            smu.set_current(float(level))
            smu.measure()
        stepped = time.perf_counter() - start
        smu.output_off()
    finally:
        manager.close()
    if len(swept.current) != points:
        raise SystemExit(f"the sweep returned {len(swept.current)} of {points} points")
    return sweep, stepped


def summary(name: str, ratios: list[float], target: str) -> str:
    return (f"{name}: ratio {statistics.median(ratios):.2f} (min {min(ratios):.2f}, "
            f"max {max(ratios):.2f}, {len(ratios)} runs; target {target})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000, help="sweep points (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (default 5)")
    args = parser.parse_args()
    count = max(20, min(2000, 2 * args.points))
    plain, idn, setting, sweeps, stepped = [], [], [], [], []
    bare, thermal = [], []
    levels = np.geomspace(1e-6, 5e-3, min(args.points, 200))
    for _ in range(args.repeats):
        bare.append(stepped_time(levels, SimulatedWorld()))
        thermal.append(stepped_time(levels, thermal_world()))
        plain.append(plain_exchange(count))
        idn.append(simulated_exchange("*IDN?", count))
        setting.append(simulated_exchange(":SOURce:CURRent:VLIMit?", count))
        sweep, step = sweep_times(args.points)
        sweeps.append(sweep)
        stepped.append(step)
    print(f"plain pyvisa-sim *IDN?: {statistics.median(plain) * 1e6:.1f} us per exchange")
    print(f"simulated 2450 *IDN?: {statistics.median(idn) * 1e6:.1f} us, "
          f":SOURce:CURRent:VLIMit?: {statistics.median(setting) * 1e6:.1f} us")
    print(summary("simulated *IDN? / plain pyvisa-sim", [a / b for a, b in zip(idn, plain,
                                                                             strict=True)],
                  "<= 3"))
    print(summary("simulated setting query / plain pyvisa-sim",
                  [a / b for a, b in zip(setting, plain, strict=True)], "<= 3"))
    print(f"{args.points}-point sweep: instrument-side {statistics.median(sweeps) * 1e3:.1f} ms, "
          f"point by point {statistics.median(stepped) * 1e3:.1f} ms")
    print(summary("point by point / instrument-side sweep",
                  [b / a for a, b in zip(sweeps, stepped, strict=True)], ">= 20 at 1000 points"))
    print(f"{len(levels)} levels point by point: plain world {statistics.median(bare) * 1e3:.1f} "
          f"ms, on the TEC's stage and ageing {statistics.median(thermal) * 1e3:.1f} ms")
    print(summary("TEC stage + ageing / plain world",
                  [b / a for a, b in zip(bare, thermal, strict=True)], "<= 1.5"))


if __name__ == "__main__":
    main()
