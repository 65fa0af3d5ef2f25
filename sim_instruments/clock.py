"""The simulated world's time: a clock that runs ``speed`` simulated seconds per real second.

``simulation: clock: {speed: 1.0e6}`` lets a 1000-hour stress run in about four real seconds.
Everything in the world that changes with time (the TEC stage's temperature, the chip's
degradation) reads ``now()``; ``sleep(s)`` waits ``s`` simulated seconds (``s / speed`` real ones).
The clock starts at 0 when the world is built; a world built for a resumed run may start at the
time the earlier session had reached (``start``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from common.values import checked_number

MAX_SPEED = 1e9  # simulated s per real s: 30 years per second; beyond it float time loses ns


@dataclass
class SimulatedClock:
    """Simulated seconds: ``start + speed x`` (real seconds since the clock was built)."""

    speed: float = 1.0
    start: float = 0.0
    _origin: float = field(default_factory=time.monotonic, repr=False)

    @classmethod
    def from_config(cls, config: Any) -> SimulatedClock:
        """``{speed: ...}`` (simulated s per real s, > 0, at most 1e9); ValueError otherwise."""
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise ValueError(f"simulation.clock must be a mapping, got {type(config).__name__}")
        config = dict(config)
        speed = checked_number("simulation.clock.speed", config.pop("speed", 1.0), 0.0,
                               MAX_SPEED)
        if config:
            raise ValueError(f"unknown key(s) in simulation.clock: "
                             f"{', '.join(sorted(map(str, config)))}; valid keys: speed")
        return cls(speed=speed)

    def now(self) -> float:
        """Simulated seconds since the world began."""
        return self.start + self.speed * (time.monotonic() - self._origin)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` simulated seconds."""
        if seconds > 0:
            time.sleep(seconds / self.speed)
