"""``array-map`` and ``align`` on the simulated bench, against the simulation's own truth: the
seeded faulty emitters, the emitters' drawn spreads, the hidden coupling optimum and the
closed-form 1 dB tolerance of the Gaussian overlap; switching only with the SMU off, from the
simulated instruments' own command log; a map killed half-way and resumed."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import yaml

from bench.cli import main
from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig
from bench.storage import read_run
from sequences.array_map import CLASSES
from sim_instruments.array import EmitterArray
from sim_instruments.chip import ChipParameters

ROWS, COLUMNS = 4, 8
ARRAY = {"rows": ROWS, "columns": COLUMNS, "seed": 5,
         "spread": {"efficiency": 0.05, "forward_voltage": 0.02},
         "dead": [[0, 2], [3, 5]], "shorted": [[2, 3]], "leaky": [[1, 7], [3, 0]]}
STATION = {
    "name": "array bench",
    "instruments": {
        "smu": {"driver": "keithley2450", "resource": "USB0::0x05E6::0x2450::04400001::INSTR",
                "simulated": True},
        "power_meter": {"driver": "thorlabs_pm100d",
                        "resource": "USB0::0x1313::0x8078::P0012345::INSTR", "simulated": True},
        "switch": {"driver": "keysight_34980a", "resource": "TCPIP0::192.168.1.30::inst0::INSTR",
                   "simulated": True, "options": {"rows": ROWS, "columns": COLUMNS}}},
    "simulation": {"array": ARRAY}}
SAMPLE = {"id": "array", "diameter": 20e-6, "wavelength": 450e-9,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0, "max_reverse_voltage": 5.0}}
# -2 V: a leak_resistance of 1 Mohm leaks 2 uA, 2000x the leakage_limit; fewer ramp levels
MAP = {"sequence": "array-map", "name": "map",
       "params": {"rows": ROWS, "columns": COLUMNS, "reverse_voltage": -2.0, "settle": 0.0}}


def run(tmp_path, steps, station=STATION, name="run.h5"):
    recipe = parse_recipe({"sample": SAMPLE, "steps": steps})
    outcome = Runner(StationConfig.from_mapping(station), recipe, tmp_path / name).run()
    assert outcome.status == "completed", outcome.reason
    return read_run(tmp_path / name)


def classes_found(step) -> dict[str, list[list[int]]]:
    classes = step.analysis["classification_map"]
    return {name: sorted([int(r), int(c)] for r, c in zip(*np.nonzero(classes == code),
                                                           strict=True))
            for code, name in enumerate(CLASSES)}


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    from conftest import record_stations

    monkeypatch = pytest.MonkeyPatch()
    stations = record_stations(monkeypatch)
    try:
        record = run(tmp_path_factory.mktemp("map"), [MAP])
    finally:
        monkeypatch.undo()
    return record.steps[0], stations[0].world


def test_array_map_finds_exactly_the_seeded_dead_shorted_and_leaky_emitters(mapped):
    step, _ = mapped
    found = classes_found(step)
    assert found["dead"] == sorted(ARRAY["dead"])
    assert found["short"] == ARRAY["shorted"]
    assert found["leaky"] == sorted(ARRAY["leaky"])
    assert found["weak"] == []
    results = {name: r["value"] for name, r in step.results.items()}
    assert (results["dead_count"], results["short_count"], results["leaky_count"]) == (2, 1, 2)
    assert results["yield"] == pytest.approx(27 / 32)
    assert step.data["row"].size == ROWS * COLUMNS
    for name in ("forward_voltage_map", "optical_power_map", "reverse_current_map"):
        assert step.analysis[name].shape == (ROWS, COLUMNS)


def test_array_map_cvs_are_those_of_the_simulated_emitters_spread(mapped):
    """P at a fixed current scales with the drawn extraction efficiency, Vf with the drawn
    forward-voltage factor (sim_instruments/array.py): the CVs over the good emitters are
    those of the drawn factors (the configured spread, as sampled by 27 emitters)."""
    step, _ = mapped
    truth = EmitterArray.from_config(ARRAY, ChipParameters())
    good = step.analysis["classification_map"] == CLASSES.index("good")

    def cv(values):
        return values.std(ddof=1) / values.mean()
    assert step.results["power_cv"]["value"] == \
        pytest.approx(cv(truth.factors["efficiency"][good]), rel=0.05)
    assert step.results["vf_cv"]["value"] == \
        pytest.approx(cv(truth.factors["forward_voltage"][good]), rel=0.1)
    for name, spread in (("power_cv", 0.05), ("vf_cv", 0.02)):  # the configured spread
        assert step.results[name]["value"] == pytest.approx(spread, rel=0.5)


def test_the_switch_moves_only_with_the_smu_output_off(mapped):
    _, world = mapped
    on, closes = False, 0
    for instrument, command in world.commands:
        text = command.upper()
        if instrument == "smu" and text.startswith(":OUTP"):
            on = text.rstrip().endswith(("ON", "1")) and "?" not in text
        if instrument == "switch" and text.startswith("ROUT") and "?" not in text:
            assert not on, f"{command!r} with the SMU output on"
            closes += text.startswith(("ROUT:CLOS", "ROUTE:CLOSE"))
    assert closes == ROWS * COLUMNS


def test_a_map_larger_than_the_switch_is_refused_before_anything_moves(tmp_path, capsys):
    recipe = tmp_path / "big.yaml"
    big = dict(MAP, params={**MAP["params"], "rows": ROWS + 1})
    recipe.write_text(yaml.safe_dump({"sample": SAMPLE, "steps": [big]}))
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump(STATION))
    assert main(["run", str(recipe), "--station", str(station), "-q",
                 "-o", str(tmp_path / "big.h5")]) == 2
    assert "rows" in capsys.readouterr().err


def test_a_map_killed_half_way_and_resumed_gives_the_same_maps(tmp_path, mapped):
    reference, _ = mapped
    recipe, station = tmp_path / "recipe.yaml", tmp_path / "station.yaml"
    # a settle of 20 ms per level: a few emitters per flush of the file, killed well before
    # the end (the simulated chip has no time dependence: the maps are the reference's)
    slow = dict(MAP, params={**MAP["params"], "settle": 0.02})
    recipe.write_text(yaml.safe_dump({"sample": SAMPLE, "steps": [slow]}))
    station.write_text(yaml.safe_dump(STATION))
    out = tmp_path / "killed.h5"
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bench.cli import main; sys.exit(main())",
         "run", str(recipe), "--station", str(station), "-q", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while rows_in(out) < ROWS * COLUMNS // 2:
            assert process.poll() is None, "the map ended before it could be killed"
            assert time.monotonic() < deadline, "the map did not get half-way"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    killed_at = rows_in(out)
    assert ROWS * COLUMNS // 2 <= killed_at < ROWS * COLUMNS
    assert main(["run", "--resume", str(out), "-q"]) == 0
    step = read_run(out).steps[0]
    assert step.status == "completed"
    assert step.data["row"].size == ROWS * COLUMNS  # every emitter once: none re-tested
    pairs = set(zip(step.data["row"].tolist(), step.data["column"].tolist(), strict=True))
    assert len(pairs) == ROWS * COLUMNS
    assert classes_found(step) == classes_found(reference)
    # within the instruments' noise: 1e-3 relative, and the power meter's dark floor
    for name, atol in (("forward_voltage_map", 0.0), ("optical_power_map", 1e-9)):
        np.testing.assert_allclose(step.analysis[name], reference.analysis[name], rtol=0.01,
                                   atol=atol)
    for name in ("yield", "dead_count", "short_count", "leaky_count"):
        assert step.results[name]["value"] == reference.results[name]["value"]
    assert math.isclose(step.results["power_cv"]["value"],
                        reference.results["power_cv"]["value"], rel_tol=0.05)


def rows_in(path) -> int:
    """Emitter rows in a map being written (read without locking; 0 until they exist)."""
    for _ in range(50):
        try:
            with h5py.File(path, "r", locking=False) as f:
                steps = f.get("steps")
                group = next(iter(steps.values()), None) if steps is not None else None
                return 0 if group is None or "row" not in group["data"] \
                    else group["data/row"].shape[0]
        except (OSError, KeyError, TypeError):
            time.sleep(0.01)
    return 0



def test_a_32_by_32_map_finds_the_seeded_faults_and_the_configured_spread(tmp_path):
    array = {"rows": 32, "columns": 32, "seed": 9, "dead_rate": 0.01, "shorted_rate": 0.005,
             "leaky_rate": 0.01, "spread": {"efficiency": 0.05, "forward_voltage": 0.01}}
    station = tmp_path / "station.yaml"  # the built-in bench, its switch sized to the array
    station.write_text(yaml.safe_dump({"simulation": {"array": array}}))
    recipe = parse_recipe({"sample": SAMPLE, "steps": [
        {"sequence": "array-map", "params": {"rows": 32, "columns": 32, "settle": 0.0}}]})
    outcome = Runner(StationConfig.load(station), recipe, tmp_path / "full.h5").run()
    assert outcome.status == "completed", outcome.reason
    step = read_run(tmp_path / "full.h5").steps[0]
    truth = EmitterArray.from_config(array, ChipParameters()).faults
    found = classes_found(step)
    for kind, name in (("dead", "dead"), ("shorted", "short"), ("leaky", "leaky")):
        assert found[name] == sorted([r, c] for (r, c), k in truth.items() if k == kind)
    assert step.results["power_cv"]["value"] == pytest.approx(0.05, rel=0.1)
    assert step.results["vf_cv"]["value"] == pytest.approx(0.01, rel=0.1)

# -- align ---------------------------------------------------------------------------------------
PITCH, RADIUS = 50e-6, 2.5e-6
COUPLING = {"optimum": [3.3e-6, -4.2e-6, 12e-6], "mode_field_radius": RADIUS,
            "focus_depth": 20e-6}
ALIGN = {"sequence": "align", "name": "align",
         "params": {"home": True, "row": 1, "column": 0, "center_x": 0.0, "center_y": PITCH,
                    "center_z": 0.0, "span": 30e-6, "coarse_points": 7, "fine_points": 9,
                    "z_span": 80e-6, "z_points": 7}}


def test_align_finds_the_hidden_optimum_and_the_closed_form_1db_tolerance(tmp_path):
    """The built-in bench with an array and a coupling (a station of only a ``simulation:``
    block). Emitter (1, 0)'s optimum is the coupling's shifted by one pitch in y; two equal
    Gaussian modes offset by d couple exp(-d^2 / w^2) (Joyce and DeLoach 1984), 1 dB down at
    d = w sqrt(0.1 ln 10)."""
    array = {"rows": 2, "columns": 2, "pitch": PITCH, "seed": 2}
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump({"simulation": {"array": array, "coupling": COUPLING}}))
    emitter = EmitterArray.from_config(array, ChipParameters()).chip(1, 0)
    emitted = float(emitter.steady_state(np.array([1e-3])).optical_power[0])
    steps = [dict(ALIGN, params={**ALIGN["params"], "emitted_power": emitted})]
    recipe = parse_recipe({"sample": SAMPLE, "steps": steps})
    out = tmp_path / "align.h5"
    outcome = Runner(StationConfig.load(station), recipe, out).run()
    assert outcome.status == "completed", outcome.reason
    step = read_run(out).steps[0]
    results = {name: r["value"] for name, r in step.results.items()}
    x, y, z = COUPLING["optimum"]
    assert abs(results["peak_x"] - x) < 0.5e-6
    assert abs(results["peak_y"] - (y + PITCH)) < 0.5e-6
    assert abs(results["peak_z"] - z) < 5e-6
    one_db = RADIUS * math.sqrt(0.1 * math.log(10))
    for axis in ("x", "y"):
        assert results[f"tolerance_{axis}"] == pytest.approx(one_db, rel=0.1)
    assert results["coupling_efficiency"] == pytest.approx(1.0, abs=0.02)
    assert step.analysis["raster_power"].shape == (7, 7)
    assert step.data["scan"].size == 7 * 7 + 2 * (2 * 9 + 7) + 1
