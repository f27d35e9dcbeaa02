"""zhang2025 proof steps (28)-(33), (24)->(25), (35)-(36) (verify/claims/zhang2025/batch_terms.py): quick verdicts
and findings, the exact Markov-batch moments against simulated batches of the package's sampler, faults, figures."""

import math

import numpy as np
import pytest

from netmarl_verify.verify.claims.zhang2025 import batch_terms as bt
from netmarl_verify.verify.claims.zhang2025.algorithm import _fixed_point_critic
from netmarl_verify.verify import run_claim, with_faults

from _figure_checks import assert_drawn_as_spec, claim_specs

CLAIMS = {c.id: c for c in bt.make_claims()}
IDS = ("zhang2025.eq33_batch", "zhang2025.eq25_square", "zhang2025.eq36_terms")



@pytest.fixture(scope="module")
def rows():
    return {cid: run_claim(CLAIMS[cid], quick=True, seed=0, progress=False) for cid in IDS}


def _v(rs, pred=lambda r: True):
    return {r.verdict for r in rs if pred(r)}


def _check(prefix):
    return lambda r: r.point["check"].startswith(prefix)


def test_ids_in_order():
    assert tuple(c.id for c in bt.make_claims()) == IDS


# ---------------------------------------------------------------------------- (28)-(33)
def test_eq33_verdicts_and_findings(rows):
    rs = rows["zhang2025.eq33_batch"]
    assert {r.point["sampling"] for r in rs} == set(bt.SAMPLINGS)
    assert {r.point["critic"] for r in rs} == {"exact", "fixed-point"}
    var = [r for r in rs if _check("variance part")(r)]
    assert var and _v(var) == {"holds"} and all(abs(r.measured + 1) < 0.01 for r in var)
    # the total plateaus at the bias part ||E_nu[delta psi] - g||^2: (33)'s O(1/M) fails
    tot = [r for r in rs if _check("(33): slope")(r)]
    assert tot and _v(tot) == {"violated"}
    assert all(r.extra["bias_part"] > 0 and r.measured > -0.7 for r in tot)
    ex = [r for r in var + tot if r.point["critic"] == "exact"]
    # exact critic: E_nu[delta psi] = 0 and every lag covariance vanishes (martingale differences)
    assert all(r.extra["norm_mu"] < 1e-12 and abs(r.extra["lag_part"]) < 1e-14 for r in ex)
    assert all(r.extra["bias_fraction"] > 0.9 for r in tot if r.point["critic"] == "exact")
    # the fixed-point critic on the multi-state instance: non-zero lags (Markov != i.i.d. formula)
    fp = [r for r in var if r.point["critic"] == "fixed-point" and "random_mamdp" in r.instance]
    assert fp and all(abs(r.extra["iid_ratio"] - 1) > 1e-3 for r in fp)
    # (33) line 2 (restart, kappa = 1, rho = gamma) bounds the total, but is M-independent
    assert _v(rs, _check("(33) line 2")) == {"holds"}
    assert _v(rs, _check("(33) last equality")) == {"violated"}
    assert {r.point["sampling"] for r in rs if _check("(33) line 2")(r)} == {"restart"}


def test_eq33_chain_laws():
    inst = list(CLAIMS["zhang2025.eq33_batch"].instances(True, 0))[1]
    m = inst.payload["model"]
    pi = m.policy.joint_table()
    from netmarl_verify.solvers.exact._fisher import advantage_policy_gradient

    nu = advantage_policy_gradient(m).nu
    for sampling in ("restart", "original"):              # both visit the restart chain: nu of Lemma 4.2
        ch = bt.batch_chain(m, pi, sampling)
        np.testing.assert_allclose(ch["nu_s"], nu, atol=1e-12)
        np.testing.assert_allclose(ch["nu"] @ ch["Pc"], ch["nu"], atol=1e-12)
    ch = bt.batch_chain(m, pi, "P-chain")
    np.testing.assert_allclose(ch["nu"] @ ch["Pc"], ch["nu"], atol=1e-12)


def _simulate(m, pi, psi, Qhat, sampling, M, n_batches, rng):
    """h of n_batches independent batches from the package's sampler, stationary start (states ~ nu)."""
    from netmarl_verify.solvers.sampled._zhang_ac import sample_tuples

    ch = bt.batch_chain(m, pi, sampling)
    s0 = rng.choice(m.n_states, size=n_batches, p=ch["nu_s"])          # a_0 ~ pi(.|s_0) drawn by the sampler
    kw = {"restart": dict(kernel="restart", restart=True), "original": dict(kernel="original", restart=True),
          "P-chain": dict(kernel="original", restart=False)}[sampling]
    b = sample_tuples(m, m.policy, s0, M, rng=rng, **kw)
    q = Qhat.reshape(-1)
    delta = q[b.pairs] - b.rewards.mean(axis=-1) - m.gamma * q[b.targets]          # team TD error
    P = psi.reshape(q.size, -1)
    return np.einsum("rl,rlp->rp", delta, P[b.pairs]) / M                       # (n_batches, p)


@pytest.mark.parametrize("sampling", bt.SAMPLINGS)
def test_eq33_exact_moments_match_simulated_batches(sampling):
    """Second route: 20000 simulated batches (solvers.sampled.sample_tuples) at M = 1, 4, 16 against the exact
    autocovariance formula, within 5 standard errors of the sample mean of ||h - E h||^2; the mean too."""
    from netmarl_verify.envs._zhang2025 import random_mamdp

    m = random_mamdp(2, 2, 2, gamma=0.7, seed=11)
    pi, psi = m.policy.joint_table(), m.policy.joint_scores()
    ch = bt.batch_chain(m, pi, sampling)
    Qfp, _ = _fixed_point_critic(m, pi, ch["nu_s"], ch["td_kernel"], 3)        # inexact: mean and lags non-zero
    Ms = (1, 4, 16)
    cur = bt.batch_curves(m, pi, psi, Qfp, ch, Ms)
    assert np.linalg.norm(cur["mu"]) > 1e-2
    rng = np.random.default_rng(2025)
    n = 20000
    lagged = 0
    for k, M in enumerate(Ms):
        h = _simulate(m, pi, psi, Qfp, sampling, M, n, rng)
        y = ((h - cur["mu"]) ** 2).sum(axis=1)
        se = y.std(ddof=1) / math.sqrt(n)
        assert abs(y.mean() - cur["variance"][k]) <= 5 * se, (M, y.mean(), cur["variance"][k], se)
        se_mean = h.std(axis=0, ddof=1) / math.sqrt(n)
        assert np.all(np.abs(h.mean(axis=0) - cur["mu"]) <= 5 * se_mean + 1e-12)
        tot = ((h - cur["g"]) ** 2).sum(axis=1)
        assert abs(tot.mean() - cur["total"][k]) <= 5 * tot.std(ddof=1) / math.sqrt(n)
        lagged += abs(cur["variance"][k] - cur["iid"][k]) > 5 * se
    assert lagged >= 1                                       # the i.i.d. formula C_0 / M is rejected for M > 1


def test_eq33_iid_lags_vanish_for_the_exact_critic():
    from netmarl_verify.envs._zhang2025 import random_mamdp
    from netmarl_verify.solvers.exact._fisher import pair_values

    m = random_mamdp(2, 3, 2, gamma=0.9, seed=4)
    pi, psi = m.policy.joint_table(), m.policy.joint_scores()
    for sampling in bt.SAMPLINGS:
        ch = bt.batch_chain(m, pi, sampling)
        Q = pair_values(m, pi, ch["td_kernel"])[1]
        cur = bt.batch_curves(m, pi, psi, Q, ch, (1, 8, 64))
        assert np.abs(cur["C"][1:]).max() < 1e-14
        np.testing.assert_allclose(cur["variance"], cur["iid"], rtol=1e-12)
        assert np.linalg.norm(cur["mu"]) < 1e-12 and cur["bias"][0] == pytest.approx(float(cur["g"] @ cur["g"]))


# ---------------------------------------------------------------------------- (24) -> (25)
def test_eq25_jensen_finding(rows):
    rs = rows["zhang2025.eq25_square"]
    sq = [r for r in rs if _check("as squared")(r)]
    assert sq and _v(sq) == {"violated"}
    assert all(r.extra["ratio"] > 1.05 and r.measured / r.bound == pytest.approx(r.extra["ratio"]) for r in sq)
    assert all(a.holds for r in rs for a in r.assumptions)              # phi full rank: target = Q_theta
    assert _v(rs, _check("with (25)'s prefactor")) == {"holds"}
    assert {r.point["t_gossip"] for r in rs} == {0, 10}


# ---------------------------------------------------------------------------- (35)-(36)
def test_eq36_verdicts_and_findings(rows):
    rs = rows["zhang2025.eq36_terms"]
    assert _v(rs, _check("(i)")) == {"holds"}
    ab = [r for r in rs if _check("(ii)")(r)]
    # the actor part does not depend on B: the ratio to N^1.5 B sqrt(D) q^t grows like 1 / (B sqrt D)
    assert ab and _v(ab) == {"violated"} and all(r.measured == pytest.approx(1.0, abs=1e-9) for r in ab)
    assert _v(rs, _check("(iii)")) == {"holds"}
    r0 = ab[0]
    assert min(r0.extra["B_sqrt_D"]) < 1e-2 < 1 < max(r0.extra["B_sqrt_D"])
    crit = [r for r in rs if _check("(iii)")(r)]
    assert all(c.extra["slope_critic_without_L_W"] < 0 for c in crit)     # L_W ~ sqrt(D m) grows with D
    act = [r.extra["actor_part_mean"] for r in rs if _check("(i)")(r)]
    assert act == sorted(act, reverse=True)                               # decays with t_gossip


# ---------------------------------------------------------------------------- faults, figures, latex, reruns
@pytest.mark.parametrize("cid, fault, pred", [
    ("zhang2025.eq33_batch", {"batch_power": 0.5}, _check("variance part")),
    ("zhang2025.eq25_square", {"prefactor": "1"}, _check("with (25)'s prefactor")),
    ("zhang2025.eq36_terms", {"rate": 0.01}, _check("(i)")),
])
def test_faults_violated(cid, fault, pred):
    rs = run_claim(with_faults(CLAIMS[cid], **fault), quick=True, progress=False)
    assert "violated" in _v(rs, pred), (cid, fault)


def test_eq33_fault_breaks_every_variance_row():
    rs = run_claim(with_faults(CLAIMS["zhang2025.eq33_batch"], batch_power=0.5), quick=True, progress=False)
    var = [r for r in rs if _check("variance part")(r)]
    assert _v(var) == {"violated"} and all(abs(r.measured) < 0.01 for r in var)


def test_eq33_figure(rows):
    specs, frame = claim_specs(CLAIMS["zhang2025.eq33_batch"], rows["zhang2025.eq33_batch"])
    assert len(specs) == 4                                   # 2 instances x 2 critics, restart sampling
    for spec in specs:
        assert_drawn_as_spec(spec, frame)


def test_latex_typesets():
    from netmarl_verify.reports._math import formula_svg

    for c in bt.make_claims():
        assert formula_svg(c.latex).startswith("<svg")


def test_reruns_bit_identical(rows):
    for cid in IDS:
        again = run_claim(CLAIMS[cid], quick=True, seed=0, progress=False)
        assert [(r.instance, r.point, r.measured, r.bound) for r in again] == \
            [(r.instance, r.point, r.measured, r.bound) for r in rows[cid]]
