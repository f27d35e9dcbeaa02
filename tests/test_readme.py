"""The README runs: every ```python block is a self-contained script, and the README points at
nothing a user of the package does not have."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text()
BLOCKS = re.findall(r"^```python\n(.*?)^```", TEXT, flags=re.S | re.M)


def _block_id(k):
    line = TEXT[: TEXT.index(BLOCKS[k])].count("\n") + 1
    return f"README.md:{line}"


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("k", range(len(BLOCKS)), ids=[_block_id(k) for k in range(len(BLOCKS))])
def test_readme_block_runs_standalone(k, tmp_path):
    """Each block runs alone in a fresh interpreter, in an empty folder (no earlier block's
    variables, no repository files)."""
    proc = subprocess.run([sys.executable, "-c", BLOCKS[k]], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1",
                                            "MPLBACKEND": "Agg", "HOME": str(tmp_path)})
    assert proc.returncode == 0, f"{_block_id(k)} failed:\n{proc.stderr[-3000:]}"


def test_readme_points_at_no_file_users_lack():
    assert "../shared" not in TEXT and "shared/" not in TEXT
    assert not re.search(r"\b\w+\.txt\b", TEXT), re.search(r"\b\w+\.txt\b", TEXT)


def test_readme_cites_every_registered_paper():
    from netmarl_verify.verify import PAPERS

    refs = TEXT[TEXT.index("## References"):]
    for paper in PAPERS.values():
        assert paper.title in refs, paper.id
        if paper.arxiv:
            assert paper.arxiv in refs, paper.id


def test_readme_status_matches_the_registry():
    """The status table gives each paper's number of registered claims, and "not yet" for papers without any."""
    from netmarl_verify.verify import PAPERS, UnknownClaimError, claims_for

    table = TEXT[TEXT.index("## What is verified today"):TEXT.index("## Layout")]
    for paper in PAPERS:
        row = next(line for line in table.splitlines() if line.startswith("|") and paper in line.split("|")[1])
        try:
            count = len(claims_for(paper))
        except UnknownClaimError:
            assert "not yet" in row, paper
            continue
        assert re.search(rf"\b{count} (exact )?claims\b", row), (paper, count, row)
