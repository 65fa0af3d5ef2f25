"""``bench report``: PNG plots of every step and one self-contained HTML page per run.

Plots are drawn on matplotlib ``Figure`` objects with the Agg canvas, never through pyplot, so
making a report changes no global matplotlib state (a notebook keeps its own backend). Files stay
in SI units; axes show display units (SI prefixes, current density in A/cm^2) and say so.

Each step's plots come from its sequence's module in :mod:`bench.plots` (``bench/plots/liv.py``
for ``liv``), or from :mod:`bench.plots.generic` for a sequence without one.
"""

from __future__ import annotations

import base64
import html
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from . import __version__
from .display import format_limits, format_quantity, verdict
from .plots import generic
from .plots.axes import NO_PREFIX, Plots
from .storage import RunRecord, StepRecord, check_new_dir, now_iso, read_run


@dataclass
class Report:
    """What :func:`write_report` wrote."""

    html: Path
    plots: list[Path]


# -- the plots of a step ---------------------------------------------------------------------------
def plot_module(sequence: str) -> ModuleType:
    """``bench.plots.<sequence>`` (``pulse-response`` -> ``pulse_response``), or the generic
    module for a sequence without its own."""
    name = sequence.replace("-", "_")
    if not name.isidentifier() or name in ("axes", "generic"):
        return generic
    try:
        return importlib.import_module(f"bench.plots.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"bench.plots.{name}":
            raise
        return generic


def step_plots(step: StepRecord, sample: dict) -> Plots:
    """The plots of one step: its sequence's own, or the generic ones when the sequence has no
    plot module or its data is not what the module draws (a damaged or partial step)."""
    module = plot_module(step.sequence)
    if module is not generic:
        try:
            return module.plots(step, sample)
        except (KeyError, ValueError, TypeError, IndexError, ArithmeticError):
            pass  # not the data this sequence stores: drawn as any other arrays
    try:
        return generic.plots(step, sample)
    except (ValueError, TypeError, IndexError):  # a damaged file: its arrays make no plot
        return []


# -- the HTML page ---------------------------------------------------------------------------------
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 60em; padding: 0 1em; color: #1d1d1f; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; width: 100%; }
th, td { text-align: left; padding: 0.25em 0.6em; border-bottom: 1px solid #e4e4e4;
         vertical-align: top; overflow-wrap: anywhere; }
th { background: #f4f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.banner { background: #ffb000; color: #000; font-weight: bold; padding: 0.7em 1em;
          border-radius: 4px; font-size: 1.1em; }
.status-completed, .pass { color: #11772d; font-weight: bold; }
.status-failed, .status-aborted, .status-interrupted, .fail { color: #b00020; font-weight: bold; }
.note { color: #555; font-size: 0.9em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
code { background: #f4f4f6; padding: 0 0.2em; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    """Rows of already escaped HTML cells."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        (f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>")
        for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(status: str) -> str:
    return f'<span class="status-{_e(status.replace(" ", "-"))}">{_e(status)}</span>'


def _verdict_cell(passed: bool | None) -> str:
    text = verdict(passed)
    return f'<span class="{text.lower()}">{text}</span>' if text else ""


def _quantity(value: Any, units: str) -> str:
    if isinstance(value, list) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return ", ".join(_quantity(v, units) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _e("-" if value is None else value)
    if " " in units or units in NO_PREFIX:  # e.g. "A or V", "dB": shown as is
        return _e(f"{value:.4g} {units}")
    return _e(format_quantity(float(value), units))


def _param_units(sequence: str) -> dict[str, str]:
    """Units of a registered sequence's parameters (empty for an unknown sequence)."""
    from sequences import SEQUENCES

    cls = SEQUENCES.get(sequence)
    return {} if cls is None else {name: p.units for name, p in cls.parameters.items()}


def _metadata_html(record: RunRecord) -> str:
    a, sample = record.attrs, record.sample
    rows = [["run id", _e(record.run_id)], ["status", _status(record.status)]]
    if a.get("status_reason"):
        rows.append(["reason", _e(a["status_reason"])])
    rows += [["simulated", "yes" if a.get("simulated") else "no"],
             ["started", _e(a.get("started", ""))], ["ended", _e(a.get("ended", "") or "-")],
             ["software", _e(f"microled-bench {a.get('software_version', '')}")],
             ["run file", f"<code>{_e(record.path.name)}</code> (format "
                          f"{_e(a.get('format', ''))} v{_e(a.get('format_version', ''))})"]]
    if a.get("source_run"):
        rows.append(["source run", _e(a["source_run"])])
    sample_rows = [["id", _e(sample.get("id", ""))],
                   ["diameter", _quantity(sample.get("diameter"), "m")],
                   ["wavelength", _quantity(sample.get("wavelength"), "m")],
                   ["temperature", _quantity(sample.get("temperature"), "K")]]
    limit_units = {"current": "A", "voltage": "V", "duty": "", "ramp": "A"}
    for name, value in (sample.get("limits") or {}).items():
        if value is not None:
            units = next((u for key, u in limit_units.items() if key in name), "")
            sample_rows.append([_e(name.replace("_", " ")), _quantity(value, units)])
    return (_table(["run", ""], rows) + "<h2>Sample</h2>"
            + _table(["sample", ""], sample_rows))


def _station_html(station: dict) -> str:
    rows = [[_e(name), _e(info.get("driver", "")), _e(info.get("resource", "")),
             _e(info.get("idn", "")), "yes" if info.get("simulated") in (True, "True", 1)
             else "no", _e(info.get("note", ""))]
            for name, info in (station.get("instruments") or {}).items()]
    title = f"<p>{_e(station.get('name', ''))} <span class='note'>" \
            f"({_e(station.get('source', ''))})</span></p>"
    return title + _table(["instrument", "driver", "resource", "*IDN?", "simulated", "note"],
                          rows)


def _conditions_cell(result: dict) -> str:
    """``bias current 5 mA, current density 1.6e+03 A/cm^2``: the conditions a result was taken
    at (issue 10's ``conditions``; absent in older files)."""
    conditions = result.get("conditions")
    if not isinstance(conditions, dict):
        return ""
    return ", ".join(f"{_e(name.replace('_', ' '))} {_quantity(c.get('value'), c.get('units', ''))}"
                     for name, c in conditions.items() if isinstance(c, dict))


def _summary_html(record: RunRecord) -> str:
    with_conditions = any(r.get("conditions") for step in record.steps
                          for r in step.results.values())
    rows = []
    for step in record.steps:
        if not step.results:
            rows.append([_e(step.name), _status(step.status), _e(step.reason), "", "", ""])
        for name, r in step.results.items():
            rows.append([_e(step.name), _e(name), _quantity(r["value"], r["units"]),
                         _e(r["units"] or "1"), _e(format_limits(r)),
                         _verdict_cell(r["passed"])])
            if with_conditions:
                rows[-1].insert(3, _conditions_cell(r))
    for name, _sequence in record.not_run:
        rows.append([_e(name), _status("not run"), "an earlier step ended the run", "", "",
                     ""])
    header = ["step", "result", "value (display units)", "SI unit", "limits", "verdict"]
    if with_conditions:
        header.insert(3, "conditions")
        for row in rows:
            row.extend([""] * (len(header) - len(row)))
    return _table(header, rows, numeric=(2,))


def _step_html(step: StepRecord, images: list[tuple[str, bytes]]) -> str:
    units = _param_units(step.sequence)
    params = [[_e(name), _quantity(value, units.get(name, ""))]
              for name, value in step.params.items()]
    parts = [f'<h2 id="step-{_e(step.name)}">Step {_e(step.name)} '
             f'<span class="note">sequence {_e(step.sequence)}</span></h2>',
             f"<p>status {_status(step.status)}"
             f"{' - ' + _e(step.reason) if step.reason else ''}"
             f" <span class='note'>{_e(step.started)} to {_e(step.ended or '-')}</span></p>",
             _table(["parameter", "value"], params, numeric=(1,)) if params else ""]
    if not images:
        parts.append("<p class='note'>no data to plot was recorded for this step.</p>")
    for caption, png in images:
        parts.append(f'<figure><img src="data:image/png;base64,'
                     f'{base64.b64encode(png).decode("ascii")}" alt="{_e(caption)}">'
                     f"<figcaption>{_e(caption)}</figcaption></figure>")
    return "\n".join(parts)


def render_html(record: RunRecord, images: dict[str, list[tuple[str, bytes]]]) -> str:
    """The report page; ``images`` maps step name -> [(caption, PNG bytes)]."""
    simulated = bool(record.attrs.get("simulated"))
    banner = ('<div class="banner">SIMULATED run: every reading comes from the simulated '
              "bench, not from a chip.</div>") if simulated else ""
    toc = " | ".join(f'<a href="#step-{_e(s.name)}">{_e(s.name)}</a>' for s in record.steps)
    body = [banner, f"<h1>Run {_e(record.run_id)}</h1>",
            f"<p>steps: {toc or '<em>none</em>'}</p>", _metadata_html(record),
            "<h2>Station</h2>", _station_html(record.station),
            "<h2>Results</h2>",
            "<p class='note'>Values are shown in display units: SI prefixes (mA, mW, ...) and "
            "current density in A/cm^2; the run file holds SI units (A/m^2).</p>",
            _summary_html(record)]
    body += [_step_html(step, images.get(step.name, [])) for step in record.steps]
    body.append(f"<hr><p class='note'>report made {_e(now_iso())} by microled-bench "
                f"{_e(__version__)}</p>")
    title = f"{'[SIMULATED] ' if simulated else ''}run {record.run_id}"
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def write_report(run_path: str | Path, out_dir: str | Path | None = None, *,
                 force: bool = False) -> Report:
    """Read a run file, write one PNG per plot and ``report.html`` into ``out_dir``
    (default: ``<run file stem>_report/`` next to the run file); a directory that already holds
    a report is refused unless ``force``."""
    record = read_run(run_path)
    out = Path(out_dir) if out_dir else record.path.with_name(f"{record.path.stem}_report")
    check_new_dir(out, force=force)
    images: dict[str, list[tuple[str, bytes]]] = {}
    written: list[Path] = []
    for position, step in enumerate(record.steps):
        images[step.name] = []
        for number, (part, caption, fig) in enumerate(step_plots(step, record.sample), 1):
            path = out / f"{position:02d}_{step.name}_{number}_{_safe(part)}.png"
            fig.savefig(path, format="png")
            written.append(path)
            images[step.name].append((caption, path.read_bytes()))
    html_path = out / "report.html"
    html_path.write_text(render_html(record, images), encoding="utf-8")
    return Report(html_path, written)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:60]
