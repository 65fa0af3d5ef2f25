"""bench export: every sequence's run read back in pandas (CSV and Parquet) holds what h5py reads
from the run file; refusals are one line with exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from bench.api import open_run
from bench.cli import main
from bench.export import results_frame
from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig
from bench.storage import RunRecord, StepRecord

LIMITS = {"max_current": 10e-3, "max_voltage": 6.0, "max_reverse_voltage": 10.0}
STEPS = [  # every sequence (both bandwidth paths), small and fast
    {"sequence": "liv", "params": {"points": 10, "settle": 0},
     "limits": {"peak_eqe": [0.01, None]}},
    {"sequence": "iv", "params": {"points": 10}, "limits": {"forward_voltage": [None, 1.0]}},
    {"sequence": "bandwidth", "name": "bw_vna",
     "params": {"method": "vna", "bias_currents": [1e-3, 3e-3]}},
    {"sequence": "bandwidth", "name": "bw_step",
     "params": {"method": "step", "bias_currents": [1e-3, 3e-3]}},
    {"sequence": "pulse-response", "params": {"acquisitions": 2}},
    {"sequence": "eye", "params": {"acquisitions": 2, "record_bits": 300}},
]


@pytest.fixture(scope="module")
def run_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "run.h5"
    recipe = parse_recipe({"sample": {"id": "S1", "diameter": 20e-6, "wavelength": 450e-9,
                                      "limits": LIMITS}, "steps": STEPS})
    outcome = Runner(StationConfig.load(None), recipe, path).run()
    assert outcome.status == "completed", outcome.reason
    return path


def read_tables(folder: Path, fmt: str) -> dict[str, pd.DataFrame]:
    suffix = {"csv": ".csv", "parquet": ".parquet"}[fmt]
    reader = pd.read_csv if fmt == "csv" else pd.read_parquet
    return {path.name[:-len(suffix)]: reader(path) for path in sorted(folder.glob(f"*{suffix}"))}


def name(base: str, units: str) -> str:
    return f"{base} [{units}]" if units else base


def value_columns(base: str, units: str, values: np.ndarray) -> dict[str, np.ndarray]:
    if np.iscomplexobj(values):
        return {name(f"{base} real", units): values.real, name(f"{base} imag", units): values.imag}
    return {name(base, units): values}


def same(column: pd.Series, expected: np.ndarray) -> None:
    got = column.to_numpy()
    assert got.shape == np.shape(expected), column.name
    assert np.array_equal(got, expected, equal_nan=np.issubdtype(got.dtype, np.floating)), \
        column.name


@pytest.fixture(scope="module", params=["csv", "parquet"])
def exported(request, run_file, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"out-{request.param}") / "tables"
    assert main(["export", str(run_file), "-o", str(out), "--format", request.param]) == 0
    return request.param, read_tables(out, request.param)


def test_every_array_reads_back_as_h5py_reads_it(run_file, exported):
    fmt, tables = exported
    checked = 0
    with h5py.File(run_file, "r") as f:
        for key, group in f["steps"].items():
            for kind in ("data", "analysis"):
                mine = {stem: t for stem, t in tables.items() if stem == f"{key}_{kind}"
                        or stem.startswith(f"{key}_{kind}_")}
                two_d = {f"{key}_{kind}_{a}" for a, ds in group.get(kind, {}).items()
                         if ds.ndim == 2}
                side_by_side = {stem: t for stem, t in mine.items() if stem not in two_d}
                for array, ds in group.get(kind, {}).items():
                    values, units = ds[()], ds.attrs["units"]
                    if np.ndim(values) <= 1:  # side by side with the arrays of its length
                        values = np.atleast_1d(values)
                        for col, expected in value_columns(array, units, values).items():
                            holders = [t for t in side_by_side.values()
                                       if col in t and len(t) == len(values)]
                            assert len(holders) == 1, (fmt, key, kind, col)
                            same(holders[0][col], expected)
                            checked += 1
                        continue
                    table = mine[f"{key}_{kind}_{array}"]
                    if "columns" in ds.attrs:  # a preamble: one column per field
                        names = json.loads(ds.attrs["columns"])
                        units_of = json.loads(ds.attrs["column_units"])
                        for k, (field, u) in enumerate(zip(names, units_of, strict=True)):
                            same(table[name(field, u)], values[:, k])
                        checked += 1
                        continue
                    assert len(table) == values.size, (key, array)
                    for col, expected in value_columns(array, units, values).items():
                        same(table[col], expected.ravel())  # row by row, as stored
                        checked += 1
                    rows = ds.attrs.get("rows") if kind == "data" else None
                    if isinstance(rows, str) and rows in group["data"]:
                        axis = group["data"][rows]
                        same(table[name(rows, axis.attrs["units"])],
                             np.repeat(axis[()], values.shape[1]))
                    if array.endswith("_codes"):  # scaled as the attribute says, by hand
                        prefix = array[:-len("_codes")]
                        pre = group["data"][f"{prefix}_preamble"][()]
                        x_inc, x_orig, x_ref, y_inc, y_orig, y_ref = (pre[:, [k]]
                                                                      for k in range(6))
                        index = np.arange(values.shape[1])[None, :]
                        np.testing.assert_allclose(
                            table[f"{prefix} [V]"].to_numpy(),
                            ((values - y_ref) * y_inc + y_orig).ravel(), rtol=1e-12, atol=0)
                        np.testing.assert_allclose(
                            table["time [s]"].to_numpy(),
                            ((index - x_ref) * x_inc + x_orig).ravel(), rtol=1e-12, atol=1e-24)
                        same(table["index"], np.tile(np.arange(values.shape[1]),
                                                     values.shape[0]))
    assert checked > 60


def test_results_and_conditions_read_back_as_h5py_reads_them(run_file, exported):
    fmt, tables = exported
    results = tables["results"]
    seen = 0
    with h5py.File(run_file, "r") as f:
        for group in f["steps"].values():
            rows = results[results["step"] == group.attrs["name"]]
            assert set(rows["sequence"]) == {group.attrs["sequence"]}
            assert set(rows["status"]) == {group.attrs["status"]}
            assert list(rows["result"]) == list(group["results"])
            for (_, row), (result, ds) in zip(rows.iterrows(), group["results"].items(),
                                              strict=True):
                assert row["value"] == ds[()], result
                assert (row["units"] if isinstance(row["units"], str) else "") \
                    == ds.attrs["units"], result
                for limit in ("low", "high"):
                    assert np.array_equal(row[limit], ds.attrs[limit], equal_nan=True), result
                passed = {"pass": True, "fail": False, "": None}[ds.attrs["passed"]]
                assert (None if pd.isna(row["passed"]) else bool(row["passed"])) is passed
                conditions = json.loads(ds.attrs.get("conditions", "{}"))
                for cond, spec in conditions.items():
                    assert row[name(cond, spec["units"])] == spec["value"], (result, cond)
                others = [c for c in results.columns[9:] if c not in
                          {name(k, s["units"]) for k, s in conditions.items()}]
                assert row[others].isna().all(), (result, others)
                seen += 1
    assert seen == len(results) and seen > 30
    liv = results[(results["step"] == "liv") & (results["result"] == "peak_eqe")].iloc[0]
    iv = results[(results["step"] == "iv") & (results["result"] == "forward_voltage")].iloc[0]
    assert (liv["low"], bool(liv["passed"]), bool(iv["passed"]), iv["high"]) == \
        (0.01, True, False, 1.0)


def test_csv_is_plain_utf8_numbers_with_a_header(run_file, tmp_path):
    out = tmp_path / "csv"
    assert main(["export", str(run_file), "-o", str(out)]) == 0
    text = (out / "00_liv_data.csv").read_bytes().decode("utf-8")
    header, *lines = text.splitlines()
    assert header == "set_current [A],current [A],voltage [V],optical_power [W]"
    step = open_run(run_file).steps["liv"]
    for k, line in enumerate(lines):  # every cell a number as float() (and Excel) reads it
        cells = [float(cell) for cell in line.split(",")]
        assert cells == [step.data[c][k] for c in ("set_current", "current", "voltage",
                                                   "optical_power")]
    s21 = (out / "02_bw_vna_data_s21.csv").read_text().splitlines()
    assert s21[0] == "bias_current [A],frequency [Hz],s21 real,s21 imag"
    assert "j" not in "".join(s21[1:])  # complex values come apart, never "(1+2j)"


def test_default_directory_index_and_force(run_file, tmp_path, capsys):
    run = tmp_path / "r.h5"
    shutil.copy(run_file, run)
    assert main(["export", str(run)]) == 0
    out = tmp_path / "r_export"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"export: {out} ({len(lines) - 1} tables, csv)"
    written = sorted(p.name for p in out.iterdir())
    assert sorted(line.split()[0] for line in lines[1:]) == written
    assert "results.csv" in written and "00_liv_data.csv" in written
    before = (out / "results.csv").stat().st_mtime_ns
    assert main(["export", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--force" in err
    assert (out / "results.csv").stat().st_mtime_ns == before
    (out / "results.csv").unlink()  # a partial export is refused too: nothing is written
    assert main(["export", str(run)]) == 2
    assert not (out / "results.csv").exists()
    capsys.readouterr()
    assert main(["export", str(run), "--force"]) == 0
    assert (out / "results.csv").exists()


@pytest.mark.parametrize("case", ["missing", "damaged", "not a run", "under a file",
                                  "output is a file"])
def test_refusals_are_one_line_exit_2(case, run_file, tmp_path, capsys):
    run, out = tmp_path / "run.h5", tmp_path / "out"
    shutil.copy(run_file, run)
    if case == "missing":
        run = tmp_path / "nothing.h5"
    elif case == "damaged":
        data = run.read_bytes()
        run.write_bytes(data[:len(data) // 3])
    elif case == "not a run":
        with h5py.File(run, "w") as f:
            f["x"] = np.arange(3)
    elif case == "under a file":
        (tmp_path / "plain").write_text("x")
        out = tmp_path / "plain" / "out"
    elif case == "output is a file":
        out.write_text("x")
    code = main(["export", str(run), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("bench: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    if case not in ("output is a file", "under a file"):
        assert not out.exists()


def test_parquet_without_pyarrow_is_one_line(run_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    assert main(["export", str(run_file), "-o", str(tmp_path / "o"), "--format",
                 "parquet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "microled-bench[parquet]" in err
    assert not (tmp_path / "o").exists()


def test_export_loads_pandas_only_when_it_runs(run_file, tmp_path):
    probe = ("import sys; from bench.cli import main; main({argv!r}); "
             "print('pandas' in sys.modules)")
    for argv, loads in ((["show", str(run_file)], False),
                        (["export", str(run_file), "-o", str(tmp_path / "o")], True)):
        done = subprocess.run([sys.executable, "-c", probe.format(argv=argv)],
                              capture_output=True, text=True, timeout=120)
        assert done.stdout.split()[-1] == str(loads), done.stderr


def test_conditions_are_columns_with_their_units():
    """The contract of issue 10: a result's conditions become ``<condition> [<units>]``
    columns; results without conditions (older files) leave them empty."""
    def result(value, units, conditions=None):
        r = {"value": value, "units": units, "low": None, "high": None, "passed": None}
        return r if conditions is None else {**r, "conditions": conditions}

    step = StepRecord("bw", "bandwidth", "completed", "", {}, {}, results={
        "f3db": result(2.3e8, "Hz", {"bias_current": {"value": 3e-3, "units": "A"},
                                     "current_density": {"value": 9.5e6, "units": "A/m^2"}}),
        "fit_rms": result(0.01, "dB"),
        "droop": result(0.5, "1", {}),
    }, index=0)
    record = RunRecord(Path("x.h5"), {}, {}, {}, {}, [step])
    frame = results_frame(record)
    assert list(frame.columns[9:]) == ["bias_current [A]", "current_density [A/m^2]"]
    assert frame.loc[0, "bias_current [A]"] == 3e-3
    assert frame.loc[0, "current_density [A/m^2]"] == 9.5e6
    assert frame.loc[1:, ["bias_current [A]", "current_density [A/m^2]"]].isna().all().all()
    assert list(frame["value"]) == [2.3e8, 0.01, 0.5]


def test_any_arrays_get_a_file_each_and_what_no_table_holds_is_said(tmp_path, capsys):
    """Arrays of any names and shapes, written as storage writes them: names that make the same
    file name get files of their own; a 3-D array is named in the index, not dropped quietly."""
    from bench.storage import RunWriter

    path = tmp_path / "odd.h5"
    writer = RunWriter(path)
    writer.start_run(run_id="r1", software_version="test", simulated=True,
                     station={"name": "s", "instruments": {}}, sample={"id": "x"}, recipe={})
    writer.start_step(0, "odd step", "custom", {}, {})
    writer.append_points({"a": (np.arange(5.0), "A"), "b": (np.arange(5.0) * 2, "V")})
    writer.write_array("wave form", np.array([1.5, 2.5]), "s")
    writer.write_array("wave_form", np.arange(6.0).reshape(2, 3), "V")
    writer.write_array("cube", np.zeros((2, 2, 2)), "W")
    writer.end_step("completed", "", {})
    writer.end_run("completed")
    writer.close()
    assert main(["export", str(path), "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "not exported (more than two dimensions; in the run file): odd step: data/cube " \
           "(2, 2, 2)" in out
    tables = read_tables(tmp_path / "o", "csv")
    assert sorted(tables) == ["00_odd_step_data", "00_odd_step_data_wave_form",
                              "00_odd_step_data_wave_form_2", "results"]
    same(tables["00_odd_step_data"]["b [V]"], np.arange(5.0) * 2)
    same(tables["00_odd_step_data_wave_form"]["wave form [s]"], np.array([1.5, 2.5]))
    long = tables["00_odd_step_data_wave_form_2"]
    assert list(long.columns) == ["row", "index", "wave_form [V]"]
    same(long["wave_form [V]"], np.arange(6.0))
    same(long["row"], np.array([0, 0, 0, 1, 1, 1]))
    results = tables["results"]
    assert list(results["step"]) == ["odd step"] and results["result"].isna().all()
