r"""The exact solvers against the brute-force reference (``_reference.py``), closed forms, and FD.

Tolerance. Unless stated otherwise the solvers and the reference must agree to ``ATOL = 1e-10``.
Both sides are exact up to rounding: the solvers by direct (LU) linear algebra on at most 64
states, the reference by eigen-decomposition, value iteration stopped at an update < 1e-14
(error <= 1e-14 * gamma / (1 - gamma) <= 1e-13) and series stopped when their terms are
< 1e-15. A backward-stable solve has error ~ cond * eps_mach * |x|; the instances here have
cond(I - P_pi + 1 d^T) < 1e3 (asserted in ``test_premise_condition_numbers``) and
cond_inf(I - gamma P_pi) <= (1 + gamma) / (1 - gamma) = 19, with |x| <= 10, so each side is
within ~1e-12 of the truth and 1e-10 leaves a margin of ~100 without hiding a real error: every
mistake we can make (wrong kernel, wrong axis, missing 1/n) changes the answers by >= 1e-3
(``test_wrong_kernel_is_detected``). Measured when written: worst discrepancy 8e-14 (discounted
Q at gamma = 0.9, i.e. the value-iteration stopping error), max cond(I - P + 1 d^T) = 2.7.
"""

import functools

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose

import _reference as ref
from netmarl_verify.envs import LocalSoftmaxPolicy, NetworkedMDP, TabularMDP, TabularSoftmaxPolicy, random_networked_mdp
from netmarl_verify.solvers.exact import (
    MultipleRecurrentClassesError,
    PeriodicChainError,
    average_reward,
    discounted_occupancy,
    discounted_visitation,
    finite_difference_gradient,
    objective,
    policy_gradient,
    q_function,
    stationary_distribution,
    transition_matrix,
)

ATOL = 1e-10  # see the module docstring
BACKENDS = ["dense", "sparse"]
GAMMAS = [0.5, 0.9]

# ---------------------------------------------------------------------------- instances
# name -> (graph factory, S, A). At most 27 global states and 16 joint actions.
NETWORKS = {
    "path1_S2_A1": (lambda: nx.path_graph(1), 2, 1),  # a plain Markov chain, zero gradient
    "path1_S3_A3": (lambda: nx.path_graph(1), 3, 3),
    "path2_S23_A21": (lambda: nx.path_graph(2), (2, 3), (2, 1)),
    "path3_S2_A2": (lambda: nx.path_graph(3), 2, 2),
    "path3_S322_A132": (lambda: nx.path_graph(3), (3, 2, 2), (1, 3, 2)),
    "path3_S3_A212": (lambda: nx.path_graph(3), 3, (2, 1, 2)),
    "star4_S2_A2": (lambda: nx.star_graph(3), 2, 2),  # centre 0, so N_2 = (0, 2): i not first
    "cycle4_S2_A1213": (lambda: nx.cycle_graph(4), 2, (1, 2, 1, 3)),
}
FORMS = [("local", "local"), ("local", "neighbourhood"), ("neighbourhood", "local"),
         ("neighbourhood", "neighbourhood")]
SEEDS = [0, 1]
NET_KEYS = [(name, tf, rf, seed) for name in NETWORKS for tf, rf in FORMS for seed in SEEDS]

# (nS, nA, sparse_support) for random TabularMDPs
TABULAR = [(3, 1, False), (3, 2, False), (5, 3, False), (8, 2, True), (12, 3, True)]
TAB_KEYS = [(nS, nA, sp, seed) for nS, nA, sp in TABULAR for seed in SEEDS]


def _net_id(key):
    name, tf, rf, seed = key
    return f"{name}-P{tf[:5]}-r{rf[:5]}-{seed}"


def _tab_id(key):
    nS, nA, sp, seed = key
    return f"tab{nS}x{nA}{'-sparse' if sp else ''}-{seed}"


@functools.lru_cache(maxsize=None)
def networked_instance(key):
    name, tf, rf, seed = key
    graph, S, A = NETWORKS[name]
    rng = np.random.default_rng([seed, len(name)])
    mdp = random_networked_mdp(graph(), S, A, rng, transition_form=tf, reward_form=rf)
    policy = LocalSoftmaxPolicy.random(mdp, rng)
    initial = rng.dirichlet(np.ones(mdp.n_states))
    return mdp, policy, initial


def _random_tabular(nS, nA, sparse, rng):
    P = rng.uniform(size=(nS, nA, nS))
    if sparse:
        # Half the entries zero; the cycle s -> s+1 keeps the chain irreducible and the
        # self-loop at 0 makes it aperiodic, whatever the policy.
        P *= rng.uniform(size=P.shape) < 0.5
        P[np.arange(nS), :, (np.arange(nS) + 1) % nS] += 0.1
        P[0, :, 0] += 0.1
    P /= P.sum(axis=-1, keepdims=True)
    R = rng.uniform(size=(nS, nA))
    return TabularMDP(P, R)


@functools.lru_cache(maxsize=None)
def tabular_instance(key):
    """(mdp, softmax policy, the same policy as a table, initial)."""
    nS, nA, sparse, seed = key
    rng = np.random.default_rng([seed, nS, nA])
    mdp = _random_tabular(nS, nA, sparse, rng)
    policy = TabularSoftmaxPolicy(np.log(rng.uniform(1e-3, 1.0, size=(nS, nA))))
    return mdp, policy, policy.table(), rng.dirichlet(np.ones(nS))


@functools.lru_cache(maxsize=None)
def reference(kind, key):
    """All reference quantities of one instance, computed once."""
    if kind == "net":
        mdp, policy, initial = networked_instance(key)
        agents = list(range(mdp.n))
    else:
        mdp, policy, _, initial = tabular_instance(key)
        agents = []
    P, R = ref.joint_tables(mdp)
    pi = ref.policy_table(mdp, policy)
    P_pi, r_pi = ref.markov_chain(P, R, pi)
    d = ref.stationary(P_pi)
    out = {
        "P_pi": P_pi,
        "d": d,
        "J": ref.average_reward(mdp, policy),
        "J_i": [ref.average_reward(mdp, policy, i) for i in agents],
        "Q": ref.average_q(mdp, policy),
        "Q_i": [ref.average_q(mdp, policy, i) for i in agents],
        "grad": ref.average_gradient(mdp, policy),
        "fundamental_cond": np.linalg.cond(np.eye(len(d)) - P_pi + np.outer(np.ones(len(d)), d)),
    }
    for g in GAMMAS:
        out["Q", g] = ref.discounted_q(mdp, policy, g)
        out["Q_i", g] = [ref.discounted_q(mdp, policy, g, i) for i in agents]
        out["grad", g] = ref.discounted_gradient(mdp, policy, g, initial)
        out["occ", g] = ref.occupancy(mdp, policy, g, initial)
        out["vis", g] = ref.visitation(mdp, policy, g, initial)
    return out


def q_table(mdp, policy, agent=None, gamma=None, **kw):
    states, actions = ref.all_pairs(mdp)
    q = q_function(mdp, policy, states, actions, agent=agent, gamma=gamma, **kw)
    return np.asarray(q).reshape(mdp.n_states, -1)


def dense(M):
    return M.toarray() if hasattr(M, "toarray") else np.asarray(M)


net_keys = pytest.mark.parametrize("key", NET_KEYS, ids=[_net_id(k) for k in NET_KEYS])
tab_keys = pytest.mark.parametrize("key", TAB_KEYS, ids=[_tab_id(k) for k in TAB_KEYS])
backends = pytest.mark.parametrize("backend", BACKENDS)


# ---------------------------------------------------------------------------- the reference itself
@pytest.mark.parametrize("key", NET_KEYS[::3] + TAB_KEYS, ids=[_net_id(k) for k in NET_KEYS[::3]] + [_tab_id(k) for k in TAB_KEYS])
def test_premise_condition_numbers(key):
    """The tolerance argument of the module docstring assumes cond(I - P + 1 d^T) < 1e3."""
    kind = "net" if isinstance(key[0], str) else "tab"
    assert reference(kind, key)["fundamental_cond"] < 1e3


@net_keys
def test_reference_satisfies_definitions(key):
    """The reference obeys the equations it claims (residuals, not a second implementation)."""
    mdp, policy, initial = networked_instance(key)
    r = reference("net", key)
    P, R = ref.joint_tables(mdp)
    pi = ref.policy_table(mdp, policy)
    P_pi, d = r["P_pi"], r["d"]
    assert_allclose(d @ P_pi, d, atol=1e-14)
    # E_{(s,a) ~ d x pi}[Q] = 0 (the normalisation of qu2020 eq. (3)), and the bias solves the
    # Poisson equation with d^T h = 0.
    assert abs(np.sum(d[:, None] * pi * r["Q"])) < 1e-12
    h = ref.bias(P_pi, (pi * R).sum(1), d)
    assert abs(d @ h) < 1e-12
    assert_allclose(h - P_pi @ h, (pi * R).sum(1) - r["J"], atol=1e-12)
    assert r["J"] == pytest.approx(np.mean(r["J_i"]), abs=1e-14)
    assert_allclose(np.mean(r["Q_i"], axis=0), r["Q"], atol=1e-12)
    for g in GAMMAS:
        assert r["occ", g].sum() == pytest.approx(1 / (1 - g), abs=1e-12)
        # Bellman equation for the reference discounted Q
        V = (pi * r["Q", g]).sum(1)
        assert_allclose(r["Q", g], R + g * np.einsum("sat,t->sa", P, V), atol=1e-12)
        # pinv route to V (a third route) agrees with value iteration
        V_pinv = np.linalg.pinv(np.eye(len(d)) - g * P_pi) @ (pi * R).sum(1)
        assert_allclose(V, V_pinv, atol=1e-12)


@pytest.mark.parametrize("key", [NET_KEYS[k] for k in (0, 13, 26, 40, 51)], ids=_net_id)
def test_reference_pairs_and_state_action_chain(key):
    """``ref.all_pairs`` enumerates (s, a) row-major; ``ref.state_action_chain`` is a stochastic
    matrix with the reward table on the same pairs, and its stationary law is d(s) pi(a|s)."""
    mdp, policy, _ = networked_instance(key)
    nS, nA = mdp.n_states, mdp.n_actions
    states, actions = ref.all_pairs(mdp)
    assert states.shape == actions.shape == (nS * nA, mdp.n)
    assert np.array_equal(mdp.state_index(states), np.repeat(np.arange(nS), nA))
    assert np.array_equal(mdp.action_index(actions), np.tile(np.arange(nA), nS))
    Pz, rz, pi = ref.state_action_chain(mdp, policy)
    assert Pz.shape == (nS * nA, nS * nA) and Pz.min() >= 0
    assert_allclose(Pz.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    assert np.array_equal(rz, ref.joint_tables(mdp)[1].reshape(-1))
    assert_allclose(pi, ref.policy_table(mdp, policy), rtol=0, atol=0)
    d = reference("net", key)["d"]
    assert_allclose(ref.stationary(Pz), (d[:, None] * pi).reshape(-1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("key", [NET_KEYS[k] for k in (13, 26, 40, 51)], ids=_net_id)
def test_reference_gradient_against_its_own_finite_differences(key):
    """Reference Lemma 1 / PG theorem sums vs central differences of the reference objective."""
    mdp, policy, initial = networked_instance(key)
    rng = np.random.default_rng(99)
    theta = policy.flat()
    eps = 1e-5
    for gamma in [None, 0.9]:
        grad = ref.average_gradient(mdp, policy) if gamma is None else ref.discounted_gradient(mdp, policy, gamma, initial)

        def f(th):
            pol = policy.with_flat(th)
            if gamma is None:
                return ref.average_reward(mdp, pol)
            P, R = ref.joint_tables(mdp)
            P_pi, r_pi = ref.markov_chain(P, R, ref.policy_table(mdp, pol))
            return initial @ ref.discounted_v(P_pi, r_pi, gamma)

        for _ in range(2):
            u = rng.standard_normal(theta.size)
            u /= np.linalg.norm(u)
            fd = (f(theta + eps * u) - f(theta - eps * u)) / (2 * eps)
            # FD error: eps^2 |f'''| / 6 + eps_mach |f| / eps <~ 1e-10 + 1e-10 (value iteration
            # stops at 1e-14, so for gamma = 0.9 the rounding term is ~1e-13 / 1e-5 = 1e-8).
            assert fd == pytest.approx(u @ grad, rel=1e-6, abs=1e-7)


def test_reference_refuses_two_recurrent_classes():
    with pytest.raises(ValueError, match="multiplicity 2"):
        ref.stationary(np.eye(2))


# ---------------------------------------------------------------------------- solvers vs reference
@net_keys
@backends
def test_transition_matrix(key, backend):
    mdp, policy, _ = networked_instance(key)
    assert_allclose(dense(transition_matrix(mdp, policy, backend=backend)), reference("net", key)["P_pi"], atol=1e-14)


@net_keys
@backends
def test_stationary_and_gain(key, backend):
    mdp, policy, _ = networked_instance(key)
    r = reference("net", key)
    d = stationary_distribution(mdp, policy, backend=backend)
    assert d.shape == (mdp.n_states,)
    assert_allclose(d, r["d"], atol=ATOL)
    assert average_reward(mdp, policy, backend=backend) == pytest.approx(r["J"], abs=ATOL)
    for i in range(mdp.n):
        assert average_reward(mdp, policy, i, backend=backend) == pytest.approx(r["J_i"][i], abs=ATOL)


@net_keys
@backends
def test_average_q(key, backend):
    mdp, policy, _ = networked_instance(key)
    r = reference("net", key)
    assert_allclose(q_table(mdp, policy, backend=backend), r["Q"], atol=ATOL)
    for i in range(mdp.n):
        assert_allclose(q_table(mdp, policy, agent=i, backend=backend), r["Q_i"][i], atol=ATOL)


@net_keys
@backends
@pytest.mark.parametrize("gamma", GAMMAS)
def test_discounted_q(key, backend, gamma):
    mdp, policy, _ = networked_instance(key)
    r = reference("net", key)
    assert_allclose(q_table(mdp, policy, gamma=gamma, backend=backend), r["Q", gamma], atol=ATOL)
    for i in range(mdp.n):
        assert_allclose(q_table(mdp, policy, agent=i, gamma=gamma, backend=backend), r["Q_i", gamma][i], atol=ATOL)


@net_keys
@backends
def test_q_function_on_a_subset_in_any_order(key, backend):
    """q_function at a shuffled batch with repeats equals the table at those pairs."""
    mdp, policy, _ = networked_instance(key)
    r = reference("net", key)
    rng = np.random.default_rng(5)
    s_idx = rng.integers(mdp.n_states, size=7)
    a_idx = rng.integers(mdp.n_actions, size=7)
    q = q_function(mdp, policy, mdp.state_tuples(s_idx), mdp.action_tuples(a_idx), gamma=0.9, backend=backend)
    assert_allclose(q, r["Q", 0.9][s_idx, a_idx], atol=ATOL)


@net_keys
@backends
def test_gradients(key, backend):
    mdp, policy, initial = networked_instance(key)
    r = reference("net", key)
    g = policy_gradient(mdp, policy, backend=backend)
    assert [b.shape for b in g] == [t.shape for t in policy.logits]
    assert_allclose(ref.flat(g), r["grad"], atol=ATOL)
    for gamma in GAMMAS:
        g = policy_gradient(mdp, policy, gamma, initial, backend=backend)
        assert_allclose(ref.flat(g), r["grad", gamma], atol=ATOL)


@net_keys
@pytest.mark.parametrize("gamma", GAMMAS)
def test_occupancy_and_visitation(key, gamma):
    mdp, policy, initial = networked_instance(key)
    r = reference("net", key)
    lam = np.asarray(discounted_occupancy(mdp, policy, gamma, initial))
    assert lam.shape == (mdp.n_states, mdp.n_actions)
    assert_allclose(lam, r["occ", gamma], atol=ATOL)
    assert lam.sum() == pytest.approx(1 / (1 - gamma), abs=ATOL)
    vis = discounted_visitation(mdp, policy, gamma, initial)
    assert_allclose(vis, r["vis", gamma], atol=ATOL)
    assert vis.sum() == pytest.approx(1.0, abs=ATOL)


@net_keys
def test_backends_agree(key):
    """dense and sparse give the same numbers (1e-10) on every quantity, including 'auto'."""
    mdp, policy, initial = networked_instance(key)
    results = {}
    for backend in BACKENDS + ["auto"]:
        results[backend] = np.concatenate([
            stationary_distribution(mdp, policy, backend=backend),
            [average_reward(mdp, policy, backend=backend)],
            q_table(mdp, policy, backend=backend).ravel(),
            q_table(mdp, policy, agent=mdp.n - 1, gamma=0.9, backend=backend).ravel(),
            ref.flat(policy_gradient(mdp, policy, backend=backend)),
            ref.flat(policy_gradient(mdp, policy, 0.5, initial, backend=backend)),
        ])
    assert_allclose(results["dense"], results["sparse"], atol=ATOL)
    assert_allclose(results["auto"], results["dense"], atol=ATOL)


@tab_keys
@backends
def test_tabular_against_reference(key, backend):
    mdp, policy, table, initial = tabular_instance(key)
    r = reference("tab", key)
    for pol in (policy, table):
        assert_allclose(dense(transition_matrix(mdp, pol, backend=backend)), r["P_pi"], atol=1e-14)
        assert_allclose(stationary_distribution(mdp, pol, backend=backend), r["d"], atol=ATOL)
        assert average_reward(mdp, pol, backend=backend) == pytest.approx(r["J"], abs=ATOL)
        assert_allclose(q_table(mdp, pol, backend=backend), r["Q"], atol=ATOL)
        for gamma in GAMMAS:
            assert_allclose(q_table(mdp, pol, gamma=gamma, backend=backend), r["Q", gamma], atol=ATOL)
            assert_allclose(discounted_occupancy(mdp, pol, gamma, initial), r["occ", gamma], atol=ATOL)
            assert_allclose(discounted_visitation(mdp, pol, gamma, initial), r["vis", gamma], atol=ATOL)
    assert_allclose(ref.flat(policy_gradient(mdp, policy, backend=backend)), r["grad"], atol=ATOL)
    for gamma in GAMMAS:
        assert_allclose(ref.flat(policy_gradient(mdp, policy, gamma, initial, backend=backend)), r["grad", gamma],
                        atol=ATOL)


# ---------------------------------------------------------------------------- closed forms
# Two-state chain, one action: P = [[1-p, p], [q, 1-q]], rewards (r0, r1). By hand:
#   d = (q, p) / (p + q),  J = (q r0 + p r1) / (p + q),
#   h = (r0 - r1) / (p + q)^2 * (p, -q)   [d.h = (qp - pq)(r0-r1)/(p+q)^3 = 0;
#        h0 - ((1-p) h0 + p h1) = p (h0 - h1) = p (r0 - r1)/(p+q) = r0 - J, and likewise for h1],
#   Q(s, 0) = r_s - J + (P h)_s = h_s  (one action: Q is the bias),
#   V = (I - gamma P)^{-1} r with det(I - gamma P) = (1 - gamma)(1 - gamma + gamma (p + q)) and
#   (I - gamma P)^{-1} = [[1 - gamma + gamma q, gamma p], [gamma q, 1 - gamma + gamma p]] / det.
P_, Q_, R0, R1 = 0.3, 0.2, 1.0, -0.5


def _two_state_models():
    P = np.array([[1 - P_, P_], [Q_, 1 - Q_]])
    R = np.array([R0, R1])
    net = NetworkedMDP(nx.path_graph(1), [P[:, None, :]], [R[:, None]], transition_form="local", reward_form="local")
    tab = TabularMDP(P[:, None, :], R[:, None])
    return [(net, LocalSoftmaxPolicy.uniform(net), np.array([[0], [1]]), np.array([[0], [0]])),
            (tab, np.ones((2, 1)), np.array([0, 1]), np.array([0, 0]))]


@backends
@pytest.mark.parametrize("which", ["networked", "tabular"])
def test_two_state_closed_form(backend, which):
    mdp, policy, states, actions = _two_state_models()[which == "tabular"]
    p, q = P_, Q_
    d = np.array([q, p]) / (p + q)
    J = (q * R0 + p * R1) / (p + q)
    h = (R0 - R1) / (p + q) ** 2 * np.array([p, -q])
    assert_allclose(stationary_distribution(mdp, policy, backend=backend), d, rtol=1e-13)
    assert average_reward(mdp, policy, backend=backend) == pytest.approx(J, rel=1e-13)
    assert_allclose(q_function(mdp, policy, states, actions, backend=backend), h, rtol=1e-12)
    for gamma in [0.0, 0.5, 0.9, 0.99]:
        det = (1 - gamma) * (1 - gamma + gamma * (p + q))
        V = np.array([(1 - gamma + gamma * q) * R0 + gamma * p * R1, gamma * q * R0 + (1 - gamma + gamma * p) * R1]) / det
        assert_allclose(q_function(mdp, policy, states, actions, gamma=gamma, backend=backend), V, rtol=1e-12)


# ---------------------------------------------------------------------------- independent agents
def _independent(seed, n=3, S=(2, 3, 2), A=(2, 2, 3)):
    rng = np.random.default_rng(seed)
    P = [rng.dirichlet(np.ones(S[i]), size=(S[i], A[i])) for i in range(n)]
    R = [rng.uniform(size=(S[i], A[i])) for i in range(n)]
    logits = [rng.normal(size=(S[i], A[i])) for i in range(n)]
    joint = NetworkedMDP(nx.empty_graph(n), P, R, transition_form="local", reward_form="local")
    singles = [NetworkedMDP(nx.empty_graph(1), [P[i]], [R[i]], transition_form="local", reward_form="local")
               for i in range(n)]
    return joint, LocalSoftmaxPolicy(logits), singles, [LocalSoftmaxPolicy([t]) for t in logits]


@pytest.mark.parametrize("seed", SEEDS)
@backends
def test_independent_agents_factorise(seed, backend):
    """Empty graph: everything factorises over agents (exact identities, checked to 1e-12).

    d = d_0 (x) d_1 (x) d_2 (agent 0 most significant, so np.kron in agent order); J = mean J_i;
    the joint Q for agent i's reward is agent i's own Q at (s_i, a_i) (its reward and its chain
    ignore the others); and since J = (1/n) sum_i J_i(theta_i), block i of grad J is (1/n) times
    agent i's single-agent gradient. The same holds for the discounted value from a product
    initial distribution (uniform).
    """
    joint, policy, singles, single_policies = _independent(seed)
    n = joint.n
    kw = dict(backend=backend)
    d_single = [stationary_distribution(m, p, **kw) for m, p in zip(singles, single_policies)]
    d = stationary_distribution(joint, policy, **kw)
    assert_allclose(d, np.kron(d_single[0], np.kron(d_single[1], d_single[2])), atol=1e-12)
    J_single = [average_reward(m, p, **kw) for m, p in zip(singles, single_policies)]
    assert average_reward(joint, policy, **kw) == pytest.approx(np.mean(J_single), abs=1e-12)
    states, actions = ref.all_pairs(joint)
    grad = policy_gradient(joint, policy, **kw)
    grad_disc = policy_gradient(joint, policy, 0.9, **kw)
    for i, (m, p) in enumerate(zip(singles, single_policies)):
        assert average_reward(joint, policy, i, **kw) == pytest.approx(J_single[i], abs=1e-12)
        for gamma in [None, 0.9]:
            q_joint = q_function(joint, policy, states, actions, agent=i, gamma=gamma, **kw)
            q_own = q_function(m, p, states[:, [i]], actions[:, [i]], agent=0, gamma=gamma, **kw)
            assert_allclose(q_joint, q_own, atol=1e-12)
        assert_allclose(grad[i], policy_gradient(m, p, **kw)[0] / n, atol=1e-12)
        assert_allclose(grad_disc[i], policy_gradient(m, p, 0.9, **kw)[0] / n, atol=1e-12)


# ---------------------------------------------------------------------------- finite differences
FD_NET = [k for k in NET_KEYS if k[0] in ("path3_S322_A132", "star4_S2_A2", "cycle4_S2_A1213") and k[3] == 0]


@pytest.mark.parametrize("key", FD_NET, ids=[_net_id(k) for k in FD_NET])
@pytest.mark.parametrize("gamma", [None, 0.9])
def test_gradient_vs_finite_differences(key, gamma):
    """Exact gradient vs central differences of the exact objective along 4 random directions.

    FD error <= eps^2 |f'''| / 6 + eps_mach |f| / eps ~ 1e-11 + 1e-10 at eps = 1e-5 (|f| <= 10),
    so rel 1e-6 with an absolute floor of 1e-8 (for a directional derivative that happens to
    be ~0) is loose for the method and still 1e4 below a wrong gradient.
    """
    mdp, policy, initial = networked_instance(key)
    init = None if gamma is None else initial
    U, fd = finite_difference_gradient(lambda p: objective(mdp, p, gamma, init), policy, np.random.default_rng(3))
    assert U.shape == (4, policy.size)
    exact = U @ ref.flat(policy_gradient(mdp, policy, gamma, init))
    assert_allclose(fd, exact, rtol=1e-6, atol=1e-8)
    assert np.abs(exact).max() > 1e-4  # the comparison is not between two zeros


@pytest.mark.parametrize("key", TAB_KEYS[2:6], ids=[_tab_id(k) for k in TAB_KEYS[2:6]])
@pytest.mark.parametrize("gamma", [None, 0.5])
def test_tabular_gradient_vs_finite_differences(key, gamma):
    mdp, policy, _, initial = tabular_instance(key)
    init = None if gamma is None else initial
    U, fd = finite_difference_gradient(lambda p: objective(mdp, p, gamma, init), policy, np.random.default_rng(4))
    exact = U @ ref.flat(policy_gradient(mdp, policy, gamma, init))
    assert_allclose(fd, exact, rtol=1e-6, atol=1e-8)
    assert np.abs(exact).max() > 1e-4


def test_objective_is_what_the_reference_says():
    key = NET_KEYS[20]
    mdp, policy, initial = networked_instance(key)
    assert objective(mdp, policy) == pytest.approx(reference("net", key)["J"], abs=ATOL)
    P, R = ref.joint_tables(mdp)
    P_pi, r_pi = ref.markov_chain(P, R, ref.policy_table(mdp, policy))
    V = ref.discounted_v(P_pi, r_pi, 0.9)
    assert objective(mdp, policy, 0.9, initial) == pytest.approx(initial @ V, abs=ATOL)
    assert objective(mdp, policy, 0.9) == pytest.approx(V.mean(), abs=ATOL)  # default: uniform


# ---------------------------------------------------------------------------- the check can fail
def _perturbed(mdp, agent=1):
    """Same model with one row of agent ``agent``'s kernel mixed half-half with a point mass.

    The point mass sits on the row's least likely next state, so the row moves by at least
    1/4 in total variation whatever the random instance (a point mass on a state that already
    has most of the mass would barely change the model)."""
    P = [np.array(t) for t in mdp.transitions]
    row = (0,) * (P[agent].ndim - 1)
    target = np.eye(P[agent].shape[-1])[int(np.argmin(P[agent][row]))]
    P[agent][row] = 0.5 * P[agent][row] + 0.5 * target  # still stochastic
    return NetworkedMDP(mdp.graph, P, mdp.rewards, transition_form=mdp.transition_form, reward_form=mdp.reward_form)


@pytest.mark.parametrize("key", [k for k in NET_KEYS if k[0] in ("path3_S2_A2", "star4_S2_A2") and k[3] == 0],
                         ids=_net_id)
def test_wrong_kernel_is_detected(key):
    """A model differing in one kernel row gives answers far outside ATOL of the reference.

    This is what makes the comparisons above meaningful: a solver that mis-indexed one factor
    (the same as solving a different kernel) would fail them by orders of magnitude.
    """
    mdp, policy, initial = networked_instance(key)
    wrong = _perturbed(mdp)
    r = reference("net", key)
    assert np.abs(stationary_distribution(wrong, policy) - r["d"]).max() > 1e3 * ATOL
    assert np.abs(q_table(wrong, policy) - r["Q"]).max() > 1e3 * ATOL
    assert np.abs(q_table(wrong, policy, gamma=0.9) - r["Q", 0.9]).max() > 1e3 * ATOL
    assert np.abs(ref.flat(policy_gradient(wrong, policy)) - r["grad"]).max() > 1e3 * ATOL
    assert np.abs(ref.flat(policy_gradient(wrong, policy, 0.9, initial)) - r["grad", 0.9]).max() > 1e3 * ATOL
    # and the reference itself sees the difference
    assert np.abs(ref.average_q(wrong, policy) - r["Q"]).max() > 1e3 * ATOL


# ---------------------------------------------------------------------------- chain structure
def _cycle(rewards):
    """Deterministic cycle 0 -> 1 -> ... -> L-1 -> 0 with one action (period L)."""
    L = len(rewards)
    P = np.roll(np.eye(L), 1, axis=1)[:, None, :]
    return TabularMDP(P, np.asarray(rewards, dtype=float)[:, None]), np.ones((L, 1))


def _cesaro_cycle_q(rewards):
    """Cesàro limit of sum_t (r(s_t) - J) on a deterministic cycle, Q(s) = r(s) - J + h(s+1).

    The partial sums S_T(s) = sum_{t<T} (r_{s+t} - J) are L-periodic in T, so their Cesàro mean is
    their average over one period: h(s) = (1/L) sum_{k=1}^{L} S_k(s). (On one action Q = h.)
    """
    r = np.asarray(rewards, dtype=float)
    L = len(r)
    J = r.mean()
    h = np.array([np.mean([sum(r[(s + t) % L] - J for t in range(k)) for k in range(1, L + 1)]) for s in range(L)])
    return r - J + np.roll(h, -1), h


@backends
def test_periodic_flip(backend):
    r0, r1 = 1.0, 0.2
    mdp, pi = _cycle([r0, r1])
    assert_allclose(stationary_distribution(mdp, pi, backend=backend), [0.5, 0.5], atol=1e-14)
    assert average_reward(mdp, pi, backend=backend) == pytest.approx((r0 + r1) / 2, abs=1e-14)
    s, a = np.array([0, 1]), np.array([0, 0])
    with pytest.raises(PeriodicChainError):
        q_function(mdp, pi, s, a, backend=backend)
    # From state 0: r(t) - J = +delta, -delta, ... with delta = (r0 - r1)/2; partial sums delta, 0,
    # delta, 0, ... whose Cesàro mean is delta / 2 = (r0 - r1) / 4. By symmetry Q(1) = -(r0 - r1)/4.
    q = q_function(mdp, pi, s, a, backend=backend, periodic="cesaro")
    assert_allclose(q, [(r0 - r1) / 4, -(r0 - r1) / 4], atol=1e-14)
    assert_allclose(q, _cesaro_cycle_q([r0, r1])[0], atol=1e-14)
    # the discounted Q needs no limit and is unaffected by periodicity
    g = 0.5
    V0 = (r0 + g * r1) / (1 - g**2)
    assert_allclose(q_function(mdp, pi, s, a, gamma=g, backend=backend), [V0, r1 + g * V0], rtol=1e-13)


@backends
def test_periodic_three_cycle_cesaro(backend):
    rewards = [0.7, -0.1, 0.4]
    mdp, pi = _cycle(rewards)
    s, a = np.arange(3), np.zeros(3, dtype=int)
    with pytest.raises(PeriodicChainError):
        q_function(mdp, pi, s, a, backend=backend)
    q = q_function(mdp, pi, s, a, backend=backend, periodic="cesaro")
    assert_allclose(q, _cesaro_cycle_q(rewards)[0], atol=1e-14)
    # the Cesàro bias also has stationary mean zero
    assert abs(np.mean(q)) < 1e-14


@backends
def test_periodic_flip_two_actions(backend):
    """Deterministic flip under both actions, stochastic policy: Q(s,a) = R(s,a) - J + h(1-s)."""
    R = np.array([[1.0, 0.0], [0.3, 0.9]])
    P = np.zeros((2, 2, 2))
    P[0, :, 1] = P[1, :, 0] = 1.0
    mdp = TabularMDP(P, R)
    pi = np.array([[0.25, 0.75], [0.6, 0.4]])
    r_pi = (pi * R).sum(1)
    J = r_pi.mean()
    h = np.array([1, -1]) * (r_pi[0] - r_pi[1]) / 4
    s, a = ref.all_pairs(mdp)
    with pytest.raises(PeriodicChainError):
        q_function(mdp, pi, s, a, backend=backend)
    q = q_function(mdp, pi, s, a, backend=backend, periodic="cesaro")
    assert_allclose(q.reshape(2, 2), R - J + h[::-1, None], atol=1e-14)


@backends
def test_two_absorbing_states(backend):
    P = np.zeros((3, 2, 3))
    P[0, :, 1:] = 0.5
    P[1, :, 1] = P[2, :, 2] = 1.0
    mdp = TabularMDP(P, np.arange(6.0).reshape(3, 2))
    pi = np.full((3, 2), 0.5)
    with pytest.raises(MultipleRecurrentClassesError):
        stationary_distribution(mdp, pi, backend=backend)
    with pytest.raises(MultipleRecurrentClassesError):
        average_reward(mdp, pi, backend=backend)
    with pytest.raises(MultipleRecurrentClassesError):
        q_function(mdp, pi, np.array([0]), np.array([0]), backend=backend)
    with pytest.raises(MultipleRecurrentClassesError):
        policy_gradient(mdp, TabularSoftmaxPolicy(np.zeros((3, 2))), backend=backend)
    # the discounted quantities are still well defined
    assert_allclose(q_function(mdp, pi, np.array([1, 2]), np.array([1, 0]), gamma=0.5, backend=backend),
                    [3 + 0.5 * 2.5 / 0.5, 4 + 0.5 * 4.5 / 0.5], rtol=1e-13)


@backends
def test_independent_flips_are_reducible(backend):
    """Two agents each flipping deterministically: (0,0)<->(1,1) and (0,1)<->(1,0) never meet."""
    flip = np.array([[0.0, 1.0], [1.0, 0.0]])[:, None, :]
    mdp = NetworkedMDP(nx.empty_graph(2), [flip, flip], [np.zeros((2, 1))] * 2, transition_form="local",
                       reward_form="local")
    with pytest.raises(MultipleRecurrentClassesError):
        stationary_distribution(mdp, LocalSoftmaxPolicy.uniform(mdp), backend=backend)


@backends
def test_transient_state(backend):
    """State 0 is left for good; {1, 2} is one aperiodic recurrent class. Everything is defined."""
    P = np.zeros((3, 2, 3))
    P[0, 0] = [0.2, 0.8, 0.0]
    P[0, 1] = [0.0, 0.3, 0.7]
    P[1, 0] = [0.0, 0.3, 0.7]
    P[1, 1] = [0.0, 0.9, 0.1]
    P[2, 0] = [0.0, 0.6, 0.4]
    P[2, 1] = [0.0, 1.0, 0.0]
    mdp = TabularMDP(P, np.array([[1.0, 0.0], [0.5, 0.2], [0.0, 0.8]]))
    policy = TabularSoftmaxPolicy(np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.0]]))
    pi = policy.table()
    P_pi, r_pi = ref.markov_chain(np.array(P), np.array(mdp.R), pi)
    d = ref.stationary(P_pi)
    assert d[0] == 0.0
    assert_allclose(stationary_distribution(mdp, policy, backend=backend), d, atol=ATOL)
    assert average_reward(mdp, policy, backend=backend) == pytest.approx(d @ r_pi, abs=ATOL)
    assert_allclose(q_table(mdp, policy, backend=backend), ref.average_q(mdp, policy), atol=ATOL)
    assert_allclose(ref.flat(policy_gradient(mdp, policy, backend=backend)), ref.average_gradient(mdp, policy),
                    atol=ATOL)
    init = np.array([1.0, 0.0, 0.0])
    assert_allclose(discounted_occupancy(mdp, policy, 0.9, init), ref.occupancy(mdp, policy, 0.9, init), atol=ATOL)
    assert_allclose(ref.flat(policy_gradient(mdp, policy, 0.9, init, backend=backend)),
                    ref.discounted_gradient(mdp, policy, 0.9, init), atol=ATOL)
