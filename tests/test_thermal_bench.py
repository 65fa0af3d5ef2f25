"""The TEC on the built-in simulated bench: switched off in the safe state like every output,
the run on the simulated world's clock with its speed in the file, and a clock faster than
real time refused on a station with real instruments."""

from __future__ import annotations

from types import SimpleNamespace

import h5py
import pytest

from bench.clock import SimulatedBenchClock, WallClock, clock_for
from bench.recipe import parse_recipe
from bench.runner import Runner
from bench.station import StationConfig, builtin_station_config
from common.errors import ConfigError
from sim_instruments.backend import SimulatedWorld

SAMPLE = {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0}}
LIV = {"sequence": "liv", "params": {"start": 1e-4, "stop": 2e-3, "points": 3, "settle": 0.0}}


def run(tmp_path, station):
    runner = Runner(StationConfig.from_mapping(station),
                    parse_recipe({"sample": SAMPLE, "steps": [LIV]}), tmp_path / "run.h5")
    return runner, runner.run()


def test_the_builtin_tec_starts_at_room_temperature_with_its_output_off(tmp_path):
    runner, outcome = run(tmp_path, builtin_station_config())
    assert outcome.status == "completed", outcome.reason
    world = runner.station.world
    assert world.stage is not None
    assert world.stage_temperature() == pytest.approx(world.chip_params.ambient_temperature)
    assert not world.stage.enabled
    assert isinstance(runner.clock, SimulatedBenchClock) and runner.clock.speed == 1
    with h5py.File(runner.path) as f:
        assert f.attrs["clock_speed"] == 1.0


def test_a_tec_found_on_goes_off_before_step_1_and_the_clock_speed_is_stored(tmp_path):
    station = builtin_station_config()
    station["simulation"]["initial_state"] = {"tec": {"output": True, "setpoint": 320.0}}
    station["simulation"]["clock"] = {"speed": 1000.0}
    runner, outcome = run(tmp_path, station)
    assert outcome.status == "completed", outcome.reason
    world = runner.station.world
    tec = [command for name, command in world.commands if name == "tec"]
    smu_first = next(i for i, (name, c) in enumerate(world.commands)
                     if name == "smu" and c == ":SOURce:FUNCtion CURR")
    off = world.commands.index(("tec", "TEC:OUT 0"))
    assert off < smu_first and "TEC:OUT 1" not in tec
    assert not world.stage.enabled
    with h5py.File(runner.path) as f:
        assert f.attrs["clock_speed"] == 1000.0


def test_a_fast_clock_with_real_instruments_is_refused(tmp_path):
    world = SimulatedWorld.from_config({"clock": {"speed": 100.0}})
    assert isinstance(clock_for(None, ["smu"]), WallClock)
    assert clock_for(world, []).speed == 100.0
    assert clock_for(SimulatedWorld(), ["smu"]).speed == 1  # real time is fine with hardware
    runner = Runner(StationConfig.from_mapping(builtin_station_config()),
                    parse_recipe({"sample": SAMPLE, "steps": [LIV]}), tmp_path / "run.h5")
    runner.station = SimpleNamespace(world=world, instruments={
        "smu": SimpleNamespace(simulated=False), "tec": SimpleNamespace(simulated=True)})
    with pytest.raises(ConfigError, match="speed 100 needs an all-simulated station; real: smu"):
        runner._use_station_clock()
    assert isinstance(runner.clock, WallClock)


def test_a_resumed_run_carries_the_chips_damage_into_its_new_world(tmp_path):
    station = builtin_station_config()
    station["simulation"]["clock"] = {"speed": 1e6}
    station["simulation"]["degradation"] = {"decay_rate": 1e-6,
                                            "reference_current_density": 1e6}
    stress = {"sequence": "liv", "params": {"start": 1e-3, "stop": 2e-3, "points": 2,
                                            "settle": 5000.0}}
    recipe = parse_recipe({"sample": SAMPLE, "steps": [{**stress, "name": "first"},
                                                       {**stress, "name": "second"}]})
    path = tmp_path / "run.h5"
    first = Runner(StationConfig.from_mapping(station), recipe, path)
    assert first.run().status == "completed"
    with h5py.File(path, "r+") as f:  # as if killed during the second step
        stored = float(f.attrs["simulated_damage"])
        f.attrs["status"] = "aborted"
        f["steps"][sorted(f["steps"])[-1]].attrs["status"] = "aborted"
    assert stored > 0
    again = Runner(StationConfig.from_mapping(station), recipe, path, resume=True)
    assert again.run().status == "completed"
    world = again.station.world
    assert world.degradation.initial_damage == stored
    with h5py.File(path) as f:
        assert f.attrs["simulated_damage"] > stored


def test_bench_check_refuses_a_fast_clock_with_a_real_instrument(tmp_path):
    from bench.plan import PlanError

    station = builtin_station_config()
    station["simulation"]["clock"] = {"speed": 50.0}
    station["instruments"]["tec"]["simulated"] = False
    runner = Runner(StationConfig.from_mapping(station),
                    parse_recipe({"sample": SAMPLE, "steps": [LIV]}), tmp_path / "run.h5")
    with pytest.raises(PlanError, match="speed 50 needs an all-simulated station; real: tec"):
        runner.check()
    assert not (tmp_path / "run.h5").exists()
    forced = Runner(StationConfig.from_mapping(station),
                    parse_recipe({"sample": SAMPLE, "steps": [LIV]}), tmp_path / "run.h5",
                    force_sim=True)
    forced.check()  # --sim: every instrument simulated
