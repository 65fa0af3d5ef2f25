"""The photodetectors in simulation against independent truth: every simulated meter reads the
chip's optical power (its own model, sim_instruments/chip.py) times the collection efficiency,
times the wavelength correction of a detector of constant quantum efficiency when the meter is
set to another wavelength (lambda_chip / lambda_set: the meter divides the photocurrent by the
responsivity eta q lambda_set / (h c)); and `liv` runs unchanged on each of them."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import record_stations
from scipy import constants as sc
from test_bench_e2e import LIMITS, SWEEP, TOLERANCE, sample_of

from bench.cli import main
from drivers.newport_1936r import Newport1936R
from drivers.serial_link import open_serial
from drivers.smu_photodiode import SmuPhotodiode
from drivers.thorlabs_pm100usb import ThorlabsPM100USB
from drivers.thorlabs_pm400 import ThorlabsPM400
from sim_instruments import serial_sim
from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from sim_instruments.chip import ChipParameters, MicroLED
from sim_instruments.models.smu_photodiode import PhotodiodeOn2450Model

QUIET = ChipParameters(noise=0.0)  # no measurement noise: readings compare to 1e-6
PHOTODIODE = PhotodiodeOn2450Model.PHOTODIODE
RESOURCES = {"thorlabs_pm100usb": "USB0::0x1313::0x8072::P2001234::INSTR",
             "thorlabs_pm400": "USB0::0x1313::0x8075::P5001234::INSTR",
             "smu_photodiode": "USB0::0x05E6::0x2450::04400002::INSTR"}


def true_responsivity(wavelength: float) -> float:
    """The simulated photodiode's A/W: its quantum efficiency x q lambda / (h c)."""
    return PHOTODIODE.quantum_efficiency * sc.e * wavelength / (sc.h * sc.c)


# the photodiode's calibration certificate, as a lab would copy it into the station
CALIBRATION = [[w, true_responsivity(w)] for w in (400e-9, 450e-9, 500e-9, 550e-9)]


def open_meter(model: str, world: SimulatedWorld, **options):
    """A connected driver of ``model`` on its simulated instrument in ``world``."""
    if model == "newport_1936r":
        url = serial_sim.attach(model, world, "power_meter")
        meter = Newport1936R(open_serial(url, Newport1936R.serial_settings), name="power_meter")
    else:
        resource = RESOURCES[model]
        manager = open_simulated_bench({resource: model}, world, names={resource: "power_meter"})
        driver = {"thorlabs_pm100usb": ThorlabsPM100USB, "thorlabs_pm400": ThorlabsPM400,
                  "smu_photodiode": SmuPhotodiode}[model]
        if model == "smu_photodiode":
            options = SmuPhotodiode.check_options({"responsivity": CALIBRATION, **options})
        meter = driver(manager.open_resource(resource), name="power_meter", **options)
    meter.connect()
    return meter


MODELS = ["newport_1936r", "thorlabs_pm100usb", "thorlabs_pm400", "smu_photodiode"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("efficiency, set_wavelength", [(1.0, 450e-9), (0.4, 450e-9),
                                                        (1.0, 500e-9)])
def test_the_reading_is_the_chips_power_collected_and_wavelength_corrected(
        model, efficiency, set_wavelength):
    world = SimulatedWorld(QUIET, collection_efficiency=efficiency)
    meter = open_meter(model, world)
    meter.configure(wavelength=set_wavelength, averaging=4)
    chip = MicroLED(QUIET)
    for current in (0.1e-3, 2e-3):
        world.apply(current, float(chip.steady_state(np.array([current])).voltage[0]))
        emitted = float(chip.steady_state(np.array([current])).optical_power[0])
        expected = emitted * efficiency * QUIET.wavelength / set_wavelength
        assert meter.read_power() == pytest.approx(expected, rel=2e-6)


def test_a_wrong_calibration_scales_the_photodiode_reading():
    world = SimulatedWorld(QUIET)
    meter = open_meter("smu_photodiode", world, responsivity=[[w, 1.25 * r]
                                                              for w, r in CALIBRATION])
    meter.configure(wavelength=450e-9)
    world.apply(1e-3, 3.0)
    emitted = float(MicroLED(QUIET).steady_state(np.array([1e-3])).optical_power[0])
    assert meter.read_power() == pytest.approx(emitted / 1.25, rel=2e-6)


def test_a_reverse_biased_photodiode_adds_its_dark_current_which_the_option_removes():
    bias = -5.0
    dark = PHOTODIODE.saturation_current + abs(bias) / PHOTODIODE.shunt_resistance
    world = SimulatedWorld(QUIET)
    plain = open_meter("smu_photodiode", world, bias=bias)
    plain.configure(wavelength=450e-9)
    assert plain.read_power() == pytest.approx(dark / true_responsivity(450e-9), rel=1e-6)
    corrected = open_meter("smu_photodiode", SimulatedWorld(QUIET), bias=bias, dark_current=dark)
    corrected.configure(wavelength=450e-9)
    assert abs(corrected.read_power()) < 1e-15


def test_the_photodiode_smu_never_drives_the_chip():
    world = SimulatedWorld(QUIET)
    meter = open_meter("smu_photodiode", world, bias=-5.0)
    meter.configure(wavelength=450e-9)
    meter.read_power()
    meter.output_off()
    assert world.current_history == [] and world.drive_current == 0.0
    assert ("power_meter", ":OUTPut:STATe ON") in world.commands


def test_the_photodiode_yaml_is_the_2450s():
    folder = Path(__file__).parents[1] / "sim_instruments"
    mine = (folder / "smu_photodiode.yaml").read_text().splitlines()
    theirs = (folder / "keithley2450.yaml").read_text().splitlines()
    body = [line for line in mine if not line.startswith("#")]
    assert len(body) == len([line for line in theirs if not line.startswith("#")])
    differ = [(a, b) for a, b in zip(body, [t for t in theirs if not t.startswith("#")],
                                     strict=True) if a != b]
    assert [a.strip() for a, _ in differ] == [
        "smu_photodiode:", 'r: "KEITHLEY INSTRUMENTS,MODEL 2450,04400002,1.7.12b"',
        "USB0::0x05E6::0x2450::04400002::INSTR:", "device: smu_photodiode"]


METERS = {
    "newport_1936r": {"driver": "newport_1936r", "resource": "COM3"},
    "thorlabs_pm100usb": {"driver": "thorlabs_pm100usb",
                          "resource": RESOURCES["thorlabs_pm100usb"]},
    "thorlabs_pm400": {"driver": "thorlabs_pm400", "resource": RESOURCES["thorlabs_pm400"]},
    "smu_photodiode": {"driver": "smu_photodiode", "resource": RESOURCES["smu_photodiode"],
                       "options": {"responsivity": CALIBRATION, "bias": -2.0,
                                   "current_limit": 1e-3}},
}


@pytest.mark.parametrize("model", MODELS)
def test_liv_runs_unchanged_on_each_meter_and_finds_the_peak_eqe(model, tmp_path, monkeypatch):
    params = ChipParameters()
    station = {"instruments": {
        "smu": {"driver": "keithley2450", "resource": "USB0::0x05E6::0x2450::04400001::INSTR",
                "simulated": True},
        "power_meter": {**METERS[model], "simulated": True}}}
    (tmp_path / "station.yaml").write_text(json.dumps(station))
    (tmp_path / "recipe.yaml").write_text(json.dumps({"sample": sample_of(params, LIMITS),
                                                      "steps": [{"sequence": "liv", "params": {
                                                          **SWEEP, "points": 30,
                                                          "settle": 0.0}}]}))
    out = tmp_path / "run.h5"
    stations = record_stations(monkeypatch)
    code = main(["run", str(tmp_path / "recipe.yaml"), "--station",
                 str(tmp_path / "station.yaml"), "-o", str(out), "-q"])
    assert code == 0
    with h5py.File(out, "r") as f:
        (key,) = f["steps"]
        peak = float(f[f"steps/{key}/results/peak_eqe"][()])
        assert f.attrs["simulated"]
        assert f["station/instruments/power_meter"].attrs["driver"] == model
    assert peak == pytest.approx(MicroLED(params).peak_eqe(), rel=TOLERANCE)
    (opened,) = stations
    assert max(abs(i) for i in opened.world.current_history) <= SWEEP["stop"] * (1 + 1e-9)


def test_a_run_on_an_optioned_driver_replays_against_its_record(tmp_path):
    """The station options are kept in the snapshot and given back to the driver on replay."""
    station = {"instruments": {
        "smu": {"driver": "keithley2450", "resource": "USB0::0x05E6::0x2450::04400001::INSTR",
                "simulated": True},
        "power_meter": {**METERS["smu_photodiode"], "simulated": True}}}
    (tmp_path / "station.yaml").write_text(json.dumps(station))
    (tmp_path / "recipe.yaml").write_text(json.dumps({
        "sample": sample_of(ChipParameters(), LIMITS),
        "steps": [{"sequence": "liv", "params": {**SWEEP, "points": 8, "settle": 0.0}}]}))
    out, again = tmp_path / "run.h5", tmp_path / "replayed.h5"
    assert main(["run", str(tmp_path / "recipe.yaml"), "--station",
                 str(tmp_path / "station.yaml"), "-o", str(out), "-q"]) == 0
    assert main(["replay", str(out), "--instruments", "-o", str(again), "-q"]) == 0
    with h5py.File(out, "r") as f, h5py.File(again, "r") as g:
        assert json.loads(g["station/instruments/power_meter"].attrs["options"]) == \
            json.loads(f["station/instruments/power_meter"].attrs["options"])
        (key,) = f["steps"]
        np.testing.assert_array_equal(g[f"steps/{key}/data/optical_power"][()],
                                      f[f"steps/{key}/data/optical_power"][()])


def test_a_station_with_a_bad_photodiode_option_is_refused_before_anything_opens(stations):
    from bench.station import StationConfig
    from common.errors import ConfigError

    station = {"instruments": {"power_meter": {**METERS["smu_photodiode"], "options": {
        "responsivity": CALIBRATION, "bias": 3.0}}}}
    with pytest.raises(ConfigError, match=r"power_meter.*options: bias=3.0 must be a number "
                                          r"from -50 to 0$"):
        StationConfig.from_mapping(station)
    assert stations == []
