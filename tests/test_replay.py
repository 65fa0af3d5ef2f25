"""Instrument I/O record and replay: re-analysis, re-execution against the record, bad files."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from pyvisa.constants import VI_ERROR_CONN_LOST, VI_ERROR_TMO

from bench.cli import main
from bench.replay import reanalyse, replay_instruments
from bench.station import builtin_station_config
from bench.storage import RunWriter, read_records, read_run
from bench.transcript import (
    CLEAR,
    ERROR,
    READ,
    READ_BYTES,
    REOPEN,
    WRITE,
    RecordedIOError,
    ReplayDivergence,
    ReplayResource,
    Transcript,
)
from drivers.keithley2450 import Keithley2450
from sequences import dc_analysis
from sequences.iv import IV
from sequences.liv import LIV

RECIPE = """\
sample:
  id: replay-test
  diameter: 20e-6
  wavelength: 450e-9
  limits: {max_current: 10e-3, max_voltage: 6.0}
steps:
  - sequence: liv
    params: {points: 10, settle: 0}
    limits: {peak_eqe: [0.01, null]}
  - sequence: iv
    params: {points: 10}
"""


@pytest.fixture(scope="module")
def source_run(tmp_path_factory) -> Path:
    """One recorded liv + iv run on the built-in simulated bench (tests only read it)."""
    folder = tmp_path_factory.mktemp("source")
    recipe = folder / "recipe.yaml"
    recipe.write_text(RECIPE)
    path = folder / "run.h5"
    assert main(["run", str(recipe), "-o", str(path), "-q"]) == 0
    return path


@pytest.fixture
def run_copy(source_run, tmp_path) -> Path:
    path = tmp_path / "run.h5"
    shutil.copyfile(source_run, path)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ops_of(records) -> list[tuple[int, bytes]]:
    return list(zip(records.ops.tolist(), records.payloads, strict=True))


# -- the record ------------------------------------------------------------------------------------
def test_record_holds_every_command_and_answer(source_run):
    record = read_run(source_run)
    streams = read_records(source_run, "transcript")
    assert set(streams) == set(record.station["instruments"]) >= {"smu", "power_meter"}
    smu = ops_of(streams["smu"])
    # connecting: *IDN? answered with the IDN stored in the station snapshot, then *CLS
    assert smu[:3] == [(WRITE, b"*IDN?"), (READ, record.station["instruments"]["smu"]["idn"]
                                           .encode()), (WRITE, b"*CLS")]
    # every current of the liv sweep went out as a command, in order (ramp steps between them)
    liv = record.steps[0]
    sent = iter(float(p.split()[1]) for op, p in smu
                if op == WRITE and p.startswith(b":SOURce:CURRent "))
    for level in LIV.levels(liv.params):
        assert any(np.isclose(value, level, rtol=1e-8, atol=0) for value in sent), level
    # each power reading stored in the step is an answer in the power meter's record
    meter = ops_of(streams["power_meter"])
    answers = [float(answer) for (_, command), (op, answer) in zip(meter[:-1], meter[1:],
                                                                     strict=True)
               if command == b"READ?" and op == READ]
    assert len(answers) == liv.params["points"]
    assert set(liv.data["optical_power"].tolist()) <= set(answers)


def test_record_keeps_binary_blocks_byte_for_byte(source_run):
    """The iv sweep comes back as IEEE-754 doubles: the record holds exactly those bytes."""
    iv = read_run(source_run).steps[1]
    n = iv.params["points"]
    blocks = [p for op, p in ops_of(read_records(source_run, "transcript")["smu"])
              if op == READ_BYTES and len(p) >= 16 * n]
    assert len(blocks) == 1
    values = np.frombuffer(blocks[0][:16 * n], dtype="<f8")
    assert np.array_equal(values[0::2], iv.data["voltage"])
    assert np.array_equal(values[1::2], iv.data["current"])


def test_record_layout_is_self_describing(source_run):
    streams = read_records(source_run, "transcript")
    for stream in streams.values():
        assert np.all(np.diff(stream.times) >= 0) and stream.times[0] >= 0
        assert stream.op_codes == {"write": WRITE, "read": READ, "read_bytes": READ_BYTES,
                                   "error": ERROR, "reopen": REOPEN, "clear": CLEAR}
    with h5py.File(source_run, "r") as f:
        group = f["transcript/smu"]
        assert group["time"].attrs["units"] == "s"
        assert json.loads(group.attrs["op_codes"])["write"] == WRITE
        for name in ("time", "op", "offsets"):
            assert group[name].compression == "gzip"
        assert group["payload"].compression is None  # binary blocks: see write_array
        assert group["payload"].dtype == np.uint8


def test_no_record_io_from_cli_and_from_station(tmp_path):
    out = tmp_path / "plain.h5"
    assert main(["run", "iv", "-o", str(out), "-q", "--no-record-io"]) == 0
    assert read_records(out, "transcript") == {}
    station = tmp_path / "station.yaml"
    station.write_text(resources.files("bench").joinpath("builtin_station.yaml").read_text()
                       + "record_io: false\n")
    out2 = tmp_path / "plain2.h5"
    assert main(["run", "iv", "--station", str(station), "-o", str(out2), "-q"]) == 0
    assert read_records(out2, "transcript") == {}
    # re-analysis still works; re-execution says why it cannot
    assert main(["replay", str(out2)]) == 0


def test_replay_instruments_without_record_is_one_clear_error(tmp_path, capsys):
    out = tmp_path / "plain.h5"
    assert main(["run", "iv", "-o", str(out), "-q", "--no-record-io"]) == 0
    capsys.readouterr()
    assert main(["replay", str(out), "--instruments"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no instrument I/O record" in err[0]


def test_transcript_flushes_incrementally(tmp_path):
    class Loopback:
        timeout, read_termination, write_termination = 1000.0, "\n", "\n"

        def write(self, message):
            self.last = message

        def read(self):
            return self.last.upper()

        def close(self):
            pass

    writer = RunWriter(tmp_path / "t.h5")
    eager = Transcript(writer, flush_interval=0.0).wrap("eager", Loopback())
    lazy_transcript = Transcript(writer, flush_interval=3600.0)
    lazy = lazy_transcript.wrap("lazy", Loopback())
    for resource in (eager, lazy):
        resource.write("abc")
        assert resource.read() == "ABC"
    assert writer.file["transcript/eager/op"][()].tolist() == [WRITE, READ]
    assert "lazy" not in writer.file["transcript"]
    lazy_transcript.flush()
    assert writer.file["transcript/lazy/op"][()].tolist() == [WRITE, READ]
    writer.close()
    assert read_records(tmp_path / "t.h5", "transcript")["lazy"].payloads == [b"abc", b"ABC"]


def test_reader_of_a_file_cut_mid_append_trusts_the_shortest_column(tmp_path):
    path = tmp_path / "r.h5"
    writer = RunWriter(path)
    writer.append_records("g", "s", [0.1, 0.2], [1, 2], [b"ab", b"\x00\xff\n"], {"a": 1, "b": 2})
    writer.append_records("g", "s", [0.3], [1], [b"tail"], {"a": 1, "b": 2})
    writer.file["g/s/time"].resize((2,))  # the crash came before the last time was written
    writer.close()
    stream = read_records(path, "g")["s"]
    assert stream.payloads == [b"ab", b"\x00\xff\n"] and stream.ops.tolist() == [1, 2]


# -- replay resource -------------------------------------------------------------------------------
def recorded(*entries):
    transcript = Transcript(None)

    class Scripted:
        timeout, read_termination, write_termination = 1000.0, "\n", "\n"
        answers = iter(entries)

        def write(self, message):
            pass

        def read(self):
            answer = next(self.answers)
            if isinstance(answer, Exception):
                raise answer
            return answer

        def read_bytes(self, count):
            return next(self.answers)[:count]

        def close(self):
            pass

    return transcript, transcript.wrap("dev", Scripted())


def as_records(transcript):
    from bench.storage import ByteRecords
    stream = transcript.streams["dev"]
    return ByteRecords(np.array(stream.times), np.array(stream.ops, dtype=np.uint8),
                       list(stream.payloads), {})


class LinkGone(Exception):
    """An exception class replay cannot know."""


def test_errors_replay_as_the_class_the_fault_policy_distinguishes():
    transcript, resource = recorded("\u00b5A", LinkGone("cable pulled"))
    with pytest.raises(AttributeError):
        resource.clear()  # this resource has no device clear; drivers tolerate AttributeError
    resource.read()
    with pytest.raises(LinkGone):
        resource.read()
    replay = ReplayResource("dev", as_records(transcript))
    with pytest.raises(AttributeError):
        replay.clear()
    assert replay.read() == "\u00b5A"  # text round-trips through UTF-8
    with pytest.raises(RecordedIOError, match="cable pulled"):
        replay.read()
    assert replay.divergence is None
    replay.check_finished()


def test_replay_resource_answers_and_checks():
    transcript, resource = recorded("1.5", b"#\x01\x02", TimeoutError("VI_ERROR_TMO"))
    resource.write("MEAS?")
    resource.read()
    resource.write("DATA?")
    resource.read_bytes(3)
    resource.write("LATE?")
    with pytest.raises(TimeoutError):
        resource.read()
    records = as_records(transcript)
    replay = ReplayResource("dev", records)
    replay.write("MEAS?")
    assert replay.read() == "1.5"
    replay.write("DATA?")
    assert replay.read_bytes(3) == b"#\x01\x02"
    replay.write("LATE?")
    with pytest.raises(TimeoutError, match="VI_ERROR_TMO"):  # the same class, raised again
        replay.read()
    replay.check_finished()
    with pytest.raises(ReplayDivergence, match="record ends after 7 operations"):
        replay.write("MORE?")

    wrong_kind = ReplayResource("dev", records)
    with pytest.raises(ReplayDivergence, match=r"operation 1 of 7: expected write 'MEAS\?', "
                                               r"got read"):
        wrong_kind.read()
    with pytest.raises(ReplayDivergence, match="operation 1 of 7"):  # sticky
        wrong_kind.write("MEAS?")

    wrong_size = ReplayResource("dev", records)
    wrong_size.write("MEAS?")
    wrong_size.read()
    wrong_size.write("DATA?")
    with pytest.raises(ReplayDivergence, match=r"expected read_bytes\(3\), got read_bytes\(2\)"):
        wrong_size.read_bytes(2)

    unfinished = ReplayResource("dev", records)
    unfinished.write("MEAS?")
    with pytest.raises(ReplayDivergence, match="stopped after operation 1 of 7"):
        unfinished.check_finished()


# -- re-analysis -----------------------------------------------------------------------------------
def test_reanalysis_gives_the_stored_results(source_run, capsys):
    report = reanalyse(source_run)
    stored = read_run(source_run)
    assert [s.name for s in report.steps] == ["liv", "iv"]
    for step, old in zip(report.steps, stored.steps, strict=True):
        assert step.replayed == old.results and step.replayed
    assert main(["replay", str(source_run)]) == 0
    out = capsys.readouterr().out
    assert "identical to the stored run" in out and "peak_eqe" in out


def test_reanalysis_shows_differences_and_writes_a_new_run(source_run, tmp_path, monkeypatch,
                                                          capsys):
    original = LIV.analyse.__func__

    def shifted(cls, data, params, sample):
        figures = original(cls, data, params, sample)
        value, *rest = figures["forward_voltage"]  # units, conditions
        figures["forward_voltage"] = (value + 0.01, *rest)
        return figures

    monkeypatch.setattr(LIV, "analyse", classmethod(shifted))
    new = tmp_path / "new.h5"
    assert main(["replay", str(source_run), "-o", str(new)]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("liv   forward_voltage"))
    assert "10 mV" in row and "differs from the stored run" in out
    stored, written = read_run(source_run), read_run(new)
    assert written.attrs["source_run"] == stored.run_id and written.run_id != stored.run_id
    assert written.recipe == stored.recipe and written.sample == stored.sample
    for old, fresh in zip(stored.steps, written.steps, strict=True):
        assert old.data.keys() == fresh.data.keys()
        for name in old.data:
            assert np.array_equal(old.data[name], fresh.data[name])
            assert old.units[name] == fresh.units[name]
        assert fresh.instrument_settings == old.instrument_settings
        assert old.instrument_settings["smu"]["source_function"] == "CURR"
    fv = stored.steps[0].results["forward_voltage"]["value"]
    assert written.steps[0].results["forward_voltage"]["value"] == pytest.approx(fv + 0.01)
    assert written.steps[1].results == stored.steps[1].results
    old_io, new_io = read_records(source_run, "transcript"), read_records(new, "transcript")
    assert {k: v.payloads for k, v in old_io.items()} == {k: v.payloads for k, v in new_io.items()}


def test_reanalysis_rewrites_the_derived_arrays(source_run, tmp_path, monkeypatch):
    """A changed analysis reaches the derived arrays of ``replay -o`` (they are recomputed, not
    copied); the source file stays as it was."""
    before = sha256(source_run)
    stored = read_run(source_run)
    original = dc_analysis.eqe
    monkeypatch.setattr(dc_analysis, "eqe", lambda *args: 2 * original(*args))
    report = reanalyse(source_run, tmp_path / "new.h5")
    assert not report.identical
    written = read_run(tmp_path / "new.h5")
    old, new = stored.steps[0], written.steps[0]
    assert set(old.analysis) == set(new.analysis) == {"current_density", "eqe", "wpe"}
    np.testing.assert_allclose(new.analysis["eqe"], 2 * old.analysis["eqe"], rtol=1e-12)
    assert np.array_equal(new.analysis["wpe"], old.analysis["wpe"], equal_nan=True)
    assert new.analysis_units == old.analysis_units
    assert new.results["peak_eqe"]["value"] == pytest.approx(
        2 * old.results["peak_eqe"]["value"], rel=1e-9)
    assert all(np.array_equal(old.data[k], new.data[k]) for k in old.data)
    assert written.steps[1].analysis == {}  # iv derives none: nothing left over from a copy
    with h5py.File(tmp_path / "new.h5", "r") as f:
        assert all(set(ds.attrs) == {"units"} for ds in f["steps/00_liv/analysis"].values())
    assert sha256(source_run) == before
    np.testing.assert_array_equal(read_run(source_run).steps[0].analysis["eqe"],
                                  old.analysis["eqe"])


def test_a_change_in_a_derived_array_alone_is_reported(source_run, monkeypatch, capsys):
    """Scalars unchanged, one derived array changed: the replay is not called identical."""
    original = LIV.analyse.__func__

    def other_wpe(cls, data, params, sample):
        figures = original(cls, data, params, sample)
        values, units = figures["wpe"]
        figures["wpe"] = (values * 1.5, units)
        return figures

    monkeypatch.setattr(LIV, "analyse", classmethod(other_wpe))
    assert main(["replay", str(source_run)]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "(derived array)" in line)
    assert row.startswith("liv") and "wpe: differs" in row
    assert "peak_wpe" in out and "differs from the stored run" in out


# -- re-execution against the record ---------------------------------------------------------------
def test_replay_instruments_reproduces_raw_data_and_results(source_run, tmp_path, monkeypatch):
    def no_simulator(*args, **kwargs):
        raise AssertionError("replay must not open the simulator")

    import sim_instruments.backend

    monkeypatch.setattr(sim_instruments.backend, "open_simulated_bench", no_simulator)
    new = tmp_path / "replayed.h5"
    report = replay_instruments(source_run, new, subscribers=[])
    assert report.identical and report.status == "completed"
    stored, written = read_run(source_run), read_run(new)
    assert written.attrs["source_run"] == stored.run_id
    assert written.station["replay_of"] == stored.run_id
    for old, fresh in zip(stored.steps, written.steps, strict=True):
        assert old.data.keys() == fresh.data.keys() and old.data
        for name in old.data:
            assert np.array_equal(old.data[name], fresh.data[name])
        assert fresh.results == old.results
    # the replayed run keeps its own record, command for command the same
    old_io, new_io = read_records(source_run, "transcript"), read_records(new, "transcript")
    for name in old_io:
        assert ops_of(old_io[name]) == ops_of(new_io[name])


def test_replay_reproduces_a_run_that_recovered_from_faults(tmp_path):
    """Timeouts, a dropped link (re-opened by the driver), garbled and truncated answers: the
    errors and the re-open are in the record, so the drivers' retries replay the same way."""
    config = builtin_station_config()
    config["simulation"] = {**config.get("simulation", {}), "faults": [
        {"instrument": "smu", "kind": "timeout", "at_command": 3, "match": ":READ?"},
        {"instrument": "smu", "kind": "truncated", "at_command": 6, "match": ":READ?"},
        {"instrument": "smu", "kind": "garbled", "at_command": 1, "match": ":TRACe:DATA?"},
        {"instrument": "power_meter", "kind": "disconnect", "at_command": 5, "match": "READ?"},
        {"instrument": "power_meter", "kind": "garbled", "at_command": 8, "match": "READ?"}]}
    station = tmp_path / "faulty.yaml"
    station.write_text(yaml.safe_dump(config))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    run = tmp_path / "faulty.h5"
    assert main(["run", str(recipe), "--station", str(station), "-o", str(run), "-q"]) == 0
    streams = read_records(run, "transcript")
    errors = {name: [json.loads(p)["code"] for op, p in ops_of(s) if op == ERROR]
              for name, s in streams.items()}
    assert errors["smu"] == [VI_ERROR_TMO, VI_ERROR_TMO]
    assert errors["power_meter"] == [VI_ERROR_CONN_LOST]
    assert streams["power_meter"].ops.tolist().count(REOPEN) == 1
    assert streams["smu"].ops.tolist().count(CLEAR) == 3  # before each retry of the smu
    report = replay_instruments(run, tmp_path / "again.h5", subscribers=[])
    assert report.identical
    for old, new in zip(read_run(run).steps, read_run(tmp_path / "again.h5").steps, strict=True):
        assert all(np.array_equal(old.data[k], new.data[k]) for k in old.data)
        assert new.results == old.results


def test_replay_instruments_cli(source_run, capsys):
    assert main(["replay", str(source_run), "--instruments", "-q"]) == 0
    assert "identical to the stored run" in capsys.readouterr().out


def changed_set_current(monkeypatch):
    def set_current(self, current):
        self.write(f":SOURce:CURRent:LEVel {current:.9g}")

    monkeypatch.setattr(Keithley2450, "set_current", set_current)


def test_changed_driver_command_is_a_divergence(source_run, monkeypatch, capsys):
    changed_set_current(monkeypatch)
    assert main(["replay", str(source_run), "--instruments", "-q"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, captured.err
    assert "replay diverged" in err[0] and "smu" in err[0] and "operation" in err[0]
    assert "expected write ':SOURce:CURRent " in err[0]
    assert "got write ':SOURce:CURRent:LEVel " in err[0]
    with pytest.raises(ReplayDivergence):
        replay_instruments(source_run, subscribers=[])


def test_lenient_replay_reports_changed_commands_and_goes_on(source_run, monkeypatch, capsys):
    changed_set_current(monkeypatch)
    report = replay_instruments(source_run, strict=False, subscribers=[])
    sets = LIV.planned_points(read_run(source_run).steps[0].params)
    assert report.status == "completed" and not report.identical
    assert len(report.warnings) >= sets
    assert all(":SOURce:CURRent:LEVel" in w for w in report.warnings)
    assert all(not s.raw_differences for s in report.steps)
    assert main(["replay", str(source_run), "--instruments", "--lenient", "-q"]) == 1
    assert "warning: smu, operation" in capsys.readouterr().out


def test_replay_of_changed_sweep_parameters_is_a_divergence(run_copy, capsys):
    """Stored parameters drive the replay: an edited parameter changes the commands."""
    with h5py.File(run_copy, "r+") as f:
        step = f["steps/01_iv"]
        params = json.loads(step.attrs["params"])
        params["points"] = 11
        step.attrs["params"] = json.dumps(params)
    assert IV.planned_points(params) == 11
    assert main(["replay", str(run_copy), "--instruments", "-q"]) == 2
    assert "replay diverged" in capsys.readouterr().err


def test_resumed_run_is_not_re_executed(run_copy, capsys):
    with h5py.File(run_copy, "r+") as f:
        f.attrs["resumed"] = json.dumps([{"from_step": 1}])
    assert main(["replay", str(run_copy), "--instruments", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "resumed" in err[0]
    assert main(["replay", str(run_copy)]) == 0


# -- the original is never modified ----------------------------------------------------------------
def test_replay_never_modifies_the_original(run_copy, tmp_path, capsys):
    before = sha256(run_copy)
    assert main(["replay", str(run_copy), "-o", str(tmp_path / "a.h5")]) == 0
    assert main(["replay", str(run_copy), "--instruments", "-q", "-o",
                 str(tmp_path / "b.h5")]) == 0
    assert main(["replay", str(run_copy)]) == 0
    assert sha256(run_copy) == before
    capsys.readouterr()
    for extra in ([], ["--instruments", "-q"]):
        assert main(["replay", str(run_copy), "-o", str(run_copy), *extra]) == 2
        assert "refusing to overwrite" in capsys.readouterr().err
    assert sha256(run_copy) == before


# -- bad files ------------------------------------------------------------------------------------
def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def bad_signature(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:8] = b"\x00" * 8
    path.write_bytes(bytes(data))


def not_a_run(path: Path) -> None:
    path.unlink()
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)


def text_file(path: Path) -> None:
    path.write_text("sample: {}\n")


def lost_column(path: Path) -> None:
    with h5py.File(path, "r+") as f:
        del f["steps/00_liv/data/current"]


def lost_record(path: Path) -> None:
    with h5py.File(path, "r+") as f:
        del f["transcript/smu/payload"]


@pytest.mark.parametrize("damage", [truncated, bad_signature, not_a_run, text_file, lost_column,
                                    lost_record])
@pytest.mark.parametrize("command", [["show"], ["replay"], ["replay", "--instruments", "-q"]])
def test_bad_file_ends_with_one_clear_line(run_copy, damage, command, capsys):
    damage(run_copy)
    rc = main([command[0], str(run_copy), *command[1:]])
    captured = capsys.readouterr()
    if damage in (lost_column, lost_record) and command == ["show"]:
        assert rc == 0  # show reads neither the raw data nor the record
        return
    if damage is lost_record and command == ["replay"]:
        assert rc == 0  # re-analysis needs only the raw data
        return
    if damage is lost_column and command[1:2] == ["--instruments"]:
        assert rc == 1  # re-acquired from the record: the stored run lacks what replay made
        assert "current: only in the new run" in captured.out
        return
    assert rc == 2
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench: error: ") and str(run_copy) in err[0]


def test_console_script_prints_no_traceback(run_copy):
    truncated(run_copy)
    script = Path(sys.executable).with_name("bench")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bench.cli"]
    done = subprocess.run([*command, "replay", str(run_copy)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "not a readable run file" in done.stderr
