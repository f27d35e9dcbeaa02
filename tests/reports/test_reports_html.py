"""HTML that reads well in a browser: formulas, contents and anchors, citations, the output folder.

The browser itself is in ``test_reports_browser.py``; these tests read the files.
"""

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from netmarl_verify import reports
from netmarl_verify._cli import main
from netmarl_verify.reports import (
    MANIFEST,
    Document,
    ReportFolderError,
    check_report_folder,
    formula_svg,
    render_all,
    render_paper,
    to_mathtext,
)
from netmarl_verify.reports import _render
from netmarl_verify.verify import PAPERS, REGISTRY, Paper


class _Page(HTMLParser):
    """Ids, links and the text outside <svg>/<style> of an HTML page."""

    def __init__(self, text):
        super().__init__()
        self.ids, self.hrefs, self.text, self._skip = [], [], [], 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs and not self._skip:
            self.ids.append(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag in ("svg", "style", "title"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("svg", "style", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _formulas_of(claims):
    return [(c.id, tex) for c in claims for tex in (c.latex, c.bound_latex) if tex]


# ------------------------------------------------------------------------------ formulas
def test_every_formula_of_the_shipped_claims_is_typeset():
    formulas = _formulas_of(REGISTRY.claims())
    assert len(formulas) >= 20
    doc = Document("all formulas")
    for _, tex in formulas:
        doc.latex(tex)
    page = doc.to_html()
    # no claim needs the fallback that shows LaTeX source: every formula is one inline SVG
    assert doc.math_fallbacks == []
    assert page.count('<div class="math"><svg') == len(formulas)
    assert "$$" not in page and "math-fallback" not in page
    for claim_id, tex in formulas:
        svg = formula_svg(tex)
        assert svg.startswith("<svg") and "<path" in svg, claim_id
        assert "<style" not in svg and "<?xml" not in svg and "<!--" not in svg


@pytest.mark.parametrize("tex, expected", [
    (r"a \le b \ge c", r"a \leq b \geq c"),
    (r"\tfrac1{|V|}", r"\dfrac{1}{|V|}"),
    (r"x^{\frac{a}{2}}", r"x^{\frac{a}{2}}"),  # fractions in exponents stay small
    (r"\mathbb E X", r"\mathbb{E} X"),
    (r"\sqrt{\textstyle\sum_i x}", r"\sqrt{\sum_i x}"),
    (r"A\Big(\frac{a}{b}\Big)", r"A\left(\dfrac{a}{b}\right)"),  # display-size fraction at top level
    (r"p \iff q", r"p \Leftrightarrow q"),
    (r"\begin{cases} 0 & \text{for all} \\ 1 & x \end{cases}",
     r"\left\{ 0 \quad \mathrm{for\ all};\quad 1 \quad x \right."),
])
def test_to_mathtext_rewrites_what_mathtext_lacks(tex, expected):
    assert to_mathtext(tex) == expected
    formula_svg(tex)  # and mathtext typesets the result


def test_untypesettable_formula_falls_back_to_source_with_a_note():
    doc = Document("t")
    doc.heading("a")
    doc.latex(r"\begin{aligned} a &= b \end{aligned}")
    doc.latex(r"\frac{a}{b}")
    page = doc.to_html()
    assert len(doc.math_fallbacks) == 1 and "aligned" in doc.math_fallbacks[0][0]
    assert '<pre class="latex"><code>\\begin{aligned} a &amp;= b \\end{aligned}</code></pre>' in page
    assert "Shown as LaTeX source: mathtext cannot typeset this formula" in page
    assert page.count('<div class="math"><svg') == 1 and "$$" not in page
    assert "$$\n\\begin{aligned} a &= b \\end{aligned}\n$$" in doc.to_markdown()  # markdown keeps the source


def test_svg_ids_are_unique_in_a_page():
    doc = Document("t")
    for _ in range(3):
        doc.latex(r"\rho^{\kappa+1}")
    page = _Page(doc.to_html())
    svg_ids = re.findall(r'\bid="(math\d+-[^"]+)"', doc.to_html())
    assert svg_ids and len(svg_ids) == len(set(svg_ids))
    refs = re.findall(r'href="#(math\d+-[^"]+)"', doc.to_html())
    assert refs and set(refs) <= set(svg_ids)
    assert page.ids.count("top") == 1


# ------------------------------------------------------------------------------ contents, anchors
def test_contents_has_an_anchor_per_claim_and_every_link_resolves(toy_rows, toy_registry, tmp_path):
    out = render_all(toy_rows, toy_registry.claims(), tmp_path, {"target": "toy"})
    html = out["papers"]["toy"]["html"].read_text()
    page = _Page(html)
    assert len(page.ids) == len(set(page.ids))
    toc = re.search(r'<nav id="contents".*?</nav>', html).group(0)
    for cid in ("toy.geometric", "toy.geometric_wrong_constant"):
        assert f'href="#{cid}"' in toc and cid in page.ids
    assert 'href="#summary"' in toc and 'href="#references"' in toc and 'href="#run-metadata"' in toc
    assert '<span class="badge violated">violated</span>' in toc
    for href in page.hrefs:
        if href.startswith("#"):
            assert href[1:] in page.ids, href
    # the summary table links the claims to their sections; the page links back to the index
    assert '<a href="#toy.geometric">toy.geometric</a>' in html
    assert '<nav class="up"><a href="../index.html">' in html
    assert (tmp_path / "toy" / "../index.html").resolve().is_file()
    md = out["papers"]["toy"]["markdown"].read_text()
    assert md.startswith("[← all reports (index)](../index.md)")
    assert '<a id="toy.geometric_wrong_constant"></a>\n\n## toy.geometric_wrong_constant' in md
    # the index page: every local link resolves to a file, and fragments to an id of that file
    index = out["index"]["html"]
    for href in _Page(index.read_text()).hrefs:
        if href.startswith(("http://", "https://")):
            continue
        target, _, fragment = href.partition("#")
        path = (index.parent / target) if target else index
        assert path.is_file(), href
        if fragment:
            assert fragment in _Page(path.read_text()).ids, href


def test_render_paper_alone_has_no_index_link(toy_rows, toy_registry, tmp_path):
    html = render_paper("toy", toy_rows, toy_registry.claims(), tmp_path)["html"].read_text()
    assert 'class="up"' not in html and 'id="contents"' in html


# ------------------------------------------------------------------------------ citations
def test_reports_cite_the_paper_and_never_name_its_text_file(toy_rows, toy_registry, tmp_path, monkeypatch):
    ref = Paper("toy", ("A. Author", "B. Writer", "C. Third"), "A Toy Paper", "Journal of Toys", 2021,
                arxiv="2101.00001")
    monkeypatch.setitem(PAPERS, "toy", ref)
    out = render_all(toy_rows, toy_registry.claims(), tmp_path)
    for path in (out["papers"]["toy"]["markdown"], out["papers"]["toy"]["html"],
                 out["index"]["markdown"], out["index"]["html"]):
        text = path.read_text()
        assert ".txt" not in text and "shared" not in text, path
        assert "A. Author, B. Writer, C. Third" in text and "A Toy Paper" in text and "Journal of Toys, 2021" in text
        assert "2101.00001" in text and "https://arxiv.org/abs/2101.00001" in text
    md = out["papers"]["toy"]["markdown"].read_text()
    assert f"**Paper:** [{ref.citation()}](https://arxiv.org/abs/2101.00001)" in md
    assert "**Source:** Eq. (1) of [Author et al. (2021)](https://arxiv.org/abs/2101.00001) (see References)" in md
    assert "## References" in md
    assert ("| toy | A. Author, B. Writer, C. Third | A Toy Paper | Journal of Toys, 2021 | "
            "[2101.00001](https://arxiv.org/abs/2101.00001) |") in md
    assert "## References" in out["index"]["markdown"].read_text()


def test_paper_without_reference_is_said_so(toy_rows, toy_registry, tmp_path):
    md = render_paper("toy", toy_rows, toy_registry.claims(), tmp_path)["markdown"].read_text()
    assert "**Paper:** toy (no bibliographic reference registered)." in md
    assert "No bibliographic reference is registered for toy" in md
    assert "toy.txt" not in md


def test_qu2020_reference_table_row():
    doc = Document("t")
    _render._references(doc, ["qu2020", "chen2024"])
    md = doc.to_markdown()
    assert "| qu2020 | G. Qu, Y. Lin, A. Wierman, N. Li | Scalable Multi-Agent" in md
    assert "[2006.06626](https://arxiv.org/abs/2006.06626)" in md
    assert "[none (https://openreview.net/forum?id=tLHd9gg57A)](https://openreview.net/forum?id=tLHd9gg57A)" in md


# ------------------------------------------------------------------------------ the output folder
def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_rerun_replaces_the_earlier_report_whole(toy_rows, toy_registry, tmp_path):
    out = tmp_path / "out"
    first = render_all(toy_rows, toy_registry.claims(), out, {"target": "toy"})
    assert (out / "toy" / "toy.geometric-1.png").is_file()
    manifest = json.loads(first["manifest"].read_text())
    assert manifest["complete"] and manifest["files"] == [f for f in _files(out) if f != MANIFEST]
    (out / "notes.txt").write_text("mine")  # a user's file: not in the manifest, kept

    one = toy_rows[toy_rows["claim"] == "toy.geometric_wrong_constant"]
    claim = toy_registry.get("toy.geometric_wrong_constant")
    render_all(one, [claim], out, {"target": "toy.geometric_wrong_constant"})
    assert not (out / "toy" / "toy.geometric-1.png").exists()  # no stale figure of the first run
    assert (out / "notes.txt").read_text() == "mine"
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == set(_files(out)) - {MANIFEST, "notes.txt"}
    index = (out / "index.md").read_text()
    assert ("This run covers 1 claim of 1 paper (target toy.geometric_wrong_constant): "
            "toy.geometric_wrong_constant.") in index
    assert "## toy.geometric\n" not in (out / "toy" / "report.md").read_text()
    assert len(reports.read_rows(out / "rows.csv")) == len(one)


def test_folder_with_other_files_is_refused_and_left_alone(toy_rows, toy_registry, tmp_path):
    (tmp_path / "thesis.tex").write_text("x")
    (tmp_path / "figures").mkdir()
    with pytest.raises(ReportFolderError) as info:
        render_all(toy_rows, toy_registry.claims(), tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "thesis.tex" in message and "figures/" in message
    assert MANIFEST in message and "not empty" in message
    assert _files(tmp_path) == ["thesis.tex"]


def test_folder_checks(tmp_path):
    assert check_report_folder(tmp_path / "new") is None
    assert check_report_folder(tmp_path) is None  # empty
    (tmp_path / "file").write_text("x")
    with pytest.raises(ReportFolderError, match="it is a file, not a folder"):
        check_report_folder(tmp_path / "file")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / MANIFEST).write_text("{not json")
    with pytest.raises(ReportFolderError, match="cannot be read as the manifest"):
        check_report_folder(bad)


def test_manifest_outside_its_folder_is_not_followed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (out / MANIFEST).write_text(json.dumps({"tool": "netmarl-verify", "files": ["../victim.txt"]}))
    reports._folder.clear_report_folder(out)
    assert victim.read_text() == "keep"


def test_failed_render_still_writes_a_manifest(toy_rows, toy_registry, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("index failed")

    monkeypatch.setattr(_render, "render_index", boom)
    with pytest.raises(RuntimeError):
        render_all(toy_rows, toy_registry.claims(), tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["complete"] is False and "toy/toy.geometric-1.png" in manifest["files"]
    monkeypatch.undo()
    one = toy_rows[toy_rows["claim"] == "toy.geometric_wrong_constant"]
    render_all(one, [toy_registry.get("toy.geometric_wrong_constant")], tmp_path)  # replaces the partial one
    assert not (tmp_path / "toy" / "toy.geometric-1.png").exists()


def test_cli_refuses_a_foreign_folder_before_running(toy_registry, tmp_path, capsys, monkeypatch):
    (tmp_path / "data.csv").write_text("1")
    ran = []
    monkeypatch.setattr("netmarl_verify._cli._checks", lambda *a: ran.append(1))
    assert main(["report", "toy", "--quick", "--out", str(tmp_path)], registry=toy_registry) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"netmarl-verify: error: refusing to write the report into {tmp_path}")
    assert "data.csv" in err and not ran


def test_cli_one_claim_rerun_leaves_no_stale_figure(toy_registry, tmp_path, capsys):
    assert main(["report", "toy", "--quick", "--out", str(tmp_path)], registry=toy_registry) == 0
    assert (tmp_path / "toy" / "toy.geometric-1.png").is_file()
    assert main(["report", "toy.geometric_wrong_constant", "--quick", "--out", str(tmp_path)],
                registry=toy_registry) == 0
    assert not (tmp_path / "toy" / "toy.geometric-1.png").exists()
    index = (tmp_path / "index.md").read_text()
    assert "1 claim of 1 paper (target toy.geometric_wrong_constant, --quick)" in index


# ------------------------------------------------------------------------------ integer axes
def test_integer_x_data_get_integer_ticks():
    fig = reports.decay_plot(np.arange(6), 0.5 ** np.arange(6), 0.6 ** np.arange(6))
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    assert len(ticks) >= 3 and np.all(ticks == np.round(ticks))
    reports.figures.close(fig)
    fig = reports.decay_plot([0, 1], [1.0, 0.5])  # two points: the default locator would put 0.25
    assert np.all(np.mod(fig.axes[0].get_xticks(), 1) == 0)
    reports.figures.close(fig)
    fig = reports.decay_plot([0.1, 0.35, 0.6], [1.0, 0.5, 0.2])  # real x: ticks left to matplotlib
    assert not np.all(np.mod(fig.axes[0].get_xticks(), 1) == 0)
    reports.figures.close(fig)
