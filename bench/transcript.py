"""The instrument I/O record of a run, and its playback.

Drivers talk to a resource through five operations (``drivers/base.py``): write, read, read_bytes,
the timeout/termination attributes and close. :class:`RecordingResource` sits between a driver and
its pyvisa resource and logs every write, read and binary read with the time it completed;
:class:`Transcript` keeps that log in memory and appends it to the run file at most
``flush_interval`` seconds late, one stream per instrument under ``/transcript/<instrument>``.
:class:`ReplayResource` plays the record back: it checks every write against the recorded one and
answers reads with the recorded bytes, so a driver re-executes a run without any instrument.

Ops: ``write`` (payload: the command as sent, without termination), ``read`` (the answer as
pyvisa returned it, termination stripped), ``read_bytes`` (the raw bytes), ``reopen`` (the driver's
fault policy re-opened a dropped link), ``clear`` (VISA device clear before a retry) and ``error``
(follows an op that raised; payload: JSON ``{"kind": "visa" or a built-in exception name,
"code": VISA status or null, "message": text}``, so replay raises the same kind of exception and
the driver's fault policy takes the same path). Text is stored UTF-8 encoded.
"""

from __future__ import annotations

import builtins
import json
import time
from typing import Any

from pyvisa.errors import VisaIOError

from common.errors import BenchError

from .storage import ByteRecords, RunWriter, now_iso

GROUP = "transcript"
OPS = {"write": 1, "read": 2, "read_bytes": 3, "error": 4, "reopen": 5, "clear": 6}
WRITE, READ, READ_BYTES, ERROR, REOPEN, CLEAR = (
    OPS[name] for name in ("write", "read", "read_bytes", "error", "reopen", "clear"))
_NAMES = {code: name for name, code in OPS.items()}


class ReplayDivergence(BenchError):
    """A replayed driver did something other than what the record holds."""


class RecordedIOError(Exception):
    """An I/O error of the recorded run that is neither a VISA error nor a built-in one."""


def error_payload(exc: Exception) -> bytes:
    """``visa`` with the VISA status code, else the nearest built-in exception class's name."""
    if isinstance(exc, VisaIOError):
        kind = "visa"
    else:
        kind = next(c.__name__ for c in type(exc).__mro__ if getattr(builtins, c.__name__, None)
                    is c)
    return json.dumps({"kind": kind, "code": getattr(exc, "error_code", None),
                       "message": str(exc)}).encode("utf-8")


def recorded_error(payload: bytes) -> Exception:
    """The exception to raise again for an ``error`` record: same VISA status, or the same
    built-in class (its nearest base taking one message, e.g. UnicodeError for a decode error)."""
    error = json.loads(payload)
    if error["kind"] == "visa" and error["code"] is not None:
        return VisaIOError(error["code"])
    kind = getattr(builtins, error["kind"], None)
    while isinstance(kind, type) and issubclass(kind, Exception) and kind is not Exception:
        try:
            return kind(error["message"])
        except TypeError:
            kind = kind.__base__
    return RecordedIOError(error["message"])


class _Stream:
    """The not yet written records of one instrument."""

    def __init__(self, name: str):
        self.name = name
        self.times: list[float] = []
        self.ops: list[int] = []
        self.payloads: list[bytes] = []


class Transcript:
    """In-memory I/O log of a run's instruments, appended to ``writer``'s file as it grows.

    Time is ``time.monotonic()`` minus its value when the transcript started (wall clock of that
    moment in each stream's ``time_origin`` attribute).
    """

    def __init__(self, writer: RunWriter | None, flush_interval: float = 0.5):
        self.writer, self.flush_interval = writer, flush_interval
        self.t0 = time.monotonic()
        self.started = now_iso()
        self._last_flush = self.t0
        self.streams: dict[str, _Stream] = {}

    def wrap(self, instrument: str, resource: Any) -> RecordingResource:
        """The ``Station(wrap=...)`` hook: record ``resource`` as ``instrument``."""
        stream = self.streams.setdefault(instrument, _Stream(instrument))
        return RecordingResource(resource, stream, self)

    def record(self, stream: _Stream, op: int, payload: bytes) -> None:
        now = time.monotonic()
        stream.times.append(now - self.t0)
        stream.ops.append(op)
        stream.payloads.append(payload)
        if now - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        """Append every pending record to the run file."""
        self._last_flush = time.monotonic()
        if self.writer is None:
            return
        for stream in self.streams.values():
            if stream.ops:
                self.writer.append_records(
                    GROUP, stream.name, stream.times, stream.ops, stream.payloads, OPS,
                    attrs={"time_origin": self.started,
                           "clock": "monotonic, seconds since time_origin"})
                stream.times, stream.ops, stream.payloads = [], [], []

    def finish(self) -> None:
        """Write what is left and stop writing (the run file is about to close)."""
        self.flush()
        self.writer = None


class RecordingResource:
    """A pyvisa resource seen through the driver transport, every operation logged."""

    def __init__(self, resource: Any, stream: _Stream, transcript: Transcript):
        self._resource, self._stream, self._transcript = resource, stream, transcript

    @property
    def timeout(self) -> float:
        return self._resource.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._resource.timeout = value

    @property
    def read_termination(self) -> str:
        return self._resource.read_termination

    @read_termination.setter
    def read_termination(self, value: str) -> None:
        self._resource.read_termination = value

    @property
    def write_termination(self) -> str:
        return self._resource.write_termination

    @write_termination.setter
    def write_termination(self, value: str) -> None:
        self._resource.write_termination = value

    def _failed(self, op: int, payload: bytes, exc: Exception) -> None:
        self._transcript.record(self._stream, op, payload)
        self._transcript.record(self._stream, ERROR, error_payload(exc))

    def write(self, message: str) -> Any:
        try:
            result = self._resource.write(message)
        except Exception as exc:
            self._failed(WRITE, message.encode("utf-8"), exc)
            raise
        self._transcript.record(self._stream, WRITE, message.encode("utf-8"))
        return result

    def read(self) -> str:
        try:
            text = self._resource.read()
        except Exception as exc:
            self._failed(READ, b"", exc)
            raise
        self._transcript.record(self._stream, READ, text.encode("utf-8"))
        return text

    def read_bytes(self, count: int) -> bytes:
        try:
            data = self._resource.read_bytes(count)
        except Exception as exc:
            self._failed(READ_BYTES, b"", exc)
            raise
        self._transcript.record(self._stream, READ_BYTES, bytes(data))
        return data

    def clear(self) -> None:
        """VISA device clear; recorded even when the resource has none (the driver copes)."""
        try:
            self._resource.clear()
        except Exception as exc:
            self._failed(CLEAR, b"", exc)
            raise
        self._transcript.record(self._stream, CLEAR, b"")

    @property
    def reopen(self):
        """Present only when the wrapped resource can re-open (drivers test ``hasattr``)."""
        inner = self._resource.reopen

        def reopen() -> None:
            try:
                inner()
            except Exception as exc:
                self._failed(REOPEN, b"", exc)
                raise
            self._transcript.record(self._stream, REOPEN, b"")
        return reopen

    def close(self) -> None:
        self._resource.close()


def _shown(payload: bytes, limit: int = 80) -> str:
    text = payload.decode("utf-8", errors="backslashreplace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


def describe(op: int, payload: bytes) -> str:
    """One recorded operation in words, for error messages."""
    if op == WRITE:
        return f"write {_shown(payload)}"
    if op == READ:
        return f"read (recorded answer {_shown(payload)})"
    if op == READ_BYTES:
        return f"read_bytes({len(payload)})"
    if op == REOPEN:
        return "reopen"
    if op == CLEAR:
        return "clear"
    return f"{_NAMES.get(op, f'op {op}')} {_shown(payload)}"


class ReplayResource:
    """Answers a driver from one instrument's record, checking each write against it.

    Strict (default): any difference stops the replay with :class:`ReplayDivergence`, and every
    later operation raises the same error, so a driver that catches it cannot carry on. Lenient:
    a write whose text differs is noted in ``warnings`` and the replay goes on; a different kind
    of operation, or a binary read of another size, still stops it.
    """

    def __init__(self, instrument: str, records: ByteRecords, *, strict: bool = True):
        self.instrument, self.strict = instrument, strict
        self._ops = records.ops.tolist()
        self._payloads = records.payloads
        self.position = 0
        self.divergence: ReplayDivergence | None = None
        self.warnings: list[str] = []
        self.timeout, self.read_termination, self.write_termination = 5000.0, "\n", "\n"

    def _diverge(self, message: str) -> None:
        self.divergence = ReplayDivergence(f"replay diverged from the record: {self.instrument}, "
                                           f"{message}")
        raise self.divergence

    def _take(self, op: int, actual: str, sent: bytes = b"", count: int = -1) -> bytes:
        if self.divergence is not None:
            raise self.divergence
        total, pos = len(self._ops), self.position
        if pos >= total:
            self._diverge(f"the record ends after {total} operations; got {actual}")
        code, payload = self._ops[pos], self._payloads[pos]
        failed = pos + 1 < total and self._ops[pos + 1] == ERROR
        where = f"operation {pos + 1} of {total}: expected {describe(code, payload)}, got {actual}"
        if code != op or (op == READ_BYTES and not failed and len(payload) != count):
            self._diverge(where)
        if op == WRITE and payload != sent:
            if self.strict:
                self._diverge(where)
            self.warnings.append(f"{self.instrument}, {where}")
        self.position = pos + 1
        if failed:
            self.position += 1
            raise recorded_error(self._payloads[pos + 1])
        return payload

    def write(self, message: str) -> None:
        sent = message.encode("utf-8")
        self._take(WRITE, f"write {_shown(sent)}", sent=sent)

    def read(self) -> str:
        return self._take(READ, "read").decode("utf-8")

    def read_bytes(self, count: int) -> bytes:
        return self._take(READ_BYTES, f"read_bytes({count})", count=count)

    def reopen(self) -> None:
        self._take(REOPEN, "reopen")

    def clear(self) -> None:
        self._take(CLEAR, "clear")

    def close(self) -> None:
        """Nothing to close; the record stays as it is."""

    def check_finished(self) -> None:
        """Raise the first divergence, or one for records the replayed run never reached."""
        if self.divergence is not None:
            raise self.divergence
        total = len(self._ops)
        if self.position < total:
            left = (f"the replayed run stopped after operation {self.position} of {total}; the "
                    f"record continues with "
                    f"{describe(self._ops[self.position], self._payloads[self.position])}")
            if self.strict:
                self._diverge(left)
            self.warnings.append(f"{self.instrument}, {left}")
