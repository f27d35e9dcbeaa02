"""Command line: ``netmarl-verify {list,run,report,search,bench}`` (also ``python -m netmarl_verify``).

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
from netmarl_verify.verify._run import ClaimError, check_instance, run_checks, summarize, to_frame
from netmarl_verify.verify._search import SearchError
from netmarl_verify.verify._sweep import JOBS_ENV, RunFolderError, default_jobs, sweep

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
    sub = parser.add_subparsers(dest="command", metavar="{list,run,report,search,bench}")

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
        p.add_argument("--jobs", type=int, default=None, metavar="N",
                       help="local worker processes, one (claim, instance) task each at a time (default: "
                            f"${JOBS_ENV} or all cores; 1 runs in this process). Each runs --threads BLAS "
                            "threads and holds its own instances: the heaviest claims (qu2020.fig5) need "
                            "their memory N times")
        p.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the tasks on a dask.distributed cluster (tcp://host:8786, from `dask "
                            "scheduler`); --jobs is then ignored")
        p.add_argument("--run-dir", type=Path, metavar="DIR",
                       help="write each finished task to DIR/tasks/<task>.json at once (atomically), so a "
                            "killed sweep can be resumed")
        p.add_argument("--resume", action="store_true",
                       help="with --run-dir: keep its finished tasks and run only the others (several "
                            "processes may resume one run folder at once: a task is never run twice)")

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
    p.add_argument("--params", metavar="JSON",
                   help="check one instance of a claim's search family from its parameters alone, e.g. "
                        "'{\"family\": \"copy-chain\", \"n\": 4, \"rho\": 0.6, \"signed\": true}' (the "
                        "params of a `search` row; replays it with the same --seed, without --quick)")

    p = sub.add_parser(
        "report",
        help="check claims and render markdown/HTML/CSV reports",
        description="Check claims and write <out>/<paper>/report.{md,html}, rows.csv, figures and <out>/index.*.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_options(p)
    p.add_argument("--out", type=Path, metavar="DIR", required=True, help="output folder")
    p.add_argument("--search-budget", type=int, metavar="N", default=None,
                   help="also run the counterexample search (N exact evaluations per claim with a search "
                        "space, seed --seed) and show its largest ratio beside the fixed instances' (default: no search)")

    p = sub.add_parser(
        "search",
        help="search a claim's instance families for the largest measured/bound",
        description="Maximise measured/bound over the parameter spaces the claims declare (differential "
                    "evolution, every evaluation exact); print the worst instance found per claim as a row "
                    "that `run <claim> --params JSON --seed S` replays.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", help="claim id, paper id or 'all' (claims without a search space are skipped)")
    p.add_argument("--budget", type=int, default=300, help="exact evaluations per claim (default 300)")
    p.add_argument("--seed", type=int, default=0, help="seed of the optimiser and of the measurements (default 0)")
    p.add_argument("--json", action="store_true", help="one JSON object per claim (the row plus \"search\")")
    p.add_argument("--out", type=Path, metavar="DIR", help="also write DIR/search.csv")
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    p.add_argument("--traceback", action="store_true", help="show the traceback when a claim fails")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help=f"local worker processes, one claim's search each (default: ${JOBS_ENV} or all cores; "
                        "1 runs in this process); results are bit-identical to --jobs 1")

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


def _jobs(args, registry):
    """--jobs, else 1 for a registry of this process only (main(registry=...)), else the default."""
    if args.jobs is not None:
        return args.jobs
    return 1 if registry is not REGISTRY else default_jobs()


def _checks(args, registry):
    start = time.perf_counter()
    jobs = _jobs(args, registry)
    if jobs == 1 and args.scheduler is None and args.run_dir is None:
        results = run_checks(args.target, quick=args.quick, seed=args.seed, progress=not args.no_progress,
                             registry=registry)
    else:
        results = sweep(args.target, quick=args.quick, seed=args.seed, jobs=jobs, scheduler=args.scheduler,
                        run_dir=args.run_dir, resume=args.resume, progress=not args.no_progress,
                        registry=registry, threads=args.threads)
    return results, time.perf_counter() - start


def _single_claim(target, registry, what):
    claims = registry.claims_for(target)
    if len(claims) != 1 or claims[0].id != target:
        raise SearchError(f"{what} needs one claim id, got {target!r}")
    return claims[0]


def _replay(args, registry):
    """``run <claim> --params JSON``: the rows of one searched instance."""
    from netmarl_verify.verify._search import replay_instance

    claim = _single_claim(args.target, registry, "--params")
    try:
        params = json.loads(args.params)
    except ValueError as exc:
        raise SearchError(f"--params is not valid JSON: {exc}") from None
    return check_instance(claim, replay_instance(claim, params), args.seed, quick=args.quick)


def _search_results(target, budget, seed, progress, registry, jobs=1, threads=1):
    from netmarl_verify.verify._search import search_checks

    return search_checks(target, budget, seed=seed, progress=progress, registry=registry, jobs=jobs, threads=threads)


def _cmd_search(args, registry):
    from netmarl_verify.verify._search import search_frame

    results = _search_results(args.target, args.budget, args.seed, not args.no_progress, registry,
                              jobs=_jobs(args, registry), threads=args.threads)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "search.csv"
        search_frame(results).to_csv(path, index=False)
        print(f"wrote {path}", file=sys.stderr)
    if args.json:
        for r in results:
            print(json.dumps(r.to_json_dict(), sort_keys=True))
        return 0
    if not results:
        print("no claim with a search space selected")
        return 0
    print(_text_table(
        ["claim", "largest ratio", "verdict", "evaluations", "params"],
        [[r.claim, r.ratio, r.verdict, r.evaluations, json.dumps(r.params, sort_keys=True) if r.params else "-"]
         for r in results], max_width=120))
    for r in results:
        if r.params:
            print(f"replay: {r.replay_command()}")
    return 0


def _cmd_run(args, registry):
    if args.params is not None:
        results = _replay(args, registry)
    else:
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
    found = None
    if args.search_budget is not None:
        found = _search_results(args.target, args.search_budget, args.seed, not args.no_progress, registry,
                                jobs=_jobs(args, registry), threads=args.threads)
    metadata = {
        "command": PROG + " " + shlex.join(argv),
        "target": args.target,
        "seed": args.seed,
        "quick": args.quick,
        "started (UTC)": started,
        "wall time (s)": round(wall_time, 3),
        "workers": args.scheduler if args.scheduler else f"{_jobs(args, registry)} local process(es)",
    }
    try:
        paths = reports.render_all(df, registry.claims_for(args.target), args.out, metadata, search=found)
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
        if args.command == "search":
            if args.budget < 1:
                parser.error("--budget must be a positive integer")
            if args.threads < 1:
                parser.error("--threads must be >= 1")
            if args.jobs is not None and args.jobs < 1:
                parser.error("--jobs must be >= 1")
            from threadpoolctl import threadpool_limits

            _load_blas()
            with threadpool_limits(limits=args.threads):
                return _cmd_search(args, registry)
        if args.command == "report" and args.search_budget is not None and args.search_budget < 1:
            parser.error("--search-budget must be a positive integer")
        if args.seed < 0:
            parser.error("--seed must be a non-negative integer")
        if args.threads < 1:
            parser.error("--threads must be >= 1")
        if args.jobs is not None and args.jobs < 1:
            parser.error("--jobs must be >= 1")
        if args.resume and args.run_dir is None:
            parser.error("--resume needs --run-dir DIR")
        if args.scheduler is not None:
            import importlib.util

            if importlib.util.find_spec("distributed") is None:
                parser.error("--scheduler needs dask.distributed, an optional dependency: "
                             "pip install 'netmarl-verify[cluster]'")
        from threadpoolctl import threadpool_limits

        _load_blas()
        with threadpool_limits(limits=args.threads):
            if args.command == "run":
                return _cmd_run(args, registry)
            return _cmd_report(args, registry, argv)
    except (UnknownClaimError, RunFolderError, SearchError) as exc:
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
