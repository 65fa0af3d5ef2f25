"""Bad input ends with one clear line and a non-zero exit; nothing beyond a limit reaches a chip."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import sequences
from bench.cli import main
from bench.safety import SafeLimits, SourceGuard
from common.errors import LimitError
from sequences.base import Parameter, Sequence

UNREACHABLE = "TCPIP0::192.0.2.1::inst0::INSTR"  # TEST-NET-1; no VISA library here: fails at once
SAMPLE = {"id": "s1", "diameter": 20e-6, "wavelength": 450e-9,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0, "max_reverse_voltage": 5.0}}


def recipe(*steps) -> dict:
    return {"sample": SAMPLE, "steps": list(steps)}


def assert_one_line_error(capsys, code: int, *fragments: str) -> str:
    out, err = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bench: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


GOOD_STATION = {"simulation": {"chip": {}}}
BAD_INPUT = {
    "malformed-recipe": ("recipe: [unclosed\n  steps: -", None, ["not valid YAML", "line"]),
    "recipe-not-a-mapping": ("- just\n- a list\n", None, ["mapping"]),
    "unknown-sequence": (recipe({"sequence": "nosuch"}), None, ["nosuch", "liv"]),
    "unknown-parameter": (recipe({"sequence": "liv", "params": {"stopp": 1e-3}}), None,
                          ["stopp"]),
    "bad-parameter-value": (recipe({"sequence": "liv", "params": {"points": "many"}}), None,
                            ["points"]),
    "unknown-sample-key": ({"sample": {**SAMPLE, "colour": "blue"}, "steps": [
        {"sequence": "liv"}]}, None, ["colour"]),
    "sweep-beyond-max-current": (recipe({"sequence": "liv", "params": {"stop": 20e-3}}), None,
                                 ["max_current", "0.02"]),
    "iv-beyond-max-current": (recipe({"sequence": "iv", "params": {"stop": 11e-3}}), None,
                              ["max_current"]),
    "reverse-beyond-limit": (recipe({"sequence": "iv", "params": {
        "source": "voltage", "start": 0.0, "stop": -8.0, "spacing": "lin"}}), None,
        ["max_reverse_voltage"]),
    "compliance-beyond-max-voltage": (recipe({"sequence": "liv", "params": {
        "voltage_limit": 9.0}}), None, ["max_voltage"]),
    "malformed-station": (recipe({"sequence": "liv"}), "instruments: {smu: [", ["station"]),
    "unknown-driver": (recipe({"sequence": "liv"}), {"instruments": {"smu": {
        "driver": "keithley9999", "resource": "USB0::1::2::3::INSTR", "simulated": True}}},
        ["keithley9999", "keithley2450"]),
    "unknown-chip-parameter": (recipe({"sequence": "liv"}), {"simulation": {"chip": {
        "diametre": 1e-5}}}, ["diametre"]),
    "bad-fallback": (recipe({"sequence": "liv"}), {"instruments": {"smu": {
        "driver": "keithley2450", "resource": UNREACHABLE, "fallback": "yes"}}}, ["fallback"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_and_nothing_is_opened(case, write_yaml, tmp_path, capsys,
                                                     stations):
    recipe_content, station_content, fragments = BAD_INPUT[case]
    recipe_file = write_yaml("recipe.yaml", recipe_content)
    station_file = write_yaml("station.yaml", station_content or GOOD_STATION)
    out = tmp_path / "run.h5"
    code = main(["run", recipe_file, "--station", station_file, "-o", str(out)])
    assert code == 2
    assert_one_line_error(capsys, code, *fragments)
    assert stations == []  # refused before any instrument was opened
    assert not out.exists()


def test_unknown_sequence_name_on_the_command_line(capsys, stations):
    assert_one_line_error(capsys, main(["run", "nosuch"]), "nosuch")
    assert stations == []


def test_missing_files(tmp_path, capsys):
    assert_one_line_error(capsys, main(["run", str(tmp_path / "none.yaml")]), "none.yaml")
    assert_one_line_error(capsys, main(["run", "liv", "--station", str(tmp_path / "st.yaml")]),
                          "st.yaml")
    assert_one_line_error(capsys, main(["show", str(tmp_path / "none.h5")]), "none.h5")


def test_show_refuses_a_file_that_is_not_a_run(tmp_path, capsys):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5 at all")
    assert_one_line_error(capsys, main(["show", str(text)]), "notes.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.arange(3)
    assert_one_line_error(capsys, main(["show", str(tmp_path / "other.h5"), "--json"]),
                          "not a microled-bench run file")


@pytest.mark.parametrize("smu_first", [True, False], ids=["fails-first", "fails-second"])
def test_unreachable_resource_without_fallback(write_yaml, tmp_path, capsys, smu_first):
    smu = f"  smu: {{driver: keithley2450, resource: '{UNREACHABLE}'}}\n"
    meter = ("  power_meter: {driver: thorlabs_pm100d, simulated: true,\n"
             "                resource: 'USB0::0x1313::0x8078::P0012345::INSTR'}\n")
    station = write_yaml("station.yaml", "instruments:\n" + (smu + meter if smu_first
                                                              else meter + smu))
    out = tmp_path / "run.h5"
    # a real instrument: the sample comes from the flags (no default sample on hardware)
    code = main(["run", "liv", "--station", station, "-o", str(out), "--sample-id", "d1",
                 "--diameter", "20e-6", "--wavelength", "450e-9", "--max-current", "10e-3",
                 "--max-voltage", "6"])
    line = assert_one_line_error(capsys, code, "smu", UNREACHABLE)
    assert "SIMULATED" not in line
    with h5py.File(out, "r") as f:  # the attempt is on record
        assert f.attrs["status"] == "failed" and UNREACHABLE in f.attrs["status_reason"]


def test_installed_script_prints_one_line(write_yaml, tmp_path):
    script = shutil.which("bench") or str(Path(sys.executable).parent / "bench")
    beyond = write_yaml("beyond.yaml", recipe({"sequence": "liv", "params": {"stop": 0.5}}))
    done = subprocess.run([script, "run", beyond, "-o", str(tmp_path / "run.h5")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("bench: error: ") and "max_current" in done.stderr
    assert not (tmp_path / "run.h5").exists()


# -- the guard between sequences and drivers ------------------------------------------------------
@pytest.fixture
def guarded(sim_bench):
    """A 2450 behind the SourceGuard for a sample with 5 mA / 4 V / 3 V reverse limits."""
    bench_ = sim_bench()
    limits = SafeLimits(max_current=5e-3, max_voltage=4.0, max_reverse_voltage=3.0)
    return bench_, SourceGuard(bench_.smu, limits), limits


REFUSALS = {
    "output-before-compliance": lambda g: g.output_on(),
    "level-before-configure": lambda g: g.set_current(1e-3),
    "compliance-beyond-max-voltage": lambda g: g.configure_current_source(voltage_limit=4.5),
    "current-limit-beyond-max-current": lambda g: g.configure_voltage_source(current_limit=6e-3),
}
CONFIGURED_REFUSALS = {
    "current": lambda g: g.set_current(5.1e-3),
    "negative-current": lambda g: g.set_current(-5.1e-3),
    "nan-current": lambda g: g.set_current(float("nan")),
    "sweep": lambda g: g.sweep_current(np.linspace(0, 6e-3, 7)),
    "sweep-negative": lambda g: g.sweep_current(np.array([-6e-3, 1e-3])),
    "reverse-with-high-compliance": lambda g: g.set_current(-1e-6),
}


@pytest.mark.parametrize("case", list(REFUSALS) + list(CONFIGURED_REFUSALS))
def test_guard_refuses_before_any_driver_call(guarded, case):
    bench_, guard, limits = guarded
    if case in CONFIGURED_REFUSALS:
        guard.configure_current_source(voltage_limit=3.9)  # above the 3 V reverse limit
        guard.output_on()
        guard.set_current(2e-3)
        action = CONFIGURED_REFUSALS[case]
    else:
        action = REFUSALS[case]
    before = list(bench_.smu.resource.sent)
    with pytest.raises(LimitError):
        action(guard)
    assert bench_.smu.resource.sent == before  # not one command went out
    assert bench_.world.max_applied_current <= limits.max_current


def test_guard_ramps_levels_within_the_step(guarded):
    bench_, guard, limits = guarded
    guard.configure_current_source(voltage_limit=3.9)
    guard.set_current(4.5e-3)  # output off: nothing reaches the chip yet
    assert bench_.world.current_history == []
    guard.output_on()  # on at 0, then ramped up to 4.5 mA
    guard.output_off()  # ramped down, then off
    history = np.array(bench_.world.current_history)
    assert history.max() == pytest.approx(4.5e-3) and history[-1] == 0.0
    assert np.max(np.abs(np.diff(np.concatenate([[0.0], history])))) <= limits.step + 1e-15
    assert bench_.smu.output_enabled() is False


class Rogue(Sequence):
    """A sequence whose plan is within limits but whose acquisition asks for more."""

    name = "rogue"
    summary = "asks for max_current x 2 after a few good points"
    roles = {"smu": sequences.LIV.roles["smu"]}
    parameters = {"level": Parameter(1e-3, "A")}
    columns = {"current": "A", "voltage": "V"}

    @classmethod
    def planned_points(cls, params):
        return 4

    def acquire(self, ctx, params):
        smu = ctx.role("smu")
        smu.configure_current_source(voltage_limit=5.0)
        smu.output_on()
        for level in (params["level"], 2 * params["level"], 3 * params["level"]):
            smu.set_current(level)
            voltage, current = smu.measure()
            ctx.points(current=current, voltage=voltage)
        smu.set_current(2 * ctx.limits.max_current)

    @classmethod
    def analyse(cls, data, params, sample):
        return {}


def test_runtime_request_beyond_limits_fails_the_step_safely(monkeypatch, write_yaml, tmp_path,
                                                            capsys, stations):
    monkeypatch.setitem(sequences.SEQUENCES, "rogue", Rogue)
    target = write_yaml("rogue.yaml", recipe({"sequence": "rogue"}))
    out = tmp_path / "rogue.h5"
    code = main(["run", target, "-o", str(out), "-q"])
    printed = capsys.readouterr()
    assert code == 1 and "Traceback" not in printed.out + printed.err
    assert "failed" in printed.out and "max_current" in printed.out
    (station,) = stations
    world = station.world
    assert world.max_applied_current == pytest.approx(3e-3)  # the refused 20 mA never arrived
    assert world.drive_current == 0.0 and world.current_history[-1] == 0.0
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "failed" and "max_current" in f.attrs["status_reason"]
        step = f["steps/00_rogue"]
        assert step.attrs["status"] == "failed"
        assert step["data/current"].shape == (3,)  # the data taken so far is kept


def test_an_existing_run_file_is_never_overwritten(tmp_path, capsys, stations):
    out = tmp_path / "run.h5"
    assert main(["run", "iv", "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    with h5py.File(out, "r") as f:
        first = f.attrs["run_id"]
    assert_one_line_error(capsys, main(["run", "iv", "-o", str(out), "-q"]), "already exists")
    assert len(stations) == 1  # the second run opened nothing
    with h5py.File(out, "r") as f:
        assert f.attrs["run_id"] == first and f.attrs["status"] == "completed"


# -- output paths, overwriting, interrupts, closed pipes (issue 9, items 2-4) -------------------
def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("finished") / "run.h5"
    assert main(["run", "iv", "-q", "-o", str(path)]) == 0
    return path


def test_unwritable_output_paths_are_refused_before_anything_opens(tmp_path, capsys, stations):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = {"/proc/x.h5": "cannot write", f"{a_file}/x.h5": "not a directory",
             str(tmp_path): "is a directory"}
    for output, fragment in cases.items():
        assert_one_line_error(capsys, main(["run", "iv", "-q", "-o", output]), fragment)
    assert stations == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_replay_and_report_never_overwrite_without_force(finished_run, tmp_path, capsys):
    existing = tmp_path / "existing.h5"
    existing.write_bytes(b"precious")
    before = sha256(existing)
    assert_one_line_error(capsys, main(["replay", str(finished_run), "-o", str(existing)]),
                          "already exists", "--force")
    assert sha256(existing) == before
    assert_one_line_error(capsys, main(["report", str(finished_run), "-o", str(existing)]),
                          "not a directory")
    assert sha256(existing) == before
    report = tmp_path / "report"
    assert main(["report", str(finished_run), "-o", str(report)]) == 0
    page = sha256(report / "report.html")
    capsys.readouterr()
    assert_one_line_error(capsys, main(["report", str(finished_run), "-o", str(report)]),
                          "already holds a report", "--force")
    assert sha256(report / "report.html") == page
    assert main(["report", str(finished_run), "-o", str(report), "--force"]) == 0
    assert main(["replay", str(finished_run), "-q", "-o", str(existing), "--force"]) == 0
    assert sha256(existing) != before and read_run_id(existing)
    assert_one_line_error(capsys, main(["report", str(finished_run), "-o", "/proc/report"]),
                          "cannot write")


def read_run_id(path: Path) -> str:
    with h5py.File(path, "r") as f:
        return str(f.attrs["source_run"])


def test_ctrl_c_while_reading_the_input_is_one_line_and_130(monkeypatch, capsys, tmp_path):
    import bench.station

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench.station.StationConfig, "load", interrupted)
    code = main(["run", "iv", "-o", str(tmp_path / "run.h5")])
    out, err = capsys.readouterr()
    assert code == 130 and err.strip() == "bench: interrupted (Ctrl-C)"
    assert not (tmp_path / "run.h5").exists()  # nothing half-written
    import signal

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # left as found


def test_ctrl_c_while_the_station_opens_is_one_line_and_130(monkeypatch, capsys, tmp_path):
    import bench.runner

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench.runner.Station, "open", interrupted)
    out_file = tmp_path / "run.h5"
    code = main(["run", "iv", "-q", "-o", str(out_file)])
    out, err = capsys.readouterr()
    lines = [line for line in err.strip().splitlines() if not line.startswith("SIMULATED")]
    assert code == 130 and len(lines) == 1 and "Traceback" not in out + err
    assert lines[0].startswith("bench: interrupted") and str(out_file) in lines[0]
    with h5py.File(out_file, "r") as f:  # the file there explains itself
        assert f.attrs["status"] == "aborted" and "Ctrl-C" in f.attrs["status_reason"]


def test_a_closed_pipe_ends_quietly(finished_run):
    done = subprocess.run(f"{sys.executable} -m bench show --json {finished_run} | head -c 1",
                          shell=True, capture_output=True, text=True, timeout=60)
    assert done.stderr == ""


def test_a_run_whose_progress_output_closes_completes(tmp_path):
    """The terminal or pipe showing the progress goes away mid-run (BrokenPipeError from the
    progress bar, as under ``| head``): the measurement goes on to the end, the file says
    completed with every point, and later events do not reach the dead subscriber."""
    from bench.recipe import default_sample, load_recipe
    from bench.runner import Runner
    from bench.station import StationConfig

    calls = []

    def closed_after_a_few(event, payload):
        calls.append(event)
        if len(calls) >= 5:
            raise BrokenPipeError(32, "Broken pipe")

    station = StationConfig.load(None)
    recipe = load_recipe("liv", sample=default_sample(station.simulation))
    outcome = Runner(station, recipe, tmp_path / "run.h5",
                     subscribers=[closed_after_a_few]).run()
    assert outcome.status == "completed", outcome.reason
    assert len(calls) == 5
    with h5py.File(tmp_path / "run.h5", "r") as f:
        assert f.attrs["status"] == "completed"
        assert f["steps/00_liv/data/current"].shape == (60,)


def test_steps_that_never_ran_and_a_whole_reason_are_shown(monkeypatch, write_yaml, tmp_path,
                                                           capsys):
    """A step that fails with a long reason aborts the run: the reason is printed whole, the
    steps after it are "not run" in the summary, bench show, --json and the report, and the last
    line says how to resume."""
    from bench.cli import run_summary
    from common.errors import ConfigError
    from sequences.iv import IV

    reason = ("the contact opened at 1.234567e-3 A after 17 points; compliance 6.000 V was "
              "reached at every later level, so the chip is probably not touched by its probe")

    def fails(self, ctx, params):
        raise ConfigError(reason)

    monkeypatch.setattr(IV, "acquire", fails)
    recipe = write_yaml("recipe.yaml", {"sample": SAMPLE, "steps": [
        {"sequence": "iv", "name": "first"}, {"sequence": "liv", "name": "second"},
        {"sequence": "liv", "name": "third"}]})
    out = tmp_path / "run.h5"
    assert main(["run", recipe, "-q", "-o", str(out)]) == 1
    printed = capsys.readouterr().out
    assert " ".join(printed.split()).count(reason) >= 1  # wrapped, never cut
    assert "second    (not run)" in printed or "(not run)" in printed.split("second")[1]
    assert printed.strip().splitlines()[-1] == f"resume with: bench run --resume {out}"
    steps = run_summary(out)["steps"]
    assert [(s["name"], s["status"]) for s in steps] == [
        ("first", "failed"), ("second", "not run"), ("third", "not run")]
    assert main(["show", str(out)]) == 0
    assert capsys.readouterr().out.count("(not run)") == 2
    assert main(["report", str(out), "-o", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "report.html").read_text().count(">not run<") == 2


def test_fault_policy_recoveries_are_shown_with_their_step(finished_run, tmp_path, capsys):
    """The runner stores a step's recoveries (non-zero counts, JSON); show prints them."""
    import json
    import shutil

    from bench.cli import run_summary

    path = tmp_path / "recovered.h5"
    shutil.copy(finished_run, path)
    with h5py.File(path, "r+") as f:
        step = next(iter(f["steps"].values()))
        step.attrs["recoveries"] = json.dumps({"smu": {"retries": 2, "reopens": 1}})
    assert run_summary(path)["steps"][0]["recoveries"] == {"smu": {"retries": 2, "reopens": 1}}
    assert main(["show", str(path)]) == 0
    assert "fault policy: smu: 2 retries, 1 re-open" in capsys.readouterr().out


def test_ctrl_c_during_a_step_ends_130_with_the_resume_line(monkeypatch, write_yaml, tmp_path,
                                                             capsys):
    from sequences.iv import IV

    def interrupted(self, ctx, params):
        raise KeyboardInterrupt

    monkeypatch.setattr(IV, "acquire", interrupted)
    recipe = write_yaml("recipe.yaml", {"sample": SAMPLE, "steps": [
        {"sequence": "iv", "name": "first"}, {"sequence": "liv", "name": "second"}]})
    out = tmp_path / "run.h5"
    assert main(["run", recipe, "-q", "-o", str(out)]) == 130
    printed = capsys.readouterr().out
    assert "interrupted (Ctrl-C)" in printed and "(not run)" in printed
    assert printed.strip().splitlines()[-1] == f"resume with: bench run --resume {out}"


# from 0.3 s: a Ctrl-C inside the interpreter's own start-up (site, encodings; tens of ms, more
# on a loaded machine) comes before any code of ours and prints Python's traceback
@pytest.mark.parametrize("delay", [0.3, 0.5, 1.0, 2.0])
def test_ctrl_c_at_any_moment_of_the_console_script(delay, tmp_path):
    """From just after the interpreter starts (imports, station opening, a step): exit 130,
    one closing line (or the summary ending on the resume line), never a traceback."""
    import signal
    import time

    script = shutil.which("bench") or str(Path(sys.executable).parent / "bench")
    out = tmp_path / "run.h5"
    process = subprocess.Popen([script, "run", "liv", "-q", "-o", str(out)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stdout + stderr
    if process.returncode == 0:  # the run had finished before the signal
        return
    assert process.returncode == 130
    said = [line for line in stderr.splitlines() if not line.startswith("SIMULATED")]
    if said:
        assert len(said) == 1 and said[0].startswith("bench: interrupted")
    else:
        assert stdout.strip().splitlines()[-1] == f"resume with: bench run --resume {out}"
    if out.exists():
        with h5py.File(out, "r") as f:
            assert f.attrs["status"] == "aborted"
