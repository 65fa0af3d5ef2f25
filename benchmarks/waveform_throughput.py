"""Throughput of a 1,000,000-point scope waveform from the simulated Infiniium into a run file.

One acquisition (not timed) of the drive channel, then, repeated: fetch (:WAVeform:PREamble? and
a WORD :WAVeform:DATA? block through pyvisa), scale (volts and time from the preamble) and store
(bench.storage.RunWriter.write_array, which compresses) - against the bare baseline of writing the
same int16 array with h5py alone (plain create_dataset, and with the run file's compression) in the
same process. Prints the medians and their ratios.

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
RUN_FILE_OPTIONS = {"compression": "gzip", "compression_opts": 1, "shuffle": True}  # as RunWriter


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
    fetch, scale, store, bare, bare_gzip = [], [], [], [], []
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
                baseline.create_dataset(f"plain_{i}", data=waveform.codes)
                baseline.flush()
                t4 = time.perf_counter()
                baseline.create_dataset(f"gzip_{i}", data=waveform.codes, **RUN_FILE_OPTIONS)
                baseline.flush()
                t5 = time.perf_counter()
                if i:
                    fetch.append(t1 - t0)
                    scale.append(t2 - t1)
                    store.append(t3 - t2)
                    bare.append(t4 - t3)
                    bare_gzip.append(t5 - t4)
        writer.close()
    assert volts.size == seconds.size == args.points
    median = statistics.median
    total = [a + b + c for a, b, c in zip(fetch, scale, store, strict=True)]
    megabytes = 2 * args.points / 1e6
    print(f"{args.points} points (WORD, {megabytes:.1f} MB), median of {args.repeats}:")
    print(f"  fetch {median(fetch) * 1e3:.1f} ms ({megabytes / median(fetch):.0f} MB/s), "
          f"scale {median(scale) * 1e3:.1f} ms, store (RunWriter.write_array, gzip 1 + shuffle) "
          f"{median(store) * 1e3:.1f} ms")
    print(f"  bare h5py create_dataset of the same int16 array: plain {median(bare) * 1e3:.1f} "
          f"ms, with the run file's gzip 1 + shuffle {median(bare_gzip) * 1e3:.1f} ms")
    print(f"fetch + scale + store / bare h5py write: {median(total) / median(bare):.1f} (plain), "
          f"{median(total) / median(bare_gzip):.2f} (same compression)")


if __name__ == "__main__":
    main()
