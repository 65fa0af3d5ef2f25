"""Shared fixtures: a fresh simulated DC bench (Keithley 2450 + PM100D), YAML files in tmp_path."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from drivers.keithley2450 import Keithley2450
from drivers.thorlabs_pm100d import ThorlabsPM100D
from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from sim_instruments.chip import ChipParameters

SMU_RESOURCE = "USB0::0x05E6::0x2450::04400001::INSTR"
METER_RESOURCE = "USB0::0x1313::0x8078::P0012345::INSTR"


class RecordingResource:
    """A pyvisa resource that keeps every command written to it in ``sent``."""

    def __init__(self, resource):
        object.__setattr__(self, "_resource", resource)
        object.__setattr__(self, "sent", [])

    def write(self, message: str):
        self.sent.append(message)
        return self._resource.write(message)

    def __getattr__(self, name):
        return getattr(self._resource, name)

    def __setattr__(self, name, value):
        setattr(self._resource, name, value)


@pytest.fixture
def sim_bench():
    """Factory ``sim_bench(**chip_parameters)``: a new simulated world with a connected Keithley
    2450 (``smu``) and PM100D (``meter``) whose commands are recorded (``smu.resource.sent``)."""
    managers = []

    def make(**chip) -> SimpleNamespace:
        world = SimulatedWorld(ChipParameters(**chip))
        manager = open_simulated_bench({SMU_RESOURCE: "keithley2450",
                                        METER_RESOURCE: "thorlabs_pm100d"}, world)
        managers.append(manager)
        smu = Keithley2450(RecordingResource(manager.open_resource(SMU_RESOURCE)), name="smu")
        meter = ThorlabsPM100D(RecordingResource(manager.open_resource(METER_RESOURCE)),
                               name="power_meter")
        smu.connect()
        meter.connect()
        return SimpleNamespace(world=world, smu=smu, meter=meter, manager=manager)

    yield make
    for manager in managers:
        manager.close()


@pytest.fixture
def write_yaml(tmp_path):
    """Factory ``write_yaml(name, mapping_or_text) -> path`` writing into tmp_path."""

    def write(name: str, content) -> str:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
        return str(path)

    return write


def record_stations(monkeypatch) -> list:
    """Every Station the runner creates from now on (its ``world`` records the chip's current);
    empty when the input was refused before any instrument was opened."""
    import bench.runner

    created = []

    class RecordedStation(bench.runner.Station):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(bench.runner, "Station", RecordedStation)
    return created


@pytest.fixture
def stations(monkeypatch) -> list:
    """:func:`record_stations` as a fixture."""
    return record_stations(monkeypatch)
