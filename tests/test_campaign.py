"""bench campaign: many run files as one table, serially and on a local Dask cluster.

The campaign is made by :func:`make_campaign`: one real short ``liv`` run and one ``iv`` run on
the built-in simulated bench, then copies of them edited with h5py (run id, sample id and
attributes, one result value), with damaged files seeded among them. ``benchmarks/campaign.py``
uses the same function.
"""

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

from bench.cli import main
from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig
from common.errors import BenchError, ConfigError

SAMPLE = {"id": "W12-D34", "diameter": 20e-6, "wavelength": 450e-9,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0},
          "attributes": {"wafer": "W12", "die": [3, 4], "lot": 7}}
TEMPLATES = {  # one real short run of each, copied
    "liv": {"sequence": "liv", "params": {"points": 25, "settle": 0.0},
            "limits": {"peak_eqe": [0.1, None]}},
    "iv": {"sequence": "iv", "params": {"source": "voltage", "start": -5.0, "stop": 3.0,
                                        "points": 41, "spacing": "lin", "current_limit": 5e-3}},
}
EDITED = {"liv": "peak_eqe", "iv": "forward_voltage"}  # the result each copy changes
DAMAGED = ("truncated", "empty", "text", "foreign", "no_results")


def real_runs(folder: Path) -> dict[str, Path]:
    """The two template runs, made once through the runner."""
    paths = {}
    for name, step in TEMPLATES.items():
        recipe = parse_recipe({"sample": SAMPLE, "steps": [step]})
        outcome = Runner(StationConfig.load(None), recipe, folder / f"{name}.h5",
                         record_io=False).run()
        assert outcome.status == "completed", outcome.reason
        paths[name] = folder / f"{name}.h5"
    return paths


def copy_run(template: Path, target: Path, k: int, sequence: str) -> None:
    """A copy of ``template`` as run ``k``: its own run id, sample id, attributes and a value."""
    shutil.copyfile(template, target)
    with h5py.File(target, "r+") as f:
        f.attrs["run_id"] = f"run-{k:05d}"
        sample = json.loads(f["sample"].attrs["json"])
        sample["id"] = f"W{k % 5}-D{k:05d}"
        sample["attributes"] = {"wafer": f"W{k % 5}", "die": [k % 10, k // 10], "lot": k % 3}
        f["sample"].attrs["json"] = json.dumps(sample)
        f.attrs["sample_id"] = sample["id"]
        result = next(iter(f["steps"].values()))["results"][EDITED[sequence]]
        result[()] = value = edited_value(k)
        low, high = result.attrs["low"], result.attrs["high"]  # judged as the runner would
        if not (np.isnan(low) and np.isnan(high)):
            result.attrs["passed"] = "pass" if (np.isnan(low) or value >= low) and \
                (np.isnan(high) or value <= high) else "fail"


def edited_value(k: int) -> float:
    """The value copy ``k`` gives its edited result (peak EQE 0.05-0.35: some below the liv
    template's limit of 0.1)."""
    return 0.05 + 0.3 * (k % 97) / 97


def damage(template: Path, folder: Path) -> dict[str, Path]:
    """One file of each kind the campaign must skip, by kind."""
    paths = {kind: folder / f"bad_{kind}.h5" for kind in DAMAGED}
    data = template.read_bytes()
    paths["truncated"].write_bytes(data[:len(data) // 3])
    paths["empty"].write_bytes(b"")
    paths["text"].write_text("run_id,peak_eqe\n1,0.2\n")
    with h5py.File(paths["foreign"], "w") as f:
        f["x"] = np.arange(3)
    shutil.copyfile(template, paths["no_results"])
    with h5py.File(paths["no_results"], "r+") as f:
        del next(iter(f["steps"].values()))["results"]
    return paths


def make_campaign(folder: Path, count: int, damaged: bool = True) -> dict[str, Path]:
    """``count`` run files (liv and iv alternately, a third of them in sub-folders) under
    ``folder``; with ``damaged`` the bad files too. Returns the damaged files by kind."""
    templates = real_runs(Path(folder).parent)
    for k in range(count):
        sequence = "liv" if k % 2 == 0 else "iv"
        where = Path(folder) / (f"bench{k % 3}" if k % 3 else "")
        where.mkdir(parents=True, exist_ok=True)
        copy_run(templates[sequence], where / f"run-{k:05d}.h5", k, sequence)
    return damage(templates["liv"], Path(folder) / "bench1") if damaged else {}


COUNT = 120  # the module's campaign; test_two_thousand_files has the 2,000


@pytest.fixture(scope="module")
def campaign_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("campaign") / "runs"
    bad = make_campaign(folder, COUNT)
    return folder, bad


@pytest.fixture(scope="module")
def serial(campaign_dir):
    from bench.campaign import collect

    return collect([campaign_dir[0]], workers=1)


def sorted_table(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["file", "step"]).reset_index(drop=True)


def test_one_row_per_file_and_every_damaged_file_listed_with_its_reason(campaign_dir, serial):
    folder, bad = campaign_dir
    assert len(serial.table) == COUNT  # one step per run
    assert serial.table["run_id"].nunique() == COUNT
    reasons = dict(serial.skipped)
    assert set(reasons) == {str(p) for p in bad.values()}
    assert "not a microled-bench run file" in reasons[str(bad["foreign"])]
    assert "results" in reasons[str(bad["no_results"])]
    for kind in ("truncated", "empty", "text"):
        assert "not a readable run file" in reasons[str(bad[kind])]
    assert set(serial.table["sequence"]) == {"liv", "iv"}


def test_values_are_what_h5py_reads_from_the_files(serial):
    table = serial.table.set_index("file")
    for path in table.index[::37]:
        row = table.loc[path]
        with h5py.File(path, "r") as f:
            step = next(iter(f["steps"].values()))
            sample = json.loads(f["sample"].attrs["json"])
            assert row["run_id"] == f.attrs["run_id"]
            assert row["sequence"] == step.attrs["sequence"]
            assert row["sample_id"] == sample["id"]
            assert row["wafer"] == sample["attributes"]["wafer"]
            assert list(row["die"]) == sample["attributes"]["die"]
            assert row["lot"] == sample["attributes"]["lot"]
            assert row["started"] == step.attrs["started"]
            for name, ds in step["results"].items():
                assert row[f"{name} [{ds.attrs['units']}]"] == float(ds[()])
                passed = {"pass": True, "fail": False}.get(ds.attrs["passed"])
                assert (pd.isna(row[f"{name} passed"]) if passed is None
                        else row[f"{name} passed"] == passed)
    # the edited value, against the formula the copies were made with
    run = table[table["run_id"] == "run-00100"].iloc[0]
    assert run["peak_eqe [1]"] == edited_value(100)


def test_local_cluster_table_equals_the_serial_one(campaign_dir, serial):
    from bench.campaign import collect

    parallel = collect([campaign_dir[0]], workers=2)
    pd.testing.assert_frame_equal(sorted_table(parallel.table), sorted_table(serial.table))
    assert sorted(parallel.skipped) == sorted(serial.skipped)


def test_an_existing_scheduler_by_address(campaign_dir, serial):
    from distributed import LocalCluster

    import bench

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        frame = bench.campaign([campaign_dir[0]], scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(sorted_table(frame), sorted_table(serial.table))
    assert len(frame.attrs["skipped"]) == len(DAMAGED)


def test_where_filters_by_bare_result_names_and_attributes(serial):
    from bench.campaign import select

    table = serial.table
    chosen = select(table, "sequence == 'liv' and peak_eqe > 0.2 and wafer == 'W3'")
    expected = table[(table["sequence"] == "liv") & (table["peak_eqe [1]"] > 0.2)
                     & (table["wafer"] == "W3")]
    assert len(chosen) == len(expected) > 0
    assert set(chosen["run_id"]) == set(expected["run_id"])
    assert set(select(table, "`peak_eqe passed` == False")["run_id"]) == \
        set(table[table["peak_eqe [1]"] < 0.1]["run_id"])  # the stored limit is [0.1, null]
    with pytest.raises(BenchError, match="--where"):
        select(table, "no_such_column > 1")
    with pytest.raises(BenchError, match="--where"):
        select(table, "peak_eqe >")


def test_cli_writes_the_table_and_the_skipped_files(campaign_dir, serial, tmp_path, capsys):
    folder, bad = campaign_dir
    out = tmp_path / "t.parquet"
    assert main(["campaign", str(folder), "-o", str(out), "--workers", "1",
                 "--where", "sequence == 'iv'"]) == 0
    err = capsys.readouterr().err
    total = COUNT + len(DAMAGED)
    assert f"{total}/{total} files" in err  # progress: files done
    assert all(f"skipped: {path}" in err for path in map(str, bad.values()))
    table = pd.read_parquet(out)
    expected = serial.table[serial.table["sequence"] == "iv"]
    assert sorted(table["run_id"]) == sorted(expected["run_id"])
    assert table["forward_voltage [V]"].to_numpy() == pytest.approx(
        expected.sort_values("file")["forward_voltage [V]"].to_numpy())
    skipped = pd.read_parquet(tmp_path / "t_skipped.parquet")
    assert set(skipped["file"]) == {str(p) for p in bad.values()}
    # again: refused without --force, one line; with --force as csv
    assert main(["campaign", str(folder), "-o", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already exists" in err and "--force" in err
    csv = tmp_path / "t.csv"
    assert main(["campaign", str(folder), "-o", str(csv), "--format", "csv", "--workers", "1",
                 "-q", "--where", "peak_eqe > 0.35"]) == 0
    assert len(pd.read_csv(csv)) == (serial.table["peak_eqe [1]"] > 0.35).sum()


@pytest.mark.parametrize("argv, says", [
    (["campaign", "nowhere", "--workers", "1"], "nowhere: no such folder"),
    (["campaign", ".", "--workers", "0"], "--workers 0"),
    (["campaign", ".", "--workers", "1", "--where", "peak_eqe >"], "--where"),
])
def test_cli_errors_are_one_line(argv, says, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and says in err, err


def test_parquet_without_pyarrow_is_one_line_before_anything_is_read(tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    assert main(["campaign", str(tmp_path), "-o", str(tmp_path / "t.parquet")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pyarrow" in err and "--format csv" in err
    assert not (tmp_path / "t.parquet").exists()


def test_sample_attributes_are_validated_and_stored(tmp_path):
    for attributes, says in [({"wafer": {"x": 1}}, "wafer"), ({"die": []}, "die"),
                             ({"die": [1, "a"]}, "die"), ({"Wafer": "W1"}, "Wafer"),
                             ({"run_id": "x"}, "run_id"), ({"lot": float("nan")}, "lot"),
                             ({"lot": True}, "lot"), ({"die": list(range(17))}, "die"),
                             ("W12", "mapping")]:
        with pytest.raises(ConfigError, match=says):
            parse_recipe({"sample": {**SAMPLE, "attributes": attributes},
                          "steps": [TEMPLATES["iv"]]})
    recipe = parse_recipe({"sample": SAMPLE, "steps": [TEMPLATES["iv"]]})
    assert recipe.sample_dict()["attributes"] == SAMPLE["attributes"]
    plain = parse_recipe({"sample": {k: v for k, v in SAMPLE.items() if k != "attributes"},
                          "steps": [TEMPLATES["iv"]]})
    assert "attributes" not in plain.sample_dict()  # files without them stay as they were


def test_plots_draw_the_table_s_values(serial, campaign_dir, tmp_path, capsys):
    from bench.campaign import plot

    table = serial.table
    liv = table[table["sequence"] == "liv"]
    fig = plot(table, "lot", "peak_eqe", by="wafer")  # numbers: a scatter, a series per wafer
    drawn = np.concatenate([c.get_offsets() for c in fig.axes[0].collections])
    expected = liv[["lot", "peak_eqe [1]"]].to_numpy(float)
    assert sorted(map(tuple, drawn)) == sorted(map(tuple, expected))
    assert len(fig.axes[0].collections) == liv["wafer"].nunique()
    fig = plot(liv, "wafer", "peak_eqe_passed")  # text against a verdict: the yield
    bars = {t.get_text(): b.get_height() for t, b in
            zip(fig.axes[0].get_xticklabels(), fig.axes[0].patches, strict=True)}
    for wafer, group in liv.groupby("wafer"):
        assert bars[wafer] == pytest.approx((group["peak_eqe [1]"] >= 0.1).mean())
    assert 0 < min(bars.values()) and max(bars.values()) < 1
    fig = plot(liv, "die", "peak_eqe")  # [column, row] pairs: a map
    assert sorted(map(tuple, fig.axes[0].collections[0].get_offsets())) == \
        sorted(tuple(map(float, die)) for die in liv["die"])
    with pytest.raises(BenchError, match="no column 'diameter'"):
        plot(table, "diameter", "peak_eqe")
    with pytest.raises(BenchError, match="numbers or verdicts"):
        plot(table, "lot", "wafer")
    out = tmp_path / "p.csv"
    assert main(["campaign", str(campaign_dir[0]), "--workers", "1", "-q", "-o", str(out),
                 "--format", "csv", "--plot", "wafer", "forward_voltage"]) == 0
    assert (tmp_path / "p_plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["campaign", str(campaign_dir[0]), "--workers", "1", "-o", str(tmp_path / "q.csv"),
                 "--format", "csv", "--by", "wafer"]) == 2
    assert "--plot" in capsys.readouterr().err
    # a mistyped column: one line, the tables written all the same
    assert main(["campaign", str(campaign_dir[0]), "--workers", "1", "-q", "--format", "csv",
                 "-o", str(tmp_path / "r.csv"), "--plot", "wafer", "peak_eqq"]) == 2
    assert "no column 'peak_eqq'" in capsys.readouterr().err
    assert len(pd.read_csv(tmp_path / "r.csv")) == len(table)


def test_reanalyse_writes_new_files_and_lists_what_changed(tmp_path, capsys):
    import hashlib

    from bench.campaign import reanalyse_all

    folder = tmp_path / "runs"
    bad = make_campaign(folder, 6)
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.h5")}
    serial = reanalyse_all([folder], tmp_path / "new")
    parallel = reanalyse_all([folder], tmp_path / "new2", workers=2)
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.h5")} == \
        digest  # the originals untouched
    assert {path for path, _ in serial.campaign.skipped} == {str(p) for p in bad.values()}
    changes = serial.changes
    columns = ["file", "step", "result"]
    pd.testing.assert_frame_equal(
        changes.drop(columns="new_file").sort_values(columns).reset_index(drop=True),
        parallel.changes.drop(columns="new_file").sort_values(columns).reset_index(drop=True))
    with h5py.File(tmp_path / "liv.h5", "r") as f:  # the template: what the raw data gives
        truth = float(next(iter(f["steps"].values()))["results"]["peak_eqe"][()])
    edited = changes[changes["result"] == "peak_eqe"]
    assert len(edited) == 3 and edited["changed"].all()
    assert edited["reanalysed"].to_numpy() == pytest.approx(truth, rel=0, abs=0)
    assert sorted(edited["stored"]) == sorted(map(edited_value, (0, 2, 4)))
    untouched = changes[~changes["result"].isin(list(EDITED.values()))]
    assert len(untouched) > 0 and not untouched["changed"].any()
    new = serial.campaign.table
    assert len(new) == 6 and new["peak_eqe [1]"].dropna().eq(truth).all()
    assert all(Path(p).is_relative_to(tmp_path / "new" / "runs") for p in new["file"])
    # refused: new files that exist, an output inside the folder read
    with pytest.raises(BenchError, match="exist already"):
        reanalyse_all([folder], tmp_path / "new")
    assert main(["campaign", str(folder), "--workers", "1", "--reanalyse",
                 str(folder / "again"), "-o", str(tmp_path / "t.csv"), "--format", "csv"]) == 2
    assert "inside" in capsys.readouterr().err


def test_two_thousand_files(tmp_path):
    from bench.campaign import collect

    bad = make_campaign(tmp_path / "runs", 2000)
    serial = collect([tmp_path / "runs"], workers=1)
    parallel = collect([tmp_path / "runs"], workers=2)
    assert len(serial.table) == 2000 and serial.table["run_id"].nunique() == 2000
    assert sorted(path for path, _ in serial.skipped) == sorted(map(str, bad.values()))
    pd.testing.assert_frame_equal(sorted_table(parallel.table), sorted_table(serial.table))
    assert sorted(parallel.skipped) == sorted(serial.skipped)


def test_dask_is_not_imported_by_bench_help():
    code = "import sys; from bench.cli import build_parser; build_parser(); " \
           "print('dask' in sys.modules or 'pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
