"""pyserial URL handler ``benchsim://<token>``: a port to a simulated serial instrument.

pyserial imports ``protocol_<scheme>`` from each package in ``serial.protocol_handler_packages``
and builds its ``Serial`` class (a ``SerialBase``, as pyserial's own ``loop://`` handler). Line
settings are accepted as a real port accepts them; reads honour ``timeout`` at once (the
simulated instrument answers as soon as it is written to: nothing arrives later).
"""

from __future__ import annotations

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from ..serial_sim import device


class Serial(SerialBase):
    """A simulated port: writes go to the instrument, reads take its answers."""

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        try:
            self._device = device(self._port)
        except KeyError:
            raise SerialException(f"no simulated serial instrument at {self._port!r}") from None
        self._device.connected = True  # opening again restores a dropped link
        self.is_open = True

    def close(self) -> None:
        self.is_open = False
        super().close()

    def _reconfigure_port(self, *args, **kwargs) -> None:
        """Line settings need no hardware here."""

    def _check(self) -> None:
        if not self.is_open:
            raise PortNotOpenError()

    @property
    def in_waiting(self) -> int:
        self._check()
        return len(self._device.output)

    def read(self, size: int = 1) -> bytes:
        self._check()
        try:
            return self._device.take(size)
        except OSError as exc:
            raise SerialException(str(exc)) from None

    def write(self, data) -> int:
        self._check()
        data = bytes(data)
        try:
            self._device.receive(data)
        except OSError as exc:
            raise SerialException(str(exc)) from None
        return len(data)

    def reset_input_buffer(self) -> None:
        self._check()
        self._device.output.clear()

    def reset_output_buffer(self) -> None:
        self._check()

    def flush(self) -> None:
        """Nothing is buffered: every write reached the instrument (io's close calls this)."""
