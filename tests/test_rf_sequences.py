"""Switching speed, latency and the eye, end to end on the built-in simulated high-speed bench.

Station files in tmp_path (the built-in instruments, a chip under ``simulation: chip:``, the
passive set-up) -> `bench run` -> run file. Known truth is the simulated chip itself
(sim_instruments.chip.MicroLED): its small-signal bandwidth, its own step response, its I-V.
"""

from __future__ import annotations

import dataclasses
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

import bench.runner
from bench.api import open_run
from bench.cli import main
from bench.recipe import parse_recipe
from bench.replay import reanalyse
from bench.safety import DriveMonitor, NetworkAnalyzerGuard, PatternGuard, SafeLimits, SourceGuard
from bench.station import StationConfig, builtin_station_config
from bench.storage import read_run
from common.errors import ConfigError, LimitError
from sequences import dynamic_analysis as da
from sim_instruments.chip import ChipParameters, MicroLED

SMALL = {"diameter": 10e-6, "a_coeff": 3e7, "c_coeff": 2e-42, "series_resistance": 60.0,
         "capacitance": 0.5e-12}
# 1.3 GHz at 10 mA: the step path needs the scope's analogue chain simulated finer than a sample
FAST = {"diameter": 10e-6, "series_resistance": 50.0, "capacitance": 0.3e-12}
CHIPS = {"default": ({}, [1e-3, 3e-3, 10e-3]), "small": (SMALL, [1e-3, 3e-3]),
         "fast": (FAST, [3e-3, 10e-3])}
LIMITS = {"max_current": 20e-3, "max_voltage": 6.0}
# a bias tee with a series resistor: small-signal steps stay inside the generator's 50 mV minimum
RESISTIVE_TEE = {"bias_tee": {"modulation_impedance": 500.0}}
FAST_SCOPE = {"sample_rate": 16e9}  # the MXR's full rate


def bench_run(folder, steps, *, chip=None, drop=(), setup=None, limits=None):
    """`bench run` of ``steps`` on the built-in bench with ``chip``, without the ``drop``
    instruments and with ``setup`` sections replaced; returns the run file read back, the exit
    code and the simulated world."""
    station = builtin_station_config()
    for name in drop:
        del station["instruments"][name]
    station["simulation"]["chip"] = dict(chip or {})
    station["setup"].update(setup or {})
    params = ChipParameters(**(chip or {}))
    sample = {"id": "dut", "diameter": params.diameter, "wavelength": params.wavelength,
              "limits": dict(limits or LIMITS)}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "station.yaml").write_text(json.dumps(station))  # JSON is YAML
    (folder / "recipe.yaml").write_text(json.dumps({"sample": sample, "steps": steps}))
    out = folder / "run.h5"
    opened = []

    class RecordedStation(bench.runner.Station):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bench.runner, "Station", RecordedStation)
        # --force: the test chips are driven beyond 10 kA/cm^2 on purpose (the fast 10 um chip)
        code = main(["run", str(folder / "recipe.yaml"), "--station",
                     str(folder / "station.yaml"), "-o", str(out), "-q", "--force"])
    if not out.exists():  # refused before anything was opened or written
        assert not opened
        return SimpleNamespace(code=code, record=None, step=None, path=out, world=None,
                               chip=MicroLED(params))
    record = read_run(out)
    return SimpleNamespace(code=code, record=record, step=record.steps[0], path=out,
                           world=opened[0].world, chip=MicroLED(params))


# -- bandwidth ------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=[(chip, method) for chip in CHIPS
                                        for method in ("vna", "step")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def bandwidth_run(request, tmp_path_factory):
    chip_name, method = request.param
    chip, biases = CHIPS[chip_name]
    params = {"bias_currents": biases}  # the step path at the sequence's 10 GSa/s
    # the step path runs on a station that has no VNA at all (method auto)
    run = bench_run(tmp_path_factory.mktemp(f"bw-{chip_name}-{method}"),
                    [{"sequence": "bandwidth", "params": params}], chip=chip,
                    drop=("vna",) if method == "step" else (), setup=RESISTIVE_TEE)
    run.biases, run.method = np.array(biases), method
    return run


def test_bandwidth_per_bias_matches_the_chip(bandwidth_run):
    run = bandwidth_run
    assert run.code == 0, run.step.reason
    derived, results = run.step.analysis, run.step.results
    np.testing.assert_allclose(derived["bias_current"], run.biases, rtol=0.01)
    np.testing.assert_allclose(derived["f3db_per_bias"], run.chip.f3db(run.biases), rtol=0.04)
    np.testing.assert_allclose(derived["f3db_optical_per_bias"], run.chip.f3db(run.biases, 0.5),
                               rtol=0.04)
    np.testing.assert_allclose(derived["current_density"], derived["bias_current"]
                               / (np.pi * run.chip.params.diameter**2 / 4))
    assert run.step.analysis_units["f3db_per_bias"] == "Hz"
    assert derived["normalised_power_gain"].shape == (run.biases.size,
                                                      derived["response_frequency"].size)
    # the scalar results are those of the highest bias
    assert results["f3db"]["value"] == derived["f3db_per_bias"][-1]
    assert results["f3db"]["units"] == "Hz"
    top = run.biases[-1]
    assert results["differential_lifetime"]["value"] == pytest.approx(
        run.chip.differential_lifetime(top), rel=0.10 if run.method == "vna" else 0.06)


def test_bandwidth_stores_its_raw_data(bandwidth_run):
    run = bandwidth_run
    step = run.step
    if run.method == "vna":
        assert step.data["s21"].dtype.kind == "c"
        assert step.data["s21"].shape == (run.biases.size, step.data["frequency"].size)
        assert step.units["frequency"] == "Hz"
        assert step.results["rc_time_constant"]["value"] == pytest.approx(
            run.chip.rc_time_constant(), rel=0.2)
    else:
        codes = step.data["optical_codes"]
        assert codes.dtype == np.int16 and codes.shape[0] == run.biases.size
        assert step.data["optical_preamble"].shape == (run.biases.size, 6)
        assert "network_analyzer" not in json.dumps(run.record.station["instruments"])


def test_bandwidth_set_and_measured_bias_currents_read_back_apart(bandwidth_run):
    step = open_run(bandwidth_run.path).steps["bandwidth"]
    set_points, measured = step.data["bias_current"], step.analysis["bias_current"]
    assert np.array_equal(set_points, step.params["bias_currents"])  # data/bias_current
    assert np.array_equal(measured, step.data["current"])  # analysis/bias_current: the SMU's
    assert not np.array_equal(set_points, measured)
    assert step.units["bias_current"] == step.analysis_units["bias_current"] == "A"
    # the raw data holds no derived array: analyse sees what acquire stored, nothing more
    assert not set(step.data) & {"f3db_per_bias", "current_density", "normalised_power_gain"}


def test_bandwidth_reanalyses_from_the_file_alone(bandwidth_run):
    report = reanalyse(bandwidth_run.path)
    assert report.identical


def test_bandwidth_replay_rewrites_the_per_bias_arrays(bandwidth_run, tmp_path, monkeypatch):
    original = da.bandwidth_from_power_gain

    def halved(frequency, power_gain):
        result = original(frequency, power_gain)
        return dataclasses.replace(result, f3db=result.f3db / 2)

    monkeypatch.setattr(da, "bandwidth_from_power_gain", halved)
    reanalyse(bandwidth_run.path, tmp_path / "new.h5")
    old, new = bandwidth_run.step, read_run(tmp_path / "new.h5").steps[0]
    np.testing.assert_allclose(new.analysis["f3db_per_bias"], old.analysis["f3db_per_bias"] / 2)
    assert new.results["f3db"]["value"] == new.analysis["f3db_per_bias"][-1]
    assert np.array_equal(new.analysis["f3db_optical_per_bias"],
                          old.analysis["f3db_optical_per_bias"], equal_nan=True)


def test_bandwidth_without_vna_or_scope_is_refused(tmp_path, capsys):
    # refused by the plan before any instrument is opened (exit 2, no run file): it used to be
    # refused only once the step ran
    run = bench_run(tmp_path, [{"sequence": "bandwidth", "params": {"bias_currents": [1e-3]}}],
                    drop=("vna", "scope"))
    assert run.code == 2 and run.record is None
    assert "network_analyzer, or a pattern_generator and an oscilloscope" in \
        capsys.readouterr().err
    forced = bench_run(tmp_path / "forced", [{"sequence": "bandwidth", "params": {
        "bias_currents": [1e-3], "method": "vna"}}], drop=("vna",))
    assert forced.code == 2 and forced.record is None
    assert "method vna needs a network_analyzer" in capsys.readouterr().err


# -- pulse response -------------------------------------------------------------------------------
def chip_step_truth(chip: MicroLED, low: float, high: float) -> tuple[float, float]:
    """(50 %-to-50 % delay, 10-90 % rise) of the chip's light on an ideal current step."""
    dt = 1e-12
    t = np.arange(int(20e-9 / dt)) * dt
    light = chip.optical_power_waveform(t, np.where(t >= 2e-9, high, low))
    y = (light - light[0]) / (light[-1] - light[0])
    return (float(np.interp(0.5, y, t)) - 2e-9,
            float(np.interp(0.9, y, t) - np.interp(0.1, y, t)))


CABLES = [{"drive_delay": 1e-9, "monitor_delay": 0.5e-9, "receiver_delay": 2e-9},
          {"drive_delay": 3.3e-9, "monitor_delay": 0.1e-9, "receiver_delay": 5.2e-9}]


@pytest.mark.parametrize("chip, bias", [({}, 3e-3), (SMALL, 1e-3)], ids=["default", "small"])
def test_pulse_response_recovers_the_chip_step(tmp_path, chip, bias):
    swing = 0.2 * bias
    params = {"bias_current": bias, "modulation_current": swing, "acquisitions": 3,
              **FAST_SCOPE}
    runs = [bench_run(tmp_path / str(k), [{"sequence": "pulse-response", "params": params}],
                      chip=chip, setup={**RESISTIVE_TEE, "cables": cables,
                                        "photoreceiver": {"delay": 0.2e-9 * k}})
            for k, cables in enumerate(CABLES)]
    chip_model = runs[0].chip
    delay, rise = chip_step_truth(chip_model, bias - swing / 2, bias + swing / 2)
    for run in runs:
        assert run.code == 0, run.step.reason
        results = run.step.results
        assert results["rise_time"]["value"] == pytest.approx(
            da.RISE_TIME_BANDWIDTH / chip_model.f3db(bias), rel=0.15)
        assert results["rise_time"]["value"] == pytest.approx(rise, rel=0.05)
        assert results["fall_time"]["value"] == pytest.approx(rise, rel=0.10)
        assert results["propagation_delay"]["value"] == pytest.approx(delay, rel=0.10)
        for name in ("rise_time", "fall_time", "propagation_delay"):
            assert 0 < results[f"{name}_std"]["value"] < 0.1 * results[name]["value"]
        assert run.step.data["optical_codes"].shape[0] == 3
    # the set-up's delays are de-embedded: other cables, the same chip latency
    first, second = (r.step.results["propagation_delay"]["value"] for r in runs)
    assert second == pytest.approx(first, rel=0.03)


def test_pulse_beyond_max_pulse_current_is_refused_before_anything_runs():
    limits = {"max_current": 10e-3, "max_pulse_current": 12e-3, "max_voltage": 6.0}
    sample = {"id": "dut", "diameter": 20e-6, "wavelength": 450e-9, "limits": limits}
    step = {"sequence": "pulse-response",
            "params": {"bias_current": 8e-3, "modulation_current": 5e-3}}
    with pytest.raises(LimitError, match="max_pulse_current 0.012 A"):
        parse_recipe({"sample": sample, "steps": [step]})
    step["params"]["modulation_current"] = 3e-3  # a 11 mA peak at 50 % duty is allowed
    parse_recipe({"sample": sample, "steps": [step]})


# -- eye and energy per bit -----------------------------------------------------------------------
def test_eye_energy_per_bit_of_a_20um_chip(tmp_path):
    bias, swing, rate = 100e-6, 60e-6, 3e9  # "about 100 uA average current"
    # 60 uA through 50 + 2000 ohm takes a 61.5 mV swing: above the generator's 50 mV minimum
    run = bench_run(tmp_path, [{"sequence": "eye", "params": {
        "bit_rate": rate, "bias_current": bias, "modulation_current": swing,
        "record_bits": 300, "acquisitions": 2}}],
        setup={"bias_tee": {"modulation_impedance": 2000.0}})
    assert run.code == 0, run.step.reason
    chip = run.chip
    assert chip.params.diameter == 20e-6
    energy = run.step.results["energy_per_bit"]["value"]
    assert 10e-15 < energy < 100e-15  # tens of fJ/bit
    # the chip's own V(I): bias power plus the modulation's R_d <i_ac^2> (tangent at the bias)
    step = 1e-7
    volts = chip.steady_state(np.array([bias - step, bias, bias + step])).voltage
    p = da.prbs_mark_density(7)
    truth = (volts[1] * bias + (volts[2] - volts[0]) / (2 * step) * p * (1 - p) * swing**2) \
        / rate
    assert energy == pytest.approx(truth, rel=0.03)
    assert run.step.results["energy_per_bit"]["units"] == "J"
    derived = run.step.analysis
    counts = derived["eye_histogram"]
    assert counts.shape == (derived["eye_voltage"].size, derived["eye_time"].size)
    assert counts.sum() == run.step.data["optical_codes"].size
    assert derived["eye_time"][-1] < 1 / rate
    assert run.step.analysis_units == {"eye_time": "s", "eye_voltage": "V", "eye_histogram": ""}


def test_open_eye_levels_match_the_chip(tmp_path):
    bias, requested, rate = 5e-3, 4e-3, 500e6
    run = bench_run(tmp_path, [{"sequence": "eye", "params": {
        "bit_rate": rate, "bias_current": bias, "modulation_current": requested,
        "record_bits": 400, "acquisitions": 2}}], chip=SMALL)
    assert run.code == 0, run.step.reason
    results = run.step.results
    # the chip's current swing: the generator's EMF, twice its programmed swing, behind its
    # 50 ohm, through the tee's 50 ohm into the chip's own small-signal resistance at the bias
    levels = {}
    for name, command in run.world.commands:
        match = re.match(r":VOLTage1:(HIGH|LOW) ([-+0-9.eE]+)$", command)
        if name == "generator" and match:
            levels[match.group(1)] = float(match.group(2))
    step = 1e-7
    volts = run.chip.steady_state(np.array([bias - step, bias + step])).voltage
    r_d = float((volts[1] - volts[0]) / (2 * step))
    swing = 2 * (levels["HIGH"] - levels["LOW"]) / (50.0 + 50.0 + r_d)
    assert swing < requested  # the tee path gets what was asked, the chip a little less
    p = da.prbs_mark_density(7)  # AC coupled: the levels sit -p and 1 - p of the swing about bias
    # the settled light at the two levels (the waveform model starts settled)
    zero, one = (float(run.chip.optical_power_waveform(np.array([0.0, 1e-9]), np.full(2, c))[0])
                 for c in (bias - p * swing, bias + (1 - p) * swing))
    assert results["extinction_ratio"]["value"] == pytest.approx(one / zero, rel=0.03)
    assert results["q_factor"]["value"] > 10
    assert results["ber_estimate"]["value"] < 1e-20
    assert 0 < results["eye_height"]["value"]
    assert 0.8 / rate < results["eye_width"]["value"] < 1 / rate


def test_bit_rate_above_the_generator_limit_is_refused(tmp_path, capsys):
    # refused by the plan before any instrument is opened (it used to be refused in the step)
    run = bench_run(tmp_path, [{"sequence": "eye", "params": {"bit_rate": 5e9}}])
    assert run.code == 2 and run.record is None and run.world is None  # nothing opened
    assert "bit rate 5e+09 b/s is above the pattern generator's max_bit_rate 3.35e+09 b/s" \
        in capsys.readouterr().err


# -- the modulation guards ------------------------------------------------------------------------
class FakeDriver:
    """Records calls; stands for any driver behind a guard."""

    name, idn = "fake", "fake"
    source_impedance = 50.0  # ohm, a generator's or VNA port's

    def __init__(self):
        self.calls = []

    def __getattr__(self, attr):
        return lambda *args, **kwargs: self.calls.append((attr, args, kwargs))


def guarded(limits: dict, impedance: float = 50.0):
    limits = SafeLimits.from_mapping(limits)
    drive = DriveMonitor(impedance)
    smu_driver, generator_driver, vna_driver = FakeDriver(), FakeDriver(), FakeDriver()
    smu = SourceGuard(smu_driver, limits)
    drive.sources.append(smu)
    return (smu, PatternGuard(generator_driver, limits, drive),
            NetworkAnalyzerGuard(vna_driver, limits, drive), generator_driver, vna_driver)


def test_pattern_guard_counts_the_bias():
    smu, generator, _, driver, _ = guarded({"max_current": 10e-3, "max_pulse_current": 13e-3,
                                            "max_voltage": 6.0})
    smu.configure_current_source(voltage_limit=5.0)
    smu.output_on()
    smu.set_current(8e-3)
    with pytest.raises(LimitError, match="max_pulse_current 0.013 A"):
        generator.set_levels(high=0.2, low=-0.2)  # 8 mA + 2 x 0.4 V / (50 + 50) ohm = 16 mA
    with pytest.raises(LimitError, match="before the generator's output goes on"):
        generator.output_on()
    assert driver.calls == []  # nothing reached the generator
    generator.set_levels(high=0.1, low=-0.1)  # 12 mA peak
    generator.output_on()
    assert [c[0] for c in driver.calls] == ["set_levels", "output_on"]
    smu.output_off()
    smu.output_on()
    smu.set_current(10e-3)  # 14 mA: the bias rose since the levels were set, checked again
    with pytest.raises(LimitError, match="on top of the bias 0.01 A"):
        generator.output_on()
    with pytest.raises(LimitError, match="high > low"):
        generator.set_levels(high=-0.1, low=0.1)


def test_pattern_guard_falls_back_to_max_current():
    _, generator, _, driver, _ = guarded({"max_current": 1e-3, "max_voltage": 6.0}, 500.0)
    with pytest.raises(LimitError, match="max_current 0.001 A"):
        generator.set_levels(high=0.3, low=-0.3)  # 2 x 0.6 V / 550 ohm = 2.2 mA, no bias
    assert driver.calls == []


def test_vna_guard_limits_the_source_power():
    smu, _, vna, _, driver = guarded({"max_current": 5e-3, "max_voltage": 6.0})
    smu.configure_current_source(voltage_limit=5.0)
    smu.output_on()
    smu.set_current(4e-3)
    # +10 dBm into 50 ohm: sqrt(2 x 10 mW / 50 ohm) = 20 mA amplitude
    with pytest.raises(LimitError, match="VNA modulation amplitude 0.02 A"):
        vna.configure_s21(start=1e6, stop=1e9, points=11, if_bandwidth=1e3, power=10.0)
    with pytest.raises(LimitError, match="configure the S21 sweep"):
        vna.output_on()
    assert driver.calls == []
    vna.configure_s21(start=1e6, stop=1e9, points=11, if_bandwidth=1e3, power=-30.0)
    vna.output_on()
    assert [c[0] for c in driver.calls] == ["configure_s21", "output_on"]


def test_the_bias_tee_is_checked_with_the_station_and_defaults_to_50_ohm():
    bad = builtin_station_config()
    bad["setup"] = {"bias_tee": {"modulation_impedance": -5}}
    with pytest.raises(ConfigError, match="bias_tee.*modulation_impedance"):
        StationConfig.from_mapping(bad)  # refused with the station, before any step
    good = builtin_station_config()
    good["setup"] = {}
    assert StationConfig.from_mapping(good).passive.bias_tee.modulation_impedance == 50.0


# -- defaults that work ---------------------------------------------------------------------------
DEFAULT_RUNS = [("liv", {}), ("iv", {}), ("bandwidth", {}), ("bandwidth", {"method": "vna"}),
                ("bandwidth", {"method": "step"}), ("pulse-response", {}), ("eye", {})]


@pytest.mark.parametrize(("name", "params"), DEFAULT_RUNS,
                         ids=[f"{n}-{p.get('method', 'default')}" for n, p in DEFAULT_RUNS])
def test_every_sequence_runs_with_its_defaults_on_the_builtin_bench(tmp_path, name, params):
    from bench.recipe import default_sample
    from bench.runner import Runner
    from sequences import get_sequence

    recipe = parse_recipe({"sample": default_sample(None),
                           "steps": [{"sequence": name, "params": params}]})
    runner = Runner(StationConfig.load(None), recipe, tmp_path / "run.h5")
    outcome = runner.run()
    step = outcome.steps[0]
    assert outcome.status == "completed" and step.status == "completed", step.reason
    declared = set(get_sequence(name).results) - {"reverse_leakage"}  # iv with source: voltage
    assert declared <= set(step.results)
    assert all(np.isfinite(r["value"]) for n, r in step.results.items()
               if n in declared and not n.endswith("_std")), step.results
    world = runner.station.world
    assert world.drive_current == 0.0 and world.max_applied_current <= 10e-3
