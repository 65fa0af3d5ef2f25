"""The simulated 2600B as an instrument: its TSP interpreter refuses what the instrument refuses,
and its readings are the chip model's closed form plus the leads (2-wire) or not (4-wire), with
pulses heating the junction by the fraction the thermal pole gives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from common.passive import Setup
from drivers.keithley2600b import Keithley2600B
from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from sim_instruments.chip import ChipParameters, MicroLED, pulse_heating_fraction

RESOURCE = "USB0::0x05E6::0x2602::4400001::INSTR"
LEAD = 3.0  # ohm


def bench(sense="2-wire", lead=LEAD, **chip):
    world = SimulatedWorld(chip_params=ChipParameters(noise=0.0, **chip),
                           setup=Setup.from_mapping({"leads": {"resistance": lead}}))
    manager = open_simulated_bench({RESOURCE: "keithley2600b"}, world, {RESOURCE: "smu"})
    smu = Keithley2600B(manager.open_resource(RESOURCE), name="smu", sense=sense)
    smu.connect()
    return smu, world


def raw(world):
    resource = world.instruments["smu"]

    def send(text):
        resource.write(text.encode() + b"\n")
        return resource.output.popleft().decode().strip() if resource.output else None
    return send


@pytest.mark.parametrize("sense, lead_seen", [("2-wire", LEAD), ("4-wire", 0.0)])
def test_dc_voltage_is_the_chip_plus_the_leads_in_two_wire_only(sense, lead_seen):
    smu, world = bench(sense)
    smu.configure_current_source(voltage_limit=6.0)
    smu.output_on()
    chip = MicroLED(ChipParameters(noise=0.0))
    for current in (1e-3, 8e-3):
        smu.set_current(current)
        voltage, measured = smu.measure()
        expected = float(chip.steady_state(np.array([current])).voltage[0]) + current * lead_seen
        assert measured == pytest.approx(current, rel=5e-6)  # print's 6 digits
        assert voltage == pytest.approx(expected, rel=5e-6)
    smu.output_off()
    assert world.drive_current == 0.0


def test_the_leads_count_against_the_compliance_in_two_wire():
    """At a 3.2 V limit, 2-wire: the SMU holds V_chip(I) + I R_L = 3.2 V and delivers that I."""
    smu, world = bench("2-wire", lead=50.0)
    smu.configure_current_source(voltage_limit=3.2)
    smu.output_on()
    smu.set_current(10e-3)
    voltage, current = smu.measure()
    chip = MicroLED(ChipParameters(noise=0.0))
    assert voltage == pytest.approx(3.2)
    assert current < 10e-3
    chip_volts = float(chip.steady_state(np.array([current])).voltage[0])
    assert chip_volts + 50.0 * current == pytest.approx(3.2, abs=2e-6)  # I to 6 digits


def test_pulsed_forward_voltage_exceeds_dc_by_the_heating_the_chip_predicts():
    """V_pulsed - V_DC = |dV/dT| (dT_DC - dT_pulse); the heating fraction written here from the
    single thermal pole: end of pulse theta_w = (1 - e^-w/tau) / (1 - e^-T/tau), start theta_0
    = theta_w e^-(T-w)/tau, at t: 1 - (1 - theta_0) e^-t/tau, t the middle of the reading
    (60 % to 90 % of the width)."""
    tau, width, period = 1e-3, 200e-6, 20e-3
    smu, world = bench("4-wire", thermal_time_constant=tau)
    levels = np.array([2e-3, 6e-3, 12e-3])
    smu.configure_current_source(voltage_limit=6.0)
    smu.output_on()
    dc = smu.sweep_current(levels)
    smu.output_off()
    pulsed = smu.pulse_sweep(levels, width=width, period=period, voltage_limit=6.0)
    end = (1 - math.exp(-width / tau)) / (1 - math.exp(-period / tau))
    assert end == pytest.approx(pulse_heating_fraction(width, period, tau))
    start = end * math.exp(-(period - width) / tau)
    theta = 1 - (1 - start) * math.exp(-0.75 * width / tau)
    chip = MicroLED(ChipParameters(noise=0.0, thermal_time_constant=tau))
    rise_dc = chip.steady_state(levels).junction_temperature - 298.15
    rise_pulse = chip.steady_state(levels, heating=theta).junction_temperature - 298.15
    k = abs(chip.params.voltage_temperature_coefficient)
    assert np.all(pulsed.voltage > dc.voltage)
    np.testing.assert_allclose(pulsed.voltage - dc.voltage, k * (rise_dc - rise_pulse),
                               rtol=2e-3)
    assert world.drive_current == 0.0  # output off after the pulses


def test_the_command_log_shows_no_pulse_beyond_what_was_asked():
    smu, world = bench()
    smu.pulse_sweep(np.array([1e-3, 5e-3, 9e-3]), width=100e-6, period=10e-3,
                    voltage_limit=6.0)
    sent = [c for name, c in world.commands if name == "smu"]
    assert "trigger.timer[2].delay = 0.0001" in sent and "trigger.timer[1].delay = 0.01" in sent
    lists = [c for c in sent if "trigger.source.listi" in c]
    assert lists == ["smua.trigger.source.listi({0.001, 0.005, 0.009})"]
    model = world.instruments["smu"].model
    assert [p[0] for p in model.pulses] == [1e-3, 5e-3, 9e-3]
    assert all(w == pytest.approx(100e-6) and w / t <= 0.01 + 1e-12 for _, w, t in model.pulses)
    assert max(world.current_history) == pytest.approx(9e-3)


def test_a_pulse_beyond_its_region_ends_early_as_the_manual_says():
    """Region 4 (10 A at 20 V): at most 1.8 ms and 1 %; asked 3 ms at 10 % the simulated
    instrument ends the pulse at 1.8 ms and stretches the period to 180 ms."""
    smu, world = bench()
    send = raw(world)
    for text in ("smua.source.func = smua.OUTPUT_DCAMPS", "smua.source.limitv = 20",
                 "smua.source.output = smua.OUTPUT_ON",
                 "smua.trigger.source.listi({8})", "smua.trigger.source.limitv = 20",
                 "smua.trigger.source.action = smua.ENABLE", "smua.trigger.count = 1",
                 "trigger.timer[1].delay = 0.03", "trigger.timer[1].passthrough = true",
                 "trigger.timer[1].stimulus = smua.trigger.ARMED_EVENT_ID",
                 "trigger.timer[2].delay = 0.003",
                 "trigger.timer[2].stimulus = trigger.timer[1].EVENT_ID",
                 "smua.trigger.source.stimulus = trigger.timer[1].EVENT_ID",
                 "smua.trigger.endpulse.stimulus = trigger.timer[2].EVENT_ID",
                 "smua.trigger.endpulse.action = smua.SOURCE_IDLE",
                 "smua.trigger.initiate()"):
        assert send(text) is None
    assert send("print(errorqueue.next())").startswith("0.00000e+00\tQueue Is Empty")
    (level, width, period), = world.instruments["smu"].model.pulses
    assert (level, width) == (8.0, pytest.approx(1.8e-3))
    assert period == pytest.approx(0.18)


@pytest.mark.parametrize("chunk, code", [
    ("smua.source.levelx = 1", "-2.86000e+02"),          # no such attribute
    ("smua.source.leveli = 5", "-2.86000e+02"),          # beyond 3.03 A
    ("smua.source.leveli = = 1", "-2.85000e+02"),        # not Lua
    ("print(smua.source.leveli", "-2.85000e+02"),
    ("smua.source.func = smua.OUTPUT_DCAMPS smua.source.leveli = 1e-3 smua.bogus()",
     "-2.86000e+02"),
])
def test_the_interpreter_queues_what_it_refuses(chunk, code):
    smu, world = bench()
    send = raw(world)
    assert send(chunk) is None
    assert send("print(errorqueue.next())").split("\t")[0] == code
    assert send("print(errorqueue.next())").split("\t")[1] == "Queue Is Empty"


def test_a_syntax_error_runs_none_of_the_chunk_a_runtime_error_stops_where_it_is():
    smu, world = bench()
    send = raw(world)
    send("smua.source.leveli = 0.002 smua.source.limitv = = 3")
    assert send("print(smua.source.leveli)") == "0.00000e+00"
    send("smua.source.leveli = 0.002 smua.nothing = 1 smua.source.leveli = 0.003")
    assert send("print(smua.source.leveli)") == "2.00000e-03"


def test_found_left_on_by_a_killed_run():
    world = SimulatedWorld(initial_state={"smu": {"output": True, "function": "CURR",
                                                  "level": 4e-3, "limit": 6.0}})
    manager = open_simulated_bench({RESOURCE: "keithley2600b"}, world, {RESOURCE: "smu"})
    smu = Keithley2600B(manager.open_resource(RESOURCE), name="smu")
    smu.connect()
    assert smu.describe_output() == "output ON, source 0.004 A, limit 6 V"
    assert world.drive_current == pytest.approx(4e-3)
