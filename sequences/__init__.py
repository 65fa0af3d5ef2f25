"""Measurement sequences, by name."""

from __future__ import annotations

from bench.errors import ConfigError

from .base import Sequence
from .iv import IV
from .liv import LIV

SEQUENCES: dict[str, type[Sequence]] = {cls.name: cls for cls in (LIV, IV)}


def get_sequence(name: str) -> type[Sequence]:
    try:
        return SEQUENCES[name]
    except KeyError:
        raise ConfigError(f"unknown sequence {name!r}; known: {', '.join(sorted(SEQUENCES))}") \
            from None
