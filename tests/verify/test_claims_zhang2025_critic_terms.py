"""zhang2025 critic-term claims (verify/claims/zhang2025/critic_terms.py): Assumption 5.9, (22), Thm 5.10's regime.

Quick verdicts and findings, one fault per claim, and a second route to every exact number: eps_critic at B >= B_free
by a projected-Bellman iteration, the linearised L_W by central differences of the network, J* - min J by enumerating
the deterministic policies, the B(B) diameter by antipodal points.
"""

import itertools
import math

import numpy as np
import pytest

from netmarl_verify.verify.claims.zhang2025 import critic_terms as ct
from netmarl_verify.verify import run_claim, with_faults
from netmarl_verify.verify.claims.zhang2025._common import model_of
from netmarl_verify.solvers.exact._fisher import advantage_policy_gradient
from netmarl_verify.solvers.sampled._nets import DeepReLU
from netmarl_verify.solvers.sampled._zhang_ac import theorem_radius

CLAIMS = {c.id: c for c in ct.make_claims()}
IDS = ("zhang2025.assump5_9", "zhang2025.eq22_pseudo_central", "zhang2025.thm5_10_regime")



@pytest.fixture(scope="module")
def rows():
    return {cid: run_claim(CLAIMS[cid], quick=True, seed=0, progress=False) for cid in IDS}


def _v(rs, pred=lambda r: True):
    return {r.verdict for r in rs if pred(r)}


def _check(prefix, **kv):
    return lambda r: r.point["check"].startswith(prefix) and all(r.point.get(k) == v for k, v in kv.items())


def test_ids_in_order():
    assert tuple(c.id for c in ct.make_claims()) == IDS


# ---------------------------------------------------------------------------- Assumption 5.9
def test_assump5_9_reach_holds_and_informative_fails_at_theorem_B(rows):
    rs = rows["zhang2025.assump5_9"]
    assert _v(rs, _check("reach")) == {"holds"}
    th = [r for r in rs if _check("informative", radius="theorem B = m^(1/32) D^-6")(r)]
    assert th and _v(th) == {"violated"}                                   # the finding
    for r in th:
        assert r.extra["ratio_eps_to_Q_range"] > 5                          # eps_critic >> Q range
        if r.point["depth"] == 2:                                           # B ~ 0.016: the critic stays at W(0)
            assert r.extra["ratio_eps_to_eps_init"] == pytest.approx(1.0, abs=0.05)
    # holds somewhere: a wide network at B >= B_free interpolates on supp nu (linearised form)
    assert "holds" in _v(rs, _check("informative", radius="unconstrained (B = 2 B_free)", form="linearised"))
    ident = [r for r in rs if _check("identity")(r)]
    assert len(ident) == 4 and "holds" in _v(ident) and _v(ident) <= {"holds", "not applicable"}


def _bellman_iteration_eps(prob, model, g):
    """Independent route: iterate Q <- q0 + Phi argmin_u ||Phi u - (T Q - q0)||_nu (the projected Bellman map)."""
    S, A = g.pi.shape
    n = S * A
    P = np.asarray(model.mdp.P).reshape(n, S)
    Ppair = (P[:, :, None] * g.pi[None]).reshape(n, n)
    w = np.sqrt((g.nu[:, None] * g.pi).reshape(-1))
    r = np.asarray(model.mdp.R).reshape(-1)
    Q = prob.q0.copy()
    for _ in range(5000):
        T = r + model.gamma * Ppair @ Q
        u = np.linalg.lstsq(w[:, None] * prob.Phi, w * (T - prob.q0), rcond=None)[0]
        new = prob.q0 + prob.Phi @ u
        if np.abs(new - Q).max() < 1e-13:
            break
        Q = new
    return float(np.abs(new - prob.Q)[prob.supp].max())


def test_assump5_9_free_eps_by_projected_bellman_iteration(rows):
    inst = next(iter(CLAIMS["zhang2025.assump5_9"].instances(True, 0)))
    model = model_of(inst)
    g = advantage_policy_gradient(model)
    for r in rows["zhang2025.assump5_9"]:
        if not _check("identity")(r):
            continue
        m, D, seed = r.point["width"], r.point["depth"], r.extra["seed"]
        prob = ct.critic_problem(model, g, m, D, int(np.random.default_rng([seed, m, D]).integers(ct.SEED_MAX)))
        eps = _bellman_iteration_eps(prob, model, g)
        assert eps == pytest.approx(r.extra["eps_free_lstsq"], abs=1e-9)
        if r.verdict == "holds":
            assert eps == pytest.approx(r.extra["eps_vi"], abs=1e-8 * (1 + np.abs(prob.Q).max()))


def test_assump5_9_eps_init_is_the_network_at_W0(rows):
    inst = next(iter(CLAIMS["zhang2025.assump5_9"].instances(True, 0)))
    model = model_of(inst)
    g = advantage_policy_gradient(model)
    r = next(r for r in rows["zhang2025.assump5_9"] if _check("reach", width=8, depth=2)(r))
    net = DeepReLU.init(np.random.default_rng(int(np.random.default_rng([r.extra["seed"], 8, 2])
                                                  .integers(ct.SEED_MAX))), dim=r.extra["pairs"], width=8, depth=2)
    q0 = net.forward(np.eye(r.extra["pairs"]))
    assert r.extra["eps_init"] == pytest.approx(float(np.abs(q0 - g.Q.reshape(-1)).max()), rel=1e-12)
    assert r.extra["B_theorem"] == pytest.approx(8 ** (1 / 32) / 64, rel=1e-12)


# ---------------------------------------------------------------------------- (22)
def test_eq22_holds_and_stays_in_ball(rows):
    rs = rows["zhang2025.eq22_pseudo_central"]
    assert _v(rs) == {"holds"}
    for r in rs:
        assert r.extra["max_layer_dist_W_bar"] <= r.extra["B"] * (1 + 1e-9)
        assert r.extra["max_layer_dist_V_bar"] <= r.extra["B"] * (1 + 1e-9)
        assert r.extra["max_layer_diff"] <= r.extra["two_B"] * (1 + 1e-9)


def test_eq22_linearised_L_W_by_finite_differences(rows):
    r = next(r for r in rows["zhang2025.eq22_pseudo_central"] if r.point["critic"] == "linearised")
    inst = next(iter(CLAIMS["zhang2025.eq22_pseudo_central"].instances(True, 0)))
    n = model_of(inst).n_states * model_of(inst).n_actions
    R, m, D = r.extra["runs"], r.point["width"], r.point["depth"]
    net = DeepReLU.init(np.random.default_rng(r.extra["seed"]), dim=n, width=m, depth=D, copies=R)
    W0, X, h = np.asarray(net.W0), np.eye(n), 1e-6
    grads = np.empty((R, n, D * m * m))
    for j in range(D * m * m):
        e = np.zeros(D * m * m)
        e[j] = h
        e = np.broadcast_to(e.reshape(D, m, m), W0.shape)
        grads[:, :, j] = (net.forward(X, W0 + e) - net.forward(X, W0 - e)) / (2 * h)
    L_fd = np.linalg.norm(grads, axis=2).max(axis=1)
    np.testing.assert_allclose(L_fd, r.extra["L_lin"], rtol=1e-6)


def test_ball_diameter_is_attained():
    net = DeepReLU.init(0, dim=3, width=4, depth=3)
    B = theorem_radius(4, 3)
    d = np.random.default_rng(1).standard_normal(net.W0.shape)
    d *= B / np.sqrt((d ** 2).sum(axis=(-2, -1), keepdims=True))
    a, b = net.project(net.W0 + 5 * d, B), net.project(net.W0 - 5 * d, B)       # antipodal, on every sphere
    assert np.linalg.norm(a - b) == pytest.approx(2 * B * math.sqrt(3), rel=1e-12)


# ---------------------------------------------------------------------------- Thm 5.10 regime
def test_regime_findings(rows):
    rs = rows["zhang2025.thm5_10_regime"]
    assert _v(rs, _check("identity")) == {"holds"}
    assert _v(rs, _check("informative: sum of terms (1)-(8)")) == {"violated"}      # vacuous with eps_critic
    assert _v(rs, _check("term (3)")) == {"violated"}
    small = lambda r: r.point["c"] <= 1.0  # noqa: E731
    assert _v(rs, lambda r: small(r) and _check("informative: sum of terms (1)-(2)")(r)) == {"holds"}
    assert "violated" in _v(rs, _check("informative: sum of terms (1)-(2)", c=100.0, form="B-form"))
    r = next(r for r in rs if _check("identity")(r))
    t = r.extra["terms_B_form"]
    N, m, D, B = r.extra["N"], 8, 2, theorem_radius(8, 2)
    assert r.extra["B"] == pytest.approx(B, rel=1e-12)
    assert t["(8) linearisation"] == pytest.approx(math.sqrt(N) * m ** (-1 / 24) * D ** -4, rel=1e-12)
    assert t["(5) gossip"] == pytest.approx(N ** 1.5 * B * math.sqrt(D) * 0.9 ** 10, rel=1e-12)   # eta = 0.1, N = 2
    assert t["(4) N^(1/2) M^(-1/2)"] == pytest.approx(math.sqrt(2 / 100), rel=1e-12)


def test_regime_trivial_range_by_enumeration(rows):
    r = next(r for r in rows["zhang2025.thm5_10_regime"] if _check("identity")(r))
    model = model_of(next(iter(CLAIMS["zhang2025.thm5_10_regime"].instances(True, 0))))
    P, Rw = np.asarray(model.mdp.P), np.asarray(model.mdp.R)
    S, A = Rw.shape
    pols = np.array(list(itertools.product(range(A), repeat=S)))             # all deterministic joint policies
    Pp = P[np.arange(S), pols]                                              # (n_pol, S, S)
    rp = Rw[np.arange(S), pols]                                             # (n_pol, S)
    V = np.linalg.solve(np.eye(S) - model.gamma * Pp, rp[..., None])[..., 0]
    assert r.extra["J_star"] == pytest.approx(V[:, model.s0].max(), abs=1e-10)
    assert r.extra["J_min"] == pytest.approx(V[:, model.s0].min(), abs=1e-10)


# ---------------------------------------------------------------------------- faults, formulas
@pytest.mark.parametrize("cid, fault, prefix", [
    ("zhang2025.assump5_9", {"constrained": False}, "reach"),
    ("zhang2025.eq22_pseudo_central", {"project": False}, "diameter"),
    ("zhang2025.thm5_10_regime", {"b_exponent": 0.5}, "identity"),
])
def test_faults_violated(rows, cid, fault, prefix):
    assert _v(rows[cid], _check(prefix)) <= {"holds", "not applicable"}
    rs = run_claim(with_faults(CLAIMS[cid], **fault), quick=True, progress=False)
    assert "violated" in _v(rs, _check(prefix)), (cid, fault)


def test_assump5_9_figure_is_a_spec(rows):
    from _figure_checks import assert_drawn_as_spec, claim_specs

    specs, frame = claim_specs(CLAIMS["zhang2025.assump5_9"], rows["zhang2025.assump5_9"])
    assert len(specs[0].series) == 4
    for spec in specs:
        assert_drawn_as_spec(spec, frame)


def test_latex_typesets():
    from netmarl_verify.reports._math import formula_svg

    for c in CLAIMS.values():
        formula_svg(c.latex)


@pytest.mark.parametrize("cid", IDS)
def test_reruns_bit_identical(rows, cid):
    again = run_claim(CLAIMS[cid], quick=True, seed=0, progress=False)
    key = lambda r: (r.instance, r.point, r.measured, repr(r.bound), r.verdict)  # noqa: E731  (nan: not applicable)
    assert [key(r) for r in again] == [key(r) for r in rows[cid]]
