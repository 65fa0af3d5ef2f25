"""Serial instruments through pyserial directly: a port opened by URL, as a driver's transport.

``open_serial(url, settings)`` opens ``serial.serial_for_url`` (a COM port or device path, an
``rfc2217://`` or ``socket://`` bridge, or a simulated port registered by the simulator through
pyserial's ``protocol_handler_packages``) and gives it the narrow transport of
:class:`drivers.base.Resource`: ``write(str)``, ``read() -> str`` up to the read termination,
``read_bytes(n)``, ``timeout`` in ms, ``clear()``, ``close()``. A read that times out and a port
that fails raise pyvisa's ``VisaIOError`` (timeout, connection lost), so the drivers' fault policy,
the bench's I/O record and its replay treat a serial link exactly like a VISA one.

A driver says it talks over serial with ``transport = "serial"`` and gives its line settings in
``serial_settings`` (pyserial keyword arguments: baudrate, bytesize, parity, stopbits, xonxoff,
rtscts), from its manual.
"""

from __future__ import annotations

from typing import Any

from pyvisa import constants
from pyvisa.errors import VisaIOError


class SerialResource:
    """A pyserial port with the transport a driver expects (see the module docstring)."""

    def __init__(self, port: Any, encoding: str = "ascii"):
        self.port = port
        self.encoding = encoding
        self.read_termination = "\n"
        self.write_termination = "\n"

    @property
    def timeout(self) -> float:
        """Read timeout in ms (pyvisa's unit), kept on the port in s."""
        return 1000.0 * (self.port.timeout if self.port.timeout is not None else float("inf"))

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.port.timeout = value / 1000.0
        self.port.write_timeout = value / 1000.0

    def _lost(self, exc: Exception) -> VisaIOError:
        error = VisaIOError(constants.VI_ERROR_CONN_LOST)
        error.__cause__ = exc
        return error

    def write(self, message: str) -> int:
        data = (message + self.write_termination).encode(self.encoding)
        try:
            self.port.write(data)
            self.port.flush()
        except Exception as exc:  # serial.SerialException, OSError: the port is gone
            raise self._lost(exc) from exc
        return len(data)

    def read(self) -> str:
        """One answer up to the read termination (removed); VisaIOError on timeout."""
        end = self.read_termination.encode(self.encoding)
        try:
            data = self.port.read_until(end) if end else self.port.read(self.port.in_waiting)
        except Exception as exc:
            raise self._lost(exc) from exc
        if end and not data.endswith(end):
            raise VisaIOError(constants.VI_ERROR_TMO)
        return data[: len(data) - len(end)].decode(self.encoding)

    def read_bytes(self, count: int) -> bytes:
        try:
            data = self.port.read(count)
        except Exception as exc:
            raise self._lost(exc) from exc
        if len(data) < count:
            raise VisaIOError(constants.VI_ERROR_TMO)
        return data

    def clear(self) -> None:
        """Drop unread input and unsent output (a serial line has no device clear)."""
        try:
            self.port.reset_input_buffer()
            self.port.reset_output_buffer()
        except Exception as exc:
            raise self._lost(exc) from exc

    def close(self) -> None:
        self.port.close()


def open_serial(url: str, settings: dict[str, Any] | None = None) -> SerialResource:
    """Open a serial port by pyserial URL with the driver's line settings; OSError (pyserial's
    SerialException is one) or ValueError when it cannot be opened."""
    import serial  # imported on use: start-up time

    port = serial.serial_for_url(url, **(settings or {}))
    return SerialResource(port)
