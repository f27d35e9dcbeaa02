"""Rendering verification results: one report per paper and an index.

Layout under the output folder::

    <out>/index.md, index.html          verdict counts per paper, links
    <out>/rows.csv                       every row of the run (render_all)
    <out>/<paper>/report.md              markdown; figures referenced as PNG files next to it
    <out>/<paper>/report.html            one self-contained page (figures embedded)
    <out>/<paper>/rows.csv               every row of the paper (reports.read_rows reads it back)
    <out>/<paper>/<claim id>-<k>.png     figures
    <out>/netmarl-verify-manifest.json   the files of the report (render_all; see _folder.py)

A report is rendered from the tidy rows (:func:`netmarl_verify.verify.run`) and the claims' descriptions
only, so it can be re-rendered from a saved ``rows.csv``.
"""

import datetime
import json
from pathlib import Path

import matplotlib
import pandas as pd

from netmarl_verify.verify import (
    HOLDS,
    NOT_APPLICABLE,
    VIOLATED,
    is_figure_spec,
    overall_verdict,
    provenance,
    smallest_counterexample,
    summarize,
    versions,
)

from netmarl_verify.verify import paper_reference

from . import figures as _figures
from ._document import Document
from ._folder import clear_report_folder, write_manifest
from ._tables import Link, format_value

__all__ = ["render_paper", "render_index", "render_all", "paper_summary", "run_metadata"]

#: Rows shown in a claim's detail table (all rows are in rows.csv).
MAX_DETAIL_ROWS = 30
#: Assumption rows shown per claim.
MAX_ASSUMPTION_ROWS = 40


def run_metadata(rows, metadata=None):
    """Metadata of a report: the caller's `metadata`, then seeds, versions and provenance.

    Versions and provenance (platform, BLAS and threads, command line, source commit when run
    from a checkout) are read from the rows (columns ``version.*`` and ``provenance.*``, see
    :func:`netmarl_verify.verify.provenance`), so a report rendered later from a saved
    ``rows.csv`` states where the numbers came from, not where they were drawn; without rows
    they describe this process.

    Returns
    -------
    dict of str to str
    """
    out = {str(k): v for k, v in (metadata or {}).items()}
    if "seed" in rows and len(rows):
        out["seeds in rows"] = ", ".join(str(s) for s in sorted(set(rows["seed"].tolist())))
    if "wall_time" in rows and len(rows):
        per_instance = rows.drop_duplicates(["claim", "instance"])["wall_time"]
        out.setdefault("measurement time (s)", round(float(per_instance.sum()), 3))

    def from_rows(prefix):
        cols = [c for c in rows.columns if c.startswith(prefix)] if len(rows) else []
        found = {}
        for c in cols:
            vals = sorted({str(v) for v in rows[c].dropna().tolist()})
            if vals:
                found[c.removeprefix(prefix)] = "; ".join(vals)
        return found

    for k, v in (from_rows("version.") or versions()).items():
        out.setdefault(k, v)
    out.setdefault("matplotlib", matplotlib.__version__)
    for k, v in (from_rows("provenance.") or provenance()).items():
        out.setdefault(k, v)
    out.setdefault("rendered (UTC)",
                   datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    return out


def _json_cell(text):
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return str(text)
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) or "—"
    return str(value)


def _figure_error(claim_id, exc):
    return f"the figure of claim {claim_id!r} failed: {type(exc).__name__}: {exc}"


def _claim_figures(claim, rows):
    """The claim's figures (specs and/or matplotlib Figures) and, if calling `figure` raised, the error.

    ``claim.figures`` dispatches between ``figure(rows)`` (figure specs, drawn here by
    :func:`figures.draw`) and ``figure(rows, plots)`` (Figures drawn by the claim with the
    plotting kit). A failing figure must not cost the user the rest of a long run: the rows are
    already measured, so the report is written with the failure stated in the claim's section.
    """
    if claim is None or claim.figure is None or rows.empty:
        return [], None
    before = _figures.open_figures()
    try:
        figs = claim.figures(rows, _figures)
    except Exception as exc:  # noqa: BLE001 -- reported in the document and to the caller
        _figures.close_new(before)
        return [], _figure_error(claim.id, exc)
    return figs, None


def _figure_png(item, rows):
    """PNG bytes and title of one figure: a spec is drawn first (with `rows`), a Figure saved as is."""
    fig = _figures.draw(item, rows) if is_figure_spec(item) else item
    try:
        png = _figures.figure_png(fig)
        title = fig.axes[0].get_title() if fig.axes and fig.axes[0].get_title() else ""
    finally:
        _figures.close(fig)
    return png, title


def _assumption_rows(rows):
    seen, out = set(), []
    for inst, text in zip(rows["instance"], rows["assumptions"]):
        for a in json.loads(text):
            key = (inst, a["name"], a["holds"], a["measured"])
            if key not in seen:
                seen.add(key)
                measured = float("nan") if a["measured"] is None else a["measured"]
                out.append([inst, a["name"], bool(a["holds"]), measured, a["required"], a["detail"]])
    return out


def _instance_rows(rows):
    out = []
    for inst, group in rows.groupby("instance", sort=False):
        counts = group["verdict"].value_counts().to_dict()
        ratio = pd.to_numeric(group["ratio"], errors="coerce")
        applicable = ratio[group["verdict"] != NOT_APPLICABLE].dropna()
        worst = group.loc[applicable.idxmax(), "point"] if len(applicable) else None
        out.append([
            inst, _json_cell(group["params"].iloc[0]), len(group), int(counts.get(HOLDS, 0)),
            int(counts.get(VIOLATED, 0)), int(counts.get(NOT_APPLICABLE, 0)),
            float(applicable.max()) if len(applicable) else float("nan"),
            _json_cell(worst) if worst is not None else "—",
        ])
    return out


def _detail_rows(rows):
    rank = rows["verdict"].map({VIOLATED: 0, HOLDS: 1, NOT_APPLICABLE: 2})
    ratio = pd.to_numeric(rows["ratio"], errors="coerce").fillna(-float("inf"))
    order = pd.DataFrame({"rank": rank, "ratio": -ratio}).sort_values(["rank", "ratio"], kind="stable").index
    shown = rows.loc[order[:MAX_DETAIL_ROWS]]
    notes = shown["bound_note"] if "bound_note" in shown else pd.Series("", index=shown.index)
    out = []
    for r, note in zip(shown.itertuples(index=False), notes.fillna("").astype(str)):
        # Outside the hypotheses the bound's formula bounds nothing: say so instead of a number.
        bound, ratio = (("not defined", "—") if note.startswith("not defined")
                        else (float(r.bound), float(r.ratio)))
        out.append([r.instance, _json_cell(r.point), float(r.measured), bound, ratio, r.verdict])
    return out


def _undefined_bound_notes(rows):
    """The distinct reasons why bounds are not defined on this claim's rows (see CheckResult)."""
    if "bound_note" not in rows:
        return []
    notes = rows["bound_note"].fillna("").astype(str)
    return list(dict.fromkeys(n for n in notes if n.startswith("not defined")))


def _verdict_text(rows):
    counts = rows["verdict"].value_counts().to_dict()
    overall = overall_verdict(counts)
    ratio = pd.to_numeric(rows.loc[rows["verdict"] != NOT_APPLICABLE, "ratio"], errors="coerce").dropna()
    text = (f"{overall} — {counts.get(HOLDS, 0)} holds, {counts.get(VIOLATED, 0)} violated, "
            f"{counts.get(NOT_APPLICABLE, 0)} not applicable (of {len(rows)} rows)")
    if len(ratio):
        text += f"; largest tightness ratio measured/bound where the assumptions hold: {format_value(ratio.max())}"
    text += "."
    cx = smallest_counterexample(rows)
    if cx is not None:
        params = ", ".join(f"{k}={format_value(v)}" for k, v in cx["params"].items())
        point = ", ".join(f"{k}={format_value(v)}" for k, v in cx["point"].items()) or "—"
        text += (f" Smallest counterexample: instance {cx['instance']} ({params}; seed {cx['seed']}) at "
                 f"{point}: measured {format_value(cx['measured'], 8)} > bound {format_value(cx['bound'], 8)}"
                 f" (ratio {format_value(cx['ratio'])}).")
    return overall, text


def claim_anchor(claim_id):
    """The id of a claim's section in ``report.html`` (``report.html#qu2020.thm1``)."""
    return "-".join(str(claim_id).split())


def _short_citation(ref):
    """``Qu et al. (2020)`` of a :class:`~netmarl_verify.verify.Paper`."""
    first = ref.authors[0].split()[-1] if ref.authors else ref.id
    return f"{first}{' et al.' if len(ref.authors) > 2 else ''} ({ref.year})"


def _source_pieces(claim):
    """``Thm 1 of Qu et al. (2020)`` with a link to the paper (never the paper's text file)."""
    ref = paper_reference(claim.paper)
    if ref is None:
        return [f"{claim.source} (paper {claim.paper})"]
    short = _short_citation(ref)
    return [f"{claim.source} of ", Link(short, ref.link) if ref.link else short, " (see References)"]


def _references(doc, paper_ids):
    """The References section: authors, title, venue, arXiv id of each paper."""
    doc.heading("References", 2)
    table, missing = [], []
    for pid in paper_ids:
        ref = paper_reference(pid)
        if ref is None:
            missing.append(pid)
            continue
        if ref.arxiv:
            ident = Link(ref.arxiv, ref.link)
        else:
            ident = [Link(f"none ({ref.url})", ref.url)] if ref.url else "none"
        table.append([pid, ", ".join(ref.authors), ref.title, f"{ref.venue}, {ref.year}", ident])
    if table:
        doc.table(["paper", "authors", "title", "venue", "arXiv id"], table)
    if missing:
        doc.paragraph(f"No bibliographic reference is registered for {', '.join(missing)} "
                      "(netmarl_verify.verify.register_paper).", note=True)


def _claim_section(doc, claim_id, claim, rows, paper_dir, written, errors):
    badge = _verdict_text(rows)[0] if not rows.empty else NOT_APPLICABLE
    doc.heading(f"{claim_id} — {claim.source}" if claim is not None else claim_id, 2,
                anchor=claim_anchor(claim_id), badge=badge)
    if claim is not None:
        doc.paragraph(claim.statement, label="Statement.")
        if claim.latex:
            doc.latex(claim.latex)
        if claim.bound is not None:
            doc.paragraph("(sympy, evaluated with the paper's constants):", label="Bound")
            doc.latex(claim.bound_latex)
        doc.paragraph(_source_pieces(claim), label="Source:")
        if claim.notes:
            doc.paragraph(claim.notes, label="Notes.")
    if rows.empty:
        doc.paragraph("No rows: the claim yielded no instances in this run.", note=True)
        return NOT_APPLICABLE

    doc.heading("Assumptions", 3)
    assumption_rows = _assumption_rows(rows)
    if assumption_rows:
        note = None
        if len(assumption_rows) > MAX_ASSUMPTION_ROWS:
            note = f"{MAX_ASSUMPTION_ROWS} of {len(assumption_rows)} shown; all in rows.csv (column assumptions)."
        doc.table(["instance", "assumption", "holds", "measured", "required", "detail"],
                  assumption_rows[:MAX_ASSUMPTION_ROWS], note)
    else:
        doc.paragraph("The claim states no hypotheses to measure.", note=True)

    doc.heading("Measured vs bound", 3)
    doc.table(["instance", "params", "rows", "holds", "violated", "not applicable", "max ratio", "tightest point"],
              _instance_rows(rows), digits=7)
    note = ("Rows sorted: violations first, then by tightness ratio measured/bound."
            + (f" {MAX_DETAIL_ROWS} of {len(rows)} rows shown; all in rows.csv." if len(rows) > MAX_DETAIL_ROWS
               else ""))
    undefined = _undefined_bound_notes(rows)
    if undefined:
        note += (" “not defined”: on a not-applicable row the bound's formula bounds nothing (e.g. "
                 "r̄/(1-ρ) < 0 for ρ > 1), so no bound or ratio is shown — "
                 + "; ".join(n.removeprefix("not defined: ") for n in undefined) + ".")
    doc.table(["instance", "point", "measured", "bound", "ratio", "verdict"], _detail_rows(rows), note, digits=7)

    figure_rows = rows.reset_index(drop=True)
    figs, error = _claim_figures(claim, figure_rows)
    if figs or error:
        doc.heading("Figures", 3)
    if error:
        errors.append(error)
        doc.paragraph(f"Not drawn: {error}. The rows above are complete.", note=True)
    for k, item in enumerate(figs, start=1):
        try:
            png, title = _figure_png(item, figure_rows)
        except Exception as exc:  # noqa: BLE001 -- reported in the document and to the caller
            errors.append(_figure_error(claim_id, exc))
            doc.paragraph(f"Figure {k} not drawn: {errors[-1]}.", note=True)
            continue
        name = f"{claim_id}-{k}.png"
        (paper_dir / name).write_bytes(png)
        written.append(paper_dir / name)
        doc.figure(png, name, f"Figure {k} of {claim_id}" + (f": {title}" if title else ""))

    doc.heading("Verdict", 3)
    overall, text = _verdict_text(rows)
    doc.paragraph(text, label="Verdict:")
    return overall


def render_paper(paper_id, df, claims, out_dir, metadata=None, index_link=False, search=None):
    """Write the report of one paper.

    Parameters
    ----------
    paper_id : str
        Short paper id (``"qu2020"``).
    df : DataFrame
        Tidy rows (:func:`netmarl_verify.verify.run`); rows of other papers are ignored.
    claims : iterable of Claim or None
        Descriptions (statement, LaTeX, bound, figure) of the paper's claims; claims of other
        papers are ignored, and claims with rows but no description get a bare section.
    out_dir : path-like
        Output folder; the paper's files go to ``out_dir/paper_id/``.
    metadata : dict, optional
        Run metadata (command line, seed, wall time, ...), completed by :func:`run_metadata`.
    index_link : bool
        Link back to ``../index.html`` (``../index.md``) above the title (:func:`render_all`).
    search : iterable of SearchResult, optional
        Counterexample search results (:func:`netmarl_verify.verify.search_claim`): the summary then
        shows the largest ratio found by search beside the largest on the fixed instances, and a
        table gives each search's worst instance (parameters, replay command). Default: no search.

    Files of the same names in ``out_dir/paper_id/`` are overwritten and others are left
    alone; :func:`render_all` replaces an earlier report whole.

    Returns
    -------
    dict
        ``{"markdown": Path, "html": Path, "csv": Path, "figures": [Path, ...],
        "figure_errors": [str, ...]}``. A figure that fails to draw does not abort the report:
        its section says so and the message is listed under ``"figure_errors"``.
    """
    paper_dir = Path(out_dir) / paper_id
    paper_dir.mkdir(parents=True, exist_ok=True)
    rows = df[df["paper"] == paper_id] if "paper" in df else df.iloc[0:0]
    described = {c.id: c for c in (claims or []) if c.paper == paper_id}
    claim_ids = list(described) + [c for c in dict.fromkeys(rows["claim"]) if c not in described]

    csv_path = paper_dir / "rows.csv"
    rows.to_csv(csv_path, index=False)

    doc = Document(f"{paper_id}: verification report")
    if index_link:
        doc.up("← all reports (index)", "../index.html", "../index.md")
    ref = paper_reference(paper_id)
    if ref is not None:
        doc.paragraph([Link(ref.citation(), ref.link)] if ref.link else [ref.citation()], label="Paper:")
    else:
        doc.paragraph(f"{paper_id} (no bibliographic reference registered).", label="Paper:")
    doc.paragraph(
        "Each claim is checked on small instances where the quantities are computed exactly. "
        "A row holds when measured ≤ bound (up to floating-point rounding), is violated otherwise, "
        "and is not applicable when a hypothesis of the statement fails on the instance "
        "(the measured value is still recorded; the bound is not defined there and is not shown).",
    )
    summary = summarize(rows) if not rows.empty else None
    table = []
    for cid in claim_ids:
        source = described[cid].source if cid in described else ""
        if summary is not None and cid in set(summary["claim"]):
            s = summary[summary["claim"] == cid].iloc[0]
            table.append([Link(cid, f"#{claim_anchor(cid)}"), source, int(s["rows"]), int(s[HOLDS]),
                          int(s[VIOLATED]), int(s[NOT_APPLICABLE]), float(s["max_ratio"]), s["verdict"]])
        else:
            table.append([Link(cid, f"#{claim_anchor(cid)}"), source, 0, 0, 0, 0, float("nan"), NOT_APPLICABLE])
    doc.heading("Summary", 2)
    found = {r.claim: r for r in (search or []) if r.claim in set(claim_ids)}
    if search is None:
        doc.table(["claim", "source", "rows", "holds", "violated", "not applicable", "max ratio", "verdict"], table,
                  "max ratio: the largest measured/bound among rows whose assumptions hold (2 - measured/bound "
                  "for a lower bound checked as -x <= -b; ≤ 1 when the claim holds).", digits=7)
    else:
        for row, cid in zip(table, claim_ids):
            row.insert(7, found[cid].ratio if cid in found else float("nan"))
        doc.table(["claim", "source", "rows", "holds", "violated", "not applicable",
                   "largest ratio on the fixed instances", "largest ratio by search", "verdict"], table,
                  "Ratios: the largest measured/bound among rows whose assumptions hold (2 - measured/bound for a "
                  "lower bound checked as -x <= -b, as the search scores it; ≤ 1 when the claim holds); "
                  "by search: over the claim's search spaces (netmarl-verify search; empty when it declares none). "
                  "The verdict is the fixed instances'.", digits=7)
        if found:
            doc.heading("Counterexample search", 3)
            doc.table(["claim", "largest ratio", "verdict", "evaluations", "seed", "worst instance", "replay"],
                      [[r.claim, r.ratio, r.verdict, r.evaluations, r.seed,
                        json.dumps(r.params, sort_keys=True) if r.params else "none applicable",
                        r.replay_command()] for r in found.values()], digits=10)

    written, errors = [], []
    for cid in claim_ids:
        _claim_section(doc, cid, described.get(cid), rows[rows["claim"] == cid], paper_dir, written, errors)

    _references(doc, [paper_id])
    doc.heading("Run metadata", 2)
    meta = run_metadata(rows, metadata)
    doc.table(["key", "value"], [[k, str(v)] for k, v in meta.items()])
    doc.paragraph(f"All {len(rows)} rows: rows.csv (reports.read_rows, or pandas.read_csv with "
                  "low_memory=False).", note=True)

    md_path, html_path = paper_dir / "report.md", paper_dir / "report.html"
    md_path.write_text(doc.to_markdown(), encoding="utf-8")
    html_path.write_text(doc.to_html(), encoding="utf-8")
    return {"markdown": md_path, "html": html_path, "csv": csv_path, "figures": written, "figure_errors": errors}


def read_rows(path):
    """Read a ``rows.csv`` written by :func:`render_paper` / :func:`render_all` back into a DataFrame.

    The tidy rows of different claims share one table, so many ``param.*``, ``point.*`` and
    ``extra.*`` columns are empty for most rows and hold text for a few; ``pandas.read_csv``'s
    default chunked type inference then guesses per chunk and warns (``DtypeWarning``). This
    reads the whole file before inferring each column's type, so those columns come back as
    text consistently (``NaN`` where a row has no value).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    DataFrame
        The rows, columns in the order they were written.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> from netmarl_verify import reports
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "rows.csv"
    >>> pd.DataFrame({"claim": ["a", "b"], "measured": [0.5, 1.0]}).to_csv(p, index=False)
    >>> reports.read_rows(p)["measured"].tolist()
    [0.5, 1.0]
    """
    rows = pd.read_csv(path, low_memory=False)
    if "bound_note" in rows:  # CSV cannot tell "" from missing: the note is text, empty when none
        rows["bound_note"] = rows["bound_note"].fillna("").astype(str)
    return rows


def paper_summary(paper_id, df, paths=None):
    """Verdict counts of one paper, for :func:`render_index`.

    Returns
    -------
    dict
        ``paper, claims, rows, holds, violated, not applicable, claims violated, verdict``,
        ``claim ids`` and ``violated claim ids`` (lists) and the `paths` of :func:`render_paper`
        (``markdown``, ``html``).
    """
    rows = df[df["paper"] == paper_id] if "paper" in df else df.iloc[0:0]
    counts = rows["verdict"].value_counts().to_dict()
    by_claim = summarize(rows) if not rows.empty else None
    out = {
        "paper": paper_id,
        "claims": 0 if by_claim is None else len(by_claim),
        "rows": len(rows),
        HOLDS: int(counts.get(HOLDS, 0)),
        VIOLATED: int(counts.get(VIOLATED, 0)),
        NOT_APPLICABLE: int(counts.get(NOT_APPLICABLE, 0)),
        "claims violated": 0 if by_claim is None else int((by_claim["verdict"] == VIOLATED).sum()),
        "verdict": overall_verdict(counts),
        "claim ids": [] if by_claim is None else [str(c) for c in by_claim["claim"]],
        "violated claim ids": [] if by_claim is None
        else [str(c) for c in by_claim.loc[by_claim["verdict"] == VIOLATED, "claim"]],
    }
    out.update({k: v for k, v in (paths or {}).items() if k in ("markdown", "html")})
    return out


def render_index(out_dir, summaries, metadata=None):
    """Write ``out_dir/index.md`` and ``out_dir/index.html``.

    Parameters
    ----------
    out_dir : path-like
    summaries : iterable of dict
        :func:`paper_summary` dicts; ``markdown``/``html`` paths are linked relative to
        `out_dir`.
    metadata : dict, optional
        Shown below the table (its ``target`` and ``quick`` also in the sentence saying what
        the run covers).

    The table names each paper's violated claims, linked to their sections
    (``qu2020/report.html#qu2020.thm1``); a References section cites the papers.

    Returns
    -------
    dict
        ``{"markdown": Path, "html": Path}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def rel(path):
        p = Path(path)
        try:
            return p.resolve().relative_to(out_dir.resolve()).as_posix()
        except ValueError:
            return p.as_posix()

    summaries = list(summaries)
    headers = ["paper", "claims", "rows", "holds", "violated", "not applicable", "verdict"]
    md_rows, html_rows = [], []
    for s in summaries:
        base = [s.get(h, "") if h != "paper" else s["paper"] for h in headers]
        for out_rows, key in ((md_rows, "markdown"), (html_rows, "html")):
            ids = s.get("violated claim ids", [])
            if key in s:
                named = [Link(c, f"{rel(s[key])}#{claim_anchor(c)}") for c in ids]
                report = Link("report", rel(s[key]))
            else:
                named, report = ", ".join(ids) or "—", ""
            out_rows.append(base + [named, report])
    covered = [c for s in summaries for c in s.get("claim ids", [])]
    n_papers = len(summaries)
    scope = (f"This run covers {len(covered)} claim{'' if len(covered) == 1 else 's'} of {n_papers} "
             f"paper{'' if n_papers == 1 else 's'}")
    if metadata and metadata.get("target") is not None:
        scope += f" (target {metadata['target']}{', --quick' if metadata.get('quick') else ''})"
    scope += (": " + ", ".join(covered) + "." if 0 < len(covered) <= 12 else ".")
    if metadata and metadata.get("wall time (s)") is not None:
        scope += f" Wall time {metadata['wall time (s)']} s"
        scope += f" ({metadata['workers']})." if metadata.get("workers") else "."

    def build(rows):
        doc = Document("netmarl-verify: verification reports")
        doc.paragraph("Claims of the papers checked against exact ground truth on small instances. "
                      "A paper is 'violated' if any row of any of its claims is.")
        doc.paragraph(scope)
        doc.heading("Papers", 2)
        doc.table(headers + ["violated claims", "report"], rows)
        _references(doc, [s["paper"] for s in summaries])
        if metadata:
            doc.heading("Run", 2)
            doc.table(["key", "value"], [[str(k), str(v)] for k, v in metadata.items()])
        return doc

    md_path, html_path = out_dir / "index.md", out_dir / "index.html"
    md_path.write_text(build(md_rows).to_markdown(), encoding="utf-8")
    html_path.write_text(build(html_rows).to_html(), encoding="utf-8")
    return {"markdown": md_path, "html": html_path}


def render_all(df, claims, out_dir, metadata=None, search=None):
    """Reports of every paper in `claims` or `df`, the index and ``out_dir/rows.csv``.

    The folder gets exactly this report: an earlier report in it (listed by its manifest,
    ``netmarl-verify-manifest.json``) is removed first, and a non-empty folder without a
    manifest is refused (see :mod:`netmarl_verify.reports._folder`).

    `search` (optional): counterexample search results, shown per paper (:func:`render_paper`).

    Raises
    ------
    ReportFolderError
        `out_dir` holds files that are not an earlier report; nothing is written.

    Returns
    -------
    dict
        ``{"papers": {paper: render_paper paths}, "index": render_index paths, "csv": Path,
        "manifest": Path}``.
    """
    out_dir = Path(out_dir)
    clear_report_folder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    before = {p for p in out_dir.rglob("*") if p.is_file()}  # the user's files that a manifest kept
    written, complete = [], False
    try:
        claims = list(claims or [])
        papers = list(dict.fromkeys([c.paper for c in claims] + (list(df["paper"]) if "paper" in df else [])))
        csv_path = out_dir / "rows.csv"
        df.to_csv(csv_path, index=False)
        written.append(csv_path)
        paths, summaries = {}, []
        for paper in papers:
            paths[paper] = render_paper(paper, df, claims, out_dir, metadata, index_link=True, search=search)
            p = paths[paper]
            written += [p["markdown"], p["html"], p["csv"], *p["figures"]]
            summaries.append(paper_summary(paper, df, paths[paper]))
        index = render_index(out_dir, summaries, metadata)
        written += [index["markdown"], index["html"]]
        complete = True
    finally:
        new = {p for p in out_dir.rglob("*") if p.is_file()} - before
        manifest = write_manifest(out_dir, set(written) | new, complete,
                                  target=(metadata or {}).get("target"))
    return {"papers": paths, "index": index, "csv": csv_path, "manifest": manifest}
