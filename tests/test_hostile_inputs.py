"""Hostile input, counted: generated and explicit bad recipes, stations and run files.

Every case must end with one clear line (``bench: ...``) and its exit code, within a time bound,
before any instrument is opened; never a traceback, never a hang. The CLI runs in-process (fast);
``Runner.run`` is replaced by a marker, so an input that gets past every check is counted as
accepted instead of being run. A few cases go through the console script.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bench.runner
from bench.cli import main
from bench.station import builtin_station_config

TIME_BOUND = 20.0  # s per case; every refusal here takes milliseconds
SAMPLE = {"id": "s1", "diameter": 20e-6, "wavelength": 450e-9,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0, "max_reverse_voltage": 5.0}}
RECIPE = {"sample": SAMPLE, "steps": [{"sequence": "liv", "name": "liv",
                                       "params": {"stop": 5e-3, "points": 20},
                                       "limits": {"peak_eqe": [0.01, None]}}]}
TALLY: Counter = Counter()  # cases, clean, tracebacks, hangs, accepted (printed at the end)


class _Accepted(BaseException):
    """Raised in place of a run: the input passed every check."""


class _Hang(BaseException):
    pass


@dataclass
class Ending:
    code: int | None
    out: str
    err: str
    kind: str  # "clean" (refused in one line), "answered" (exit 0/1, a full answer on stdout),
    # "accepted" (a run would start), "traceback", "hang", "unclear" (anything else)


def run_cli(argv: list[str]) -> Ending:
    """``bench ARGV`` in-process, with runs replaced by the accepted marker; tallied."""
    out, err = io.StringIO(), io.StringIO()

    def alarm(signum, frame):
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_BOUND)
    original = bench.runner.Runner.run
    bench.runner.Runner.run = lambda self: (_ for _ in ()).throw(_Accepted())
    code, kind = None, "clean"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except _Accepted:
        kind = "accepted"
    except _Hang:
        kind = "hang"
    except SystemExit as exc:  # argparse
        code = exc.code
    except BaseException:  # noqa: B036 - anything escaping main is what this suite counts
        kind = "traceback"
        err.write(traceback.format_exc())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        bench.runner.Runner.run = original
    ending = Ending(code, out.getvalue(), err.getvalue(), kind)
    if kind == "clean" and code in (0, 1) and not ending.err.strip():
        ending.kind = "answered"  # e.g. `bench show` of a file whose damage it does not read
    elif kind == "clean" and not is_clean(ending):
        ending.kind = "traceback" if "Traceback" in ending.err else "unclear"
    if os.environ.get("HOSTILE_LOG") and ending.kind != "clean":
        with open(os.environ["HOSTILE_LOG"], "a") as log:
            log.write(f"{ending.kind} {argv} code={code}\n{ending.err[-2000:]}\n")
    TALLY["cases"] += 1
    TALLY[ending.kind] += 1
    return ending


def is_clean(ending: Ending) -> bool:
    """One closing line on stderr, ``bench: ...``, a documented non-zero code."""
    lines = [line for line in ending.err.strip().splitlines()
             if not line.startswith(("SIMULATED", "warning:"))]
    return (ending.code in (1, 2) and len(lines) == 1 and lines[0].startswith("bench: ")
            and "Traceback" not in ending.out + ending.err)


def assert_refused(ending: Ending, *fragments: str, code: int = 2) -> None:
    assert ending.kind == "clean", ending.err
    assert ending.code == code, ending.err
    for fragment in fragments:
        assert fragment in ending.err, ending.err


def write(path: Path, content) -> str:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else
                        yaml.safe_dump(content, allow_unicode=True))
    return str(path)


def run_recipe(tmp: Path, recipe, station=None) -> Ending:
    argv = ["run", write(tmp / "recipe.yaml", recipe), "-o", str(tmp / "out" / "run.h5")]
    if station is not None:
        argv += ["--station", write(tmp / "station.yaml", station)]
    ending = run_cli(argv)
    if ending.kind == "clean":
        assert not (tmp / "out" / "run.h5").exists(), "refused, yet a run file was written"
    return ending


# -- explicit cases of issue 9 (item 5) and issue 8 (item 9) --------------------------------------
def with_limit(**changes) -> dict:
    return {"sample": {**SAMPLE, "limits": {**SAMPLE["limits"], **changes}},
            "steps": RECIPE["steps"]}


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(  # 9^9 values once expanded
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True))
RECIPE_CASES = {
    "400-digit-integer": (with_limit(max_current=10**400), ["too large"]),
    "400-digit-points": ("sample: {id: s, diameter: 2.0e-5, wavelength: 4.5e-7, limits: "
                         "{max_current: 0.01, max_voltage: 6}}\nsteps: [{sequence: liv, params: "
                         "{points: " + "9" * 400 + "}}]\n", ["too large", "line 2"]),
    "nan-limit": (with_limit(max_current=float("nan")), ["max_current", "finite"]),
    "inf-limit": (with_limit(max_voltage=float("inf")), ["max_voltage", "finite"]),
    "1e308-limit": (with_limit(max_current=1e308), ["max_current", "3.03 A"]),
    "null-reverse": (with_limit(max_reverse_voltage=None), ["max_reverse_voltage"]),
    "tiny-ramp-step": (with_limit(ramp_step=1e-12), ["ramp_step", "1000"]),
    "duplicate-limit": ("sample:\n  id: s\n  diameter: 2.0e-5\n  wavelength: 4.5e-7\n  limits:\n"
                        "    max_current: 10e-3\n    max_voltage: 6\n    max_current: 1.0\n"
                        "steps: [{sequence: liv}]\n", ["duplicate key 'max_current'", "line 8"]),
    "list-sample-id": ({"sample": {**SAMPLE, "id": ["a", "b"]}, "steps": RECIPE["steps"]},
                       ["sample id"]),
    "non-utf8": (b"sample: {id: \xff\xfe}\n", ["UTF-8"]),
    "nested-1000": ("steps: " + "[" * 1000 + "]" * 1000 + "\n", ["nested"]),
    "alias-bomb": (BOMB, ["expands"]),
    "scalar-for-sample": ({"sample": 3, "steps": RECIPE["steps"]}, ["sample"]),
    "scalar-for-limits": (with_limit() | {"sample": {**SAMPLE, "limits": 5}}, ["limits"]),
    "scalar-for-params": ({"sample": SAMPLE, "steps": [{"sequence": "liv", "params": 7}]},
                          ["params"]),
    "list-for-sequence": ({"sample": SAMPLE, "steps": [{"sequence": ["liv"]}]}, ["sequence"]),
    "steps-empty": ({"sample": SAMPLE, "steps": []}, ["steps"]),
    "inverted-result-limit": ({"sample": SAMPLE, "steps": [{"sequence": "liv", "limits": {
        "peak_eqe": [0.9, 0.1]}}]}, ["min"]),
    "nan-result-limit": ({"sample": SAMPLE, "steps": [{"sequence": "liv", "limits": {
        "peak_eqe": [float("nan"), None]}}]}, ["peak_eqe"]),
    "1e308-diameter": ({"sample": {**SAMPLE, "diameter": float("inf")}, "steps":
                        RECIPE["steps"]}, ["diameter"]),
}


@pytest.mark.parametrize("case", list(RECIPE_CASES))
def test_hostile_recipe_is_refused_in_one_line(case, tmp_path):
    content, fragments = RECIPE_CASES[case]
    assert_refused(run_recipe(tmp_path, content), *fragments)


def test_a_date_like_sample_id_stays_text(tmp_path):
    ending = run_recipe(tmp_path, "sample: {id: 2024-06-01, diameter: 20e-6, wavelength: 450e-9,"
                                  " limits: {max_current: 10e-3, max_voltage: 6}}\n"
                                  "steps: [{sequence: liv}]\n")
    assert ending.kind == "accepted"
    from bench.recipe import load_recipe

    recipe = load_recipe(str(tmp_path / "recipe.yaml"), sample={})
    assert recipe.sample.id == "2024-06-01" and isinstance(recipe.sample.id, str)


def test_a_file_too_large_is_refused_unread(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:  # 50 MB, sparse: cheap to make, refused by its size
        handle.truncate(50 * 1024 * 1024)
    ending = run_cli(["run", str(big), "-o", str(tmp_path / "run.h5")])
    assert_refused(ending, "bytes")


def station_with(**instrument_changes) -> dict:
    station = builtin_station_config()
    station["instruments"]["smu"] = {**station["instruments"]["smu"], **instrument_changes}
    return station


STATION_CASES = {
    "driver-list": (station_with(driver=["keithley2450"]), ["unknown driver"]),
    "simulated-text": (station_with(simulated="false"), ["simulated", "true or false"]),
    "record-io-text": ({**builtin_station_config(), "record_io": "no"}, ["record_io"]),
    "instrument-scalar": ({"instruments": {"smu": 3}}, ["mapping"]),
    "instruments-list": ({"instruments": ["smu"]}, ["instruments"]),
    "simulation-scalar": ({**builtin_station_config(), "simulation": 4}, ["simulation"]),
    "setup-list": ({**builtin_station_config(), "setup": [1]}, ["setup"]),
    "resource-number": (station_with(resource=5), ["resource"]),
    "duplicate-instrument": ("instruments:\n  smu: {driver: keithley2450, resource: a}\n"
                             "  smu: {driver: keithley2450, resource: b}\n",
                             ["duplicate", "line 3"]),
    "chip-huge-integer": ("simulation: {chip: {diameter: " + "1" * 400 + "}}\n", ["too large"]),
}


@pytest.mark.parametrize("case", list(STATION_CASES))
def test_hostile_station_is_refused_in_one_line(case, tmp_path):
    content, fragments = STATION_CASES[case]
    assert_refused(run_recipe(tmp_path, RECIPE, station=content), *fragments)


CHIP_CASES = {"chip-1e308": {"diameter": 1e308}, "chip-nan": {"series_resistance": float("nan")},
              "chip-text": {"diameter": "big"}, "chip-list": {"diameter": [1, 2]}}


@pytest.mark.parametrize("case", list(CHIP_CASES))
def test_hostile_chip_is_refused_in_one_line(case, tmp_path):
    chip = CHIP_CASES[case]
    ending = run_recipe(tmp_path, RECIPE, station={"simulation": {"chip": chip}})
    assert_refused(ending)
    assert all(name in ending.err for name in chip), ending.err  # the line names the parameter


# -- corrupted run files ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good") / "run.h5"
    assert main(["run", "liv", "-q", "-o", str(path)]) == 0
    return path


def _set_attr(item: str, key: str, value):
    def corrupt(f: h5py.File) -> None:
        f[item].attrs[key] = value
    return corrupt


def _replace_data(value):
    def corrupt(f: h5py.File) -> None:
        data = next(iter(f["steps"].values()))["data"]
        name = "current"  # what the analysis and the plots read first
        units = data[name].attrs.get("units", "")
        del data[name]
        data.create_dataset(name, data=value)
        data[name].attrs["units"] = units
    return corrupt


def _delete(item: str):
    def corrupt(f: h5py.File) -> None:
        del f[item]
    return corrupt


def _first_step(corrupt_step):
    def corrupt(f: h5py.File) -> None:
        corrupt_step(next(iter(f["steps"].values())))
    return corrupt


CORRUPTIONS = {
    "sample-null": _set_attr("sample", "json", "null"),
    "recipe-list": _set_attr("recipe", "json", "[]"),
    "station-not-json": _set_attr("station", "json", "{"),
    "format-missing": lambda f: f.attrs.__delitem__("format"),
    "steps-missing": _delete("steps"),
    "sample-missing": _delete("sample"),
    "data-2d": _replace_data(np.ones((3, 4))),
    "data-string": _replace_data(np.array([b"abc", b"def"])),
    "data-scalar": _replace_data(3.0),
    "params-not-json": _first_step(lambda g: g.attrs.__setitem__("params", "{")),
    "result-string": _first_step(lambda g: (g["results"].__delitem__(next(iter(g["results"]))),
                                            g["results"].create_dataset("x", data=b"text"))),
    "status-number": lambda f: f.attrs.__setitem__("status", 7),
    "step-link-loop": _first_step(lambda g: g.__setitem__("data", h5py.SoftLink(g.name + "/data"))
                                  if g.__delitem__("data") is None else None),
}
COMMANDS = {"show": ["show"], "show-json": ["show", "--json"], "replay": ["replay", "-q"],
            "report": ["report"]}


def corrupted(good: Path, tmp: Path, how: str) -> Path:
    path = tmp / f"{how}.h5"
    shutil.copy(good, path)
    with h5py.File(path, "r+") as f:
        CORRUPTIONS[how](f)
    return path


def run_file_command(command: str, path: Path, tmp: Path) -> Ending:
    argv = [*COMMANDS[command][:1], str(path), *COMMANDS[command][1:]]
    if command == "report":
        argv += ["-o", str(tmp / f"report-{path.stem}")]
    return run_cli(argv)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupted_run_file_ends_in_one_line(good_run, tmp_path, how, command):
    ending = run_file_command(command, corrupted(good_run, tmp_path, how), tmp_path)
    assert ending.kind in ("clean", "answered"), ending.err
    assert "Traceback" not in ending.err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_truncated_run_files_end_in_one_line(good_run, tmp_path, command):
    size = good_run.stat().st_size
    for fraction in (0.0, 0.01, 0.3, 0.6, 0.95):
        path = tmp_path / f"cut-{fraction}.h5"
        path.write_bytes(good_run.read_bytes()[:int(size * fraction)])
        ending = run_file_command(command, path, tmp_path)
        assert_refused(ending)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_links_and_special_files_end_in_one_line(tmp_path, command):
    (tmp_path / "a.h5").symlink_to(tmp_path / "b.h5")
    (tmp_path / "b.h5").symlink_to(tmp_path / "a.h5")
    os.mkfifo(tmp_path / "fifo.h5")
    (tmp_path / "dir.h5").mkdir()
    for name in ("a.h5", "fifo.h5", "dir.h5", "missing.h5"):
        assert_refused(run_file_command(command, tmp_path / name, tmp_path))


def test_a_fifo_recipe_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "recipe.yaml")
    assert_refused(run_cli(["run", str(tmp_path / "recipe.yaml")]), "not a regular file")


# -- generated: hostile values anywhere in the schema ---------------------------------------------
HOSTILE = st.one_of(
    st.sampled_from([10**400, -(10**400), float("nan"), float("inf"), -float("inf"), 1e308,
                     -1e308, 0, -1, 1e-320, True, False, None, "", "2024-06-01", "false", "no",
                     "1e-3", "\x00", "é" * 50]),
    st.text(max_size=20), st.integers(), st.floats(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                         max_size=3),
    st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=2), max_leaves=60))
RECIPE_PATHS = [("sample",), ("sample", "id"), ("sample", "diameter"), ("sample", "wavelength"),
                ("sample", "temperature"), ("sample", "limits"),
                *[("sample", "limits", key) for key in (
                    "max_current", "max_voltage", "max_reverse_voltage", "max_pulse_current",
                    "max_duty_cycle", "ramp_step", "colour")],
                ("steps",), ("steps", 0), ("steps", 0, "sequence"), ("steps", 0, "name"),
                ("steps", 0, "params"), ("steps", 0, "on_error"), ("steps", 0, "limits"),
                ("steps", 0, "limits", "peak_eqe"),
                *[("steps", 0, "params", key) for key in (
                    "start", "stop", "points", "spacing", "voltage_limit", "nplc", "unknown")]]
STATION_PATHS = [("name",), ("record_io",), ("fallback",), ("instruments",),
                 ("instruments", "smu"), ("instruments", "smu", "driver"),
                 ("instruments", "smu", "resource"), ("instruments", "smu", "simulated"),
                 ("instruments", "smu", "fallback"), ("simulation",), ("setup",),
                 ("simulation", "chip"), ("simulation", "chip", "diameter"),
                 ("simulation", "initial_state")]


def mutated(base: dict, path: tuple, value) -> dict:
    document = json.loads(json.dumps(base))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def dumpable(document) -> str | None:
    try:
        return yaml.safe_dump(document, allow_unicode=True)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None


GENERATED = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])


@GENERATED
@given(path=st.sampled_from(RECIPE_PATHS), value=HOSTILE)
def test_generated_hostile_recipes(tmp_path, path, value):
    text = dumpable(mutated(RECIPE, path, value))
    if text is not None:
        ending = run_recipe(tmp_path, text)
        assert ending.kind in ("clean", "accepted"), ending.err


@GENERATED
@given(path=st.sampled_from(STATION_PATHS), value=HOSTILE)
def test_generated_hostile_stations(tmp_path, path, value):
    text = dumpable(mutated(builtin_station_config(), path, value))
    if text is not None:
        ending = run_recipe(tmp_path, RECIPE, station=text)
        assert ending.kind in ("clean", "accepted"), ending.err


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(how=st.sampled_from(list(CORRUPTIONS)), command=st.sampled_from(list(COMMANDS)),
       cut=st.one_of(st.none(), st.floats(0.0, 1.0)))
def test_generated_corrupted_run_files(good_run, tmp_path, how, command, cut):
    path = corrupted(good_run, tmp_path, how)
    if cut is not None:
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * cut)])
    ending = run_file_command(command, path, tmp_path)
    assert ending.kind in ("clean", "answered"), ending.err


# -- through the console script -------------------------------------------------------------------
@pytest.mark.parametrize("case", ["alias-bomb", "nested-1000", "non-utf8", "duplicate-limit"])
def test_console_script_refuses_in_one_line(case, tmp_path):
    script = shutil.which("bench") or str(Path(sys.executable).parent / "bench")
    recipe = write(tmp_path / "recipe.yaml", RECIPE_CASES[case][0])
    done = subprocess.run([script, "run", recipe, "-o", str(tmp_path / "run.h5")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "run.h5").exists()


def test_console_script_on_a_fifo_run_file(tmp_path):
    script = shutil.which("bench") or str(Path(sys.executable).parent / "bench")
    os.mkfifo(tmp_path / "run.h5")
    done = subprocess.run([script, "show", str(tmp_path / "run.h5")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "not a regular file" in done.stderr


def test_zz_tally_has_no_tracebacks_and_no_hangs(capsys):
    """Printed with -s; zero tracebacks, hangs and unclear endings over every case above."""
    with capsys.disabled():
        print(f"\nhostile inputs: {dict(TALLY)}")
    assert TALLY["traceback"] == 0 and TALLY["hang"] == 0 and TALLY["unclear"] == 0
