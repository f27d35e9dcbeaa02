"""The bench cases run (tiny sizes) and report what the table prints."""

import math

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
