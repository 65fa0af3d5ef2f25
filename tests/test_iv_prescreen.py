"""The README's reverse-bias pre-screen: a voltage sweep from 0 to exactly -5 V gives
``reverse_leakage`` at -5 V, the chip's own leakage there, although the SMU's voltage readback
of the last point lands a hair short of -5 V."""

from __future__ import annotations

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
