"""The README's reverse-bias pre-screen: a voltage sweep from 0 to exactly -5 V gives
``reverse_leakage`` at -5 V, the chip's own leakage there, although the SMU's voltage readback
of the last point lands a hair short of -5 V."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from bench.cli import main
from bench.storage import read_run
from sim_instruments.chip import ChipParameters, MicroLED

SAMPLE = {"id": "W12-D34", "diameter": 20e-6, "wavelength": 450e-9,
          "limits": {"max_current": 10e-3, "max_voltage": 6.0, "max_reverse_voltage": 10.0}}
PRESCREEN = {"sequence": "iv", "name": "prescreen",
             "params": {"source": "voltage", "start": 0, "stop": -5, "points": 26,
                        "spacing": "lin", "current_limit": 1e-6}}


def test_prescreen_to_exactly_the_reverse_voltage_gives_the_leakage(write_yaml, tmp_path):
    shunt = 1e9  # ohm: a leaky chip, 5 nA at -5 V
    station = write_yaml("station.yaml", {"simulation": {"chip": {"shunt_resistance": shunt}}})
    recipe = write_yaml("recipe.yaml", {"sample": SAMPLE, "steps": [PRESCREEN]})
    out = tmp_path / "run.h5"
    assert main(["run", recipe, "--station", station, "-o", str(out), "-q"]) == 0
    step = read_run(out).steps[0]
    truth = abs(float(MicroLED(ChipParameters(shunt_resistance=shunt))
                      .current_at_voltage(np.array([-5.0]))[0]))
    assert truth == pytest.approx(5e-9, rel=0.01)  # the shunt dominates
    assert step.results["reverse_leakage"]["value"] == pytest.approx(truth, rel=0.02)
    assert step.results["reverse_leakage"]["units"] == "A"


def test_a_fit_on_too_few_forward_points_is_dropped_with_its_reason(write_yaml, tmp_path):
    """A lin voltage sweep from -3 to 3.2 V has only a few points above turn-on: the diode fit
    there gave R_s = -568 ohm. An unphysical (negative) R_s drops the fit's three figures with
    the reason; reverse leakage and the forward voltage stay."""
    sweep = {"sequence": "iv", "name": "wide", "params": {
        "source": "voltage", "start": -3.0, "stop": 3.2, "points": 20, "spacing": "lin",
        "current_limit": 5e-3, "reverse_voltage": -3.0}}
    recipe = write_yaml("recipe.yaml", {"sample": SAMPLE, "steps": [sweep]})
    out = tmp_path / "run.h5"
    main(["run", recipe, "-o", str(out), "-q"])
    step = read_run(out).steps[0]
    assert {"reverse_leakage", "forward_voltage"} <= set(step.results)
    fit = ("series_resistance", "ideality_factor", "saturation_current")
    assert not set(fit) & set(step.results)
    with h5py.File(out, "r") as f:
        dropped = json.loads(f["steps/00_wide"].attrs["dropped_figures"])
    assert set(fit) <= set(dropped) and "is negative" in dropped["series_resistance"]
