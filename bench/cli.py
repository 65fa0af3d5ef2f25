"""The ``bench`` command: run, show, station (and replay/report, see ``bench --help``).

Errors a user can cause end with one line on stderr and a non-zero exit, never a traceback:
exit 2 for input refused (files, names, limits, output paths), 1 for a run that failed, aborted or
failed a limit, 130 when interrupted (Ctrl-C, SIGTERM). Heavy modules (h5py, pyvisa, the
simulator, scipy, matplotlib) are imported by the commands that use them, so that ``bench --help``
answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import BenchError, RunFileError, StationError

if TYPE_CHECKING:
    from .recipe import Recipe
    from .station import StationConfig

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _resume_plan(args) -> tuple[StationConfig, Recipe]:
    """Station and recipe of an interrupted run, for ``bench run --resume RUN.h5``."""
    from .recipe import parse_recipe
    from .station import StationConfig
    from .storage import read_run

    if args.target or args.output:
        raise BenchError("--resume takes the run file only (no recipe, no -o)")
    record = read_run(args.resume, arrays=False)
    if record.status in ("completed", "running"):
        raise BenchError(f"{args.resume}: the run is {record.status}; nothing to resume")
    if args.station:
        station = StationConfig.load(args.station)
    elif "config" in record.station:
        station = StationConfig.from_mapping(record.station["config"], source=str(args.resume))
    else:
        raise BenchError(f"{args.resume} does not hold its station file: give --station")
    return station, parse_recipe(record.recipe)


_SAMPLE_FLAGS = {"sample_id": "--sample-id", "diameter": "--diameter",
                 "wavelength": "--wavelength", "max_current": "--max-current",
                 "max_voltage": "--max-voltage"}


def _is_recipe_file(target: str) -> bool:
    return Path(target).suffix in (".yaml", ".yml") or Path(target).exists()


def _sample_from_flags(args, station: StationConfig) -> dict[str, Any] | None:
    """The sample of ``bench run SEQUENCE`` (None for a recipe file, which gives its own): the
    built-in default sample only on a fully simulated bench; with any real instrument every
    sample flag must be given."""
    given = {key: getattr(args, key) for key in _SAMPLE_FLAGS
             if getattr(args, key, None) is not None}
    if _is_recipe_file(args.target):
        if given:
            raise BenchError(f"{', '.join(_SAMPLE_FLAGS[k] for k in given)}: the recipe file "
                             f"gives the sample; these flags are for bench run SEQUENCE")
        return None
    simulated = args.sim or all(i.simulated for i in station.instruments.values())
    missing = [flag for key, flag in _SAMPLE_FLAGS.items() if key not in given]
    if missing and not simulated:
        raise BenchError(f"{args.target} on real instruments needs the sample: give a recipe "
                         f"file, or {' '.join(f'{f} ...' for f in _SAMPLE_FLAGS.values())} "
                         f"(missing {' '.join(missing)})")
    from .recipe import default_sample

    sample = default_sample(station.simulation)
    sample["id"] = given.get("sample_id", sample["id"])
    sample.update({key: given[key] for key in ("diameter", "wavelength") if key in given})
    sample["limits"].update({key: given[key] for key in ("max_current", "max_voltage")
                             if key in given})
    return sample


def cmd_run(args) -> int:
    from .display import Progress
    from .recipe import load_recipe
    from .station import StationConfig

    if args.resume:
        station, recipe = _resume_plan(args)
    elif not args.target:
        raise BenchError("bench run needs a recipe file or a sequence name (or --resume RUN.h5)")
    else:
        station = StationConfig.load(args.station)
        recipe = load_recipe(args.target, sample=_sample_from_flags(args, station))
    from .runner import Runner
    from .storage import check_new_file

    subscribers = [] if args.quiet else [Progress()]
    runner = Runner(station, recipe, args.resume or args.output, force_sim=args.sim,
                    subscribers=subscribers, resume=bool(args.resume),
                    record_io=False if args.no_record_io else None, force=args.force)
    if not args.resume:  # -o or the default runs/<run id>.h5, before anything is opened
        check_new_file(runner.path, force=args.force)
    runner.check()  # the whole plan, before anything is written or opened
    simulated = runner.force_sim or all(i.simulated for i in station.instruments.values())
    if simulated:
        print(f"SIMULATED bench ({station.source}): no hardware is driven", file=sys.stderr)
    _StartUpInterrupt.honour()  # the runner holds and handles signals from here on
    outcome = runner.run()
    interrupted = outcome.status == "aborted" and _by_signal(outcome.reason)
    if not runner.steps_started and (outcome.status == "failed" or interrupted):
        # nothing ran (an instrument could not be opened, or Ctrl-C while the station opened)
        kept = f"; {outcome.path} records it ({outcome.status}), no step ran" \
            if Path(outcome.path).exists() else ""
        print(f"bench: {'interrupted' if interrupted else 'error'}: {outcome.reason}{kept}",
              file=sys.stderr)
        return EXIT_INTERRUPTED if interrupted else EXIT_USAGE
    print(f"\nrun {outcome.run_id}  status: {outcome.status}"
          f"{'  (SIMULATED)' if outcome.simulated else ''}"
          f"{'  - ' + outcome.reason if outcome.reason else ''}")
    _print_steps(outcome)
    print(f"\nrun file: {outcome.path}")
    if args.report:
        from .report import write_report  # matplotlib loads only for reports

        print(f"report: {write_report(outcome.path, None).html}")
    failed = any(r["passed"] is False for s in outcome.steps for r in s.results.values())
    if outcome.status != "completed":
        print(f"resume with: bench run --resume {outcome.path}")
        return EXIT_INTERRUPTED if interrupted else EXIT_FAIL
    if failed or any(s.status != "completed" for s in outcome.steps):
        return EXIT_FAIL
    return EXIT_OK


def _by_signal(reason: str) -> bool:
    return "Ctrl-C" in reason or "SIGTERM" in reason


def _print_steps(outcome) -> None:
    """Every step of the run as its file holds it (after a resume the earlier ones too, and the
    steps that never ran); from the outcome if the file cannot be read."""
    from .display import results_table

    try:
        summary = run_summary(outcome.path)
    except RunFileError:
        print(results_table([(s.name, s.status, s.reason, s.results) for s in outcome.steps]))
        return
    print(_steps_table(summary["steps"]))


def _steps_table(steps: list[dict[str, Any]]) -> str:
    """The aligned table of ``run_summary`` steps, with the fault policy's recoveries."""
    from .display import format_recoveries, results_table

    return results_table(
        [(s["name"], s["status"], s["reason"],
          {n: {**r, "value": float("nan") if r["value"] is None else r["value"]}
           for n, r in s["results"].items()}) for s in steps],
        notes={s["name"]: f"fault policy: {format_recoveries(s['recoveries'])}"
               for s in steps if format_recoveries(s.get("recoveries") or {})})


def run_summary(path) -> dict[str, Any]:
    """The ``bench show --json`` document (values in SI units). Steps that never ran (an earlier
    one aborted the run) are listed with status ``not run``."""
    from .storage import read_run

    record = read_run(path, arrays=False)
    status = record.status
    instruments = {name: {key: info.get(key) for key in ("driver", "resource", "idn",
                                                          "simulated", "note")}
                   for name, info in record.station.get("instruments", {}).items()}
    steps = [{"name": s.name, "sequence": s.sequence, "status": s.status,
              "reason": s.reason, "params": s.params, "recoveries": s.recoveries,
              "results": {n: {"value": _json_number(r["value"]),
                              "units": r["units"], "passed": r["passed"],
                              "low": r["low"], "high": r["high"],
                              "conditions": {c: {"value": _json_number(v["value"]),
                                                 "units": v["units"]}
                                             for c, v in r.get("conditions", {}).items()}}
                          for n, r in s.results.items()}}
             for s in record.steps]
    steps += [{"name": name, "sequence": sequence, "status": "not run",
               "reason": "an earlier step ended the run" if status != "running" else "",
               "params": {}, "recoveries": {}, "results": {}}
              for name, sequence in record.not_run]
    return {
        "run_id": record.run_id, "status": status,
        "simulated": bool(record.attrs.get("simulated", False)),
        "reason": record.attrs.get("status_reason", ""),
        "started": record.attrs.get("started", ""), "ended": record.attrs.get("ended", ""),
        "software_version": record.attrs.get("software_version", ""),
        "sample": record.sample,
        "instruments": instruments,
        "steps": steps,
    }


def _json_number(value: float) -> float | None:
    """A stored number for JSON: NaN (no value) becomes null."""
    return None if math.isnan(value) else value


def cmd_check(args) -> int:
    """``bench check RECIPE``: the whole plan checked, nothing opened; exit 0, or 2 with one
    line per problem."""
    from .plan import check_recipe, format_plan
    from .recipe import load_recipe
    from .station import StationConfig

    station = StationConfig.load(args.station)
    flags = argparse.Namespace(target=args.recipe, sim=args.sim,
                               **{key: None for key in _SAMPLE_FLAGS})
    recipe = load_recipe(args.recipe, sample=_sample_from_flags(flags, station))
    plan = check_recipe(recipe, station, force_sim=args.sim)
    for notice in plan.notices:
        print(f"note: {notice}", file=sys.stderr)
    print(format_plan(plan))
    problems = plan.all_problems(args.force)
    for problem in problems:
        print(f"bench: refused: {problem}", file=sys.stderr)
    return EXIT_USAGE if problems else EXIT_OK


def cmd_show(args) -> int:
    summary = run_summary(args.run)
    if args.json:
        import json

        print(json.dumps(summary, indent=2))
        return EXIT_OK
    from .display import format_quantity

    sample = summary["sample"]
    print(f"run {summary['run_id']}  status: {summary['status']}"
          f"{'  (SIMULATED)' if summary['simulated'] else ''}"
          f"{'  - ' + summary['reason'] if summary['reason'] else ''}")
    print(f"started {summary['started']}  ended {summary['ended'] or '-'}  "
          f"software {summary['software_version']}")
    print(f"sample {sample.get('id')}: "
          f"diameter {format_quantity(_number(sample.get('diameter')), 'm')}, "
          f"wavelength {format_quantity(_number(sample.get('wavelength')), 'm')}")
    for name, info in summary["instruments"].items():
        kind = "SIMULATED" if info["simulated"] else "real"
        note = str(info["note"] or "")
        fallback = note if "FALLBACK" in note else ""
        print(f"  {name:<14} {info['driver']!s:<20} {kind:<9} {info['idn']}"
              f"{'  [' + fallback + ']' if fallback else ''}")
    print(_steps_table(summary["steps"]))
    return EXIT_OK


def _number(value: Any) -> float | None:
    """A stored value shown as a number only if it is one (a damaged file may hold anything)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def cmd_report(args) -> int:
    from .report import write_report  # matplotlib loads only for reports

    report = write_report(args.run, args.output, force=args.force)
    print(f"report: {report.html} ({len(report.plots)} plots)")
    return EXIT_OK


def cmd_export(args) -> int:
    """``bench export RUN.h5``: the results and every step's arrays as CSV or Parquet tables."""
    from .export import EXCEL_ROWS, export_run  # pandas loads only here

    written, skipped = export_run(args.run, args.output, fmt=args.format, force=args.force)
    print(f"export: {written[0][0].parent} ({len(written)} tables, {args.format})")
    for path, table in written:
        rows, columns = table.frame.shape
        excel = "  (more rows than an Excel sheet holds)" \
            if args.format == "csv" and rows + 1 > EXCEL_ROWS else ""
        print(f"  {path.name:<44} {rows:>8} rows x {columns:<3} {table.holds}{excel}")
    for array in skipped:
        print(f"  not exported (more than two dimensions; in the run file): {array}")
    return EXIT_OK


def cmd_campaign(args) -> int:
    """``bench campaign DIR...``: every run file under the folders as one table, a row per step
    (bench/campaign.py), and a second table of the files skipped with their reasons."""
    from .storage import check_new_file

    if args.workers < 1:
        raise BenchError(f"--workers {args.workers}: must be at least 1")
    if args.format == "parquet":
        try:
            import pyarrow  # noqa: F401  (the engine, asked before anything is read)
        except ImportError:
            raise BenchError("--format parquet needs pyarrow: pip install "
                             "'microled-bench[parquet]' (or --format csv)") from None
    output = Path(args.output or f"campaign.{args.format}")
    skipped_path = output.with_name(f"{output.stem}_skipped{output.suffix}")
    changes_path = output.with_name(f"{output.stem}_changes{output.suffix}")
    plot_path = output.with_name(f"{output.stem}_plot.png")
    for path in (output, skipped_path) + ((changes_path,) if args.reanalyse else ()) + \
            ((plot_path,) if args.plot else ()):
        check_new_file(path, force=args.force, what="campaign table")
    if args.by and not args.plot:
        raise BenchError("--by groups the points of --plot X Y; give --plot too")
    from .campaign import Progress, collect, plot, reanalyse_all

    progress = None if args.quiet else Progress()
    tables = []
    if args.reanalyse:
        redone = reanalyse_all(args.folders, args.reanalyse, workers=args.workers,
                               scheduler=args.scheduler, where=args.where, force=args.force,
                               progress=progress)
        result = redone.campaign
        tables.append((changes_path, redone.changes))
    else:
        result = collect(args.folders, workers=args.workers, scheduler=args.scheduler,
                         where=args.where, progress=progress)
    tables += [(output, result.table), (skipped_path, result.skipped_frame())]
    for path, frame in tables:
        if args.format == "csv":
            frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        else:
            frame.to_parquet(path, index=False)
    for _path, reason in result.skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    runs = result.table["run_id"].nunique() if len(result.table) else 0
    print(f"campaign: {output} ({len(result.table)} steps of {runs} runs"
          f"{', where ' + args.where if args.where else ''}); "
          f"{len(result.skipped)} files skipped, listed in {skipped_path}")
    if args.reanalyse:
        changed = redone.changes[redone.changes["changed"]]
        print(f"re-analysed into {args.reanalyse} (originals untouched): {len(changed)} results "
              f"changed in {changed['file'].nunique()} runs, listed in {changes_path}")
    if args.plot:  # after the tables: a mistyped column does not cost the campaign's reading
        plot(result.table, *args.plot, by=args.by).savefig(plot_path, format="png")
        print(f"plot: {plot_path}")
    return EXIT_OK


def cmd_replay(args) -> int:
    from .display import Progress
    from .storage import read_run

    if args.lenient and not args.instruments:
        raise BenchError("--lenient applies to replay --instruments only")
    read_run(args.run, arrays=False)  # refused here, before the output is looked at
    from .replay import format_report, reanalyse, replay_instruments

    if args.instruments:
        report = replay_instruments(args.run, args.output, strict=not args.lenient,
                                    subscribers=[] if args.quiet else [Progress()],
                                    force=args.force)
        how = "re-executed against its instrument I/O record"
    else:
        report = reanalyse(args.run, args.output, force=args.force)
        how = "re-analysed from its raw data with the current code"
    print(f"run {report.source.run_id} {how}")
    print(format_report(report))
    if report.output is not None:
        print(f"\nnew run file: {report.output} (source run {report.source.run_id})")
    print("identical to the stored run" if report.identical else "differs from the stored run")
    return EXIT_OK if report.identical else EXIT_FAIL


def cmd_station(args) -> int:
    from .station import Station, StationConfig

    config = StationConfig.load(args.station)
    if args.scan:
        return _scan(config, args.sim)
    print(f"station: {config.name} ({config.source})")
    with Station(config, force_sim=args.sim) as station:
        for name, inst in station.instruments.items():
            kind = "SIMULATED" if inst.simulated else "real"
            print(f"  {name:<14} {inst.config.driver:<16} {kind:<9} {inst.config.resource}")
            print(f"  {'':<14} *IDN? {inst.driver.idn}"
                  f"{'  [' + inst.note + ']' if inst.note else ''}")
    return EXIT_OK


def _scan(config, simulated: bool) -> int:
    """``bench station --scan``: every resource the VISA library lists (with ``--sim``, the
    simulated library holding the station's VISA instruments), its *IDN? and the drivers that
    match it; only *IDN? is sent, with a bounded timeout per resource."""
    import pyvisa

    from .identify import IDN_TIMEOUT_MS, scan

    if simulated:
        from sim_instruments.backend import SimulatedWorld, open_simulated_bench

        visa = {c.resource: c.driver for c in config.instruments.values()
                if not c.serial and c.driver != "auto"}
        manager = open_simulated_bench(visa, SimulatedWorld.from_config(config.simulation,
                                                                        config.setup))
        print("scanning the SIMULATED VISA library of the station's instruments")
    else:
        try:
            manager = pyvisa.ResourceManager()
        except (ValueError, OSError) as exc:
            raise StationError(f"no VISA library to scan: {exc}") from None
        print(f"scanning VISA library {manager.visalib.library_path} "
              f"(*IDN? only, {IDN_TIMEOUT_MS / 1000:g} s per resource)")
    try:
        found, notes = scan(manager)
    finally:
        manager.close()
    for item in found:
        if item.problem:
            print(f"  {item.resource:<44} no answer: {item.problem}")
            continue
        proposal = " or ".join(item.drivers) if item.drivers else "no driver matches"
        print(f"  {item.resource:<44} {item.idn}\n  {'':<44} driver: {proposal}")
    if not found:
        print("  (no resources)")
    for note in notes:
        print(f"note: {note}")
    return EXIT_OK


def cmd_sequences(args) -> int:
    """List the sequences, or one sequence's roles, parameters (defaults, SI units) and results
    (units, definition, conditions)."""
    from sequences import SEQUENCES, get_sequence

    if args.name is None:
        for name, sequence in sorted(SEQUENCES.items()):
            print(f"{name:<16} {sequence.summary}")
        return EXIT_OK
    sequence = get_sequence(args.name)
    print(f"{sequence.name}: {sequence.summary}")
    roles = [f"{r} ({p.__name__})" for r, p in sequence.roles.items()]
    roles += [f"{r} ({p.__name__}, optional)" for r, p in sequence.optional_roles.items()]
    print(f"roles: {', '.join(roles)}")
    print("parameters (default, SI units):")
    for name, spec in sequence.parameters.items():
        choices = f" one of {list(spec.choices)}" if spec.choices else ""
        default = f"{spec.default:g}" if isinstance(spec.default, float) else str(spec.default)
        print(f"  {name:<20} {default:<10} {spec.units:<6} {spec.doc}{choices}")
    if sequence.results:
        print("results (SI units; definition; the conditions each one carries):")
        width = max(map(len, sequence.results))
        for name, result in sequence.results.items():
            at = f" [at {', '.join(result.conditions)}]" if result.conditions else ""
            print(f"  {name:<{width}} {result.units or '1':<6} {result.definition}{at}")
    return EXIT_OK


class _Version(argparse.Action):
    """``--version``, read from the installed metadata only when asked."""

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        print(f"microled-bench {__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="Micro LED test bench controller")
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a recipe file or one built-in sequence")
    run.add_argument("target", nargs="?",
                     help="recipe YAML, or a sequence name with its defaults (bench sequences)")
    run.add_argument("--resume", metavar="RUN.h5",
                     help="continue an interrupted run from its first unfinished step")
    run.add_argument("--station", help="station YAML (default: the built-in simulated bench)")
    run.add_argument("--sim", action="store_true", help="simulate every instrument")
    run.add_argument("-o", "--output", help="run file to write (default runs/<run id>.h5)")
    run.add_argument("--force", action="store_true",
                     help="overwrite an existing -o file; run despite implausible sample values "
                     "(almost certainly unit mistakes)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.add_argument("--report", action="store_true",
                     help="write the plots and HTML page next to the run file when it ends")
    run.add_argument("--no-record-io", action="store_true",
                     help="do not keep the instrument I/O record (the station's record_io: false)")
    _add_sample_flags(run)
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="check a whole recipe against the station before "
                           "anything moves; print each step's plan (exit 2 on any problem)")
    check.add_argument("recipe", help="recipe YAML, or a sequence name with its defaults")
    check.add_argument("--station", help="station YAML (default: the built-in simulated bench)")
    check.add_argument("--sim", action="store_true", help="as if every instrument were simulated")
    check.add_argument("--force", action="store_true",
                       help="accept implausible sample values (almost certainly unit mistakes)")
    check.set_defaults(func=cmd_check)

    show = sub.add_parser("show", help="summarise a run file")
    show.add_argument("run", help="run file (.h5)")
    show.add_argument("--json", action="store_true", help="machine-readable, SI units")
    show.set_defaults(func=cmd_show)

    report = sub.add_parser("report", help="PNG plots and an HTML page of a run file")
    report.add_argument("run", help="run file (.h5)")
    report.add_argument("-o", "--output", help="directory (default <run file stem>_report/ "
                        "next to the run file)")
    report.add_argument("--force", action="store_true",
                        help="overwrite a report already in the directory")
    report.set_defaults(func=cmd_report)

    export = sub.add_parser("export", help="the results and every step's arrays as tables "
                            "(CSV or Parquet) for pandas, Excel and Origin")
    export.add_argument("run", help="run file (.h5); only read")
    export.add_argument("-o", "--output", help="directory (default <run file stem>_export/ "
                        "next to the run file)")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="csv (UTF-8, a header row; default) or parquet (needs pyarrow)")
    export.add_argument("--force", action="store_true", help="overwrite tables already there")
    export.set_defaults(func=cmd_export)

    campaign = sub.add_parser("campaign", help="every run file under some folders as one table, "
                              "a row per step, read in parallel on Dask")
    campaign.add_argument("folders", nargs="+", metavar="DIR", help="folders searched for *.h5 "
                          "(recursively); only read")
    campaign.add_argument("-o", "--output", help="table to write (default campaign.parquet or "
                          ".csv); the skipped files go to <stem>_skipped beside it")
    campaign.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                          help="parquet (default; needs pyarrow) or csv")
    where = campaign.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=2, help="local Dask worker processes "
                       "(default 2); 1 reads in this process without Dask")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="an existing Dask scheduler, e.g. tcp://127.0.0.1:8786")
    campaign.add_argument("--where", metavar="EXPR", help="keep the rows for which this pandas "
                          "query holds; results also by bare name, e.g. "
                          "\"sequence == 'liv' and peak_eqe > 0.2\"")
    campaign.add_argument("--reanalyse", metavar="OUTDIR", help="re-run each step's analysis "
                          "with the current code on the stored raw data, writing new files "
                          "under OUTDIR/<folder name>/ (originals untouched); the table is of "
                          "the new files, <stem>_changes lists what changed")
    campaign.add_argument("--plot", nargs=2, metavar=("X", "Y"), help="draw Y against X into "
                          "<stem>_plot.png: a scatter (X numbers), a box or yield per value (X "
                          "text), a map (X die coordinates [column, row])")
    campaign.add_argument("--by", metavar="COLUMN", help="with --plot: a series per value")
    campaign.add_argument("--force", action="store_true",
                          help="overwrite existing tables (and re-analysed files)")
    campaign.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    campaign.set_defaults(func=cmd_campaign)

    replay = sub.add_parser("replay", help="re-analyse a run file, or re-execute it against its "
                            "I/O record; exit 1 if anything differs from the stored run")
    replay.add_argument("run", help="run file (.h5); only read, never modified")
    replay.add_argument("--instruments", action="store_true",
                        help="re-execute the recipe with the drivers answered from the record")
    replay.add_argument("--lenient", action="store_true",
                        help="with --instruments: report differing commands, do not stop")
    replay.add_argument("-o", "--output", help="write a new run file (names its source run)")
    replay.add_argument("--force", action="store_true", help="overwrite an existing -o file")
    replay.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    replay.set_defaults(func=cmd_replay)

    sequences = sub.add_parser("sequences", help="list the sequences, or show one's parameters")
    sequences.add_argument("name", nargs="?", help="a sequence name")
    sequences.set_defaults(func=cmd_sequences)

    station = sub.add_parser("station", help="identify every instrument of a station")
    station.add_argument("--station", help="station YAML (default: the built-in simulated bench)")
    station.add_argument("--sim", action="store_true", help="simulate every instrument")
    station.add_argument("--scan", action="store_true",
                         help="list the resources the VISA library sees, their *IDN? and the "
                              "matching driver (serial ports are not probed)")
    station.set_defaults(func=cmd_station)
    return parser


def _add_sample_flags(run: argparse.ArgumentParser) -> None:
    """``bench run SEQUENCE`` on real instruments: the sample, SI units."""
    run.add_argument("--sample-id", help="sample id (bench run SEQUENCE)")
    run.add_argument("--diameter", type=float, help="sample diameter, m")
    run.add_argument("--wavelength", type=float, help="sample emission wavelength, m")
    run.add_argument("--max-current", type=float, help="sample limit max_current, A")
    run.add_argument("--max-voltage", type=float, help="sample limit max_voltage, V")


class _StartUpInterrupt:
    """SIGINT while a run starts up (imports, reading its input, checking its plan): kept and
    raised at :meth:`honour`, just before the run. Raised at once, a Ctrl-C landing inside an
    import's clean-up callback is swallowed by Python, which prints a traceback and goes on."""

    pending = False

    @classmethod
    def install(cls) -> None:
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(signal.SIGINT, cls._keep)

    @classmethod
    def _keep(cls, signum, frame) -> None:
        cls.pending = True

    @classmethod
    def honour(cls) -> None:
        """Ctrl-C acts at once from here on; one that came during start-up ends the command."""
        with contextlib.suppress(ValueError):
            if signal.getsignal(signal.SIGINT) == cls._keep:
                signal.signal(signal.SIGINT, signal.default_int_handler)
        if cls.pending:
            cls.pending = False
            raise KeyboardInterrupt


def script() -> None:
    """The console script (and ``python -m bench``): :func:`main`, then exit with its code."""
    _StartUpInterrupt.install()
    code = main()
    with contextlib.suppress(ValueError):  # the command is over: a Ctrl-C now changes nothing
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    storage = sys.modules.get("bench.storage")
    if storage is not None and storage.abandoned():  # a run file failed a write (disk full)
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)  # HDF5's clean-up at exit would crash on that file
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run one command; every way it can end is one exit code (module docstring)."""
    try:
        args = build_parser().parse_args(argv)
        if args.func is not cmd_run:  # only a run defers a start-up Ctrl-C (to its start)
            _StartUpInterrupt.honour()
        return args.func(args)
    except BenchError as exc:
        return _fail(f"bench: error: {exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("bench: interrupted (Ctrl-C)", EXIT_INTERRUPTED)
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        with _quiet_signals():
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except RecursionError:
        return _fail("bench: error: input nested too deeply", EXIT_USAGE)
    except MemoryError:
        return _fail("bench: error: out of memory reading the input", EXIT_USAGE)
    except OSError as exc:  # a file system problem not foreseen by the commands' checks
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(f"bench: error: {exc.strerror or exc}{where}", EXIT_USAGE)


def _fail(line: str, code: int) -> int:
    """Print the one closing line, deaf to a second Ctrl-C or a closed stderr."""
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)  # one line, always
    with _quiet_signals():
        try:
            print(line, file=sys.stderr)
        except (OSError, ValueError):
            pass
    return code


class _quiet_signals:
    """Ctrl-C ignored while the closing line is written."""

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread
            self._previous = None

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


if __name__ == "__main__":
    script()
