"""Framework cost per emitter of an `array-map` of a 32 x 32 array, against its bare exchanges.

(framework) seconds per emitter inside an `array-map` step run by the bench (guarded roles,
            drivers, error checks, HDF5 storage, I/O record, progress bar): time from the first
            to the last progress event over (emitters - 1), so station opening and analysis are
            left out.
(bare)      seconds per emitter of the same driver calls in a plain loop on a fresh simulated
            bench (no runner, guards or storage): the 34980A's select, the 2450's configure,
            output, level and :READ? calls, with the levels the guard's ramp sends (the sample's
            ramp steps are part of the measurement: a real chip needs them too), and the
            PM100D's READ?.

Both run in this process, in turn in every repeat so that both see the same load of a shared
machine; the ratio is the median of the per-repeat ratios, the spread the lowest and highest of
them, in wall time and in this process's CPU time (which the load of a shared machine does not
inflate). The commands each side sent per emitter (the simulated instruments' log for the loop,
the run file's I/O record for the bench, whole run) are printed, so that the two are seen to do
the same exchanges. The simulator has no integration or relay time (a real 2450 needs >= ~0.3 ms
per reading, a 34932A relay ~ms to settle), so the ratio measures software and VISA round-trip
cost only: hardware dilutes it.

Run: python benchmarks/array_map.py [--points EMITTERS] [--repeats N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

from bench.display import Progress
from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.safety import SafeLimits, ramp
from bench.station import StationConfig
from bench.transcript import GROUP as TRANSCRIPT
from bench.transcript import OPS
from drivers.keithley2450 import Keithley2450
from drivers.keysight_34980a import Keysight34980A
from drivers.thorlabs_pm100d import ThorlabsPM100D
from sequences.array_map import ArrayMap
from sim_instruments.backend import SimulatedWorld, open_simulated_bench

SMU = "USB0::0x05E6::0x2450::04400001::INSTR"
METER = "USB0::0x1313::0x8078::P0012345::INSTR"
SWITCH = "TCPIP0::192.168.1.30::inst0::INSTR"
LIMITS = {"max_current": 10e-3, "max_voltage": 6.0, "max_reverse_voltage": 5.0}
PARAMS = {"settle": 0.0}  # the sequence's defaults otherwise


class Terminal(io.StringIO):
    """An in-memory terminal, so the progress bar redraws as it would for a person."""

    def isatty(self) -> bool:
        return True


SPREAD = {"efficiency": 0.05, "forward_voltage": 0.01}
FAULTS = {"dead": [[0, 1], [17, 30]], "shorted": [[1, 2]], "leaky": [[2, 3], [31, 31]]}


def simulation(rows: int, columns: int) -> dict:
    faults = {kind: [rc for rc in where if rc[0] < rows and rc[1] < columns]
              for kind, where in FAULTS.items()}
    return {"array": {"rows": rows, "columns": columns, "seed": 11, "spread": SPREAD,
                      **{kind: where for kind, where in faults.items() if where}}}


def station(rows: int, columns: int) -> StationConfig:
    return StationConfig.from_mapping({
        "name": "array benchmark",
        "instruments": {
            "smu": {"driver": "keithley2450", "resource": SMU, "simulated": True},
            "power_meter": {"driver": "thorlabs_pm100d", "resource": METER, "simulated": True},
            "switch": {"driver": "keysight_34980a", "resource": SWITCH, "simulated": True,
                       "options": {"rows": rows, "columns": columns}}},
        "simulation": simulation(rows, columns)})


def framework_per_emitter(rows: int, columns: int) -> tuple[float, float, float, dict]:
    """(wall seconds and CPU seconds of this process per emitter inside the bench's step,
    commands per emitter, the step's results)."""
    stamps: list[tuple[float, float]] = []

    def on_event(event, payload):
        if event == "progress":
            stamps.append((time.perf_counter(), time.process_time()))

    recipe = parse_recipe({
        "sample": {"id": "array", "diameter": 20e-6, "wavelength": 450e-9, "limits": LIMITS},
        "steps": [{"sequence": "array-map",
                   "params": {"rows": rows, "columns": columns, **PARAMS}}]})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.h5"
        runner = Runner(station(rows, columns), recipe, path,
                        subscribers=[Progress(stream=Terminal()), on_event])
        outcome = runner.run()
        commands = _commands_in(path)
    emitters = rows * columns
    if outcome.status != "completed" or len(stamps) != emitters:
        raise SystemExit(f"array-map did not complete: {outcome.status} {outcome.reason}")
    results = {name: r["value"] for name, r in outcome.steps[0].results.items()}
    (wall_0, cpu_0), (wall_1, cpu_1) = stamps[0], stamps[-1]
    return ((wall_1 - wall_0) / (emitters - 1), (cpu_1 - cpu_0) / (emitters - 1),
            commands / emitters, results)


def _commands_in(path: Path) -> int:
    """Commands written to the instruments during the run, from the file's I/O record."""
    import h5py

    with h5py.File(path, "r") as f:
        return sum(int((group["op"][()] == OPS["write"]).sum())
                   for group in f[TRANSCRIPT].values())


def bare_per_emitter(rows: int, columns: int) -> tuple[float, float, float]:
    """(wall and CPU seconds per emitter of the same driver calls in a plain loop, commands
    per emitter)."""
    world = SimulatedWorld.from_config(simulation(rows, columns))
    manager = open_simulated_bench({SMU: "keithley2450", METER: "thorlabs_pm100d",
                                    SWITCH: "keysight_34980a"}, world)
    smu = Keithley2450(manager.open_resource(SMU), name="smu")
    meter = ThorlabsPM100D(manager.open_resource(METER), name="power_meter")
    switch = Keysight34980A(manager.open_resource(SWITCH), name="switch", rows=rows,
                            columns=columns, slots=_slots(rows, columns))
    for driver in (smu, meter, switch):
        driver.connect()
    p = ArrayMap.resolve({"rows": rows, "columns": columns, **PARAMS})
    step = SafeLimits(**LIMITS).max_voltage / 10  # the guard's voltage ramp step
    up, down = ramp(0.0, p["reverse_voltage"], step), ramp(p["reverse_voltage"], 0.0, step)
    meter.configure(wavelength=450e-9, averaging=p["averaging"])
    before = len(world.commands)
    start, cpu = time.perf_counter(), time.process_time()
    for row in range(rows):
        for column in range(columns):
            switch.select(row, column)
            smu.configure_current_source(voltage_limit=p["voltage_limit"], nplc=p["nplc"])
            smu.set_current(0.0)
            smu.output_on()
            smu.set_current(p["reference_current"])
            smu.measure()
            meter.read_power()
            smu.set_current(0.0)
            smu.output_off()
            smu.configure_voltage_source(current_limit=p["current_limit"], nplc=p["nplc"])
            smu.set_voltage(0.0)
            smu.output_on()
            for level in up:
                smu.set_voltage(float(level))
            smu.measure()
            for level in down:
                smu.set_voltage(float(level))
            smu.output_off()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    commands = len(world.commands) - before
    switch.open_all()
    manager.close()
    emitters = rows * columns
    return elapsed / emitters, cpu / emitters, commands / emitters


def _slots(rows: int, columns: int) -> tuple[int, ...]:
    return tuple(Keysight34980A.check_options({"rows": rows, "columns": columns})["slots"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1024,
                        help="emitters to map, in rows of 32 (default 1024: 32 x 32)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    columns = min(args.points, 32)
    rows = max(args.points // columns, 1)
    bare, framework = [], []
    for _ in range(args.repeats):
        bare.append(bare_per_emitter(rows, columns))
        framework.append(framework_per_emitter(rows, columns))
    print(f"array-map of {rows} x {columns} emitters, {args.repeats} repeats "
          f"(simulated, settle 0)")
    print(f"    commands/emitter: bare loop {bare[0][2]:.1f}, bench {framework[0][2]:.1f} (the "
          f"run's I/O record, whole run)")
    for k, clock in ((0, "wall"), (1, "CPU ")):
        ratios = [f[k] / b[k] for f, b in zip(framework, bare, strict=True)]
        extra = statistics.median(f[k] - b[k] for f, b in zip(framework, bare, strict=True))
        print(f"    {clock} time: bare {statistics.median(b[k] for b in bare) * 1e3:7.2f} "
              f"ms/emitter, bench {statistics.median(f[k] for f in framework) * 1e3:7.2f} "
              f"ms/emitter   ratio {statistics.median(ratios):5.2f} (lowest {min(ratios):.2f},"
              f" highest {max(ratios):.2f})   overhead {extra * 1e6:6.0f} us/emitter")
    print("    target ratio <= 1.3. CPU time is this process's alone: on a shared machine it is "
          "the steadier figure")
    print("    (no integration or relay time in the simulator: software and VISA cost only)")
    results, seeded = framework[0][3], simulation(rows, columns)["array"]
    print("    found: " + ", ".join(
        f"{kind} {results[f'{count}_count']:.0f} of {len(seeded.get(kind, []))} seeded"
        for kind, count in (("dead", "dead"), ("shorted", "short"), ("leaky", "leaky"))))
    print(f"    power_cv {results['power_cv']:.4f} (efficiency spread {SPREAD['efficiency']}), "
          f"vf_cv {results['vf_cv']:.4f} (forward_voltage spread "
          f"{SPREAD['forward_voltage']})")


if __name__ == "__main__":
    main()
