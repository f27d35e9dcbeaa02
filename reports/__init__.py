"""Rendering of verification results: markdown, self-contained HTML, CSV, figures.

``render_paper`` writes one paper's report (``report.md``, ``report.html`` with embedded
figures and formulas typeset as SVG, ``rows.csv``, PNG figures), ``render_index`` the index of
all papers, ``render_all`` both, replacing an earlier report in the folder whole (and refusing a
folder holding anything else: :class:`ReportFolderError`); :mod:`netmarl_verify.reports.figures`
has the decay and log-log error plots. Figures are built as :class:`matplotlib.figure.Figure`
objects, not through pyplot, and rendered with the Agg canvas, so importing this package
never switches the matplotlib backend of a user's interactive session.
"""

from . import figures
from ._document import Document
from ._folder import MANIFEST, ReportFolderError, check_report_folder
from ._math import MathRenderError, formula_svg, to_mathtext
from ._render import (
    claim_anchor,
    paper_summary,
    read_rows,
    render_all,
    render_index,
    render_paper,
    run_metadata,
)
from ._tables import Link, format_value, html_table, markdown_table
from .figures import decay_plot, loglog_error

__all__ = [
    "ReportFolderError",
    "check_report_folder",
    "MANIFEST",
    "claim_anchor",
    "formula_svg",
    "to_mathtext",
    "MathRenderError",
    "render_paper",
    "render_index",
    "render_all",
    "paper_summary",
    "read_rows",
    "run_metadata",
    "figures",
    "decay_plot",
    "loglog_error",
    "Document",
    "Link",
    "format_value",
    "markdown_table",
    "html_table",
]
