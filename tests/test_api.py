"""bench.api: open_run gives the file's arrays and metadata; summarize tabulates runs."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from scipy import constants

import bench
from bench.api import format_table, open_run, summarize
from bench.display import format_quantity
from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig
from bench.storage import RunWriter, read_run
from common.errors import RunFileError
from sequences.iv import IV
from sequences.liv import LIV

LIMITS = {"max_current": 10e-3, "max_voltage": 6.0, "max_reverse_voltage": 10.0}


def make_run(path, steps, sample_id="S1"):
    """A small run on the built-in simulated bench; returns the runner's outcome."""
    recipe = parse_recipe({"sample": {"id": sample_id, "diameter": 20e-6,
                                      "wavelength": 450e-9, "limits": LIMITS},
                           "steps": steps})
    outcome = Runner(StationConfig.load(None), recipe, path).run()
    assert outcome.status == "completed", outcome.reason
    return outcome


LIV_STEP = {"sequence": "liv", "params": {"points": 10, "settle": 0},
            "limits": {"peak_eqe": [0.01, None]}}
IV_STEP = {"sequence": "iv", "params": {"points": 10}, "limits": {"forward_voltage": [None, 1.0]}}


@pytest.fixture(scope="module")
def liv_iv_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "run.h5"
    make_run(path, [LIV_STEP, IV_STEP])
    return path


def test_package_exports_the_api():
    assert bench.open_run is open_run and bench.summarize is summarize
    assert isinstance(bench.__version__, str) and bench.__version__


def test_open_run_arrays_equal_what_h5py_reads(liv_iv_run):
    run = open_run(liv_iv_run)
    with h5py.File(liv_iv_run, "r") as f:
        assert run.run_id == f.attrs["run_id"] and run.status == f.attrs["status"]
        assert run.simulated is True and bool(f.attrs["simulated"])
        assert list(run.steps) == ["liv", "iv"]
        for key, group in f["steps"].items():
            step = run.steps[group.attrs["name"]]
            assert step.sequence == group.attrs["sequence"]
            assert step.params == json.loads(group.attrs["params"])
            assert set(step.data) == set(group["data"])
            for name, ds in group["data"].items():
                assert step.data[name].dtype == ds.dtype, (key, name)
                assert np.array_equal(step.data[name], ds[()]), (key, name)
                assert step.units[name] == ds.attrs["units"]
            assert set(step.analysis) == set(group.get("analysis", {}))
            for name, ds in group.get("analysis", {}).items():
                assert np.array_equal(step.analysis[name], ds[()], equal_nan=True), (key, name)
                assert step.analysis_units[name] == ds.attrs["units"]
                assert set(ds.attrs) == {"units"}
            assert set(step.results) == set(group["results"])
            for name, ds in group["results"].items():
                assert step.results[name]["value"] == ds[()]
                assert step.results[name]["units"] == ds.attrs["units"]
        assert run.sample == json.loads(f["sample"].attrs["json"])
        assert set(run.station["instruments"]) == set(f["station/instruments"])


def test_open_run_against_what_the_sequences_declare(liv_iv_run):
    run = open_run(liv_iv_run)
    liv, iv = run.steps["liv"], run.steps["iv"]
    assert liv.units == LIV.columns
    assert iv.units == IV.column_units(iv.params)
    params = LIV.resolve({"points": 10, "settle": 0})
    assert liv.params == params
    assert np.allclose(liv.data["set_current"], LIV.levels(params), rtol=1e-12)
    assert liv.data["current"].shape == (10,)
    assert run.sample["id"] == "S1" and run.sample["diameter"] == 20e-6
    assert run.station["instruments"]["smu"]["driver"] == "keithley2450"
    # limits and verdicts of the recipe
    assert liv.results["peak_eqe"]["low"] == 0.01 and liv.results["peak_eqe"]["passed"] is True
    assert iv.results["forward_voltage"]["passed"] is False
    assert run.results()["liv"]["peak_eqe"] == liv.results["peak_eqe"]["value"]


def test_liv_derived_arrays_follow_from_the_stored_raw_columns(liv_iv_run):
    run = open_run(liv_iv_run)
    liv, iv = run.steps["liv"], run.steps["iv"]
    current, voltage, power = (liv.data[k] for k in ("current", "voltage", "optical_power"))
    wavelength, diameter = run.sample["wavelength"], run.sample["diameter"]
    photons_per_electron = power * constants.e * wavelength / (current * constants.h
                                                                * constants.c)
    np.testing.assert_allclose(liv.analysis["eqe"], photons_per_electron, rtol=1e-12)
    np.testing.assert_allclose(liv.analysis["wpe"], power / (current * voltage), rtol=1e-12)
    np.testing.assert_allclose(liv.analysis["current_density"],
                               current / (np.pi * diameter**2 / 4), rtol=1e-12)
    assert liv.analysis_units == {"current_density": "A/m^2", "eqe": "1", "wpe": "1"}
    assert np.nanmax(liv.analysis["eqe"]) == pytest.approx(liv.results["peak_eqe"]["value"],
                                                          rel=0.05)
    assert iv.analysis == {}  # iv derives no arrays


def test_summarize_folder_of_two_runs(tmp_path):
    make_run(tmp_path / "a.h5", [LIV_STEP], sample_id="chip-A")
    make_run(tmp_path / "b.h5", [IV_STEP], sample_id="chip-B")
    (tmp_path / "notes.txt").write_text("not a run")
    rows = summarize(tmp_path)
    assert len(rows) == 2
    for row, name, sample_id, step in ((rows[0], "a.h5", "chip-A", "liv"),
                                       (rows[1], "b.h5", "chip-B", "iv")):
        with h5py.File(tmp_path / name, "r") as f:
            assert row["run_id"] == f.attrs["run_id"]
            results = next(iter(f["steps"].values()))["results"]
            for result, ds in results.items():
                assert row[result] == ds[()], result
                assert rows.units[result] == ds.attrs["units"]
        assert (row["sample_id"], row["step"], row["sequence"]) == (sample_id, step, step)
        assert row["status"] == row["step_status"] == "completed" and row["simulated"] is True
    assert rows[0]["passed"] is True and rows[1]["passed"] is False
    assert "peak_eqe" not in rows[1]
    assert summarize([tmp_path / "b.h5", tmp_path / "a.h5"])[0]["sample_id"] == "chip-B"
    assert len(summarize(tmp_path / "a.h5")) == 1


def test_summarize_refuses_or_skips_a_file_that_is_not_a_run(tmp_path):
    make_run(tmp_path / "a.h5", [IV_STEP])
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(RunFileError, match="not a microled-bench run file"):
        summarize(tmp_path)
    with pytest.warns(UserWarning, match="other.h5"):
        rows = summarize(tmp_path, skip_unreadable=True)
    assert [row["step"] for row in rows] == ["iv"]


def test_table_shows_display_units(tmp_path):
    make_run(tmp_path / "a.h5", [LIV_STEP])
    rows = summarize(tmp_path)
    text = format_table(rows)
    header, rule, line = text.splitlines()
    assert header.split()[:3] == ["run_id", "status", "simulated"]
    assert set(rule) == {"-"}
    density = rows[0]["current_density_at_peak_eqe"]
    assert f"{density * 1e-4:.4g} A/cm^2" in line
    assert format_quantity(rows[0]["forward_voltage"], "V") in line
    assert str(rows) == text
    picked = format_table(rows, columns=["step", "peak_eqe"]).splitlines()
    assert picked[0].split() == ["step", "peak_eqe"]
    assert picked[2].split() == ["liv", f"{rows[0]['peak_eqe']:.4g}"]


def test_unfinished_run_keeps_raw_and_derived_arrays_apart(tmp_path):
    """A file whose writer stopped mid-step still reads; a name in both ``data`` and ``analysis``
    comes back twice, each with its own values and units."""
    path = tmp_path / "unfinished.h5"
    writer = RunWriter(path)
    writer.start_run(run_id="r1", software_version="test", simulated=True,
                     station={"name": "s", "instruments": {}}, sample={"id": "x"}, recipe={})
    writer.start_step(0, "pulse", "pulse_response", {"width": 1e-9}, {})
    waveform = np.arange(12, dtype=np.int16).reshape(3, 4)
    writer.write_array("waveform", waveform, "1", {"y_increment": 1e-3})
    writer.write_array("level", np.array([1.0, 2.0]), "A")
    writer.write_array("level", np.array([0.5, 0.7, 0.9]), "W", group="analysis")
    writer.close()  # no end_step / end_run: as after a crash
    run = open_run(path)
    assert run.status in ("running", "interrupted")
    step = run.steps["pulse"]
    assert step.status == "running" and step.params == {"width": 1e-9}
    assert np.array_equal(step.data["waveform"], waveform)
    assert step.data["waveform"].dtype == np.int16
    assert step.units["waveform"] == "1" and step.attrs["waveform"]["y_increment"] == 1e-3
    assert set(step.data) == {"waveform", "level"} and set(step.analysis) == {"level"}
    assert np.array_equal(step.data["level"], [1.0, 2.0]) and step.units["level"] == "A"
    assert np.array_equal(step.analysis["level"], [0.5, 0.7, 0.9])
    assert step.analysis_units == {"level": "W"}
    rows = summarize(path)
    assert rows[0]["status"] == run.status and rows[0]["step_status"] == "running"
    assert rows[0]["passed"] is None


def test_open_run_errors(tmp_path):
    with pytest.raises(RunFileError, match="no such file"):
        open_run(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(RunFileError, match="not a readable run file"):
        open_run(tmp_path / "text.h5")


def test_notebook_reprs_are_short_names_shapes_and_results(liv_iv_run):
    run = open_run(liv_iv_run)
    step = next(iter(run.steps.values()))
    text = repr(step)
    assert len(text) < 1200 and "array(" not in text and "\n" not in text
    assert step.name in text and step.status in text
    for name, values in step.data.items():  # every raw array by name and shape, no values
        assert f"{name}: {values.shape}" in text
    for name, result in step.results.items():
        assert f"{name}={result['value']:.4g}" in text
    assert repr(run).startswith(f"<Run {run.run_id} ") and len(repr(run)) < 300


def test_step_frame_is_the_stored_arrays_with_units_in_the_names(liv_iv_run):
    run = open_run(liv_iv_run)
    with h5py.File(liv_iv_run, "r") as f:
        for group in f["steps"].values():
            step = run.steps[group.attrs["name"]]
            frame = step.frame()
            assert list(frame.columns) == [f"{name} [{ds.attrs['units']}]"
                                           for name, ds in group["data"].items()]
            for name, ds in group["data"].items():
                assert np.array_equal(frame[f"{name} [{ds.attrs['units']}]"].to_numpy(), ds[()])
            derived = step.frame(derived=True)
            assert list(derived.columns) == [f"{name} [{ds.attrs['units']}]" for name, ds
                                             in group.get("analysis", {}).items()]
            for name, ds in group.get("analysis", {}).items():
                assert np.array_equal(derived[f"{name} [{ds.attrs['units']}]"].to_numpy(),
                                      ds[()], equal_nan=True)
    assert list(run.steps["liv"].tables()) == ["00_liv_data"]
    assert run.steps["iv"].frame(derived=True).empty  # iv derives no arrays


def test_summarize_frame_one_row_per_step_units_in_the_names(tmp_path):
    make_run(tmp_path / "a.h5", [LIV_STEP, IV_STEP], sample_id="chip-A")
    make_run(tmp_path / "b.h5", [IV_STEP], sample_id="chip-B")
    frame = summarize(tmp_path).frame()
    assert len(frame) == 3
    assert list(frame["sample_id"]) == ["chip-A", "chip-A", "chip-B"]
    assert list(frame["step"]) == ["liv", "iv", "iv"]
    assert list(frame["passed"]) == [True, False, False]
    row = 0
    for name in ("a.h5", "b.h5"):
        with h5py.File(tmp_path / name, "r") as f:
            for group in f["steps"].values():
                assert frame.loc[row, "run_id"] == f.attrs["run_id"]
                assert frame.loc[row, "sequence"] == group.attrs["sequence"]
                for result, ds in group["results"].items():
                    units = ds.attrs["units"]
                    assert frame.loc[row, f"{result} [{units}]" if units else result] == ds[()]
                row += 1
    assert np.isnan(frame.loc[1, "peak_eqe [1]"])  # iv has no EQE


def test_summarize_carries_each_result_s_conditions(monkeypatch, liv_iv_run):
    """Results may carry conditions (issue 10); older files have none."""
    record = read_run(liv_iv_run)
    liv = record.steps[0]
    liv.results["droop"]["conditions"] = {"current_density": {"value": 5e6,
                                                              "units": "A/m^2"}}
    monkeypatch.setattr("bench.api.read_run", lambda path: record)
    rows = summarize("run.h5")
    assert rows[0]["droop @ current_density"] == 5e6
    assert rows.units["droop @ current_density"] == "A/m^2"
    frame = rows.frame()
    assert frame.loc[0, "droop @ current_density [A/m^2]"] == 5e6
    assert np.isnan(frame.loc[1, "droop @ current_density [A/m^2]"])
