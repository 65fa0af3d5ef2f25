"""Simulated serial instruments at the pyserial layer, with the same world behind them.

A serial instrument's driver opens its port with ``serial.serial_for_url``; a simulated one is a
``benchsim://<token>`` URL, served by :mod:`sim_instruments.serial_protocols.protocol_benchsim`
(a pyserial URL handler, found through ``serial.protocol_handler_packages``). The driver runs the
same code on a real COM port and here.

A serial model subclasses :class:`SerialModel`: it receives each message the driver sent (bytes up
to the model's ``TERMINATOR``, decoded, stripped) in ``handle_line`` and returns the answer text
(the terminator is added) or None. There is no YAML: these instruments do not speak SCPI, so the
model holds its own settings and refuses what the manual says the instrument refuses. Every
message is logged in ``world.commands``; the fault plan applies as to VISA instruments
(``timeout``, ``garbled``, ``truncated``, ``disconnect``).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from .models.base import InstrumentModel

if TYPE_CHECKING:
    from .backend import SimulatedWorld

PACKAGE = "sim_instruments.serial_protocols"  # where pyserial finds protocol_benchsim
SCHEME = "benchsim"
PORTS: dict[str, SerialDevice] = {}  # token -> simulated device, for the URL handler
_tokens = itertools.count()


class SerialModel(InstrumentModel):
    """Base of the simulated serial models; ``sim`` is their :class:`SerialDevice`."""

    TERMINATOR = b"\r\n"          # what ends a message the driver sends
    RESPONSE_TERMINATOR = b"\r\n"  # what the instrument puts after each answer

    def handle_line(self, text: str) -> str | bytes | None:
        """The answer to one message, or None when it is not answered."""
        return None

    def output_enabled(self) -> bool:
        """Whether the instrument's output is on now (read by tests on the instrument side)."""
        return False


class SerialDevice:
    """One simulated serial instrument: its model, input and output byte streams."""

    def __init__(self, model_name: str, world: SimulatedWorld, name: str):
        from .models import model_class

        model_cls = model_class(model_name)
        if not issubclass(model_cls, SerialModel):
            raise ValueError(f"{model_name} is not a simulated serial instrument")
        self.name, self.world = name, world
        self.pending = bytearray()
        self.output = bytearray()
        self.connected = True
        self.model = model_cls(self, world)
        world.instruments[name] = self
        state = world.initial_state.get(name)
        if state is not None:
            model_cls.check_initial_state(name, state)
            self.model.start(state)

    def receive(self, data: bytes) -> None:
        """Bytes from the driver: each complete message is handled in turn."""
        if not self.connected:
            raise OSError("simulated serial link lost")
        self.pending += data
        end = self.model.TERMINATOR
        while (index := self.pending.find(end)) >= 0:
            message = bytes(self.pending[:index])
            del self.pending[: index + len(end)]
            self._handle(message.decode("latin-1").strip())

    def _handle(self, text: str) -> None:
        world = self.world
        world.commands.append((self.name, text))
        fault = world.faults.check(self.name, text) if world.faults.rules else None
        if fault is not None and fault.kind == "disconnect":
            self.connected = False
            self.output.clear()
            raise OSError("simulated serial link lost")
        if fault is not None and fault.kind == "compliance":
            self.model.open_contact()
        answer = self.model.handle_line(text)
        if answer is None or (fault is not None and fault.kind == "timeout"):
            return
        answer = answer.encode("latin-1") if isinstance(answer, str) else answer
        if fault is not None and fault.kind == "garbled":
            answer = bytes(world.faults.rng.integers(33, 127, max(len(answer), 4),
                                                     dtype=np.uint8))
        if fault is not None and fault.kind == "truncated":
            self.output += answer[: len(answer) // 2]
            return
        self.output += answer + self.model.RESPONSE_TERMINATOR

    def take(self, count: int) -> bytes:
        if not self.connected:
            raise OSError("simulated serial link lost")
        data = bytes(self.output[:count])
        del self.output[:count]
        return data


def attach(model_name: str, world: SimulatedWorld, name: str) -> str:
    """Build the simulated serial instrument ``model_name`` in ``world`` under the station name
    ``name``; return the URL its driver opens with ``serial.serial_for_url``."""
    import serial

    if PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(PACKAGE)
    token = f"{next(_tokens)}-{name}"
    PORTS[token] = SerialDevice(model_name, world, name)
    return f"{SCHEME}://{token}"


def device(url: str) -> Any:
    """The simulated device behind a ``benchsim://`` URL; KeyError if there is none."""
    return PORTS[url.split("://", 1)[1]]
