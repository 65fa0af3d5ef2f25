"""Human-readable output: engineering units for display (files stay SI), tables, progress."""

from __future__ import annotations

import math
import sys
import textwrap
import time
from typing import Any, TextIO

# units shown converted, with the factor from SI; everything else gets an SI prefix
_CONVERSIONS = {"A/m^2": ("A/cm^2", 1e-4)}
HOUR = 3600.0  # s: durations of an hour or more are shown in hours ("h")
_PREFIXES = [(1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u"),
             (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]


def format_quantity(value: float | None, units: str) -> str:
    """``0.00123, 'A'`` -> ``'1.23 mA'``; ``1e8, 'A/m^2'`` -> ``'1e+04 A/cm^2'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if units in _CONVERSIONS:
        shown, factor = _CONVERSIONS[units]
        return f"{value * factor:.4g} {shown}"
    if units in ("", "1"):
        return f"{value:.4g}"
    if units.startswith("1/"):  # a rate: 4e-06 1/s, not "4 u1/s"
        return f"{value:.4g} {units}"
    if units == "s" and abs(value) >= HOUR and math.isfinite(value):  # a stress time, a lifetime
        hours = value / HOUR
        return f"{hours:.4g} h" if abs(hours) < 1e4 else f"{hours:.0f} h"
    if units in ("dB", "dBm", "K", "%"):  # no SI prefix on logarithmic and absolute scales
        return f"{value:.4g} {units}"
    magnitude = abs(value)
    if magnitude == 0 or not math.isfinite(value):
        return f"{value:.4g} {units}"
    for factor, prefix in _PREFIXES:
        if magnitude >= factor * 0.9995:
            return f"{value / factor:.4g} {prefix}{units}"
    return f"{value:.4g} {units}"


def format_limits(result: dict[str, Any]) -> str:
    low, high = result.get("low"), result.get("high")
    if low is None and high is None:
        return ""
    units = result.get("units", "")
    return f"[{format_quantity(low, units) if low is not None else '-inf'}, " \
           f"{format_quantity(high, units) if high is not None else '+inf'}]"


def verdict(passed: bool | None) -> str:
    return "" if passed is None else ("PASS" if passed else "FAIL")


# conditions shown in other units than their SI ones: a bit rate (1/s) in bits per second
_CONDITION_UNITS = {"bit_rate": "b/s"}


def format_conditions(conditions: dict[str, dict[str, Any]] | None) -> str:
    """A result's conditions in a few words: ``{"bias_current": {"value": 5e-3, "units": "A"},
    "current_density": {...}}`` -> ``'at 5 mA, 1592 A/cm^2'``, in display units
    (:func:`format_quantity`); a condition is named (a current by what it is) when another
    one has the same units (``'at 1 Gb/s, bias 5 mA, modulation 4 mA'``)."""
    if not conditions:
        return ""
    units = {name: _CONDITION_UNITS.get(name, c["units"]) for name, c in conditions.items()}
    shared = {u for u in units.values() if list(units.values()).count(u) > 1}
    parts = [(f"{name.removesuffix('_current').replace('_', ' ')} " if units[name] in shared
              else "") + format_quantity(c["value"], units[name])
             for name, c in conditions.items()]
    return "at " + ", ".join(parts)


def results_table(steps: list[tuple[str, str, str, dict[str, dict]]],
                  notes: dict[str, str] | None = None) -> str:
    """Rows of (step, status, reason, results) as an aligned text table; a reason is wrapped
    whole over as many rows as it needs, never cut. ``notes``: a line more under a step."""
    rows = [("step", "result", "value", "conditions", "limits", "")]
    for name, status, reason, results in steps:
        for result_name, result in results.items():
            rows.append((name, result_name, format_quantity(result["value"], result["units"]),
                         format_conditions(result.get("conditions")), format_limits(result),
                         verdict(result["passed"])))
        if not results or status != "completed":
            lines = textwrap.wrap(reason, REASON_WIDTH, break_long_words=False,
                                  break_on_hyphens=False) or [""]
            rows.append((name, f"({status})", lines[0], "", "", ""))
            rows.extend(("", "", line, "", "", "") for line in lines[1:])
        if notes and notes.get(name):
            rows.append((name, "", notes[name], "", "", ""))
    return aligned(rows)


REASON_WIDTH = 60


def format_recoveries(recoveries: dict[str, dict[str, int]]) -> str:
    """``{"smu": {"retries": 2, "reopens": 1}}`` -> ``'smu: 2 retries, 1 re-open'``."""
    words = {"retries": ("retry", "retries"), "reopens": ("re-open", "re-opens"),
             "device_clears": ("device clear", "device clears")}
    parts = []
    for instrument, counts in sorted(recoveries.items()):
        said = [f"{n} {words.get(k, (k, k))[n != 1]}" for k, n in counts.items() if n]
        if said:
            parts.append(f"{instrument}: {', '.join(said)}")
    return "; ".join(parts)


def aligned(rows: list) -> str:
    """Rows of text cells as columns, the first row a heading underlined with dashes."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


class Progress:
    """Subscriber printing a progress bar per step (redrawn in place on a terminal)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30):
        # sys.stderr looked up now, not at import: it may have been redirected since
        self.stream = stream = stream if stream is not None else sys.stderr
        self.width = width
        self.total, self.name, self._last, self.detail = 1, "", 0.0, ""
        self.tty = stream.isatty()
        self._started = time.monotonic()

    def __call__(self, event: str, payload: dict[str, Any]) -> None:
        if event == "step_start":
            self.detail = ""
            self.name, self.total = payload["name"], max(int(payload["total"]), 1)
            self._started = time.monotonic()
            self._draw(0, force=True)
        elif event == "progress":
            self.detail = payload.get("detail") or ""
            self._draw(payload["done"])
        elif event == "step_end":
            recovered = format_recoveries(payload.get("recoveries") or {})
            self._draw(self.total if payload["status"] == "completed" else 0, force=True,
                       end=f" {payload['status']}"
                           f"{'  (fault policy: ' + recovered + ')' if recovered else ''}\n")

    def _draw(self, done: int, force: bool = False, end: str = "") -> None:
        now = time.monotonic()
        if not force and (now - self._last < 0.1 or not self.tty):
            return
        self._last = now
        fraction = min(done / self.total, 1.0)
        filled = int(round(fraction * self.width))
        elapsed = now - self._started
        left = f", ~{elapsed / done * (self.total - done):.0f}s left" \
            if 0 < done < self.total and not end else ""
        line = (f"{self.name:<16} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{done}/{self.total} {elapsed:5.1f}s{left}"
                + (f"  {self.detail}" if self.detail else ""))
        self.stream.write(("\r" if self.tty else "") + line + (end or ("" if self.tty else "\n")))
        self.stream.flush()
