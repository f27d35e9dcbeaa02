"""The command line ``netmarl-verify``: subprocesses for the real entry point, in-process
``main(argv, registry=...)`` for the rest (faster)."""

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from netmarl_verify import verify
from netmarl_verify.verify import EXTRA_CLAIMS_ENV, Registry
from netmarl_verify._cli import main

import _toy_claims

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
JSON_KEYS = {"claim", "verdict", "measured", "bound", "ratio", "params", "seed"}


def _python_m_verify(*args, toy=False):
    env = {k: v for k, v in os.environ.items() if k != EXTRA_CLAIMS_ENV}
    env["OPENBLAS_NUM_THREADS"] = "1"
    if toy:
        env["PYTHONPATH"] = os.pathsep.join([str(HERE)] + [p for p in [env.get("PYTHONPATH")] if p])
        env[EXTRA_CLAIMS_ENV] = "_toy_claims:register_toy_claims"
    return subprocess.run([sys.executable, "-m", "netmarl_verify", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


# -- subprocesses -----------------------------------------------------------------------------

def test_help_and_no_arguments_print_help():
    for args in (["--help"], []):
        proc = _python_m_verify(*args)
        assert proc.returncode == 0, proc.stderr
        assert "usage: netmarl-verify" in proc.stdout
        for command in ("list", "run", "report", "bench"):
            assert command in proc.stdout


def test_list_does_not_show_test_claims():
    proc = _python_m_verify("list")
    assert proc.returncode == 0, proc.stderr
    assert "toy." not in proc.stdout


def test_run_json_lines_with_extra_claims_module():
    proc = _python_m_verify("run", "toy", "--quick", "--json", "--seed", "2", toy=True)
    assert proc.returncode == 0, proc.stderr  # exit 0 although toy.geometric_wrong_constant is violated
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 18
    for row in rows:
        assert JSON_KEYS <= set(row)
        assert row["seed"] == 2 and isinstance(row["params"], dict)
    assert {r["verdict"] for r in rows} == {"holds", "violated", "not applicable"}


def test_unknown_id_fails_with_a_clear_message():
    proc = _python_m_verify("run", "nosuch.thm9", "--quick")
    assert proc.returncode == 2
    assert "unknown claim or paper 'nosuch.thm9'" in proc.stderr
    assert proc.stdout == ""


# -- in process -------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["list", "run", "report"])
def test_subcommand_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert f"usage: netmarl-verify {command}" in capsys.readouterr().out


def test_run_table_and_csv(toy_registry, tmp_path, capsys):
    assert main(["run", "toy", "--quick", "--out", str(tmp_path)], registry=toy_registry) == 0
    out = capsys.readouterr().out
    assert "toy.geometric_wrong_constant" in out and "violated" in out and "K=20" in out
    df = pd.read_csv(tmp_path / "rows.csv")
    assert len(df) == 18 and set(df["verdict"]) == {"holds", "violated", "not applicable"}


def test_run_json_in_process(toy_registry, capsys):
    assert main(["run", "toy.geometric", "--quick", "--json"], registry=toy_registry) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 9 and all(JSON_KEYS <= set(r) for r in rows)


def test_list_json(toy_registry, capsys):
    assert main(["list", "--json"], registry=toy_registry) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [i["id"] for i in items] == ["toy.geometric", "toy.geometric_wrong_constant"]
    assert items[0]["bound"] == r"\frac{a}{1 - r}"


def test_report_command(toy_registry, tmp_path, capsys):
    assert main(["report", "toy", "--quick", "--out", str(tmp_path)], registry=toy_registry) == 0
    for path in ("index.md", "index.html", "rows.csv", "toy/report.md", "toy/report.html", "toy/rows.csv",
                 "toy/toy.geometric-1.png"):
        assert (tmp_path / path).is_file(), path
    assert "report.html" in capsys.readouterr().out
    assert "netmarl-verify report toy --quick" in (tmp_path / "toy/report.md").read_text()


def test_report_with_failing_figure_is_written_and_exits_1(toy_registry, tmp_path, capsys):
    toy_registry.get("toy.geometric").figure = lambda rows, plots: 1 / 0
    assert main(["report", "toy", "--quick", "--out", str(tmp_path)], registry=toy_registry) == 1
    err = capsys.readouterr().err
    assert "the figure of claim 'toy.geometric' failed: ZeroDivisionError" in err
    for path in ("index.html", "toy/report.md", "toy/report.html", "toy/rows.csv"):
        assert (tmp_path / path).is_file(), path
    assert not (tmp_path / "toy/toy.geometric-1.png").exists()


def test_claim_failure_exit_code(capsys):
    registry = Registry([_toy_claims.make_broken_claim()])
    assert main(["run", "toy", "--quick"], registry=registry) == 1
    assert "toy.broken" in capsys.readouterr().err


def test_bad_seed_is_a_usage_error(toy_registry):
    with pytest.raises(SystemExit) as exc:
        main(["run", "toy", "--seed", "-1"], registry=toy_registry)
    assert exc.value.code == 2


def test_bench_delegates_remaining_arguments(monkeypatch):
    seen = []
    fake = types.ModuleType("netmarl_verify.verify._bench")
    fake.main = lambda argv: seen.append(argv) or 5
    monkeypatch.setitem(sys.modules, "netmarl_verify.verify._bench", fake)
    monkeypatch.setattr(verify, "_bench", fake, raising=False)
    assert main(["bench", "--help", "--size", "3"]) == 5
    assert seen == [["--help", "--size", "3"]]


# -- list: whole statements (issue 8, item 7) --------------------------------------------------

LONG = ("A statement long enough to be cut by the table: " + "every word matters here, " * 6 + "END.")


@pytest.fixture
def long_registry():
    import dataclasses

    base = _toy_claims.make_broken_claim()
    return Registry([dataclasses.replace(base, id="toy.long", statement=LONG, latex=r"a \le b"),
                     dataclasses.replace(base, id="toy.long2", statement=LONG + " TWO")])


def test_list_table_cuts_and_says_how_to_see_more(long_registry, capsys):
    assert main(["list"], registry=long_registry) == 0
    out = capsys.readouterr().out
    assert "END." not in out and "…" in out
    assert "netmarl-verify list --full" in out


def test_list_full_shows_whole_statements(long_registry, capsys):
    assert main(["list", "--full"], registry=long_registry) == 0
    out = capsys.readouterr().out
    assert LONG in out and LONG + " TWO" in out and "…" not in out


def test_list_one_claim_shows_everything(long_registry, capsys):
    assert main(["list", "toy.long"], registry=long_registry) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "toy.long"
    assert " ".join(out.split()).count(" ".join(LONG.split())) == 1  # whole, only wrapped
    for field in ("paper:", "source:", "statement:", "latex:"):
        assert field in out
    assert r"a \le b" in out and "toy (no bibliographic reference registered)" in out and "toy.txt" not in out


# -- bench usage errors through the real entry point (issue 8, item 7) ----------------------------

@pytest.mark.parametrize("args, message", [
    (["--only", "foo"], "argument --only: unknown case 'foo' (choose from exact, simulator, step, sac, shadow-pg, dec-neural-ac, zhang-ac, bn, spread-optimum, main-job)"),
    (["--sizes", "abc"], "argument --sizes: expected comma-separated agent counts such as 8,10,12, got 'abc'"),
])
def test_bench_usage_errors_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: netmarl-verify bench" in err and f"netmarl-verify bench: error: {message}" in err
    assert "Traceback" not in err


def test_list_cites_papers_and_names_no_file_users_lack(capsys):
    """`list` shows the citation of the paper, never the text file the package does not ship."""
    assert main(["list", "qu2020.thm1"]) == 0
    out = capsys.readouterr().out
    assert "Scalable Multi-Agent Reinforcement" in out and ".txt" not in out
    assert main(["list", "qu2020", "--json"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all("arXiv:2006.06626" in i["reference"] and i["link"] == "https://arxiv.org/abs/2006.06626" for i in items)
    assert not any(".txt" in json.dumps(i) for i in items)
