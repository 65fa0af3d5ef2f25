"""The SMC100's exact command exchange, written from the SMC100CC/PP User's Manual ch. 6
(``<address><command><value>`` CR LF, OR, PA, PR, TP, TS, TE, VA?, ID?, VE), through pyserial's
own ``serial_for_url`` on the simulated daisy chain; and the controller's state machine."""

from __future__ import annotations

import itertools

import pytest
import serial

from drivers.base import InstrumentError
from drivers.newport_smc100 import NewportSMC100
from sim_instruments.backend import SimulatedWorld
from sim_instruments.serial_sim import attach

AXES = {"x": {"address": 1, "travel": [-2e-3, 2e-3]}, "y": {"address": 2, "travel": [-2e-3, 2e-3]}}


def chain(state=None):
    world = SimulatedWorld.from_config({"initial_state": {"stage": state}} if state else {})
    return world, attach("newport_smc100", world, "stage")


def stage_on(url, axes=AXES):
    from drivers.serial_link import open_serial

    stage = NewportSMC100(open_serial(url, NewportSMC100.serial_settings), name="stage",
                          **NewportSMC100.check_options({"axes": axes}))
    stage.connect()
    return stage


def sent(world, since=0):
    """Commands the chain received, repeated state polls counted once."""
    return [c for c, _ in itertools.groupby(text for _, text in world.commands[since:])]


def test_the_line_settings_are_the_manuals():
    assert NewportSMC100.serial_settings == {"baudrate": 57600, "bytesize": 8, "parity": "N",
                                             "stopbits": 1, "xonxoff": True}
    world, url = chain()
    port = serial.serial_for_url(url, **NewportSMC100.serial_settings, timeout=0.1)
    port.write(b"1TS\r\n")
    assert port.read_until(b"\r\n") == b"1TS00000A\r\n"  # NOT REFERENCED from reset
    port.write(b"2 pa 1.5\r\n1TE\r\n2TE\r\n")  # blanks and lower case accepted
    assert port.read_until(b"\r\n") == b"1TE@\r\n"
    assert port.read_until(b"\r\n") == b"2TEH\r\n"  # not allowed in NOT REFERENCED
    port.write(b"7TS\r\n")  # no controller at address 7: nobody answers
    assert port.read_until(b"\r\n") == b""


def test_connect_identifies_each_controller_and_moves_nothing():
    world, url = chain()
    stage_on(url)
    assert sent(world) == ["1VE", "1ID?", "1TE", "1VA?", "2VE", "2ID?", "2TE", "2VA?"]


def test_home_then_absolute_and_relative_moves_in_mm():
    world, url = chain()
    stage = stage_on(url)
    start = len(world.commands)
    stage.home()
    assert sent(world, start)[:6] == ["1TS", "2TS", "1OR", "1TE", "2OR", "2TE"]
    assert set(sent(world, start)[6:]) <= {"1TS", "2TS"}
    assert stage.position() == {"x": 0.0, "y": 0.0}
    start = len(world.commands)
    stage.move_to(x=0.25e-3)
    assert sent(world, start)[:3] == ["1TP", "1PA0.25", "1TE"]
    assert set(sent(world, start)[3:]) == {"1TS"}
    start = len(world.commands)
    stage.move_by(y=-5e-7)
    assert sent(world, start)[:4] == ["1TP", "2TP", "2PR-0.0005", "2TE"]
    assert stage.position() == pytest.approx({"x": 0.25e-3, "y": -5e-7}, abs=1e-12)
    assert world.stage.axis_position(1) == pytest.approx(0.25e-3, abs=1e-12)


def test_a_move_beyond_the_travel_never_reaches_the_controller():
    world, url = chain({"referenced": True})
    stage = stage_on(url)
    start = len(world.commands)
    for move in ({"x": 2.5e-3}, {"y": -2.001e-3}, {"x": float("nan")}, {"w": 0.0}):
        with pytest.raises(ValueError):
            stage.move_to(**move)
    assert not any("PA" in text for _, text in world.commands[start:])
    with pytest.raises(ValueError, match="outside its travel"):
        stage.move_by(x=2.1e-3)
    assert not any("PR" in text for _, text in world.commands[start:])


def test_a_move_before_homing_is_refused_by_the_controller_with_its_error():
    world, url = chain()
    stage = stage_on(url)
    with pytest.raises(InstrumentError, match="H: command not allowed in NOT REFERENCED"):
        stage.move_to(x=1e-3)
    assert stage.position()["x"] == 0.0


def test_the_controller_refuses_a_target_beyond_its_own_limits():
    world, url = chain({"referenced": True})
    stage = stage_on(url, {"x": {"address": 1, "travel": [-0.02, 0.02]}})  # wider than the stage
    with pytest.raises(InstrumentError, match="C: parameter missing or out of range"):
        stage.move_to(x=0.015)


def test_position_follows_the_motion_profile_while_moving():
    world, url = chain({"referenced": True, "velocity": 1.0, "acceleration": 10.0})
    port = serial.serial_for_url(url, timeout=0.1)
    port.write(b"1PA0.5\r\n1TS\r\n")
    assert port.read_until(b"\r\n") == b"1TS000028\r\n"  # MOVING
    middle = world.stage_position()[0]
    assert 0.0 <= middle < 0.5e-3
    port.write(b"1PA0.2\r\n1TE\r\n")
    assert port.read_until(b"\r\n") == b"1TEM\r\n"  # not allowed in MOVING


@pytest.mark.parametrize("axes, problem", [
    ({}, "needs option axes"),
    ({"x": {"address": 0, "travel": [0, 1e-3]}}, "address must be 1-31"),
    ({"x": {"address": 1, "travel": [1e-3, 0]}}, "low < high"),
    ({"x": {"address": 1, "travel": [0, float("inf")]}}, "travel must be"),
    ({"x": {"address": 1, "travel": [0, 2.0]}}, "travel must be"),
    ({"x": {"address": 1}}, "exactly address and travel"),
    ({"x": {"address": 1, "travel": [0, 1e-3]}, "y": {"address": 1, "travel": [0, 1e-3]}},
     "share an address"),
])
def test_bad_axes_options_are_refused(axes, problem):
    with pytest.raises(ValueError, match=problem):
        NewportSMC100.check_options({"axes": axes})


def test_check_plan_refuses_positions_outside_the_travel():
    world, url = chain()
    stage = stage_on(url)
    assert stage.check_plan({"positions": {"x": (-1e-3, 1e-3)}}) == []
    assert stage.check_plan({"positions": {"x": (-1e-3, 3e-3)}}) == [
        "positions[x] -0.001 to 0.003 m is outside its travel -0.002 to 0.002 m (SMC100)"]
    assert stage.check_plan({"positions": {"q": (0, 0)}}) == ["axis 'q' is not one of x, y"]
