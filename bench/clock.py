"""The bench's clock: what ``ctx.now()`` and ``ctx.sleep()`` of a step run on.

On hardware it is the wall clock (``time.monotonic``). A simulated station may run on the
simulator's clock instead, so that a long stress (a burn-in) runs faster than real time; the run
file then states the clock's speed.
"""

from __future__ import annotations

import time


class WallClock:
    """Real time: seconds of ``time.monotonic``; ``speed`` 1."""

    speed = 1.0
    simulated = False

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
