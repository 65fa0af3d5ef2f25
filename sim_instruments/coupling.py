"""Fibre coupling of the simulated bench: the detected power follows the positioner.

``simulation: coupling:``::

    coupling:
      optimum: [10.0e-6, -5.0e-6, 20.0e-6]  # m, stage position of best coupling (emitter 0, 0)
      mode_field_radius: 2.5e-6             # m, w: 1/e^2 intensity radius of the fibre's mode
      focus_depth: 20.0e-6                  # m, Rayleigh range z_R of the beams
      axes: {x: 1, y: 2, z: 3}              # positioner address moving each axis (default)

The emitter is imaged onto the fibre facet with a spot matched to the fibre's mode (waist w at
the optimum). The power coupled between two fundamental Gaussian beams of equal waist w, offset
laterally by d and axially by dz, is (Joyce & DeLoach, "Alignment of Gaussian beams", Appl. Opt.
23, 4187 (1984); Kogelnik's overlap integral; with z_R = pi w^2 / lambda):

    eta = 1 / (1 + (dz / 2 z_R)^2) x exp(-d^2 / (w^2 (1 + (dz / 2 z_R)^2)))

so at focus eta = exp(-d^2 / w^2): 1/e at d = w, 1/e^2 at d = sqrt(2) w, 1 dB down at
d = w sqrt(0.1 ln 10); a defocus widens that radius by sqrt(1 + (dz / 2 z_R)^2). Here z_R is
given as ``focus_depth`` (the optics' Rayleigh range) rather than derived from the wavelength.
For an array the optimum of emitter (r, c) is shifted by (c, r) x pitch from emitter (0, 0)'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.values import checked_keys, checked_number, shown

AXES = ("x", "y", "z")
_KEYS = ("optimum", "mode_field_radius", "focus_depth", "axes")
MAX_OFFSET = 1.0  # m: no stage travels further


@dataclass(frozen=True)
class Coupling:
    """The hidden optimum and the Gaussian overlap around it."""

    optimum: tuple[float, float, float]
    mode_field_radius: float
    focus_depth: float
    axes: tuple[tuple[str, int], ...] = (("x", 1), ("y", 2), ("z", 3))

    @classmethod
    def from_config(cls, raw: Any) -> Coupling:
        """The ``coupling:`` block checked (ValueError, one line naming the key)."""
        where = "simulation.coupling"
        checked_keys(raw, where, _KEYS, required=("optimum", "mode_field_radius", "focus_depth"))
        optimum = raw["optimum"]
        if not isinstance(optimum, list) or len(optimum) != 3:
            raise ValueError(f"{where}.optimum must be [x, y, z] in m, got {shown(optimum)}")
        optimum = tuple(checked_number(f"{where}.optimum.{a}", v, -MAX_OFFSET, MAX_OFFSET)
                        for a, v in zip(AXES, optimum, strict=True))
        radius = checked_number(f"{where}.mode_field_radius", raw["mode_field_radius"],
                                0.0, 1e-3)
        depth = checked_number(f"{where}.focus_depth", raw["focus_depth"], 0.0, 1.0)
        axes = raw.get("axes", {"x": 1, "y": 2, "z": 3})
        if not isinstance(axes, Mapping) or set(axes) != set(AXES):
            raise ValueError(f"{where}.axes must map x, y and z to positioner addresses, got "
                             f"{shown(axes)}")
        for axis, address in axes.items():
            if isinstance(address, bool) or not isinstance(address, int) \
                    or not 1 <= address <= 31:
                raise ValueError(f"{where}.axes.{axis} must be an address 1-31, got "
                                 f"{shown(address)}")
        if len(set(axes.values())) != 3:
            raise ValueError(f"{where}.axes gives one address to two axes: {dict(axes)}")
        return cls(optimum, radius, depth, tuple((a, int(axes[a])) for a in AXES))

    def efficiency(self, x: float, y: float, z: float) -> float:
        """Coupled fraction at stage position (x, y, z) m (module docstring's formula)."""
        dx, dy, dz = x - self.optimum[0], y - self.optimum[1], z - self.optimum[2]
        widening = 1.0 + (dz / (2.0 * self.focus_depth)) ** 2
        return math.exp(-(dx * dx + dy * dy) / (self.mode_field_radius**2 * widening)) \
            / widening

    def lateral_tolerance(self, loss_db: float = 1.0, defocus: float = 0.0) -> float:
        """Lateral offset (m) at which the coupling is ``loss_db`` below its peak at that
        defocus: w sqrt((1 + (dz / 2 z_R)^2) ln(10) loss_db / 10)."""
        widening = 1.0 + (defocus / (2.0 * self.focus_depth)) ** 2
        return self.mode_field_radius * math.sqrt(widening * math.log(10) * loss_db / 10)

    def to_dict(self) -> dict[str, Any]:
        return {"optimum": list(self.optimum), "mode_field_radius": self.mode_field_radius,
                "focus_depth": self.focus_depth, "axes": dict(self.axes)}
