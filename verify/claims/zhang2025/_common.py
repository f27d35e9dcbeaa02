r"""What the zhang2025 claim modules share: the paper, the guide's instance families as Instances, meters.

Instances wrap :class:`~netmarl_verify.envs._zhang2025.ZhangMAMDP` models of the guide §7 families
(:func:`~netmarl_verify.envs._zhang2025.make_zhang2025_instance`), reproducible from (family, parameters, seed):
the random families draw from their own ``seed`` parameter, which the fixed instances derive from the run's
master seed with :func:`~netmarl_verify.verify.instance_seed`.
"""

import math

import numpy as np

from netmarl_verify.envs._zhang2025 import make_zhang2025_instance
from netmarl_verify.solvers.exact._markov import chain_structure
from netmarl_verify.verify import Assumption, Choice, Instance, Integer, Real, SearchSpace, instance_seed

__all__ = ["PAPER", "PAPER_FILE", "SEED_MAX", "make_instance", "mamdp_instances", "mamdp_space", "swap2_space",
           "model_of", "reward_meters", "chain_meters", "derived_seed", "random_connected_graph", "consensus_graph",
           "consensus_matrix", "consensus_params", "CONSENSUS_GRAPHS", "CONSENSUS_GENERATORS"]

PAPER = "zhang2025"
PAPER_FILE = "zhang2025_deep_neural_ac_decentralized_marl.txt"
SEED_MAX = 2**31 - 1


def derived_seed(master, name):
    """A family seed derived from the run's master seed and an instance name."""
    return int(np.random.default_rng(instance_seed(master, name)).integers(SEED_MAX))


def make_instance(family, **params):
    """An :class:`~netmarl_verify.verify.Instance` of a guide §7 family (payload: the model)."""
    model = make_zhang2025_instance(family, **params)
    return Instance(name=model.name, params={"family": family, **params}, payload={"model": model},
                    size=float(model.n_states * model.n_actions), family=family)


def model_of(instance):
    return instance.payload["model"]


def mamdp_instances(quick, seed, parametrisations=("tabular",)):
    """The fixed instances of the exact PG/restart claims: structured ones, then random ones."""
    yield make_instance("bandit3_loop", c=1.0, theta=2.0, gamma=0.9)
    yield make_instance("swap2", gamma=0.9, scale=1.0, seed=derived_seed(seed, "swap2"))                 # grad J = 0
    yield make_instance("swap2", gamma=0.9, p_stay=0.3, scale=1.0, seed=derived_seed(seed, "swap2"))
    yield make_instance("random_mdp", S=4, A=3, gamma=0.9, seed=0)                 # the guide's default
    for par in parametrisations:
        yield make_instance("random_mamdp", N=2, S=3, A_i=2, gamma=0.9, scale=1.0, parametrisation=par,
                            seed=derived_seed(seed, f"mamdp {par}"))
    if not quick:
        yield make_instance("bandit3", r=(-1.0, -2.0, -3.0), gamma=0.99, init_logits=(0.0, 0.0, 1.5))
        yield make_instance("random_mamdp", N=3, S=3, A_i=2, gamma=0.99, scale=2.0, power=8.0,
                            seed=derived_seed(seed, "mamdp N=3"))
        yield make_instance("random_mdp", S=5, A=2, gamma=0.5, scale=5.0, seed=derived_seed(seed, "mdp 5"))
        yield make_instance("spread_grid", N=2, length=3, width=2, gamma=0.9, seed=derived_seed(seed, "spread"))


def mamdp_space(parametrisations=("tabular", "reduced", "loglinear"), N=(1, 3), S=(2, 5), A_i=(2, 3)):
    """guide §7 random_mamdp as a search space; `N`, `S`, `A_i`: (lo, hi) of the sizes searched."""
    def build(p):
        return make_instance("random_mamdp", N=p["N"], S=p["S"], A_i=p["A_i"], gamma=p["gamma"], scale=p["scale"],
                             power=p["power"], parametrisation=p["parametrisation"], seed=p["seed"])

    return SearchSpace("random_mamdp", {"N": Integer(*N), "S": Integer(*S), "A_i": Integer(*A_i),
                                        "gamma": Real(0.5, 0.99), "scale": Real(0.5, 5.0, log=True),
                                        "power": Real(1.0, 8.0), "parametrisation": Choice(tuple(parametrisations)),
                                        "seed": Integer(0, SEED_MAX)}, build,
                       "random MAMDPs (guide §7 random_mamdp): kernel rows U^p normalised, product softmax policies")


def swap2_space():
    """guide §7 ``swap2`` (two states, P_pi the deterministic swap: periodic; ``p_stay`` > 0 lets action 1 stay)."""
    def build(p):
        return make_instance("swap2", gamma=p["gamma"], p_stay=p["p_stay"], scale=p["scale"], seed=p["seed"])

    return SearchSpace("swap2", {"gamma": Real(0.05, 0.999), "p_stay": Real(0.0, 1.0),
                                 "scale": Real(0.1, 5.0, log=True), "seed": Integer(0, SEED_MAX)}, build,
                       "guide §7 swap2: the periodic 2-cycle (p_stay = 0) and its lazy variants; extreme gamma")


# ----------------------------------------------------------------------------- consensus matrices (guide §7)
#: Graph shapes and consensus-matrix generators of the search spaces (guide §7; consensus.py's fixed instances).
CONSENSUS_GRAPHS = ("path", "cycle", "star", "complete", "gnp")
CONSENSUS_GENERATORS = ("metropolis", "lazy_metropolis", "max_degree", "sinkhorn_symmetric", "sinkhorn")


def random_connected_graph(n, p, seed):
    """A connected G(n, p) graph drawn from `seed` (the path graph if 1000 draws are all disconnected)."""
    import networkx as nx

    rng = np.random.default_rng(seed)
    for _ in range(1000):
        g = nx.gnp_random_graph(n, p, seed=int(rng.integers(SEED_MAX)))
        if nx.is_connected(g):
            return g
    return nx.path_graph(n)


def consensus_graph(shape, N, p=0.5, seed=0):
    """A connected communication graph on N nodes: path, cycle, star, complete, or a connected G(N, p) (`seed`)."""
    import networkx as nx

    if shape == "gnp":
        return random_connected_graph(N, p, seed)
    return {"path": nx.path_graph, "cycle": nx.cycle_graph, "star": lambda n: nx.star_graph(n - 1),
            "complete": nx.complete_graph}[shape](N)


def consensus_matrix(generator, graph, eta_fraction=1.0, seed=0):
    """A doubly stochastic consensus matrix on `graph` (:data:`CONSENSUS_GENERATORS`). The random (Sinkhorn)
    generators take ``eta = eta_fraction`` times their feasibility limit (1/(1 + d_max), half of it non-symmetric)."""
    from netmarl_verify.envs import max_degree_weights, metropolis_hastings_weights, random_consensus_matrix

    if generator == "metropolis":
        return metropolis_hastings_weights(graph)
    if generator == "lazy_metropolis":
        return 0.5 * (np.eye(graph.number_of_nodes()) + metropolis_hastings_weights(graph))
    if generator == "max_degree":
        return max_degree_weights(graph)
    sym = generator == "sinkhorn_symmetric"
    limit = 1.0 / (1 + max(d for _, d in graph.degree)) / (1 if sym else 2)
    return random_consensus_matrix(graph, eta_fraction * limit, rng=seed, symmetric=sym)


def consensus_params(generators=CONSENSUS_GENERATORS):
    """The search parameters of :func:`consensus_graph` + :func:`consensus_matrix` (N excluded)."""
    return {"graph": Choice(CONSENSUS_GRAPHS), "p": Real(0.2, 0.8), "generator": Choice(tuple(generators)),
            "eta_fraction": Real(0.05, 1.0)}


def reward_meters(instance):
    """Assumption 5.3 (bounded reward, 0 <= r^i <= r_max) metered: informational, the exact identities checked here
    do not use it (the D.1 reward is negative: the meter reports it, it does not make the row inapplicable)."""
    m = model_of(instance)
    lo, hi = float(m.local_R.min()), float(m.local_R.max())
    return [Assumption("bounded reward 0 <= r^i <= r_max (Assumption 5.3, meter)", True, lo, "meter (min r^i)",
                       f"r^i in [{lo:.6g}, {hi:.6g}]; {'holds' if lo >= 0 else 'fails: r^i < 0'} as printed")]


def chain_meters(instance):
    """Assumption 5.2 metered: min pi, irreducibility / period of P_pi and of the restart kernel."""
    m = model_of(instance)
    pi = m.policy.joint_table()
    Ppi = np.einsum("sa,sat->st", pi, m.mdp.P)
    Pt = m.gamma * Ppi
    Pt[:, m.s0] += 1 - m.gamma
    out = [Assumption("min pi > 0 (Assumption 5.2 reads >= 0)", True, float(pi.min()), ">= 0",
                      "as printed pi >= 0 always holds; > 0 is the reading the proofs use")]
    for label, P in (("P_pi", Ppi), ("restart kernel", Pt)):
        st = chain_structure(P)
        irreducible = st.n_recurrent == 1 and st.n_transient == 0
        out.append(Assumption(f"{label}: irreducible and aperiodic (Assumption 5.2, meter)", True,
                              float(irreducible and st.period == 1), "meter (1 = yes)",
                              f"{st.n_recurrent} recurrent class(es), {st.n_transient} transient state(s), "
                              f"period {st.period}; informational: the identity checked needs no such hypothesis"))
    return out
