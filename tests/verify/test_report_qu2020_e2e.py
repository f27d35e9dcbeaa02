"""End to end: ``netmarl-verify report qu2020 --quick`` and ``run --json`` on the real claims."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from netmarl_verify import reports

ROOT = Path(__file__).resolve().parents[2]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("NETMARL_VERIFY_EXTRA_CLAIMS", None)
    return env


@pytest.mark.slow
def test_report_qu2020_quick(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "netmarl_verify", "report", "qu2020", "--quick", "--no-progress",
                           "--out", str(out)], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    paper = out / "qu2020"
    html = (paper / "report.html").read_text()
    md = (paper / "report.md").read_text()
    assert "data:image/png;base64," in html
    assert "src=\"http" not in html and "<link" not in html and "<script" not in html  # self-contained
    # the only web addresses are links (<a href>) to the paper, never loaded by the page
    assert set(re.findall(r'href="(http[^"]*)"', html)) == {"https://arxiv.org/abs/2006.06626"}
    rows = reports.read_rows(paper / "rows.csv")
    claims = set(rows["claim"])
    for cid in ("qu2020.thm1", "qu2020.cor1", "qu2020.lemma2a", "qu2020.lemma2b", "qu2020.lemma3",
                "qu2020.appA2", "qu2020.figB4"):
        assert cid in claims
        assert f"## {cid}" in md
    assert set(rows["verdict"]) <= {"holds", "violated", "not applicable"}
    # the Theorem 1 finding is reported, with its counterexample instance
    thm1 = rows[(rows["claim"] == "qu2020.thm1") & (rows["verdict"] == "violated")]
    assert not thm1.empty and thm1["instance"].str.contains("{-1,1}", regex=False).all()
    assert (out / "index.html").exists() and (out / "index.md").exists()


def test_run_json_rows(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "netmarl_verify", "run", "qu2020.thm1", "--quick", "--json", "--seed", "4",
                           "--no-progress"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert rows
    for r in rows:
        for key in ("claim", "verdict", "measured", "bound", "ratio", "params", "seed"):
            assert key in r
        assert r["seed"] == 4
