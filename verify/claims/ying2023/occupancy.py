r"""ying2023: the occupancy measure (eq. (2), (4), (20)), Lemma 1 (shadow-reward policy gradient), Lemma 3.

``ying2023.occupancy`` :math:`\sum\lambda = 1/(1-\gamma)`; the flow constraints of Λ,
                       :math:`\sum_a\lambda(s',a) = \xi(s') + \gamma\sum_{s,a}P(s'|s,a)\lambda(s,a)`, on the
                       compiled joint kernel (an independent route); :math:`\lambda_i` = the marginal of a
                       direct solve of the state-action chain; the truncation invariant
                       :math:`\|\lambda - \lambda^{(H)}\|_1 = \gamma^H/(1-\gamma)` with
                       :math:`\lambda^{(H)} = \sum_{k<H}\gamma^k\Pr(s^k, a^k)` by matrix powers (eq. (20)'s mean).
``ying2023.lemma1``    Lemma 1 (8)-(10): :math:`\nabla_\theta F = \frac1{1-\gamma}E_{d,\pi}[\psi_\theta Q_f]` with
                       the shadow reward frozen, against central differences of the exact
                       :math:`F(\theta) = \frac1n\sum_i f_i(\lambda_i^{\pi_\theta})`.
``ying2023.lemma3``    Lemma 3 (49): under (47), :math:`\|\lambda_i^{\hat\pi} - \lambda_i^{\pi}\|_1 \le
                       nc_1\phi_1^\kappa/(1-\gamma)^2` for the truncated policy (48); :math:`c_1\phi_1^\kappa` is
                       measured exactly (the sup TV of (47), TV = ½ℓ1); the print's :math:`\phi_1^k` is read
                       :math:`\phi_1^\kappa`. Lemma 3 is delegated to [28] (not proved in the text).

Finding (Lemma 3, a factor 2). With TV = ½ℓ1 — the paper's own convention (§1.1) — the bound as
printed fails on the absorbing pair: at γ = 0.5, ε = 0.01, η = 0 the truncated policies move
agent 0 to its absorbing state w.p. ≈ 2ε per step while the true ones never do, and
:math:`\|\lambda_0^{\hat\pi} - \lambda_0^{\pi}\|_1 = 0.1172` against :math:`nc_1\phi_1^0/(1-\gamma)^2 = 0.08`
(ratio 1.47). The standard perturbation argument gives
:math:`\|\lambda^{\hat\pi} - \lambda^\pi\|_1 \le \|d^{\hat\pi} - d^\pi\|_1 + \frac1{1-\gamma}\max_s\|\hat\pi - \pi\|_1
\le \big(\frac{\gamma}{(1-\gamma)^2} + \frac1{1-\gamma}\big)\max_s\|\hat\pi(\cdot|s) - \pi(\cdot|s)\|_1`
and :math:`\|\hat\pi - \pi\|_1 \le \sum_i 2\,\mathrm{TV}_i \le 2nc_1\phi_1^\kappa`, i.e.
:math:`2nc_1\phi_1^\kappa/(1-\gamma)^2`: the printed constant holds if "TV" in (47) is read as the ℓ1
distance. Both are recorded (``bound`` as printed with TV = ½ℓ1; ``extra.bound_tv_l1`` = 2 x bound,
``extra.ratio_tv_l1``, which stays <= 1 on every row).
"""

import math

import numpy as np

from netmarl_verify import envs
from netmarl_verify.solvers.exact import discounted_occupancy, finite_difference_gradient, local_occupancies, utility_objective
from netmarl_verify.verify import (
    Choice,
    Claim,
    Fault,
    HLine,
    Integer,
    LinesFigure,
    Measurement,
    Real,
    SearchSpace,
    Series,
    Style,
    claim_factory,
    instance_seed,
    register,
)

from ._common import ABSORBING, MIXTURE, PAPER, PAPER_FILE, RANDOM_KHOP, RELAY, make_instance, problem_of

__all__ = ["make_claims", "OCCUPANCY_TOL", "LEMMA1_TOL", "OCCUPANCY_H"]

#: Tolerance of the occupancy identities, relative to 1/(1-gamma) (direct LU solves; rounding ~1e-15).
OCCUPANCY_TOL = 1e-12
#: Tolerance of Lemma 1's identity, relative to max(1, ||grad||): central differences with step 1e-5 on
#: random unit directions have truncation error ~ h^2 |F'''| ~ 1e-10 |F| and rounding ~ 1e-16 |F| / h ~ 1e-11 |F|.
LEMMA1_TOL = 1e-7
#: Horizons H of the invariant ||lambda - lambda^(H)||_1 = gamma^H / (1 - gamma).
OCCUPANCY_H = (1, 5, 20)


def _instances(quick, seed):
    name = "random_khop n=3 kappa=1"
    yield make_instance(envs.random_khop(3, 1, 1.0, 0.3, np.random.default_rng(instance_seed(seed, name))),
                        "entropy", family=RANDOM_KHOP, seed=seed, name=name + " f=entropy")
    name = "mixture_line n=3"
    yield make_instance(envs.mixture_line(3, 1.0, np.random.default_rng(instance_seed(seed, name))),
                        "apprenticeship", family=MIXTURE, seed=seed, name=name + " f=apprenticeship")
    yield make_instance(envs.relay(1, 0.9, 0.05), "linear", family=RELAY, seed=seed)
    if not quick:
        name = "random_khop n=4 kappa=2"
        yield make_instance(envs.random_khop(4, 2, 0.5, 0.0, np.random.default_rng(instance_seed(seed, name))),
                            "linear", family=RANDOM_KHOP, seed=seed, name=name + " f=linear")
        name = "transient_entropy p=0.05"
        yield make_instance(envs.transient_entropy(0.05, 2, 0.9, np.random.default_rng(instance_seed(seed, name))),
                            "entropy", family="transient", seed=seed, name=name + " f=entropy")


# ============================================================================ occupancy
def _occupancy_measure(instance, rng, quick, mass_scale=1.0):
    inst = instance.payload["inst"]
    mdp, pol, g, xi = inst.mdp, inst.policy, inst.gamma, inst.initial
    lam = discounted_occupancy(mdp, pol, g, xi) * mass_scale
    scale = 1.0 / (1.0 - g)
    yield Measurement(measured=abs(lam.sum() - scale), bound=OCCUPANCY_TOL * scale,
                      point={"check": "sum lambda = 1/(1-gamma)"}, extra={"mass": float(lam.sum())})
    tab = mdp.to_tabular()
    P = tab.P  # (|S|, |A|, |S|), the compiled joint kernel
    flow = lam.sum(axis=1) - xi - g * np.einsum("sat,sa->t", P, lam)
    yield Measurement(measured=float(np.abs(flow).max()), bound=OCCUPANCY_TOL * scale,
                      point={"check": "flow constraints of Lambda"})
    # independent route: the state-action chain z -> z', (I - gamma P_z^T) x = xi (x) pi, dense solve
    pi = envs.joint_policy_table(mdp, pol)
    nS, nA = pi.shape
    Pz = (P[:, :, :, None] * pi[None, None, :, :]).reshape(nS * nA, nS * nA)
    x = np.linalg.solve(np.eye(nS * nA) - g * Pz.T, (xi[:, None] * pi).ravel()).reshape(nS, nA)
    mine = local_occupancies(lam, mdp.state_sizes, mdp.action_sizes)
    direct = local_occupancies(x * mass_scale, mdp.state_sizes, mdp.action_sizes)
    yield Measurement(measured=float(max(np.abs(a - b).max() for a, b in zip(mine, direct))),
                      bound=OCCUPANCY_TOL * scale, point={"check": "lambda_i = marginal (state-action chain solve)"})
    # the H-truncated occupancy by matrix powers: lambda^(H) = sum_{k<H} gamma^k (xi^T P_pi^k) (x) pi
    Ppi = np.einsum("sa,sat->st", pi, P)
    for H in OCCUPANCY_H:
        mu, acc = xi.copy(), np.zeros(nS)
        for k in range(H):
            acc += g ** k * mu
            mu = mu @ Ppi
        lamH = acc[:, None] * pi
        want = g ** H / (1.0 - g)
        yield Measurement(measured=abs(float(np.abs(lam - lamH).sum()) - want), bound=OCCUPANCY_TOL * scale,
                          point={"check": "||lambda - lambda^(H)||_1 = gamma^H/(1-gamma)", "H": H},
                          extra={"l1": float(np.abs(lam - lamH).sum()), "gamma^H/(1-gamma)": want})


# ============================================================================ Lemma 1
def _lemma1_measure(instance, rng, quick, gradient_scale=1.0):
    inst = instance.payload["inst"]
    utilities = instance.payload["utilities"]
    prob = problem_of(instance)
    g = np.concatenate([x.ravel() for x in prob.gradient()]) * gradient_scale
    U, fd = finite_difference_gradient(
        lambda p: utility_objective(inst.mdp, p, inst.gamma, utilities, inst.initial), inst.policy, rng=rng,
        n_directions=4 if quick else 8, eps=1e-5)
    err = np.abs(U @ g - fd)
    yield Measurement(measured=float(err.max()), bound=LEMMA1_TOL * max(1.0, float(np.linalg.norm(g))),
                      point={"check": "max_u |<u, grad F> - FD_u|"},
                      extra={"grad_norm": float(np.linalg.norm(g)), "F": prob.value, "directions": int(U.shape[0])})


# ============================================================================ Lemma 3
def _lemma3_instances(quick, seed):
    grid = [(0.9, 0.1, 1e-6), (0.5, 0.01, 0.0)] if quick else [
        (g, e, eta) for g in (0.5, 0.9, 0.99) for e in (1e-1, 1e-2, 1e-3) for eta in (1e-6, 0.0)]
    for gamma, eps, eta in grid:
        inst = envs.lemma3_absorbing(gamma, eps, eta)
        yield make_instance(inst, "linear", family=ABSORBING, seed=seed)
    for n in ((3,) if quick else (3, 4)):
        name = f"random global-state softmax n={n}"
        rng = np.random.default_rng(instance_seed(seed, name))
        base = envs.random_khop(n, 0, 1.0, 0.3, rng)
        pol = envs.KHopSoftmaxPolicy.random(base.mdp, n, rng, scale=1.0)  # observes every agent
        inst = envs.UtilityInstance(base.mdp, pol, base.initial, base.gamma, n, base.local_rewards, name,
                                    {"n": n, "gamma": base.gamma}, reference=(np.zeros(n, dtype=np.int64),) * 2)
        yield make_instance(inst, "linear", family="global-state", seed=seed, name=name)


def _lemma3_measure(instance, rng, quick, c1_scale=1.0):
    inst = instance.payload["inst"]
    mdp, pol = inst.mdp, inst.policy
    n = mdp.n
    s_bar = inst.reference[0] if inst.reference is not None else np.zeros(n, dtype=np.int64)
    lam = local_occupancies(discounted_occupancy(mdp, pol, inst.gamma, inst.initial), mdp.state_sizes,
                            mdp.action_sizes)
    for kappa in range(int(mdp.distances.max())):
        trunc = envs.truncated_policy(mdp, pol, kappa, s_bar)
        lam_t = local_occupancies(discounted_occupancy(mdp, trunc, inst.gamma, inst.initial), mdp.state_sizes,
                                  mdp.action_sizes)
        tv = envs.policy_outside_tv(mdp, pol, kappa)
        c1phi = float(tv.max()) * c1_scale
        bound = n * c1phi / (1.0 - inst.gamma) ** 2
        errs = [float(np.abs(a - b).sum()) for a, b in zip(lam_t, lam)]
        for i in range(n):
            yield Measurement(measured=errs[i], bound=bound, point={"i": i, "kappa": kappa},
                              extra={"c1_phi1_kappa": c1phi, "tv_per_agent": tv.tolist(),
                                     "bound_without_n": c1phi / (1.0 - inst.gamma) ** 2,
                                     "bound_tv_l1": 2.0 * bound,
                                     "ratio_tv_l1": errs[i] / (2.0 * bound) if bound > 0 else float("nan")})


def _lemma3_figure(rows):
    sub = rows[rows["instance"].str.contains("lemma3_absorbing")]
    if sub.empty:
        return None
    # E3 (guide §8.3): the ratio against eps, one curve per (gamma, eta), both readings of TV, against (49)
    # one colour per (gamma, eta); solid: TV = half l1 (the paper's), dashed: TV read as l1
    series = []
    if (sub["param.eta"] > 0).any():  # eta = 0 and 1e-6 give the same curves to 1e-3 (the rows keep both): draw the floored ones
        sub = sub[sub["param.eta"] > 0]
    for k, ((g, eta), _) in enumerate(sub.groupby(["param.gamma", "param.eta"], sort=True)):
        where = {"point.i": 0, "param.gamma": g, "param.eta": eta}
        series.append(Series(rf"$\gamma = {g:g}$, $\eta = {eta:g}$", "ratio", where=where, style=Style(color=f"C{k}")))
        series.append(Series(None, "extra.ratio_tv_l1", where=where, style=Style(color=f"C{k}", linestyle="--")))
    return LinesFigure("E3: Lemma 3 on the absorbing pair, measured / bound (49)\n"
                       "solid: TV = half l1 (as printed), dashed: TV read as l1", series, x="param.eps",
                       where={"instance": list(sub["instance"].unique())}, hlines=[HLine(1.0, "bound (49)")],
                       log_x=True, xlabel=r"$\varepsilon$", ylabel="measured / bound", legend="below")


# ============================================================================ search
def _lemma3_search():
    def build(p):
        inst = envs.lemma3_absorbing(p["gamma"], p["eps"], p["eta"])
        return make_instance(inst, "linear", family=ABSORBING, seed=0)

    return (SearchSpace(ABSORBING, {"gamma": Real(0.05, 0.995), "eps": Real(1e-4, 0.45), "eta": Choice((0.0, 1e-6))},
                        build, "Lemma 3's absorbing pair: discount, policy dependence eps, floor eta"),)


def _identity_search():
    """Random instances for the identity claims (occupancy, Lemma 1): mixture kernels and random kappa-hop lines,
    with each of the three utilities (an identity has no extremal instance; the search looks for a bad one)."""
    seed_max = 2**31 - 1

    def build_mixture(p):
        inst = envs.mixture_line(p["n"], p["alpha"], np.random.default_rng(p["seed"]), local_policy=p["local"],
                                 gamma=p["gamma"], scale=p["scale"])
        return make_instance(inst, p["utility"], family=MIXTURE, seed=p["seed"])

    def build_khop(p):
        inst = envs.random_khop(p["n"], p["kappa"], p["scale"], p["couple"], np.random.default_rng(p["seed"]),
                                gamma=p["gamma"])
        return make_instance(inst, p["utility"], family=RANDOM_KHOP, seed=p["seed"])

    utility = Choice(("linear", "entropy", "apprenticeship"))
    return (SearchSpace(MIXTURE, {"n": Integer(2, 4), "alpha": Real(0.0, 3.0), "gamma": Real(0.05, 0.95),
                                  "scale": Real(0.05, 3.0), "local": Choice((True, False)), "utility": utility,
                                  "seed": Integer(0, seed_max)}, build_mixture,
                        "mixture kernels on a line, local or 1-hop softmax, any utility"),
            SearchSpace(RANDOM_KHOP, {"n": Integer(2, 4), "kappa": Integer(0, 2), "scale": Real(0.05, 3.0),
                                      "couple": Real(0.0, 1.0), "gamma": Real(0.05, 0.95), "utility": utility,
                                      "seed": Integer(0, seed_max)}, build_khop,
                        "random kappa-hop lines, any utility"))


# ============================================================================ claims
@claim_factory(
    mass_scale=Fault(1.0, "multiplies the occupancy (e.g. 1 - gamma: lambda normalised where (2) is not)"),
    gradient_scale=Fault(1.0, "multiplies Lemma 1's gradient (e.g. n: the 1/n of F dropped)"),
    c1_scale=Fault(1.0, "multiplies the measured c1 phi1^kappa in Lemma 3's bound: a wrong constant"),
)
def make_claims(*, faults):
    """Build the three claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE)
    return [
        Claim(id="ying2023.occupancy", source="eq. (2), (4), (20)", **common,
              statement="The unnormalised occupancy lambda(s,a) = sum_k gamma^k P(s^k=s, a^k=a) sums to 1/(1-gamma), "
                        "satisfies the flow constraints of Lambda, its local marginals lambda_i are those of a direct "
                        "solve of the state-action chain, and ||lambda - lambda^(H)||_1 = gamma^H/(1-gamma).",
              latex=r"\sum_a\lambda(s',a)=\xi(s')+\gamma\sum_{s,a}P(s'|s,a)\lambda(s,a),\ "
                    r"\sum\lambda=\tfrac1{1-\gamma},\ \|\lambda-\lambda^{(H)}\|_1=\tfrac{\gamma^H}{1-\gamma}",
              measure=lambda inst, rng, quick: _occupancy_measure(inst, rng, quick, f["mass_scale"]),
              instances=_instances, search=_identity_search(),
              notes=f"Identities; tolerance {OCCUPANCY_TOL}/(1-gamma). The flow constraints and the direct solve use "
                    "the compiled joint kernel (envs.NetworkedMDP.to_tabular), a route independent of the factored "
                    "solver that computes lambda."),
        Claim(id="ying2023.lemma1", source="Lemma 1, eq. (8)-(10)", **common,
              statement="grad_theta F(theta) = 1/(1-gamma) E_{s~d, a~pi}[psi_theta(a|s) Q_f(s,a)] with the shadow "
                        "reward r = (1/n) sum_i grad f_i(lambda_i) frozen; checked against central differences of the "
                        "exact F(theta) = (1/n) sum_i f_i(lambda_i^{pi_theta}).",
              latex=r"\nabla_\theta F(\theta)=\frac1{1-\gamma}E_{s\sim d^{\pi_\theta},a\sim\pi_\theta}"
                    r"\big[\psi_\theta(a|s)Q_f^{\pi_\theta}(s,a)\big]",
              measure=lambda inst, rng, quick: _lemma1_measure(inst, rng, quick, f["gradient_scale"]),
              instances=_instances, search=_identity_search(),
              notes=f"Directional central differences (step 1e-5) along random unit directions; tolerance {LEMMA1_TOL} "
                    "max(1, ||grad||). Utilities: linear, local state entropy (signed shadow rewards), apprenticeship."),
        Claim(id="ying2023.lemma3", source="Lemma 3, eq. (47)-(49) (delegated to [28])", **common,
              statement="If sup TV(pi^i(.|s_N, s_-N), pi^i(.|s_N, s'_-N)) <= c1 phi1^kappa (47), the truncated policy "
                        "(48) has ||lambda_i^{pi-hat} - lambda_i^{pi}||_1 <= n c1 phi1^kappa/(1-gamma)^2 for every i.",
              latex=r"\|\lambda_i^{\hat\pi_\theta}-\lambda_i^{\pi_\theta}\|_1\le\frac{nc_1\phi_1^\kappa}{(1-\gamma)^2}",
              measure=lambda inst, rng, quick: _lemma3_measure(inst, rng, quick, f["c1_scale"]),
              instances=_lemma3_instances, figure=_lemma3_figure, search=_lemma3_search(),
              notes="c1 phi1^kappa measured exactly per kappa (max over agents of the sup TV, TV = half l1, the "
                    "paper's own convention); extra.bound_without_n is the bound without the factor n. Absorbing pair: "
                    "reference s-bar = (1,1). Finding: the printed bound fails by up to a factor 2 (ratio 1.47 at "
                    "gamma = 0.5, eps = 0.01, eta = 0); with TV read as the l1 distance (extra.bound_tv_l1 = 2 x bound) "
                    "it holds, and that is what the perturbation argument gives (module docstring)."),
    ]


for _claim in make_claims():
    register(_claim)
