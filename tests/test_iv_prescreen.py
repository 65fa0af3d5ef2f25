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


def test_a_wide_lin_sweep_fits_the_diode_above_the_leakage(write_yaml, tmp_path):
    """A lin voltage sweep from -3 to 3.2 V: most forward points carry pA of ohmic leakage,
    which the diode fit once took in (R_s came out at -57 ohm). Forward points carrying less than
    100x the leakage seen in reverse are left out of the fit, which then finds the chip's own
    series resistance and ideality factor."""
    sweep = {"sequence": "iv", "name": "wide", "params": {
        "source": "voltage", "start": -3.0, "stop": 3.2, "points": 20, "spacing": "lin",
        "current_limit": 5e-3, "reverse_voltage": -3.0}}
    recipe = write_yaml("recipe.yaml", {"sample": SAMPLE, "steps": [sweep]})
    out = tmp_path / "run.h5"
    assert main(["run", recipe, "-o", str(out), "-q"]) == 0
    results = read_run(out).steps[0].results
    chip = ChipParameters()  # the built-in bench's chip
    assert results["series_resistance"]["value"] == pytest.approx(chip.series_resistance,
                                                                  rel=0.05)
    assert results["ideality_factor"]["value"] == pytest.approx(chip.ideality_factor, rel=0.05)
    assert "reverse_leakage" in results


def test_an_unphysical_negative_series_resistance_is_refused():
    """Points of V = n kT/q ln(I / I_s) + I R_s with R_s = -50 ohm: the fit recovers the
    negative R_s and refuses it (the figure is then dropped with this reason)."""
    from sequences.dc_analysis import diode_fit

    current = np.geomspace(1e-6, 5e-3, 12)
    voltage = 2.0 * 0.025693 * np.log(current / 1e-27) - 50.0 * current
    with pytest.raises(ValueError, match="series resistance -50 ohm is negative"):
        diode_fit(current, voltage, 298.15)
