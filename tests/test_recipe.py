"""Recipes: result limits are checked against what each sequence really gives, before a run."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig, builtin_station_config
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
    "pulsed-liv": {"points": 6},
    "array-map": {"rows": 2, "columns": 2, "settle": 0.0},
    "align": {"home": True, "span": 20e-6, "coarse_points": 5, "fine_points": 7, "z_points": 5,
              "emitted_power": 1e-3},
    "spectrum": {"currents": [1e-3, 5e-3]},
}
# a sequence that needs more of the simulation than the built-in bench's chip: its block
SIMULATION = {"align": {"coupling": {"optimum": [2e-6, -3e-6, 10e-6],
                                     "mode_field_radius": 3e-6, "focus_depth": 20e-6}}}


# a sequence whose role the built-in bench does not fill: the SMU added for its runs
EXTRA = {"pulsed-liv": {"pulsed_smu": {"driver": "keithley2600b", "simulated": True,
                                       "resource": "USB0::0x05E6::0x2602::4400001::INSTR"}}}
# sequences whose quick run needs a station of its own (a fast simulated clock for the TEC's
# settling and the stress), where the same check is made
ELSEWHERE = {"temperature-sweep": "test_temperature_sweep.py", "burn-in": "test_burn_in.py"}


def test_every_sequence_has_a_quick_run_here():
    assert set(QUICK) | set(ELSEWHERE) == set(SEQUENCES)


@pytest.mark.parametrize("name", sorted(QUICK))
def test_declared_results_are_what_analyse_gives(tmp_path, name):
    recipe = parse_recipe({"sample": SAMPLE, "steps": [{"sequence": name, "params": QUICK[name]}]})
    if name in SIMULATION:
        path = tmp_path / "station.yaml"
        path.write_text(yaml.safe_dump({"simulation": SIMULATION[name]}))
        config = StationConfig.load(path)
    else:
        station = builtin_station_config()
        station["instruments"].update(EXTRA.get(name, {}))
        config = StationConfig.from_mapping(station)
    outcome = Runner(config, recipe, tmp_path / "run.h5").run()
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
