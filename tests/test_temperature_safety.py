"""Temperature limits of the sample: SafeLimits' min/max_temperature validated, the TEC guard
refusing set-points beyond them before anything is sent (the simulated TEC's own command log)
and programming the instrument's limits from them."""

from __future__ import annotations

import pytest

from bench.safety import LimitError, SafeLimits, TemperatureGuard
from common.errors import ConfigError
from drivers.arroyo_5300 import Arroyo5300
from drivers.base import InstrumentError
from drivers.serial_link import open_serial
from sim_instruments import serial_sim
from sim_instruments.backend import SimulatedWorld
from tests.manual_clock import ManualClock

BASE = {"max_current": 10e-3, "max_voltage": 6.0}


def guarded(**limits):
    world = SimulatedWorld(clock=ManualClock())
    tec = Arroyo5300(open_serial(serial_sim.attach("arroyo_5300", world, "tec"),
                                 Arroyo5300.serial_settings), name="tec")
    tec.connect()
    return world, tec, TemperatureGuard(tec, SafeLimits.from_mapping({**BASE, **limits}))


def sent(world) -> list[str]:
    return [command for name, command in world.commands if name == "tec"]


def test_limits_are_optional_and_checked():
    limits = SafeLimits.from_mapping({**BASE, "min_temperature": 283.15,
                                      "max_temperature": 358.15})
    assert (limits.min_temperature, limits.max_temperature) == (283.15, 358.15)
    assert SafeLimits.from_mapping(BASE).max_temperature is None


@pytest.mark.parametrize("bad", [
    {"max_temperature": float("nan")}, {"max_temperature": -5.0}, {"max_temperature": "85"},
    {"max_temperature": 1e4}, {"min_temperature": 350.0, "max_temperature": 300.0},
    {"min_temperature": True}])
def test_bad_temperature_limits_are_refused(bad):
    with pytest.raises(ConfigError):
        SafeLimits.from_mapping({**BASE, **bad})


def test_a_set_point_beyond_the_samples_limits_is_never_sent():
    world, tec, guard = guarded(min_temperature=283.15, max_temperature=358.15)
    before = len(world.commands)
    for bad in (358.16, 273.15, float("inf")):
        with pytest.raises(LimitError):
            guard.set_temperature(bad)
    assert len(world.commands) == before  # nothing reached the instrument
    with pytest.raises(LimitError):
        guard.set_limits(low=283.15, high=373.15, current=1.0)
    assert len(world.commands) == before


def test_the_instruments_limits_are_programmed_from_the_samples_first():
    world, tec, guard = guarded(min_temperature=283.15, max_temperature=358.15)
    guard.set_temperature(348.15)
    commands = sent(world)
    assert commands.index("TEC:LIM:THI 85") < commands.index("TEC:T 75")
    assert "TEC:LIM:TLO 10" in commands
    assert tec.setpoint() == pytest.approx(348.15)
    # the instrument itself now refuses what the sample cannot take
    with pytest.raises(InstrumentError):
        tec.set_temperature(363.15)


def test_the_guard_hides_what_is_not_the_role():
    world, tec, guard = guarded()
    with pytest.raises(AttributeError):
        guard.write("TEC:T 200")
    guard.output_on()  # no sample temperature limits: the instrument's are left as they are
    assert not any(c.startswith("TEC:LIM") for c in sent(world))
    assert guard.output_enabled()
