"""The serial transport: a driver's narrow transport over pyserial, and the simulator's
``benchsim://`` ports opened through pyserial's own ``serial_for_url``."""

from __future__ import annotations

import pytest
import serial
from pyvisa.errors import VisaIOError

from drivers.serial_link import open_serial
from sim_instruments import models, serial_sim
from sim_instruments.backend import SimulatedWorld
from sim_instruments.faults import FaultPlan


class _Counter(serial_sim.SerialModel):
    """A toy instrument: ``N?`` answers how many ``INC`` it received; ``Q`` is never answered."""

    TERMINATOR = b"\r"

    def __init__(self, sim, world):
        super().__init__(sim, world)
        self.count = 0

    def handle_line(self, text):
        if text == "INC":
            self.count += 1
            return None
        if text == "N?":
            return f"N {self.count}"
        return None


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(models.MODELS, "toy_counter", (None, "toy:_Counter"))
    monkeypatch.setattr(models, "model_class",
                        lambda name: _Counter if name == "toy_counter" else None)
    return SimulatedWorld()


def test_a_simulated_port_is_a_pyserial_port(toy):
    url = serial_sim.attach("toy_counter", toy, "counter")
    port = serial.serial_for_url(url, baudrate=57600, timeout=0.1)
    port.write(b"INC\rINC\rN?\r")
    assert port.read_until(b"\r\n") == b"N 2\r\n"
    assert toy.commands == [("counter", "INC"), ("counter", "INC"), ("counter", "N?")]
    port.close()


def test_the_transport_terminates_reads_and_times_out(toy):
    resource = open_serial(serial_sim.attach("toy_counter", toy, "counter"), {"timeout": 0.1})
    resource.write_termination, resource.read_termination = "\r", "\r\n"
    resource.timeout = 250
    assert resource.timeout == pytest.approx(250)
    resource.write("N?")
    assert resource.read() == "N 0"
    resource.write("Q")
    with pytest.raises(VisaIOError) as error:
        resource.read()
    assert "TMO" in str(error.value) or error.value.error_code < 0


def test_a_dropped_link_reads_as_connection_lost_and_reopens(toy):
    toy.faults = FaultPlan.from_config([{"instrument": "counter", "kind": "disconnect",
                                         "match": "N?", "at_command": 1}], 0)
    url = serial_sim.attach("toy_counter", toy, "counter")
    resource = open_serial(url, {"timeout": 0.1})
    resource.write_termination, resource.read_termination = "\r", "\r\n"
    with pytest.raises(VisaIOError):
        resource.write("N?")
    again = open_serial(url, {"timeout": 0.1})
    again.write_termination, again.read_termination = "\r", "\r\n"
    again.write("N?")
    assert again.read() == "N 0"


def test_an_unknown_simulated_port_is_refused(toy):
    serial_sim.attach("toy_counter", toy, "counter")  # registers the URL handler
    with pytest.raises(serial.SerialException):
        open_serial("benchsim://nothing-here")
