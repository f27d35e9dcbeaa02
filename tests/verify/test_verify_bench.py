"""The bench cases run (tiny sizes) and report what the table prints."""

import math

import pytest

from netmarl_verify.verify import _bench
from netmarl_verify.verify._bench import _format, run_exact_case, run_generic_step_case, run_simulator_case


def test_exact_case_tiny():
    res = run_exact_case(4, "dense", 1, seed=0, n_pairs=10)
    assert res["case"] == "exact" and res["states"] == 16 and res["joint_actions"] == 81
    assert res["max_residual"] < 1e-9 and res["total_s"] > 0 and math.isfinite(res["checksum"])
    assert res["auto_backend"] == "dense"  # 16 states: dense


def test_goal_label_names_the_default_backend():
    row = {"case": "exact", "n": 12, "backend": "sparse", "states": 4096, "joint_actions": 531441,
           "evaluate_s": 7.0, "q_all_agents_s": 0.1, "gradient_s": 0.2, "total_s": 7.3, "peak_rss_mib": 1.0,
           "max_residual": 1e-13, "auto_backend": "dense"}
    text = _format([row, {**row, "backend": "dense", "total_s": 2.0}])
    lines = text.splitlines()
    assert "< 5s MISSED (not the default: backend='auto' picks dense)" in lines[2]
    assert lines[3].endswith("< 5s met")


def test_throughput_cases_tiny():
    rows = [run_simulator_case(1, seed=0, batch=8, steps=3), run_generic_step_case(1, seed=0, batch=8, steps=3)]
    for res in rows:
        assert res["n"] == 25 and res["agent_steps_per_s"] > 0 and res["total_s"] > 0
    table = _format(rows)
    assert "simulator" in table and "generic B=8" in table


# -- command-line hygiene (issue 8, item 7); no real benchmark runs ------------------------------

@pytest.fixture
def fake_cases(monkeypatch):
    """Replace the subprocess runner: records the calls, fails the exact case at n = 40."""
    calls = []

    def fake(n, backend, threads, seed, timeout, case="exact"):
        calls.append((case, n, backend))
        if case == "exact" and n == 40:
            return {"case": case, "n": n, "backend": backend, "error": "MemoryBudgetError: too big"}
        if case == "exact":
            return {"case": "exact", "n": n, "backend": backend, "states": 2**n, "joint_actions": 3**n,
                    "evaluate_s": 0.1, "q_all_agents_s": 0.1, "gradient_s": 0.1, "total_s": 0.3,
                    "peak_rss_mib": 1.0, "max_residual": 1e-15, "auto_backend": backend}
        return {"case": case, "n": 25, "backend": "fake", "agent_steps_per_s": 1e6, "total_s": 1.0,
                "peak_rss_mib": 1.0}

    monkeypatch.setattr(_bench, "_run_in_subprocess", fake)
    return calls


@pytest.mark.parametrize("args, message", [
    (["--only", "foo"], "argument --only: unknown case 'foo' (choose from exact, simulator, step, sac, shadow-pg, dec-neural-ac, zhang-ac, bn, spread-optimum, main-job)"),
    (["--only", "exact,bar,baz"], "unknown case 'bar', 'baz'"),
    (["--only", ","], "argument --only: no case given"),
    (["--sizes", "abc"], "argument --sizes: expected comma-separated agent counts such as 8,10,12, got 'abc'"),
    (["--sizes", "8,x"], "got 'x' in '8,x'"),
    (["--sizes", "0"], "argument --sizes: agent counts must be >= 1, got 0"),
    (["--backends", "lu"], "argument --backends: unknown backend 'lu' (choose from dense, sparse, matrix-free, auto)"),
    (["--threads", "0"], "argument --threads: must be >= 1, got 0"),
    (["--timeout", "-1"], "argument --timeout: must be > 0"),
    (["--sizes", ",", "--only", "exact"], "--sizes is empty but --only selects the exact case"),
])
def test_usage_errors_exit_2_and_run_nothing(fake_cases, args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        _bench.main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "netmarl-verify bench: error: " in err and message in err
    assert fake_cases == []


def test_failing_case_exits_1_names_it_and_the_others_still_run(fake_cases, capsys):
    assert _bench.main(["--sizes", "40,8", "--backends", "dense", "--only", "exact,simulator"]) == 1
    assert fake_cases == [("exact", 40, "dense"), ("exact", 8, "dense"), ("simulator", 0, "-")]
    captured = capsys.readouterr()
    assert "netmarl-verify bench: error: case exact (n=40, backend=dense) failed: MemoryBudgetError: too big" \
        in captured.err
    assert "ERROR: MemoryBudgetError" in captured.out and "simulator" in captured.out


def test_json_mode_also_exits_1_on_a_failure(fake_cases, capsys):
    assert _bench.main(["--sizes", "40", "--backends", "dense", "--only", "exact", "--json"]) == 1
    assert "failed" in capsys.readouterr().err


def test_all_cases_fine_exits_0(fake_cases, capsys):
    assert _bench.main(["--sizes", "8", "--only", "exact,step"]) == 0
    assert fake_cases == [("exact", 8, "dense"), ("exact", 8, "sparse"), ("step", 0, "-")]
    assert capsys.readouterr().err == ""


def test_a_real_failing_child_is_reported():
    # n = 40: the child refuses at the memory check within a second (no benchmark runs)
    row = _bench._run_in_subprocess(40, "dense", 1, 0, 120)
    assert row["case"] == "exact" and "MemoryBudgetError" in row["error"]
