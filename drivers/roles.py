"""Roles: what a sequence may ask of an instrument, independent of its model.

Small runtime-checkable Protocols in the manner of bluesky's Readable/Movable. A sequence names the
roles it needs; any driver that fills a role works. Values are SI (A, V, W, m, s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class SweepReadings:
    """Readings of an instrument-side sweep, one entry per point actually measured.

    An SMU whose sweep aborts on compliance (the 2450's ``failAbort ON``) returns the points it
    measured before the abort: fewer than were programmed, with ``stopped_at_compliance`` set.
    """

    source: np.ndarray   # programmed source level (A or V) of each measured point
    voltage: np.ndarray  # measured voltage, V
    current: np.ndarray  # measured current, A
    stopped_at_compliance: bool = False


PlanProblems = list[str]
"""What ``check_plan`` returns: one line per thing the model cannot do, empty when it can."""


@runtime_checkable
class Instrument(Protocol):
    """Every driver. ``check_plan`` is callable on the class (the model's declared ranges, before
    anything is opened) and on a connected instance (ranges the instrument reported, e.g. the
    E5071C's frequency option from ``*OPT?``). ``request`` holds the role-level settings one step
    will use together, SI units, keys as listed in each role's docstring; a key the model does not
    know is ignored. ``recoveries`` counts what the fault policy did since connecting:
    ``{"retries": n, "reopens": n, "device_clears": n}``."""

    name: str
    idn: str
    recoveries: dict

    def connect(self) -> str: ...
    def settings(self) -> dict: ...
    def close(self) -> None: ...
    def check_plan(self, request: dict) -> PlanProblems: ...


@runtime_checkable
class Output(Protocol):
    """An instrument whose output can drive the chip; the runner brings it to its safe state
    before the first step, whatever state it was found in. ``describe_output`` is one line of
    what the output is doing now, read from the instrument ("output ON at 5 mA, limit 6 V")."""

    def output_on(self) -> None: ...
    def output_off(self) -> None: ...
    def output_enabled(self) -> bool: ...
    def describe_output(self) -> str: ...


@runtime_checkable
class CurrentSource(Instrument, Protocol):
    """Source current with a voltage compliance, measure V and I (an SMU in current mode).

    ``check_plan`` keys (CurrentSource, VoltageSource, SourceMeter): ``current`` (A, largest
    absolute level or compliance), ``voltage`` (V, largest absolute level or compliance),
    ``nplc``, ``sweep_points`` (an instrument-side sweep's length). ``read_source`` gives the
    function and level programmed now, read from the instrument: ("CURR" | "VOLT", A or V).
    """

    def configure_current_source(self, *, voltage_limit: float, nplc: float = 1.0,
                                 current_range: float | None = None,
                                 remote_sense: bool = False) -> None: ...
    def set_current(self, current: float) -> None: ...
    def output_on(self) -> None: ...
    def output_off(self) -> None: ...
    def output_enabled(self) -> bool: ...
    def describe_output(self) -> str: ...
    def read_source(self) -> tuple[str, float]: ...
    def measure(self) -> tuple[float, float]:
        """One reading: (voltage V, current A)."""
        ...

    def sweep_current(self, levels: np.ndarray, *, delay: float = 0.0) -> SweepReadings:
        """Run the levels as an instrument-side sweep and read every point back in one transfer."""
        ...


@runtime_checkable
class VoltageSource(Instrument, Protocol):
    """Source voltage with a current compliance, measure V and I (an SMU in voltage mode)."""

    def configure_voltage_source(self, *, current_limit: float, nplc: float = 1.0,
                                 voltage_range: float | None = None,
                                 remote_sense: bool = False) -> None: ...
    def set_voltage(self, voltage: float) -> None: ...
    def output_on(self) -> None: ...
    def output_off(self) -> None: ...
    def output_enabled(self) -> bool: ...
    def describe_output(self) -> str: ...
    def read_source(self) -> tuple[str, float]: ...
    def measure(self) -> tuple[float, float]: ...
    def sweep_voltage(self, levels: np.ndarray, *, delay: float = 0.0) -> SweepReadings: ...


@runtime_checkable
class SourceMeter(CurrentSource, VoltageSource, Protocol):
    """An SMU that does both."""


@runtime_checkable
class PowerMeter(Instrument, Protocol):
    """Optical power meter. ``check_plan`` keys: ``wavelength`` (m), ``averaging``, ``power``
    (W, the largest expected reading)."""

    def configure(self, *, wavelength: float, power_range: float | None = None,
                  averaging: int = 1) -> None:
        """Wavelength correction (m), fixed range in W or None for auto-range, samples averaged."""
        ...

    def read_power(self) -> float:
        """One power reading in W."""
        ...


@dataclass(frozen=True)
class Waveform:
    """One oscilloscope record as transferred: integer codes and the preamble's scaling.

    volts = (codes - y_reference) * y_increment + y_origin;
    time  = (index - x_reference) * x_increment + x_origin  (Infiniium "Data Conversion").
    """

    codes: np.ndarray      # int16 (WORD) or int8 (BYTE) samples as sent
    x_increment: float     # s per sample
    x_origin: float        # s, time of sample x_reference
    x_reference: float
    y_increment: float     # V per code
    y_origin: float        # V
    y_reference: float

    @property
    def time(self) -> np.ndarray:
        return (np.arange(self.codes.size) - self.x_reference) * self.x_increment + self.x_origin

    @property
    def volts(self) -> np.ndarray:
        return (self.codes.astype(float) - self.y_reference) * self.y_increment + self.y_origin


@runtime_checkable
class Oscilloscope(Instrument, Protocol):
    """Real-time scope: channels, timebase, edge trigger, single acquisition, binary fetch.
    ``check_plan`` keys: ``sample_rate`` (Sa/s), ``points``, ``scale`` (V/div), ``averaging``,
    ``channels`` (list of channel numbers)."""

    def configure_channel(self, channel: int, *, scale: float, offset: float = 0.0,
                          impedance: str = "50") -> None:
        """Vertical scale (V/div), offset (V), input impedance "50" or "1M"; channel displayed."""
        ...

    def configure_timebase(self, *, scale: float, position: float = 0.0,
                           sample_rate: float | None = None, points: int | None = None) -> None:
        """Horizontal scale (s/div), trigger position (s), sample rate (Sa/s), record points."""
        ...

    def configure_edge_trigger(self, *, channel: int, level: float,
                               slope: str = "rising") -> None: ...
    def set_averaging(self, count: int) -> None:
        """Average ``count`` acquisitions (1 = off)."""
        ...

    def acquire(self) -> None:
        """One single acquisition; returns when it is complete."""
        ...

    def fetch_waveform(self, channel: int) -> Waveform: ...


@runtime_checkable
class NetworkAnalyzer(Instrument, Protocol):
    """Vector network analyser measuring S21; its port 1 drives the chip through the bias tee.

    ``source_impedance``: the port's impedance (ohm, the S-parameter reference, 50). ``check_plan``
    keys: ``start``, ``stop`` (Hz), ``points``, ``if_bandwidth`` (Hz), ``power`` (dBm),
    ``averaging``. A model whose range depends on its options checks a connected instance
    against what it reported and the class against the widest it can have. ``read_source``
    gives ("POW", port power in dBm), read from the instrument."""

    source_impedance: float

    def configure_s21(self, *, start: float, stop: float, points: int, if_bandwidth: float,
                      power: float, averaging: int = 1, log_sweep: bool = True) -> None:
        """Frequencies in Hz, IF bandwidth in Hz, source power in dBm."""
        ...

    def output_on(self) -> None: ...
    def output_off(self) -> None: ...
    def output_enabled(self) -> bool: ...
    def describe_output(self) -> str: ...
    def measure_s21(self) -> tuple[np.ndarray, np.ndarray]:
        """One single sweep, waited for; (frequency Hz, complex S21), binary transfer."""
        ...


@runtime_checkable
class PatternGenerator(Instrument, Protocol):
    """Pulse/pattern generator driving the chip's modulation input (through a bias tee).

    Levels are programmed as volts into 50 ohm: the open-circuit EMF behind ``source_impedance``
    is twice the programmed level. ``level_resolution`` is the smallest level step (V).
    ``check_plan`` keys: ``high``, ``low`` (V, a level pair set together), ``bit_rate`` or
    ``frequency`` (Hz), ``pattern_bits`` (length of a user pattern), ``prbs_order`` (a PRBS
    2^n - 1 the step will ask for), ``width`` and ``period`` (s).
    ``set_levels`` refuses a pair outside the model's window or amplitude range before sending,
    and passes only through valid pairs on the way. ``read_source`` gives ("VOLT", high level).
    """

    min_bit_rate: float
    max_bit_rate: float
    source_impedance: float
    level_resolution: float

    def set_bit_rate(self, bit_rate: float) -> None: ...
    def set_levels(self, *, high: float, low: float) -> None:
        """Output levels in V into 50 ohm."""
        ...

    def set_prbs(self, order: int) -> None:
        """PRBS 2^order - 1 (NRZ)."""
        ...

    def set_pattern(self, bits: np.ndarray) -> None:
        """A user pattern of 0/1 bits, repeated."""
        ...

    def output_on(self) -> None: ...
    def output_off(self) -> None: ...
    def output_enabled(self) -> bool: ...
    def describe_output(self) -> str: ...


# == Roles added with the array, thermal and instrument issues (11, 12, 13) ===================

@runtime_checkable
class Switch(Instrument, Protocol):
    """Routes the SMU to one emitter of an array (a relay matrix). Emitters are addressed
    0-based as (row, column) of the array; the model maps them to its channels (from the
    station's ``options``). ``select`` opens every route, waits for the relays, then closes the
    one to the emitter (break-before-make); ``open_all`` leaves no emitter connected;
    ``selected`` reads back the closed route from the instrument (None when none is).
    Switching live is what burns chips: the guard (bench/safety.py) refuses ``select`` and
    ``open_all`` unless every SMU's output is off or at zero. ``check_plan`` keys: ``rows``,
    ``columns`` (the array a step will address)."""

    rows: int
    columns: int

    def select(self, row: int, column: int) -> None: ...
    def open_all(self) -> None: ...
    def selected(self) -> tuple[int, int] | None: ...


@runtime_checkable
class Positioner(Instrument, Protocol):
    """Motorised stage axes (m). ``axes`` names them ("x", "y", "z"); ``travel(axis)`` gives
    the (low, high) travel limits the station set for it, which the guard enforces before a
    move is sent. Moves are absolute or relative and return once the axes have stopped
    (read back from the controller's state). ``check_plan`` keys: ``positions`` ({axis:
    (low, high)} the step will visit)."""

    axes: tuple[str, ...]

    def travel(self, axis: str) -> tuple[float, float]: ...
    def home(self, axes: tuple[str, ...] | None = None) -> None: ...
    def move_to(self, **positions: float) -> None: ...
    def move_by(self, **steps: float) -> None: ...
    def position(self) -> dict[str, float]: ...


@runtime_checkable
class TemperatureController(Instrument, Protocol):
    """A TEC holding the chip's stage at a set-point. Temperatures in K on this side (the
    model converts to what its instrument speaks), currents in A. ``set_limits`` programs the
    instrument's own high/low temperature and TEC current limits (from the sample's limits);
    ``set_tolerance`` its in-tolerance window (K) and hold time (s); ``in_tolerance`` reads the
    instrument's own verdict. The output goes off in the safe state like any other.
    ``check_plan`` keys: ``temperature`` (K, a set-point), ``tec_current`` (A)."""

    def set_limits(self, *, low: float, high: float, current: float) -> None: ...
    def set_temperature(self, temperature: float) -> None: ...
    def setpoint(self) -> float: ...
    def temperature(self) -> float:
        """The measured stage temperature (K)."""
        ...

    def set_tolerance(self, tolerance: float, hold: float) -> None: ...
    def in_tolerance(self) -> bool: ...
    def output_on(self) -> None: ...
    def output_off(self) -> None: ...
    def output_enabled(self) -> bool: ...
    def describe_output(self) -> str: ...


@dataclass(frozen=True)
class Spectrum:
    """One spectrum as the instrument gave it: ``wavelength`` (m, increasing) and ``values`` in
    ``units`` ("W" per resolution bandwidth for an OSA, "counts" for a CCD spectrometer);
    ``resolution`` (m) the instrument's resolution bandwidth, ``integration_time`` (s) where it
    has one."""

    wavelength: np.ndarray
    values: np.ndarray
    units: str
    resolution: float | None = None
    integration_time: float | None = None


@runtime_checkable
class Spectrometer(Instrument, Protocol):
    """An optical spectrum analyser or a CCD spectrometer. ``check_plan`` keys: ``start``,
    ``stop`` (m), ``resolution`` (m), ``integration_time`` (s), ``points``."""

    def configure(self, *, start: float, stop: float, resolution: float | None = None,
                  integration_time: float | None = None, points: int | None = None) -> None: ...
    def acquire_spectrum(self) -> Spectrum: ...


@runtime_checkable
class PulsedSource(Instrument, Protocol):
    """An SMU that sources current pulses and measures within each pulse (2601B-PULSE,
    B2900 pulse mode, 2450 and 2400 only where their manuals allow). ``check_plan`` keys:
    ``current`` (A, pulse level), ``voltage`` (V, compliance), ``width`` (s), ``period`` (s),
    ``sweep_points``. ``pulse_sweep`` runs the levels as pulses from a 0 A base, each measured
    near its end, and returns what was measured."""

    def pulse_sweep(self, levels: np.ndarray, *, width: float, period: float,
                    voltage_limit: float) -> SweepReadings: ...
    def output_on(self) -> None: ...
    def output_off(self) -> None: ...
    def output_enabled(self) -> bool: ...
    def describe_output(self) -> str: ...
    def read_source(self) -> tuple[str, float]: ...


@runtime_checkable
class PulsedCurrentSource(PulsedSource, CurrentSource, Protocol):
    """An SMU that sources both DC and pulses: ``pulsed-liv`` sets a pulsed sweep beside a DC
    one on the same chip, through the same leads."""


@runtime_checkable
class PulseGenerator(Instrument, Protocol):
    """A generator giving rectangular pulses with edge control into 50 ohm (a function
    generator, a pulse generator): levels as volts into 50 ohm like a PatternGenerator (EMF
    twice the level behind ``source_impedance``). ``check_plan`` keys: ``high``, ``low``,
    ``width``, ``period``, ``edge`` (s)."""

    source_impedance: float
    level_resolution: float

    def set_pulse(self, *, high: float, low: float, width: float, period: float,
                  edge: float | None = None) -> None: ...
    def output_on(self) -> None: ...
    def output_off(self) -> None: ...
    def output_enabled(self) -> bool: ...
    def describe_output(self) -> str: ...
