"""A full disk loses nothing: the run stops cleanly before its file system fills (aborted, "disk
nearly full", every finished point readable), and a failed write ends the run as any fault does.

On a real small file system (tmpfs of SIZE_KIB, mounted when the tests run as root), else on a
file system whose free space is simulated (os.statvfs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import h5py
import pytest
import yaml

import bench.storage
from bench.cli import main
from bench.storage import read_run

POINTS = 400
# the file system's size: room for the run's start (the station's snapshot and I/O record) and
# a step, not for the whole recipe; the station is the two instruments LIV needs, so that the
# room does not shrink as the built-in bench grows
SIZE_KIB = 400
STATION = {"instruments": {
    "smu": {"driver": "keithley2450", "resource": "USB0::0x05E6::0x2450::04400001::INSTR",
            "simulated": True},
    "power_meter": {"driver": "thorlabs_pm100d", "simulated": True,
                    "resource": "USB0::0x1313::0x8078::P0012345::INSTR"}}}
RECIPE = {"sample": {"id": "s1", "diameter": 20e-6, "wavelength": 450e-9,
                     "limits": {"max_current": 10e-3, "max_voltage": 6.0}},
          "steps": [{"sequence": "liv", "name": f"liv{n}", "params": {"points": POINTS}}
                    for n in range(4)]}


@pytest.fixture
def small_fs(tmp_path, monkeypatch):
    """A directory on a file system of about SIZE_KIB: a real tmpfs if it can be mounted, else
    the free space the writer reads is SIZE_KIB minus what the directory holds."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_KIB}k", "tmpfs", str(where)],
        capture_output=True).returncode == 0
    if not mounted:
        real = os.statvfs

        def statvfs(path):
            if Path(path).resolve() != where.resolve():
                return real(path)
            used = sum(p.stat().st_size for p in where.iterdir())
            return SimpleNamespace(f_bavail=max(SIZE_KIB * 1024 - used, 0) // 4096, f_frsize=4096)

        monkeypatch.setattr(bench.storage.os, "statvfs", statvfs)
    yield SimpleNamespace(path=where, real=mounted)
    if mounted:
        subprocess.run(["umount", str(where)], check=False)


def test_a_nearly_full_disk_stops_the_run_aborted_with_a_readable_file(small_fs, tmp_path,
                                                                      capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    run = small_fs.path / "run.h5"
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump(STATION))
    code = main(["run", str(recipe), "--station", str(station), "-q", "-o", str(run)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    assert "disk nearly full" in out and out.strip().splitlines()[-1] == \
        f"resume with: bench run --resume {run}"
    record = read_run(run)  # readable, every array with it
    assert record.status == "aborted" and "disk nearly full" in record.attrs["status_reason"]
    names = [step.name for step in record.steps]
    assert names and names == [s["name"] for s in RECIPE["steps"]][:len(names)]
    assert len(names) < len(RECIPE["steps"]), "the disk was meant to fill before the end"
    for step in record.steps:
        lengths = {values.size for values in step.data.values()}
        assert len(lengths) <= 1  # the columns kept agree with each other
        if step.status == "completed":
            assert lengths == {POINTS}
    assert "not run" in out


def test_a_failed_write_ends_the_run_in_one_piece(small_fs, tmp_path):
    """With no reserve the writes themselves fail (ENOSPC on the tmpfs): the run ends aborted
    with one reason, no cascade of HDF5 errors, no crash."""
    if not small_fs.real:
        pytest.skip("needs a real small file system (tmpfs, as root)")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    run = small_fs.path / "run.h5"
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump(STATION))
    code = ("import sys, bench.storage; bench.storage.MIN_FREE_BYTES = 0; "
            f"sys.argv = ['bench', 'run', {str(recipe)!r}, '--station', {str(station)!r}, '-q', "
            f"'-o', {str(run)!r}]; "
            "from bench.cli import script; script()")  # the console script's entry point
    for _ in range(2):
        run.unlink(missing_ok=True)
        done = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        # KNOWN: libhdf5 itself segfaults after an ENOSPC in about 1 run in 6 with the disk
        # watch switched off (never seen with it on); one more try, and the crash's stack
        # (faulthandler) is in the message when it happens twice
        if done.returncode >= 0:
            break
    assert done.returncode == 1, done.stderr[-2000:]  # not a signal (a crash is negative)
    assert "Slist" not in done.stderr and "cannot write the run file: No space left" in \
        done.stdout
    # at most the one failure h5py reports itself, from a dealloc, before the bench sees it
    assert done.stderr.count("Exception ignored") <= 1
    # A failed write can leave HDF5's half-written (this is what the disk watch is there to
    # prevent): the file then reads as far as it is whole, or is refused in one line.
    shown = subprocess.run([sys.executable, "-m", "bench", "show", str(run)],
                           capture_output=True, text=True, timeout=60)
    if shown.returncode == 2:
        assert len(shown.stderr.strip().splitlines()) == 1
        return
    assert shown.returncode == 0 and "liv0" in shown.stdout
    record = read_run(run, arrays=False)
    with h5py.File(run, "r") as f:
        for step in record.steps:
            if step.status == "completed":  # every finished point reads back
                data = f[f"steps/{step.index:02d}_{step.name}/data"]
                assert {data[name][()].size for name in data} == {POINTS}
