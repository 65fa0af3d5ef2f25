"""The simulated DC bench end to end: station file -> recipe -> `bench run` -> HDF5 -> `bench show`.

Known truth is the simulated chip configured in each station file: the figures extracted from the
measured data must give back its parameters.
"""

from __future__ import annotations

import json
import math
import re

import h5py
import numpy as np
import pytest
from conftest import record_stations

import bench
import bench.display
import bench.runner
from bench.cli import main
from bench.storage import FORMAT_NAME, FORMAT_VERSION
from bench.yamlio import parse_yaml
from sequences.liv import LIV
from sim_instruments.chip import ChipParameters, MicroLED

# Two chips with a realistic 2.5-3.5 V forward voltage at 1 mA. The 50 um chip spreads its heat
# over a larger area: R_th scaled ~ 1/D from the 20 um default (1000 K/W). Self-heating lowers the
# apparent series resistance by |dV/dT| R_th V ~ 5 ohm, so a hotter 40 ohm chip would read low.
CHIPS = {
    "default": {},
    "large": {"diameter": 50e-6, "a_coeff": 3e7, "b_coeff": 2e-17, "c_coeff": 2e-42,
              "series_resistance": 40.0, "ideality_factor": 3.0, "saturation_current": 1e-20,
              "thermal_resistance": 400.0},
}
SWEEP = {"start": 1e-6, "stop": 10e-3, "points": 60}
LIMITS = {"max_current": 20e-3, "max_voltage": 6.0}
TOLERANCE = 0.10


def sample_of(params: ChipParameters, limits=None) -> dict:
    return {"id": "chip-under-test", "diameter": params.diameter,
            "wavelength": params.wavelength, "temperature": params.ambient_temperature,
            "limits": dict(limits or LIMITS)}


@pytest.fixture(scope="module", params=list(CHIPS))
def chip_run(request, tmp_path_factory):
    """One `bench run RECIPE --station FILE -o OUT` of a liv and an iv step on one chip."""
    chip = CHIPS[request.param]
    params = ChipParameters(**chip)
    folder = tmp_path_factory.mktemp(request.param)
    station = folder / "station.yaml"
    station.write_text(json.dumps({"simulation": {"chip": chip}}))  # JSON is YAML
    recipe = folder / "recipe.yaml"
    recipe.write_text(json.dumps({"sample": sample_of(params), "steps": [
        {"sequence": "liv", "params": {**SWEEP, "settle": 0.0}},
        {"sequence": "iv", "params": SWEEP}]}))
    out = folder / "run.h5"
    with pytest.MonkeyPatch.context() as patch:
        stations = record_stations(patch)
        code = main(["run", str(recipe), "--station", str(station), "-o", str(out), "-q"])
    assert code == 0
    (opened,) = stations
    with h5py.File(out, "r") as f:
        results = {f[f"steps/{key}"].attrs["sequence"]: {
            name: float(ds[()]) for name, ds in f[f"steps/{key}/results"].items()}
            for key in f["steps"]}
        data = {f[f"steps/{key}"].attrs["sequence"]: {
            name: ds[()] for name, ds in f[f"steps/{key}/data"].items()} for key in f["steps"]}
    return {"params": params, "chip": MicroLED(params), "results": results, "data": data,
            "world": opened.world}


@pytest.mark.parametrize("sequence", ["liv", "iv"])
def test_diode_parameters_are_recovered(chip_run, sequence):
    params, results = chip_run["params"], chip_run["results"][sequence]
    assert results["series_resistance"] == pytest.approx(params.series_resistance, rel=TOLERANCE)
    assert results["ideality_factor"] == pytest.approx(params.ideality_factor, rel=TOLERANCE)
    truth = chip_run["chip"].steady_state(np.array([1e-3])).voltage[0]
    assert 2.5 < truth < 3.5  # a realistic blue micro-LED
    assert results["forward_voltage"] == pytest.approx(truth, rel=0.01)


def test_peak_eqe_is_the_abc_peak(chip_run):
    p, chip = chip_run["params"], chip_run["chip"]
    analytic = (p.injection_efficiency * p.extraction_efficiency * p.b_coeff
                / (p.b_coeff + 2 * math.sqrt(p.a_coeff * p.c_coeff)))
    peak_current = chip.current_at_peak_eqe()
    # the sweep brackets the peak with room on both sides, so the maximum is a true maximum
    assert SWEEP["start"] * 10 < peak_current < SWEEP["stop"] / 3
    results = chip_run["results"]["liv"]
    assert results["peak_eqe"] == pytest.approx(analytic, rel=TOLERANCE)
    assert results["droop"] > 0.05  # past the peak: the sweep saw the droop
    density = peak_current / p.area
    assert density / 1.5 < results["current_density_at_peak_eqe"] < density * 1.5


def test_raw_data_is_the_chip_seen_through_the_instruments(chip_run):
    chip, data, world = chip_run["chip"], chip_run["data"], chip_run["world"]
    liv = data["liv"]
    levels = np.geomspace(SWEEP["start"], SWEEP["stop"], SWEEP["points"])
    np.testing.assert_allclose(liv["set_current"], levels)
    truth = chip.steady_state(levels)
    np.testing.assert_allclose(liv["voltage"], truth.voltage, rtol=0.006)
    np.testing.assert_allclose(liv["optical_power"], truth.optical_power, rtol=0.006, atol=3e-10)
    np.testing.assert_allclose(data["iv"]["voltage"], truth.voltage, rtol=0.006)
    # never more than the sweep asked for; the source ramps in steps of at most max_current / 10
    history = np.array(world.current_history)
    assert world.max_applied_current == pytest.approx(SWEEP["stop"])
    top = np.flatnonzero(history == SWEEP["stop"])[0]
    liv_part = history[:top + np.flatnonzero(history[top:] == 0.0)[0] + 1]  # up to output off
    assert np.max(np.abs(np.diff(liv_part))) <= LIMITS["max_current"] / 10 + 1e-12
    assert world.drive_current == 0.0  # left off


# -- the CLI and the run file ------------------------------------------------------------------
def table_lines(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("step "))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_run_sequence_prints_progress_table_and_path(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "liv"]) == 0
    out, err = capsys.readouterr()
    assert "SIMULATED" in err
    planned = LIV.resolve({})["points"]
    bar = [line for line in err.splitlines() if line.startswith("liv ")]
    assert re.search(rf"\[#+\] {planned}/{planned} .*completed$", bar[-1])
    assert re.search(rf"\[\.+\] 0/{planned}", bar[0])
    table = table_lines(out)
    assert re.match(r"step\s+result\s+value\s+conditions\s+limits", table[0])
    rows = {line.split()[1]: line for line in table[2:]}
    assert re.search(r"\d V\s+at 1 mA$", rows["forward_voltage"])  # reference_current default
    assert re.search(r"\d ohm$", rows["series_resistance"])
    assert re.search(r"\d (m|u)W$", rows["max_optical_power"])
    assert re.search(r"\d A/cm\^2$", rows["current_density_at_peak_eqe"])
    path = re.search(r"^run file: (\S+)$", out, re.M).group(1)
    assert (tmp_path / path).is_file() and path.startswith("runs/") and path.endswith(".h5")


@pytest.fixture
def judged_run(tmp_path, write_yaml, capsys):
    """A recipe whose limits make one result pass and one fail."""
    params = ChipParameters()
    station = write_yaml("station.yaml", {"simulation": {"chip": {}}})
    recipe = write_yaml("recipe.yaml", {"sample": sample_of(params), "steps": [{
        "sequence": "liv", "name": "liv_room", "params": {**SWEEP, "points": 30, "settle": 0.0},
        "limits": {"peak_eqe": [0.1, None], "forward_voltage": [None, 2.0]}}]})
    out = tmp_path / "judged.h5"
    code = main(["run", recipe, "--station", station, "-o", str(out)])
    printed = capsys.readouterr()
    return {"code": code, "out": printed.out, "err": printed.err, "path": out,
            "recipe": recipe, "station": station}


def test_limits_give_pass_and_fail(judged_run):
    assert judged_run["code"] == 1  # a failed limit fails the run's exit code
    rows = {line.split()[1]: line for line in table_lines(judged_run["out"])[2:]}
    assert rows["peak_eqe"].endswith("PASS") and "[0.1, +inf]" in rows["peak_eqe"]
    assert rows["forward_voltage"].endswith("FAIL") and "[-inf, 2 V]" in rows["forward_voltage"]
    assert not rows["droop"].endswith(("PASS", "FAIL"))
    with h5py.File(judged_run["path"], "r") as f:
        results = f["steps/00_liv_room/results"]
        assert results["peak_eqe"].attrs["passed"] == "pass"
        assert results["peak_eqe"].attrs["low"] == 0.1
        assert np.isnan(results["peak_eqe"].attrs["high"])
        assert results["forward_voltage"].attrs["passed"] == "fail"
        assert results["forward_voltage"].attrs["high"] == 2.0
        assert results["droop"].attrs["passed"] == ""
        assert f.attrs["status"] == "completed"  # the run itself went through


def test_show_prints_the_same_summary(judged_run, capsys):
    assert main(["show", str(judged_run["path"])]) == 0
    shown = capsys.readouterr().out
    assert table_lines(shown) == table_lines(judged_run["out"])
    run_line = next(line for line in judged_run["out"].splitlines() if line.startswith("run "))
    assert shown.splitlines()[0] == run_line
    assert "SIMULATED" in run_line and "sample chip-under-test" in shown


def test_show_json_matches_the_file(judged_run, capsys):
    assert main(["show", str(judged_run["path"]), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"run_id", "status", "simulated", "sample", "steps"} <= set(doc)
    with h5py.File(judged_run["path"], "r") as f:
        assert doc["run_id"] == f.attrs["run_id"]
        assert doc["status"] == f.attrs["status"] == "completed"
        assert doc["simulated"] is True and bool(f.attrs["simulated"])
        assert doc["sample"] == json.loads(f["sample"].attrs["json"])
        for name, group in f["station/instruments"].items():
            assert doc["instruments"][name]["idn"] == group.attrs["idn"]
            assert doc["instruments"][name]["driver"] == group.attrs["driver"]
        groups = list(f["steps"].values())
        assert len(doc["steps"]) == len(groups)
        for step, group in zip(doc["steps"], groups, strict=True):
            assert {"name", "sequence", "status", "results"} <= set(step)
            assert (step["name"], step["sequence"], step["status"]) == (
                group.attrs["name"], group.attrs["sequence"], group.attrs["status"])
            assert set(step["results"]) == set(group["results"])
            for name, result in step["results"].items():
                ds = group["results"][name]
                assert {"value", "units", "passed"} <= set(result)
                assert result["value"] == float(ds[()])  # SI, as stored
                assert result["units"] == ds.attrs["units"]
                assert result["passed"] == {"pass": True, "fail": False, "": None}[
                    ds.attrs["passed"]]
    results = doc["steps"][0]["results"]
    assert results["max_optical_power"]["units"] == "W" and results["max_optical_power"][
        "value"] < 0.1  # watts, not milliwatts
    assert results["current_density_at_peak_eqe"]["units"] == "A/m^2"


def test_run_file_contents(judged_run):
    params = ChipParameters()
    with h5py.File(judged_run["path"], "r") as f:
        a = f.attrs
        assert a["format"] == FORMAT_NAME and a["format_version"] == FORMAT_VERSION
        assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", a["run_id"])
        assert a["software_version"] == bench.__version__
        assert a["started"] and a["ended"] and a["started"] <= a["ended"]
        assert a["status"] == "completed" and a["status_reason"] == ""
        assert bool(a["simulated"]) is True

        station = json.loads(f["station"].attrs["json"])
        assert station["simulation"]["chip"] == params.to_dict()
        smu, meter = f["station/instruments/smu"].attrs, f["station/instruments/power_meter"].attrs
        assert smu["driver"] == "keithley2450" and meter["driver"] == "thorlabs_pm100d"
        assert smu["resource"].startswith("USB0::0x05E6::0x2450")
        assert "MODEL 2450" in smu["idn"] and "PM100D" in meter["idn"]
        assert bool(smu["simulated"]) and bool(meter["simulated"])
        smu_settings = json.loads(smu["settings"])
        assert {"source_function", "voltage_limit", "output"} <= set(smu_settings)
        assert smu_settings["output"] is False
        assert "wavelength_nm" in json.loads(meter["settings"])

        sample = json.loads(f["sample"].attrs["json"])
        assert sample["diameter"] == params.diameter
        assert sample["limits"]["max_current"] == LIMITS["max_current"]
        with open(judged_run["recipe"]) as source:
            assert json.loads(f["recipe"].attrs["json"]) == parse_yaml(source.read())

        step = f["steps/00_liv_room"]
        assert json.loads(step.attrs["params"]) == LIV.resolve(
            {**SWEEP, "points": 30, "settle": 0.0})
        assert json.loads(step.attrs["limits"]) == {"peak_eqe": [0.1, None],
                                                    "forward_voltage": [None, 2.0]}
        assert step.attrs["status"] == "completed"
        units = {name: ds.attrs["units"] for name, ds in step["data"].items()}
        assert units == LIV.columns
        assert all(ds.shape == (30,) for ds in step["data"].values())
        assert all(ds.attrs["units"] for ds in step["results"].values())


def test_fallback_to_simulation_is_loud_and_recorded(tmp_path, write_yaml, capsys):
    station = write_yaml("station.yaml", {"instruments": {
        "smu": {"driver": "keithley2450", "resource": "TCPIP0::192.0.2.1::inst0::INSTR",
                "fallback": "sim"},
        "power_meter": {"driver": "thorlabs_pm100d",
                        "resource": "USB0::0x1313::0x8078::P0012345::INSTR",
                        "simulated": True}}})
    out = tmp_path / "fallback.h5"
    # a station with a real instrument: the sample is given (no default sample, issue 8)
    assert main(["run", "iv", "--station", station, "-o", str(out), "-q", "--sample-id", "d1",
                 "--diameter", "20e-6", "--wavelength", "450e-9", "--max-current", "10e-3",
                 "--max-voltage", "6"]) == 0
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if "FALLBACK" in line]
    assert len(warning) == 1 and "smu" in warning[0] and "192.0.2.1" in warning[0]
    with h5py.File(out, "r") as f:
        assert bool(f.attrs["simulated"])
        smu, meter = f["station/instruments/smu"].attrs, f["station/instruments/power_meter"].attrs
        assert bool(smu["simulated"]) and "SIMULATED FALLBACK" in smu["note"]
        assert smu["resource"] == "TCPIP0::192.0.2.1::inst0::INSTR"
        assert bool(meter["simulated"]) and "FALLBACK" not in meter["note"]


def test_sim_flag_simulates_a_real_station(tmp_path, write_yaml, capsys):
    station = write_yaml("station.yaml", {"instruments": {
        "smu": {"driver": "keithley2450", "resource": "TCPIP0::192.0.2.1::inst0::INSTR"},
        "power_meter": {"driver": "thorlabs_pm100d",
                        "resource": "USB0::0x1313::0x8078::P0012345::INSTR"}}})
    out = tmp_path / "forced.h5"
    assert main(["run", "liv", "--station", station, "--sim", "-o", str(out), "-q"]) == 0
    assert "SIMULATED" in capsys.readouterr().err
    with h5py.File(out, "r") as f:
        assert bool(f.attrs["simulated"])
        for name in ("smu", "power_meter"):
            attrs = f[f"station/instruments/{name}"].attrs
            assert bool(attrs["simulated"]) and attrs["note"] == "simulated (--sim)"


# -- resume keeps its provenance; no made-up sample on real hardware -------------------------------
REAL_STATION = {"instruments": {
    "smu": {"driver": "keithley2450", "resource": "TCPIP0::192.0.2.1::inst0::INSTR"},
    "power_meter": {"driver": "thorlabs_pm100d",
                    "resource": "USB0::0x1313::0x8078::P0012345::INSTR"}}}
TWO_STEPS = {"sample": {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
                        "limits": {"max_current": 10e-3, "max_voltage": 6.0}},
             "steps": [{"sequence": "liv", "name": "first", "params": {"points": 5,
                                                                      "settle": 0.0}},
                       {"sequence": "liv", "name": "second", "params": {"points": 8,
                                                                       "settle": 0.0}}]}


def interrupted_sim_run(tmp_path, write_yaml, monkeypatch):
    """A real station run with --sim, interrupted (Ctrl-C) in its second step."""
    station = write_yaml("station.yaml", REAL_STATION)
    recipe = write_yaml("recipe.yaml", TWO_STEPS)
    out = tmp_path / "run.h5"

    def interrupt(event, payload):
        if event == "progress" and payload["step"] == "second" and payload["done"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(bench.display, "Progress", lambda: interrupt)
    monkeypatch.setattr(bench.cli, "Progress", lambda: interrupt, raising=False)
    assert main(["run", recipe, "--station", station, "--sim", "-o", str(out)]) in (1, 130)
    monkeypatch.undo()
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "aborted" and bool(f.attrs["simulated"])
    return station, out


def test_a_simulated_run_resumes_simulated_without_sim(tmp_path, write_yaml, monkeypatch):
    _, out = interrupted_sim_run(tmp_path, write_yaml, monkeypatch)
    stations = record_stations(monkeypatch)
    assert main(["run", "--resume", str(out), "-q"]) == 0  # no --sim: the run's own choice
    assert stations[0].world is not None  # simulated: the real 192.0.2.1 was never tried
    assert all(inst.simulated for inst in stations[0].instruments.values())
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "completed" and bool(f.attrs["simulated"])
        assert [f["steps"][k].attrs["status"] for k in f["steps"]] == ["completed"] * 2
        # the resumed session's own safe state: it found the SMU off and confirmed it
        found = json.loads(f["station/instruments/smu"].attrs["safe_state"])
        assert found["done"] == "switched off again (read back OFF)"


def test_a_resume_on_other_instruments_is_refused_with_the_differences(
        tmp_path, write_yaml, monkeypatch, capsys):
    _, out = interrupted_sim_run(tmp_path, write_yaml, monkeypatch)
    other = json.loads(json.dumps(REAL_STATION))
    other["instruments"]["smu"]["resource"] = "TCPIP0::192.0.2.9::inst0::INSTR"
    stations = record_stations(monkeypatch)
    before = out.read_bytes()
    code = main(["run", "--resume", str(out), "--station", write_yaml("other.yaml", other),
                 "-q"])
    assert code == 2 and not stations  # refused before anything was opened
    err = capsys.readouterr().err
    assert "smu: resource TCPIP0::192.0.2.9::inst0::INSTR (the run used " \
        "TCPIP0::192.0.2.1::inst0::INSTR)" in err
    assert out.read_bytes() == before  # the interrupted file is untouched


def test_a_resume_finding_another_idn_is_refused_before_any_output_command(
        tmp_path, write_yaml, monkeypatch, capsys):
    _, out = interrupted_sim_run(tmp_path, write_yaml, monkeypatch)
    with h5py.File(out, "r+") as f:  # the run was made with another SMU (serial number)
        f["station/instruments/smu"].attrs["idn"] = "KEITHLEY INSTRUMENTS,MODEL 2450,0000001,1"
    stations = record_stations(monkeypatch)
    assert main(["run", "--resume", str(out), "-q"]) == 2
    assert "smu: *IDN?" in capsys.readouterr().err
    commands = [c for _, c in stations[0].world.commands]
    assert commands and all(c in ("*IDN?", "*CLS") for c in commands)  # identification only
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "aborted"  # still resumable once the right SMU is back


def test_a_real_run_is_never_resumed_simulated(tmp_path, write_yaml, monkeypatch, capsys):
    _, out = interrupted_sim_run(tmp_path, write_yaml, monkeypatch)
    with h5py.File(out, "r+") as f:  # as if the run had been on the real instruments
        f.attrs["simulated"] = False
        for name in f["station/instruments"]:
            f[f"station/instruments/{name}"].attrs["simulated"] = False
    assert main(["run", "--resume", str(out), "--sim", "-q"]) == 2
    assert "smu: simulated now, real in the run" in capsys.readouterr().err


def test_a_sequence_on_real_instruments_needs_the_sample(write_yaml, tmp_path, capsys,
                                                         monkeypatch):
    station = write_yaml("station.yaml", REAL_STATION)
    stations = record_stations(monkeypatch)
    assert main(["run", "liv", "--station", station, "-o", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sample-id" in err[0] and "--max-voltage" in err[0]
    assert not stations and not (tmp_path / "x.h5").exists()
    # a fully simulated bench keeps its default sample
    assert main(["run", "liv", "--station", station, "--sim", "-q",
                 "-o", str(tmp_path / "sim.h5")]) == 0
    with h5py.File(tmp_path / "sim.h5", "r") as f:
        assert f.attrs["sample_id"] == "default-sample"


def test_recoveries_are_stored_per_step(tmp_path):
    from bench.recipe import parse_recipe
    from bench.runner import Runner
    from bench.station import StationConfig

    station = StationConfig.load(None)
    station.simulation = {**station.simulation, "faults": [
        {"instrument": "smu", "kind": "garbled", "at_command": 2, "match": ":READ?"}]}
    steps = [{"sequence": "liv", "name": f"liv{i}", "params": {"points": 4, "settle": 0.0}}
             for i in (1, 2)]
    recipe = parse_recipe({"sample": sample_of(ChipParameters(), LIMITS), "steps": steps})
    events = []
    outcome = Runner(station, recipe, tmp_path / "run.h5",
                     subscribers=[lambda e, p: events.append((e, p))]).run()
    assert outcome.status == "completed", outcome.reason
    ends = [p for e, p in events if e == "step_end"]
    # the second READ? of the first step came back garbled: asked again after a device clear
    assert ends[0]["recoveries"] == {"smu": {"retries": 1, "device_clears": 1}}
    assert ends[1]["recoveries"] == {}  # counts that did not change in a step are not its own
    with h5py.File(tmp_path / "run.h5", "r") as f:
        stored = [json.loads(g.attrs["recoveries"]) for g in f["steps"].values()]
    assert stored == [{"smu": {"retries": 1, "device_clears": 1}}, {}]
