"""The bench cases run (tiny sizes) and report what the table prints."""

import math

from verify._bench import _format, run_exact_case, run_generic_step_case, run_simulator_case


def test_exact_case_tiny():
    res = run_exact_case(4, "dense", 1, seed=0, n_pairs=10)
    assert res["case"] == "exact" and res["states"] == 16 and res["joint_actions"] == 81
    assert res["max_residual"] < 1e-9 and res["total_s"] > 0 and math.isfinite(res["checksum"])


def test_throughput_cases_tiny():
    rows = [run_simulator_case(1, seed=0, batch=8, steps=3), run_generic_step_case(1, seed=0, batch=8, steps=3)]
    for res in rows:
        assert res["n"] == 25 and res["agent_steps_per_s"] > 0 and res["total_s"] > 0
    table = _format(rows)
    assert "simulator" in table and "generic B=8" in table
