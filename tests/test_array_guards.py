"""The switch and positioner guards: no switching while an SMU drives (judged from the simulated
SMU's and switch's own command log, and read back from the SMU, not the guard's memory), and no
move beyond the station's travel ever reaching the controller."""

from __future__ import annotations

import pytest

from bench.runner import guard_for
from bench.safety import DriveMonitor, PositionerGuard, SafeLimits, SwitchGuard
from common.errors import LimitError
from drivers.keithley2450 import Keithley2450
from drivers.keysight_34980a import Keysight34980A
from drivers.newport_smc100 import NewportSMC100
from drivers.roles import Positioner, SourceMeter, Switch
from drivers.serial_link import open_serial
from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from sim_instruments.serial_sim import attach

SMU, SWITCH = "USB0::0x05E6::0x2450::04400001::INSTR", "TCPIP0::192.168.1.30::inst0::INSTR"
LIMITS = SafeLimits(max_current=5e-3, max_voltage=6.0)
TRAVEL = [-1e-3, 1e-3]


def guarded(initial_state=None):
    world = SimulatedWorld.from_config({"array": {"rows": 2, "columns": 2},
                                        "initial_state": initial_state or {}})
    manager = open_simulated_bench({SMU: "keithley2450", SWITCH: "keysight_34980a"}, world,
                                   names={SMU: "smu", SWITCH: "switch"})
    smu = Keithley2450(manager.open_resource(SMU), name="smu")
    switch = Keysight34980A(manager.open_resource(SWITCH), name="switch",
                            **Keysight34980A.check_options({"rows": 2, "columns": 2}))
    smu.connect()
    switch.connect()
    drive = DriveMonitor(50.0)
    source = guard_for(SourceMeter, smu, LIMITS, drive)
    guard = guard_for(Switch, switch, LIMITS, drive)
    assert isinstance(guard, SwitchGuard)
    return world, smu, source, guard


def live_switching(world) -> list[str]:
    """Switch commands the switch received while the SMU's output was on (its own log)."""
    on, found = False, []
    for name, text in world.commands:
        if name == "smu" and text.upper().startswith(":OUTP"):
            on = text.split()[-1].upper() in ("ON", "1")
        elif name == "switch" and "ROUT" in text.upper() and "?" not in text and on:
            found.append(text)
    return found


def test_no_switching_while_the_smu_drives():
    world, _, source, guard = guarded()
    guard.select(0, 0)
    source.configure_current_source(voltage_limit=5.0)
    source.set_current(1e-3)
    source.output_on()
    for attempt in (lambda: guard.select(1, 1), guard.open_all):
        with pytest.raises(LimitError, match="smu's output is on at 0.001 A"):
            attempt()
    source.output_off()
    guard.select(1, 1)
    assert guard.selected() == (1, 1)
    assert live_switching(world) == []
    assert any(text == "ROUTe:CLOSe (@1202)" for _, text in world.commands)


def test_the_smu_is_read_back_not_remembered():
    # a source found on by a killed run: the guard never switched it on, the SMU says it is
    world, smu, _, guard = guarded({"smu": {"output": True, "function": "CURR",
                                            "level": 2e-3, "limit": 5.0}})
    with pytest.raises(LimitError, match="on at 0.002 A"):
        guard.select(0, 1)
    assert live_switching(world) == []
    assert not any(name == "switch" and "ROUT" in text for name, text in world.commands)


def test_an_smu_on_at_zero_may_switch():
    world, _, source, guard = guarded()
    source.configure_voltage_source(current_limit=1e-3)
    source.output_on()  # at 0 V
    guard.select(0, 1)
    assert guard.selected() == (0, 1)


def stage(world):
    axes = {a: {"address": k, "travel": TRAVEL} for k, a in enumerate("xyz", 1)}
    driver = NewportSMC100(open_serial(attach("newport_smc100", world, "stage")), name="stage",
                           **NewportSMC100.check_options({"axes": axes}))
    driver.connect()
    guard = guard_for(Positioner, driver, LIMITS, DriveMonitor(50.0))
    assert isinstance(guard, PositionerGuard)
    return guard


@pytest.mark.parametrize("move, problem", [
    ({"x": 1.5e-3}, "outside its travel"), ({"z": -1.01e-3}, "outside its travel"),
    ({"x": float("inf")}, "not a finite number"), ({"y": "0.1"}, "not a finite number"),
    ({"w": 0.0}, "has no axis 'w'")])
def test_an_out_of_travel_move_never_reaches_the_controller(move, problem):
    world = SimulatedWorld.from_config({"initial_state": {"stage": {"referenced": True}}})
    guard = stage(world)
    before = len(world.commands)
    with pytest.raises(LimitError, match=problem):
        guard.move_to(**move)
    with pytest.raises(LimitError, match=problem):
        guard.move_by(**move)
    assert not any(text[1:3] in ("PA", "PR") for _, text in world.commands[before:])


def test_a_relative_move_is_judged_from_the_position_read_back():
    world = SimulatedWorld.from_config({"initial_state": {"stage": {"referenced": True}}})
    guard = stage(world)
    guard.move_to(x=0.8e-3)
    before = len(world.commands)
    with pytest.raises(LimitError, match="x = 0.0011 m is outside"):
        guard.move_by(x=0.3e-3)
    assert not any(text[1:3] == "PR" for _, text in world.commands[before:])
    guard.move_by(x=-0.3e-3)
    assert guard.position()["x"] == pytest.approx(0.5e-3, abs=1e-12)
