"""Measurement sequences, by name."""

from __future__ import annotations

from common.errors import ConfigError

from .align import Align
from .array_map import ArrayMap
from .bandwidth import Bandwidth
from .base import Sequence
from .burn_in import BurnIn
from .eye import Eye
from .iv import IV
from .liv import LIV
from .pulse_response import PulseResponse
from .pulsed_liv import PulsedLIV
from .spectrum import SpectrumSequence
from .temperature_sweep import TemperatureSweep

SEQUENCES: dict[str, type[Sequence]] = {
    cls.name: cls for cls in (LIV, IV, Bandwidth, PulseResponse, Eye, PulsedLIV,
                              TemperatureSweep, BurnIn, ArrayMap, Align, SpectrumSequence)}


def get_sequence(name: str) -> type[Sequence]:
    try:
        return SEQUENCES[name]
    except KeyError:
        raise ConfigError(f"unknown sequence {name!r}; known: {', '.join(sorted(SEQUENCES))}") \
            from None
