"""``python -m neighbourhood``: the analysts' scripted path (DESIGN.md, "Command line").

Commands: ``demo``, ``ingest``, ``metrics``, ``compare``, ``evaluate``, ``log``, ``undo``,
``remap``, ``profiles``. Human-readable lines go to stderr; the one-line JSON summary is printed
last on stdout. Exit codes: 0 accepted (rejected rows are listed, not fatal), 2 refused (a file,
an undo, a busy or missing store: the store is unchanged), 3 a file was read but no row of it
could be stored (every row rejected), 1 unexpected error (set ``NEIGHBOURHOOD_DEBUG=1`` for the
traceback).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_REFUSED = 2
EXIT_NOTHING_STORED = 3
REJECTS_SHOWN = 20


def _err(message: str = "") -> None:
    print(message, file=sys.stderr, flush=True)


def _emit(summary: dict[str, Any]) -> None:
    sys.stdout.flush()
    print(json.dumps(summary, default=_json_default, ensure_ascii=False), flush=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


class _Parser(argparse.ArgumentParser):
    """argparse that still prints the JSON summary last on a usage error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        _err(f"{self.prog}: error: {message}")
        _emit({"status": "usage_error", "message": message})
        raise SystemExit(EXIT_REFUSED)


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``).

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> build_parser().parse_args(["log"]).command
    'log'
    """
    from neighbourhood.schemas import KINDS

    parser = _Parser(prog="python -m neighbourhood", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    store_help = "store folder (default: $NEIGHBOURHOOD_STORE or data/store/)"

    demo = sub.add_parser(
        "demo", help="build the bundled synthetic demo data set into the demo's own store"
    )
    demo.add_argument(
        "--store",
        help="demo store folder (default: $NEIGHBOURHOOD_DEMO_STORE or data/demo-store/; never "
        "the council's store)",
    )
    demo.add_argument("--wards", type=Path, help="use this ward boundary file instead")
    demo.add_argument("--seed", type=int, default=None, help="random seed (default 2024)")
    demo.add_argument("--cases", type=int, default=None, help=argparse.SUPPRESS)
    demo.set_defaults(func=cmd_demo)

    ingest = sub.add_parser("ingest", help="load one or more extracts, one transaction each")
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE")
    ingest.add_argument("--kind", required=True, choices=KINDS)
    ingest.add_argument("--store", help=store_help)
    ingest.add_argument("--rejects", type=Path, metavar="OUT.csv", help="write rejected rows")
    ingest.add_argument(
        "--date-format",
        metavar="dayfirst|monthfirst|iso|FMT",
        help="how dates are written (default: day-first, detected)",
    )
    ingest.add_argument("--encoding", metavar="E", help="text encoding (default: detected)")
    ingest.add_argument(
        "--map",
        action="append",
        default=[],
        metavar='"COLUMN=field"',
        help='say which field a column holds, e.g. --map "Ref No=case reference" (or '
        '"COLUMN=ignore"); repeat for more columns',
    )
    ingest.add_argument(
        "--profile", metavar="NAME", help="apply a saved column mapping profile from the store"
    )
    ingest.add_argument(
        "--save-profile",
        metavar="NAME",
        help="save this load's column mapping (--profile and --map) under NAME for next time",
    )
    ingest.add_argument("--actor", default=None, help="who is loading (default: your user name)")
    ingest.add_argument(
        "--boundary-set", metavar="NAME", help="--kind wards: name of the boundary set"
    )
    ingest.set_defaults(func=cmd_ingest)

    metrics = sub.add_parser("metrics", help="the ward × period table")
    metrics.add_argument("--store", help=store_help)
    metrics.add_argument("--period", choices=("month", "quarter", "year"), default="month")
    metrics.add_argument("--out", type=Path, metavar="FILE.csv", help="write the table as CSV")
    metrics.add_argument(
        "--unsuppressed",
        action="store_true",
        help="exact enforcement counts (for analysts; the file says so): by default counts "
        "from 1 to 4 in ward rows read '<5', as on the pages",
    )
    metrics.set_defaults(func=cmd_metrics)

    log = sub.add_parser("log", help="the ingest log, newest first")
    log.add_argument("--store", help=store_help)
    log.set_defaults(func=cmd_log)

    compare = sub.add_parser(
        "compare", help="the council against others on DEFRA's fly-tipping returns"
    )
    compare.add_argument(
        "--council",
        metavar="CODE",
        help="the council's ONS code, e.g. E08000012 (default: the store's council)",
    )
    compare.add_argument("--year", metavar="YYYY-YY", help="one financial year (default: all)")
    compare.add_argument(
        "--group",
        choices=("region", "core-cities", "neighbours", "england"),
        help="comparison group (default: core-cities for a Core City, else region)",
    )
    compare.add_argument("--out", type=Path, metavar="FILE.csv", help="write the table as CSV")
    compare.add_argument("--store", help=store_help)
    compare.add_argument(
        "--remember",
        action="store_true",
        help="remember --council as the store's council (the page opens on it)",
    )
    compare.set_defaults(func=cmd_compare)

    undo = sub.add_parser("undo", help="undo the newest ingest of a kind")
    undo.add_argument("ingest_id", metavar="INGEST_ID", help="e.g. ingest-000007 or 7")
    undo.add_argument("--store", help=store_help)
    undo.add_argument("--actor", default=None, help="who is undoing (default: your user name)")
    undo.set_defaults(func=cmd_undo)

    evaluate = sub.add_parser("evaluate", help="spend vs results for one programme, as on the page")
    evaluate.add_argument("--programme", required=True, metavar="NAME")
    evaluate.add_argument("--outcome", required=True, metavar="KEY")
    evaluate.add_argument(
        "--category", default="all", metavar="CAT", help="type of case (default: all types)"
    )
    evaluate.add_argument("--store", help=store_help)
    evaluate.set_defaults(func=cmd_evaluate)

    remap = sub.add_parser(
        "remap", help="re-apply data/category_map.csv to the stored cases after editing it"
    )
    remap.add_argument("--store", help=store_help)
    remap.add_argument("--actor", default=None, help="who is doing it (default: your user name)")
    remap.set_defaults(func=cmd_remap)

    profiles = sub.add_parser("profiles", help="the saved column mapping profiles")
    profiles.add_argument("--store", help=store_help)
    profiles.add_argument("--kind", choices=KINDS)
    profiles.set_defaults(func=cmd_profiles)
    return parser


# ------------------------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> Any:
    from neighbourhood.store import Store, StoreError

    store = Store(args.store)
    for place in (store.path, *store.path.parents):
        if place.exists():  # the nearest thing that exists must be a folder
            if not place.is_dir():
                raise StoreError(f"{place} is a file, not a store folder: give --store a folder")
            break
    return store


def _describe(summary: dict[str, Any]) -> str:
    return (
        f"{summary['file_name']}: {summary['status']} as {summary['ingest_id']} — "
        f"read {summary['rows_read']}, accepted {summary['rows_accepted']}, "
        f"rejected {summary['rows_rejected']}; new {summary['rows_new']}, "
        f"updated {summary['rows_updated']}, unchanged {summary['rows_unchanged']}"
    )


def parse_maps(items: Sequence[str], kind: str) -> dict[str, str]:
    """``--map "COLUMN=field"`` values as a column map (fields checked against the kind).

    Raises
    ------
    ValueError
        A value without ``=``, or a field the kind does not have (the message lists them).

    Examples
    --------
    >>> parse_maps(["Ref No=case reference", "Notes=ignore"], "cleansing")
    {'Ref No': 'case_id', 'Notes': ''}
    """
    from neighbourhood.headers import FIELD_NAMES, resolve_field

    out: dict[str, str] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip():
            raise ValueError(
                f'--map {item!r}: write it as "COLUMN=field", e.g. "Ref No=case reference"'
            )
        field = resolve_field(target, kind)
        if field is None:
            choices = ", ".join(FIELD_NAMES.get(kind, {}).values())
            raise ValueError(
                f"--map {item!r}: {target.strip()!r} is not a field of a {kind} extract; the "
                f"fields are: {choices} (or ignore)"
            )
        out[column.strip()] = field
    return out


def _nothing_stored(summary: dict[str, Any], rejects: pd.DataFrame) -> str | None:
    """One line saying why a committed load stored no row, or None when it stored some."""
    if summary.get("status") != "committed" or int(summary.get("rows_accepted") or 0) > 0:
        return None
    if summary.get("kind") == "wards":
        return None
    errors = rejects[rejects["severity"] == "error"] if len(rejects) else rejects
    read = int(summary.get("rows_read") or 0)
    if len(errors):
        top = errors.groupby(["rule", "column"]).size().sort_values(ascending=False)
        (rule, column), count = top.index[0], int(top.iloc[0])
        message = errors.loc[errors["rule"] == rule, "message"].iloc[0]
        return (
            f"nothing was stored: all {read:,} rows were rejected; the most common reason "
            f"({count:,} rows) is {rule} on {column}: {message}"
        )
    return f"nothing was stored: none of the {read:,} rows could be kept"


def _show_columns(report: dict[str, Any]) -> None:
    why = report.get("ignored_why") or {}
    for column, reason in why.items():
        _err(f"  column {column!r} not used: {reason}")


def _show_rejects(rejects: pd.DataFrame) -> None:
    errors = rejects[rejects["severity"] == "error"] if len(rejects) else rejects
    warnings = len(rejects) - len(errors)
    if len(errors):
        _err(f"  rejected rows ({len(errors)} problems):")
        for row in errors.head(REJECTS_SHOWN).itertuples(index=False):
            _err(
                f"    line {row.source_line}: {row.column} {row.value!r}: {row.rule} {row.message}"
            )
        if len(errors) > REJECTS_SHOWN:
            _err(f"    … and {len(errors) - REJECTS_SHOWN} more (use --rejects OUT.csv)")
    if warnings:
        _err(f"  {warnings} warnings (rows kept; see --rejects OUT.csv)")


def cmd_ingest(args: argparse.Namespace) -> int:
    """``ingest FILE [FILE…] --kind K``: one transaction per file."""
    from neighbourhood.export import atomic_write_bytes, to_csv_bytes
    from neighbourhood.ingest import FileRefused, ReadOptions, ingest_path, refused_summary

    store = _store(args)
    problem = _unwritable(args.rejects) if args.rejects is not None else None
    if problem is not None:
        # checked before any load: a rejects file that cannot be written after the loads
        # committed would report a failure for data that is in the store
        message = f"--rejects {args.rejects}: {problem}"
        _err(f"error: {message}; nothing was loaded")
        _emit({"status": "usage_error", "message": message})
        return EXIT_REFUSED
    opts: dict[str, Any] = {}
    if args.encoding:
        opts["encoding"] = args.encoding
    if args.date_format:
        opts["date_format"] = args.date_format
    try:
        column_map = parse_maps(args.map, args.kind)
    except ValueError as exc:
        _err(f"error: {exc}; nothing was loaded")
        _emit({"status": "usage_error", "message": str(exc)})
        return EXIT_REFUSED
    if column_map:
        opts["column_map"] = column_map
    saved: dict[str, str] = {}
    if args.profile:
        from neighbourhood.profiles import ProfileError, load_profile

        try:
            saved = load_profile(store, args.profile, args.kind)
        except ProfileError as exc:
            _err(f"error: {exc}; nothing was loaded")
            _emit({"status": "usage_error", "message": str(exc)})
            return EXIT_REFUSED
        opts["saved_map"] = saved
        _err(f"using mapping profile {args.profile!r} ({len(saved)} columns)")
    options = ReadOptions(**opts) if opts else None
    actor = args.actor or _default_actor()
    from neighbourhood.remap import remap_due

    due = args.kind == "cleansing" and remap_due(store)  # maps edited since the last load
    summaries: list[dict[str, Any]] = []
    rejects: list[pd.DataFrame] = []
    for path in args.files:
        try:
            result = ingest_path(
                store,
                path,
                args.kind,
                options=options,
                actor=actor,
                channel="cli",
                boundary_set=args.boundary_set,
            )
        except FileRefused as exc:
            summary = refused_summary(exc, path.name, args.kind, store)
            _err(f"{path.name}: refused ({exc.code}): {exc.message}")
            _err("  nothing was stored from this file; the store is unchanged")
        else:
            summary = result.summary()
            _err(_describe(summary))
            if result.message:
                _err(f"  {result.message}")
            _show_columns(result.report)
            _show_rejects(result.rejects)
            rejects.append(result.rejects)
            empty = _nothing_stored(summary, result.rejects)
            if empty is not None:
                summary["nothing_stored"] = empty
                _err(f"  {empty}")
        summaries.append(summary)
    if args.save_profile and (saved or column_map):
        from neighbourhood.profiles import ProfileError, save_profile

        if not any(s["status"] != "refused" for s in summaries):
            _err(f"mapping profile {args.save_profile!r} not saved: no file was loaded")
        else:
            try:
                kept = save_profile(
                    store, args.save_profile, args.kind, {**saved, **column_map}, actor
                )
            except ProfileError as exc:
                _err(f"mapping profile not saved: {exc}")
            else:
                _err(f"mapping profile {args.save_profile!r} saved ({len(kept)} columns)")

    if args.rejects is not None:
        frames = [r for r in rejects if len(r)]
        table = pd.concat(frames, ignore_index=True) if frames else _empty_rejects()
        atomic_write_bytes(args.rejects, to_csv_bytes(table))
        _err(f"rejects written to {args.rejects} ({len(table)} rows)")

    if due and any(s["status"] == "committed" for s in summaries):
        from neighbourhood.remap import remap

        done = remap(store, actor=actor)
        _err(f"{done['ingest_id']}: {done['message']}")
        for s in summaries:
            s["remap"] = done
    refused = any(s["status"] == "refused" for s in summaries)
    nothing = any(s.get("nothing_stored") for s in summaries)
    if len(summaries) == 1:
        final = dict(summaries[0])
    else:
        statuses = {s["status"] for s in summaries}
        final = {
            "status": statuses.pop() if len(statuses) == 1 else "mixed",
            "kind": args.kind,
            "files": summaries,
            "store": str(store.path),
        }
        for key in ("rows_read", "rows_accepted", "rows_rejected", "rows_new", "rows_updated"):
            final[key] = sum(int(s.get(key) or 0) for s in summaries)
        final["rows_unchanged"] = sum(int(s.get("rows_unchanged") or 0) for s in summaries)
    if args.rejects is not None:
        final["rejects_file"] = str(args.rejects)
    _emit(final)
    if refused:
        return EXIT_REFUSED
    return EXIT_NOTHING_STORED if nothing else EXIT_OK


def cmd_remap(args: argparse.Namespace) -> int:
    """``remap``: map every stored case's own category label again with today's table."""
    from neighbourhood.remap import remap
    from neighbourhood.store import StoreNotFound

    store = _store(args)
    if not store.exists():
        raise StoreNotFound(f"no store at {store.path}: nothing to re-map")
    done = remap(store, actor=args.actor or _default_actor())
    _err(f"{done['ingest_id']}: {done['message']}")
    _emit({"status": "ok", "store": str(store.path), **done})
    return EXIT_OK


def cmd_profiles(args: argparse.Namespace) -> int:
    """``profiles``: the saved column mapping profiles (of one kind)."""
    from neighbourhood.profiles import list_profiles, load_profile

    store = _store(args)
    kinds = [args.kind] if args.kind else ["cleansing", "enforcement", "spend", "population"]
    found: list[dict[str, Any]] = []
    for kind in kinds:
        for name in list_profiles(store, kind):
            mapping = load_profile(store, name, kind)
            found.append({"name": name, "kind": kind, "column_map": mapping})
            _err(f"{kind} profile {name!r}: " + "; ".join(f"{k} = {v}" for k, v in mapping.items()))
    if not found:
        _err("no mapping profiles saved yet")
    _emit({"status": "ok", "store": str(store.path), "profiles": found})
    return EXIT_OK


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written as a file, or None when it can (tried, not guessed).

    Opening it for appending is the test (``os.access`` says yes to root everywhere, /sys
    included); a file the test created is removed again.
    """
    if path.is_dir():
        return "is a folder, not a file"
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return "its folder does not exist"
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        return f"cannot be written ({exc.strerror or exc})"
    if not existed:
        path.unlink(missing_ok=True)
    return None


def _empty_rejects() -> pd.DataFrame:
    from neighbourhood.ingest import REJECT_COLUMNS

    return pd.DataFrame({c: [] for c in REJECT_COLUMNS})


def cmd_demo(args: argparse.Namespace) -> int:
    """``demo``: build the synthetic demo data set into the store."""
    from neighbourhood.demo import DemoRefused, build_demo, council_folder_refusal, same_folder
    from neighbourhood.ingest import FileRefused
    from neighbourhood.store import council_store_path, demo_store_path

    if args.store is None:
        args.store = str(demo_store_path())
    if same_folder(args.store, council_store_path()):
        message = council_folder_refusal(args.store)
        _err(f"refused: {message}")
        _emit({"status": "refused", "code": "NOT_A_DEMO_STORE", "message": message})
        return EXIT_REFUSED
    store = _store(args)
    kw: dict[str, Any] = {}
    if args.seed is not None:
        kw["seed"] = args.seed
    if args.wards is not None:
        from neighbourhood.safe_io import InputRefused, check_regular

        try:  # a regular file only, refused before anything is built (docs/security.md)
            check_regular(args.wards)
        except InputRefused as exc:
            _err(f"refused ({exc.code}): {exc.message}")
            _emit({"status": "refused", "code": exc.code, "message": exc.message})
            return EXIT_REFUSED
        kw["wards_file"] = args.wards
    if args.cases is not None:
        kw["n_cases"] = args.cases
    _err(f"building the demo data set into {store.path} …")
    try:
        results = build_demo(store, **kw)
    except FileRefused as exc:
        _err(f"refused ({exc.code}): {exc.message}")
        _emit({"status": "refused", "code": exc.code, "message": exc.message})
        return EXIT_REFUSED
    except DemoRefused as exc:
        _err(f"refused: {exc}")
        _emit({"status": "refused", "code": "NOT_A_DEMO_STORE", "message": str(exc)})
        return EXIT_REFUSED
    summaries = [r.summary() for r in results]
    for summary in summaries:
        _err(f"  {summary['kind']}: " + _describe(summary))
    _emit(
        {
            "status": "ok",
            "store": str(store.path),
            "revision": store.revision(),
            "ingests": summaries,
        }
    )
    return EXIT_OK


def _fallback_metrics(store: Any, period: str) -> pd.DataFrame:
    """Ward × period case counts straight from the store (used when metrics.py is missing)."""
    trunc = {"month": "month", "quarter": "quarter", "year": "year"}[period]
    return store.query(
        "SELECT c.ward_code, any_value(c.ward_name) AS ward_name, "
        f"strftime(date_trunc('{trunc}', timezone('Europe/London', c.reported_at)), '%Y-%m') "
        "AS period, count(*) AS cases, count(c.closed_at) AS closed "
        "FROM cases c GROUP BY ALL ORDER BY period, ward_code"
    )


def cmd_metrics(args: argparse.Namespace) -> int:
    """``metrics``: the ward × period table (CSV with ``--out``), small enforcement counts
    suppressed as on the pages unless ``--unsuppressed``."""
    from neighbourhood.export import atomic_write_bytes, to_csv_bytes
    from neighbourhood.sdc import export_note, export_view

    store = _store(args)
    try:
        from neighbourhood.metrics import ward_period_table
    except ImportError:  # pragma: no cover - metrics.py is part of the package
        table = _fallback_metrics(store, args.period)
    else:
        if not store.exists():
            from neighbourhood.store import StoreNotFound

            raise StoreNotFound(
                f"no store at {store.path}: load ward boundaries and cases into it first "
                "(`python -m neighbourhood ingest … --store`), or build the synthetic demo "
                "there (`python -m neighbourhood demo --store`)"
            )
        table = ward_period_table(store, period=args.period)
    # Every export is protected as the pages are, unless an analyst asks for exact figures.
    table = export_view(table, unsuppressed=args.unsuppressed)
    if args.unsuppressed:
        _err(f"warning: {export_note(unsuppressed=True)}")
    if args.out is not None:
        atomic_write_bytes(args.out, to_csv_bytes(table))
        _err(f"{len(table)} rows written to {args.out}")
    else:
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            _err(table.to_string(max_rows=60, index=False))
    _emit(
        {
            "status": "ok",
            "period": args.period,
            "rows": int(len(table)),
            "columns": [str(c) for c in table.columns],
            "out": str(args.out) if args.out is not None else None,
            "suppressed": not args.unsuppressed,
            "disclosure": export_note(unsuppressed=args.unsuppressed),
            "store": str(store.path),
            "revision": store.revision(),
        }
    )
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """``compare``: the council against a group on DEFRA's returns (CSV with ``--out``)."""
    from neighbourhood import compare as cmp
    from neighbourhood.export import atomic_write_bytes, to_csv_bytes

    store = _store(args)
    if args.out is not None:
        problem = _unwritable(args.out)
        if problem is not None:
            message = f"--out {args.out}: {problem}"
            _err(f"error: {message}")
            _emit({"status": "usage_error", "message": message})
            return EXIT_REFUSED
    returns = cmp.load_returns(store)
    own = cmp.default_council(store)
    council = (args.council or "").strip().upper() or own.code
    if not council:
        message = (
            "no council given and the store does not say which council it is: give --council "
            "CODE (an English council's ONS code, e.g. E08000012 for Liverpool)"
        )
        _err(f"refused: {message}")
        _emit({"status": "refused", "code": "NO_COUNCIL", "message": message})
        return EXIT_REFUSED
    group = args.group or (
        "core-cities" if council in set(cmp.core_cities()["ons_code"]) else "region"
    )
    try:
        result = cmp.compare(returns, council, group, args.year)
    except cmp.CompareError as exc:
        _err(f"refused: {exc}")
        _emit({"status": "refused", "code": "COMPARE", "message": str(exc)})
        return EXIT_REFUSED
    if args.remember:
        if not store.exists():
            message = f"--remember needs a store: there is none at {store.path}"
            _err(f"refused: {message}")
            _emit({"status": "refused", "code": "StoreNotFound", "message": message})
            return EXIT_REFUSED
        store.set_setting(cmp.SETTING, council)
        _err(f"{council} is now remembered as this store's council")
    table = result.table
    if args.year is not None:
        table = table[table["year"] == result.year].reset_index(drop=True)
    shown = table[(table["year"] == result.year) & table["in_group"]]
    _err(f"{result.name} ({council}) in {result.year}: {cmp.GROUPS[group]} ({len(shown)} councils)")
    view = shown[
        [
            "name",
            "incidents",
            "incidents_per_1k",
            "rank_incidents_per_1k",
            "rank_incidents_per_1k_low",
            "rank_incidents_per_1k_high",
            "actions",
            "actions_per_100_incidents",
            "reporting_basis",
        ]
    ]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        _err(view.to_string(index=False, max_rows=60, float_format=lambda v: f"{v:,.2f}"))
    for note in cmp.basis_notes(result.table, result.year):
        _err(f"  reporting basis: {note}")
    extract: list[dict[str, Any]] = []
    if own.code == council and not cmp.is_demo_store(store):
        frame = cmp.own_extract(store, returns, council)
        for row in frame.to_dict(orient="records"):
            for key, value in row.items():
                if isinstance(value, float) and pd.isna(value):
                    row[key] = None
            extract.append(row)
            _err(
                f"  own extract {row['year']}: {row['own_cases']:,} fly-tipping cases, "
                f"reported to DEFRA {row['reported_to_defra']}, gap {row['gap']}"
                + ("" if row["covered"] else " (the extract does not cover the whole year)")
            )
    if args.out is not None:
        atomic_write_bytes(args.out, to_csv_bytes(table))
        _err(f"{len(table)} rows written to {args.out}")
    sources = sorted({str(s) for s in table["source"].dropna()})
    _emit(
        {
            "status": "ok",
            **result.summary(),
            "council_from": "argument" if args.council else own.how,
            "rows": int(len(table)),
            "columns": [str(c) for c in table.columns],
            "out": str(args.out) if args.out is not None else None,
            "sources": sources,
            "own_extract": extract,
            "store": str(store.path),
        }
    )
    return EXIT_OK


LOG_SHOWN = (
    "ingest_id",
    "finished_at",
    "actor",
    "kind",
    "file_name",
    "status",
    "rows_read",
    "rows_accepted",
    "rows_rejected",
    "rows_new",
    "rows_updated",
    "rows_unchanged",
)


def cmd_log(args: argparse.Namespace) -> int:
    """``log``: the ingest log, newest first."""
    store = _store(args)
    if not store.exists():
        _err(f"no store at {store.path} yet: nothing has been ingested")
        _emit({"status": "ok", "store": str(store.path), "entries": []})
        return EXIT_OK
    log = store.log()
    if log.empty:
        _err("the ingest log is empty")
    else:
        shown = log[list(LOG_SHOWN)].copy()
        shown["finished_at"] = shown["finished_at"].dt.strftime("%d %b %Y %H:%M")
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            _err(shown.to_string(index=False))
    entries = log.drop(columns=["details"]).to_dict(orient="records")
    for entry in entries:
        for key, value in entry.items():
            if value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
                entry[key] = None
    _emit({"status": "ok", "store": str(store.path), "entries": entries})
    return EXIT_OK


def cmd_undo(args: argparse.Namespace) -> int:
    """``undo INGEST_ID``: undo the newest committed ingest of a kind."""
    store = _store(args)
    result = store.undo(args.ingest_id, actor=args.actor or _default_actor())
    _err(f"{result['ingest_id']} ({result['kind']}): {result['message']}")
    _emit({**result, "store": str(store.path), "revision": store.revision()})
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``evaluate --programme NAME --outcome KEY [--category CAT]``: the page's analysis."""
    from neighbourhood import appraise
    from neighbourhood.evaluation import OUTCOMES
    from neighbourhood.schemas import CATEGORIES

    def refuse(message: str) -> int:
        _err(f"refused: {message}")
        _emit({"status": "refused", "message": message})
        return EXIT_REFUSED

    if args.outcome not in OUTCOMES:
        return refuse(f"unknown outcome {args.outcome!r}; choose one of {', '.join(OUTCOMES)}")
    category = args.category.strip() if args.category else appraise.ALL_TYPES
    if category != appraise.ALL_TYPES and category not in CATEGORIES:
        return refuse(
            f"unknown type of case {category!r}; choose 'all' or one of {', '.join(CATEGORIES)}"
        )
    if category != appraise.ALL_TYPES and args.outcome not in appraise.CATEGORY_OUTCOMES:
        return refuse(f"{args.outcome} is not counted by type of case: leave out --category")
    store = _store(args)
    if not store.exists():
        from neighbourhood.store import StoreNotFound

        raise StoreNotFound(f"no store at {store.path}: load data into it first")
    progs = appraise.programmes(store)
    chosen = next((p for p in progs if p.name == args.programme), None)
    if chosen is None:
        names = ", ".join(repr(p.name) for p in progs) or "none"
        return refuse(f"no programme named {args.programme!r} (programmes: {names})")
    result = appraise.appraise(store, chosen, args.outcome, category, others=progs)
    summary = appraise.to_json(result)
    if result.error:
        _err(result.error)
        summary["status"] = "refused"
        _emit(summary)
        return EXIT_REFUSED
    r = result.result
    _err(
        f"{chosen.name}: {result.label}: estimate {summary['estimate']:.4f} "
        f"(95% range {summary['ci_low']:.4f} to {summary['ci_high']:.4f}), "
        f"{len(r.treated_wards)} funded and {len(r.comparison_wards)} comparison wards"
    )
    _emit(summary)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 accepted, 2 refused (store unchanged), 1 unexpected error.

    Examples
    --------
    >>> main(["log", "--store", "/tmp/no-such-store"])  # doctest: +SKIP
    0
    """
    args = build_parser().parse_args(argv)
    from neighbourhood.store import StoreError

    try:
        return int(args.func(args))
    except StoreError as exc:
        _err(f"refused: {exc}")
        _emit({"status": "refused", "code": type(exc).__name__, "message": str(exc)})
        return EXIT_REFUSED
    except Exception as exc:  # noqa: BLE001 - the CLI reports every failure as JSON
        if os.environ.get("NEIGHBOURHOOD_DEBUG"):
            traceback.print_exc()
        _err(f"error: {type(exc).__name__}: {exc}")
        _emit({"status": "error", "type": type(exc).__name__, "message": str(exc)})
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
