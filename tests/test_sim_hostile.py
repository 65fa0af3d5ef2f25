"""Hostile ``simulation:`` blocks: one clear ValueError each, never an OverflowError, TypeError or
a silently accepted absurd value (the station parser turns ValueError into a ConfigError line)."""

from __future__ import annotations

import pytest

from sim_instruments.backend import SimulatedWorld
from sim_instruments.chip import BOUNDS, ChipParameters

HOSTILE = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 10**400, -(10**400), True,
           False, None, "1e-6", [1.0], {"a": 1}, 0, -1.0]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_every_chip_parameter_refuses_hostile_values(name, value):
    if name == "voltage_temperature_coefficient" and value in (0, -1.0, False) \
            and not isinstance(value, bool):
        if value == 0:
            assert ChipParameters.from_mapping({name: value})  # no coefficient: plausible
            return
    if name == "noise" and value == 0 and not isinstance(value, bool):
        assert ChipParameters.from_mapping({name: value}).noise == 0.0
        return
    if name == "seed" and value == 0 and not isinstance(value, bool):
        assert ChipParameters.from_mapping({name: value}).seed == 0
        return
    with pytest.raises(ValueError) as info:
        ChipParameters.from_mapping({name: value})
    message = str(info.value)
    assert name in message and "\n" not in message and len(message) < 200


def test_bounds_keep_the_literature_defaults_inside():
    defaults = ChipParameters()
    for name, (low, high) in BOUNDS.items():
        assert low <= getattr(defaults, name) <= high, name


@pytest.mark.parametrize("config, message", [
    (5, "simulation block must be a mapping"),
    ([1, 2], "simulation block must be a mapping"),
    ({"chip": 5}, "chip parameters must be a mapping"),
    ({"chip": [1]}, "chip parameters must be a mapping"),
    ({"chip": {"diameter": 1e308}}, "diameter must be in"),
    ({"chip": {"seed": 10**400}}, "seed must be an integer"),
    ({"collection_efficiency": float("nan")}, "collection_efficiency must be a finite number"),
    ({"collection_efficiency": 10**400}, "collection_efficiency must be in"),
    ({"collection_efficiency": True}, "collection_efficiency must be a finite number"),
    ({"collection_efficiency": "0.5"}, "collection_efficiency must be a finite number"),
    ({"faults": {"kind": "timeout"}}, "faults must be a list"),
    ({"faults": [5]}, "each fault must be a mapping"),
    ({"faults": [{"instrument": "smu", "kind": "timeout", "probability": True}]},
     "probability"),
    ({"faults": [{"instrument": "smu", "kind": "timeout", "at_command": 1, "match": 3}]},
     "match"),
    ({"fault_seed": 10**400}, "fault_seed"),
    ({"fault_seed": -1}, "fault_seed"),
    ({"initial_state": 3}, "initial_state must be a mapping"),
    ({"initial_state": {"smu": [1]}}, "initial_state.smu must be a mapping"),
    ({"chipp": {}}, "unknown key(s) in simulation block: chipp"),
])
def test_simulation_block_errors_are_one_line(config, message):
    with pytest.raises(ValueError) as info:
        SimulatedWorld.from_config(config)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_empty_block_is_the_default_world():
    assert SimulatedWorld.from_config(None).chip_params == ChipParameters()
    assert SimulatedWorld.from_config({"chip": None}).chip_params == ChipParameters()
