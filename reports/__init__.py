"""Rendering of verification results: markdown, self-contained HTML, CSV, figures.

``render_paper`` writes one paper's report (``report.md``, ``report.html`` with embedded
figures, ``rows.csv``, PNG figures), ``render_index`` the index of all papers, ``render_all``
both; :mod:`netmarl_verify.reports.figures` has the decay and log-log error plots. Matplotlib is switched to
the non-interactive Agg backend on import.
"""

import matplotlib

matplotlib.use("Agg")

from . import figures  # noqa: E402
from ._document import Document  # noqa: E402
from ._render import (  # noqa: E402
    git_commit,
    paper_summary,
    read_rows,
    render_all,
    render_index,
    render_paper,
    run_metadata,
)
from ._tables import Link, format_value, html_table, markdown_table  # noqa: E402
from .figures import decay_plot, loglog_error  # noqa: E402

__all__ = [
    "render_paper",
    "render_index",
    "render_all",
    "paper_summary",
    "read_rows",
    "run_metadata",
    "git_commit",
    "figures",
    "decay_plot",
    "loglog_error",
    "Document",
    "Link",
    "format_value",
    "markdown_table",
    "html_table",
]
