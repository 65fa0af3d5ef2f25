"""Common parts of the simulated instrument models: the model base class and signal helpers.

A model declares its command tree (``TREE``, headers as its manual writes them, see
``sim_instruments/scpi.py``) and the keywords its parameters take (``KEYWORDS``). It sees every
parsed command before the YAML does; ``handle`` returns ``(True, answer)`` for what it answers
(``answer`` None for a command without response) and ``(False, None)`` to let the YAML device
match it. State that the YAML declares (levels, limits, output) is read from the device, so the
YAML stays the one contract of what each setting accepts.

A model may also start in a given state (``simulation: initial_state:``, as a real instrument
is found left on by a killed run): ``INITIAL_STATE`` names the keys it takes and their kind,
``check_initial_state`` refuses anything else with one ValueError, ``start`` applies it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import constants as sc
from scipy.signal import lfilter

from common.values import checked_number, shown

from ..chip import MicroLED

if TYPE_CHECKING:
    from ..backend import SimInstrument, SimulatedWorld
    from ..scpi import Command


class InstrumentModel:
    TREE: tuple[str, ...] = ()
    KEYWORDS: tuple[str, ...] = ()
    # key -> bool | str | tuple of choices | (low, high) | ("+-", bound)
    INITIAL_STATE: dict[str, Any] = {}

    def __init__(self, sim: SimInstrument, world: SimulatedWorld):
        self.sim, self.world = sim, world

    @classmethod
    def command_tree(cls):
        """How received messages are parsed: the SCPI tree of ``TREE`` and ``KEYWORDS``; a
        model whose instrument speaks another language returns its own parser."""
        from ..scpi import CommandTree

        return CommandTree(cls.TREE, cls.KEYWORDS)

    def handle(self, command: Command) -> tuple[bool, bytes | str | None]:
        return False, None

    def reset(self) -> None:
        """Called on ``*RST`` after the YAML properties are back to their defaults."""

    def open_contact(self) -> None:
        """Fault ``compliance``: the probe lifts off the chip (a no-op without a source)."""

    def ac_volts(self) -> tuple[float, float] | None:
        """(lowest, highest) AC part of the programmed drive (V into 50 ohm) this instrument
        puts on the chip's modulation input now, or None (off, or not a modulation source)."""
        return None

    # -- start states ----------------------------------------------------------------------
    @classmethod
    def check_initial_state(cls, name: str, state: Any) -> None:
        """Refuse a start state this model cannot be in (ValueError, one line)."""
        where = f"simulation.initial_state.{name}"
        if not cls.INITIAL_STATE:
            raise ValueError(f"{where}: this simulated model takes no start state")
        if not isinstance(state, dict):
            raise ValueError(f"{where} must be a mapping, got {type(state).__name__}")
        unknown = sorted(str(k) for k in state if k not in cls.INITIAL_STATE)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: "
                             f"{', '.join(cls.INITIAL_STATE)}")
        for key, value in state.items():
            kind = cls.INITIAL_STATE[key]
            if kind is bool:
                if not isinstance(value, bool):
                    raise ValueError(f"{where}.{key} must be true or false, got {shown(value)}")
            elif kind is str:
                if not isinstance(value, str) or not value.strip() or len(value) > 200:
                    raise ValueError(f"{where}.{key} must be a short non-empty string, got "
                                     f"{shown(value)}")
            elif isinstance(kind, tuple) and all(isinstance(k, str) for k in kind):
                if value not in kind:
                    raise ValueError(f"{where}.{key} must be one of {', '.join(kind)}, got "
                                     f"{shown(value)}")
            elif kind[0] == "+-":
                _any_sign(f"{where}.{key}", value, kind[1])
            else:
                checked_number(f"{where}.{key}", value, *kind)
        cls._check_state(where, state)

    @classmethod
    def _check_state(cls, where: str, state: dict) -> None:
        """Model-specific checks across keys (the keys themselves are checked)."""

    def start(self, state: dict) -> None:
        """Put the instrument in a checked start state."""


def _any_sign(name: str, value: Any, bound: float) -> float:
    """A finite number within [-bound, bound]; ValueError otherwise (no overflow)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number, got {shown(value)}")
    if not -bound <= value <= bound:
        raise ValueError(f"{name} must be within +-{bound:g}, got {shown(value)}")
    return float(value)


# == High-speed set-up (issue 3): pattern generator, real-time scope, network analyser ==========
# The generator's output reaches the chip through the bias tee: its AC part times the drive
# admittance 2 / (50 + Z + r_d) (SimulatedWorld.drive_admittance), after cables.drive_delay, on
# top of the SMU's bias (world.drive_current); the light goes through the photoreceiver (gain,
# pole, delays) to the scope or VNA. The set-up's numbers come from world.setup.


def _on(value) -> bool:
    return str(value).strip().upper() in ("1", "ON")


def first_order_lowpass(x: np.ndarray, dt: float, tau: float) -> np.ndarray:
    """Single pole y' = (x - y) / tau with x linear between samples, solved exactly:
    y[n] = e y[n-1] + (1 - k) x[n] + (k - e) x[n-1], e = exp(-dt / tau), k = tau (1 - e) / dt,
    started settled at x[0] (the discretisation chip.py uses for the RC pole). Linear
    interpolation low-passes the input by sinc^2(f dt): use it on a grid fine enough for x to be
    linear between samples (the scope's analogue grid), not at a record's sample interval."""
    e = math.exp(-dt / tau)
    k = tau * (1 - e) / dt
    return lfilter([1 - k, k - e], [1, -e], x, zi=[x[0] * k])[0]


def differential_efficiency(chip: MicroLED, current) -> np.ndarray:
    """dP/dI (W/A) of the isothermal light output behind MicroLED.optical_power_waveform,
    P = eta_extr B n^2 V_act E_ph. With dn/dI = tau eta_inj / (q V_act) (tau = differential
    lifetime, Coldren & Corzine ch. 5): dP/dI = 2 eta_extr eta_inj B n tau E_ph / q."""
    p = chip.params
    n = chip.carrier_density(current)
    return (2 * p.extraction_efficiency * p.injection_efficiency * p.b_coeff * n
            * chip.differential_lifetime(current) * chip.photon_energy / sc.e)


@dataclass(frozen=True)
class DriveSignal:
    """A generator's periodic output voltage. Within each period the logic level steps to
    ``levels[j]`` at ``starts[j]`` along a linear ramp of ``ramp`` seconds;
    volts = low + (high - low) x level."""

    starts: np.ndarray  # s, increasing, starts[0] = 0
    levels: np.ndarray  # 0 or 1
    period: float       # s
    ramp: float         # s, 0-100 % edge duration
    low: float          # V
    high: float         # V

    def volts(self, t) -> np.ndarray:
        phase = np.mod(np.asarray(t, dtype=float), self.period)
        j = np.searchsorted(self.starts, phase, side="right") - 1
        now, before = self.levels[j], self.levels[j - 1]  # j - 1 = -1 wraps to the last level
        progress = np.clip((phase - self.starts[j]) / self.ramp, 0.0, 1.0)
        return self.low + (self.high - self.low) * (before + (now - before) * progress)

    def mean_volts(self) -> float:
        """Period average, what the bias tee's capacitor blocks: sum(level x duration) / period
        (each ramp's deficit is cancelled by the opposite ramp within the period)."""
        durations = np.diff(np.append(self.starts, self.period))
        level = float(np.dot(self.levels, durations)) / self.period
        return self.low + (self.high - self.low) * level

    def first_crossing(self, volts: float, rising: bool) -> float | None:
        """Time in [0, period) of the first rising (falling) crossing of ``volts``, or None."""
        if self.high == self.low:
            return None
        fraction = (volts - self.low) / (self.high - self.low)
        if not 0 < fraction < 1:
            return None
        before = np.roll(self.levels, 1)
        edges = self.levels > before if rising else self.levels < before
        if not edges.any():
            return None
        j = int(np.argmax(edges))
        return float(self.starts[j] + (fraction if rising else 1 - fraction) * self.ramp)

