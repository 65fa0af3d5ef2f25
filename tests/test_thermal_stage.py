"""The simulated TEC stage: its first-order response read through the TECSource's own readings,
its current limit, its relaxation to the room, what the simulated instrument refuses, and the
chip's base temperature following the stage."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.arroyo_5300 import Arroyo5300
from drivers.base import InstrumentError
from drivers.serial_link import open_serial
from sim_instruments import serial_sim
from sim_instruments.backend import SimulatedWorld
from sim_instruments.stage import StageParameters
from tests.manual_clock import ManualClock

ROOM = 298.15


def bench(initial_state=None, **stage) -> tuple[SimulatedWorld, Arroyo5300]:
    world = SimulatedWorld(stage_params=StageParameters(**stage), clock=ManualClock(),
                           initial_state={"tec": initial_state} if initial_state else {})
    tec = Arroyo5300(open_serial(serial_sim.attach("arroyo_5300", world, "tec"),
                                 Arroyo5300.serial_settings), name="tec")
    tec.connect()
    return world, tec


def readings(world, tec, duration: float, count: int = 30):
    """(simulated time, stage temperature) pairs from the TEC's own TEC:T? answers."""
    times, temps = [], []
    for _ in range(count):
        temps.append(tec.temperature())
        times.append(world.time())
        world.clock.sleep(duration / count)
    return np.array(times), np.array(temps)


def test_the_time_constant_comes_back_from_the_tecs_readings():
    tau = 10.0
    world, tec = bench(time_constant=tau, max_current=5.0)
    tec.set_temperature(ROOM + 5)  # a small step: the current stays within its limit
    tec.output_on()
    t, temp = readings(world, tec, 3 * tau)
    slope = np.polyfit(t, np.log(np.abs(temp - (ROOM + 5))), 1)[0]
    assert -1 / slope == pytest.approx(tau, rel=0.01)


def test_with_the_output_off_the_stage_relaxes_to_the_room():
    world, tec = bench({"temperature": 330.0, "setpoint": 330.0}, passive_time_constant=8.0)
    assert not tec.output_enabled()
    t, temp = readings(world, tec, 24.0)
    slope = np.polyfit(t, np.log(temp - ROOM), 1)[0]
    assert -1 / slope == pytest.approx(8.0, rel=0.02)
    assert temp[-1] < 330.0 and temp[-1] > ROOM


def test_the_current_limit_caps_the_heating_rate():
    heating_rate, limit = 0.5, 1.0  # K/s per A, A
    world, tec = bench(heating_rate=heating_rate, max_current=5.0)
    tec.set_limits(low=273.15, high=393.15, current=limit)
    tec.set_temperature(ROOM + 50)
    tec.output_on()
    assert tec.tec_current() == pytest.approx(limit)
    assert tec.condition() & 1  # current limit bit
    t, temp = readings(world, tec, 4.0, count=10)
    rate = np.polyfit(t, temp, 1)[0]
    # C dT/dt = alpha I_lim - G (T - T_room); near the room the second term is < 1 %
    assert rate == pytest.approx(heating_rate * limit, rel=0.03)


def test_the_chips_base_temperature_is_the_stage():
    world, tec = bench(time_constant=1.0)
    assert world.chip is world.chip_at(ROOM)
    tec.set_temperature(338.15)
    tec.output_on()
    world.clock.sleep(100.0)
    stage = tec.temperature()
    assert world.chip.params.ambient_temperature == pytest.approx(stage, abs=2e-3)
    assert stage == pytest.approx(338.15, abs=1e-3)


def test_in_tolerance_after_the_hold_time():
    world, tec = bench(time_constant=2.0)
    tec.set_tolerance(0.1, 5.0)
    tec.set_temperature(ROOM + 1)
    tec.output_on()
    assert not tec.in_tolerance()
    # within 0.1 K after 2 s ln(10) = 4.6 s, then 5 s of hold: in tolerance from 9.6 s
    world.clock.sleep(9.5)
    assert not tec.in_tolerance()
    world.clock.sleep(0.2)
    assert tec.in_tolerance()


def test_the_instrument_refuses_what_the_manual_says(monkeypatch):
    world, tec = bench()
    tec.set_limits(low=283.15, high=353.15, current=2.0)
    with pytest.raises(InstrumentError):
        tec.write_checked("TEC:T 85")  # beyond the high limit
    assert tec.setpoint() == pytest.approx(ROOM)
    with pytest.raises(InstrumentError):
        tec.write_checked("TEC:LIM:TLO 90")  # above the high limit
    with pytest.raises(InstrumentError):
        tec.write_checked("TEC:TOL 20,5")
    with pytest.raises(InstrumentError):
        tec.write_checked("TEC:LIM:ITE 50")
    with pytest.raises(InstrumentError):
        tec.write_checked("TEC:BOGUS 1")
    monkeypatch.setattr(tec, "retries", 0)
    tec.resource.timeout = 50
    with pytest.raises(InstrumentError):
        tec.query("TEC:BOGUS?")  # an unknown query is not answered
    assert tec.query_float("TEC:LIM:THI?") == pytest.approx(80.0)  # the link still works


def test_a_stage_beyond_a_limit_switches_the_output_off():
    world, tec = bench({"temperature": 380.0, "output": True})
    assert tec.condition() & (1 << 3)  # high temperature limit (100 C by default)
    assert not tec.output_enabled()
