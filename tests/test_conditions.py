"""Every result carries its conditions: the bias, current density, reference current, bit rate,
modulation it belongs to, in the run file, `bench show` (table and --json) and re-analysis.

Truth is the run's own parameters, the sample's diameter (J = I / (pi d^2 / 4), computed here),
the raw data the file holds and the simulated instruments' own command log.
"""

from __future__ import annotations

import json
import math
import re

import h5py
import numpy as np
import pytest

import bench.runner
from bench.cli import main
from bench.display import format_conditions
from bench.recipe import parse_recipe
from bench.replay import format_report, reanalyse
from bench.runner import Runner, judge
from bench.station import StationConfig
from bench.storage import read_run
from sequences import SEQUENCES
from sequences.eye import Eye

DIAMETER = 20e-6
SAMPLE = {"id": "chip", "diameter": DIAMETER, "wavelength": 450e-9,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0, "max_pulse_current": 20e-3}}
AREA = math.pi * DIAMETER**2 / 4
STEPS = [
    {"sequence": "liv", "params": {"points": 25, "settle": 0.0, "stop": 4e-3,
                                   "reference_current": 2e-3}},
    {"sequence": "iv", "params": {"source": "voltage", "start": -4.0, "stop": 3.0, "points": 36,
                                  "spacing": "lin", "current_limit": 5e-3,
                                  "reverse_voltage": -3.0}},
    {"sequence": "bandwidth", "params": {"bias_currents": [6e-3, 2e-3], "points": 61}},
    {"sequence": "pulse-response", "params": {"acquisitions": 2, "bias_current": 4e-3,
                                              "modulation_current": 1.5e-3}},
    {"sequence": "eye", "params": {"record_bits": 200, "acquisitions": 1, "bit_rate": 1.5e9,
                                   "bias_current": 6e-3, "modulation_current": 3e-3}},
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of every sequence on the built-in simulated bench, and its simulated world."""
    path = tmp_path_factory.mktemp("conditions") / "run.h5"
    opened = []

    class RecordedStation(bench.runner.Station):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    recipe = parse_recipe({"sample": SAMPLE, "steps": STEPS})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bench.runner, "Station", RecordedStation)
        outcome = Runner(StationConfig.load(None), recipe, path).run()
    assert [s.status for s in outcome.steps] == ["completed"] * len(STEPS), \
        [s.reason for s in outcome.steps]
    record = read_run(path)
    return {"path": path, "record": record, "world": opened[0].world,
            "steps": {s.sequence: s for s in record.steps},
            "params": {s["sequence"]: SEQUENCES[s["sequence"]].resolve(s["params"])
                       for s in STEPS}}


def conditions(step, name) -> dict[str, tuple[float, str]]:
    return {c: (v["value"], v["units"]) for c, v in step.results[name]["conditions"].items()}


def vna_biases(world) -> list[float]:
    """The SMU's programmed current at each VNA sweep trigger, from the instruments' log."""
    level, found = None, []
    for name, command in world.commands:
        match = re.fullmatch(r":SOURce:CURRent ([-+0-9.eE]+)", command)
        if name == "smu" and match:
            level = float(match.group(1))
        elif name == "vna" and command == ":TRIGger:SEQuence:SINGle":
            found.append(level)
    return found


# -- every sequence -------------------------------------------------------------------------------
def test_each_result_carries_the_conditions_its_sequence_declares(run):
    for name, step in run["steps"].items():
        declared = SEQUENCES[name].results
        for result, stored in step.results.items():
            assert stored["units"] == declared[result].units, (name, result)
            assert list(stored["conditions"]) == list(declared[result].conditions), \
                (name, result)
            for condition in stored["conditions"].values():
                assert math.isfinite(condition["value"])
                assert condition["units"] in {"A", "A/m^2", "V", "1/s"}


def test_bench_sequences_lists_each_result_with_units_and_definition(capsys):
    for name, sequence in SEQUENCES.items():
        assert main(["sequences", name]) == 0
        lines = capsys.readouterr().out.splitlines()
        start = next(k for k, line in enumerate(lines) if line.startswith("results"))
        rows = {line.split()[0]: line for line in lines[start + 1:]}
        assert list(rows) == list(sequence.results)
        for result, declared in sequence.results.items():
            assert rows[result].split()[1] == (declared.units or "1")
            assert declared.definition in rows[result]
            for condition in declared.conditions:
                assert condition in rows[result].split("[at ")[1]


# -- bandwidth ------------------------------------------------------------------------------------
def test_bandwidth_results_belong_to_the_top_bias_the_vna_step_used(run):
    step, params = run["steps"]["bandwidth"], run["params"]["bandwidth"]
    # the VNA swept at each programmed bias; the figures are those of the highest one
    assert vna_biases(run["world"]) == params["bias_currents"]
    top = int(np.argmax(params["bias_currents"]))
    measured = step.data["current"][top]  # the SMU's reading at that bias, as stored
    for name in ("f3db", "f3db_optical", "differential_lifetime"):
        at = conditions(step, name)
        assert at["bias_current"] == (measured, "A")
        assert at["bias_current"][0] == pytest.approx(max(params["bias_currents"]), rel=5e-3)
        assert at["current_density"][1] == "A/m^2"
        assert at["current_density"][0] == pytest.approx(measured / AREA, rel=1e-12)
        # the per-bias figures stay derived arrays; the scalar is the one at that bias
        assert step.results[name]["value"] == step.analysis[f"{name}_per_bias"][top]
    assert step.results["rc_time_constant"]["conditions"] == {}


# -- DC sweeps ------------------------------------------------------------------------------------
def test_liv_droop_is_at_the_top_current_and_vf_at_its_reference(run):
    step, params = run["steps"]["liv"], run["params"]["liv"]
    top = float(np.max(step.data["current"]))
    assert top == pytest.approx(params["stop"], rel=5e-3)
    assert conditions(step, "droop") == {"current_density": (
        pytest.approx(top / AREA, rel=1e-12), "A/m^2")}
    assert conditions(step, "forward_voltage") == {"reference_current": (2e-3, "A")}
    # the peak's condition is where the peak is: the current density result beside it
    assert conditions(step, "peak_eqe")["current_density"][0] == \
        step.results["current_density_at_peak_eqe"]["value"]
    assert step.results["max_optical_power"]["conditions"] == {}


def test_iv_reverse_leakage_at_its_reverse_voltage(run):
    step = run["steps"]["iv"]
    assert conditions(step, "reverse_leakage") == {"reverse_voltage": (-3.0, "V")}
    assert conditions(step, "forward_voltage") == {"reference_current": (1e-3, "A")}


# -- eye and pulse --------------------------------------------------------------------------------
def test_eye_results_carry_bit_rate_bias_and_modulation(run):
    step, params = run["steps"]["eye"], run["params"]["eye"]
    bias = float(np.mean(step.data["current"]))  # the SMU's reading during the pattern
    assert bias == pytest.approx(params["bias_current"], rel=5e-3)
    expected = {"bit_rate": (1.5e9, "1/s"), "bias_current": (bias, "A"),
                "modulation_current": (3e-3, "A")}
    for name in set(Eye.results) - {"differential_resistance"}:
        assert conditions(step, name) == expected, name
    secant = step.data["secant_current"]
    assert conditions(step, "differential_resistance") == {
        "bias_current": (pytest.approx((secant[0] + secant[1]) / 2, rel=1e-12), "A")}


def test_extinction_ratio_also_in_db(run):
    results = run["steps"]["eye"].results
    ratio = results["extinction_ratio"]["value"]
    assert ratio > 1
    assert results["extinction_ratio_db"]["value"] == pytest.approx(10 * math.log10(ratio),
                                                                    rel=1e-12)
    assert results["extinction_ratio_db"]["units"] == "dB"


def test_pulse_response_results_carry_bias_and_step(run):
    step = run["steps"]["pulse-response"]
    at = conditions(step, "rise_time")
    assert at["bias_current"][0] == pytest.approx(4e-3, rel=5e-3)
    assert at["bias_current"][0] == float(np.mean(step.data["current"]))
    assert at["modulation_current"] == (1.5e-3, "A")


# -- the file, bench show, --json -----------------------------------------------------------------
def test_the_file_holds_conditions_as_json_attributes(run):
    with h5py.File(run["path"], "r") as f:
        group = next(g for g in f["steps"].values() if g.attrs["sequence"] == "bandwidth")
        stored = json.loads(group["results/f3db"].attrs["conditions"])
        assert "conditions" not in group["results/rc_time_constant"].attrs  # none: absent
    step = run["steps"]["bandwidth"]
    assert stored == step.results["f3db"]["conditions"]
    assert set(stored) == {"bias_current", "current_density"}


def test_show_json_carries_the_conditions(run, capsys):
    assert main(["show", str(run["path"]), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for shown, step in zip(doc["steps"], run["record"].steps, strict=True):
        for name, result in shown["results"].items():
            assert result["conditions"] == step.results[name]["conditions"]
    eye = next(s for s in doc["steps"] if s["sequence"] == "eye")
    assert eye["results"]["q_factor"]["conditions"]["bit_rate"] == {"value": 1.5e9,
                                                                   "units": "1/s"}


def table_rows(text: str) -> dict[tuple[str, str], str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("step "))
    assert re.match(r"step\s+result\s+value\s+conditions\s+limits", lines[start])
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        words = line.split()
        rows[(words[0], words[1])] = line
    return rows


def test_show_table_has_a_compact_conditions_column(run, capsys):
    assert main(["show", str(run["path"])]) == 0
    rows = table_rows(capsys.readouterr().out)
    bandwidth = run["steps"]["bandwidth"]
    bias = bandwidth.data["current"][int(np.argmax(bandwidth.data["bias_current"]))]
    # display units, said in the cell: mA and A/cm^2 (1 A/cm^2 = 1e4 A/m^2)
    assert rows[("bandwidth", "f3db")].endswith(
        f"at {bias * 1e3:.4g} mA, {bias / AREA * 1e-4:.4g} A/cm^2")
    liv_top = float(np.max(run["steps"]["liv"].data["current"]))
    assert rows[("liv", "droop")].endswith(f"at {liv_top / AREA * 1e-4:.4g} A/cm^2")
    assert rows[("liv", "forward_voltage")].endswith("at 2 mA")
    eye_bias = float(np.mean(run["steps"]["eye"].data["current"]))
    assert re.search(rf" dB\s+at 1\.5 Gb/s, bias {eye_bias * 1e3:.4g} mA, modulation 3 mA$",
                     rows[("eye", "extinction_ratio_db")])
    assert rows[("iv", "reverse_leakage")].endswith("at -3 V")
    assert re.search(r"ps$", rows[("bandwidth", "rc_time_constant")])  # no conditions


def test_format_conditions():
    assert format_conditions({}) == format_conditions(None) == ""
    assert format_conditions({"bias_current": {"value": 5e-3, "units": "A"},
                              "current_density": {"value": 1.59e7, "units": "A/m^2"}}) == \
        "at 5 mA, 1590 A/cm^2"
    assert format_conditions({"bit_rate": {"value": 2e9, "units": "1/s"},
                              "bias_current": {"value": 1e-4, "units": "A"},
                              "modulation_current": {"value": 6e-5, "units": "A"}}) == \
        "at 2 Gb/s, bias 100 uA, modulation 60 uA"
    assert format_conditions({"reference_current": {"value": None, "units": "A"}}) == "at -"


def test_judge_keeps_the_conditions():
    judged = judge({"f3db": (3e8, "Hz", {"bias_current": (5e-3, "A")}),
                    "fit_rms": (0.1, "dB", {})}, {"f3db": (1e8, None), "droop": (None, 0.5)})
    assert judged["f3db"]["conditions"] == {"bias_current": {"value": 5e-3, "units": "A"}}
    assert judged["f3db"]["passed"] is True
    assert judged["fit_rms"]["conditions"] == {}
    assert judged["droop"]["conditions"] == {} and judged["droop"]["passed"] is False


# -- older files, damaged files, re-analysis ------------------------------------------------------
def strip_conditions(source, target) -> None:
    """A copy of a run file as it was written before results carried conditions."""
    target.write_bytes(source.read_bytes())
    with h5py.File(target, "r+") as f:
        for group in f["steps"].values():
            for result in group["results"].values():
                if "conditions" in result.attrs:
                    del result.attrs["conditions"]


def test_an_older_file_without_conditions_still_shows(run, tmp_path, capsys):
    old = tmp_path / "old.h5"
    strip_conditions(run["path"], old)
    record = read_run(old)
    assert all(r["conditions"] == {} for s in record.steps for r in s.results.values())
    assert main(["show", str(old)]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert rows[("liv", "forward_voltage")].endswith(" V")  # the value, and nothing after it
    assert main(["show", str(old), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert all(r["conditions"] == {} for s in doc["steps"] for r in s["results"].values())
    # re-analysed with the current code, the conditions appear, and that is a difference
    report = reanalyse(old, tmp_path / "new.h5")
    assert not report.identical
    text = format_report(report)
    assert re.search(r"liv\s+forward_voltage .* conditions changed \(at 2 mA\)", text)
    fresh = read_run(tmp_path / "new.h5")
    assert [s.results for s in fresh.steps] == [s.results for s in run["record"].steps]


def test_reanalysis_compares_conditions(run, tmp_path, monkeypatch):
    assert reanalyse(run["path"]).identical
    original = Eye.analyse.__func__

    def other_rate(cls, data, params, sample):
        figures = original(cls, data, params, sample)
        value, units, at = figures["q_factor"]
        figures["q_factor"] = (value, units, {**at, "bit_rate": (2e9, "1/s")})
        return figures

    monkeypatch.setattr(Eye, "analyse", classmethod(other_rate))
    report = reanalyse(run["path"])
    assert not report.identical
    assert re.search(r"eye\s+q_factor .*conditions changed \(at 2 Gb/s, bias",
                     format_report(report))
    changed = [(s.name, n) for s in report.steps for n in s.replayed
               if s.replayed[n] != s.stored[n]]
    assert changed == [("eye", "q_factor")]


@pytest.mark.parametrize("damage", ['[1, 2]', '{"bias_current": 5}', 'not json',
                                    '{"bias_current": {"value": "5 mA", "units": "A"}}'])
def test_damaged_conditions_are_refused_in_one_line(run, tmp_path, capsys, damage):
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(run["path"].read_bytes())
    with h5py.File(damaged, "r+") as f:
        next(iter(f["steps"].values()))["results/forward_voltage"].attrs["conditions"] = damage
    assert main(["show", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable run file" in err
