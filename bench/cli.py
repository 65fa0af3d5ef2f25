"""The ``bench`` command: run, show, station (and replay/report, see ``bench --help``).

Errors a user can cause end with one line on stderr and a non-zero exit, never a traceback:
exit 2 for bad input (files, names, limits), 1 for a run that failed, aborted or failed a limit.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from . import __version__
from .display import Progress, format_quantity, results_table
from .errors import BenchError
from .recipe import DEFAULT_LIMITS, load_recipe
from .runner import Runner
from .station import Station, StationConfig
from .storage import read_run

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _default_sample(station: StationConfig) -> dict[str, Any]:
    """The sample for ``bench run SEQUENCE``: the simulated chip's geometry when there is one."""
    from sim_instruments.chip import ChipParameters

    chip = ChipParameters.from_mapping((station.simulation or {}).get("chip") or {})
    return {"id": "default-sample", "diameter": chip.diameter, "wavelength": chip.wavelength,
            "temperature": chip.ambient_temperature, "limits": dict(DEFAULT_LIMITS)}


def cmd_run(args) -> int:
    station = StationConfig.load(args.station)
    recipe = load_recipe(args.target, default_sample=_default_sample(station))
    subscribers = [] if args.quiet else [Progress()]
    runner = Runner(station, recipe, args.output, force_sim=args.sim, subscribers=subscribers)
    simulated = args.sim or all(i.simulated for i in station.instruments.values())
    if simulated:
        print(f"SIMULATED bench ({station.source}): no hardware is driven", file=sys.stderr)
    outcome = runner.run()
    print(f"\nrun {outcome.run_id}  status: {outcome.status}"
          f"{'  (SIMULATED)' if outcome.simulated else ''}"
          f"{'  - ' + outcome.reason if outcome.reason else ''}")
    print(results_table([(s.name, s.status, s.reason, s.results) for s in outcome.steps]))
    print(f"\nrun file: {outcome.path}")
    failed = any(r["passed"] is False for s in outcome.steps for r in s.results.values())
    if outcome.status != "completed" or failed or any(s.status != "completed"
                                                      for s in outcome.steps):
        return EXIT_FAIL
    return EXIT_OK


def run_summary(path) -> dict[str, Any]:
    """The ``bench show --json`` document (values in SI units)."""
    record = read_run(path)
    status = record.status
    return {
        "run_id": record.run_id, "status": status, "simulated": bool(record.attrs["simulated"]),
        "reason": record.attrs.get("status_reason", ""),
        "started": record.attrs.get("started", ""), "ended": record.attrs.get("ended", ""),
        "software_version": record.attrs.get("software_version", ""),
        "sample": record.sample,
        "steps": [{"name": s.name, "sequence": s.sequence, "status": s.status,
                   "reason": s.reason, "params": s.params,
                   "results": {n: {"value": None if math.isnan(r["value"]) else r["value"],
                                   "units": r["units"], "passed": r["passed"],
                                   "low": r["low"], "high": r["high"]}
                               for n, r in s.results.items()}}
                  for s in record.steps],
    }


def cmd_show(args) -> int:
    summary = run_summary(args.run)
    if args.json:
        print(json.dumps(summary, indent=2))
        return EXIT_OK
    sample = summary["sample"]
    print(f"run {summary['run_id']}  status: {summary['status']}"
          f"{'  (SIMULATED)' if summary['simulated'] else ''}"
          f"{'  - ' + summary['reason'] if summary['reason'] else ''}")
    print(f"started {summary['started']}  ended {summary['ended'] or '-'}  "
          f"software {summary['software_version']}")
    print(f"sample {sample.get('id')}: diameter {format_quantity(sample.get('diameter'), 'm')}, "
          f"wavelength {format_quantity(sample.get('wavelength'), 'm')}")
    print(results_table([(s["name"], s["status"], s["reason"],
                          {n: {**r, "value": float("nan") if r["value"] is None else r["value"]}
                           for n, r in s["results"].items()})
                         for s in summary["steps"]]))
    return EXIT_OK


def cmd_station(args) -> int:
    config = StationConfig.load(args.station)
    print(f"station: {config.name} ({config.source})")
    with Station(config, force_sim=args.sim) as station:
        for name, inst in station.instruments.items():
            kind = "SIMULATED" if inst.simulated else "real"
            print(f"  {name:<14} {inst.config.driver:<16} {kind:<9} {inst.config.resource}")
            print(f"  {'':<14} *IDN? {inst.driver.idn}"
                  f"{'  [' + inst.note + ']' if inst.note else ''}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="Micro LED test bench controller")
    parser.add_argument("--version", action="version", version=f"microled-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a recipe file or one built-in sequence")
    run.add_argument("target", help="recipe YAML, or a sequence name (liv, iv) with defaults")
    run.add_argument("--station", help="station YAML (default: the built-in simulated bench)")
    run.add_argument("--sim", action="store_true", help="simulate every instrument")
    run.add_argument("-o", "--output", help="run file to write (default runs/<run id>.h5)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    show = sub.add_parser("show", help="summarise a run file")
    show.add_argument("run", help="run file (.h5)")
    show.add_argument("--json", action="store_true", help="machine-readable, SI units")
    show.set_defaults(func=cmd_show)

    station = sub.add_parser("station", help="identify every instrument of a station")
    station.add_argument("--station", help="station YAML (default: the built-in simulated bench)")
    station.add_argument("--sim", action="store_true", help="simulate every instrument")
    station.set_defaults(func=cmd_station)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
