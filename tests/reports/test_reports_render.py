"""End-to-end report rendering on the toy claims."""

import base64
import json
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from netmarl_verify import reports
from netmarl_verify.reports import paper_summary, render_all, render_index, render_paper


def test_render_paper_files(toy_rows, toy_registry, tmp_path):
    paths = render_paper("toy", toy_rows, toy_registry.claims(), tmp_path, {"command": "pytest", "seed": 0})
    assert paths["markdown"] == tmp_path / "toy" / "report.md"
    for key in ("markdown", "html", "csv"):
        assert paths[key].is_file()
    assert [p.name for p in paths["figures"]] == ["toy.geometric-1.png"]
    assert paths["figures"][0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plt.get_fignums() == []  # figures are closed


def test_markdown_content(toy_rows, toy_registry, tmp_path):
    md = render_paper("toy", toy_rows, toy_registry.claims(), tmp_path, {"command": "pytest"})["markdown"]
    text = md.read_text()
    for expected in (
        "## toy.geometric — Eq. (1)",
        "## toy.geometric_wrong_constant — Eq. (2)",
        r"\sum_{k=0}^{K} a r^k \le \frac{a}{1-r}",  # statement LaTeX
        r"\frac{a}{1 - r}",  # sympy.latex of the bound
        "| instance | assumption | holds | measured | required | detail |",
        "| r=1.5 | 0 <= r < 1 | no | 1.5 | < 1 | the series converges |",
        "![Figure 1 of toy.geometric",
        "(toy.geometric-1.png)",
        "violated — 3 holds, 3 violated, 3 not applicable (of 9 rows)",
        "Smallest counterexample: instance r=0.3",
        "holds — 6 holds, 0 violated, 3 not applicable (of 9 rows)",
        "## Run metadata",
        "| command | pytest |",
        "| netmarl-verify |",
        "| numpy |",
        "| blas |",
        "| platform |",
    ):
        assert expected in text, expected
    # every image the markdown references exists next to it
    for name in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (md.parent / name).is_file()


def test_html_is_self_contained(toy_rows, toy_registry, tmp_path):
    paths = render_paper("toy", toy_rows, toy_registry.claims(), tmp_path)
    html = paths["html"].read_text()
    assert html.startswith("<!DOCTYPE html>")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 1
    assert base64.b64decode(images[0]) == paths["figures"][0].read_bytes()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<script" not in html and "<link" not in html
    # formulas are typeset as inline SVG (the LaTeX source is the accessible name), never raw $$
    assert '<svg role="img" aria-label="\\frac{a}{1 - r}"' in html
    assert "$$" not in html
    assert 'class="violated"' in html and 'class="holds"' in html and 'class="na"' in html


def test_csv_round_trip(toy_rows, toy_registry, tmp_path):
    csv = render_paper("toy", toy_rows, toy_registry.claims(), tmp_path)["csv"]
    back = reports.read_rows(csv)
    for column in ("claim", "verdict", "measured", "bound"):  # NaN == NaN here (bounds not defined)
        pd.testing.assert_series_equal(back[column], toy_rows[column].reset_index(drop=True), check_dtype=False)
    assert_frame_equal(back, toy_rows.reset_index(drop=True), check_dtype=False)
    # JSON cells decode back to the parameters and points
    assert [json.loads(p) for p in back["point"]] == [json.loads(p) for p in toy_rows["point"]]


def test_render_all_and_index(toy_rows, toy_registry, tmp_path):
    out = render_all(toy_rows, toy_registry.claims(), tmp_path, {"command": "pytest"})
    assert set(out["papers"]) == {"toy"}
    md = out["index"]["markdown"].read_text()
    html = out["index"]["html"].read_text()
    assert ("| toy | 2 | 18 | 9 | 3 | 6 | violated | "
            "[toy.geometric_wrong_constant](toy/report.md#toy.geometric_wrong_constant) | [report](toy/report.md) |") in md
    assert '<a href="toy/report.html">report</a>' in html
    assert '<a href="toy/report.html#toy.geometric_wrong_constant">toy.geometric_wrong_constant</a>' in html
    assert len(pd.read_csv(out["csv"])) == 18


def test_summary_counts(toy_rows):
    s = paper_summary("toy", toy_rows)
    assert (s["claims"], s["rows"], s["holds"], s["violated"], s["not applicable"]) == (2, 18, 9, 3, 6)
    assert s["verdict"] == "violated" and s["claims violated"] == 1


def test_render_from_rows_only(toy_rows, tmp_path):
    # Without claim descriptions (e.g. re-rendering a saved rows.csv) every claim still gets a section.
    paths = render_paper("toy", toy_rows, None, tmp_path)
    text = paths["markdown"].read_text()
    assert "## toy.geometric\n" in text and "## toy.geometric_wrong_constant\n" in text
    assert paths["figures"] == []


def test_index_of_nothing(tmp_path):
    out = render_index(tmp_path, [])
    assert "| paper |" in out["markdown"].read_text()


def test_failing_figure_names_the_claim_and_keeps_the_report(toy_rows, toy_registry, tmp_path):
    claim = toy_registry.get("toy.geometric")

    def broken(rows, plots):
        plt.figure()  # a half-drawn pyplot figure must not leak
        return 1 / 0

    claim.figure = broken
    paths = render_paper("toy", toy_rows, [claim], tmp_path)
    assert paths["figure_errors"] == ["the figure of claim 'toy.geometric' failed: ZeroDivisionError: division by zero"]
    assert paths["figures"] == []
    assert plt.get_fignums() == []
    md = paths["markdown"].read_text()
    assert "Not drawn: the figure of claim 'toy.geometric' failed: ZeroDivisionError" in md
    assert "### Verdict" in md  # the section goes on after the failed figure
    assert "Not drawn" in paths["html"].read_text()
    assert len(pd.read_csv(paths["csv"])) == (toy_rows["paper"] == "toy").sum()


def test_figure_that_cannot_be_saved_is_reported(toy_rows, toy_registry, tmp_path):
    claim = toy_registry.get("toy.geometric")
    claim.figure = lambda rows, plots: object()  # not a matplotlib figure: figure_png fails on it
    paths = render_paper("toy", toy_rows, [claim], tmp_path)
    assert len(paths["figure_errors"]) == 1 and "toy.geometric" in paths["figure_errors"][0]
    assert "Figure 1 not drawn" in paths["markdown"].read_text()


def test_read_rows_reads_sparse_text_columns_without_dtype_warning(tmp_path):
    # A column empty for the first ~300k rows and text after: pandas' chunked inference warns,
    # read_rows (filterwarnings = error would turn a warning into a failure) does not.
    n = 300_000
    df = pd.DataFrame({"measured": np.arange(n, dtype=float), "point.check": [np.nan] * (n - 2) + ["slope", "ratio"]})
    path = tmp_path / "rows.csv"
    df.to_csv(path, index=False)
    with pytest.warns(pd.errors.DtypeWarning):
        pd.read_csv(path)
    back = reports.read_rows(path)
    assert back["point.check"].iloc[-2:].tolist() == ["slope", "ratio"]
    assert back["point.check"].isna().sum() == n - 2
    assert_frame_equal(back, df)


def test_bounds_outside_the_hypotheses_are_shown_as_not_defined(toy_rows, toy_registry, tmp_path):
    """r = 1.5 makes a/(1-r) negative: the report shows no number there, and says why."""
    md = render_paper("toy", toy_rows, toy_registry.claims(), tmp_path)["markdown"].read_text()
    na_lines = [line for line in md.splitlines() if line.startswith("| r=1.5 |") and "not applicable" in line]
    assert na_lines and all("| not defined | — |" in line for line in na_lines)
    assert "“not defined”: on a not-applicable row the bound's formula bounds nothing" in md
    assert "outside the hypotheses (0 <= r < 1" in md
    assert "-2" not in "".join(na_lines).split("not defined")[1]  # no negative bound anywhere after
