"""Throughput of a 1,000,000-point scope waveform from the simulated Infiniium into a run file.

One acquisition (not timed) of the drive channel, then, repeated: fetch (:WAVeform:PREamble? and
a WORD :WAVeform:DATA? block through pyvisa), scale (volts and time from the preamble) and store
(bench.storage.RunWriter.write_array) - and, on the same int16 codes, a plain h5py write with each
storage filter that plain h5py and h5dump read without plugins (none, gzip levels, shuffle, chunk
sizes), each as a ratio to the fetch. Prints the medians. The run file's choice (uncompressed,
contiguous) comes from these figures: compression costs 4-7x the fetch for a 0.55-0.66 size.

    python benchmarks/waveform_throughput.py [--points 1000000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import h5py

from bench.storage import RunWriter
from drivers.keysight_81134a import Keysight81134A
from drivers.keysight_infiniium import KeysightInfiniium
from sim_instruments.backend import SimulatedWorld, open_simulated_bench

SCOPE = "TCPIP0::192.168.1.21::hislip0::INSTR"
GENERATOR = "GPIB0::10::INSTR"
# storage filters a plain h5py and h5dump read without plugins (lzf and blosc need one)
CANDIDATES = {
    "none, contiguous": {},
    "none, chunks 256k": {"chunks": (1 << 18,)},
    "gzip 1, chunks 256k": {"chunks": (1 << 18,), "compression": "gzip", "compression_opts": 1},
    "gzip 1 + shuffle, 256k": {"chunks": (1 << 18,), "compression": "gzip",
                               "compression_opts": 1, "shuffle": True},
    "gzip 1 + shuffle, 64k": {"chunks": (1 << 16,), "compression": "gzip",
                              "compression_opts": 1, "shuffle": True},
    "gzip 4 + shuffle, 256k": {"chunks": (1 << 18,), "compression": "gzip",
                               "compression_opts": 4, "shuffle": True},
}


def acquired_scope(points: int) -> tuple[KeysightInfiniium, int]:
    """A simulated scope holding one acquisition of a 1 Gb/s PRBS7 on its drive channel."""
    world = SimulatedWorld()
    manager = open_simulated_bench({SCOPE: "keysight_infiniium",
                                    GENERATOR: "keysight_81134a"}, world)
    generator = Keysight81134A(manager.open_resource(GENERATOR))
    scope = KeysightInfiniium(manager.open_resource(SCOPE))
    generator.connect()
    scope.connect()
    generator.set_levels(high=0.5, low=0.0)
    generator.set_bit_rate(1e9)
    generator.set_prbs(7)
    generator.output_on()
    channel = world.setup.oscilloscope.drive_channel
    scope.set_channel_display(world.setup.oscilloscope.optical_channel, False)
    scope.configure_channel(channel, scale=0.1, offset=0.25)
    scope.configure_timebase(scale=5e-9, sample_rate=16e9, points=points)
    scope.configure_edge_trigger(channel=channel, level=0.25)
    scope.acquire()
    return scope, channel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    scope, channel = acquired_scope(args.points)
    fetch, scale, store = [], [], []
    filters: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch:
        writer = RunWriter(Path(scratch) / "run.h5")
        writer.start_run(run_id="benchmark", software_version="", simulated=True, station={},
                         sample={}, recipe={})
        writer.start_step(0, "waveform", "benchmark", {}, {})
        with h5py.File(Path(scratch) / "bare.h5", "w") as baseline:
            for i in range(args.repeats + 1):  # the first round warms up and is dropped
                t0 = time.perf_counter()
                waveform = scope.fetch_waveform(channel)
                t1 = time.perf_counter()
                volts, seconds = waveform.volts, waveform.time
                t2 = time.perf_counter()
                writer.write_array(f"drive_{i}", waveform.codes, "1", attrs={
                    "y_increment": waveform.y_increment, "y_origin": waveform.y_origin,
                    "x_increment": waveform.x_increment, "x_origin": waveform.x_origin})
                writer.flush(force=True)
                t3 = time.perf_counter()
                if i:
                    fetch.append(t1 - t0)
                    scale.append(t2 - t1)
                    store.append(t3 - t2)
                for number, (name, options) in enumerate(CANDIDATES.items()):
                    options = {**options, "chunks": tuple(min(c, args.points)
                                                          for c in options["chunks"])} \
                        if "chunks" in options else options
                    t4 = time.perf_counter()
                    ds = baseline.create_dataset(f"{number}_{i}", data=waveform.codes, **options)
                    baseline.flush()
                    t5 = time.perf_counter()
                    if i:
                        filters[name].append(t5 - t4)
                    sizes[name] = ds.id.get_storage_size()
        writer.close()
    assert volts.size == seconds.size == args.points
    median = statistics.median
    megabytes = 2 * args.points / 1e6
    print(f"{args.points} points (WORD, {megabytes:.1f} MB), median of {args.repeats}:")
    print(f"  fetch {median(fetch) * 1e3:.1f} ms ({megabytes / median(fetch):.0f} MB/s), "
          f"scale {median(scale) * 1e3:.1f} ms, store (RunWriter.write_array) "
          f"{median(store) * 1e3:.1f} ms; store / fetch ratio {median(store) / median(fetch):.2f}")
    print("  storage filters, bare h5py write + flush of the same int16 codes "
          "(time / fetch, stored size / raw size):")
    for name, times in filters.items():
        print(f"    {name:<24} {median(times) * 1e3:6.1f} ms  "
              f"ratio {median(times) / median(fetch):5.2f}  "
              f"size {sizes[name] / (2 * args.points):.2f}")


if __name__ == "__main__":
    main()
