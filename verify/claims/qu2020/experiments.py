r"""qu2020: Lemma 3 (TV decay of the agent marginals), App. A.2 (k-colouring), App. B.4 (Fig. 3a/3b).

``qu2020.lemma3``  Lemma 3 (App. B.1/B.2). For the chain :math:`z = (s, a)` of a networked MDP
                   under a localized policy, with :math:`C` the interaction matrix of Theorem 1 and
                   :math:`\rho = \max_i \sum_j C_{ij}`, any two initial pairs :math:`z, \tilde z`
                   that agree on :math:`N_i^\kappa` give

                   .. math:: TV(\pi_{t,i}, \tilde\pi_{t,i}) = 0 \ (t \le \kappa), \qquad
                             TV(\pi_{t,i}, \tilde\pi_{t,i}) \le \rho^t \ (t > \kappa),

                   :math:`\pi_{t,i}` the law of :math:`z_i(t)`. The proof (Lemma 4) shows the
                   sharper :math:`TV \le [C^t a^{(0)}]_i` with :math:`a^{(0)}_j = 1\{j \notin
                   N_i^\kappa\}`, which needs no :math:`\rho < 1`; both are checked.
``qu2020.appA2``   App. A.2: the k-colouring encoding. With state-independent policies
                   :math:`\zeta_i`, :math:`\pi_{b_i}(1) = P(a_i \ne a_j\ \forall j \in N_i\setminus i)
                   = \sum_c \zeta_i(c)\prod_{j \in N_i\setminus i}(1 - \zeta_j(c))`,
                   :math:`J = \frac1n\sum_i \pi_{b_i}(1)`, and :math:`\max J = 1` iff a proper
                   k-colouring exists.
``qu2020.figB4``   App. B.4, Fig. 3a/3b: on random instances (line of 10 nodes, agent 0 at the end;
                   2 x 6 grid, agent 0 a corner) "the left-hand side of (4) decays exponentially in
                   :math:`\kappa`", made falsifiable as fitted rates below 1 (see its notes).

Every quantity is exact: the time-t marginals are propagated with the exact global transition
matrix (:func:`netmarl_verify.solvers.exact.agent_marginals`), J and stationary marginals come from the exact
solvers, and each value of (4) is a difference of two exactly computed :math:`Q_i`.

The supremum over pairs in Lemma 3 is computed exactly on small instances without enumerating
pairs: :math:`TV(p, q) = \max_{E \subseteq Z_i} (p(E) - q(E))`, so the largest TV between any
two initial pairs with the same inside coordinates is
:math:`\max_E (\max_{z} \pi_{t,i}^z(E) - \min_{z} \pi_{t,i}^z(E))` over each group of initial
pairs sharing :math:`z_{N_i^\kappa}` — one marginal per initial pair and :math:`2^{|Z_i|}` events (:func:`netmarl_verify.solvers.exact.marginal_tv_sup`).

Each claim is built by a ``make_*_claim`` factory that declares its faults (a smaller
:math:`\rho`, a colouring kernel that ignores an edge, a decay profile read backwards;
:func:`netmarl_verify.verify.with_faults` injects them); the tests show each of them
``violated``. The registered claims use none.
"""

import itertools
import sys

import networkx as nx
import numpy as np
import sympy
from tqdm import tqdm

from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    marginal_tv_sup,
    agent_marginals,
    average_reward,
    decay_profile,
    evaluate_policy,
    interaction_matrix,
    row_sums,
)
from netmarl_verify.verify import (
    DEFAULT_RTOL,
    Choice,
    Claim,
    DecayFigure,
    Fault,
    Instance,
    Integer,
    Measurement,
    Real,
    SearchSpace,
    Series,
    assume_less,
    bootstrap_rate_quantile,
    claim_factory,
    fit_exponential_rate,
    register,
)

from ._common import COPY_CHAIN, COUPLED, PAPER_FILE, RANDOM, instance_seed

__all__ = [
    "lemma4_bound",
    "make_lemma3_claim",
    "canonical_colourings",
    "is_colourable",
    "pi_b_closed_form",
    "coloring_marginals",
    "make_appA2_claim",
    "b4_profile",
    "make_figB4_claim",
]


# =============================================================================== Lemma 3
#: Exhaustive supremum over pairs when the number of initial pairs |S||A| is at most this.
LEMMA3_EXHAUSTIVE_MAX = 4096
#: Random pairs per (agent, kappa) when the instance is too large to enumerate.
LEMMA3_PAIRS = 64

t_sym, kappa_sym, rho_sym = sympy.symbols("t kappa rho", nonnegative=True)
#: Lemma 3's bound as a formula of (t, kappa, rho).
LEMMA3_BOUND = sympy.Piecewise((0, t_sym <= kappa_sym), (rho_sym**t_sym, True))

#: Absolute allowance of the Lemma 3 verdicts. The two marginals are propagated by t <= 15
#: products with a row-stochastic |S| x |S| matrix (|S| <= 256 here); by the standard forward
#: error bound for non-negative sums each product adds at most |S| u = 2.8e-14 (u = 1.1e-16) in l1,
#: so TV (half the l1 difference of two such vectors) carries at most (T + 1) |S| u = 4.5e-13
#: of rounding. Exact zeros (t <= kappa) therefore show as values below 1e-12.
LEMMA3_ATOL = 1e-12


def lemma4_bound(C, distances, agent, kappa, horizon):
    r"""The proof's sharper bound :math:`[C^t a^{(0)}]_i`, :math:`a^{(0)}_j = 1\{d(i, j) > \kappa\}`.

    qu2020 App. B.2 (Lemma 4): :math:`a^{(t)} = C^t a^{(0)}` is t-compatible, hence
    :math:`TV(\pi_{t,i}, \tilde\pi_{t,i}) \le a^{(t)}_i`. Returns shape (horizon + 1,).
    """
    a = (np.asarray(distances[agent]) > kappa).astype(float)
    out = np.empty(horizon + 1)
    for t in range(horizon + 1):
        out[t] = a[agent]
        a = C @ a
    return out


def _lemma3_instances(quick, seed):
    # (name, family, graph, builder(rng)): strengths chosen so that rho < 1 except for the last one;
    # rho is measured, never assumed. `graph` is the recorded param.graph (the 2x3 grid's is its
    # whole name: historic value, kept so that the rows do not change).
    specs = [
        ("copy chain n=4 rho=0.6", COPY_CHAIN, "copy chain", lambda r: envs.copy_chain_mdp(4, 0.6, action_size=2)),
        ("coupled path n=5 strength=0.3", COUPLED, "coupled path",
         lambda r: envs.coupled_networked_mdp(nx.path_graph(5), 0.3, 2, 2, r)),
        ("coupled cycle n=4 strength=0.2", COUPLED, "coupled cycle",
         lambda r: envs.coupled_networked_mdp(nx.cycle_graph(4), 0.2, 2, 2, r)),
        ("coupled path n=5 strength=0.8 (rho >= 1)", COUPLED, "coupled path",
         lambda r: envs.coupled_networked_mdp(nx.path_graph(5), 0.8, 2, 2, r)),
    ]
    if not quick:
        specs = [
            ("copy chain n=6 rho=0.6", COPY_CHAIN, "copy chain",
             lambda r: envs.copy_chain_mdp(6, 0.6, action_size=2)),
            ("coupled path n=6 strength=0.3", COUPLED, "coupled path",
             lambda r: envs.coupled_networked_mdp(nx.path_graph(6), 0.3, 2, 2, r)),
            ("coupled cycle n=5 strength=0.25", COUPLED, "coupled cycle",
             lambda r: envs.coupled_networked_mdp(nx.cycle_graph(5), 0.25, 2, 2, r)),
            ("coupled grid 2x3 strength=0.2", COUPLED, "coupled grid 2x3 strength=0.2",
             lambda r: envs.coupled_networked_mdp(envs.grid_graph(2, 3), 0.2, 2, 2, r)),
            ("coupled path n=8 strength=0.3 (random pairs)", COUPLED, "coupled path",
             lambda r: envs.coupled_networked_mdp(nx.path_graph(8), 0.3, 2, 2, r)),
            ("coupled path n=6 strength=0.8 (rho >= 1)", COUPLED, "coupled path",
             lambda r: envs.coupled_networked_mdp(nx.path_graph(6), 0.8, 2, 2, r)),
        ]
    for name, family, graph, build in specs:
        rng = np.random.default_rng(instance_seed(seed, name))
        mdp = build(rng)
        policy = envs.LocalSoftmaxPolicy.random(mdp, rng)
        C = interaction_matrix(mdp)
        rho, sums = row_sums(C)
        n_pairs_total = mdp.n_states * mdp.n_actions
        yield Instance(
            name=name,
            params={"n": mdp.n, "S": mdp.state_sizes[0], "A": mdp.action_sizes[0], "graph": graph,
                    "horizon": 8 if quick else 15},
            payload={"mdp": mdp, "policy": policy, "C": C, "rho": rho, "row_sums": sums,
                     "exhaustive": n_pairs_total <= LEMMA3_EXHAUSTIVE_MAX},
            size=float(n_pairs_total),
            family=family,
        )


def _lemma3_payload(mdp, policy, family):
    C = interaction_matrix(mdp)
    rho, sums = row_sums(C)
    n_pairs_total = mdp.n_states * mdp.n_actions
    return Instance(name="", payload={"mdp": mdp, "policy": policy, "C": C, "rho": rho, "row_sums": sums,
                                      "exhaustive": n_pairs_total <= LEMMA3_EXHAUSTIVE_MAX},
                    size=float(n_pairs_total), family=family)


def _lemma3_search_spaces():
    """Search spaces of Lemma 3 (``netmarl-verify search``): the copy chain (where the TV bound is
    attained) and coupled paths/cycles, with the horizon; S = A = 2, small enough to be exhaustive."""
    horizon = {"horizon": Integer(3, 10)}

    def build_chain(p):
        mdp = envs.copy_chain_mdp(p["n"], p["rho"], action_size=2)
        return _lemma3_payload(mdp, envs.LocalSoftmaxPolicy.random(mdp, p["seed"]), COPY_CHAIN)

    def build_coupled(p):
        graph = (nx.path_graph if p["graph"] == "path" else nx.cycle_graph)(p["n"])
        rng = np.random.default_rng(p["seed"])
        mdp = envs.coupled_networked_mdp(graph, p["strength"], 2, 2, rng)
        return _lemma3_payload(mdp, envs.LocalSoftmaxPolicy.random(mdp, rng), COUPLED)

    return (
        SearchSpace(COPY_CHAIN, {"n": Integer(2, 5), "rho": Real(0.05, 0.95), "seed": Integer(0, 2**31 - 1),
                                 **horizon}, build_chain, "copy chain with two actions: length, rho, policy seed"),
        SearchSpace(COUPLED, {"graph": Choice(("path", "cycle")), "n": Integer(3, 5), "strength": Real(0.01, 1.0),
                              "seed": Integer(0, 2**31 - 1), **horizon}, build_coupled,
                    "coupled path/cycle, S = A = 2: coupling strength, seed of the kernels and policy"),
    )


def _lemma3_rho_assumption(inst):
    rho, sums = inst.payload["rho"], inst.payload["row_sums"]
    return assume_less(
        "rho = max_i sum_j C_ij < 1", rho, 1,
        f"row sums {np.round(sums, 4).tolist()}. Lemma 3 itself allows any rho, but for rho >= 1 "
               "the bound rho^t >= 1 is vacuous (TV <= 1 always): those rows are reported as not applicable.")


def _lemma3_measure(inst, rng, quick, rho_scale=1.0):
    mdp, policy, C = inst.payload["mdp"], inst.payload["policy"], inst.payload["C"]
    rho = inst.payload["rho"]
    T = inst.params["horizon"]
    kappas = list(range(int(mdp.distances.max())))  # beyond the diameter nothing is outside
    n_pairs = None if inst.payload["exhaustive"] else LEMMA3_PAIRS
    tv = np.stack([marginal_tv_sup(mdp, policy, i, kappas, T, n_pairs=n_pairs, rng=rng) for i in range(mdp.n)])
    # the sharper bound of the proof, with the (possibly scaled, to break it on purpose) C
    B = np.stack([[lemma4_bound(rho_scale * C, mdp.distances, i, k, T) for k in kappas] for i in range(mdp.n)])
    rho_ok = _lemma3_rho_assumption(inst)
    pairs = "all" if n_pairs is None else f"{n_pairs} random per (agent, kappa)"
    for c, k in enumerate(kappas):
        for t in range(T + 1):
            worst = int(np.argmax(tv[:, c, t]))
            yield Measurement(
                measured=float(tv[worst, c, t]), values={"rho": rho_scale * rho, "t": t, "kappa": k},
                point={"form": "rho^t", "kappa": k, "t": t},
                extra={"agent": worst, "pairs": pairs}, assumptions=[rho_ok])
            j = _tightest_agent(tv[:, c, t], B[:, c, t])
            yield Measurement(
                measured=float(tv[j, c, t]), bound=float(B[j, c, t]), values={"t": t, "kappa": k},
                point={"form": "[C^t a0]_i", "kappa": k, "t": t},
                extra={"agent": j, "pairs": pairs})


def _tightest_agent(tv, bound):
    """The agent whose Lemma 4 row decides the verdict: a violating one (largest excess) if any, else the
    largest ratio tv / bound among positive bounds, else the largest tv."""
    excess = tv - bound * (1 + DEFAULT_RTOL) - LEMMA3_ATOL
    if (excess > 0).any():
        return int(np.argmax(excess))
    if (bound > 0).any():
        return int(np.argmax(np.where(bound > 0, tv / np.where(bound > 0, bound, 1.0), -np.inf)))
    return int(np.argmax(tv))


def _lemma3_figure(rows):
    """Specs: max TV against t for kappa = 0, 1, 2 with rho^t, one per instance."""
    specs = []
    sub = rows[rows["point.form"] == "rho^t"]
    for name in sub["instance"].unique():
        r = sub[sub["instance"] == name]
        t = np.sort(r["point.t"].unique()).astype(float)
        ks = [int(k) for k in sorted(r["point.kappa"].unique()) if k <= 2]
        rho = float(r["value.rho"].iloc[0])
        # values at the rounding level (the exact zeros for t <= kappa) are not drawn on the log axis
        specs.append(DecayFigure(
            f"Lemma 3: {name}",
            [Series(rf"$\kappa={k}$", "measured", where={"point.kappa": k}, mask_at_or_below=LEMMA3_ATOL)
             for k in ks],
            x="point.t", where={"point.form": "rho^t", "instance": name},
            bounds=Series(rf"$\rho^t$, $\rho={rho:.3g}$", rho**t, x=t), band=None,
            xlabel="$t$", ylabel=r"max TV$(\pi_{t,i}, \tilde\pi_{t,i})$"))
    return specs


@claim_factory(rho_scale=Fault(1.0, "multiplies rho and C in both bounds (a wrong constant)"))
def make_lemma3_claim(*, faults, claim_id="qu2020.lemma3"):
    r"""The Lemma 3 claim (faults: :func:`netmarl_verify.verify.with_faults`)."""
    rho_scale = faults["rho_scale"]
    return Claim(
        id=claim_id,
        paper_file=PAPER_FILE,
        source="Lemma 3 (App. B.1), proof in App. B.2 (Lemma 4)",
        statement="For initial pairs z, z~ that agree on the kappa-hop neighbourhood of agent i, the laws of "
                  "z_i(t) = (s_i(t), a_i(t)) coincide for t <= kappa and differ by at most rho^t in total "
                  "variation for t > kappa, rho = max_i sum_j C_ij (Theorem 1's interaction matrix). The proof "
                  "gives the sharper TV <= [C^t a0]_i with a0 the indicator of the agents outside N_i^kappa.",
        latex=r"TV(\pi_{t,i}, \tilde\pi_{t,i}) = 0 \ (t \le \kappa), \quad "
              r"TV(\pi_{t,i}, \tilde\pi_{t,i}) \le \rho^t \ (t > \kappa), \quad "
              r"TV(\pi_{t,i}, \tilde\pi_{t,i}) \le [C^t a^{(0)}]_i",
        bound=LEMMA3_BOUND,
        measure=lambda inst, rng, quick: _lemma3_measure(inst, rng, quick, rho_scale),
        instances=_lemma3_instances,
        figure=_lemma3_figure,
        search=_lemma3_search_spaces(),
        atol=LEMMA3_ATOL,
        notes="One row per (kappa, t) and form. 'rho^t': measured = max over all agents i and all initial pairs "
              "agreeing on N_i^kappa (exact supremum via events, module docstring; on the instance marked "
              "'(random pairs)', LEMMA3_PAIRS random pairs per (agent, kappa) that differ at every outside agent, "
              "a lower bound on the supremum). '[C^t a0]_i': the proof's sharper per-agent bound, shown at the "
              "agent that decides the verdict (a violating agent if any, else the largest ratio); it needs no "
              "rho < 1 and stays applicable where rho >= 1. How tight each form is: see the table and the figure. "
              "atol (LEMMA3_ATOL) covers the rounding of the propagated marginals, of order (T+1)|S|u.",
    )


# =============================================================================== App. A.2
#: (name, graph label, graph, k); the expected answers (chromatic numbers 3, 2, 4, 3) are in the tests.
def _coloring_specs(quick):
    specs = [
        ("triangle k=2", "triangle", nx.complete_graph(3), 2),
        ("triangle k=3", "triangle", nx.complete_graph(3), 3),
        ("4-cycle k=2", "4-cycle", nx.cycle_graph(4), 2),
        ("K4 k=3", "K4", nx.complete_graph(4), 3),
        ("5-cycle k=2", "5-cycle", nx.cycle_graph(5), 2),
    ]
    if not quick:
        specs.append(("5-cycle k=3", "5-cycle", nx.cycle_graph(5), 3))
    return specs


#: Random state-independent policies per instance for the closed form (part (b)); instances with
#: more global states than this skip part (b) (a dense solve with k^n successors per state).
APPA2_CLOSED_FORM_MAX_STATES = 1296
#: Tolerance of the identities: J and the stationary marginals come from a direct solve with a
#: residual certificate (~1e-15); a marginal sums at most 1296 entries (<= 1296 u = 1.4e-13 of
#: rounding). 1e-12 is a rounding allowance; a modelling error (e.g. a neighbour missing from the
#: b-update) changes pi_b by at least min_c zeta_i(c) zeta_j(c), orders of magnitude more.
APPA2_TOL = 1e-12
#: J counts as 1 when within this of 1 (J of a deterministic colouring is a multiple of 1/n).
APPA2_ONE_TOL = 1e-12


def canonical_colourings(n, k):
    """Colourings of ``0..n-1`` with k colours up to renaming the colours.

    Restricted growth strings: node 0 has colour 0 and each node's colour is at most one more than
    the largest colour used before it. Every colouring is a colour permutation of exactly one of
    them; the k-colouring MDP is equivariant under colour permutations, so J takes the same values.
    """
    out = []

    def grow(prefix, top):
        if len(prefix) == n:
            out.append(tuple(prefix))
            return
        for c in range(min(top + 2, k)):
            grow(prefix + [c], max(top, c))

    grow([], -1)
    return out


def is_colourable(graph, k):
    """Brute force over all k^n colourings of the networkx graph (independent of the MDP)."""
    nodes = list(graph.nodes)
    edges = [(nodes.index(u), nodes.index(v)) for u, v in graph.edges]
    return any(all(c[u] != c[v] for u, v in edges) for c in itertools.product(range(k), repeat=len(nodes)))


def _properly_coloured(graph, colouring):
    return np.array([all(colouring[i] != colouring[j] for j in graph.neighbors(i)) for i in range(len(colouring))])


def _state_independent(zeta, k):
    """LocalTabularPolicy whose rows ignore the state (the paper's policy class), ``zeta[i]`` shape (k,)."""
    return envs.LocalTabularPolicy([np.tile(np.asarray(z, dtype=float), (2 * k, 1)) for z in zeta])


def pi_b_closed_form(graph, zeta):
    r""":math:`\pi_{b_i}(1) = \sum_c \zeta_i(c) \prod_{j \in N_i \setminus i} (1 - \zeta_j(c))` (App. A.2).

    Parameters
    ----------
    graph : networkx.Graph
    zeta : ndarray, shape (n, k)
        State-independent action distributions.

    Returns
    -------
    ndarray, shape (n,)
    """
    zeta = np.asarray(zeta, dtype=float)
    out = np.empty(zeta.shape[0])
    for i in range(zeta.shape[0]):
        prod = np.ones(zeta.shape[1])
        for j in graph.neighbors(i):
            prod *= 1.0 - zeta[j]
        out[i] = float(zeta[i] @ prod)
    return out


def coloring_marginals(mdp, d, k):
    r"""Stationary marginals of :math:`u_i` and :math:`b_i` from the global stationary distribution.

    Returns ``(pu, pb)`` with shapes (n, k) and (n, 2) (local index ``2 u + b``).
    """
    full = np.asarray(d).reshape(mdp.state_sizes)
    pu, pb = np.empty((mdp.n, k)), np.empty((mdp.n, 2))
    for i in range(mdp.n):
        m = full.sum(axis=tuple(j for j in range(mdp.n) if j != i)).reshape(k, 2)  # [u, b]
        pu[i], pb[i] = m.sum(axis=1), m.sum(axis=0)
    return pu, pb


def _appA2_instances(quick, seed):
    for name, label, graph, k in _coloring_specs(quick):
        yield Instance(name=name, params={"graph": label, "n": graph.number_of_nodes(), "k": k},
                       payload={"graph": graph, "k": k}, size=float((2 * k) ** graph.number_of_nodes()),
                       family="colouring")


def _appA2_measure(inst, rng, quick, mdp_builder=envs.coloring_mdp):
    graph, k = inst.payload["graph"], inst.payload["k"]
    n = graph.number_of_nodes()
    mdp = mdp_builder(graph, k)
    # (a) max J over deterministic colourings, by exhaustion up to colour renaming
    colourable = is_colourable(graph, k)
    best, best_col, ident = -np.inf, None, 0.0
    colourings = canonical_colourings(n, k)
    for col in colourings:
        J = average_reward(mdp, _state_independent(np.eye(k)[list(col)], k), backend="sparse")
        # the paper's two-step argument: s_i reaches (u_i, b_i) fixed, so J = share of proper nodes
        ident = max(ident, abs(J - _properly_coloured(graph, col).mean()))
        if J > best:
            best, best_col = J, col
    max_is_one = best >= 1.0 - APPA2_ONE_TOL
    yield Measurement(
        measured=float(abs(int(max_is_one) - int(colourable))), bound=0.0,
        point={"check": "max J = 1 iff a proper colouring exists"},
        extra={"max_J": best, "argmax_colouring": list(best_col), "colourable (brute force)": colourable,
               "colourings evaluated": len(colourings), "colourings (all)": k**n})
    yield Measurement(measured=ident, bound=APPA2_TOL,
                      point={"check": "J(colouring) = share of properly coloured nodes"},
                      extra={"colourings evaluated": len(colourings)})
    # (b) closed form for random state-independent policies
    if mdp.n_states > APPA2_CLOSED_FORM_MAX_STATES:
        return
    for p in range(1 if quick else 3):
        zeta = rng.dirichlet(np.ones(k), size=n)
        policy = _state_independent(zeta, k)
        ev = evaluate_policy(mdp, policy, periodic="cesaro")
        pu, pb = coloring_marginals(mdp, ev.stationary, k)
        closed = pi_b_closed_form(graph, zeta)
        yield Measurement(measured=float(np.abs(pb[:, 1] - closed).max()), bound=APPA2_TOL,
                          point={"check": "pi_b(1) = sum_c zeta_i(c) prod_j (1 - zeta_j(c))", "policy": p},
                          extra={"pi_b": pb[:, 1], "closed_form": closed})
        yield Measurement(measured=float(abs(ev.J - closed.mean())), bound=APPA2_TOL,
                          point={"check": "J = mean_i pi_b(1)", "policy": p}, extra={"J": ev.J})
        yield Measurement(measured=float(np.abs(pu - zeta).max()), bound=APPA2_TOL,
                          point={"check": "stationary u_i ~ zeta_i", "policy": p})
        # multilinearity: a random policy never beats the best deterministic colouring
        yield Measurement(measured=float(ev.J), bound=float(best) + APPA2_TOL,
                          point={"check": "J(random policy) <= max J(colouring)", "policy": p})


@claim_factory(mdp_builder=Fault(envs.coloring_mdp, "mdp_builder(graph, k) builds the colouring MDP: a builder "
                                                  "that ignores an edge breaks the kernel"))
def make_appA2_claim(*, faults, claim_id="qu2020.appA2"):
    """The App. A.2 claim (faults: :func:`netmarl_verify.verify.with_faults`)."""
    mdp_builder = faults["mdp_builder"]
    return Claim(
        id=claim_id,
        paper_file=PAPER_FILE,
        source="App. A.2 (k-colouring encoding)",
        statement="In the k-colouring encoding with state-independent policies, the stationary probability that "
                  "node i is properly coloured is pi_b_i(1) = P(a_i != a_j for all neighbours j) = "
                  "sum_c zeta_i(c) prod_j (1 - zeta_j(c)), J = mean_i pi_b_i(1), and the maximal average reward "
                  "is 1 if and only if a proper k-colouring exists.",
        latex=r"\pi_{b_i}(1) = \sum_{c} \zeta_i(c)\prod_{j\in N_i\setminus i}(1-\zeta_j(c)),\quad "
              r"J = \tfrac1{|V|}\sum_i \pi_{b_i}(1),\quad \max_\theta J(\theta) = 1 \iff \chi(G) \le k",
        measure=lambda inst, rng, quick: _appA2_measure(inst, rng, quick, mdp_builder),
        instances=_appA2_instances,
        atol=0.0,
        notes="'max J = 1 iff colourable': measured = |1{max J = 1} - 1{colourable}| (bound 0), max J over all "
              "deterministic colourings up to colour renaming (restricted growth strings; the MDP is equivariant "
              "under colour permutations), each J exact (sparse solve); colourability by brute force over all "
              "k^n colourings of the networkx graph. The maximum over deterministic colourings is the maximum "
              "over the whole state-independent class because J is multilinear in (zeta_1, ..., zeta_n) (each "
              "zeta_j enters each term at most once), which the row 'J(random policy) <= max J(colouring)' "
              "checks. Identities use the rounding tolerance APPA2_TOL; part (b) is skipped on instances with "
              "more than APPA2_CLOSED_FORM_MAX_STATES global states (see the table).",
    )


# =============================================================================== App. B.4
#: (name, builder(rng) -> (mdp, policy), agent) of Fig. 3a/3b, and the quick-mode stand-ins.
FIGB4_GRAPHS = (
    ("Fig. 3a: line n=10", lambda r: envs.qu2020_line(10, r), 0),
    ("Fig. 3b: grid 2x6", lambda r: envs.qu2020_grid(2, 6, r), 0),
)
FIGB4_GRAPHS_QUICK = (
    ("line n=6 (quick)", lambda r: envs.qu2020_line(6, r), 0),
    ("grid 2x4 (quick)", lambda r: envs.qu2020_grid(2, 4, r), 0),
)
#: Global states from which figB4 evaluates on the matrix-free backend (the full-size graphs).
FIGB4_MATRIX_FREE_STATES = 1024
#: Random instances per graph (the paper: 100).
FIGB4_INSTANCES, FIGB4_INSTANCES_QUICK = 100, 8
#: Samples (s, s', a, a') per instance (the paper: one).
FIGB4_SAMPLES = 1
#: Bootstrap resamples of the instances for the upper confidence bound on the fitted rate.
FIGB4_BOOTSTRAP = 1000
#: One-sided level of that bound.
FIGB4_LEVEL = 0.95
#: "Most instances decay": at most this share of instances may have a fitted rate >= 1.
FIGB4_MAX_NON_DECAYING = 0.5


def b4_profile(mdp, policy, agent, kappas, rng, evaluation):
    """The App. B.4 protocol: |Q_i(s, a) - Q_i(s', a')| for one uniform draw, shape (samples, K)."""
    return decay_profile(mdp, policy, agent, kappas, method="sampled", n_samples=FIGB4_SAMPLES, rng=rng,
                         evaluation=evaluation).values


def _figB4_instances(quick, seed):
    graphs = FIGB4_GRAPHS_QUICK if quick else FIGB4_GRAPHS
    R = FIGB4_INSTANCES_QUICK if quick else FIGB4_INSTANCES
    for name, build, agent in graphs:
        mdp, _ = build(0)  # only the shape: the random instances are drawn in measure()
        yield Instance(name=name, params={"n": mdp.n, "S": mdp.state_sizes[0], "A": mdp.action_sizes[0],
                                          "agent": agent, "instances": R, "samples": FIGB4_SAMPLES},
                       payload={"build": build, "agent": agent, "R": R},
                       size=float(mdp.n_states * mdp.n_actions), family=RANDOM)


def _figB4_measure(inst, rng, quick, profile=b4_profile):
    build, agent, R = inst.payload["build"], inst.payload["agent"], inst.payload["R"]
    curves, rhos = [], []
    kappas = None
    bar = tqdm(range(R), desc=inst.name, unit="instance", leave=False, file=sys.stderr,
               disable=not sys.stderr.isatty())
    for _ in bar:
        mdp, policy = build(rng)
        if kappas is None:
            # kappa = 0 .. ecc(i) - 1 ("0 .. n-2" on the line): beyond, nothing is outside N_i^kappa
            kappas = np.arange(int(mdp.distances[agent].max()))
        # the full-size graphs (1,024 and 4,096 states) on the matrix-free backend: 8.7x faster per instance
        # on the 2 x 6 grid (0.18 s vs 1.60 s, sampled profile included), the same profile to ~1e-12; the
        # quick graphs (<= 256 states) keep the default backend (and the golden master's bits)
        backend = "matrix-free" if mdp.n_states >= FIGB4_MATRIX_FREE_STATES else "auto"
        ev = evaluate_policy(mdp, policy, backend=backend)
        v = np.asarray(profile(mdp, policy, agent, kappas, rng, ev), dtype=float)
        curves.append(v.reshape(-1, kappas.size))
        rhos.append(row_sums(interaction_matrix(mdp))[0])
    curves = np.concatenate(curves)  # (R * samples, K)
    rhos = np.array(rhos)
    median = np.median(curves, axis=0)
    q10, q90 = np.quantile(curves, [0.1, 0.9], axis=0)
    rate, const = fit_exponential_rate(kappas, median, return_constant=True)
    upper = bootstrap_rate_quantile(kappas, curves, FIGB4_LEVEL, FIGB4_BOOTSTRAP, rng)
    own = np.array([fit_exponential_rate(kappas, c) for c in curves])
    decaying = float(np.mean(own < 1))  # NaN fits (fewer than two positive values) count as not decaying
    thm1 = {"thm1_rho_median": float(np.median(rhos)), "thm1_rho_min": float(rhos.min()),
            "thm1_rho_max": float(rhos.max()), "thm1_share_rho_lt_1": float(np.mean(rhos < 1))}
    curve_info = {"kappas": kappas, "median": median, "q10": q10, "q90": q90, "curves": curves,
                  "fit_rate": rate, "fit_constant": const, "own_rates": own, "thm1_rho": rhos}
    yield Measurement(measured=rate, bound=1.0, point={"check": "fitted rate of the median curve"},
                      extra={**thm1, "fit_constant": const, "curve": curve_info})
    yield Measurement(measured=upper, bound=1.0,
                      point={"check": f"{int(100 * FIGB4_LEVEL)}% bootstrap upper bound of that rate"},
                      extra={**thm1, "bootstrap": FIGB4_BOOTSTRAP})
    yield Measurement(measured=1.0 - decaying, bound=FIGB4_MAX_NON_DECAYING,
                      point={"check": "share of instances whose own fitted rate is >= 1"},
                      extra={**thm1, "own_rate_median": float(np.nanmedian(own)) if np.isfinite(own).any()
                             else float("nan")})


def _figB4_figure(rows):
    """Specs: the instances' curves of (4) (median, 10%-90%) with the fitted c rho^kappa, one per setting."""
    import json

    specs = []
    for _, r in rows[rows["point.check"] == "fitted rate of the median curve"].iterrows():
        info = json.loads(r["extra"])["curve"]
        k = np.asarray(info["kappas"], dtype=float)
        rate, const = float(info["fit_rate"]), float(info["fit_constant"])
        rhos = np.asarray(info["thm1_rho"], dtype=float)
        specs.append(DecayFigure(
            f"qu2020 {r['instance']}, agent {int(r['param.agent'])}",
            Series("LHS of (4)", info["curves"], x=k),
            bounds=Series(rf"fit $\hat c\hat\rho^\kappa$, $\hat\rho={rate:.3g}$", const * rate**k, x=k),
            ylabel=r"$|Q_i(s,a) - Q_i(s',a')|$",
            note=f"Theorem 1 rho over instances: median {np.median(rhos):.2f}, share < 1: {np.mean(rhos < 1):.0%}"))
    return specs


@claim_factory(profile=Fault(b4_profile, "profile(mdp, policy, agent, kappas, rng, evaluation) gives the values "
                                        "of (4): a profile read backwards must fail every check"))
def make_figB4_claim(*, faults, claim_id="qu2020.figB4"):
    """The App. B.4 claim (faults: :func:`netmarl_verify.verify.with_faults`)."""
    profile = faults["profile"]
    return Claim(
        id=claim_id,
        paper_file=PAPER_FILE,
        source="App. B.4, Fig. 3a/3b",
        statement="On random instances (line of 10 nodes with agent i at the left end; 2x6 grid with i a corner; "
                  "|S_i| = 2, |A_i| = 3, kernels, policies and rewards uniformly random), the left-hand side of "
                  "(4) for uniformly random s, s', a, a' decays exponentially in kappa.",
        latex=r"\mathrm{median}_{\text{instances}}\,|Q_i(s_{N_i^\kappa}, s_{N_{-i}^\kappa}, a_{N_i^\kappa}, "
              r"a_{N_{-i}^\kappa}) - Q_i(s_{N_i^\kappa}, s'_{N_{-i}^\kappa}, a_{N_i^\kappa}, a'_{N_{-i}^\kappa})| "
              r"\approx \hat c\,\hat\rho^{\kappa}, \quad \hat\rho < 1",
        measure=lambda inst, rng, quick: _figB4_measure(inst, rng, quick, profile),
        instances=_figB4_instances,
        figure=_figB4_figure,
        notes="Protocol of the paper: per instance one uniform draw of (s, s', a, a'), the second pair taking the "
              "inside coordinates of the first, kappa = 0 .. ecc(i) - 1 (larger kappa leave nothing outside), "
              "each value an exact difference of Q_i. 'Decays exponentially' is checked three ways: the rate "
              "fitted (least squares on log values, verify.fit_exponential_rate; exact zeros left out) to the "
              "median curve is < 1; its one-sided bootstrap upper bound (level FIGB4_LEVEL, instances "
              "resampled) is < 1, so a flat curve fails; and at most the fraction FIGB4_MAX_NON_DECAYING of "
              "the instances have an own fitted rate >= 1. Extra columns record Theorem 1's max_i sum_j C_ij "
              "on the same instances, i.e. whether the decay is observed inside Theorem 1's hypothesis (see "
              "the table). Quick mode uses smaller graphs (FIGB4_GRAPHS_QUICK).",
    )


# =============================================================================== registration
for _claim in (make_lemma3_claim(), make_appA2_claim(), make_figB4_claim()):
    register(_claim)
