"""Bringing the chip's stage to a temperature and waiting until the TEC holds it there.

Shared by the sequences that measure at a stage temperature (``temperature-sweep``,
``burn-in``): the parameters of the wait, their check, and the wait itself on the bench's clock.
(A set-point against the sample's limits: ``SafeLimits.check_temperature``.)
"""

from __future__ import annotations

from typing import Any

from common.errors import BenchError, ConfigError

from .base import Parameter

STABILITY_PARAMETERS = {
    "tolerance": Parameter(0.1, "K", "the TEC's in-tolerance window around the set-point",
                           minimum=1e-3, maximum=10.0),
    "hold": Parameter(30.0, "s", "how long the stage must stay within the tolerance (the "
                      "TEC's own verdict)", minimum=0.0, maximum=3600.0),
    "stability_timeout": Parameter(900.0, "s", "the longest wait for stability at one "
                                   "temperature: the step fails beyond it", minimum=1.0),
    "poll": Parameter(1.0, "s", "how often the TEC's verdict is read while waiting",
                      minimum=0.01, maximum=60.0),
}


class StabilityTimeout(BenchError):
    """The stage did not settle within the timeout."""


def settle(ctx: Any, tec: Any, temperature: float, params: dict[str, Any]) -> float:
    """Set the TEC to ``temperature`` (K), switch its output on and wait on the bench's clock
    until the TEC reports the stage in tolerance (``tolerance`` for ``hold``, its own verdict);
    the measured stage temperature (K) then. StabilityTimeout after ``stability_timeout``."""
    tec.set_tolerance(params["tolerance"], params["hold"])
    tec.set_temperature(temperature)
    if not tec.output_enabled():
        tec.output_on()
    started = ctx.now()
    while not tec.in_tolerance():
        waited = ctx.now() - started
        if waited >= params["stability_timeout"]:
            raise StabilityTimeout(
                f"the stage did not settle at {temperature:g} K within "
                f"{params['stability_timeout']:g} s (it reads {tec.temperature():.4g} K; "
                f"tolerance {params['tolerance']:g} K for {params['hold']:g} s)")
        ctx.sleep(min(params["poll"], params["stability_timeout"] - waited))
    return tec.temperature()


def check_stability(params: dict[str, Any]) -> None:
    """A wait that can succeed: the timeout longer than the hold (ConfigError otherwise)."""
    if params["stability_timeout"] <= params["hold"]:
        raise ConfigError(f"stability_timeout {params['stability_timeout']:g} s must be longer "
                          f"than hold {params['hold']:g} s")
