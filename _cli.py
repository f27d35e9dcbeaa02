"""Command line: ``netmarl-verify {list,run,report,bench}`` (also ``python -m netmarl_verify``).

The command line sits above the four packages: it is the only place that imports both
:mod:`netmarl_verify.verify` (checks) and :mod:`netmarl_verify.reports` (rendering).

Exit status: 0 on success, including runs that find violations (a violation is a finding, not a
failure of the tool); 2 for usage errors, unknown claim/paper ids and a ``report --out`` folder
that holds files other than an earlier report; 1 when a claim's code fails.
"""

import argparse
import datetime
import json
import os
import shlex
import sys
import time
import traceback
from pathlib import Path

from netmarl_verify.verify._registry import EXTRA_CLAIMS_ENV, REGISTRY, UnknownClaimError
from netmarl_verify.verify._run import ClaimError, run_checks, summarize, to_frame

__all__ = ["main", "build_parser"]

PROG = "netmarl-verify"

_EPILOG = f"""\
targets: a claim id (qu2020.thm1), a paper id (qu2020) or 'all'.
Extra claim modules: {EXTRA_CLAIMS_ENV}="pkg.module[:register_function],..."."""


def build_parser():
    """The argument parser of ``netmarl-verify``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check the papers' claims against exact ground truth on small instances.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{list,run,report,bench}")

    p = sub.add_parser("list", help="list the registered claims", description="List the registered claims.")
    p.add_argument("target", nargs="?", default="all", help="claim id, paper id or 'all' (default)")
    p.add_argument("--json", action="store_true", help="one JSON object per claim on stdout")
    p.add_argument("--full", action="store_true",
                   help="whole statements (by default the table cuts them at 70 characters; a single "
                        "claim id always shows the whole statement, its LaTeX, bound and source)")

    def add_run_options(p):
        p.add_argument("target", help="claim id, paper id or 'all'")
        p.add_argument("--quick", action="store_true", help="small instances, few points (seconds)")
        p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
        p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
        p.add_argument("--traceback", action="store_true", help="show the traceback when a claim fails")
        p.add_argument("--threads", type=int, default=1,
                       help="BLAS threads (default 1: the claims' matrices are small, and multi-threaded "
                            "OpenBLAS oversubscribes 2-core machines)")

    p = sub.add_parser(
        "run",
        help="check claims and print the rows",
        description="Check claims; print one row per measurement (or JSON lines with --json).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_options(p)
    p.add_argument("--out", type=Path, metavar="DIR", help="also write DIR/rows.csv")
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per row on stdout (claim, verdict, measured, bound, ratio, params, seed, ...)",
    )

    p = sub.add_parser(
        "report",
        help="check claims and render markdown/HTML/CSV reports",
        description="Check claims and write <out>/<paper>/report.{md,html}, rows.csv, figures and <out>/index.*.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_options(p)
    p.add_argument("--out", type=Path, metavar="DIR", required=True, help="output folder")

    sub.add_parser(
        "bench",
        help="benchmarks (arguments passed through; see `netmarl-verify bench --help`)",
        add_help=False,
    )
    return parser


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _point_text(text):
    try:
        point = json.loads(text)
    except (TypeError, ValueError):
        return str(text)
    return ", ".join(f"{k}={_fmt(v)}" for k, v in point.items()) if isinstance(point, dict) else str(point)


def _text_table(headers, rows, max_width=60):
    """Plain-text table with aligned columns; cells longer than `max_width` are cut."""
    def cut(s):
        return s if len(s) <= max_width else s[: max_width - 1] + "…"

    cells = [[cut(_fmt(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[k]) for r in cells]) for k, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def _cmd_list(args, registry):
    claims = registry.claims_for(args.target)
    if args.json:
        for c in claims:
            ref = c.reference
            print(json.dumps({"id": c.id, "paper": c.paper, "reference": c.citation,
                              "link": ref.link if ref is not None else None, "source": c.source,
                              "statement": c.statement, "latex": c.latex, "bound": c.bound_latex}))
        return 0
    if not claims:
        print("no claims registered")
        return 0
    if len(claims) == 1 and claims[0].id == args.target:
        print(_claim_details(claims[0]))
        return 0
    width = max([70] + [len(c.statement) for c in claims]) if args.full else 70
    print(_text_table(["claim", "source", "statement"], [[c.id, c.source, c.statement] for c in claims], width))
    if not args.full and any(len(c.statement) > 70 for c in claims):
        print(f"(statements cut at 70 characters: `{PROG} list --full`, or `{PROG} list <claim id>` for one claim)")
    return 0


def _claim_details(claim):
    """Everything `list` knows about one claim, nothing cut."""
    import textwrap

    def field(name, value):
        if not value:
            return []
        body = textwrap.wrap(str(value), 88 - 13, break_long_words=False, break_on_hyphens=False) or [""]
        return [f"  {name + ':':<11}{body[0]}"] + [" " * 13 + line for line in body[1:]]

    lines = [claim.id]
    lines += field("paper", claim.citation)
    lines += field("source", claim.source)
    lines += field("statement", claim.statement)
    lines += field("latex", claim.latex)
    lines += field("bound", claim.bound_latex)
    return "\n".join(lines)


def _checks(args, registry):
    start = time.perf_counter()
    results = run_checks(args.target, quick=args.quick, seed=args.seed, progress=not args.no_progress,
                         registry=registry)
    return results, time.perf_counter() - start


def _cmd_run(args, registry):
    results, _ = _checks(args, registry)
    df = to_frame(results)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "rows.csv"
        df.to_csv(path, index=False)
        print(f"wrote {path}", file=sys.stderr)
    if args.json:
        for r in results:
            print(json.dumps(r.to_json_dict(), sort_keys=True))
        return 0
    if df.empty:
        print("no rows (the selected claims yielded no instances)")
        return 0
    table = df[["claim", "instance", "point", "measured", "bound", "ratio", "verdict"]].copy()
    table["point"] = table["point"].map(_point_text)
    print(_text_table(list(table.columns), table.itertuples(index=False)))
    print()
    summary = summarize(df)
    print(_text_table(
        ["claim", "rows", "holds", "violated", "not applicable", "verdict", "max ratio"],
        summary[["claim", "rows", "holds", "violated", "not applicable", "verdict", "max_ratio"]]
        .itertuples(index=False),
    ))
    return 0


def _cmd_report(args, registry, argv):
    from netmarl_verify import reports  # imported when rendering: matplotlib is slow to import

    try:  # refuse a folder holding something else before the run, not after it
        reports.check_report_folder(args.out)
    except reports.ReportFolderError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    results, wall_time = _checks(args, registry)
    df = to_frame(results)
    metadata = {
        "command": PROG + " " + shlex.join(argv),
        "target": args.target,
        "seed": args.seed,
        "quick": args.quick,
        "started (UTC)": started,
        "wall time (s)": round(wall_time, 3),
    }
    try:
        paths = reports.render_all(df, registry.claims_for(args.target), args.out, metadata)
    except reports.ReportFolderError as exc:  # the folder changed during the run
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    errors = []
    for paper, p in paths["papers"].items():
        print(f"{paper}: {p['html']}")
        errors += p.get("figure_errors", [])
    print(f"index: {paths['index']['html']}")
    if errors:
        for e in errors:
            print(f"{PROG}: error: {e}", file=sys.stderr)
        print(f"{PROG}: the reports were written without these figures", file=sys.stderr)
        return 1
    return 0


def _cmd_bench(rest):
    from netmarl_verify.verify import _bench  # imported only when asked for

    return _bench.main(rest)


def _load_blas():
    """Load every BLAS the claims use before pinning threads.

    threadpoolctl limits only the libraries already loaded: scipy's OpenBLAS, loaded later by a
    claim's first ``import scipy.linalg``, would otherwise run with all cores (seen: numpy's
    BLAS at 1 thread, scipy's at 2, under ``--threads 1``).
    """
    import numpy.linalg  # noqa: F401
    import scipy.linalg  # noqa: F401
    import scipy.sparse.linalg  # noqa: F401


def main(argv=None, *, registry=None):
    """Entry point of ``netmarl-verify``; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).
    registry : Registry, optional
        Claims to use (default: the default registry).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    registry = REGISTRY if registry is None else registry
    if argv and argv[0] == "bench":
        return _cmd_bench(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "list":
            return _cmd_list(args, registry)
        if args.seed < 0:
            parser.error("--seed must be a non-negative integer")
        if args.threads < 1:
            parser.error("--threads must be >= 1")
        from threadpoolctl import threadpool_limits

        _load_blas()
        with threadpool_limits(limits=args.threads):
            if args.command == "run":
                return _cmd_run(args, registry)
            return _cmd_report(args, registry, argv)
    except UnknownClaimError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except ClaimError as exc:
        if getattr(args, "traceback", False):
            traceback.print_exc()
        else:
            print(f"{PROG}: error: {exc}\n(rerun with --traceback for details)", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `netmarl-verify run all | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
