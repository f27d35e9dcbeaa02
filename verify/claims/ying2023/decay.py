r"""ying2023: Assumption 1's meter, Lemma 2 (decay of the shadow Q), identity (18), Proposition 1.

``ying2023.assump1`` Assumption 1 (eq. (11)-(12)): the influence matrix :math:`M` (joint change of
                     :math:`(s_j, a_j)`, TV = ½ℓ1) by brute force equals the mixture closed form
                     :math:`w_{ij}\delta(K_{ij})`; the copy chain's known answer
                     :math:`\beta^*(\rho) = \log\rho`; the β = 0 row sums against 1/γ.
``ying2023.lemma2``  Lemma 2: under Assumption 1 and :math:`\|\nabla f_i\|_\infty \le M_f`,
                     (I) :math:`\sup|Q_i(s,a) - Q_i(s',a')| \le c_0\phi_0^\kappa` over pairs agreeing on
                     :math:`(s_{N_i^\kappa}, a_{N_i^\kappa})` and (II) :math:`\sup|\hat Q_i - Q_i| \le c_0\phi_0^\kappa`,
                     :math:`(c_0, \phi_0) = (2\gamma\rho M_f/(1-\gamma\rho), e^{-\beta})`, checked against
                     :math:`\inf_\rho c_0(\rho)e^{-\beta^*(\rho)\kappa}` (guide §3 item 2).
``ying2023.eq18``    The term (18) dropped in the proof of Proposition 1 is zero at every state.
``ying2023.prop1``   Proposition 1 (16): :math:`\|\hat g_i - \nabla_{\theta_i}F\| \le c_0\phi_0^\kappa M_\psi/(1-\gamma)`.

Readings. The policy radius κ_π and the truncation radius κ_Q (the paper's single κ, guide §3
item 1): rows carry ``point.reading`` = ``"R2"`` (the instance's policy, κ_π fixed, κ_Q varying)
or ``"R1"`` (a fresh random κ-hop policy of radius κ_π = κ_Q for every κ, drawn from the
instance's seed). :math:`M_f` is measured at the instance's θ (:func:`._common.measured_mf`).
The exponent: ying2023 writes :math:`\phi^\kappa`, qu2020 :math:`\rho^{\kappa+1}`; both are recorded
(``bound`` is the printed :math:`c_0\phi_0^\kappa`, ``extra.bound_kappa_plus_1`` the other).

Finding (the relay, ``couple = 0``). Every kernel there depends on the agent's own action only,
so :math:`M` is diagonal, :math:`\beta^* = \infty` and Lemma 2's bound is 0 for every κ ≥ 1; yet
agent 0's shadow Q depends on :math:`s_{\kappa+1}` — outside :math:`N_0^\kappa` — because agent 1's
κ-hop policy reads it and relays it through :math:`s_1` to agent 0's policy. Lemma 2 (and with it
Proposition 1) fails as stated for κ-hop policies: Assumption 1 limits how far the *kernels*
carry information, but the localized policies carry it κ hops per step as well. What the proof
needs: an influence matrix of the closed-loop kernel :math:`P^\pi_i(\cdot|s) = \sum_a \pi(a|s)P_i(\cdot|s,a)`
(whose :math:`M_{ij}` is positive up to distance κ_π + 1), or local-state policies (κ_π = 0) —
on which every row here holds.
"""

import math

import numpy as np

from netmarl_verify import envs
from netmarl_verify.solvers.exact import beta_frontier, decay_profile, score_norm_bound, truncated_shadow_gradient
from netmarl_verify.solvers.exact import score_zero_term
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
    claim_factory,
    instance_seed,
    register,
)

from ._common import (
    COPY_CHAIN,
    MIXTURE,
    PAPER,
    PAPER_FILE,
    RANDOM_KHOP,
    RELAY,
    assumption1_rows,
    bound_lemma2,
    influence_of,
    make_instance,
    measured_mf,
    problem_of,
)

__all__ = ["make_claims", "EQ18_TOL", "ASSUMP1_TOL", "SOFTMAX_M_PSI"]

#: Tolerance of identity (18), relative to max(1, max|Q-hat|): the expectation is a sum of |A| products.
EQ18_TOL = 1e-12
#: Tolerance of the known answers of Assumption 1's meter (closed form vs brute force; log rho).
ASSUMP1_TOL = 1e-12
#: Absolute tolerance of Lemma 2's and Proposition 1's verdicts: the exact Q tables and gradients come from LU
#: solves with errors ~1e-15 |Q|, |Q| <= M_f/(1-gamma) <= 100 here, so differences below 1e-12 are rounding.
ROUNDING_ATOL = 1e-12
#: M_psi for the tabular softmax (Assumption 3(I); guide §2): ||e_a - pi||_2 < sqrt(2).
SOFTMAX_M_PSI = math.sqrt(2.0)


# ============================================================================ instances
def _relay(kappa, couple, seed, utility="linear", gamma=0.9, eps=0.05):
    inst = envs.relay(kappa, gamma, eps, couple)
    return make_instance(inst, utility, family=RELAY, seed=seed)


def _mixture(n, alpha, seed, local, utility="linear"):
    name = f"mixture_line n={n} alpha={alpha} local={local} f={utility}"
    inst = envs.mixture_line(n, alpha, np.random.default_rng(instance_seed(seed, name)), local_policy=local)
    return make_instance(inst, utility, family=MIXTURE, seed=seed, name=name)


def _random_khop(n, kappa, couple, seed, utility="linear", scale=1.0):
    name = f"random_khop n={n} kappa={kappa} couple={couple} f={utility}"
    inst = envs.random_khop(n, kappa, scale, couple, np.random.default_rng(instance_seed(seed, name)))
    return make_instance(inst, utility, family=RANDOM_KHOP, seed=seed, name=name,
                         extra={"r1_seed": instance_seed(seed, name + " R1")})


def _copy_chain(n, signed, seed):
    name = f"copy_chain n={n} signed={signed}"
    inst = envs.ying_copy_chain(n, 0.9, signed, rng=np.random.default_rng(instance_seed(seed, name)))
    return make_instance(inst, "linear", family=COPY_CHAIN, seed=seed, name=name)


def _decay_instances(quick, seed):
    yield _relay(1, 0.0, seed)
    yield _relay(2, 0.0, seed)
    yield _relay(1, 0.01, seed)
    yield _mixture(4, 1.0, seed, local=True)
    yield _mixture(4, 1.0, seed, local=False)
    yield _random_khop(4, 1, 0.3, seed)
    yield _copy_chain(4, True, seed)
    if not quick:
        yield _relay(2, 0.01, seed)
        yield _mixture(5, 0.5, seed, local=True, utility="entropy")
        yield _random_khop(5, 1, 0.0, seed, utility="entropy")


# ============================================================================ assumptions
def _assumptions(instance):
    return assumption1_rows(instance)


# ============================================================================ Assumption 1
def _assump1_instances(quick, seed):
    yield _mixture(3, 1.0, seed, local=True)
    yield _mixture(4, 0.5, seed, local=False)
    yield _copy_chain(4, False, seed)
    yield _relay(1, 0.01, seed)


def _assump1_measure(instance, rng, quick, closed_form_scale=1.0):
    inst = instance.payload["inst"]
    M = influence_of(instance)
    D = inst.mdp.distances
    rows = M.sum(axis=1)
    yield Measurement(measured=float(rows.max()), bound=1.0 / inst.gamma,
                      point={"check": "max_i sum_j M_ij < 1/gamma"},
                      extra={"M": np.round(M, 12).tolist(), "argmax_agent": int(np.argmax(rows))})
    mdp = inst.mdp
    if hasattr(mdp, "mixture_weights"):
        closed = envs.mixture_influence(mdp.mixture_weights, mdp.mixture_kernels) * closed_form_scale
        yield Measurement(measured=float(np.abs(M - closed).max()), bound=ASSUMP1_TOL,
                          point={"check": "brute force M = w_ij delta(K_ij)"},
                          extra={"closed_form_max": float(closed.max())})
    if instance.family == COPY_CHAIN:
        # known answer: M_{i,i+1} = 1, M_{n-1,n-1} = 1, beta*(rho) = log rho on [1, 1/gamma)
        n = mdp.n
        want = np.zeros((n, n))
        want[np.arange(n - 1), np.arange(1, n)] = 1.0
        want[n - 1, n - 1] = 1.0
        yield Measurement(measured=float(np.abs(M - want * closed_form_scale).max()), bound=ASSUMP1_TOL,
                          point={"check": "copy chain: M_{i,i+1} = M_{n-1,n-1} = 1"})
        for rho in np.linspace(1.0, 1.0 / inst.gamma, 6)[1:-1]:
            b = beta_frontier(M, D, inst.gamma, float(rho))
            yield Measurement(measured=abs(b - math.log(rho) * closed_form_scale), bound=1e-9,
                              point={"check": "copy chain: beta*(rho) = log rho", "rho": float(rho)},
                              extra={"beta_star": b, "log_rho": math.log(rho)})


# ============================================================================ Lemma 2
def _truncation_error(Q, inside, n, reference):
    s_bar, a_bar = reference
    idx = [slice(None)] * (2 * n)
    for k in range(n):
        if k not in inside:
            idx[k] = slice(int(s_bar[k]), int(s_bar[k]) + 1)
            idx[n + k] = slice(int(a_bar[k]), int(a_bar[k]) + 1)
    return float(np.abs(Q - Q[tuple(idx)]).max())


def _policies(instance, quick):
    """[(reading, kappa_pi or None, policy builder(kappa))]."""
    inst = instance.payload["inst"]
    out = [("R2", lambda kappa: inst.policy)]
    if instance.family == RANDOM_KHOP:
        seq = instance.payload["r1_seed"]

        def r1(kappa):
            return envs.KHopSoftmaxPolicy.random(inst.mdp, kappa, np.random.default_rng(seq), scale=inst.params["scale"])

        out.append(("R1", r1))
    return out


def _lemma2_measure(instance, rng, quick, c0_scale=1.0):
    inst = instance.payload["inst"]
    mdp = inst.mdp
    n = mdp.n
    zero = (np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    reference = inst.reference or zero
    for reading, policy_of in _policies(instance, quick):
        for kappa in range(int(mdp.distances.max())):
            pol = policy_of(kappa)
            prob = problem_of(instance, pol)
            mf = measured_mf(prob)
            bound, rho_star = bound_lemma2(instance, mf, kappa, c0_scale)
            bound1, _ = bound_lemma2(instance, mf, kappa + 1, c0_scale)
            vacuous = 2 * inst.gamma * mf / (1 - inst.gamma)
            for i in range(n):
                Q = prob.q_table(i)
                inside = mdp.kappa_hop(i, kappa)
                common = {"i": i, "kappa": kappa, "reading": reading}
                extra = {"M_f": mf, "rho_star": rho_star, "bound_kappa_plus_1": bound1,
                         "trivial_bound": vacuous, "vacuous": bool(bound >= vacuous),
                         "kappa_pi": getattr(pol, "kappa", 0) if getattr(pol, "kappa", None) is not None else 0}
                sup = decay_profile(prob.shadow_mdp, pol, i, [kappa], inst.gamma, method="sup").values[0]
                yield Measurement(measured=float(sup), bound=bound,
                                  point={**common, "check": "(I) decay sup"}, extra=extra)
                yield Measurement(measured=_truncation_error(Q, inside, n, reference), bound=bound,
                                  point={**common, "check": "(II) truncation, reference"}, extra=extra)


def _lemma2_figure(rows):
    specs = []
    for name in list(rows["instance"].unique())[:3]:
        sub = rows[(rows["instance"] == name) & (rows["point.reading"] == "R2")]
        if sub.empty:
            continue
        i = int(sub["point.i"].min())
        specs.append(DecayFigure(
            f"Lemma 2: {name}, agent {i}",
            [Series(c, "measured", where={"point.check": c}) for c in sub["point.check"].unique()],
            bounds=[Series(r"$\inf_\rho c_0\phi_0^\kappa$", "bound", where={"point.check": "(I) decay sup"}),
                    Series(r"$c_0\phi_0^{\kappa+1}$", "extra.bound_kappa_plus_1", where={"point.check": "(I) decay sup"})],
            where={"instance": name, "point.i": i, "point.reading": "R2"}, ylabel="|Q_i - Q_i'|"))
    return specs


# ============================================================================ (18)
def _eq18_instances(quick, seed):
    yield _random_khop(4, 1, 0.3, seed)
    yield _mixture(4, 1.0, seed, local=False, utility="entropy")
    yield _relay(1, 0.0, seed)


def _directed(mdp, kappa):
    """A non-symmetric 'neighbourhood' on a line: j in N_i iff 0 <= j - i <= kappa (the broken input)."""
    return [tuple(j for j in range(mdp.n) if 0 <= j - i <= kappa) for i in range(mdp.n)]


def _eq18_measure(instance, rng, quick, directed=False):
    inst = instance.payload["inst"]
    prob = problem_of(instance)
    for kappa in range(int(inst.mdp.distances.max())):
        hoods = _directed(inst.mdp, kappa) if directed else None
        term, scale = score_zero_term(prob, kappa, neighbourhoods=hoods)
        i = int(np.argmax(term))
        yield Measurement(measured=float(term.max()), bound=EQ18_TOL * max(1.0, scale),
                          point={"kappa": kappa}, extra={"agent": i, "q_hat_scale": scale})


# ============================================================================ Proposition 1
def _prop1_instances(quick, seed):
    yield from _decay_instances(quick, seed)
    yield make_instance(envs.xor_relay(1, 0.9, 0.05), "linear", family=RELAY, seed=seed)
    if not quick:
        yield make_instance(envs.xor_relay(2, 0.9, 0.05), "linear", family=RELAY, seed=seed)


def _prop1_measure(instance, rng, quick, c0_scale=1.0, neighbourhood_average=False):
    inst = instance.payload["inst"]
    mdp = inst.mdp
    prob = problem_of(instance)
    grad = prob.gradient()
    mf = measured_mf(prob)
    for kappa in range(int(mdp.distances.max())):
        ghat = truncated_shadow_gradient(prob, kappa, inst.reference)
        bound0, rho_star = bound_lemma2(instance, mf, kappa, c0_scale)
        bound = bound0 * SOFTMAX_M_PSI / (1.0 - inst.gamma)
        for i in range(mdp.n):
            if neighbourhood_average:  # the follow-up code's 1/|N_i^kappa| in place of (15)'s 1/n
                ghat[i] = ghat[i] * mdp.n / len(mdp.kappa_hop(i, kappa))
            err = float(np.linalg.norm(ghat[i] - grad[i]))
            gi = float(np.linalg.norm(grad[i]))
            yield Measurement(measured=err, bound=bound, point={"i": i, "kappa": kappa},
                              extra={"M_f": mf, "rho_star": rho_star, "M_psi_policy": score_norm_bound(inst.policy, i),
                                     "relative_error": err / gi if gi > 0 else float("nan"), "grad_norm": gi,
                                     "n": mdp.n})


def _prop1_figure(rows):
    specs = []
    for name in list(rows["instance"].unique())[:3]:
        sub = rows[rows["instance"] == name]
        i = int(sub["point.i"].min())
        specs.append(DecayFigure(f"Proposition 1: {name}, agent {i}", Series(r"$\|\hat g_i - \nabla_iF\|$", "measured"),
                                 bounds=Series(r"$c_0\phi_0^\kappa M_\psi/(1-\gamma)$", "bound"),
                                 where={"instance": name, "point.i": i}, ylabel="error"))
    return specs


# ============================================================================ Remark 3
def _remark3_instances(quick, seed):
    yield _mixture(5 if not quick else 4, 1.0, seed, local=True)
    yield _random_khop(5 if not quick else 4, 1, 0.3, seed)


def _remark3_measure(instance, rng, quick, c0_scale=1.0):
    inst = instance.payload["inst"]
    mdp = inst.mdp
    prob = problem_of(instance)
    grad = prob.gradient()
    mf = measured_mf(prob)
    for kappa in range(int(mdp.distances.max()) + 1):
        ghat = truncated_shadow_gradient(prob, kappa, inst.reference)
        err2 = float(sum(((a - b) ** 2).sum() for a, b in zip(ghat, grad)))
        c0phi, _ = bound_lemma2(instance, mf, kappa, c0_scale)
        bound = mdp.n * (c0phi * SOFTMAX_M_PSI / (1.0 - inst.gamma)) ** 2
        sizes = [math.prod(mdp.state_sizes[j] * mdp.action_sizes[j] for j in mdp.kappa_hop(i, kappa))
                 for i in range(mdp.n)]
        yield Measurement(measured=err2, bound=bound, point={"kappa": kappa},
                          extra={"table_size_max": int(max(sizes)), "table_size_sum": int(sum(sizes)),
                                 "neighbourhood_max": int(max(len(mdp.kappa_hop(i, kappa)) for i in range(mdp.n))),
                                 "M_f": mf})


def _remark3_figure(rows):
    specs = []
    for name in rows["instance"].unique():
        specs.append(DecayFigure(f"Remark 3, the plateau: {name}", Series(r"$\sum_i\|\hat g_i - \nabla_iF\|^2$", "measured"),
                                 bounds=Series(r"$n(c_0\phi_0^\kappa M_\psi/(1-\gamma))^2$", "bound"),
                                 where={"instance": name}, ylabel="squared truncation error"))
        specs.append(DecayFigure(f"Remark 3, the cost: {name}", Series(r"$\max_i|Z_{N_i^\kappa}|$", "extra.table_size_max"),
                                 where={"instance": name}, ylabel="table size"))
    return specs


# ============================================================================ search spaces
SEARCH_SEED_MAX = 2**31 - 1
XOR_RELAY = "xor-relay"


def _search_spaces():
    def build_relay(p):
        return _relay(p["kappa"], p["couple"], 0, gamma=p["gamma"], eps=p["eps"])

    def build_mixture(p):
        inst = envs.mixture_line(p["n"], p["alpha"], np.random.default_rng(p["seed"]), local_policy=p["local"],
                                 gamma=p["gamma"], scale=p["scale"])
        return make_instance(inst, "linear", family=MIXTURE, seed=p["seed"])

    def build_khop(p):
        inst = envs.random_khop(p["n"], p["kappa"], p["scale"], p["couple"], np.random.default_rng(p["seed"]),
                                gamma=p["gamma"])
        return make_instance(inst, "linear", family=RANDOM_KHOP, seed=p["seed"],
                             extra={"r1_seed": np.random.SeedSequence([p["seed"], 1])})

    return (
        SearchSpace(XOR_RELAY, {"kappa": Integer(1, 2), "gamma": Real(0.1, 0.95), "eps": Real(0.01, 0.45)},
                    lambda p: make_instance(envs.xor_relay(p["kappa"], p["gamma"], p["eps"]), "linear", family=XOR_RELAY),
                    "xor relay: agent 1 plays s_1 xor s_{kappa+1} (Prop. 1's extremal family)"),
        SearchSpace(RELAY, {"kappa": Integer(1, 2), "gamma": Real(0.1, 0.95), "eps": Real(0.01, 0.45),
                            "couple": Real(0.0, 0.5)}, build_relay,
                    "relay line: kappa, gamma, policy noise eps, right-neighbour coupling"),
        SearchSpace(MIXTURE, {"n": Integer(3, 4), "alpha": Real(0.0, 3.0), "gamma": Real(0.1, 0.95),
                              "scale": Real(0.05, 3.0), "local": Choice((True, False)),
                              "seed": Integer(0, SEARCH_SEED_MAX)}, build_mixture,
                    "mixture kernels w_ij ~ exp(-alpha d(i,j)) on a line, local or 1-hop softmax"),
        SearchSpace(RANDOM_KHOP, {"n": Integer(3, 4), "kappa": Integer(0, 2), "scale": Real(0.05, 3.0),
                                  "couple": Real(0.0, 1.0), "gamma": Real(0.1, 0.95),
                                  "seed": Integer(0, SEARCH_SEED_MAX)}, build_khop,
                    "own-state kernels mixed with the right neighbour, random kappa-hop softmax"),
    )


# ============================================================================ claims
@claim_factory(
    c0_scale=Fault(1.0, "multiplies c0 in Lemma 2's and Proposition 1's bounds: a wrong constant"),
    closed_form_scale=Fault(1.0, "multiplies the known answers of Assumption 1's meter (mixture closed form, "
                                 "copy chain): a wrong kernel influence"),
    neighbourhood_average=Fault(False, "averages the truncated gradient (15) by 1/|N_i^kappa| instead of 1/n (the "
                                       "follow-up code's convention, guide §8.2)"),
    directed=Fault(False, "replaces N_i^kappa in (18) by a non-symmetric relation (j in N_i iff 0 <= j-i <= kappa)"),
)
def make_claims(*, faults):
    """Build the four claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE)
    spaces = _search_spaces()
    return [
        Claim(id="ying2023.assump1", source="Assumption 1, eq. (11)-(12)", **common,
              statement="The influence matrix M_ij = sup TV(P_i(.|s_j,s_-j,a_j,a_-j), P_i(.|s'_j,s_-j,a'_j,a_-j)) "
                        "(joint change of agent j's state and action, TV = half l1) metered by brute force: equal to "
                        "the mixture closed form w_ij delta(K_ij); on the copy chain M_{i,i+1} = M_{n-1,n-1} = 1 and "
                        "beta*(rho) = log rho; the beta = 0 row sums against 1/gamma.",
              latex=r"M_{ij} = \sup\mathrm{TV}\big(P_i(\cdot|s_j,s_{-j},a_j,a_{-j}),P_i(\cdot|s'_j,s_{-j},a'_j,a_{-j})\big),"
                    r"\quad \max_i\sum_j e^{\beta d(i,j)}M_{ij}\le\rho<1/\gamma",
              measure=lambda inst, rng, quick: _assump1_measure(inst, rng, quick, f["closed_form_scale"]),
              instances=_assump1_instances, search=spaces,
              notes="Rows: the feasibility meter (measured max_i sum_j M_ij, bound 1/gamma) and the known answers "
                    f"(tolerance {ASSUMP1_TOL}). extra.M is the measured matrix."),
        Claim(id="ying2023.lemma2", source="Lemma 2 (I)-(II), Definition 1 (13)", **common,
              statement="Under Assumption 1 and ||grad f_i||_inf <= M_f, the shadow Q_i has the (c0, phi0) "
                        "exponential decay property with c0 = 2 gamma rho M_f/(1 - gamma rho), phi0 = e^{-beta} (I), "
                        "and every truncated shadow Q (eq. (14), any reference) is within c0 phi0^kappa of Q_i (II).",
              latex=r"\sup_{(s,a)\sim_{N_i^\kappa}(s',a')}|Q_i(s,a)-Q_i(s',a')|\le c_0\phi_0^\kappa,\ "
                    r"c_0=\frac{2\gamma\rho M_f}{1-\gamma\rho},\ \phi_0=e^{-\beta}",
              assumptions=_assumptions,
              measure=lambda inst, rng, quick: _lemma2_measure(inst, rng, quick, f["c0_scale"]),
              instances=_decay_instances, figure=_lemma2_figure, search=spaces, atol=ROUNDING_ATOL,
              notes="bound = inf over admissible rho of c0(rho) e^{-beta*(rho) kappa} (extra.rho_star the arg-min); "
                    "beta* = inf gives 0 for kappa >= 1. M_f measured at the instance's theta (the sup over theta is "
                    "not computable). Finding: the relay line (kernels own-action only, beta* = inf) violates (I) and "
                    "(II) for kappa-hop policies: the policies relay s_{kappa+1} to agent 0 (module docstring). "
                    "Local-state policies (mixture local=True, copy chain) hold."),
        Claim(id="ying2023.eq18", source="Identity (18) (proof of Proposition 1)", **common,
              statement="For a product policy and a symmetric distance, E_{a~pi(.|s)}[psi_i(a_i|s_{N_i}) "
                        "sum_{j not in N_i^kappa} Q-hat_j(s_{N_j}, a_{N_j})] = 0 at every state s.",
              latex=r"E_{a\sim\pi_\theta(\cdot|s)}\Big[\psi_{\theta_i}(a_i|s_{N_i^\kappa})\sum_{j\in N_{-i}^\kappa}"
                    r"\hat Q_j(s_{N_j^\kappa},a_{N_j^\kappa})\Big]=0",
              measure=lambda inst, rng, quick: _eq18_measure(inst, rng, quick, f["directed"]),
              instances=_eq18_instances, search=spaces,
              notes=f"measured = max over agents, states and score entries; bound = {EQ18_TOL} max(1, max|Q-hat|). "
                    "The identity needs j not in N_i => i not in N_j (symmetric d) and a product policy; the "
                    "broken-input test uses a one-sided relation."),
        Claim(id="ying2023.prop1", source="Proposition 1, eq. (16)-(19)", **common,
              statement="Under Assumption 1, ||grad f_i||_inf <= M_f and ||psi_i|| <= M_psi, the truncated gradient "
                        "(15) (prefactor 1/n) is within c0 phi0^kappa M_psi/(1-gamma) of grad_{theta_i} F.",
              latex=r"\|\hat g_i(\theta)-\nabla_{\theta_i}F(\theta)\|\le\frac{c_0\phi_0^\kappa M_\psi}{1-\gamma}",
              assumptions=_assumptions,
              measure=lambda inst, rng, quick: _prop1_measure(inst, rng, quick, f["c0_scale"],
                                                              f["neighbourhood_average"]),
              instances=_prop1_instances, figure=_prop1_figure, search=spaces, atol=ROUNDING_ATOL,
              notes="M_psi = sqrt 2 (tabular softmax, uniform in theta; extra.M_psi_policy is the policy's own). "
                    "Reference (s-bar, a-bar) = 0 unless the instance prescribes one. Inherits Lemma 2's finding on "
                    "the relay."),
        Claim(id="ying2023.remark3", source="Remark 3 (the trade-off in kappa; qualitative)", **common,
              statement="Larger kappa shrinks the truncation part of Theorem 1's plateau, sum_i ||g-hat_i - grad_i F||^2 "
                        "<= n (c0 phi0^kappa M_psi/(1-gamma))^2 (the first term of Delta), at the cost of tables over "
                        "Z_{N_i^kappa} that grow with |N_i^kappa|.",
              latex=r"\sum_i\|\hat g_i-\nabla_{\theta_i}F\|^2\le n\Big(\frac{c_0\phi_0^\kappa M_\psi}{1-\gamma}\Big)^2,\quad"
                    r"\text{cost}\propto\max_i|Z_{N_i^\kappa}|",
              assumptions=_assumptions,
              measure=lambda inst, rng, quick: _remark3_measure(inst, rng, quick, f["c0_scale"]),
              instances=_remark3_instances, figure=_remark3_figure, atol=ROUNDING_ATOL,
              notes="Qualitative remark drawn exactly: per kappa the squared truncation error of the gradient (the part "
                    "of Theorem 1's plateau that kappa controls) against its Prop. 1 bound, and the table size "
                    "max_i |Z_{N_i^kappa}| (extra.table_size_max) that the critic pays."),
    ]


for _claim in make_claims():
    register(_claim)
