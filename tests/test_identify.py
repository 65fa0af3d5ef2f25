"""Identification by *IDN? (bench/identify.py): the matching driver of every simulated model,
``bench station --scan`` on a simulated VISA library (only *IDN? is sent, serial ports are not
touched), the exchange against the scripted fake, and ``driver: auto`` resolved at open and
stored resolved in the run's snapshot."""

from __future__ import annotations

import json

import pytest
import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError

from bench.cli import main
from bench.identify import SERIAL_NOTE, identify, matching_drivers, query_idn, scan
from bench.storage import read_run
from common.errors import ConfigError, StationError
from drivers import driver_class
from sim_instruments.backend import SimInstrument, SimulatedWorld, open_simulated_bench
from sim_instruments.models import MODELS
from tests.conftest import TIMEOUT, ScriptedResource

SMU = "USB0::0x05E6::0x2450::04400001::INSTR"
SCOPE = "TCPIP0::192.168.1.23::inst0::INSTR"
# models of an instrument of their own (smu_photodiode is a set-up on an SMU: identification
# finds the SMU's driver, so it declares no pattern)
VISA_MODELS = [m for m, (yaml, _) in MODELS.items() if yaml is not None
               and getattr(driver_class(m), "transport", "visa") == "visa"
               and driver_class(m).idn_pattern not in ("", ".*")]


def simulated_idn(model: str) -> str:
    world = SimulatedWorld()
    manager = open_simulated_bench({"GPIB0::1::INSTR": model}, world)
    try:
        return query_idn(manager, "GPIB0::1::INSTR")
    finally:
        manager.close()


@pytest.mark.parametrize("model", VISA_MODELS)
def test_each_simulated_model_is_proposed_its_own_driver_alone(model):
    assert matching_drivers(simulated_idn(model)) == [model]


def test_unknown_answers_match_nothing():
    assert matching_drivers("ACME,WIDGET 9000,1,1.0") == []


class FakeManager:
    """A resource manager handing out scripted resources (tests/conftest.py)."""

    def __init__(self, scripts: dict[str, list], listed=None):
        self.scripts, self.opened = scripts, []
        self.listed = tuple(scripts) if listed is None else listed

    def list_resources(self):
        return self.listed

    def open_resource(self, name, **_):
        if name not in self.scripts:
            raise VisaIOError(constants.VI_ERROR_RSRC_NFOUND)
        resource = ScriptedResource(self.scripts[name])
        self.opened.append(resource)
        return resource


def test_the_only_thing_sent_is_idn_and_a_silent_resource_times_out():
    manager = FakeManager({
        "GPIB0::5::INSTR": [("*IDN?", "RIGOL TECHNOLOGIES,DS1104Z,DS1Z0001,00.04.04")],
        "GPIB0::6::INSTR": [("*IDN?", TIMEOUT)]}, listed=(
            "GPIB0::5::INSTR", "GPIB0::6::INSTR", "ASRL1::INSTR", "GPIB0::7::INSTR"))
    found, notes = scan(manager, timeout_ms=300)
    assert [(f.resource, f.drivers) for f in found] == [
        ("GPIB0::5::INSTR", ("rigol_ds1000z",)), ("GPIB0::6::INSTR", ()),
        ("GPIB0::7::INSTR", ())]
    assert "no answer to *IDN? within 0.3 s" in found[1].problem
    assert "cannot open" in found[2].problem
    assert notes == [f"{SERIAL_NOTE} (skipped: ASRL1::INSTR)"]
    for resource in manager.opened:
        resource.done()
        assert resource.sent == ["*IDN?"] and resource.timeouts == [300]


def test_identify_refuses_an_ambiguous_or_unknown_answer():
    manager = FakeManager({"GPIB0::5::INSTR": [("*IDN?", "ACME,WIDGET,1,1")]})
    with pytest.raises(StationError, match="matches no driver; name the driver"):
        identify(manager, "GPIB0::5::INSTR")


def test_a_scan_of_the_simulated_library_writes_nothing_but_idn():
    world = SimulatedWorld()
    manager = open_simulated_bench({SMU: "keithley2450", SCOPE: "tektronix_mso"}, world)
    manager.visalib.add("ASRL3::INSTR", SimInstrument("keithley2450", "ASRL3::INSTR", world,
                                                      "serial"))
    try:
        found, notes = scan(manager)
    finally:
        manager.close()
    assert {f.resource: f.drivers for f in found} == {
        "USB0::0x05E6::0x2450::04400001::0::INSTR": ("keithley2450",),
        SCOPE: ("tektronix_mso",)}
    assert sorted(c for _, c in world.commands) == ["*IDN?", "*IDN?"]
    assert "ASRL3::INSTR" in notes[0]


def station_file(tmp_path, smu: dict) -> str:
    station = {"name": "auto bench", "instruments": {"smu": {"resource": SMU, **smu}}}
    path = tmp_path / "station.yaml"
    path.write_text(json.dumps(station))
    return str(path)


def test_auto_with_simulated_is_refused_with_one_line(tmp_path, capsys):
    from bench.station import StationConfig

    with pytest.raises(ConfigError, match="driver auto and simulated: a simulated instrument "
                                          "has nothing to identify"):
        StationConfig.from_mapping({"instruments": {"smu": {
            "driver": "auto", "resource": SMU, "simulated": True}}})
    code = main(["station", "--station", station_file(tmp_path, {"driver": "auto"}), "--sim"])
    assert code == 2
    assert "nothing to identify" in capsys.readouterr().err


@pytest.fixture
def visa_is_simulated(monkeypatch):
    """pyvisa.ResourceManager() (the 'real' VISA library) serves a simulated 2450."""
    world = SimulatedWorld()
    real = pyvisa.ResourceManager

    def manager(*args):
        if args:  # the simulated bench's own library
            return real(*args)
        return open_simulated_bench({SMU: "keithley2450"}, world)

    monkeypatch.setattr(pyvisa, "ResourceManager", manager)
    return world


def test_auto_is_resolved_at_open_and_stored_resolved(tmp_path, visa_is_simulated, capsys):
    station = station_file(tmp_path, {"driver": "auto"})
    assert main(["station", "--station", station]) == 0
    assert "keithley2450" in capsys.readouterr().out
    out = tmp_path / "run.h5"
    code = main(["run", "iv", "--station", station, "-o", str(out), "-q", "--sample-id", "d1",
                 "--diameter", "2e-5",
                 "--wavelength", "4.5e-7", "--max-current", "0.01", "--max-voltage", "5"])
    assert code == 0
    snapshot = read_run(out).station["instruments"]["smu"]
    assert snapshot["driver"] == "keithley2450" and snapshot["idn"].startswith("KEITHLEY")


def test_a_wrong_driver_is_told_which_driver_answers(tmp_path, visa_is_simulated, capsys):
    station = station_file(tmp_path, {"driver": "rigol_ds1000z"})
    assert main(["station", "--station", station]) != 0
    assert "it answers like driver keithley2450" in capsys.readouterr().err


def test_scan_on_the_command_line_lists_the_simulated_station(capsys):
    assert main(["station", "--scan", "--sim"]) == 0
    out = capsys.readouterr().out
    assert "driver: keysight_infiniium" in out and "serial ports (ASRL) are not scanned" in out
