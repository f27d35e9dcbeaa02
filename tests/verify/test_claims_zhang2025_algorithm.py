"""zhang2025 algorithm-level claims (verify/claims/zhang2025/algorithm.py): quick verdicts and findings, faults, figures."""

import numpy as np
import pytest

from netmarl_verify.verify.claims.zhang2025 import algorithm  # noqa: F401
from netmarl_verify.verify import run_claim, with_faults

from _figure_checks import assert_drawn_as_spec, claim_specs

CLAIMS = {c.id: c for c in algorithm.make_claims()}
IDS = ("zhang2025.eq30_td_direction", "zhang2025.eq23_neural_td", "zhang2025.critic_init", "zhang2025.critic_spread",
       "zhang2025.eq26_actor_gossip", "zhang2025.thm5_10_rate", "zhang2025.thm5_10_alg", "zhang2025.figD1_td_vs_q",
       "zhang2025.figD1_gossip", "zhang2025.factC3", "zhang2025.eq38_41", "zhang2025.cor5_11")


@pytest.fixture(scope="module")
def rows():
    return {cid: run_claim(CLAIMS[cid], quick=True, seed=0, progress=False) for cid in IDS}


def _v(rs, pred=lambda r: True):
    return {r.verdict for r in rs if pred(r)}


def _pt(**kv):
    return lambda r: all(r.point.get(k) == v for k, v in kv.items())


def test_ids_in_order():
    assert tuple(c.id for c in algorithm.make_claims()) == IDS


@pytest.mark.parametrize("cid", ["zhang2025.eq23_neural_td", "zhang2025.critic_init", "zhang2025.critic_spread",
                                 "zhang2025.eq26_actor_gossip", "zhang2025.thm5_10_rate", "zhang2025.factC3"])
def test_holds(rows, cid):
    assert _v(rows[cid]) == {"holds"}


def test_eq30_td_q_finding(rows):
    rs = rows["zhang2025.eq30_td_direction"]
    # the printed TD error: with the exact critic its expected direction is exactly zero (relative error 1)
    ex = [r for r in rs if _pt(critic="exact", weight="td_q")(r) and r.extra["grad_norm"] > 1e-8]
    assert ex and _v(ex) == {"violated"} and all(r.measured == pytest.approx(1.0, abs=1e-9) for r in ex)
    assert all(r.extra["norm_direction"] < 1e-12 * max(1.0, r.extra["norm_target"]) for r in ex)
    assert _v(rs, _pt(weight="td_q")) == {"violated"}
    # the comparators: the V-based TD error and the Q-value give the Adv direction with the exact critic
    assert _v(rs, lambda r: r.point["critic"] == "exact" and r.point["weight"] in ("td_v", "q_value")) == {"holds"}
    # the exact decomposition E[Adv-hat psi] = E[delta psi] + E[delta_V psi], every critic and kernel
    assert _v(rs, _pt(weight="decomposition")) == {"holds"}
    assert {r.point["kernel"] for r in rs} == {"original", "restart"}


def test_eq23_rates_and_alg3_matches_package(rows):
    rs = rows["zhang2025.eq23_neural_td"]
    assert {r.point["sampling"] for r in rs} == {"markov", "iid"}
    assert all(r.measured < -0.25 for r in rs)
    # this module's Alg. 3 loop equals solvers.sampled.deep_neural_td on the same draws
    from netmarl_verify.envs._zhang2025 import random_mamdp
    from netmarl_verify.solvers.sampled._nets import DeepReLU
    from netmarl_verify.solvers.sampled._zhang_ac import deep_neural_td, sample_tuples

    m = random_mamdp(2, 2, 2, gamma=0.5, seed=3)
    K, R, n = 40, 3, m.n_states * m.n_actions
    ref = deep_neural_td(m, K=K, beta=0.05, width=6, depth=2, runs=R, rng=7, checkpoints=[])
    rng = np.random.default_rng(7)
    net = DeepReLU.init(rng, dim=n, width=6, depth=2, copies=R)
    b = sample_tuples(m, m.policy, np.full(R, m.s0), K - 1, rng=rng, restart=True)
    Vb = algorithm.alg3(net, b.pairs, b.targets, b.rewards.mean(axis=2), m.gamma, 0.05, n, {K - 1})[K - 1]
    np.testing.assert_allclose(Vb, ref.weights[:, 0], rtol=1e-10, atol=1e-12)


def test_critic_init_scale(rows):
    rs = [r for r in rows["zhang2025.critic_init"] if r.point["check"].startswith("E Q-hat")]
    rms = {(r.params["m"], r.params["D"]): r.extra["rms_output"] for r in rs}
    assert rms[(40, 5)] > rms[(10, 5)] * 1.4           # grows like sqrt(2m), not O(1)


def test_critic_spread_shared_reward_is_zero(rows):
    rs = rows["zhang2025.critic_spread"]
    shared = [r for r in rs if r.point["check"].startswith("shared")]
    assert shared and all(r.measured < 1e-12 for r in shared)
    local = [r for r in rs if "local" in r.instance]
    assert local and max(r.extra["spread_before"] for r in local) > 1e-3


def test_alg_and_d1_findings(rows):
    alg = rows["zhang2025.thm5_10_alg"]
    assert _v(alg, _pt(direction="adv_oracle")) == {"holds"}
    assert _v(alg, _pt(direction="td_q")) == {"violated"}            # the zero-mean TD direction makes no progress
    d1 = rows["zhang2025.figD1_td_vs_q"]
    assert _v(d1, lambda r: r.point["check"].startswith("sampled")) == {"holds"}
    g = rows["zhang2025.figD1_gossip"]
    grid = [r for r in g if "App. D.1" in r.instance]
    assert grid and _v(grid) == {"not applicable"} and all(r.extra["max_curve_difference"] == 0.0 for r in grid)
    assert _v(g, lambda r: r.point["check"].startswith("critic consensus")) == {"holds"}


def test_symbolic_findings(rows):
    eq = rows["zhang2025.eq38_41"]
    assert _v(eq, lambda r: r.point["equation"] in ("(40)", "(41)", "remark after (40)", "(38) -> m")) == {"holds"}
    assert _v(eq, _pt(equation="(39) as printed")) == {"violated"}
    cor = rows["zhang2025.cor5_11"]
    assert _v(cor, lambda r: r.point["parameter"] in ("T", "M", "t_gossip", "communication 2 T t_gossip")) == {"holds"}
    assert _v(cor, _pt(parameter="K")) == {"violated"}
    assert [r.extra["derived"] for r in cor if r.point["parameter"] == "K"] == ["N**2*m**(1/8)/(D**14*epsilon**4)"]


@pytest.mark.parametrize("cid, fault, pred", [
    ("zhang2025.eq30_td_direction", {"td_v_gamma": 0.5}, _pt(critic="exact", weight="td_v")),
    ("zhang2025.eq23_neural_td", {"beta_power": 1.5}, None),
    ("zhang2025.critic_init", {"input_scale": 0.2}, None),
    ("zhang2025.critic_spread", {"reward_perturb": 0.5}, lambda r: r.point["check"].startswith("shared")),
    ("zhang2025.critic_spread", {"sigma_power": 3}, lambda r: r.point["check"].startswith("after")),
    ("zhang2025.eq26_actor_gossip", {"rate": 0.1}, None),
    ("zhang2025.thm5_10_rate", {"alpha_power": 0.3}, None),
    ("zhang2025.thm5_10_alg", {"margin": 1.0}, _pt(direction="adv_oracle")),
    ("zhang2025.figD1_td_vs_q", {"per_step": False}, lambda r: r.point["check"].startswith("sampled")),
    ("zhang2025.figD1_gossip", {"sigma_power": 3}, lambda r: r.point["check"].startswith("critic consensus")),
    ("zhang2025.factC3", {"vi_law": "original"}, None),
    ("zhang2025.eq38_41", {"u_value": "1/16"}, _pt(equation="(41)")),
    ("zhang2025.cor5_11", {"m_power": "-1"}, _pt(parameter="M")),
])
def test_faults_violated(cid, fault, pred):
    rs = run_claim(with_faults(CLAIMS[cid], **fault), quick=True, progress=False)
    assert "violated" in _v(rs, pred or (lambda r: True)), (cid, fault)


@pytest.mark.parametrize("cid", ["zhang2025.eq23_neural_td", "zhang2025.critic_init", "zhang2025.eq26_actor_gossip",
                                 "zhang2025.thm5_10_rate", "zhang2025.thm5_10_alg", "zhang2025.figD1_td_vs_q",
                                 "zhang2025.figD1_gossip"])
def test_figures_are_specs(rows, cid):
    specs, frame = claim_specs(CLAIMS[cid], rows[cid])
    for spec in specs:
        assert_drawn_as_spec(spec, frame)


@pytest.mark.parametrize("cid", ["zhang2025.eq30_td_direction", "zhang2025.eq23_neural_td", "zhang2025.critic_spread",
                                 "zhang2025.factC3"])
def test_reruns_bit_identical(rows, cid):
    again = run_claim(CLAIMS[cid], quick=True, seed=0, progress=False)
    assert [(r.instance, r.point, r.measured, r.bound) for r in again] == \
        [(r.instance, r.point, r.measured, r.bound) for r in rows[cid]]
