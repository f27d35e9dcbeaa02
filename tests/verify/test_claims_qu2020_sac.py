"""qu2020 SAC claims (Theorem 3(a), Theorem 3(b) frozen, Theorem 2): quick-mode verdicts, and each
check failing on a deliberately broken input."""

import math

import networkx as nx
import numpy as np
import pytest

from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    critic_approximation_error,
    critic_fixed_point,
    critic_ode_transient,
    critic_slowest_rate,
    ergodicity_constants,
    evaluate_policy,
    q_table,
    score_norm_bound,
)
from netmarl_verify.verify import get_claim, run_claim, with_faults
from netmarl_verify.verify.claims.qu2020 import sac as qu2020_sac

from _figure_checks import assert_drawn_as_spec, claim_specs, shape


def _verdicts(rows, contains=None, check=None):
    return {r.verdict for r in rows
            if (contains is None or contains in r.instance) and (check is None or r.point.get("check") == check)}


@pytest.fixture(scope="module")
def quick_rows():
    return {cid: run_claim(get_claim(cid), quick=True, seed=0, progress=False)
            for cid in ("qu2020.thm3a", "qu2020.critic", "qu2020.thm2")}


# ----------------------------------------------------------------------------- Theorem 3(a)
@pytest.mark.slow
def test_thm3a_quick_verdicts(quick_rows):
    rows = quick_rows["qu2020.thm3a"]
    assert _verdicts(rows, "coupled") == {"holds"}
    # App. B.4 kernels: Theorem 1's row sums exceed 1, so the constant c is not available
    assert _verdicts(rows, "random") == {"not applicable"}
    # the tighter bound sup-decay(kappa)/(1-mu_D) of the proof holds too, and is far tighter
    ok = [r for r in rows if r.verdict == "holds"]
    tight = np.array([r.extra["ratio_sup_decay"] for r in ok])
    assert tight.max() <= 1.0
    assert tight.max() > 10 * max(r.ratio for r in ok)


def test_thm3a_left_side_by_brute_force():
    """Independent route to the left side of (13): global tables, pi from Assumption 4's solver, c by least squares."""
    mdp = envs.coupled_networked_mdp(nx.path_graph(3), 0.3, 2, 2, rng=4)
    pol = envs.LocalSoftmaxPolicy.random(mdp, 5)
    pi = ergodicity_constants(mdp, pol).stationary.reshape(-1)  # global (s, a), C order
    st, ac = mdp.state_tuples(), mdp.action_tuples()
    for agent, kappa in [(0, 0), (1, 0), (0, 1)]:
        Q = q_table(mdp, pol, agent)
        Qhat = critic_fixed_point(mdp, pol, agent, kappa)
        N = list(mdp.kappa_hop(agent, kappa))
        q_glob = np.array([Q[tuple(s) + tuple(a)] for s in st for a in ac])
        qhat_glob = np.array([Qhat[tuple(s[N]) + tuple(a[N])] for s in st for a in ac])
        w = np.sqrt(pi)
        c, *_ = np.linalg.lstsq(w[:, None], w * (q_glob - qhat_glob), rcond=None)  # weighted LS for the shift
        brute = float(np.sqrt((pi * (qhat_glob + c[0] - q_glob) ** 2).sum()))
        assert critic_approximation_error(mdp, pol, agent, kappa).error == pytest.approx(brute, rel=1e-9)
    # kappa covering every agent: the critic is Q_i up to a constant
    assert critic_approximation_error(mdp, pol, 0, 2).error < 1e-10


def test_thm3a_fails_with_wrong_constant():
    """Its ratios reach ~3e-2 on the quick instances: a 100x smaller rbar must be caught."""
    claim = with_faults("qu2020.thm3a", c_scale=1e-2)
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert "violated" in _verdicts(rows, "coupled")


# ----------------------------------------------------------------------------- Theorem 3(b)
@pytest.mark.slow
def test_critic_quick_verdicts(quick_rows):
    rows = quick_rows["qu2020.critic"]
    assert {r.verdict for r in rows} == {"holds"}
    for r in rows:
        assert r.extra["fitted_slope"] < 0
        # the allowance: 0.5 x the predicted ratio (~0.16) is more than 3 standard errors of the measured ratio
        assert 3 * r.extra["ratio_se"] < (qu2020_sac.CRITIC_ALLOWANCE - 1) * r.extra["predicted_ratio"]


def _perturbed_target(eps):
    """Fixed point of the kernel mixed (1-eps, eps) with another random kernel: a wrong target."""
    def target(mdp, policy, agent, kappa, evaluation):
        rng = np.random.default_rng(123)
        kernels = []
        for P in mdp.transitions:
            K = rng.uniform(size=P.shape)
            kernels.append((1 - eps) * P + eps * K / K.sum(axis=-1, keepdims=True))
        wrong = envs.NetworkedMDP(mdp.graph, kernels, mdp.rewards, transition_form=mdp.transition_form,
                                  reward_form=mdp.reward_form)
        return critic_fixed_point(wrong, policy, agent, kappa)
    return target


@pytest.mark.slow
def test_critic_fails_on_wrong_target_kernel():
    """The fixed point of a resampled kernel (offset ~0.11 > detectable_offset ~0.07 at kappa = 0) is flagged.

    A 50/50 mixture (offset ~0.05) is not, in quick mode: the ratio test's power is recorded per row.
    """
    claim = with_faults("qu2020.critic", critic_target=_perturbed_target(1.0))
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert _verdicts(rows, "kappa=0", check="E(T)/E(T0)") == {"violated"}


class _DriftingRewards:
    """The model with rewards growing in time: the critic chases a moving target."""

    def __init__(self, mdp):
        self.mdp, self.t = mdp, 0
        self.n, self.state_sizes, self.action_sizes = mdp.n, mdp.state_sizes, mdp.action_sizes
        self.kappa_hop = mdp.kappa_hop

    def step(self, states, actions, rng):
        s1, r = self.mdp.step(states, actions, rng)
        self.t += 1
        return s1, r * (1.0 + self.t / 500.0)


@pytest.mark.slow
def test_critic_slope_fails_when_the_error_grows():
    claim = with_faults("qu2020.critic", critic_env=_DriftingRewards)
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert _verdicts(rows, check="log-log slope on [T0, T] <= 0") == {"violated"}
    assert _verdicts(rows, check="E(T)/E(T0)") == {"violated"}


def test_critic_ode_transient_start_and_rate():
    """At tau = 0 the ODE error is max |Q-hat|; late, it decays at the slowest rate lambda of G."""
    mdp = envs.coupled_networked_mdp(nx.path_graph(2), 0.3, 2, 2, rng=0)
    pol = envs.LocalSoftmaxPolicy.random(mdp, 1)
    ev = evaluate_policy(mdp, pol)
    eq = critic_fixed_point(mdp, pol, 0, 1, evaluation=ev, full_output=True)[1]
    lam = critic_slowest_rate([eq])
    taus = np.array([0.0, 40.0 / lam, 41.0 / lam])
    y = critic_ode_transient(eq, taus)
    assert y[0] == pytest.approx(np.abs(eq.table).max(), rel=1e-12)
    assert np.log(y[1] / y[2]) == pytest.approx(1.0, rel=1e-3)


# ----------------------------------------------------------------------------- Theorem 2
@pytest.mark.slow
def test_thm2_quick_verdicts(quick_rows):
    rows = quick_rows["qu2020.thm2"]
    assert {r.verdict for r in rows} == {"holds"}
    by_kappa = {r.point["kappa"]: r for r in rows}
    assert set(by_kappa) == {0, 1, 2}
    # kappa = 2 is the row where learning was needed: the bound is below ||grad J(theta_0)||
    assert not by_kappa[2].extra["bound_met_at_start"]
    assert by_kappa[2].measured < by_kappa[2].extra["initial_grad_norm"]
    for r in rows:
        assert r.extra["score_norm_max"] <= qu2020_sac.SOFTMAX_SCORE_BOUND + 1e-12
        assert r.values["L"] == pytest.approx(math.sqrt(2 * 4))


@pytest.mark.slow
def test_thm2_fails_with_wrong_constant():
    claim = with_faults("qu2020.thm2", c_scale=1e-3)
    rows = run_claim(claim, quick=True, seed=0, progress=False)
    assert "violated" in {r.verdict for r in rows}


@pytest.mark.parametrize("A", [2, 3, 5])
def test_softmax_score_bound_is_sqrt2_and_approached(A):
    """Assumption 5's L_i = sqrt(2): never exceeded, approached when zeta(a|s) -> 0 with one other action."""
    rng = np.random.default_rng(A)
    for _ in range(20):
        pol = envs.LocalSoftmaxPolicy([rng.normal(scale=5, size=(2, A)) for _ in range(2)])
        assert score_norm_bound(pol, 0) < math.sqrt(2)
    extreme = np.zeros((2, A))
    extreme[:, 0] = 40.0
    pol = envs.LocalSoftmaxPolicy([extreme, extreme])
    assert score_norm_bound(pol, 0) == pytest.approx(math.sqrt(2), rel=1e-12)


# ============================================================================ figures
@pytest.mark.slow
def test_thm3a_figure_specs(quick_rows):
    specs, frame = claim_specs(get_claim("qu2020.thm3a"), quick_rows["qu2020.thm3a"])
    assert [shape(s) for s in specs] == [("decay", [(1, 2)], [2, 2], 0, 0), ("decay", [(1, 3)], [3, 3], 0, 0)]
    assert [b.label for b in specs[0].bounds] == [r"paper: $c\rho^{\kappa+1}/(1-\mu_D)$",
                                                 r"$\sup$-decay$(\kappa)/(1-\mu_D)$"]
    for spec in get_claim("qu2020.thm3a").figures(frame):
        assert_drawn_as_spec(spec, frame)


@pytest.mark.slow
def test_critic_figure_specs_carry_the_fitted_slope_of_the_rows(quick_rows):
    specs, frame = claim_specs(get_claim("qu2020.critic"), quick_rows["qu2020.critic"])
    assert [shape(s) for s in specs] == [("loglog_error", [(64, 32), (1, 32)], [], 0, 1)] * 2
    ratio_rows = [r for r in quick_rows["qu2020.critic"] if r.point["check"] == "E(T)/E(T0)"]
    for spec, r in zip(specs, ratio_rows):
        assert spec.fitted_slope == r.extra["fitted_slope"] and spec.claimed_slope == r.extra["claimed_slope"]
        assert spec.vlines[0].x == r.extra["T0"]
        assert_drawn_as_spec(spec)


@pytest.mark.slow
def test_thm2_figure_specs(quick_rows):
    specs, frame = claim_specs(get_claim("qu2020.thm2"), quick_rows["qu2020.thm2"])
    assert [shape(s) for s in specs] == [("decay", [(4, 3)], [3], 1, 0), ("lines", [(4, 10)] * 3, [], 3, 0)]
    gap, curves = specs
    assert not any(s.band for s in curves.series) and curves.log_x and curves.log_y
    by_kappa = sorted(quick_rows["qu2020.thm2"], key=lambda r: r.point["kappa"])
    assert [h.y for h in curves.hlines] == [r.bound for r in by_kappa]
    assert gap.hlines[0].y == by_kappa[0].extra["initial_grad_norm"]
    for spec in get_claim("qu2020.thm2").figures(frame):
        assert_drawn_as_spec(spec, frame)
