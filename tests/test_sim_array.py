"""The simulated emitter array behind the 34980A and the fibre coupling: seeded faults are what
they say (judged through the simulated instruments against the configured resistances), spreads
give the configured CVs, the coupling follows the Gaussian overlap's closed form, and hostile
blocks are refused in one line."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from bench.station import StationConfig
from common.errors import ConfigError
from drivers.keithley2450 import Keithley2450
from drivers.keysight_34980a import Keysight34980A
from drivers.newport_smc100 import NewportSMC100
from drivers.serial_link import open_serial
from drivers.thorlabs_pm100d import ThorlabsPM100D
from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from sim_instruments.chip import MicroLED
from sim_instruments.serial_sim import attach

SMU, METER, SWITCH = ("USB0::0x05E6::0x2450::04400001::INSTR",
                      "USB0::0x1313::0x8078::P0012345::INSTR",
                      "TCPIP0::192.168.1.30::inst0::INSTR")
ARRAY = {"rows": 3, "columns": 4, "dead": [[0, 1]], "shorted": [[1, 2]], "leaky": [[2, 3]],
         "short_resistance": 20.0, "leak_resistance": 2.0e6, "seed": 4}
W, ZR = 2.5e-6, 20e-6
OPTIMUM = [3e-6, -2e-6, 1e-6]


def bench(simulation):
    world = SimulatedWorld.from_config(simulation)
    manager = open_simulated_bench({SMU: "keithley2450", METER: "thorlabs_pm100d",
                                    SWITCH: "keysight_34980a"}, world,
                                   names={SMU: "smu", METER: "meter", SWITCH: "switch"})
    smu = Keithley2450(manager.open_resource(SMU), name="smu")
    meter = ThorlabsPM100D(manager.open_resource(METER), name="meter")
    array = simulation.get("array", {"rows": 1, "columns": 1})
    switch = Keysight34980A(manager.open_resource(SWITCH), name="switch", **Keysight34980A
                            .check_options({"rows": array["rows"], "columns": array["columns"]}))
    for driver in (smu, meter, switch):
        driver.connect()
    meter.configure(wavelength=450e-9)
    return world, smu, meter, switch


def at_current(smu, meter, current, limit=6.0):
    smu.configure_current_source(voltage_limit=limit)
    smu.set_current(current)
    smu.output_on()
    try:
        voltage, measured = smu.measure()
        return voltage, measured, meter.read_power()
    finally:
        smu.output_off()


def at_voltage(smu, voltage):
    smu.configure_voltage_source(current_limit=1e-3)
    smu.set_voltage(voltage)
    smu.output_on()
    try:
        return smu.measure()[1]
    finally:
        smu.output_off()


def test_seeded_faults_are_what_they_say_through_the_instruments():
    world, smu, meter, switch = bench({"array": ARRAY})
    good = at_current(smu, meter, 1e-3)  # no route closed yet: an open circuit
    assert good[1] == 0.0 and good[0] == pytest.approx(6.0, rel=0.01) and good[2] < 1e-9
    switch.select(0, 0)
    v_good, i_good, p_good = at_current(smu, meter, 1e-3)
    assert 2.5 < v_good < 3.6 and i_good == pytest.approx(1e-3, rel=0.01) and p_good > 1e-4
    switch.select(0, 1)  # dead: open, no current, the source rails at its limit, dark
    v, i, p = at_current(smu, meter, 1e-3)
    assert i == 0.0 and v == pytest.approx(6.0, rel=0.01) and p < 1e-9
    switch.select(1, 2)  # shorted: V = I x R_short, dark
    v, i, p = at_current(smu, meter, 1e-3)
    assert v == pytest.approx(1e-3 * 20.0, rel=0.02) and p < 1e-3 * p_good
    switch.select(2, 3)  # leaky: reverse current = V / R_leak
    assert at_voltage(smu, -4.0) == pytest.approx(-4.0 / 2.0e6, rel=0.02)
    switch.select(2, 2)
    assert abs(at_voltage(smu, -4.0)) < 1e-9  # a good emitter's 1e12 ohm shunt: ~4 pA


def test_rates_pick_that_many_distinct_emitters_reproducibly():
    block = {"rows": 32, "columns": 32, "dead_rate": 0.01, "shorted_rate": 0.005,
             "leaky_rate": 0.02, "seed": 11}
    array = SimulatedWorld.from_config({"array": block}).array
    kinds = list(array.faults.values())
    assert (kinds.count("dead"), kinds.count("shorted"), kinds.count("leaky")) == (10, 5, 20)
    assert SimulatedWorld.from_config({"array": block}).array.faults == array.faults
    other = SimulatedWorld.from_config({"array": {**block, "seed": 12}}).array
    assert other.faults != array.faults


def test_spreads_give_the_configured_cvs_of_power_and_forward_voltage():
    spread = {"efficiency": 0.05, "forward_voltage": 0.02}
    world = SimulatedWorld.from_config({"chip": {"thermal_resistance": 1e-3},
                                        "array": {"rows": 24, "columns": 24, "spread": spread,
                                                  "seed": 5}})
    base = MicroLED(world.chip_params).steady_state(np.array([1e-3]))
    points = [world.array.chip(r, c).steady_state(np.array([1e-3]))
              for r in range(24) for c in range(24)]
    power = np.array([p.optical_power[0] for p in points])
    volts = np.array([p.voltage[0] for p in points])
    assert np.std(power) / np.mean(power) == pytest.approx(0.05, rel=0.1)
    assert np.std(volts) / np.mean(volts) == pytest.approx(0.02, rel=0.1)
    assert np.mean(volts) == pytest.approx(base.voltage[0], rel=0.005)


def test_a_32_by_32_array_is_cheap_to_build():
    start = time.perf_counter()
    world = SimulatedWorld.from_config({"array": {"rows": 32, "columns": 32, "dead_rate": 0.01,
                                                  "spread": {"diameter": 0.02}}})
    chips = [world.array.chip(r, c) for r in range(32) for c in range(32)]
    assert time.perf_counter() - start < 1.0  # ~0.04 s measured
    assert len({id(chip) for chip in chips}) == 1024


def test_without_an_array_the_chip_is_wired_directly():
    world = SimulatedWorld.from_config({})
    assert world.chip.params == world.chip_params and not world.circuit_open
    assert world.detected_power(1e-3) == 1e-3


def test_coupling_closed_form_peak_and_radii():
    coupling = SimulatedWorld.from_config({"coupling": {
        "optimum": OPTIMUM, "mode_field_radius": W, "focus_depth": ZR}}).coupling
    x0, y0, z0 = OPTIMUM
    assert coupling.efficiency(x0, y0, z0) == 1.0
    # equal waists w offset by d at focus: eta = exp(-d^2 / w^2) (Joyce & DeLoach 1984)
    assert coupling.efficiency(x0 + W, y0, z0) == pytest.approx(math.exp(-1))
    assert coupling.efficiency(x0, y0 + math.sqrt(2) * W, z0) == pytest.approx(math.exp(-2))
    # a defocus of 2 z_R halves the peak and widens the radius by sqrt(2)
    assert coupling.efficiency(x0, y0, z0 + 2 * ZR) == pytest.approx(0.5)
    assert coupling.efficiency(x0 + math.sqrt(2) * W, y0, z0 - 2 * ZR) == pytest.approx(
        0.5 * math.exp(-1))
    d = coupling.lateral_tolerance(1.0)  # 1 dB: 10^(-0.1) = exp(-d^2 / w^2)
    assert coupling.efficiency(x0 + d, y0, z0) == pytest.approx(10 ** -0.1)
    assert d == pytest.approx(W * math.sqrt(0.1 * math.log(10)))


def test_the_power_meter_sees_the_coupling_at_the_stage_position():
    simulation = {"coupling": {"optimum": OPTIMUM, "mode_field_radius": W, "focus_depth": ZR},
                  "initial_state": {"stage": {"referenced": True}}}
    world, smu, meter, switch = bench(simulation)
    axes = {a: {"address": k, "travel": [-1e-3, 1e-3]} for k, a in enumerate("xyz", 1)}
    stage = NewportSMC100(open_serial(attach("newport_smc100", world, "stage")), name="stage",
                          **NewportSMC100.check_options({"axes": axes}))
    stage.connect()
    emitted = float(world.chip.steady_state(np.array([1e-3])).optical_power[0])
    stage.move_to(x=OPTIMUM[0], y=OPTIMUM[1], z=OPTIMUM[2])
    assert at_current(smu, meter, 1e-3)[2] == pytest.approx(emitted, rel=0.01)
    stage.move_by(x=W)
    assert at_current(smu, meter, 1e-3)[2] == pytest.approx(emitted * math.exp(-1), rel=0.01)


def test_each_emitter_has_its_optimum_shifted_by_the_pitch():
    world = SimulatedWorld.from_config({
        "array": {"rows": 2, "columns": 2, "pitch": 40e-6},
        "coupling": {"optimum": OPTIMUM, "mode_field_radius": W, "focus_depth": ZR}})
    world.switch = type("Closed", (), {"closed_crosspoints": lambda self: [(1, 2, 2)]})()
    assert world.selected_emitter() == (1, 1)
    world.stage = type("At", (), {"axis_position": lambda self, a: (
        OPTIMUM[0] + 40e-6, OPTIMUM[1] + 40e-6, OPTIMUM[2])[a - 1]})()
    assert world.detected_power(1.0) == pytest.approx(1.0)


@pytest.mark.parametrize("block, problem", [
    ({"array": {"rows": 3}}, "simulation.array needs columns"),
    ({"array": {"rows": 0, "columns": 2}}, "rows must be an integer"),
    ({"array": {"rows": 2.5, "columns": 2}}, "rows must be an integer"),
    ({"array": {"rows": 40, "columns": 40}}, "need 15 matrix modules"),
    ({"array": {"rows": 2, "columns": 2, "pitch": float("nan")}}, "pitch must be a finite"),
    ({"array": {"rows": 2, "columns": 2, "spread": {"efficiency": 0.5}}}, "spread.efficiency"),
    ({"array": {"rows": 2, "columns": 2, "spread": {"colour": 0.1}}}, "unknown key"),
    ({"array": {"rows": 2, "columns": 2, "spread": []}}, "spread must be a mapping"),
    ({"array": {"rows": 2, "columns": 2, "slots": [1, 2]}}, "must list 1 slot"),
    ({"array": {"rows": 2, "columns": 2, "dead": [[2, 0]]}}, "dead row must be"),
    ({"array": {"rows": 2, "columns": 2, "dead": [[0, 0]], "leaky": [[0, 0]]}}, "listed twice"),
    ({"array": {"rows": 2, "columns": 2, "dead": [[0, 0]], "dead_rate": 0.1}}, "not both"),
    ({"array": {"rows": 2, "columns": 2, "dead_rate": 0.7, "leaky_rate": 0.7}}, "add up"),
    ({"array": {"rows": 2, "columns": 2, "short_resistance": 1e308}}, "short_resistance"),
    ({"array": {"rows": 2, "columns": 2, "colour": 1}}, "unknown key"),
    ({"array": [1, 2]}, "must be a mapping"),
    ({"coupling": {"optimum": [0, 0], "mode_field_radius": W, "focus_depth": ZR}},
     "optimum must be"),
    ({"coupling": {"optimum": [0, 0, 1e300], "mode_field_radius": W, "focus_depth": ZR}},
     "optimum.z"),
    ({"coupling": {"optimum": [0, 0, 0], "mode_field_radius": -W, "focus_depth": ZR}},
     "mode_field_radius"),
    ({"coupling": {"optimum": [0, 0, 0], "mode_field_radius": W}}, "needs focus_depth"),
    ({"coupling": {"optimum": [0, 0, 0], "mode_field_radius": W, "focus_depth": ZR,
                   "axes": {"x": 1, "y": 1, "z": 3}}}, "one address to two axes"),
])
def test_hostile_blocks_are_refused_in_one_line(block, problem):
    with pytest.raises(ValueError, match=problem) as error:
        SimulatedWorld.from_config(block)
    assert "\n" not in str(error.value)


def test_a_simulation_only_station_uses_the_array_and_sizes_the_switch(write_yaml):
    path = write_yaml("array.yaml", {"simulation": {"array": {"rows": 4, "columns": 20}}})
    config = StationConfig.load(path)
    assert config.instruments["switch"].options["rows"] == 4
    assert config.instruments["switch"].options["slots"] == (1, 2)
    bad = write_yaml("bad.yaml", {"simulation": {"array": {"rows": 4, "columns": "many"}}})
    with pytest.raises(ConfigError):
        StationConfig.load(bad)
