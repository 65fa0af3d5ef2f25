"""Fault injection over every sequence and fault kind; Ctrl-C and SIGTERM leave the bench safe.

Instrument-side checks read the simulated instruments themselves (``SimulatedWorld``), not what
the controller believes it sent.
"""

from __future__ import annotations

import signal

import h5py
import numpy as np
import pytest

from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig, builtin_station_config
from sequences import SEQUENCES
from sim_instruments.faults import KINDS

SAMPLE = {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0, "max_reverse_voltage": 10.0,
                     "max_pulse_current": 20e-3, "max_duty_cycle": 1.0}}

# per sequence: small, fast parameters; the instrument and command carrying its data (where the
# communication faults hit); the SMU command that starts a measurement (where the contact opens)
FAST = {
    "liv": ({"points": 12, "settle": 0.0}, ("smu", ":READ?"), ":READ?"),
    "iv": ({"points": 12}, ("smu", ":TRACe:DATA?"), ":INITiate"),
    "bandwidth": ({"bias_currents": [2e-3, 5e-3], "points": 61, "settle": 0.0},
                  ("vna", ":CALCulate1:DATA:SDATa?"), ":READ?"),
    "pulse-response": ({"acquisitions": 2, "settle": 0.0}, ("scope", ":WAVeform:DATA?"),
                       ":READ?"),
    "eye": ({"record_bits": 200, "acquisitions": 1, "settle": 0.0},
            ("scope", ":WAVeform:DATA?"), ":READ?"),
    "pulsed-liv": ({"points": 6, "settle": 0.0}, ("pulsed_smu", "printbuffer(1, 6, "),
                   "smua.trigger.initiate()"),
    "temperature-sweep": ({"temperatures": [298.15], "hold": 0.1, "poll": 0.02,  # the room
                           "inner_parameters": {"points": 12, "settle": 0.0}},
                          ("smu", ":READ?"), ":READ?"),
    "burn-in": ({"temperature": 298.15, "duration": 0.2, "checkpoints": 2, "hold": 0.1,
                 "poll": 0.02, "monitor_interval": 0.1, "settle": 0.0},
                ("smu", ":READ?"), ":READ?"),
    "array-map": ({"rows": 2, "columns": 2, "settle": 0.0}, ("smu", ":READ?"), ":READ?"),
    "align": ({"home": True, "span": 20e-6, "coarse_points": 3, "fine_points": 3,
               "z_points": 0, "passes": 1}, ("power_meter", "READ?"), ":READ?"),
    "spectrum": ({"currents": [1e-3, 2e-3], "settle": 0.0}, ("osa", ":TRACe:Y? TRA"), ":READ?"),
}
SMU = {"pulsed-liv": "pulsed_smu"}  # the SMU a sequence drives, where the contact opens
EXTRA = {"pulsed-liv": {"pulsed_smu": {"driver": "keithley2600b", "simulated": True,
                                       "resource": "USB0::0x05E6::0x2602::4400001::INSTR"}}}
# an open contact is what array-map measures (every emitter reads open: dead), not a failure
OPEN_IS_MEASURED = {"array-map": lambda params: params["rows"] * params["columns"]}


def run(tmp_path, steps, faults=(), subscribers=(), instruments=None):
    config = builtin_station_config()
    config["instruments"].update(instruments or {})  # beyond the built-in bench's
    config["simulation"] = {**config.get("simulation", {}), "faults": list(faults)}
    station = StationConfig.from_mapping(config)
    runner = Runner(station, parse_recipe({"sample": SAMPLE, "steps": steps}),
                    tmp_path / "run.h5", subscribers=list(subscribers))
    return runner, runner.run()


def assert_outputs_off(world):
    """Every simulated source is off and the chip carries no current (instrument side)."""
    assert world.drive_current == 0.0
    for instrument in world.instruments.values():
        if not hasattr(instrument, "device"):  # a serial instrument: no YAML, its model says
            assert not instrument.model.output_enabled(), instrument.name
            continue
        for prop in instrument.device._properties:
            if prop.endswith("output"):  # output, positive_output, central_output ...
                assert str(instrument.get(prop)) in ("0", "OFF"), (instrument.name, prop)


def test_every_sequence_is_under_fault_injection():
    assert set(FAST) == set(SEQUENCES)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sequence", sorted(FAST))
def test_fault_leaves_bench_safe_and_file_explains(tmp_path, sequence, kind):
    params, (instrument, match), starts = FAST[sequence]
    fault = ({"instrument": SMU.get(sequence, "smu"), "kind": kind, "at_command": 1,
              "match": starts}
             if kind == "compliance" else
             {"instrument": instrument, "kind": kind, "at_command": 1, "match": match})
    steps = [{"sequence": sequence, "name": "first", "params": params},
             {"sequence": sequence, "name": "second", "params": params}]
    runner, outcome = run(tmp_path, steps, [fault], instruments=EXTRA.get(sequence))
    world = runner.station.world

    assert world.faults.log, "the fault never fired"
    assert_outputs_off(world)
    with h5py.File(tmp_path / "run.h5", "r") as f:
        status = f.attrs["status"]
        first = f["steps/00_first"]
        if kind in ("timeout", "disconnect", "garbled", "truncated"):
            # retried (and re-opened once): the run completes with every point
            assert status == "completed", f.attrs["status_reason"]
            assert first.attrs["status"] == "completed"
            assert first["results"] and set(first["results"]) <= set(SEQUENCES[sequence].results)
            if sequence in ("liv", "iv"):
                assert first["data/current"].shape[0] == params["points"]
        elif kind == "compliance" and sequence in OPEN_IS_MEASURED:
            assert status == "completed", f.attrs["status_reason"]
            assert first["results/dead_count"][()] == OPEN_IS_MEASURED[sequence](params)
        else:
            assert status == "failed"
            reason = first.attrs["status_reason"]
            assert reason and reason in f.attrs["status_reason"]
            if kind == "scpi_error":
                assert "-300" in reason
            else:
                assert "limit" in reason and "open contact" in reason
            assert "01_second" not in f["steps"]  # on_error: abort (the default)
        # whatever happened, the data taken before the fault is in the file with its units
        if "data/current" in first:
            assert first["data/current"].attrs["units"] == "A"


def test_on_error_continue_runs_the_next_step(tmp_path):
    params = FAST["liv"][0]
    fault = {"instrument": "smu", "kind": "scpi_error", "at_command": 3, "match": ":READ?"}
    steps = [{"sequence": "liv", "name": "first", "params": params, "on_error": "continue"},
             {"sequence": "liv", "name": "second", "params": params}]
    runner, outcome = run(tmp_path, steps, [fault])
    assert [s.status for s in outcome.steps] == ["failed", "completed"]
    assert outcome.status == "completed" and "first failed" in outcome.reason
    with h5py.File(tmp_path / "run.h5", "r") as f:
        assert f["steps/00_first/data/current"].shape[0] == params["points"]
        assert f["steps/01_second/results/peak_eqe"][()] > 0


def test_dropped_link_is_reopened_only_once(tmp_path):
    params = FAST["liv"][0]
    faults = [{"instrument": "smu", "kind": "disconnect", "at_command": n, "match": ":READ?"}
              for n in (2, 5)]
    runner, outcome = run(tmp_path, [{"sequence": "liv", "params": params}], faults)
    assert outcome.status == "failed"
    assert "write failed" in outcome.reason or "no valid answer" in outcome.reason
    assert_outputs_off(runner.station.world)


@pytest.mark.parametrize("signum, reason", [(signal.SIGINT, "Ctrl-C"),
                                            (signal.SIGTERM, "SIGTERM")])
def test_interrupt_switches_output_off_and_marks_file_aborted(tmp_path, signum, reason):
    seen = []

    def interrupt_after_five_points(event, payload):
        if event == "progress":
            seen.append(payload["done"])
            if payload["done"] == 5:
                signal.raise_signal(signum)

    runner, outcome = run(tmp_path, [{"sequence": "liv", "params": {"points": 30,
                                                                     "settle": 0.0}}],
                          subscribers=[interrupt_after_five_points])
    world = runner.station.world
    assert outcome.status == "aborted" and reason in outcome.reason
    assert max(seen) == 5
    assert_outputs_off(world)
    # the SMU was ramped down before it was switched off: the last level it sourced was 0 A
    smu_levels = [c for n, c in world.commands if n == "smu" and c.startswith(":SOURce:CURRent ")]
    assert float(smu_levels[-1].split()[-1]) == 0.0
    with h5py.File(tmp_path / "run.h5", "r") as f:
        assert f.attrs["status"] == "aborted"
        step = f["steps/00_liv"]
        assert step.attrs["status"] == "aborted"
        assert np.all(np.isfinite(step["data/voltage"][()]))
        assert step["data/voltage"].shape[0] == 5


def test_fault_configuration_errors_are_clear(tmp_path):
    from common.errors import ConfigError

    for bad, message in [({"instrument": "smu", "kind": "melt", "at_command": 1}, "melt"),
                         ({"instrument": "smu", "kind": "timeout"}, "exactly one"),
                         ({"instrument": "smu", "kind": "timeout", "at_command": 0}, ">= 1"),
                         ({"kind": "timeout", "at_command": 1}, "instrument")]:
        config = builtin_station_config()
        config["simulation"] = {"faults": [bad]}
        with pytest.raises(ConfigError, match=message):
            StationConfig.from_mapping(config)


def test_a_garbled_error_queue_answer_is_asked_again_not_taken_for_an_error(tmp_path):
    faults = [{"instrument": "scope", "kind": "garbled", "at_command": n,
               "match": ":SYSTem:ERRor?"} for n in (1, 2)]  # the answer and its retry
    runner, outcome = run(tmp_path, [{"sequence": "liv", "params": FAST["liv"][0]}], faults)
    assert len(runner.station.world.faults.log) == 2
    assert outcome.status == "completed", outcome.reason
