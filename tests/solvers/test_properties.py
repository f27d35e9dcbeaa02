r"""Property tests: every exact quantity on random small networked MDPs, two ways (issue 9, item 4).

hypothesis draws a :class:`Case`: a random connected graph on 3-4 agents (a random spanning tree
plus random extra edges, so stars, paths, triangles and cycles all occur, and ``i`` is often not
first in ``N_i``), mixed local sizes ``|S_i| in {2, 3}``, ``|A_i| in {1, 2}``, both transition
forms and both reward forms, a random softmax policy, a random initial distribution and a
discount factor. Kernels are uniform random rows, hence strictly positive: the chain is unichain
and aperiodic under every policy.

On each instance the exact solvers must agree with the brute-force reference
(``_reference.py``, numpy on the joint tables by a different numerical route) within its
documented ``ATOL = 1e-10`` (``test_exact_reference.py``: both sides are within ~1e-12 of the
truth on condition numbers < 1e3, which positive kernels on <= 36 states satisfy by far) for
``d``, ``J``, ``J_i``, the average-reward and discounted ``Q`` (global and per agent) at every
pair, both gradients, the occupancy and the visitation. Second routes, independent of the
reference: the networked model compiled to a :class:`~envs.TabularMDP` and solved by the
tabular operator (same answers from a different operator), the sparse backend against the dense
one, the Poisson/stationarity/occupancy invariants (``tests/_invariants.py``) and one central
finite difference of the exact objective along a random direction for each gradient.

A failing case is shrunk and printed: the drawn :class:`Case` (graph edges, sizes, forms, seed,
gamma) is its own repr, and ``note()`` adds the quantity that failed.
"""

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import _invariants as inv
import _reference as ref
from netmarl_verify.envs import LocalSoftmaxPolicy, random_networked_mdp
from netmarl_verify.solvers.exact import (
    average_reward,
    discounted_occupancy,
    discounted_visitation,
    evaluate_policy,
    objective,
    policy_gradient,
    q_function,
    stationary_distribution,
    transition_matrix,
)

ATOL = 1e-10  # the reference's documented agreement (test_exact_reference.py module docstring)
MAX_STATES = 36


@dataclass(frozen=True)
class Case:
    edges: tuple
    n: int
    S: tuple
    A: tuple
    transition_form: str
    reward_form: str
    seed: int
    gamma: float

    def build(self):
        graph = nx.Graph()
        graph.add_nodes_from(range(self.n))
        graph.add_edges_from(self.edges)
        rng = np.random.default_rng(self.seed)
        mdp = random_networked_mdp(graph, self.S, self.A, rng, transition_form=self.transition_form,
                                   reward_form=self.reward_form)
        policy = LocalSoftmaxPolicy([rng.normal(scale=1.5, size=(s, a)) for s, a in zip(self.S, self.A)])
        initial = rng.dirichlet(np.ones(mdp.n_states))
        return mdp, policy, initial


@st.composite
def cases(draw):
    n = draw(st.integers(3, 4))
    # random spanning tree (node k attaches to an earlier node), then extra edges: connected
    edges = {(draw(st.integers(0, k - 1)), k) for k in range(1, n)}
    for i in range(n):
        for j in range(i + 1, n):
            if (i, j) not in edges and draw(st.booleans()):
                edges.add((i, j))
    S = [draw(st.integers(2, 3)) for _ in range(n)]
    while math.prod(S) > MAX_STATES:  # keep the reference's joint tables small
        S[S.index(max(S))] = 2
    A = tuple(draw(st.integers(1, 2)) for _ in range(n))
    return Case(edges=tuple(sorted(edges)), n=n, S=tuple(S), A=A,
                transition_form=draw(st.sampled_from(["local", "neighbourhood"])),
                reward_form=draw(st.sampled_from(["local", "neighbourhood"])),
                seed=draw(st.integers(0, 2**31 - 1)),
                gamma=draw(st.sampled_from([0.0, 0.3, 0.9])))


def _check(what, actual, expected, atol=ATOL):
    note(f"checking {what}")
    assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=0, atol=atol,
                    err_msg=what)


def _dense(P):
    return P.toarray() if hasattr(P, "toarray") else np.asarray(P)


def _q_table(mdp, policy, **kw):
    s, a = ref.all_pairs(mdp)
    return np.asarray(q_function(mdp, policy, s, a, **kw)).reshape(mdp.n_states, mdp.n_actions)


PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                             print_blob=True)


@PROPERTY_SETTINGS
@given(cases())
def test_every_exact_quantity_agrees_with_the_reference(case):
    mdp, policy, initial = case.build()
    g = case.gamma
    note(f"{mdp!r}, neighbourhoods {mdp.neighbourhoods}")
    P, R = ref.joint_tables(mdp)
    pi = ref.policy_table(mdp, policy)
    P_pi, r_pi = ref.markov_chain(P, R, pi)
    d = ref.stationary(P_pi)

    _check("P_pi", _dense(transition_matrix(mdp, policy)), P_pi, atol=1e-14)
    _check("d", stationary_distribution(mdp, policy), d)
    _check("J", average_reward(mdp, policy), d @ r_pi)
    for i in range(mdp.n):
        _check(f"J_{i}", average_reward(mdp, policy, i), ref.average_reward(mdp, policy, i))
    _check("Q (average)", _q_table(mdp, policy), ref.average_q(mdp, policy))
    _check("Q (gamma)", _q_table(mdp, policy, gamma=g), ref.discounted_q(mdp, policy, g))
    for i in range(mdp.n):
        _check(f"Q_{i} (average)", _q_table(mdp, policy, agent=i), ref.average_q(mdp, policy, i))
        _check(f"Q_{i} (gamma)", _q_table(mdp, policy, agent=i, gamma=g), ref.discounted_q(mdp, policy, g, i))
    _check("grad J", ref.flat(policy_gradient(mdp, policy)), ref.average_gradient(mdp, policy))
    _check("grad V", ref.flat(policy_gradient(mdp, policy, g, initial)), ref.discounted_gradient(mdp, policy, g, initial))
    _check("occupancy", discounted_occupancy(mdp, policy, g, initial), ref.occupancy(mdp, policy, g, initial))
    _check("visitation", discounted_visitation(mdp, policy, g, initial), ref.visitation(mdp, policy, g, initial))


@PROPERTY_SETTINGS
@given(cases())
def test_every_exact_quantity_agrees_with_a_second_route(case):
    mdp, policy, initial = case.build()
    g = case.gamma
    note(f"{mdp!r}, neighbourhoods {mdp.neighbourhoods}")
    tab = mdp.to_tabular()
    pi = policy.joint_table(mdp)
    # route 2a: the compiled joint model through the tabular operator
    _check("d (tabular route)", stationary_distribution(tab, pi), stationary_distribution(mdp, policy))
    _check("J (tabular route)", average_reward(tab, pi), average_reward(mdp, policy))
    _check("Q (tabular route)", _q_table(tab, pi), _q_table(mdp, policy))
    _check("Q gamma (tabular route)", _q_table(tab, pi, gamma=g), _q_table(mdp, policy, gamma=g))
    _check("occupancy (tabular route)", discounted_occupancy(tab, pi, g, initial),
           discounted_occupancy(mdp, policy, g, initial))
    # route 2b: the sparse backend
    _check("d (sparse)", stationary_distribution(mdp, policy, backend="sparse"), stationary_distribution(mdp, policy))
    _check("grad J (sparse)", ref.flat(policy_gradient(mdp, policy, backend="sparse")),
           ref.flat(policy_gradient(mdp, policy)))
    # route 2c: invariants of every agent's Poisson equation and of the occupancy
    ev = evaluate_policy(mdp, policy)
    P = _dense(ev.P)
    inv.assert_stationary(ev.stationary, P)
    for i in range(mdp.n):
        inv.assert_poisson(ev.values[:, i], ev.J_local[i], ev.rewards[:, i], P, ev.stationary, atol=1e-11)
    assert ev.J == np.mean(ev.J_local)
    inv.assert_occupancy(discounted_occupancy(mdp, policy, g, initial), tab.P, g, initial, atol=1e-11)
    # route 2d: a central difference of the exact objective (rounding 1e-16/1e-5, truncation 1e-10)
    rng = np.random.default_rng(case.seed % 1000)
    u = rng.standard_normal(policy.size)
    u /= np.linalg.norm(u)
    theta, eps = policy.flat(), 1e-5
    for gamma, init in ((None, None), (g, initial)):
        grad = ref.flat(policy_gradient(mdp, policy, gamma, init))
        fd = (objective(mdp, policy.with_flat(theta + eps * u), gamma, init)
              - objective(mdp, policy.with_flat(theta - eps * u), gamma, init)) / (2 * eps)
        note(f"directional derivative gamma={gamma}: exact {u @ grad!r}, fd {fd!r}")
        assert abs(fd - u @ grad) <= 1e-6 * abs(fd) + 1e-8
