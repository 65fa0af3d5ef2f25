"""Recipes: result limits are checked against what each sequence really gives, before a run."""

from __future__ import annotations

import numpy as np
import pytest

from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig
from common.errors import ConfigError
from sequences import SEQUENCES

SAMPLE = {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0, "max_pulse_current": 20e-3}}
QUICK = {  # small runs on the built-in simulated bench
    "liv": {"points": 25, "settle": 0.0},
    "iv": {"source": "voltage", "start": -5.0, "stop": 3.0, "points": 41, "spacing": "lin",
           "current_limit": 5e-3},
    "bandwidth": {"bias_currents": [2e-3, 5e-3], "points": 61},
    "pulse-response": {"acquisitions": 2},
    "eye": {"record_bits": 200, "acquisitions": 1},
    "spectrum": {"currents": [1e-3, 5e-3]},
}


def test_every_sequence_has_a_quick_run_here():
    assert set(QUICK) == set(SEQUENCES)


@pytest.mark.parametrize("name", sorted(QUICK))
def test_declared_results_are_what_analyse_gives(tmp_path, name):
    recipe = parse_recipe({"sample": SAMPLE, "steps": [{"sequence": name, "params": QUICK[name]}]})
    outcome = Runner(StationConfig.load(None), recipe, tmp_path / "run.h5").run()
    step = outcome.steps[0]
    assert step.status == "completed", step.reason
    assert set(step.results) == set(SEQUENCES[name].results)
    assert all(np.isfinite(r["value"]) for r in step.results.values())


def test_a_limit_on_a_result_the_sequence_does_not_give_is_refused_up_front():
    with pytest.raises(ConfigError, match=r"limits on \['peak_eqee'\].*peak_eqe"):
        parse_recipe({"sample": SAMPLE, "steps": [
            {"sequence": "liv", "limits": {"peak_eqee": [0.1, None]}}]})


def test_bench_sequences_lists_parameters_and_results(capsys):
    from bench.cli import main

    assert main(["sequences"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in SEQUENCES)
    assert main(["sequences", "liv"]) == 0
    shown = capsys.readouterr().out
    assert "voltage_limit        5          V" in shown and "peak_eqe" in shown
    assert main(["sequences", "nope"]) == 2
    assert "unknown sequence 'nope'" in capsys.readouterr().err
