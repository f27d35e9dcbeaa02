"""Every $...$ math segment in a string literal of the shipped claims (figure titles, series labels, axis labels)
is valid matplotlib mathtext: a label like ``$1-L\\eta\\ge1/2$`` or ``$\\mathcal F_{R,M}$`` otherwise fails only when
``report`` draws the figure (it did, for gu2021.assump5_3_L and gu2021.lemmaC2_rf). f-strings are skipped (their
parts are not whole labels); the claims' ``latex=`` formulas are typeset by tests/reports/test_reports_html.py."""

import ast
import re
from pathlib import Path

import matplotlib
import pytest

import netmarl_verify.verify.claims as claims_pkg

matplotlib.use("Agg")


def _math_segments():
    root = Path(claims_pkg.__file__).parent
    out = []
    for f in sorted(root.rglob("*.py")):
        tree = ast.parse(f.read_text())
        skip = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
        for node in ast.walk(tree):                 # docstrings: reST, not labels
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                    and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                s = node.value
                if s.count("$") >= 2 and s.count("$") % 2 == 0:
                    out += [(f"{f.relative_to(root)}:{node.lineno}", seg) for seg in re.findall(r"\$([^$]+)\$", s)]
    return out


SEGMENTS = _math_segments()


def test_there_are_labels_to_check():
    assert len(SEGMENTS) > 50


@pytest.mark.parametrize("where, seg", SEGMENTS, ids=[w for w, _ in SEGMENTS])
def test_label_math_is_mathtext(where, seg):
    from matplotlib.mathtext import MathTextParser

    MathTextParser("agg").parse(f"${seg}$")
