r"""Display formulas as inline SVG, typeset offline by matplotlib's mathtext.

Why mathtext: matplotlib is already a core dependency, its mathtext engine and the Computer
Modern fonts it ships typeset TeX math without a TeX installation, and its SVG backend writes
every glyph as a path (``svg.fonttype = "path"``). A formula thus becomes a few kilobytes of
SVG inside the page: no script runs, no font or stylesheet is loaded, nothing is fetched when
the page opens, and the page looks the same in every browser. The alternatives were weighed:
MathJax/KaTeX need JavaScript plus their fonts inlined into every page (hundreds of kilobytes)
or a Node.js process at render time, and MathML is rendered unevenly across browsers.

Mathtext understands a subset of LaTeX. :func:`to_mathtext` rewrites the constructs the
claims use that it lacks (``\le``, ``\tfrac``, ``\Big(``, ``\textstyle``, ``\mathbb E``,
``\begin{cases}``, ...) into equivalents; a formula that still cannot be typeset raises
:class:`MathRenderError`, and :class:`~netmarl_verify.reports.Document` then shows its LaTeX
source with a note instead (the tests check that no shipped claim needs that fallback).
"""

import functools
import html
import io
import re

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.mathtext import MathTextParser

from netmarl_verify.envs._errors import NetmarlError

__all__ = ["to_mathtext", "formula_svg", "MathRenderError", "ID_PLACEHOLDER"]

#: Font size of display formulas (points).
FONT_SIZE = 13
#: Replaced by a per-formula prefix in the ids of an SVG (ids must be unique in a page).
ID_PLACEHOLDER = "@MATHID@"

_RC = {"mathtext.fontset": "cm", "svg.fonttype": "path", "svg.hashsalt": "netmarl-verify"}


class MathRenderError(NetmarlError, ValueError):
    """A formula mathtext cannot typeset (the message says why)."""


_SIMPLE = [
    (r"\\le(?![a-zA-Z])", r"\\leq"),
    (r"\\ge(?![a-zA-Z])", r"\\geq"),
    (r"\\ne(?![a-zA-Z])", r"\\neq"),
    (r"\\iff(?![a-zA-Z])", r"\\Leftrightarrow"),
    (r"\\implies(?![a-zA-Z])", r"\\Rightarrow"),
    (r"\\tfrac(?![a-zA-Z])", r"\\frac"),
    (r"\\(?:textstyle|displaystyle|scriptstyle|scriptscriptstyle)(?![a-zA-Z])\s*", ""),
    (r"\\[lr]Vert(?![a-zA-Z])", r"\\Vert"),
    (r"\\[lr]vert(?![a-zA-Z])", "|"),
    # \mathbb E (argument without braces) -> \mathbb{E}
    (r"\\(mathbb|mathcal|mathrm|mathbf|mathit|mathsf|mathfrak)\s+([A-Za-z0-9])", r"\\\1{\2}"),
]

_OPEN = {"(", "[", r"\{", r"\langle", r"\lbrace"}
_CLOSE = {")", "]", r"\}", r"\rangle", r"\rbrace"}
_SIZED = re.compile(r"\\(?:big|Big|bigg|Bigg)([lrm]?)\s*(\\[a-zA-Z]+|\\[{}|]|[()\[\]|./])")


def _text(match):
    r"""``\text{for all}`` -> ``\mathrm{for\ all}`` (mathtext's \text differs between versions)."""
    return r"\mathrm{" + match.group(1).strip().replace(" ", r"\ ") + "}"


def _cases(match):
    r"""``\begin{cases} a & b \\ c & d \end{cases}`` -> ``\left\{ a \quad b;\quad c \quad d \right.``

    Mathtext typesets one line only, so the cases are written side by side, separated by
    semicolons.
    """
    rows = [r.strip() for r in re.split(r"\\\\", match.group(1)) if r.strip()]
    parts = [r" \quad ".join(c.strip() for c in row.split("&")) for row in rows]
    return r"\left\{ " + r";\quad ".join(parts) + r" \right."


def _sized(keep_size):
    def repl(match):
        side, delim = match.groups()
        if keep_size:
            if side == "l" or (not side and delim in _OPEN):
                return r"\left" + delim
            if side == "r" or (not side and delim in _CLOSE):
                return r"\right" + delim
        return delim if delim != "." else ""
    return repl


def _group(tex, i):
    """The argument of a command starting at `tex[i]` (after spaces): ``(text, end)``."""
    while i < len(tex) and tex[i].isspace():
        i += 1
    if i >= len(tex):
        return None, i
    if tex[i] == "{":
        depth, j = 0, i
        while j < len(tex):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            if depth == 0:
                return tex[i + 1:j], j + 1
            j += 2 if tex[j] == "\\" else 1
        return None, i
    if tex[i] == "\\":
        m = re.match(r"\\(?:[a-zA-Z]+|.)", tex[i:])
        return m.group(0), i + len(m.group(0))
    return tex[i], i + 1


def _brace_fractions(tex, display=True):
    r"""``\frac1{|V|}`` -> ``\dfrac{1}{|V|}``: braced arguments (mathtext needs them), and
    display-size fractions outside braces when `display` (as LaTeX's display math has them;
    fractions in exponents and inside other fractions stay small)."""
    out, i, depth = [], 0, 0
    for m in re.finditer(r"\\[d]?frac(?![a-zA-Z])|(?<!\\)[{}]", tex):
        if m.start() < i:
            continue
        if m.group(0) in "{}":
            depth += 1 if m.group(0) == "{" else -1
            continue
        num, j = _group(tex, m.end())
        den, k = _group(tex, j) if num is not None else (None, j)
        if num is None or den is None:
            continue
        big = display and (depth == 0 or m.group(0) == r"\dfrac")
        out += [tex[i:m.start()], r"\dfrac{" if big else r"\frac{", _brace_fractions(num, False), "}{",
                _brace_fractions(den, False), "}"]
        i = k
    return "".join(out) + tex[i:]


def to_mathtext(tex, sized_delimiters=True):
    r"""Rewrite LaTeX math into the subset matplotlib's mathtext typesets.

    Parameters
    ----------
    tex : str
        Math-mode LaTeX without the surrounding ``$``.
    sized_delimiters : bool
        Turn ``\Big(`` ... ``\Big)`` into ``\left(`` ... ``\right)`` (True) or into plain
        delimiters (False; the fallback when the pairs do not match within a group).

    Returns
    -------
    str
        The rewritten formula (still without ``$``).

    Examples
    --------
    >>> to_mathtext(r"a \le \tfrac1{2}")
    'a \\leq \\dfrac{1}{2}'
    >>> to_mathtext(r"\begin{cases} 0 & \text{for}\: t \geq 1 \\ 1 & \text{otherwise} \end{cases}")
    '\\left\\{ 0 \\quad \\mathrm{for}\\: t \\geq 1;\\quad 1 \\quad \\mathrm{otherwise} \\right.'
    """
    out = re.sub(r"\\begin\{cases\}(.*?)\\end\{cases\}", _cases, tex, flags=re.S)
    out = re.sub(r"\\text(?:rm)?\{([^{}]*)\}", _text, out)
    for pattern, repl in _SIMPLE:
        out = re.sub(pattern, repl, out)
    out = _SIZED.sub(_sized(sized_delimiters), out)
    return _brace_fractions(out).strip()


def _check(parser, text, prop):
    parser.parse(f"${text}$", dpi=72, prop=prop)


@functools.lru_cache(maxsize=512)
def formula_svg(tex, fontsize=FONT_SIZE):
    r"""An ``<svg>`` element (text) typesetting the LaTeX formula `tex`.

    The glyphs are paths; the element carries the LaTeX source as its ``<title>`` and
    ``aria-label``. Its ids contain :data:`ID_PLACEHOLDER`, which the caller replaces with a
    prefix unique in the page.

    Raises
    ------
    MathRenderError
        When mathtext cannot parse the formula even after :func:`to_mathtext`.

    Examples
    --------
    >>> svg = formula_svg(r"\frac{\bar r}{1-\rho}\rho^{\kappa+1}")
    >>> svg.startswith("<svg") and "<path" in svg and "$" not in svg
    True
    """
    tex = " ".join(str(tex).split())
    if not tex:
        raise MathRenderError("empty formula")
    with rc_context(_RC):
        prop = FontProperties(size=fontsize)
        parser = MathTextParser("path")
        text, error = None, None
        for sized in (True, False):
            candidate = to_mathtext(tex, sized_delimiters=sized)
            try:
                _check(parser, candidate, prop)
            except ValueError as exc:  # pyparsing's errors are ValueErrors
                error = error or exc
                continue
            text = candidate
            break
        if text is None:
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            raise MathRenderError(f"mathtext cannot typeset this formula: {reason}")
        width, height, depth, _, _ = parser.parse(f"${text}$", dpi=72, prop=prop)
        fig = Figure(figsize=(width / 72, height / 72))
        fig.text(0, depth / height, f"${text}$", fontproperties=prop)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", transparent=True,
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _clean_svg(buf.getvalue(), tex)


def _clean_svg(svg, tex):
    """Inline-ready SVG: no XML prolog, no metadata or global style, ids made replaceable."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<style[^>]*>.*?</style>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{ID_PLACEHOLDER}{m.group(1)}"', svg)
    svg = re.sub(r'(xlink:href|href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{ID_PLACEHOLDER}{m.group(2)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{ID_PLACEHOLDER}{m.group(1)})", svg)
    label = html.escape(tex, quote=True)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
    head_end = svg.index(">") + 1
    return svg[:head_end] + f"<title>{html.escape(tex)}</title>" + svg[head_end:].rstrip() + "\n"
