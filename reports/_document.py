"""A report as a list of blocks, rendered to markdown and to self-contained HTML.

Writing the blocks once and rendering them twice keeps the two formats in step without a
markdown-to-HTML converter. The HTML has inline CSS and figures embedded as base64 PNG
(``<img src="data:image/png;base64,...">``); it loads nothing from anywhere. There is no
MathJax offline, so LaTeX is shown as text between ``$$`` in a code-styled block.
"""

import base64
import html

from ._tables import html_table, markdown_table

__all__ = ["Document", "CSS"]

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


class Document:
    """Blocks of a report.

    Parameters
    ----------
    title : str
    """

    def __init__(self, title):
        self.title = title
        self.blocks = []

    def heading(self, text, level=2):
        """A section heading (level 2 or 3; the title is level 1)."""
        self.blocks.append(("heading", level, text))

    def paragraph(self, text, label=None, note=False):
        """Plain text, optionally starting with a bold `label`."""
        self.blocks.append(("paragraph", label, text, note))

    def code(self, text, label=None):
        """Inline code after an optional bold label (e.g. a file name)."""
        self.blocks.append(("code", label, text))

    def latex(self, tex):
        """A display formula shown as LaTeX source between ``$$``."""
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
        out = [f"# {self.title}", ""]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                out += ["#" * block[1] + " " + block[2], ""]
            elif kind == "paragraph":
                _, label, text, note = block
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

    def to_html(self):
        """The document as one self-contained HTML page."""
        e = html.escape
        body = [f"<h1>{e(self.title)}</h1>"]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                body.append(f"<h{block[1]}>{e(block[2])}</h{block[1]}>")
            elif kind == "paragraph":
                _, label, text, note = block
                cls = ' class="note"' if note else ""
                body.append(f"<p{cls}>" + (f"<strong>{e(label)}</strong> " if label else "") + f"{e(text)}</p>")
            elif kind == "code":
                _, label, text = block
                body.append("<p>" + (f"<strong>{e(label)}</strong> " if label else "") + f"<code>{e(text)}</code></p>")
            elif kind == "latex":
                body.append(f'<pre class="latex">$$ {e(block[1])} $$</pre>')
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
            f"<title>{e(self.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body)
            + "\n</body>\n</html>\n"
        )
