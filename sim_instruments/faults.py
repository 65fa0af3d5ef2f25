"""Fault injection for the simulated instruments, configured in a station's ``simulation:`` block.

```yaml
simulation:
  faults:
    - instrument: smu        # station instrument name
      kind: timeout          # timeout | disconnect | scpi_error | garbled | truncated | compliance
      at_command: 40         # fire at the 40th (matching) command ...
      # probability: 0.01    # ... or with this probability per matching command (seeded)
      match: ":READ?"        # optional: only commands containing this text count
      count: 1               # how many times the rule fires (0: no limit); default 1
      error: '-350,"Queue overflow"'   # scpi_error only: the message queued
  fault_seed: 7
```
Kinds, as a lab sees them: ``timeout`` the answer never comes; ``disconnect`` the link drops (every
I/O fails until the resource is opened again); ``scpi_error`` the command runs but an error is
queued; ``garbled`` the answer is noise; ``truncated`` the answer stops half-way; ``compliance`` the
contact opens, so a current source runs into its voltage limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("timeout", "disconnect", "scpi_error", "garbled", "truncated", "compliance")
_KEYS = {"instrument", "kind", "at_command", "probability", "match", "count", "error"}


@dataclass
class FaultRule:
    instrument: str
    kind: str
    at_command: int | None = None
    probability: float | None = None
    match: str | None = None
    count: int = 1
    error: str = '-300,"Device-specific error"'
    seen: int = 0
    fired: int = 0

    @classmethod
    def from_mapping(cls, raw: Any) -> FaultRule:
        if not isinstance(raw, dict):
            raise ValueError("each fault must be a mapping")
        unknown = set(raw) - _KEYS
        if unknown:
            raise ValueError(f"fault has unknown key(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
        if raw.get("kind") not in KINDS:
            raise ValueError(f"fault kind {raw.get('kind')!r} is not one of {list(KINDS)}")
        if not isinstance(raw.get("instrument"), str):
            raise ValueError("a fault must name its station 'instrument'")
        at, p = raw.get("at_command"), raw.get("probability")
        if (at is None) == (p is None):
            raise ValueError("a fault needs exactly one of at_command or probability")
        if at is not None and (not isinstance(at, int) or isinstance(at, bool) or at < 1):
            raise ValueError(f"fault at_command={at!r:.40} must be a whole number >= 1")
        if p is not None and (isinstance(p, bool) or not isinstance(p, (int, float))
                              or not 0 < p <= 1):
            raise ValueError(f"fault probability={p!r:.40} must be in (0, 1]")
        count = raw.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"fault count={count!r:.40} must be a whole number >= 0")
        for key in ("match", "error"):
            if key in raw and not isinstance(raw[key], str):
                raise ValueError(f"fault {key}={raw[key]!r:.40} must be a string")
        return cls(raw["instrument"], raw["kind"], at, None if p is None else float(p),
                   raw.get("match"), count, str(raw.get("error", cls.error)))

    def fires(self, command: str, rng: np.random.Generator) -> bool:
        if self.match is not None and self.match not in command:
            return False
        if self.count and self.fired >= self.count:
            return False
        self.seen += 1
        hit = (self.seen == self.at_command if self.at_command is not None
               else rng.random() < self.probability)
        self.fired += hit
        return hit


class FaultPlan:
    """All fault rules of a simulated bench, with their seeded random source."""

    def __init__(self, rules: list[FaultRule], seed: int = 0):
        self.rules, self.rng = rules, np.random.default_rng(seed)
        self.log: list[tuple[str, str, str]] = []  # (instrument, kind, command) as fired

    @classmethod
    def from_config(cls, raw: Any, seed: Any = 0) -> FaultPlan:
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise ValueError("simulation faults must be a list")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise ValueError(f"fault_seed={seed!r:.40} must be a whole number in [0, 2^63)")
        return cls([FaultRule.from_mapping(r) for r in raw], seed)

    def check(self, instrument: str, command: str) -> FaultRule | None:
        """The rule that fires on this command, if any (the first, when several do; every rule
        counts every command it matches)."""
        fired = [rule for rule in self.rules
                 if rule.instrument == instrument and rule.fires(command, self.rng)]
        if fired:
            self.log.append((instrument, fired[0].kind, command))
            return fired[0]
        return None
