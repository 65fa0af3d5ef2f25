"""Start-up is part of the interface: what each command imports, checked in a fresh interpreter
(the times are the benchmark's, benchmarks/startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("scipy", "matplotlib", "pyvisa_sim", "sim_instruments", "h5py", "pyvisa")
PROBE = """
import json, sys
from bench.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
sys.stdout.flush()
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})), file=sys.stderr)
"""


def imported(*argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=list(argv))],
                          capture_output=True, text=True, timeout=120)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["sequences"], ["sequences", "liv"],
                                  ["run", "--help"]])
def test_help_version_and_sequences_load_nothing_heavy(argv):
    assert not imported(*argv) & set(HEAVY)


def test_show_loads_h5py_but_no_scipy_or_matplotlib(tmp_path):
    from bench.cli import main

    run = tmp_path / "run.h5"
    assert main(["run", "iv", "-q", "-o", str(run)]) == 0
    modules = imported("show", str(run))
    assert "h5py" in modules
    assert not modules & {"scipy", "matplotlib", "pyvisa_sim", "sim_instruments"}


def test_importing_bench_loads_no_h5py():
    """``import bench`` (the notebook API's package) waits for ``bench.open_run``."""
    done = subprocess.run([sys.executable, "-c", "import sys, bench; "
                           "print('h5py' in sys.modules, 'scipy' in sys.modules)"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False"]


def test_a_real_station_is_checked_without_the_simulator(tmp_path):
    station = tmp_path / "lab.yaml"
    station.write_text("instruments:\n  smu: {driver: keithley2450, "
                       "resource: 'TCPIP0::192.0.2.1::inst0::INSTR'}\n")
    done = subprocess.run([sys.executable, "-c", "import sys; from bench.station import "
                           f"StationConfig; StationConfig.load({str(station)!r}); "
                           "print(sorted(m for m in ('sim_instruments', 'scipy', 'pyvisa_sim') "
                           "if m in sys.modules))"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
