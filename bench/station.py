"""The station: which instruments, on which resources, real or simulated; opened and identified.

A station file (YAML) names instruments (``driver``, ``resource``, optional ``simulated: true``,
``fallback: sim`` and ``options:``, the driver's own settings such as a positioner's axes and
travel limits, checked by the driver class before anything opens), an optional ``simulation:``
block (the simulated chip and its optics), the passive parts of the set-up under ``setup:``, and
``fallback: sim`` for every instrument at once. With no file the built-in simulated bench is
used; a file holding only ``simulation:`` uses the built-in instruments with that chip. A serial
instrument's resource is a pyserial URL or port name (``COM3``, ``/dev/ttyUSB0``). ``driver: auto``
names a VISA resource whose driver is found at open by its ``*IDN?`` (bench/identify.py); the run's
snapshot stores the driver found.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import ConfigError, StationError
from common.passive import Setup
from drivers import DRIVERS, driver_class

from .yamlio import load_yaml, parse_yaml

# pyvisa and the simulator (sim_instruments, pyvisa-sim, scipy) are imported where a station is
# opened or a simulation block checked, not with this module: `bench --help` must answer at once
if TYPE_CHECKING:
    import pyvisa

    from sim_instruments.backend import SimulatedWorld

_INSTRUMENT_KEYS = {"driver", "resource", "simulated", "fallback", "options"}
AUTO = "auto"  # driver: auto, resolved at open by *IDN? (bench/identify.py)
_STATION_KEYS = {"name", "instruments", "simulation", "setup", "fallback", "record_io"}


def builtin_station_config() -> dict[str, Any]:
    return parse_yaml(resources.files("bench").joinpath("builtin_station.yaml").read_text())


@dataclass
class InstrumentConfig:
    name: str
    driver: str
    resource: str
    simulated: bool = False
    fallback: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # checked by the driver class

    @property
    def serial(self) -> bool:
        """The driver talks over pyserial (``transport = "serial"``), not VISA; ``auto``
        identifies VISA resources only."""
        return self.driver != AUTO and \
            getattr(driver_class(self.driver), "transport", "visa") == "serial"

    @property
    def library(self) -> bool:
        """The driver talks through a vendor library's device object (``transport =
        "library"``, opened by its ``open_device(resource)``): no VISA, no I/O record."""
        return getattr(driver_class(self.driver), "transport", "visa") == "library"


@dataclass
class StationConfig:
    """A parsed, checked station file."""

    name: str
    instruments: dict[str, InstrumentConfig]
    simulation: dict[str, Any] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)
    record_io: bool = True
    source: str = "built-in simulated bench"
    mapping: dict[str, Any] = field(default_factory=dict)  # as given, kept in the run file

    @property
    def passive(self) -> Setup:
        """The passive set-up, parsed with its defaults (checked when the station was read)."""
        return Setup.from_mapping(self.setup or None)

    def resolved(self, *, force_sim: bool = False) -> StationConfig:
        """This station with every ``driver: auto`` replaced by the driver that matches its
        resource's ``*IDN?`` (only *IDN? is sent; StationError when none or several match);
        itself when none is auto. ``force_sim`` with an auto instrument is refused."""
        auto = [cfg for cfg in self.instruments.values() if cfg.driver == AUTO]
        if not auto:
            return self
        if force_sim:
            raise ConfigError(f"station: {', '.join(c.name for c in auto)} has driver auto: "
                              f"a simulated instrument has nothing to identify; name its driver "
                              f"to simulate it")
        import pyvisa

        from .identify import identify

        manager = pyvisa.ResourceManager()
        instruments = dict(self.instruments)
        try:
            for cfg in auto:
                driver, _ = identify(manager, cfg.resource)
                instruments[cfg.name] = replace(cfg, driver=driver)
        finally:
            with contextlib.suppress(Exception):
                manager.close()
        return replace(self, instruments=instruments)

    @classmethod
    def load(cls, path: str | Path | None) -> StationConfig:
        if path is None:
            return cls.from_mapping(builtin_station_config(), source="built-in simulated bench")
        data = load_yaml(path, "station")
        if set(data) <= {"simulation", "name"}:  # only a chip: the built-in instruments
            merged = builtin_station_config()
            merged.update(data)
            _fit_builtin_switch(merged)
            return cls.from_mapping(merged, source=str(path))
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "") -> StationConfig:
        """Check a station mapping whole (types, names, flags, the simulation and set-up
        blocks) before anything is opened; any problem is one ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError("station: must be a mapping")
        unknown = set(data) - _STATION_KEYS
        if unknown:
            raise ConfigError(f"station: unknown key(s) {sorted(map(str, unknown))}; "
                              f"known: {sorted(_STATION_KEYS)}")
        raw = data.get("instruments")
        if not isinstance(raw, dict) or not raw:
            raise ConfigError("station: 'instruments' must map names to instruments")
        all_fallback = _fallback(data.get("fallback"), "station")
        instruments = {}
        for name, spec in raw.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"station: instrument name {name!r} must be text")
            if not isinstance(spec, dict):
                raise ConfigError(f"station: instrument {name!r} must be a mapping")
            bad = set(spec) - _INSTRUMENT_KEYS
            if bad:
                raise ConfigError(f"station: instrument {name!r} has unknown key(s) "
                                  f"{sorted(map(str, bad))}; known: {sorted(_INSTRUMENT_KEYS)}")
            driver = spec.get("driver")
            if driver == AUTO:
                _check_auto(name, spec)
            elif not isinstance(driver, str) or driver not in DRIVERS:
                raise ConfigError(f"station: instrument {name!r} has unknown driver {driver!r}; "
                                  f"known: auto, {', '.join(sorted(DRIVERS))}")
            resource = spec.get("resource")
            if not isinstance(resource, str) or not resource or not resource.isprintable() \
                    or any(c.isspace() for c in resource):
                raise ConfigError(f"station: instrument {name!r} needs a VISA 'resource' string")
            options = _block(spec, "options", f"instrument {name!r}: ")
            try:
                options = {} if driver == AUTO else driver_class(driver).check_options(options)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"station: instrument {name!r} options: {exc}") from None
            instruments[name] = InstrumentConfig(
                name, driver, spec["resource"],
                simulated=_flag(spec.get("simulated", False), f"instrument {name!r} simulated"),
                fallback=all_fallback or _fallback(spec.get("fallback"), f"instrument {name!r}"),
                options=options)
        station_name = data.get("name", "station")
        if not isinstance(station_name, str) or not station_name.isprintable():
            raise ConfigError(f"station: name {station_name!r:.60} must be printable text")
        record_io = _flag(data.get("record_io", True), "record_io")
        simulation, setup = _block(data, "simulation"), _block(data, "setup")
        for key in ("chip", "initial_state"):
            _block(simulation, key, "simulation: ")
        try:
            Setup.from_mapping(setup or None)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ConfigError(f"station: {exc}") from None
        if simulation:  # validated now, not mid-run (an absent block is the default chip)
            try:
                from sim_instruments.backend import SimulatedWorld

                SimulatedWorld.from_config(simulation)
            except (ValueError, TypeError, OverflowError) as exc:
                raise ConfigError(f"station: simulation block: {exc}") from None
        return cls(name=station_name, instruments=instruments, simulation=simulation,
                   setup=dict(setup), record_io=record_io, source=source, mapping=dict(data))


def _check_auto(name: str, spec: dict[str, Any]) -> None:
    """``driver: auto`` is identified on a real resource: a simulator has nothing to identify,
    a fallback would need a model and options a driver."""
    for key, why in (("simulated", "a simulated instrument has nothing to identify"),
                     ("fallback", "a simulated fallback needs a named driver"),
                     ("options", "options belong to a named driver")):
        if spec.get(key) not in (None, False, {}):
            raise ConfigError(f"station: instrument {name!r} has driver auto and {key}: {why}; "
                              f"name its driver")


def _fit_builtin_switch(station: dict[str, Any]) -> None:
    """The built-in switch wired to the simulated array's size (and slots) when the station's
    ``simulation.array`` gives them; anything malformed is left for the checks to report."""
    simulation = station.get("simulation")
    array = simulation.get("array") if isinstance(simulation, dict) else None
    if not isinstance(array, dict):
        return
    options = station["instruments"]["switch"]["options"]
    for key in ("rows", "columns", "slots"):
        if key in array:
            options[key] = array[key]


def _block(data: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    """An optional sub-mapping: absent or null is empty; anything but a mapping is refused."""
    block = data.get(key)
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ConfigError(f"station: {where}'{key}' must be a mapping, not "
                          f"{type(block).__name__}")
    return block


def _flag(value: Any, where: str) -> bool:
    """A yes/no setting: a YAML boolean only ('false' in quotes is text, not False)."""
    if not isinstance(value, bool):
        raise ConfigError(f"station: {where} must be true or false, not {value!r}")
    return value


def _fallback(value: Any, where: str) -> bool:
    if value is None or value is False:
        return False
    if value == "sim":
        return True
    raise ConfigError(f"station: {where} has fallback {value!r}; the only fallback is 'sim'")


@dataclass
class OpenInstrument:
    config: InstrumentConfig
    driver: Any
    simulated: bool
    note: str = ""
    # what the runner found on this output before the first step and what it did:
    # {"found": ..., "done": ..., "summary": "smu output was ON at ...: ramped to 0 ..."}
    safe_state: dict[str, Any] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        info = {"driver": self.config.driver, "resource": self.config.resource,
                "idn": self.driver.idn, "simulated": self.simulated, "note": self.note}
        if self.config.options:
            info["options"] = dict(self.config.options)
        if self.safe_state:
            info["safe_state"] = dict(self.safe_state)
        return info


class ReopenableResource:
    """A pyvisa resource that the drivers' fault policy may open again after a dropped link,
    keeping its timeout and terminations."""

    _kept = ("timeout", "read_termination", "write_termination")

    def __init__(self, opener):
        object.__setattr__(self, "_opener", opener)
        object.__setattr__(self, "_resource", opener())

    def __getattr__(self, name):
        return getattr(self._resource, name)

    def __setattr__(self, name, value):
        setattr(self._resource, name, value)

    def reopen(self) -> None:
        old = self._resource
        kept = {name: getattr(old, name) for name in self._kept}
        with contextlib.suppress(Exception):
            old.close()
        new = self._opener()
        for name, value in kept.items():
            setattr(new, name, value)
        object.__setattr__(self, "_resource", new)


class Station:
    """Open instruments of one station. Use as a context manager; closing never touches outputs
    (the runner switches them off first)."""

    def __init__(self, config: StationConfig, *, force_sim: bool = False, wrap=None,
                 warn=lambda message: print(message, file=sys.stderr)):
        self.config = config
        self.world: SimulatedWorld | None = None
        self.instruments: dict[str, OpenInstrument] = {}
        self._force_sim, self._wrap, self._warn = force_sim, wrap, warn
        self._managers: list[pyvisa.ResourceManager] = []

    @property
    def simulated(self) -> bool:
        return any(inst.simulated for inst in self.instruments.values())

    def open(self) -> Station:
        self.config = self.config.resolved(force_sim=self._force_sim)  # driver: auto
        try:
            for cfg in self.config.instruments.values():
                self.instruments[cfg.name] = self._open_one(cfg)
        except BaseException:
            self.close()
            self.instruments.clear()  # closed now: a snapshot must not query them
            raise
        return self

    # -- openers: each returns the resource its driver talks through ----------------------
    # (a VISA or serial resource in a ReopenableResource, a vendor library's device as is)
    def _world(self, cfg: InstrumentConfig) -> SimulatedWorld:
        """The simulated world, built on first use; StationError for a driver the simulator
        has no model of."""
        from sim_instruments.backend import SimulatedWorld
        from sim_instruments.models import MODELS

        if cfg.driver not in MODELS:
            raise StationError(f"{cfg.name}: no simulator for driver {cfg.driver!r}")
        if self.world is None:
            self.world = SimulatedWorld.from_config(self.config.simulation, self.config.setup)
        return self.world

    def _sim_visa(self, cfg: InstrumentConfig) -> Any:
        from sim_instruments.backend import open_simulated_bench

        manager = open_simulated_bench({cfg.resource: cfg.driver}, self._world(cfg),
                                       names={cfg.resource: cfg.name})
        self._managers.append(manager)
        return ReopenableResource(lambda: manager.open_resource(cfg.resource))

    def _real_visa(self, cfg: InstrumentConfig) -> Any:
        import pyvisa

        try:
            manager = pyvisa.ResourceManager()
            self._managers.append(manager)
            manager.open_resource(cfg.resource).close()  # reachable?
        except (pyvisa.Error, ValueError, OSError) as exc:
            raise StationError(f"{cfg.name}: cannot open {cfg.resource} ({exc})") from None
        return ReopenableResource(lambda: manager.open_resource(cfg.resource))

    def _sim_serial(self, cfg: InstrumentConfig) -> Any:
        """A simulated serial instrument in the world, opened through pyserial by its URL."""
        from drivers.serial_link import open_serial
        from sim_instruments.serial_sim import attach

        url = attach(cfg.driver, self._world(cfg), cfg.name)
        settings = driver_class(cfg.driver).serial_settings
        return ReopenableResource(lambda: open_serial(url, settings))

    def _real_serial(self, cfg: InstrumentConfig) -> Any:
        """A serial port by pyserial URL (COM3, /dev/ttyUSB0, rfc2217://...), opened once to
        check it is there."""
        from drivers.serial_link import open_serial

        settings = driver_class(cfg.driver).serial_settings
        try:
            open_serial(cfg.resource, settings).close()
        except (OSError, ValueError) as exc:
            raise StationError(f"{cfg.name}: cannot open serial port {cfg.resource} ({exc})") \
                from None
        return ReopenableResource(lambda: open_serial(cfg.resource, settings))

    def _sim_library(self, cfg: InstrumentConfig) -> Any:
        """A vendor library's device simulated at the library's own interface."""
        from sim_instruments.models import model_class

        return model_class(cfg.driver).attach(self._world(cfg), cfg.name, cfg.resource)

    def _real_library(self, cfg: InstrumentConfig) -> Any:
        """A vendor library's device: the driver's ``open_device(resource)``."""
        try:
            return driver_class(cfg.driver).open_device(cfg.resource)
        except OSError as exc:
            raise StationError(f"{cfg.name}: cannot open {cfg.resource} ({exc})") from None

    def _open_one(self, cfg: InstrumentConfig) -> OpenInstrument:
        resource, simulated, note = self.open_resource(cfg)
        if self._wrap is not None and not cfg.library:  # no messages to record
            resource = self._wrap(cfg.name, resource)
        from drivers.base import InstrumentError

        driver = driver_class(cfg.driver)(resource, name=cfg.name, **cfg.options)
        try:
            driver.connect()
        except InstrumentError as exc:
            from .identify import matching_drivers

            others = matching_drivers(driver.idn) if driver.idn else []
            hint = f"; it answers like driver {' or '.join(others)}" if others else ""
            raise StationError(f"{exc}{hint}") from None
        return OpenInstrument(cfg, driver, simulated, note)

    def open_resource(self, cfg: InstrumentConfig) -> tuple[Any, bool, str]:
        """The resource an instrument's driver talks through: ``(resource, simulated, note)``,
        by its driver's transport (VISA, serial, a vendor library), real or simulated, with
        the loud fallback to the simulator where the station asks for it. Subclasses (the
        replay station) override this to serve other transports."""
        transport = "serial" if cfg.serial else "library" if cfg.library else "visa"
        real, sim = getattr(self, f"_real_{transport}"), getattr(self, f"_sim_{transport}")
        if self._force_sim or cfg.simulated:
            return sim(cfg), True, "simulated (--sim)" if self._force_sim else \
                "simulated (station)"
        try:
            return real(cfg), False, ""
        except StationError as exc:
            if not cfg.fallback:
                raise
            note = f"SIMULATED FALLBACK: {exc}"
            self._warn(f"warning: {note}; using the simulator for {cfg.name}")
            return sim(cfg), True, note

    def snapshot(self) -> dict[str, Any]:
        """Station metadata for the run file, settings read back from each instrument."""
        from drivers.base import InstrumentError

        instruments = {}
        for name, inst in self.instruments.items():
            info = inst.snapshot()
            try:
                info["settings"] = inst.driver.settings()
            except InstrumentError as exc:
                info["settings"] = {"error": str(exc)}
            instruments[name] = info
        return {"name": self.config.name, "source": self.config.source,
                "simulation": {} if self.world is None else self.world.describe(),
                "setup": self.config.passive.to_dict(),
                "instruments": instruments}

    def close(self) -> None:
        """Close every session and resource manager; best effort, as a link may already be
        gone (the runner has switched the outputs off before)."""
        for inst in self.instruments.values():
            with contextlib.suppress(Exception):
                inst.driver.close()
        for manager in self._managers:
            with contextlib.suppress(Exception):
                manager.close()
        self._managers.clear()

    def __enter__(self) -> Station:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
