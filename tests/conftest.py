"""Shared fixtures: a fresh simulated DC bench (Keithley 2450 + PM100D), YAML files in tmp_path."""

from __future__ import annotations

import re
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


def _keyword_forms(keyword: str) -> tuple[set, str]:
    """The short and long form of one manual keyword ("VOLTage1" -> {"VOLT1", "VOLTAGE1"})."""
    match = re.fullmatch(r"([A-Za-z]+)(\d*)(\??)", keyword)
    if match is None:
        return {keyword.upper()}, ""
    letters, suffix, query = match.groups()
    short = "".join(c for c in letters if c.isupper()) or letters.upper()
    return {short + suffix + query, letters.upper() + suffix + query}, query


def scpi_equal(sent: str, expected: str) -> bool:
    """True if ``sent`` is ``expected`` (manual notation: upper case = the short form) with each
    header keyword in its short or long form, any letter case (SCPI-99 vol. 1, 6.2.1); the
    parameters must be the same text."""
    sent_header, _, sent_args = sent.partition(" ")
    header, _, args = expected.partition(" ")
    if sent_args != args or header.startswith("*") or sent_header.startswith("*"):
        return sent == expected
    sent_keys, keys = sent_header.split(":"), header.split(":")
    return len(sent_keys) == len(keys) and all(
        got.upper() in _keyword_forms(want)[0] if want else not got
        for got, want in zip(sent_keys, keys, strict=True))


TIMEOUT = object()
"""In a :class:`ScriptedResource` script, an answer that never comes (the read times out)."""


class ScriptedResource:
    """A fake resource that plays a script of ``(command, answer)`` in order, independent of the
    simulator: ``answer`` is None for a command without a reply, a str (read with ``read``),
    bytes (read with ``read_bytes``, the termination appended) or :data:`TIMEOUT`. A command
    that is not the next one in the script fails the test; ``done()`` checks all were sent.
    ``timeouts`` keeps the resource timeout (ms) at each read, ``clears`` counts device clears."""

    def __init__(self, script):
        self.script = list(script)
        self.timeout, self.read_termination, self.write_termination = 2000.0, "\n", "\n"
        self.sent, self.timeouts, self.clears = [], [], 0
        self._reply = None
        self._binary = b""

    def write(self, message: str):
        assert self.script, f"sent {message!r} after the end of the script"
        expected, answer = self.script.pop(0)
        assert scpi_equal(message, expected), \
            f"sent {message!r}, the manual's exchange is {expected!r}"
        self.sent.append(message)
        if isinstance(answer, Exception):
            raise answer
        self._reply = answer
        if isinstance(answer, bytes):
            self._binary = answer + self.read_termination.encode()
        return len(message)

    def _take(self):
        from pyvisa import constants
        from pyvisa.errors import VisaIOError

        self.timeouts.append(self.timeout)
        reply, self._reply = self._reply, None
        if reply is TIMEOUT:
            raise VisaIOError(constants.VI_ERROR_TMO)
        assert reply is not None, f"read after {self.sent[-1]!r}, which has no answer"
        return reply

    def read(self) -> str:
        reply = self._take()
        assert isinstance(reply, str), f"{self.sent[-1]!r} answers a binary block"
        return reply

    def read_bytes(self, count: int) -> bytes:
        if self._reply is not None:
            self._take()
        chunk, self._binary = self._binary[:count], self._binary[count:]
        return chunk

    def clear(self):
        self.clears += 1

    def close(self):
        pass

    def done(self) -> None:
        assert not self.script, f"never sent: {[c for c, _ in self.script]}"


def checked(command: str, error_query: str = ":SYSTem:ERRor?",
            no_error: str = '0,"No error"') -> list:
    """A configuration command followed by the error-queue query answering "no error"
    (SCPI-99 21.8: ``0,"No error"``; ``no_error`` for an instrument that words it otherwise)."""
    return [(command, None), (error_query, no_error)]


def connected(driver, idn: str, script, *, name: str, resource=ScriptedResource, opening=(),
              **options):
    """``driver`` named ``name``, connected over a ``resource`` (class) scripted with *IDN?
    answering ``idn``, *CLS, what the driver's connect asks next (``opening``), then
    ``script``. Returns (driver, resource)."""
    scripted = resource([("*IDN?", idn), ("*CLS", None), *opening, *script])
    instrument = driver(scripted, name=name, **options)
    instrument.connect()
    return instrument, scripted

def analysed_step(name: str, sequence: str, data: dict, params: dict, figures: dict):
    """A step as ``read_run`` gives it back, from its raw data and what ``analyse`` returned
    (results judged without limits), for the report's plot modules."""
    from bench.runner import judge
    from bench.storage import StepRecord
    from sequences.base import split_figures

    scalars, arrays = split_figures(figures)
    return StepRecord(name=name, sequence=sequence, status="completed", reason="",
                      params=params, limits={}, data=data,
                      analysis={k: v for k, (v, _) in arrays.items()},
                      analysis_units={k: u for k, (_, u) in arrays.items()},
                      results=judge(scalars, {}))


def drawn_plots(plots) -> dict:
    """part -> figure of a plot module's ``[(part, caption, figure)]``, each drawn to PNG with
    matplotlib's warnings as errors (a label or scale it could not draw fails the test)."""
    import io
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _, _, fig in plots:
            fig.savefig(io.BytesIO(), format="png")
    return {part: fig for part, _, fig in plots}
