"""Small markdown and HTML table formatters (no tabulate dependency).

Cells are Python values; :func:`format_value` turns them into text (floats with 4 significant
digits by default, NaN as an em dash). Numeric columns are right-aligned.
"""

import html
import math
import numbers

import numpy as np

__all__ = ["format_value", "markdown_table", "html_table", "Link"]

NAN_TEXT = "—"


class Link:
    """A table cell holding a link: ``[text](target)`` / ``<a href="target">text</a>``.

    A cell may also hold a list of links, shown separated by commas.
    """

    def __init__(self, text, target):
        self.text = str(text)
        self.target = str(target)

    def __repr__(self):
        return f"Link({self.text!r}, {self.target!r})"


def format_value(value, digits=4):
    """Text of one table cell.

    Examples
    --------
    >>> format_value(0.123456789), format_value(float("nan")), format_value(True), format_value(12)
    ('0.1235', '—', 'yes', '12')
    """
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return NAN_TEXT
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value:.{digits}g}"
    return str(value)


def _is_links(value):
    return isinstance(value, (list, tuple)) and all(isinstance(x, Link) for x in value)


def _html_link(link):
    return f'<a href="{html.escape(link.target)}">{html.escape(link.text)}</a>'


def _is_numeric(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _alignments(headers, rows):
    right = []
    for k in range(len(headers)):
        column = [r[k] for r in rows if r[k] is not None]
        right.append(bool(column) and all(_is_numeric(v) for v in column))
    return right


def _check(headers, rows):
    rows = [list(r) for r in rows]
    for i, r in enumerate(rows):
        if len(r) != len(headers):
            raise ValueError(f"table row {i} has {len(r)} cells for {len(headers)} headers")
    return rows


def markdown_table(headers, rows, digits=4):
    """A GitHub-flavoured markdown table.

    Parameters
    ----------
    headers : sequence of str
    rows : iterable of sequences
        Same length as `headers`.
    digits : int
        Significant digits of floats.

    Returns
    -------
    str
    """
    rows = _check(headers, rows)
    right = _alignments(headers, rows)

    def cell(v):
        if _is_links(v):
            return ", ".join(cell(x) for x in v) or NAN_TEXT
        if isinstance(v, Link):
            return f"[{v.text.replace('|', '/')}]({v.target})"
        text = v if isinstance(v, str) else format_value(v, digits)
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---:" if r else ":---" for r in right) + "|")
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def html_table(headers, rows, digits=4, cell_class=None):
    """An HTML ``<table>`` (cells escaped).

    Parameters
    ----------
    headers, rows, digits
        As in :func:`markdown_table`.
    cell_class : callable, optional
        ``cell_class(header, value) -> str or None``: a CSS class for a cell (verdict colours).

    Returns
    -------
    str
    """
    rows = _check(headers, rows)
    right = _alignments(headers, rows)
    out = ["<table>", "<thead><tr>"]
    out += [f"<th>{html.escape(str(h))}</th>" for h in headers]
    out.append("</tr></thead>")
    out.append("<tbody>")
    for r in rows:
        out.append("<tr>")
        for h, v, is_right in zip(headers, r, right):
            classes = []
            if is_right:
                classes.append("num")
            extra = cell_class(h, v) if cell_class is not None else None
            if extra:
                classes.append(extra)
            attr = f' class="{" ".join(classes)}"' if classes else ""
            if _is_links(v):
                content = ", ".join(_html_link(x) for x in v) or NAN_TEXT
            elif isinstance(v, Link):
                content = _html_link(v)
            else:
                content = html.escape(v if isinstance(v, str) else format_value(v, digits))
            out.append(f"<td{attr}>{content}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)
