"""The pytest plugin: registered by entry point, its fixtures work in a user's own test file."""

from __future__ import annotations

from importlib.metadata import entry_points

pytest_plugins = ["pytester"]

USER_TESTS = '''
import pytest

from common.errors import LimitError
from drivers.roles import CurrentSource
from sequences.base import Parameter, Sequence
from sim_instruments.chip import ChipParameters, MicroLED


class SinglePoint(Sequence):
    """A user's own sequence: the voltage at one forward current."""

    name = "single_point"
    summary = "voltage at one current"
    roles = {"smu": CurrentSource}
    parameters = {"current": Parameter(1e-3, "A", "drive current", minimum=0.0)}
    columns = {"current": "A", "voltage": "V"}

    @classmethod
    def check_limits(cls, params, limits):
        limits.check_current(params["current"], "current")

    def acquire(self, ctx, params):
        smu = ctx.role("smu")
        smu.configure_current_source(voltage_limit=5.0, nplc=1.0)
        smu.output_on()
        try:
            smu.set_current(params["current"])
            voltage, current = smu.measure()
            ctx.points(current=current, voltage=voltage)
        finally:
            smu.output_off()

    @classmethod
    def analyse(cls, data, params, sample):
        return {"voltage": (float(data["voltage"][0]), "V")}


def chip_voltage(current, **chip):
    return float(MicroLED(ChipParameters(**chip)).steady_state(current).voltage)


def test_own_sequence_on_the_simulated_bench(run_sequence, tmp_path):
    result = run_sequence(SinglePoint, {"current": 2e-3}, limits={"voltage": [1.0, 5.0]})
    assert result.status == "completed" and result.passed
    assert result.path.parent == tmp_path and result.path.exists()
    assert result.values["voltage"] == pytest.approx(chip_voltage(2e-3), rel=0.02)
    run = result.open()
    assert run.simulated and run.steps["single_point"].units == {"current": "A", "voltage": "V"}
    failing = run_sequence(SinglePoint, {"current": 2e-3}, limits={"voltage": [None, 1.0]},
                           name="too_high")
    assert failing.status == "completed" and not failing.passed
    assert failing.results["voltage"]["passed"] is False


def test_request_beyond_the_sample_limits_is_refused(run_sequence):
    with pytest.raises(LimitError):
        run_sequence(SinglePoint, {"current": 50e-3})
    result = run_sequence(SinglePoint, {"current": 12e-3},
                          sample={"limits": {"max_current": 15e-3}})
    assert result.status == "completed", result.reason
    assert result.open().sample["limits"]["max_current"] == 15e-3


class TestHighSeriesResistance:
    """Overriding sim_chip (here for one class; in a conftest.py for a directory)."""

    @pytest.fixture
    def sim_chip(self):
        return {"series_resistance": 400.0}

    def test_chip_from_the_sim_chip_fixture(self, run_sequence, sim_station):
        assert sim_station.simulation["chip"]["series_resistance"] == 400.0
        result = run_sequence(SinglePoint, {"current": 3e-3})
        expected = chip_voltage(3e-3, series_resistance=400.0)
        assert result.values["voltage"] == pytest.approx(expected, rel=0.02)
        assert expected - chip_voltage(3e-3) > 0.5  # the override is visible in the data


def test_factory_and_builtin_sequence(run_sequence, make_sim_station):
    station = make_sim_station(extraction_efficiency=0.2)
    dim = run_sequence("liv", {"points": 10, "settle": 0}, station=station)
    bright = run_sequence("liv", {"points": 10, "settle": 0})
    assert dim.values["peak_eqe"] == pytest.approx(bright.values["peak_eqe"] / 2, rel=0.05)


def test_recorded_run_replays_the_instrument_record(run_sequence, recorded_run):
    original = run_sequence(SinglePoint, {"current": 1e-3})
    replay = recorded_run(original.path, sequences=[SinglePoint])
    assert replay.status == "completed" and replay.identical
    assert replay.output.exists() and replay.output != original.path


def test_forward_voltage_below_impossible_limit(run_sequence):
    result = run_sequence("iv", {"points": 10}, limits={"forward_voltage": [None, 0.5]})
    assert result.passed, f"forward voltage {result.values['forward_voltage']:.2f} V"
'''


def test_plugin_is_registered_by_entry_point():
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("microled_bench") == "bench.pytest_plugin"


def test_fixtures_in_a_user_test_file(pytester, monkeypatch):
    """The user's tests pass; the one whose limit cannot be met fails with its message (the
    fixture does not hide a failed limit)."""
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    pytester.makepyfile(test_user_bench=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: forward voltage [23].* V*",
                                 "*<SequenceRun iv completed FAIL *.h5>*",
                                 "FAILED *test_forward_voltage_below_impossible_limit*"])
