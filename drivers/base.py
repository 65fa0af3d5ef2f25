"""Common base of the SCPI drivers: transport, identification, error queue, declarative settings.

A driver talks to a *resource* through a narrow transport: ``write(str)``, ``read() -> str``,
``read_bytes(n) -> bytes``, the ``timeout`` (ms) / termination attributes, ``close()``, and where
available ``clear()`` (VISA device clear) and ``reopen()`` (the bench's re-open of a dropped link).
A pyvisa message-based resource provides them, and so do the recording and replay wrappers of the
bench, which is why a driver runs unchanged against hardware, the simulator and a recorded run.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from pyvisa import constants
from pyvisa.errors import VisaIOError

_LINK_LOST = (constants.VI_ERROR_CONN_LOST, constants.VI_ERROR_INV_OBJECT,
              constants.VI_ERROR_IO)


class InstrumentError(Exception):
    """An instrument reported an error or answered something a driver cannot accept."""

    def __init__(self, instrument: str, command: str, message: str):
        self.instrument, self.command, self.message = instrument, command, message
        super().__init__(f"{instrument}: {message} (after {command!r})")


class Resource(Protocol):
    """The part of a pyvisa message-based resource that drivers use."""

    timeout: float
    read_termination: str
    write_termination: str

    def write(self, message: str) -> Any: ...
    def read(self) -> str: ...
    def read_bytes(self, count: int) -> bytes: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Range:
    """Closed numeric interval a setting accepts; values outside are refused, never clamped."""

    low: float
    high: float

    def check(self, name: str, value: float) -> float:
        value = float(value)
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise ValueError(f"{name}={value:g} is outside the instrument's range "
                             f"[{self.low:g}, {self.high:g}]")
        return value


@dataclass(frozen=True)
class Choice:
    """A setting that takes one of a fixed set of values."""

    values: tuple

    def check(self, name: str, value: Any) -> Any:
        if value not in self.values:
            raise ValueError(f"{name}={value!r} is not one of {list(self.values)}")
        return value


def number_text(value: float) -> str:
    """Shortest decimal text that reads back as exactly ``value`` (Python's repr), so a
    level or limit is never rounded past the value that was checked (``:g`` keeps 6
    digits: a 2.50390625 V limit went out as 2.50391 V)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _shown(value) -> str:
    """A number as a problem line shows it: whole numbers whole, others to 6 digits."""
    return str(int(value)) if isinstance(value, (int, np.integer)) else f"{float(value):g}"


def check_ranges(model: str, request: dict[str, Any],
                 ranges: dict[str, tuple[float, float, str]]) -> list[str]:
    """``check_plan``'s common part: each key of ``ranges`` found in ``request`` must be a finite
    number within its (low, high, unit) range; one line per problem naming value, limit and model.
    Keys not in ``ranges`` are ignored."""
    problems = []
    for key, (low, high, unit) in ranges.items():
        if key not in request:
            continue
        value = request[key]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            problems.append(f"{key}={value!r} is not a number ({model})")
            continue
        if not (math.isfinite(value) and low <= value <= high):
            u = f" {unit}" if unit else ""
            problems.append(f"{key}={_shown(value)}{u} is outside the {model}'s range "
                            f"{_shown(low)} to {_shown(high)}{u}")
    return problems


def _error_entry(text: str) -> tuple[int, str]:
    """``<code>,"<message>"`` (SCPI-99 vol. 2, 21.8.8); a reply without a numeric code is not an
    error entry but a damaged answer (ValueError: the query is retried)."""
    return int(text.split(",", 1)[0]), text.strip()


def _bool_text(value: bool) -> str:
    return "ON" if value else "OFF"


def _parse_bool(text: str) -> bool:
    return text.strip().upper() in ("1", "ON")


class Setting:
    """Declarative SCPI setting (a data descriptor), checked locally and on the instrument.

    ``set_cmd`` is a format string with one ``{}`` field; ``get_cmd`` the query. A write is followed
    by an error-queue check, so a refused value raises :class:`InstrumentError` naming the command.
    """

    def __init__(self, set_cmd: str | None, get_cmd: str | None, *, kind: type = float,
                 check: Range | Choice | None = None, units: str = "", doc: str = ""):
        self.set_cmd, self.get_cmd, self.kind = set_cmd, get_cmd, kind
        self.validator, self.units, self.__doc__ = check, units, doc

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj: ScpiInstrument | None, objtype=None):
        if obj is None:
            return self
        if self.get_cmd is None:
            raise AttributeError(f"{self.name} cannot be read back from the instrument")
        text = obj.query(self.get_cmd)
        if self.kind is bool:
            return _parse_bool(text)
        try:
            return self.kind(text.strip().strip('"'))
        except ValueError:
            raise InstrumentError(obj.name, self.get_cmd, f"unexpected answer {text!r}") from None

    def __set__(self, obj: ScpiInstrument, value):
        if self.set_cmd is None:
            raise AttributeError(f"{self.name} is read-only")
        if self.validator is not None:
            value = self.validator.check(self.name, value)
        if self.kind in (int, float):
            value = self.kind(value)
        text = _bool_text(value) if self.kind is bool else (
            number_text(value) if self.kind is float else str(value))
        obj.write_checked(self.set_cmd.format(text))


class plan_check:
    """Decorator for a ``check_plan`` that works on the class (the model's declared ranges, read
    from class attributes) and on a connected instance (its attributes: what the instrument
    reported at connect, e.g. a frequency option)."""

    def __init__(self, function):
        self.function = function
        self.__doc__ = function.__doc__

    def __get__(self, obj, objtype=None):
        return functools.partial(self.function, objtype if obj is None else obj)


class ScpiInstrument:
    """Base class of the SCPI drivers.

    Subclasses set ``idn_pattern`` (a regex the ``*IDN?`` answer must match), the terminations and
    ``error_query``. Connecting identifies the instrument and clears its status; it never changes an
    output.
    """

    idn_pattern: str = ".*"
    write_termination = "\n"
    read_termination = "\n"
    timeout_s = 5.0
    error_query = ":SYSTem:ERRor?"

    def __init__(self, resource: Resource, name: str | None = None):
        self.resource = resource
        self.name = name or type(self).__name__
        self.idn = ""
        self._reopened = False
        self.recoveries = {"retries": 0, "reopens": 0, "device_clears": 0}
        resource.write_termination = self.write_termination
        resource.read_termination = self.read_termination
        resource.timeout = self.timeout_s * 1000.0

    # -- transport -------------------------------------------------------------------------
    # Fault policy: a query is re-sent up to ``retries`` times after a timeout, a lost link or an
    # unreadable answer (queries are idempotent); a lost link is re-opened once per session when
    # the resource can (``reopen()``); writes are sent again only after such a re-open.
    retries = 2

    def _recover(self, exc: Exception) -> bool:
        """Re-open a dropped link once; True if the operation may be tried again."""
        lost = isinstance(exc, VisaIOError) and exc.error_code in _LINK_LOST
        if lost and hasattr(self.resource, "reopen") and not self._reopened:
            self._reopened = True
            self.recoveries["reopens"] += 1
            try:
                self.resource.reopen()
            except Exception:  # the instrument is really gone
                return False
            return True
        return not lost

    def _device_clear(self) -> None:
        """Discard a half-read answer before trying again: VISA device clear (viClear, IEEE 488.2
        DCL/SDC), which empties the instrument's output queue. Counted only when it was done."""
        try:
            self.resource.clear()
        except (VisaIOError, NotImplementedError, AttributeError):
            return  # a link without device clear: the retry's own read resynchronises
        self.recoveries["device_clears"] += 1

    def write(self, command: str) -> None:
        try:
            self.resource.write(command)
        except VisaIOError as exc:
            if not (exc.error_code in _LINK_LOST and self._recover(exc)):
                raise InstrumentError(self.name, command, f"write failed ({exc})") from exc
            self.recoveries["retries"] += 1
            try:
                self.resource.write(command)
            except VisaIOError as again:
                raise InstrumentError(self.name, command, f"write failed ({again})") from again

    def _exchange(self, command: str, receive, parse):
        """write + receive + parse, retried per the fault policy."""
        problem: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.recoveries["retries"] += 1
            try:
                self.resource.write(command)
                return parse(receive())
            except (VisaIOError, ValueError, UnicodeDecodeError) as exc:
                problem = exc
                if not self._recover(exc):
                    break
                self._device_clear()
        raise InstrumentError(self.name, command, f"no valid answer ({problem})") from problem

    def _read(self) -> str:
        return self.resource.read()  # looked up per call: a re-open replaces the resource

    def query(self, command: str) -> str:
        return self._exchange(command, self._read, str.strip)

    def query_float(self, command: str) -> float:
        return self._exchange(command, self._read, float)

    def query_floats(self, command: str) -> np.ndarray:
        return self._exchange(command, self._read,
                              lambda text: np.array([float(v) for v in text.split(",")]))

    def wait_complete(self, seconds: float, operation: str) -> None:
        """Wait for ``operation`` (expected to take ``seconds``) with ``*OPC?`` (IEEE 488.2-1992,
        10.19: answers "1" once every pending operation is complete), allowing twice the expected
        time plus the usual timeout. Asked once and never retried: the device clear that a retry
        needs can cancel the operation, and a later "1" would then pass off stale data as new."""
        wait = 2.0 * seconds + self.timeout_s
        usual = self.resource.timeout
        self.resource.timeout = wait * 1000.0
        try:
            self.resource.write("*OPC?")
            answer = self._read().strip()
        except VisaIOError as exc:
            raise InstrumentError(self.name, "*OPC?",
                                  f"{operation} did not complete within {wait:.4g} s (expected "
                                  f"{seconds:.4g} s from the settings); not asked again, as a "
                                  f"device clear could cancel it ({exc})") from exc
        finally:
            self.resource.timeout = usual
        if answer not in ("1", "+1"):
            raise InstrumentError(self.name, "*OPC?", f"{operation}: unexpected answer {answer!r}")

    def query_block(self, command: str, expected_bytes: int | None = None) -> bytes:
        """Send a query answered by an IEEE 488.2 arbitrary block; return its payload.

        Definite length (IEEE 488.2-1992, 8.7.9): ``#``, one digit N, N digits of byte count, the
        bytes, the terminator. Indefinite length (8.7.10): ``#0``, the bytes, the terminator with
        END; as a binary payload may contain the termination character, the caller must then give
        ``expected_bytes``.
        """
        return self._exchange(command, lambda: self._read_block(expected_bytes), bytes)

    def _read_block(self, expected_bytes: int | None) -> bytes:
        head = self.resource.read_bytes(2)
        if head[:1] != b"#" or not head[1:2].isdigit():
            raise ValueError(f"not a binary block: {bytes(head[:20])!r}")
        digits = int(head[1:2])
        if digits == 0:
            if expected_bytes is None:
                raise ValueError("indefinite-length block of unknown size")
            count = expected_bytes
        else:
            count = int(self.resource.read_bytes(digits))
        payload = self.resource.read_bytes(count + len(self.read_termination))
        if len(payload) < count:
            raise ValueError(f"block truncated: {len(payload)} of {count} bytes")
        return payload[:count]

    # -- status ----------------------------------------------------------------------------
    def errors(self) -> list[str]:
        """Drain the SCPI error queue (SCPI-99 vol. 2, 21.8: ``SYSTem:ERRor[:NEXT]?``)."""
        found = []
        for _ in range(32):
            code, text = self._exchange(self.error_query, self._read, _error_entry)
            if code == 0:
                return found
            found.append(text)
        return found

    def write_checked(self, command: str) -> None:
        """Write a configuration command and raise if the instrument queued an error."""
        self.write(command)
        errs = self.errors()
        if errs:
            raise InstrumentError(self.name, command, "; ".join(errs))

    def connect(self) -> str:
        """Identify the instrument (``*IDN?``), check the model, clear status. Outputs untouched."""
        self.idn = self.query("*IDN?")
        if not re.search(self.idn_pattern, self.idn):
            raise InstrumentError(self.name, "*IDN?",
                                  f"answered {self.idn!r}, expected a {type(self).__name__} "
                                  f"(pattern {self.idn_pattern!r})")
        self.write("*CLS")
        return self.idn

    transport = "visa"  # or "serial": opened through pyserial (drivers/serial_link.py)
    serial_settings: dict[str, Any] = {}  # pyserial line settings of a serial model

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """The station's ``options:`` for this model, checked (ValueError, one line) and
        returned as the keyword arguments its constructor takes. This model takes none."""
        if options:
            raise ValueError(f"the {cls.__name__} driver takes no options (got "
                             f"{', '.join(sorted(map(str, options)))})")
        return {}

    @classmethod
    def check_plan(cls, request: dict[str, Any]) -> list[str]:
        """Problems this model has with a step's planned settings (drivers.roles.Instrument);
        each driver checks the keys of its roles against its declared ranges."""
        return []

    def settings(self) -> dict[str, Any]:
        """Read back every declared setting that has a query, for the run's station snapshot."""
        out: dict[str, Any] = {}
        for klass in reversed(type(self).__mro__):
            for attr, value in vars(klass).items():
                if isinstance(value, Setting) and value.get_cmd is not None:
                    out[attr] = getattr(self, attr)
        return out

    def close(self) -> None:
        self.resource.close()

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class OutputSwitch:
    """Mixin for instruments whose output is the SCPI ``:OUTPut[:STATe] ON|OFF`` switch. Switching
    on is checked against the error queue; switching off is sent unchecked, so that it also works
    on the way out of an error."""

    output = Setting(":OUTPut:STATe {}", ":OUTPut:STATe?", kind=bool, doc="Output switch.")

    def output_on(self) -> None:
        self.write_checked(":OUTPut:STATe ON")

    def output_off(self) -> None:
        self.write(":OUTPut:STATe OFF")

    def output_enabled(self) -> bool:
        return self.output

    def describe_output(self) -> str:
        return f"output {'ON' if self.output_enabled() else 'OFF'}"
