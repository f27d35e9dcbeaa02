"""A report as a list of blocks, rendered to markdown and to self-contained HTML.

Writing the blocks once and rendering them twice keeps the two formats in step without a
markdown-to-HTML converter. The HTML has inline CSS, figures embedded as base64 PNG
(``<img src="data:image/png;base64,...">``) and formulas typeset as inline SVG by matplotlib's
mathtext (:mod:`netmarl_verify.reports._math`); it runs no script and loads nothing from
anywhere. It opens with a table of contents (one entry per level-2 heading, each heading an
anchor) and, when the document has an :meth:`Document.up` link, a link back to the index. The
markdown keeps formulas as ``$$`` LaTeX source (GitHub renders it).
"""

import base64
import html
import re

from ._math import ID_PLACEHOLDER, MathRenderError, formula_svg
from ._tables import Link, html_table, markdown_table

__all__ = ["Document", "CSS", "slug"]

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 72em;
       margin: 2em auto; padding: 0 1em; line-height: 1.45; color: #222; }
h1, h2, h3 { line-height: 1.2; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0 1em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.holds { background: #e6f4ea; }
.violated { background: #fce8e6; font-weight: bold; }
.na { background: #f1f3f4; color: #555; }
.latex { background: #f7f7f9; border: 1px solid #e1e1e8; padding: .4em .8em; overflow-x: auto;
         font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; }
.math { margin: .5em 0 .8em 1.5em; overflow-x: auto; overflow-y: hidden; }
.math svg { display: block; max-width: none; }
nav.up { font-size: .9em; margin-bottom: -1em; }
nav#contents { background: #fafafa; border: 1px solid #ddd; padding: .2em 1.2em .6em 1.2em; margin: 1em 0; }
nav#contents h2 { border: none; margin: .4em 0; font-size: 1.1em; }
nav#contents ol { margin: 0; padding-left: 1.6em; }
nav#contents ol.columns { columns: 2 24em; }
nav#contents li { break-inside: avoid; }
.badge { font-size: .8em; padding: 0 .35em; border-radius: .3em; }
a.toplink { float: right; font-size: .6em; font-weight: normal; text-decoration: none; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .85em; color: #555; }
.note { font-size: .85em; color: #555; }
code { background: #f3f3f3; padding: 0 .2em; }
"""


def verdict_class(header, value):
    """CSS class of a verdict cell."""
    if header in ("verdict", "claim verdict"):
        return {"holds": "holds", "violated": "violated", "not applicable": "na"}.get(value)
    return None


def slug(text):
    """An HTML id made of `text`: lower case, runs of other characters than ``a-z0-9._-`` -> ``-``.

    Examples
    --------
    >>> slug("Run metadata"), slug("qu2020.thm1")
    ('run-metadata', 'qu2020.thm1')
    """
    return re.sub(r"[^a-z0-9._-]+", "-", str(text).lower()).strip("-") or "section"


def _pieces(text):
    """A paragraph's text as a list of str / Link pieces."""
    return list(text) if isinstance(text, (list, tuple)) else [text]


class Document:
    """Blocks of a report.

    Parameters
    ----------
    title : str

    Attributes
    ----------
    math_fallbacks : list of (str, str)
        After :meth:`to_html`: the formulas shown as LaTeX source because mathtext could not
        typeset them, with the reason.
    """

    def __init__(self, title):
        self.title = title
        self.blocks = []
        self.up_link = None
        self.math_fallbacks = []

    def up(self, text, html_target, markdown_target):
        """A link shown above the title (e.g. back to the index), one target per format."""
        self.up_link = (text, html_target, markdown_target)

    def heading(self, text, level=2, anchor=None, badge=None):
        """A section heading (level 2 or 3; the title is level 1).

        Level-2 headings are listed in the HTML table of contents and get an id: `anchor`, or
        :func:`slug` of the text. `badge` (e.g. a verdict) is shown beside the contents entry.
        """
        self.blocks.append(("heading", level, text, anchor, badge))

    def paragraph(self, text, label=None, note=False):
        """Plain text, optionally starting with a bold `label`.

        `text` is a string or a list of strings and :class:`Link` objects (inline links).
        """
        self.blocks.append(("paragraph", label, text, note))

    def code(self, text, label=None):
        """Inline code after an optional bold label (e.g. a file name)."""
        self.blocks.append(("code", label, text))

    def latex(self, tex):
        """A display formula: typeset as SVG in HTML, LaTeX source between ``$$`` in markdown."""
        self.blocks.append(("latex", tex))

    def bullets(self, items):
        """A bullet list of plain-text items."""
        self.blocks.append(("bullets", list(items)))

    def table(self, headers, rows, note=None, digits=4):
        """A table; `note` is printed below it; floats with `digits` significant digits."""
        self.blocks.append(("table", list(headers), [list(r) for r in rows], note, digits))

    def figure(self, png, filename, caption):
        """A figure: `filename` (relative to the markdown file) and its PNG bytes."""
        self.blocks.append(("figure", png, filename, caption))

    def link(self, text, target, label=None):
        """A relative link (index pages)."""
        self.blocks.append(("link", label, text, target))

    # -- markdown -------------------------------------------------------------------------

    def to_markdown(self):
        """The document as GitHub-flavoured markdown."""
        out = []
        if self.up_link is not None:
            out += [f"[{self.up_link[0]}]({self.up_link[2]})", ""]
        out += [f"# {self.title}", ""]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                _, level, text, anchor, _ = block
                if anchor:  # an explicit anchor other documents link to (renderers' own slugs differ)
                    out += [f'<a id="{html.escape(anchor)}"></a>', ""]
                out += ["#" * level + " " + text, ""]
            elif kind == "paragraph":
                _, label, text, note = block
                text = "".join(f"[{p.text}]({p.target})" if isinstance(p, Link) else str(p)
                               for p in _pieces(text))
                text = f"**{label}** {text}" if label else text
                out += [f"*{text}*" if note else text, ""]
            elif kind == "code":
                _, label, text = block
                out += [(f"**{label}** " if label else "") + f"`{text}`", ""]
            elif kind == "latex":
                out += ["$$", block[1], "$$", ""]
            elif kind == "bullets":
                out += [f"- {item}" for item in block[1]] + [""]
            elif kind == "table":
                _, headers, rows, note, digits = block
                out += [markdown_table(headers, rows, digits), ""]
                if note:
                    out += [f"*{note}*", ""]
            elif kind == "figure":
                _, _, filename, caption = block
                out += [f"![{caption}]({filename})", "", f"*{caption}*", ""]
            elif kind == "link":
                _, label, text, target = block
                out += [(f"**{label}** " if label else "") + f"[{text}]({target})", ""]
        return "\n".join(out).rstrip() + "\n"

    # -- HTML -----------------------------------------------------------------------------

    def _ids(self):
        """The id of every level-2 heading (block index -> id), unique in the page."""
        ids, used = {}, {"contents", "top"}
        for k, block in enumerate(self.blocks):
            if block[0] == "heading" and (block[1] == 2 or block[3]):
                base = block[3] or slug(block[2])
                name, n = base, 2
                while name in used:
                    name, n = f"{base}-{n}", n + 1
                used.add(name)
                ids[k] = name
        return ids

    def _contents(self, ids):
        e = html.escape
        items = []
        for k, name in ids.items():
            _, level, text, _, badge = self.blocks[k]
            if level != 2:
                continue
            extra = ""
            if badge:
                cls = {"holds": "holds", "violated": "violated", "not applicable": "na"}.get(badge, "")
                extra = f' <span class="badge {cls}">{e(badge)}</span>'
            items.append(f'<li><a href="#{e(name)}">{e(text)}</a>{extra}</li>')
        cls = ' class="columns"' if len(items) > 8 else ""
        return (f'<nav id="contents" aria-label="Contents"><h2>Contents</h2><ol{cls}>' + "".join(items)
                + "</ol></nav>")

    def _formula(self, tex, number):
        e = html.escape
        try:
            svg = formula_svg(tex)
        except MathRenderError as exc:
            self.math_fallbacks.append((tex, str(exc)))
            return (f'<div class="math-fallback"><pre class="latex"><code>{e(tex)}</code></pre>'
                    f'<p class="note">Shown as LaTeX source: {e(str(exc))}.</p></div>')
        return f'<div class="math">{svg.replace(ID_PLACEHOLDER, f"math{number}-")}</div>'

    def to_html(self, contents=True):
        """The document as one self-contained HTML page.

        Parameters
        ----------
        contents : bool
            Open with a table of contents of the level-2 headings (when there are two or more).
        """
        e = html.escape
        self.math_fallbacks = []
        ids = self._ids()
        n_sections = sum(1 for k in ids if self.blocks[k][1] == 2)
        toc = contents and n_sections >= 2
        body = []
        if self.up_link is not None:
            body.append(f'<nav class="up"><a href="{e(self.up_link[1])}">{e(self.up_link[0])}</a></nav>')
        body.append(f'<h1 id="top">{e(self.title)}</h1>')
        toc_done = not toc
        n_math = 0
        for k, block in enumerate(self.blocks):
            kind = block[0]
            if kind == "heading":
                _, level, text, _, _ = block
                if level == 2 and not toc_done:
                    body.append(self._contents(ids))
                    toc_done = True
                attr = f' id="{e(ids[k])}"' if k in ids else ""
                back = ' <a class="toplink" href="#contents">&uarr; contents</a>' if toc and level == 2 else ""
                body.append(f"<h{level}{attr}>{e(text)}{back}</h{level}>")
            elif kind == "paragraph":
                _, label, text, note = block
                cls = ' class="note"' if note else ""
                content = "".join(f'<a href="{e(p.target)}">{e(p.text)}</a>' if isinstance(p, Link) else e(str(p))
                                  for p in _pieces(text))
                body.append(f"<p{cls}>" + (f"<strong>{e(label)}</strong> " if label else "") + f"{content}</p>")
            elif kind == "code":
                _, label, text = block
                body.append("<p>" + (f"<strong>{e(label)}</strong> " if label else "") + f"<code>{e(text)}</code></p>")
            elif kind == "latex":
                n_math += 1
                body.append(self._formula(block[1], n_math))
            elif kind == "bullets":
                body.append("<ul>" + "".join(f"<li>{e(str(i))}</li>" for i in block[1]) + "</ul>")
            elif kind == "table":
                _, headers, rows, note, digits = block
                body.append(html_table(headers, rows, digits, cell_class=verdict_class))
                if note:
                    body.append(f'<p class="note">{e(note)}</p>')
            elif kind == "figure":
                _, png, _, caption = block
                data = base64.b64encode(png).decode("ascii")
                body.append(
                    f'<figure><img src="data:image/png;base64,{data}" alt="{e(caption)}">'
                    f"<figcaption>{e(caption)}</figcaption></figure>"
                )
            elif kind == "link":
                _, label, text, target = block
                body.append("<p>" + (f"<strong>{e(label)}</strong> " if label else "")
                            + f'<a href="{e(target)}">{e(text)}</a></p>')
        return (
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{e(self.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body)
            + "\n</body>\n</html>\n"
        )
