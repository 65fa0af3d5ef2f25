"""The whole recipe checked before anything moves: ``bench check`` and the runner's check."""

from __future__ import annotations

import json

import pytest
from conftest import record_stations

import drivers.keysight_81134a
import drivers.keysight_e5071c
from bench.cli import main
from bench.plan import PlanError, check_recipe
from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig

SAMPLE = {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0}}
LIV = {"sequence": "liv", "name": "liv", "params": {"points": 4, "settle": 0.0}}
IV = {"sequence": "iv", "name": "iv", "params": {"points": 4}}


def recipe_file(write_yaml, *steps, sample=None):
    return write_yaml("recipe.yaml", json.dumps({"sample": sample or SAMPLE,
                                                 "steps": list(steps)}))


def test_third_step_beyond_the_generator_is_refused_before_anything_is_sent(
        tmp_path, write_yaml, monkeypatch, capsys):
    eye = {"sequence": "eye", "name": "eye", "params": {"bit_rate": 5e9}}
    stations = record_stations(monkeypatch)
    code = main(["run", recipe_file(write_yaml, LIV, IV, eye), "-o", str(tmp_path / "r.h5")])
    assert code == 2
    assert not stations and not (tmp_path / "r.h5").exists()  # nothing opened, nothing sent
    err = capsys.readouterr().err
    assert "step eye: bit rate 5e+09 b/s is above the pattern generator's max_bit_rate" in err


def test_the_models_declared_ranges_are_asked_before_opening(tmp_path, monkeypatch):
    asked = []

    def check_plan(cls, request):  # a model whose level window ends at 0.1 V
        asked.append(request)
        return [f"high {request['high']:g} V is above 0.1 V"] if request["high"] > 0.1 else []

    monkeypatch.setattr(drivers.keysight_81134a.Keysight81134A, "check_plan",
                        classmethod(check_plan))
    pulse = {"sequence": "pulse-response", "name": "pulse",
             "params": {"modulation_current": 5e-3}}
    recipe = parse_recipe({"sample": SAMPLE, "steps": [LIV, IV, pulse]})
    stations = record_stations(monkeypatch)
    with pytest.raises(PlanError, match=r"step pulse: generator: high 0.125 V is above 0.1 V"):
        Runner(StationConfig.load(None), recipe, tmp_path / "r.h5").run()
    assert not stations and not (tmp_path / "r.h5").exists()
    # 5 mA through 50 + 50 ohm: EMF 0.5 V, programmed 0.25 V, centred: what the model saw
    assert asked[-1]["high"] == pytest.approx(0.125)
    assert asked[-1]["low"] == pytest.approx(-0.125)
    assert asked[-1]["bit_rate"] == 2e9 and asked[-1]["pattern_bits"] == 256


def test_the_connected_instrument_is_asked_after_identification(tmp_path, monkeypatch):
    model = drivers.keysight_e5071c.KeysightE5071C
    connect = model.connect

    def connect_and_read_option(self):  # as an option read from *OPT? limits this unit
        idn = connect(self)
        self.check_plan = lambda request: (
            [f"stop {request['stop']:g} Hz is beyond this unit's 1e+09 Hz option"]
            if request["stop"] > 1e9 else [])
        return idn

    monkeypatch.setattr(model, "connect", connect_and_read_option)
    bandwidth = {"sequence": "bandwidth", "name": "bw", "params": {"points": 51}}
    recipe = parse_recipe({"sample": SAMPLE, "steps": [LIV, bandwidth]})
    stations = record_stations(monkeypatch)
    outcome = Runner(StationConfig.load(None), recipe, tmp_path / "r.h5").run()
    assert outcome.status == "failed" and not outcome.steps
    assert "step bw: vna: stop 3e+09 Hz is beyond this unit's 1e+09 Hz option" in outcome.reason
    scpi = {name for name, inst in stations[0].instruments.items() if not inst.config.serial}
    commands = [c for name, c in stations[0].world.commands if name in scpi]
    # identification (connect), the safe state (outputs read and switched off, so that a
    # refused run leaves nothing live) and read-back queries: no level, no output on; the
    # serial stage (its own protocol) is identified and asked, never moved
    assert commands.count("*IDN?") == len(scpi)
    stage = [c for name, c in stations[0].world.commands if name not in scpi]
    assert stage and not any(c[1:3] in ("OR", "PA", "PR") for c in stage), stage
    sent = [c for c in commands if "?" not in c and c not in ("*CLS",)]
    assert sent and all(c.upper().endswith(" OFF") for c in sent), sent
    assert max(abs(i) for i in stations[0].world.current_history or [0.0]) == 0.0


@pytest.mark.parametrize(("sample", "message"), [
    ({"diameter": 20e-3}, "diameter 0.02 m is outside"),          # mm read as m
    ({"diameter": 0.2e-6}, "diameter 2e-07 m is outside"),
    ({"wavelength": 4.5e-6}, "wavelength 4.5e-06 m is outside"),  # nm read as 10 nm
    ({"wavelength": 100e-9}, "wavelength 1e-07 m is outside"),
    ({"limits": {"max_current": 1.0, "max_voltage": 6.0}}, "more than 10 kA/cm^2"),
])
def test_implausible_samples_need_force(write_yaml, capsys, sample, message):
    path = recipe_file(write_yaml, IV, sample={**SAMPLE, **sample})
    assert main(["check", path]) == 2
    err = capsys.readouterr().err
    assert message in err and "--force" in err
    assert main(["check", path, "--force"]) == 0


def test_check_lists_every_problem_one_line_each(write_yaml, capsys):
    log_from_zero = {"sequence": "liv", "name": "zero", "params": {"start": 0.0}}
    fast_eye = {"sequence": "eye", "name": "fast", "params": {"bit_rate": 5e9}}
    loud_vna = {"sequence": "bandwidth", "name": "loud", "params": {"power": 0.0}}
    code = main(["check", recipe_file(write_yaml, log_from_zero, fast_eye, loud_vna)])
    assert code == 2
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("bench: refused: ")]
    assert len(lines) == 3
    assert "step zero: a log sweep needs start and stop non-zero" in lines[0]
    assert "step fast: bit rate 5e+09 b/s is above" in lines[1]
    assert "step loud: VNA power 0 dBm gives a modulation" in lines[2]
    assert "not small-signal" in lines[2]


def test_result_limits_need_min_below_max(write_yaml, capsys):
    bad_limits = {"sequence": "iv", "name": "limits", "params": {"points": 4},
                  "limits": {"forward_voltage": [3.5, 2.5]}}
    assert main(["check", recipe_file(write_yaml, bad_limits)]) == 2
    err = capsys.readouterr().err
    assert "forward_voltage" in err and "3.5" in err and "2.5" in err


def test_check_prints_each_steps_plan(write_yaml, capsys):
    pulse = {"sequence": "pulse-response", "name": "pulse", "params": {}}
    assert main(["check", recipe_file(write_yaml, LIV, pulse)]) == 0
    out = capsys.readouterr().out
    assert "step liv (liv)" in out and "step pulse (pulse-response)" in out
    assert "smu" in out and "current 5 mA" in out and "voltage 5 V" in out
    # 1 mA through 50 + 50 ohm: EMF 0.1 V, programmed 50 mV, centred
    assert "pattern_generator  generator    high 25 mV, low -25 mV" in out
    assert "oscilloscope" in out and "sample_rate 10 GSa/s" in out


def test_a_simulated_chip_other_than_the_sample_is_said_once(write_yaml, capsys):
    other = {**SAMPLE, "diameter": 50e-6}
    assert main(["check", recipe_file(write_yaml, LIV, IV, sample=other)]) == 0
    err = capsys.readouterr().err
    assert err.count("the simulated chip is not the recipe's sample") == 1
    assert "diameter 2e-05 m (sample 5e-05 m)" in err


def test_a_role_the_station_lacks_is_a_plan_problem(write_yaml):
    station = StationConfig.load(None)
    del station.instruments["power_meter"]
    plan = check_recipe(parse_recipe({"sample": SAMPLE, "steps": [IV, LIV]}), station)
    assert plan.all_problems() == [
        "step liv: sequence liv needs a PowerMeter as 'power_meter'; the station has none"]
