r"""qu2020 (Qu, Lin, Wierman, Li — scalable MARL with average reward): decay and truncation claims.

``qu2020.thm1``   Theorem 1: :math:`\max_i\sum_j C_{ij} \le \rho < 1`, :math:`|r_i| \le \bar r`
                  ⇒ :math:`(\bar r/(1-\rho), \rho)` exponential decay (Definition 1, eq. (4)).
``qu2020.cor1``   Corollary 1: discounted, :math:`(\bar r/(1-\gamma\rho), \gamma\rho)` decay.
``qu2020.lemma2a`` Lemma 2(a): :math:`|Q_i - \tilde Q_i| \le c\rho^{\kappa+1}` for any weights (5)-(6).
``qu2020.lemma2b`` Lemma 2(b): :math:`\|\hat h_i - \nabla_{\theta_i} J\| \le c L_i \rho^{\kappa+1}`.

Every measured value is exact: the sup in eq. (4) is a maximum over the full :math:`Q_i` table
(:func:`netmarl_verify.solvers.exact.decay_profile` with ``method="sup"``), the truncation errors are maxima over
all state-action pairs, gradients are exact (Lemma 1) and truncated gradients exact (eq. (7)).

Finding (recorded, not hidden): Theorem 1 and Corollary 1 are stated for :math:`|r_i| \le \bar r`,
but the proof (App. B.1) bounds :math:`|E r_i - \tilde E r_i|` by :math:`\bar r\,TV`, which needs
:math:`0 \le r_i \le \bar r` (in general the factor is the span :math:`\sup r_i - \inf r_i \le
2\bar r`). On :func:`netmarl_verify.envs.copy_chain_mdp`, where Lemma 3's TV bound is attained, the decay sup
equals :math:`\bar r\rho^{\kappa+1}/(1-\rho)` exactly for rewards in :math:`\{0, \bar r\}` (ratio 1)
and twice that for rewards in :math:`\{-\bar r, \bar r\}` (ratio 2): a counterexample to the
statement as written; the constant :math:`(\sup r - \inf r)/(1-\rho)` is what the proof shows.
"""

import networkx as nx
import numpy as np
import sympy

from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    decay_profile,
    evaluate_policy,
    policy_gradient,
    q_table,
    score_norm_bound,
    truncated_gradient,
    truncated_q,
)
from netmarl_verify.verify import (
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
    assume_at_most,
    claim_factory,
    register,
)

from ._common import (
    COPY_CHAIN,
    COUPLED,
    PAPER,
    PAPER_FILE,
    RANDOM,
    SIGNED_COPY_CHAIN,
    family_map,
    kappa,
    rbar,
    rbar_by_construction,
    rho,
    theorem1_assumption,
    theorem1_constants,
)

__all__ = ["THM1_BOUND", "COR1_BOUND", "LEMMA2A_BOUND", "LEMMA2B_BOUND", "make_claims"]

gamma, c, L = sympy.symbols("gamma c L_i", positive=True)

THM1_BOUND = rbar / (1 - rho) * rho ** (kappa + 1)
COR1_BOUND = rbar / (1 - gamma * rho) * (gamma * rho) ** (kappa + 1)
LEMMA2A_BOUND = c * rho ** (kappa + 1)
LEMMA2B_BOUND = c * L * rho ** (kappa + 1)
RBAR = rbar.name


# ----------------------------------------------------------------------------- instances
def _decay_specs(quick, rng, actions=1):
    """(name, family, graph, build()) of the decay instances; `build` draws from `rng` when called.

    Known wart (``_common``): every random instance, and every policy, is drawn from the one
    sequential `rng`, in this order; reordering the list changes the instances. ``graph`` is the
    ``param.graph`` recorded in the rows (for the 2x3 grid, the whole name: historic value).
    """
    specs = [
        ("copy-chain n=4 rho=0.6 r in {0,1}", COPY_CHAIN, "copy-chain",
         lambda: envs.copy_chain_mdp(4, 0.6, action_size=actions)),
        ("copy-chain n=4 rho=0.6 r in {-1,1}", SIGNED_COPY_CHAIN, "copy-chain",
         lambda: envs.copy_chain_mdp(4, 0.6, signed=True, action_size=actions)),
        ("coupled path n=4 strength=0.3", COUPLED, "coupled path",
         lambda: envs.coupled_networked_mdp(nx.path_graph(4), 0.3, 2, 2, rng=rng.integers(2**32))),
        ("random line n=4 (App. B.4 kernels)", RANDOM, "random line",
         lambda: envs.random_networked_mdp(nx.path_graph(4), 2, 2, rng.integers(2**32))),
    ]
    if not quick:
        specs += [
            ("copy-chain n=6 rho=0.3 r in {0,1}", COPY_CHAIN, "copy-chain",
             lambda: envs.copy_chain_mdp(6, 0.3, action_size=actions)),
            ("copy-chain n=6 rho=0.85 r in {0,1}", COPY_CHAIN, "copy-chain",
             lambda: envs.copy_chain_mdp(6, 0.85, action_size=actions)),
            ("coupled path n=6 strength=0.3", COUPLED, "coupled path",
             lambda: envs.coupled_networked_mdp(nx.path_graph(6), 0.3, 2, 2, rng=rng.integers(2**32))),
            ("coupled cycle n=5 strength=0.25", COUPLED, "coupled cycle",
             lambda: envs.coupled_networked_mdp(nx.cycle_graph(5), 0.25, 2, 2, rng=rng.integers(2**32))),
            ("coupled grid 2x3 strength=0.2", COUPLED, "coupled grid 2x3 strength=0.2",
             lambda: envs.coupled_networked_mdp(envs.grid_graph(2, 3), 0.2, 2, 2, rng=rng.integers(2**32))),
            ("coupled path n=6 strength=0.6 (condition fails)", COUPLED, "coupled path",
             lambda: envs.coupled_networked_mdp(nx.path_graph(6), 0.6, 2, 2, rng=rng.integers(2**32))),
            ("random line n=6 (App. B.4 kernels)", RANDOM, "random line",
             lambda: envs.random_networked_mdp(nx.path_graph(6), 2, 2, rng.integers(2**32))),
        ]
    return specs


#: ``{instance name: family}`` of every decay instance (the figures select on it).
DECAY_FAMILIES = family_map(_decay_specs(False, None))


def _decay_instances(quick, seed, actions=1):
    """Instances for the decay claims: tight, signed-tight, tunable, and random (B.4-like)."""
    rng = np.random.default_rng(seed)  # one sequential stream: the known wart of _common
    for name, family, graph, build in _decay_specs(quick, rng, actions):
        mdp = build()
        n_pol = 1 if quick else 3
        policies = [envs.LocalSoftmaxPolicy.random(mdp, rng.integers(2**32)) for _ in range(n_pol)]
        yield Instance(name=name, params={"n": mdp.n, "S": mdp.state_sizes[0], "A": mdp.action_sizes[0],
                                          "graph": graph},
                       payload={"mdp": mdp, "policies": policies}, size=float(mdp.n_states * mdp.n_actions),
                       family=family)


def _interaction(inst, override=None):
    """(rho, per-agent row sums, rbar), cached on the instance payload (of `override` when given)."""
    mdp = inst.payload["mdp"] if override is None else override
    key = "_theorem1" if override is None else "_theorem1_override"
    r, sums = theorem1_constants(inst, mdp, key)
    return r, sums, mdp.reward_bound


def _thm1_assumptions(inst):
    r, sums, rb = _interaction(inst)
    return [theorem1_assumption(r, sums), rbar_by_construction(rb)]


def _agents(mdp, quick):
    return [0] if quick else list(range(mdp.n))


def _decay_measure(inst, rng, quick, gamma_value=None, c_scale=1.0, rho_override=None):
    mdp = inst.payload["mdp"]
    r, _, rb = _interaction(inst, rho_override)
    gammas = [gamma_value] if not isinstance(gamma_value, (list, tuple)) else gamma_value
    for g in gammas:
        for p_idx, pol in enumerate(inst.payload["policies"]):
            ev = evaluate_policy(mdp, pol, g)
            for i in _agents(mdp, quick):
                ecc = int(mdp.distances[i].max())
                prof = decay_profile(mdp, pol, i, range(ecc), g, method="sup", evaluation=ev)
                for k, val, w in zip(prof.kappas, prof.values, prof.witnesses):
                    values = {RBAR: rb * c_scale, "rho": r, "kappa": int(k)}
                    point = {"policy": p_idx, "i": i, "kappa": int(k)}
                    if g is not None:
                        values["gamma"] = g
                        point["gamma"] = g
                    yield Measurement(measured=float(val), values=values, point=point,
                                      extra={"witness": w})


def _decay_figure(rows, title_prefix):
    """Specs: the exact sup against its bound, agent 0 and policy 0 of up to four chain instances."""
    specs = []
    families = rows["instance"].map(DECAY_FAMILIES)
    ok = rows[families.isin([COPY_CHAIN, SIGNED_COPY_CHAIN, COUPLED])]
    for name in ok["instance"].unique()[:4]:
        where = {"instance": name, "point.i": 0, "point.policy": 0}
        sub = ok[(ok["instance"] == name) & (ok["point.i"] == 0) & (ok["point.policy"] == 0)]
        if "point.gamma" in sub and sub["point.gamma"].notna().any():
            where["point.gamma"] = float(sub["point.gamma"].max())
        spec = DecayFigure(f"{title_prefix}: {name}, agent 0", Series("exact sup of eq. (4)", "measured"),
                           bounds=Series("paper's bound", "bound"), where=where,
                           ylabel=r"$\sup |Q_i(z) - Q_i(z')|$")
        if not spec.resolve(rows).empty:
            specs.append(spec)
    return specs


# ----------------------------------------------------------------------------- Lemma 2
def _decay_holds(mdp, pol, ev, i, c_val, r, gamma_value=None):
    """Measured (c, rho)-decay for agent i under this policy: max_k sup(k) / (c rho^{k+1})."""
    ecc = int(mdp.distances[i].max())
    prof = decay_profile(mdp, pol, i, range(ecc), gamma_value, method="sup", evaluation=ev)
    bounds = c_val * r ** (prof.kappas + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(bounds > 0, prof.values / bounds, np.inf)
    return float(ratios.max()) if ratios.size else 0.0


def _fixed_outside(mdp, rng):
    s = rng.integers(0, mdp.state_sizes)
    a = rng.integers(0, mdp.action_sizes)
    return ("fixed", s, a)


def _lemma2_assumptions(inst):
    return _thm1_assumptions(inst)[:1]


def _lemma2a_measure(inst, rng, quick, c_scale=1.0):
    mdp = inst.payload["mdp"]
    r, _, rb = _interaction(inst)
    c_val = rb / (1 - r) if r < 1 else np.inf
    for p_idx, pol in enumerate(inst.payload["policies"]):
        ev = evaluate_policy(mdp, pol)
        for i in _agents(mdp, quick):
            ratio = _decay_holds(mdp, pol, ev, i, c_val, r) if r < 1 else np.inf
            decay_ok = assume_at_most("(c, rho) decay holds (measured, Definition 1)", ratio, 1,
                                      "c = rbar/(1-rho) from Theorem 1", slack=1e-9,
                                      required="max_k sup(k) / (c rho^(k+1)) <= 1")
            Q = q_table(mdp, pol, i, evaluation=ev)
            n = mdp.n
            for k in range(int(mdp.distances[i].max())):
                inside = list(mdp.kappa_hop(i, k))
                for wname, w in (("uniform", "uniform"), ("stationary", "stationary"),
                                 ("fixed", _fixed_outside(mdp, rng))):
                    Qt = truncated_q(mdp, pol, i, k, w, evaluation=ev)
                    # broadcast Q~ over the outside axes of the full table
                    shape = [mdp.state_sizes[j] if j in inside else 1 for j in range(n)] + [
                        mdp.action_sizes[j] if j in inside else 1 for j in range(n)]
                    err = float(np.abs(Q - Qt.reshape(shape)).max())
                    yield Measurement(measured=err, values={"c": c_val * c_scale, "rho": r, "kappa": k},
                                      point={"policy": p_idx, "i": i, "kappa": k, "weights": wname},
                                      assumptions=[decay_ok])


def _lemma2b_measure(inst, rng, quick, c_scale=1.0):
    mdp = inst.payload["mdp"]
    r, _, rb = _interaction(inst)
    c_val = rb / (1 - r) if r < 1 else np.inf
    for p_idx, pol in enumerate(inst.payload["policies"]):
        ev = evaluate_policy(mdp, pol)
        grad = policy_gradient(mdp, pol, evaluation=ev)
        for i in _agents(mdp, quick):
            ratio = max(_decay_holds(mdp, pol, ev, j, c_val, r) for j in range(mdp.n)) if r < 1 else np.inf
            decay_ok = assume_at_most("(c, rho) decay holds for every agent (measured)", ratio, 1,
                                      "c = rbar/(1-rho) from Theorem 1", slack=1e-9)
            Li = score_norm_bound(pol, i)
            for k in range(int(mdp.distances[i].max())):
                for wname in ("uniform", "stationary"):
                    h = truncated_gradient(mdp, pol, i, k, wname, evaluation=ev)
                    err = float(np.linalg.norm(h - grad[i]))
                    yield Measurement(measured=err, values={"c": c_val * c_scale, "L_i": Li, "rho": r, "kappa": k},
                                      point={"policy": p_idx, "i": i, "kappa": k, "weights": wname},
                                      extra={"grad_norm": float(np.linalg.norm(grad[i]))},
                                      assumptions=[decay_ok])


def _lemma2_figure(rows, title):
    """Specs: the error per weight choice against the bound, first agent and policy of two instances."""
    specs = []
    ok = rows[rows["assumptions_hold"]]
    for name in ok["instance"].unique()[:2]:
        inst = ok[ok["instance"] == name]
        agent = inst["point.i"].min()
        policy = inst[inst["point.i"] == agent]["point.policy"].min()
        sub = inst[(inst["point.i"] == agent) & (inst["point.policy"] == policy)]
        weights = list(sub["point.weights"].unique())
        specs.append(DecayFigure(
            f"{title}: {name}, agent {int(agent)}",
            [Series(w, "measured", where={"point.weights": w}) for w in weights],
            bounds=Series("bound", "bound", where={"point.weights": weights[0]}),
            where={"assumptions_hold": True, "instance": name, "point.i": agent, "point.policy": policy},
            ylabel="error"))
    return specs


# ----------------------------------------------------------------------------- search spaces
#: Largest seed of the random part of a searched instance.
SEARCH_SEED_MAX = 2**31 - 1


def _search_instance(mdp, policy_seed, family, gamma=None):
    payload = {"mdp": mdp, "policies": [envs.LocalSoftmaxPolicy.random(mdp, policy_seed)]}
    if gamma is not None:
        payload["gammas"] = [gamma]
    return Instance(name="", payload=payload, size=float(mdp.n_states * mdp.n_actions), family=family)


def _decay_search_spaces(actions=1, with_gamma=False, max_n=6):
    """Search spaces of the decay claims (``netmarl-verify search``; :mod:`netmarl_verify.verify._search`).

    ``copy-chain``: :func:`envs.copy_chain_mdp` with its length, rho and reward sign pattern (the
    extremal family of Theorem 1: Lemma 3's TV bound is attained); ``coupled``:
    :func:`envs.coupled_networked_mdp` on a path or cycle with its coupling strength and the seed
    of its random kernels and policy. With `with_gamma`, the discount factor is searched too (Corollary 1).
    """
    gamma = {"gamma": Real(0.05, 0.99)} if with_gamma else {}
    chain = {"n": Integer(2, max_n), "rho": Real(0.05, 0.95), "signed": Choice((False, True)), **gamma}
    if actions > 1:
        chain["seed"] = Integer(0, SEARCH_SEED_MAX)

    def build_chain(p):
        mdp = envs.copy_chain_mdp(p["n"], p["rho"], signed=p["signed"], action_size=actions)
        return _search_instance(mdp, p.get("seed", 0), SIGNED_COPY_CHAIN if p["signed"] else COPY_CHAIN,
                                p.get("gamma"))

    def build_coupled(p):
        graph = (nx.path_graph if p["graph"] == "path" else nx.cycle_graph)(p["n"])
        rng = np.random.default_rng(p["seed"])
        mdp = envs.coupled_networked_mdp(graph, p["strength"], 2, 2, rng=rng)
        return _search_instance(mdp, rng, COUPLED, p.get("gamma"))

    return (
        SearchSpace(COPY_CHAIN, chain, build_chain,
                    "copy chain: length, rho, rewards in {0, 1} or {-1, 1} (signed)"),
        SearchSpace(COUPLED, {"graph": Choice(("path", "cycle")), "n": Integer(3, min(max_n, 5)),
                              "strength": Real(0.01, 1.0), "seed": Integer(0, SEARCH_SEED_MAX), **gamma},
                    build_coupled, "coupled path/cycle, S = A = 2: coupling strength, seed of the kernels and policy"),
    )


# ----------------------------------------------------------------------------- claims
@claim_factory(
    c_scale=Fault(1.0, "multiplies rbar (thm1, cor1) or c (lemma2a, lemma2b) in the bound: a wrong constant"),
    rho_override=Fault(None, "an MDP whose Theorem 1 rho and rbar replace the instance's in thm1 and cor1: "
                             "a constant measured on the wrong kernel"),
)
def make_claims(*, faults):
    """Build the four claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    c_scale, rho_override = faults["c_scale"], faults["rho_override"]
    quick_gammas = (0.5, 0.9)

    def thm1_measure(inst, rng, quick):
        return _decay_measure(inst, rng, quick, None, c_scale, rho_override)

    def cor1_measure(inst, rng, quick):  # a searched instance carries its own discount factor
        return _decay_measure(inst, rng, quick, list(inst.payload.get("gammas", quick_gammas)), c_scale,
                              rho_override)

    def lemma2a_instances(quick, seed):
        return (x for x in _decay_instances(quick, seed) if x.family != RANDOM or not quick)

    def lemma2b_instances(quick, seed):
        return (x for x in _decay_instances(quick, seed, actions=2) if x.family != SIGNED_COPY_CHAIN)

    return [
        Claim(id="qu2020.thm1", paper=PAPER, paper_file=PAPER_FILE, source="Theorem 1 (§3.1), Definition 1 eq. (4)",
              statement="If every row of the interaction matrix C sums to at most rho < 1 and |r_i| <= rbar, "
                        "then the (rbar/(1-rho), rho) exponential decay property holds: Q_i changes by at most "
                        "rbar/(1-rho) rho^(kappa+1) when only agents outside N_i^kappa change.",
              latex=r"\sup_{z, z' : z_{N_i^\kappa} = z'_{N_i^\kappa}} |Q_i(z) - Q_i(z')| \le "
                    r"\frac{\bar r}{1-\rho}\rho^{\kappa+1}",
              bound=THM1_BOUND, assumptions=_thm1_assumptions, measure=thm1_measure,
              instances=_decay_instances, figure=lambda rows: _decay_figure(rows, "Theorem 1"),
              search=_decay_search_spaces(),
              notes="Measured: exact sup over all pairs agreeing on N_i^kappa (full Q_i table). Signed rewards "
                    "on the copy chain violate the statement as written (module docstring; ratios in the table)."),
        Claim(id="qu2020.cor1", paper=PAPER, paper_file=PAPER_FILE, source="Corollary 1 (§3.1, App. B.3)",
              statement="Under Theorem 1's conditions the discounted Q-functions have the "
                        "(rbar/(1-gamma rho), gamma rho) exponential decay property.",
              latex=r"\sup |Q^\gamma_i(z) - Q^\gamma_i(z')| \le \frac{\bar r}{1-\gamma\rho}(\gamma\rho)^{\kappa+1}",
              bound=COR1_BOUND, assumptions=_thm1_assumptions, measure=cor1_measure,
              instances=_decay_instances, figure=lambda rows: _decay_figure(rows, "Corollary 1"),
              search=_decay_search_spaces(with_gamma=True),
              notes="One row per discount factor gamma (see the table)."),
        Claim(id="qu2020.lemma2a", paper=PAPER, paper_file=PAPER_FILE, source="Lemma 2(a), eq. (5)-(6)",
              statement="Under (c, rho) exponential decay, every truncated Q-function (any weights) is within "
                        "c rho^(kappa+1) of Q_i at every state-action pair.",
              latex=r"\max_{s,a}|Q_i(s,a) - \tilde Q_i(s_{N_i^\kappa}, a_{N_i^\kappa})| \le c\rho^{\kappa+1}",
              bound=LEMMA2A_BOUND, assumptions=_lemma2_assumptions, measure=lambda inst, rng, quick:
              _lemma2a_measure(inst, rng, quick, c_scale),
              instances=lemma2a_instances, figure=lambda rows: _lemma2_figure(rows, "Lemma 2(a)"),
              search=_decay_search_spaces(max_n=5),
              notes="Weights: uniform, stationary conditional, a random fixed outside configuration. "
                    "c = rbar/(1-rho) from Theorem 1; the decay property itself is measured per policy."),
        Claim(id="qu2020.lemma2b", paper=PAPER, paper_file=PAPER_FILE, source="Lemma 2(b), eq. (7)",
              statement="Under (c, rho) exponential decay, the truncated policy gradient h_i of eq. (7) is within "
                        "c L_i rho^(kappa+1) of the exact gradient, L_i the maximal score norm.",
              latex=r"\|\hat h_i(\theta) - \nabla_{\theta_i} J(\theta)\|_2 \le c L_i \rho^{\kappa+1}",
              bound=LEMMA2B_BOUND, assumptions=_lemma2_assumptions, measure=lambda inst, rng, quick:
              _lemma2b_measure(inst, rng, quick, c_scale),
              instances=lemma2b_instances, figure=lambda rows: _lemma2_figure(rows, "Lemma 2(b)"),
              search=_decay_search_spaces(actions=2, max_n=4),
              notes="L_i is the exact max over (s_i, a_i) of the softmax score norm."),
    ]


for _claim in make_claims():
    register(_claim)
