"""Safe state before the first step and on the way out, proven on the instruments' own log.

An instrument left live by a killed run (the SMU on at 5 mA, the generator and the VNA on) is
read, ramped down and switched off before step 1; the snapshot says what was found and done. A
failure to switch off is shown and stored; a second Ctrl-C or a SIGTERM during the safe-state
sequence waits until it has ended, and the file's status is final.
"""

from __future__ import annotations

import json
import os
import re
import signal

import h5py
import numpy as np
from conftest import record_stations

import bench.runner
from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig, builtin_station_config
from bench.storage import read_run
from bench.transcript import GROUP as TRANSCRIPT
from drivers.keithley2450 import Keithley2450

LIMITS = {"max_current": 10e-3, "max_voltage": 6.0, "ramp_step": 1e-3}
SAMPLE = {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9, "limits": LIMITS}
LIV = {"sequence": "liv", "params": {"start": 1e-4, "stop": 2e-3, "points": 4, "settle": 0.0}}
LEVEL = re.compile(r":SOURce:CURRent ([-+0-9.eE]+)$")


def safe_states(path) -> dict[str, dict]:
    """Per instrument, the stored safe_state (a JSON attribute) of a run file."""
    instruments = read_run(path, arrays=False).station["instruments"]
    return {name: (json.loads(info["safe_state"]) if isinstance(info.get("safe_state"), str)
                   else info.get("safe_state"))
            for name, info in instruments.items()}


def recipe(*steps):
    return parse_recipe({"sample": SAMPLE, "steps": list(steps) or [LIV]})


def first_step_command(world) -> int:
    """Index in the log of the first command a step sent: the liv step's source configuration."""
    return next(i for i, (name, command) in enumerate(world.commands)
                if name == "smu" and command == ":SOURce:FUNCtion CURR")


def check_ramped_down_before_step_1(world, start: float):
    """The SMU's levels before step 1 descend from ``start`` to 0 in steps of at most the ramp
    step, then its output goes off, after the generator and VNA were switched off."""
    before = world.commands[:first_step_command(world)]
    smu = [command for name, command in before if name == "smu"]
    levels = [float(m.group(1)) for m in map(LEVEL.match, smu) if m]
    assert levels and levels[-1] == 0.0
    assert np.all(np.diff([start] + levels) < 0)
    assert np.max(np.abs(np.diff([start] + levels))) <= LIMITS["ramp_step"] + 1e-12
    off = smu.index(":OUTPut:STATe OFF")
    assert off > max(i for i, c in enumerate(smu) if LEVEL.match(c))  # off only at zero
    order = [name for name, command in before if "OFF" in command and "OUTP" in command]
    assert order.index("smu") > order.index("generator")  # modulation first
    assert "vna" in order
    assert not any(command.endswith(" ON") and "OUTP" in command
                   for _, command in before)  # no output switched on


def test_outputs_found_on_are_made_safe_before_step_1(tmp_path):
    station = builtin_station_config()
    station["simulation"]["initial_state"] = {
        "smu": {"output": True, "function": "CURR", "level": 5e-3, "limit": 6.0},
        "generator": {"output": True, "high": 0.1, "low": -0.1},
        "vna": {"output": True, "power": -10.0}}
    runner = Runner(StationConfig.from_mapping(station), recipe(), tmp_path / "run.h5")
    outcome = runner.run()
    assert outcome.status == "completed", outcome.reason
    world = runner.station.world
    check_ramped_down_before_step_1(world, 5e-3)
    first = world.current_history[0] if world.current_history else 0.0
    assert max(abs(i) for i in world.current_history) <= 5e-3 + 1e-12 and first <= 5e-3
    stored = safe_states(tmp_path / "run.h5")
    assert re.match(r"smu output was ON\b.* 0.005 A, limit 6 V: ramped from 0.005 A to 0",
                    stored["smu"]["summary"])
    assert re.match(r"(RF )?output ON", stored["generator"]["found"])
    assert re.match(r"(RF )?output ON", stored["vna"]["found"])


def left_on_by_a_killed_run(monkeypatch, level: float = 5e-3):
    """Stations whose instruments, right after they open, are put in the state a killed run
    leaves (SMU on at ``level``, generator and VNA on), through their own drivers; the log is
    then cleared so it holds only what the runner sent."""
    created = []

    class LeftOn(bench.runner.Station):
        def open(self):
            super().open()
            smu = self.instruments["smu"].driver
            smu.configure_current_source(voltage_limit=6.0)
            smu.set_current(0.0)
            smu.output_on()
            for value in np.linspace(1e-3, level, 5):
                smu.set_current(float(value))
            self.instruments["generator"].driver.output_on()
            self.instruments["vna"].driver.output_on()
            self.world.commands.clear()
            created.append(self)
            return self

    monkeypatch.setattr(bench.runner, "Station", LeftOn)
    return created


def test_an_smu_left_on_is_ramped_down_and_switched_off_before_step_1(tmp_path, monkeypatch,
                                                                       capsys):
    stations = left_on_by_a_killed_run(monkeypatch)
    outcome = Runner(StationConfig.load(None), recipe(), tmp_path / "run.h5").run()
    assert outcome.status == "completed", outcome.reason
    world = stations[0].world
    check_ramped_down_before_step_1(world, 5e-3)
    stored = safe_states(tmp_path / "run.h5")
    assert re.fullmatch(r"smu output was ON\b.* 0.005 A, limit 6 V: ramped from 0.005 A to 0 "
                        r"in the sample's ramp steps and switched off", stored["smu"]["summary"])
    assert stored["generator"]["done"] == "switched off"
    assert stored["power_meter"] is None  # not an output
    err = capsys.readouterr().err
    assert re.search(r"safe state: smu output was ON\b.* 0.005 A", err)  # said, not stored only


def test_outputs_found_off_are_confirmed_off(tmp_path):
    runner = Runner(StationConfig.load(None), recipe(), tmp_path / "run.h5")
    runner.run()
    stored = safe_states(tmp_path / "run.h5")
    for name in ("smu", "generator", "vna"):
        assert re.match(r"(RF )?output OFF", stored[name]["found"]), stored[name]
        assert stored[name]["done"] == "switched off again (read back OFF)"
    # read back before step 1: the output queries were answered before the first step's command
    world = runner.station.world
    before = [c for n, c in world.commands[:first_step_command(world)] if n == "smu"]
    last_query = len(before) - 1 - before[::-1].index(":OUTPut:STATe?")
    assert before.index(":OUTPut:STATe OFF") < last_query


def test_a_failed_switch_off_is_shown_and_stored_with_the_answer(tmp_path, monkeypatch, capsys):
    original = Keithley2450.output_off
    calls = []

    def refuses(self):
        calls.append(1)
        if len(calls) > 1:  # the first (before step 1) works; later ones are refused
            self.write(":OUTPut:STATe OFF")
            self.write(":SYSTem:BEEPer 1000, -1")  # not a 2450 command: the instrument queues
            raise RuntimeError("the instrument did not switch off")
        original(self)

    monkeypatch.setattr(Keithley2450, "output_off", refuses)
    warnings = []
    runner = Runner(StationConfig.load(None), recipe(), tmp_path / "run.h5", warn=warnings.append)
    outcome = runner.run()
    assert outcome.status == "failed"
    assert any("smu: switching off failed" in w for w in warnings)
    with h5py.File(tmp_path / "run.h5", "r") as f:
        stored = f.attrs["switch_off_failures"]
        assert "smu: switching off failed" in stored
        assert "the instrument answered" in stored  # its error queue, as it answered
        step = next(iter(f["steps"].values()))
        assert "switching off failed" in step.attrs["status_reason"]
        assert f.attrs["status"] == "failed"


def test_a_second_signal_during_the_safe_state_waits_for_its_end(tmp_path, monkeypatch):
    """Ctrl-C in the step, then a SIGTERM while the SMU is being switched off: the switch-off
    completes, the run is aborted, the file final and its I/O record readable."""
    original = Keithley2450.output_off
    sent = []

    def off_then_terminated(self):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)  # arrives in the middle of the safe state
        original(self)

    def interrupt(event, payload):
        if event == "progress" and payload["done"] == 2:
            raise KeyboardInterrupt

    stations = record_stations(monkeypatch)
    runner = Runner(StationConfig.load(None), recipe(), tmp_path / "run.h5",
                    subscribers=[interrupt])
    monkeypatch.setattr(Keithley2450, "output_off", off_then_terminated)
    outcome = runner.run()  # returns: the SIGTERM did not cut the clean-up short
    assert outcome.status == "aborted"
    world = stations[0].world
    smu = [c for n, c in world.commands if n == "smu"]
    assert smu.count(":OUTPut:STATe OFF") >= 2  # every switch-off of the sequence was sent
    assert world.drive_current == 0.0
    record = read_run(tmp_path / "run.h5")
    assert record.status == "aborted"
    with h5py.File(tmp_path / "run.h5", "r") as f:  # the I/O record reads whole
        def read_all(name, obj):
            if isinstance(obj, h5py.Dataset):
                obj[()]
        f[TRANSCRIPT].visititems(read_all)


def test_ctrl_c_then_sigterm_leave_a_final_readable_file(tmp_path, write_yaml):
    """A real process: Ctrl-C, then SIGTERM a moment later, at several points of a run. The file
    always ends aborted (never 'running') and its I/O record reads whole."""
    import subprocess
    import sys
    import time

    recipe = write_yaml("recipe.yaml", json.dumps({"sample": SAMPLE, "steps": [
        {"sequence": "liv", "name": "slow", "params": {"points": 200, "settle": 0.01}}]}))
    command = [sys.executable, "-c", "import sys; from bench.cli import main; sys.exit(main())"]
    for attempt, (first, second) in enumerate([(0.2, 0.0), (0.5, 0.01), (0.8, 0.05)]):
        out = tmp_path / f"run{attempt}.h5"
        process = subprocess.Popen(command + ["run", recipe, "-q", "-o", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the step is running
            try:
                with h5py.File(out, "r", locking=False) as f:
                    if len(f.get("steps", ())):
                        break
            except OSError:
                pass
            time.sleep(0.02)
        time.sleep(first)
        process.send_signal(signal.SIGINT)
        time.sleep(second)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        assert process.returncode != 0
        err = process.stderr.read().decode()
        assert "Traceback" not in err, err
        with h5py.File(out, "r") as f:
            assert f.attrs["status"] == "aborted", (attempt, f.attrs["status_reason"])
            def read_all(name, obj):
                if isinstance(obj, h5py.Dataset):
                    obj[()]
            f[TRANSCRIPT].visititems(read_all)


def test_a_plan_refused_by_a_connected_unit_still_leaves_nothing_live(tmp_path, monkeypatch):
    """A run refused after identification (a VNA whose option does not reach the plan's stop
    frequency) still switches off the outputs it found on: the SMU ramped to 0, nothing on."""
    station = builtin_station_config()
    station["simulation"]["initial_state"] = {
        "smu": {"output": True, "function": "CURR", "level": 5e-3, "limit": 6.0},
        "vna": {"output": True, "power": -10.0, "options": "240"}}  # a 4.5 GHz unit
    bandwidth = {"sequence": "bandwidth", "params": {"stop": 6e9, "points": 51}}
    runner = Runner(StationConfig.from_mapping(station), recipe(LIV, bandwidth),
                    tmp_path / "run.h5")
    outcome = runner.run()
    assert outcome.status == "failed" and not outcome.steps
    assert "6e+09" in outcome.reason
    world = runner.station.world
    smu = [command for name, command in world.commands if name == "smu"]
    levels = [float(m.group(1)) for m in map(LEVEL.match, smu) if m]
    assert levels and levels[-1] == 0.0 and np.all(np.diff([5e-3] + levels) < 0)
    assert world.current_history[-1] == 0.0
    for name in ("smu", "vna", "generator"):
        switches = [c for n, c in world.commands if n == name and "OUTP" in c.upper()
                    and "?" not in c]
        assert switches and all(c.upper().endswith(" OFF") for c in switches), (name, switches)
