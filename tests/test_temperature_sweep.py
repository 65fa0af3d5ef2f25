"""temperature-sweep: its analysis against closed forms, its checks before anything moves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.safety import SafeLimits
from common.errors import ConfigError, LimitError
from sequences import get_sequence
from sequences.base import Sample
from sequences.thermal_analysis import (
    characteristic_temperature,
    junction_temperature_rise,
    temperature_coefficient,
    thermal_resistance,
    value_at_current,
)

SWEEP = get_sequence("temperature-sweep")
SAMPLE = Sample("synthetic", diameter=20e-6, wavelength=450e-9)
K_V, T1, R_TH, T0 = -2.0e-3, 600.0, 1500.0, 300.0  # V/K, K, K/W, K: the synthetic truth
N_ID, I_S, R_S = 2.0, 1e-27, 100.0
Q_OVER_K = 1.602176634e-19 / 1.380649e-23


def isothermal_voltage(current, temperature):
    """V at the junction temperature: the diode at T0, shifted by K_V (T - T0)."""
    return N_ID * T0 / Q_OVER_K * np.log(current / I_S) + current * R_S \
        + K_V * (temperature - T0)


def light(current, junction):
    """P = I x an efficiency peaking at 0.1 mA, falling as exp(-(T - T0) / T1)."""
    s = np.sqrt(current / 1e-4)
    return 2.76 * current * 0.3 * 2 * s / (1 + s * s) * np.exp(-(junction - T0) / T1)


def dc_point(current, stage):
    """Self-consistent DC point: T_j = stage + R_th (I V - P), solved by iteration."""
    junction = np.full_like(current, stage)
    for _ in range(200):
        voltage = isothermal_voltage(current, junction)
        power = light(current, junction)
        junction = stage + R_TH * (current * voltage - power)
    return voltage, power, junction


def sweep_data(temperatures, currents, pulsed_current=None, offset=0.0):
    data = {name: [] for name in ("set_current", "current", "voltage", "optical_power",
                                  "stage_temperature", "measured_temperature",
                                  "temperature_index")}
    for k, stage in enumerate(temperatures):
        voltage, power, _ = dc_point(currents, stage)
        for name, values in (("set_current", currents), ("current", currents),
                             ("voltage", voltage), ("optical_power", power),
                             ("stage_temperature", np.full(currents.size, stage)),
                             ("measured_temperature", np.full(currents.size, stage + offset)),
                             ("temperature_index", np.full(currents.size, k))):
            data[name].append(values)
    data = {name: np.concatenate(parts) for name, parts in data.items()}
    if pulsed_current is not None:
        for k, stage in enumerate(temperatures):
            data[f"pulsed_voltage_{k}"] = np.full(3, isothermal_voltage(pulsed_current, stage))
    return data


def params(**overrides):
    return SWEEP.resolve({"inner_parameters": {"start": 1e-6, "stop": 5e-3, "points": 40},
                          "temperatures": [298.15, 318.15, 338.15, 358.15], **overrides})


def test_figures_recovered_from_closed_form_data():
    p = params(thermal_current=5e-3)
    currents = np.geomspace(1e-6, 5e-3, 40)
    data = sweep_data(p["temperatures"], currents, pulsed_current=5e-3)
    figures = SWEEP.analyse(data, p, SAMPLE)
    # at 1 mA the self-heating is ~2.5 K and nearly the same at every stage temperature
    assert figures["vf_temperature_coefficient"][0] == pytest.approx(K_V, rel=0.02)
    assert figures["vf_temperature_coefficient"][2] == {"bias_current": (1e-3, "A")}
    assert figures["characteristic_temperature"][0] == pytest.approx(T1, rel=0.02)
    assert figures["peak_eqe_temperature_coefficient"][0] == pytest.approx(-1 / T1, rel=0.03)
    assert figures["thermal_resistance"][0] == pytest.approx(R_TH, rel=1e-3)
    np.testing.assert_allclose(figures["stage_temperature"][0], p["temperatures"])
    assert figures["peak_eqe"][0].shape == (4,)  # the inner result at every temperature
    _, _, junction = dc_point(np.array([5e-3]), 298.15)
    assert figures["junction_temperature_rise"][0][0] == pytest.approx(junction[0] - 298.15,
                                                                       rel=1e-3)


def test_fits_use_the_measured_stage_temperature():
    """The stage reads 0.5 K above every set-point: the slopes are unchanged."""
    p = params()
    currents = np.geomspace(1e-6, 5e-3, 40)
    figures = SWEEP.analyse(sweep_data(p["temperatures"], currents, offset=0.5), p, SAMPLE)
    np.testing.assert_allclose(figures["measured_temperature"][0],
                               np.array(p["temperatures"]) + 0.5)
    assert figures["vf_temperature_coefficient"][0] == pytest.approx(K_V, rel=0.02)


def test_thermal_resistance_dropped_with_its_reason_without_pulses():
    p = params()
    figures = SWEEP.analyse(sweep_data(p["temperatures"], np.geomspace(1e-6, 5e-3, 40)), p,
                            SAMPLE)
    assert "thermal_current" in figures["thermal_resistance"][0]
    p = params(thermal_current=5e-3)
    figures = SWEEP.analyse(sweep_data(p["temperatures"], np.geomspace(1e-6, 5e-3, 40)), p,
                            SAMPLE)
    assert "pulsed" in figures["thermal_resistance"][0]


def test_each_temperature_reanalysed_alone_from_the_stored_data():
    p = params()
    currents = np.geomspace(1e-6, 5e-3, 40)
    data = sweep_data(p["temperatures"], currents)
    data["compliance_current_2"] = np.float64(4e-3)
    part = SWEEP.inner_data(data, p, 2)
    np.testing.assert_array_equal(part["current"], currents)
    assert float(part["compliance_current"]) == 4e-3
    assert "stage_temperature" not in part


def test_pure_functions_against_closed_forms():
    t = np.array([290.0, 310.0, 330.0])
    assert temperature_coefficient(t, 3.0 - 1.7e-3 * (t - 290)) == pytest.approx(-1.7e-3)
    assert characteristic_temperature(t, 1e-3 * np.exp(-t / 450)) == pytest.approx(450)
    rise = junction_temperature_rise(t, 3.0 - 2e-3 * (t + 7 - 290), 3.0 - 2e-3 * (t - 290))
    np.testing.assert_allclose(rise, 7.0)
    pulsed, heating = 3.0 - 2e-3 * (t - 290), np.array([0.010, 0.011, 0.012])
    assert thermal_resistance(t, pulsed - 2e-3 * 1400 * heating, pulsed, heating) \
        == pytest.approx(1400)
    assert value_at_current([1e-4, 1e-2], [1.0, 3.0], 1e-3) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="outside"):
        value_at_current([1e-4, 1e-2], [1.0, 3.0], 1.0)
    with pytest.raises(ValueError, match="does not fall"):
        characteristic_temperature(t, np.exp(t / 450))


def limits(**extra):
    return SafeLimits.from_mapping({"max_current": 10e-3, "max_voltage": 6.0, **extra})


def test_checked_before_anything_moves():
    p = params(temperatures=[298.15, 358.15, 398.15])
    with pytest.raises(LimitError, match="398.15 K exceeds the sample's max_temperature"):
        SWEEP.check_limits(p, limits(min_temperature=280.0, max_temperature=390.0))
    p = params(inner_parameters={"stop": 20e-3})  # the inner sweep's own check
    with pytest.raises(LimitError, match="max_current"):
        SWEEP.check_limits(p, limits(min_temperature=280.0, max_temperature=390.0))
    p = params(hold=60.0, stability_timeout=30.0)
    with pytest.raises(ConfigError, match="stability_timeout"):
        SWEEP.check_limits(p, limits(min_temperature=280.0, max_temperature=390.0))


def test_every_set_point_asked_of_the_tec_model():
    """[170, 520] K: 520 K is sent as the plan's request, 170 K (-103 C, below the Arroyo
    5300's -99 C) is asked of the model by the sweep's plan itself."""
    from drivers.arroyo_5300 import Arroyo5300
    from drivers.keithley2450 import Keithley2450
    from drivers.thorlabs_pm100d import ThorlabsPM100D

    models = {"tec": Arroyo5300, "smu": Keithley2450, "power_meter": ThorlabsPM100D}
    p = params(temperatures=[520.0, 170.0])
    with pytest.raises(ConfigError, match="170"):
        SWEEP.plan(p, SAMPLE, None, models)
    requests = SWEEP.plan(params(temperatures=[250.0, 400.0]), SAMPLE, None, models)
    assert requests["tec"] == {"temperature": 400.0, "tolerance": 0.1, "hold": 30.0}
    assert requests["smu"]["current"] == 5e-3  # the inner liv's own plan


@pytest.mark.parametrize("given, message", [
    ({"inner": "nope"}, "unknown sequence"),
    ({"inner": "burn-in"}, "moves the stage"),
    ({"inner_parameters": {"points": 1}}, "inner sequence liv"),
    ({"inner_parameters": [1, 2]}, "mapping"),
    ({"temperatures": [298.15, math.nan]}, "list of numbers"),
    ({"temperatures": []}, "list of numbers"),
])
def test_bad_parameters_refused(given, message):
    with pytest.raises(ConfigError, match=message):
        SWEEP.resolve(given)


# -- on the simulated bench (TEC over pyserial, the chip over temperature) --------------------

Q, K_B = 1.602176634e-19, 1.380649e-23


def model_truth(temperatures, current):
    """dVf/dT and T_1 at ``current`` from the chip's documented temperature laws
    (sim_instruments/chip.py), evaluated here from its parameters: the diode law with
    I_s ~ T^(3/n) exp(-E_g(T) / (n k T)) and the Varshni gap gives, at constant current,
    dV/dT = (V_j - E_g/q) / T - 3 k/q + (dE_g/dT) / q; the light from the ABC cubic with
    A ~ T, B ~ 1/T, C ~ T, fitted as exp(-T / T_1). Self-heating (a few K at 1 mA) left out."""
    from sim_instruments.chip import ChipParameters

    p = ChipParameters()
    t = np.asarray(temperatures, dtype=float)

    def gap(x):
        return p.bandgap + p.varshni_alpha * (p.reference_temperature ** 2 / (
            p.reference_temperature + p.varshni_beta) - x * x / (x + p.varshni_beta))

    dgap = -p.varshni_alpha * t * (t + 2 * p.varshni_beta) / (t + p.varshni_beta) ** 2
    n, t_ref = p.ideality_factor, p.reference_temperature
    i_s = p.saturation_current * (t / t_ref) ** (3 / n) * np.exp(
        -(gap(t) / t - p.bandgap / t_ref) * Q / (n * K_B))
    v_j = n * K_B * t / Q * np.log(current / i_s)
    slope = (v_j - gap(t)) / t - 3 * K_B / Q + dgap
    generation = p.injection_efficiency * current / (Q * p.area * p.active_thickness)
    power = []
    for x in t:
        a, b, c = (p.a_coeff * (x / t_ref), p.b_coeff * (t_ref / x), p.c_coeff * (x / t_ref))
        roots = np.roots([c, b, a, -generation])
        density = float(roots[np.argmin(np.abs(roots.imag))].real)
        power.append(b * density**2 / generation)  # IQE; P is proportional at fixed I
    return float(np.mean(slope)), float(-1 / np.polyfit(t, np.log(power), 1)[0])


def test_on_the_simulated_bench_against_the_chip_model(tmp_path, write_yaml):
    from bench.api import open_run
    from bench.cli import main

    temperatures = [298.15, 328.15, 358.15]
    station = write_yaml("station.yaml", {
        "name": "thermal test bench",
        "instruments": {
            "smu": {"driver": "keithley2450", "simulated": True,
                    "resource": "USB0::0x05E6::0x2450::04400001::INSTR"},
            "power_meter": {"driver": "thorlabs_pm100d", "simulated": True,
                            "resource": "USB0::0x1313::0x8078::P0012345::INSTR"},
            "tec": {"driver": "arroyo_5300", "resource": "/dev/ttyUSB0", "simulated": True}},
        "simulation": {"clock": {"speed": 1.0e4}}})
    recipe = write_yaml("recipe.yaml", {
        "sample": {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
                   "limits": {"max_current": 10e-3, "max_voltage": 6.0,
                              "min_temperature": 280.0, "max_temperature": 400.0}},
        "steps": [{"sequence": "temperature-sweep",
                   "params": {"temperatures": temperatures, "hold": 1.0,
                              "inner_parameters": {"start": 1e-4, "stop": 2e-3,
                                                   "points": 6}}}]})
    out = tmp_path / "run.h5"
    assert main(["run", recipe, "--station", station, "-o", str(out), "-q"]) == 0
    step = open_run(out).steps["temperature-sweep"]
    slope, t1 = model_truth(temperatures, 1e-3)
    assert step.results["vf_temperature_coefficient"]["value"] == pytest.approx(slope, rel=0.03)
    assert step.results["characteristic_temperature"]["value"] == pytest.approx(t1, rel=0.03)
    np.testing.assert_allclose(step.analysis["measured_temperature"], temperatures, atol=0.1)
    assert step.data["temperature_index"].size == 3 * 6  # each temperature's LIV, stored
    # as declared, but thermal_resistance: no PulsedSource here, so dropped with the reason
    assert set(step.results) == set(SWEEP.results) - {"thermal_resistance"}
    assert "thermal_resistance (not measured: give thermal_current" in step.reason


def test_forward_voltage_method_on_the_chip_model_recovers_its_thermal_resistance():
    """DC and isothermal (heating 0, an ideal pulse) forward voltages of the simulated chip at
    three stage temperatures through the sweep's analysis: R_th as the chip's parameter where
    its self-heating follows its own stage law (``self_heating_diode_law``; with the default
    fixed -1.5 mV/K the same method reads 618 K/W for 1000: the two laws disagree at 5 mA)."""
    from sim_instruments.chip import ChipParameters, MicroLED

    def measured(chip):
        stages, current = np.array([298.15, 328.15, 358.15]), np.array([5e-3])
        dc, pulsed, heating = [], [], []
        for stage in stages:
            model = MicroLED(chip.at_temperature(stage))
            point, cold = model.steady_state(current), model.steady_state(current, heating=0)
            dc.append(point.voltage[0])
            pulsed.append(cold.voltage[0])
            heating.append(current[0] * point.voltage[0] - point.optical_power[0])
        return thermal_resistance(stages, dc, pulsed, heating)

    chip = ChipParameters(noise=0.0, self_heating_diode_law=True)
    assert measured(chip) == pytest.approx(chip.thermal_resistance, rel=0.02)


def test_thermal_resistance_on_the_simulated_bench_with_a_pulsed_smu(tmp_path, write_yaml):
    """The forward-voltage method end to end: DC LIVs on the 2450 and isothermal pulses on a
    2602B at three stage temperatures; the chip's self-heating follows its own stage law
    (``self_heating_diode_law``) and its thermal pole (10 ms) holds a 100 us pulse at 1 %
    duty to (1 - e^-0.01) / (1 - e^-1) = 1.6 % of the DC rise: R_th within 10 % of 1000 K/W."""
    from bench.api import open_run
    from bench.cli import main
    from sim_instruments.chip import ChipParameters, pulse_heating_fraction

    chip = {"self_heating_diode_law": True, "thermal_time_constant": 10e-3}
    assert pulse_heating_fraction(100e-6, 10e-3, 10e-3) < 0.02
    station = write_yaml("station.yaml", {
        "name": "thermal test bench with pulses",
        "instruments": {
            "smu": {"driver": "keithley2450", "simulated": True,
                    "resource": "USB0::0x05E6::0x2450::04400001::INSTR"},
            "power_meter": {"driver": "thorlabs_pm100d", "simulated": True,
                            "resource": "USB0::0x1313::0x8078::P0012345::INSTR"},
            "pulsed_source": {"driver": "keithley2600b", "simulated": True,
                              "resource": "USB0::0x05E6::0x2602::4400001::INSTR"},
            "tec": {"driver": "arroyo_5300", "resource": "/dev/ttyUSB0", "simulated": True}},
        "simulation": {"clock": {"speed": 1.0e4}, "chip": chip}})
    recipe = write_yaml("recipe.yaml", {
        "sample": {"id": "chip", "diameter": 20e-6, "wavelength": 450e-9,
                   "limits": {"max_current": 10e-3, "max_voltage": 6.0, "max_duty_cycle": 0.02,
                              "min_temperature": 280.0, "max_temperature": 400.0}},
        "steps": [{"sequence": "temperature-sweep",
                   "params": {"temperatures": [298.15, 328.15, 358.15], "hold": 1.0,
                              "thermal_current": 5e-3, "pulse_width": 100e-6,
                              "pulse_period": 10e-3,
                              "inner_parameters": {"start": 4e-3, "stop": 6e-3,
                                                   "points": 9, "spacing": "lin"}}}]})
    out = tmp_path / "run.h5"  # the DC LIVs around thermal_current: V(I) near-linear there
    assert main(["run", recipe, "--station", station, "-o", str(out), "-q"]) == 0
    step = open_run(out).steps["temperature-sweep"]
    truth = ChipParameters(**chip).thermal_resistance
    assert "thermal_resistance" in step.results, step.reason
    assert step.results["thermal_resistance"]["value"] == pytest.approx(truth, rel=0.10)
