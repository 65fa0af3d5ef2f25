"""Measurement sequences, by name."""

from __future__ import annotations

from common.errors import ConfigError

from .bandwidth import Bandwidth
from .base import Sequence
from .eye import Eye
from .iv import IV
from .liv import LIV
from .pulse_response import PulseResponse
from .spectrum import SpectrumSequence

SEQUENCES: dict[str, type[Sequence]] = {
    cls.name: cls for cls in (LIV, IV, Bandwidth, PulseResponse, Eye)}
SEQUENCES[SpectrumSequence.name] = SpectrumSequence


def get_sequence(name: str) -> type[Sequence]:
    try:
        return SEQUENCES[name]
    except KeyError:
        raise ConfigError(f"unknown sequence {name!r}; known: {', '.join(sorted(SEQUENCES))}") \
            from None
