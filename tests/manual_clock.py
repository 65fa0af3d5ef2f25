"""A simulated world's clock that the test moves by hand: time passes only in ``sleep``."""

from __future__ import annotations


class ManualClock:
    speed = 1.0

    def __init__(self, start: float = 0.0):
        self.time = start

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.time += max(seconds, 0.0)
