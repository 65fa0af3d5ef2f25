"""The simulated bench under pyvisa: a pyvisa-sim library whose devices obey a Micro LED's physics.

Each simulated instrument is a pyvisa-sim ``Device`` built from the model's YAML file (IDN, settings
with their specs, error queue, terminations) plus a Python *model* (``sim_instruments/models.py``)
that answers measured and binary queries from the shared :class:`SimulatedWorld`. Drivers cannot
tell this library from a real VISA: the difference lives entirely below pyvisa.

Departures from stock pyvisa-sim, all on purpose:
- responses are whole byte strings served ``count`` bytes per ``viRead`` (stock pyvisa-sim serves
  one byte per call and UTF-8-encodes bytes >= 0x80, which breaks binary blocks and is O(n^2));
- a read with nothing to answer times out at once instead of after the VISA timeout;
- a setter whose value fails the YAML specs queues ``data_out_of_range`` (SCPI -222), not -113;
- ``*CLS`` clears the error queue and ``*RST`` restores every property's default.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pyvisa
import pyvisa.errors as visa_errors
from pyvisa import constants, rname
from pyvisa_sim import parser
from pyvisa_sim.component import NoResponse
from pyvisa_sim.highlevel import SimVisaLibrary
from pyvisa_sim.sessions.session import Session

from common.passive import Setup

from .chip import ChipParameters, MicroLED, NoiseSource
from .faults import FaultPlan


def ieee_block(payload: bytes) -> bytes:
    """Wrap bytes in an IEEE 488.2 definite-length block (``#`` N digits count, payload)."""
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload


@dataclass
class SimulatedWorld:
    """The physical set-up the simulated instruments share: one chip and what drives it.

    ``drive_current`` is the current through the chip now (set by the SMU model); every value the
    chip ever saw is kept in ``current_history`` so tests can check limits on the instrument side.
    """

    chip_params: ChipParameters = field(default_factory=ChipParameters)
    collection_efficiency: float = 1.0
    drive_current: float = 0.0
    current_history: list[float] = field(default_factory=list)
    voltage_history: list[float] = field(default_factory=list)
    faults: FaultPlan = field(default_factory=lambda: FaultPlan([]))
    commands: list[tuple[str, str]] = field(default_factory=list)  # (instrument, command) received
    instruments: dict[str, SimInstrument] = field(default_factory=dict)  # by station name
    setup: Setup = field(default_factory=Setup)  # bias tee, photoreceiver, cables, scope wiring
    modulation_source: Any = None  # the generator model whose output the scope and chip see

    def __post_init__(self):
        self.chip = MicroLED(self.chip_params)
        self.noise = NoiseSource(self.chip_params.seed)

    @classmethod
    def from_config(cls, config: dict[str, Any] | None,
                    setup: dict[str, Any] | None = None) -> SimulatedWorld:
        """Build from a station's ``simulation:`` block (``chip:``, ``collection_efficiency``)
        and its ``setup:`` block (common.passive.Setup)."""
        config = dict(config or {})
        chip = ChipParameters.from_mapping(config.pop("chip", None) or {})
        efficiency = float(config.pop("collection_efficiency", 1.0))
        faults = FaultPlan.from_config(config.pop("faults", None), config.pop("fault_seed", 0))
        if config:
            raise ValueError(f"unknown key(s) in simulation block: {', '.join(sorted(config))}")
        if not 0 < efficiency <= 1:
            raise ValueError(f"collection_efficiency={efficiency} must be in (0, 1]")
        return cls(chip_params=chip, collection_efficiency=efficiency, faults=faults,
                   setup=Setup.from_mapping(setup))

    def apply(self, current: float, voltage: float) -> None:
        """Record that the chip now carries ``current`` at ``voltage``."""
        self.drive_current = current
        self.current_history.append(current)
        self.voltage_history.append(voltage)

    @property
    def max_applied_current(self) -> float:
        return max((abs(i) for i in self.current_history), default=0.0)


class _Partial(bytes):
    """A response cut off before its end (fault ``truncated``): the reader waits, then times out."""


class SimInstrument:
    """One simulated instrument: its YAML device, its physics model and its output queue."""

    def __init__(self, model_name: str, resource_name: str, world: SimulatedWorld,
                 name: str | None = None):
        from .models import MODELS, model_class  # models import this module's helpers

        yaml_file = MODELS[model_name][0]
        model_cls = model_class(model_name)
        path = resources.files(__package__).joinpath(yaml_file)
        loader = parser.Loader(str(path), False)
        device_dict = loader.get_device_dict(model_name, None, False, 1)
        self.device = parser.get_device(model_name, device_dict, loader, {})
        self.device.resource_name = resource_name
        self._defaults = {n: p.get_value() for n, p in self.device._properties.items()}
        self.model = model_cls(self, world)
        self.world = world
        self.name = name or resource_name
        world.instruments[self.name] = self
        self.output: deque[bytes] = deque()
        self._pending = bytearray()
        self.connected = True

    # -- state shared with the model ---------------------------------------------------------
    def get(self, prop: str) -> Any:
        return self.device._properties[prop].get_value()

    def set(self, prop: str, value: Any) -> None:
        self.device._properties[prop].set_value(value)

    def queue_error(self, key: str) -> None:
        self.device.error_response(key)

    # -- message handling ----------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if not self.connected:
            raise visa_errors.VisaIOError(constants.VI_ERROR_CONN_LOST)
        self._pending += data
        eom = self.device._query_eom
        if not self._pending.endswith(eom):
            return
        command = bytes(self._pending[: len(self._pending) - len(eom)])
        self._pending.clear()
        text = command.decode("latin-1").strip()
        self.world.commands.append((self.name, text))
        fault = self.world.faults.check(self.name, text)
        if fault is not None and fault.kind == "disconnect":
            self.connected = False
            self.output.clear()
            raise visa_errors.VisaIOError(constants.VI_ERROR_CONN_LOST)
        if fault is not None and fault.kind == "compliance":
            self.model.open_contact()
        response = self._respond(text)
        if fault is not None and fault.kind == "scpi_error":
            for queue in self.device._error_queues.values():
                queue._queue.append(fault.error.encode())
        if response is None or (fault is not None and fault.kind == "timeout"):
            return
        if fault is not None and fault.kind == "garbled":
            response = bytes(self.world.faults.rng.integers(33, 127, max(len(response), 4),
                                                             dtype=np.uint8))
        if fault is not None and fault.kind == "truncated":
            self.output.append(_Partial(response[: len(response) // 2]))  # END never comes
            return
        self.output.append(response + self.device._response_eom)

    def _respond(self, command: str) -> bytes | None:
        if command == "*CLS":
            for queue in self.device._error_queues.values():
                queue.clear()
            return None
        if command == "*RST":
            for name, value in self._defaults.items():
                self.device._properties[name]._value = value
            self.model.reset()
            return None
        handled, answer = self.model.handle(command)
        if handled:
            return None if answer is None else (answer if isinstance(answer, bytes)
                                                else answer.encode())
        return self._match_yaml(command.encode("latin-1"))

    def _match_yaml(self, query: bytes) -> bytes | None:
        dev = self.device
        for matcher in (dev._match_dialog, dev._match_getters, dev._match_registers,
                        dev._match_errors_queues):
            response = matcher(query)
            if response is not None:
                return None if response is NoResponse else bytes(response)
        text = query.decode("latin-1")
        for name, pattern, response, _error in dev._setters:
            try:
                value = pattern(text)
            except ValueError:
                continue
            try:
                dev._properties[name].set_value(value)
            except ValueError:
                self.queue_error("data_out_of_range")
                return None
            return None if response is NoResponse else bytes(response)
        self.queue_error("command_error")
        return None

    def read(self, count: int) -> tuple[bytes, bool]:
        """Up to ``count`` bytes of the oldest response, and whether that response is complete."""
        if not self.connected:
            raise visa_errors.VisaIOError(constants.VI_ERROR_CONN_LOST)
        if not self.output:
            raise visa_errors.VisaIOError(constants.VI_ERROR_TMO)
        head = self.output[0]
        if len(head) <= count:
            self.output.popleft()
            return head, not isinstance(head, _Partial)
        self.output[0] = type(head)(head[count:])
        return head[:count], False


class BenchSimLibrary(SimVisaLibrary):
    """pyvisa library serving :class:`SimInstrument` objects instead of YAML-only devices."""

    _counter = itertools.count()

    def _init(self) -> None:
        self.sessions = {}
        self.devices = {}

    def add(self, resource_name: str, instrument: SimInstrument) -> None:
        self.devices[rname.to_canonical_name(resource_name)] = instrument

    def open(self, session, resource_name, access_mode=constants.AccessModes.no_lock,
             open_timeout=constants.VI_TMO_IMMEDIATE):
        try:
            parsed = rname.parse_resource_name(resource_name)
        except rname.InvalidResourceName:
            return 0, constants.StatusCode.error_invalid_resource_name
        canonical = str(parsed)
        if canonical not in self.devices:
            return 0, constants.StatusCode.error_resource_not_found
        sess = Session.get_session_class(parsed.interface_type_const, parsed.resource_class)(
            session, resource_name, parsed)
        sess.device = self.devices[canonical]
        sess.device.connected = True  # opening again restores a dropped link
        return self._register(sess), constants.StatusCode.success

    def list_resources(self, session, query="?*::INSTR"):
        found = rname.filter(tuple(self.devices), query)
        if not found:
            raise visa_errors.VisaIOError(constants.StatusCode.error_resource_not_found.value)
        return found

    def write(self, session, data):
        try:
            instrument = self.sessions[session].device
        except KeyError:
            return 0, constants.StatusCode.error_invalid_object
        instrument.write(bytes(data))
        return len(data), constants.StatusCode.success

    def clear(self, session):
        """viClear: the device drops its pending input and unread output."""
        try:
            instrument = self.sessions[session].device
        except KeyError:
            return constants.StatusCode.error_invalid_object
        instrument.output.clear()
        instrument._pending.clear()
        return constants.StatusCode.success

    def read(self, session, count):
        try:
            instrument = self.sessions[session].device
        except KeyError:
            return b"", constants.StatusCode.error_invalid_object
        chunk, complete = instrument.read(count)
        status = (constants.StatusCode.success if complete
                  else constants.StatusCode.success_max_count_read)
        return chunk, status


def open_simulated_bench(instruments: dict[str, str], world: SimulatedWorld,
                         names: dict[str, str] | None = None) -> pyvisa.ResourceManager:
    """A ResourceManager whose resources are the given ``{resource_name: model}`` instruments.

    Each call builds a fresh library (no state shared with earlier benches), which is what the
    stock pyvisa-sim cache per file does not give.
    """
    library = BenchSimLibrary(f"microled-sim-{next(BenchSimLibrary._counter)}")
    for resource_name, model in instruments.items():
        name = (names or {}).get(resource_name)
        library.add(resource_name, SimInstrument(model, resource_name, world, name))
    return pyvisa.ResourceManager(library)
