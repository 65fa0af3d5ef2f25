"""Passive parts of the high-speed set-up: instruments without commands, described in the station.

The station file's ``setup:`` block (SI units) names the bias tee, the photoreceiver, the cables and
how the oscilloscope is wired; :meth:`Setup.from_mapping` is the one place that parses and checks
it, with defaults, for the simulator and the sequences alike::

    setup:
      bias_tee: {modulation_impedance: 50.0}       # ohm
      photoreceiver: {responsivity: 0.3, transimpedance: 2000.0, bandwidth: 10.0e9,
                      delay: 0.0, coupling: 0.5}   # A/W, V/A into 50 ohm, Hz, s, fraction
      cables: {drive_delay: 1.0e-9, monitor_delay: 0.5e-9, receiver_delay: 2.0e-9}   # s
      oscilloscope: {optical_channel: 1, drive_channel: 2}
      leads: {resistance: 0.0}                     # ohm, SMU force leads + contacts, both ways

Signal path: the generator (or VNA port 1) drives the chip's modulation input through the bias tee.
The drive circuit (:class:`DriveCircuit`) is a 50 ohm source whose levels are programmed as volts
into 50 ohm, so its open-circuit EMF is twice the programmed level; through the tee's modulation
path Z (``modulation_impedance``: a series resistor, or the 50 ohm termination) into the chip
(small-signal resistance r_d) the AC current is 2 V / (R_source + Z + r_d). A fraction
``coupling`` of the chip's light reaches the photoreceiver (responsivity x transimpedance, one
first-order pole at ``bandwidth``), whose output goes to the scope or VNA port 2.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from .values import checked_keys, checked_number, from_mapping, shown

# Upper bounds far beyond any real set-up, so that a unit mistake or 1e308 is refused
_LARGEST = {"positive": 1e15, "non-negative": 1e15, "fraction": 1e15}


def _check_fields(obj, rules: dict[str, str]) -> None:
    """Coerce every field of a frozen dataclass to float/int and check it against its rule."""
    section = type(obj).SECTION
    for f in fields(obj):
        value = getattr(obj, f.name)
        rule = rules[f.name]
        where = f"setup.{section}.{f.name}"
        if rule == "channel":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                    or not 1 <= value <= 64:
                raise ValueError(f"{where} must be a channel number from 1 to 64, got "
                                 f"{shown(value)}")
            object.__setattr__(obj, f.name, int(value))
            continue
        if rule == "non-negative":  # 0 allowed (checked_number's lowest of 0 means > 0)
            number = checked_number(where, value, -_LARGEST[rule], _LARGEST[rule])
            if number < 0:
                raise ValueError(f"{where} must be >= 0, got {shown(value)}")
        else:
            number = checked_number(where, value, -_LARGEST[rule], _LARGEST[rule])
            if not number > 0 or (rule == "fraction" and number > 1):
                bounds = "in (0, 1]" if rule == "fraction" else "> 0"
                raise ValueError(f"{where} must be {bounds}, got {shown(value)}")
        object.__setattr__(obj, f.name, number)


def _build(cls, mapping: Any):
    """An instance of a section class from its mapping (None = defaults); unknown keys refused."""
    return cls() if mapping is None else from_mapping(cls, mapping, f"setup.{cls.SECTION}")


@dataclass(frozen=True)
class BiasTee:
    """Bias tee: DC bias from the SMU, modulation through its capacitor."""

    SECTION = "bias_tee"
    modulation_impedance: float = 50.0  # ohm: modulation path Z (series resistor or termination)

    def __post_init__(self):
        _check_fields(self, {"modulation_impedance": "positive"})


@dataclass(frozen=True)
class Photoreceiver:
    """Photodiode + transimpedance amplifier with a first-order pole."""

    SECTION = "photoreceiver"
    responsivity: float = 0.3       # A/W at the chip's wavelength
    transimpedance: float = 2000.0  # V/A into the 50 ohm scope/VNA input
    bandwidth: float = 10.0e9       # Hz, -3 dB frequency of the single pole
    delay: float = 0.0              # s, internal delay of the receiver
    coupling: float = 0.5           # fraction of the chip's light reaching the photodiode

    def __post_init__(self):
        _check_fields(self, {"responsivity": "positive", "transimpedance": "positive",
                             "bandwidth": "positive", "delay": "non-negative",
                             "coupling": "fraction"})

    @property
    def gain(self) -> float:
        """Output volts per watt emitted by the chip: coupling x responsivity x transimpedance."""
        return self.coupling * self.responsivity * self.transimpedance

    @property
    def time_constant(self) -> float:
        """tau = 1 / (2 pi f_3dB) of the receiver's pole (s)."""
        return 1.0 / (2 * math.pi * self.bandwidth)

    def response(self, frequency) -> np.ndarray:
        """Normalised pole H(f) = 1 / (1 + j f / f_3dB), H(0) = 1 (delay not included)."""
        return 1.0 / (1 + 1j * np.asarray(frequency, dtype=float) / self.bandwidth)


@dataclass(frozen=True)
class Cables:
    """Cable delays (s)."""

    SECTION = "cables"
    drive_delay: float = 1.0e-9     # generator / VNA port 1 -> chip
    monitor_delay: float = 0.5e-9   # generator -> scope drive channel
    receiver_delay: float = 2.0e-9  # photoreceiver -> scope / VNA port 2

    def __post_init__(self):
        _check_fields(self, {name: "non-negative" for name in
                             ("drive_delay", "monitor_delay", "receiver_delay")})


@dataclass(frozen=True)
class ScopeWiring:
    """Which oscilloscope channel sees what."""

    SECTION = "oscilloscope"
    optical_channel: int = 1  # photoreceiver output
    drive_channel: int = 2    # generator output (monitor tap), the trigger source

    def __post_init__(self):
        _check_fields(self, {"optical_channel": "channel", "drive_channel": "channel"})
        if self.optical_channel == self.drive_channel:
            raise ValueError("setup.oscilloscope: optical_channel and drive_channel must differ")


@dataclass(frozen=True)
class Leads:
    """The SMU's force path to the chip and back (cables, probe needles, contacts): in 2-wire
    sensing the SMU measures its voltage drop I x ``resistance`` on top of the chip's; in
    4-wire (remote) sensing the sense leads meet the chip at the probes and it drops out."""

    SECTION = "leads"
    resistance: float = 0.0  # ohm, total of both force leads and their contacts

    def __post_init__(self):
        _check_fields(self, {"resistance": "non-negative"})


_SECTIONS = {cls.SECTION: cls for cls in (BiasTee, Photoreceiver, Cables, ScopeWiring, Leads)}


@dataclass(frozen=True)
class Setup:
    """The passive set-up of a station, parsed from its ``setup:`` block."""

    bias_tee: BiasTee = BiasTee()
    photoreceiver: Photoreceiver = Photoreceiver()
    cables: Cables = Cables()
    oscilloscope: ScopeWiring = ScopeWiring()
    leads: Leads = Leads()

    @classmethod
    def from_mapping(cls, mapping: Mapping | None) -> Setup:
        """Parse a ``setup:`` block; missing parts take defaults, unknown keys raise ValueError."""
        if mapping is None:
            return cls()
        checked_keys(mapping, "setup", list(_SECTIONS))
        return cls(**{name: _build(section, mapping.get(name))
                      for name, section in _SECTIONS.items()})

    def to_dict(self) -> dict:
        """Plain nested dict (round-trips through from_mapping)."""
        return asdict(self)

    @property
    def optical_delay(self) -> float:
        """Generator output -> scope/VNA optical input, chip excluded (s):
        drive_delay + photoreceiver.delay + receiver_delay."""
        return self.cables.drive_delay + self.photoreceiver.delay + self.cables.receiver_delay

    @property
    def drive_to_optical_skew(self) -> float:
        """Delay the set-up alone puts between the scope's drive and optical channels (s):
        optical_delay - monitor_delay. The chip's own latency is the measured delay minus this."""
        return self.optical_delay - self.cables.monitor_delay


@dataclass(frozen=True)
class DriveCircuit:
    """The modulation drive as the chip sees it: a source of ``source_impedance`` (ohm) whose
    levels are programmed as volts into 50 ohm (open-circuit EMF = 2 x the level), through the
    bias tee's modulation path ``path_impedance`` (ohm) into the chip.

    The current for a programmed voltage V is 2 V / (R_source + Z + r_d); with the chip's own
    resistance r_d taken as 0 it is the largest the chip can get, 2 V / (R_source + Z): the
    bound the drive guards use, and the current the sequences program for (so that the chip
    gets at most what was asked). The same circuit, written independently, drives the
    simulated chip."""

    source_impedance: float
    path_impedance: float

    def __post_init__(self):
        for name in ("source_impedance", "path_impedance"):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0):
                raise ValueError(f"drive circuit {name} must be a finite number > 0 ohm, "
                                 f"got {value!r}")

    @property
    def loop_impedance(self) -> float:
        """R_source + Z (ohm), the chip taken as a short."""
        return self.source_impedance + self.path_impedance

    def current(self, volts: float) -> float:
        """Largest chip current (A) for a programmed voltage (V): 2 V / (R_source + Z)."""
        return 2.0 * volts / self.loop_impedance

    def volts(self, current: float) -> float:
        """Programmed voltage (V into 50 ohm) that gives ``current`` (A): I (R_source + Z) / 2."""
        return current * self.loop_impedance / 2.0

    def swing_current(self, high: float, low: float) -> float:
        """Peak-to-peak chip current (A) of a generator swinging between two programmed levels."""
        return self.current(high - low)

    def levels(self, modulation_current: float, resolution: float) -> tuple[float, float]:
        """Generator (high, low) levels (V) for a peak-to-peak chip current, centred on 0 V (the
        tee passes only the AC part), each a multiple of the generator's ``resolution``; the
        swing is the largest such that gives at most ``modulation_current``, never more."""
        if not (math.isfinite(resolution) and resolution > 0):
            raise ValueError(f"level resolution must be > 0 V, got {resolution!r}")
        steps = math.floor(self.volts(modulation_current) / resolution * (1 + 1e-12))
        high_steps = steps - steps // 2
        return high_steps * resolution, (high_steps - steps) * resolution

    def sine_amplitude(self, power_dbm: float) -> float:
        """Largest chip current amplitude (A) of a source of port power ``power_dbm`` (dBm into
        50 ohm): incident amplitude a = sqrt(2 P 50) V, EMF 2 a, current 2 a / (R_source + Z)."""
        watts = 1e-3 * 10 ** (power_dbm / 10)
        return self.current(math.sqrt(2 * watts * 50.0))

    def power_for_amplitude(self, amplitude: float) -> float:
        """Port power (dBm into 50 ohm) whose chip current amplitude is ``amplitude`` (A):
        the inverse of :meth:`sine_amplitude`."""
        incident = self.volts(amplitude)
        return 10 * math.log10(incident**2 / (2 * 50.0) / 1e-3)
