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


class SimulatedBenchClock:
    """The simulated world's clock (``sim_instruments/clock.py``) as the bench's clock: steps
    wait and time stress on simulated seconds, ``speed`` of them per real second."""

    simulated = True

    def __init__(self, world_clock):
        self.world_clock = world_clock
        self.speed = world_clock.speed

    def now(self) -> float:
        return self.world_clock.now()

    def sleep(self, seconds: float) -> None:
        self.world_clock.sleep(seconds)


def clock_for(world, real_instruments: list[str]):
    """The bench's clock for an opened station: the simulated world's when it has one, else the
    wall clock. A clock faster or slower than real time with real instruments on the station is
    refused (ValueError): they live on the wall clock."""
    if world is None:
        return WallClock()
    if world.clock.speed != 1 and real_instruments:
        raise ValueError(f"simulation.clock.speed {world.clock.speed:g} needs an all-simulated "
                         f"station; real: {', '.join(sorted(real_instruments))}")
    return SimulatedBenchClock(world.clock)
