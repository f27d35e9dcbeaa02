r"""gu2021: the critic — Lemma C.1, the projected fixed point, Theorem C.1, (44), Theorem 5.1, locality (30).

``gu2021.lemmaC1_contraction`` :math:`\|\gamma K\|_{L^2(\nu_\theta)}=\gamma` (the Bellman operator (19) is a
                               γ-contraction in :math:`L^2(\nu_\theta)`), and the projected operators it is
                               composed with: the tabular local projection :math:`\Pi_{s,k}\gamma K` and sampled
                               Lipschitz quotients of :math:`\mathrm{Proj}_{\mathcal F_{R,M}}\mathcal T_s`.
``gu2021.critic_fixed_point``  Lemma C.1's :math:`Q_0(\cdot;\omega^*)` (box-bounded least-squares fixed point,
                               :func:`~netmarl_verify.solvers.exact._mean_field_critic.critic_fixed_point_mf`)
                               solves the variational inequality of (39), and long runs of Alg. 1 on the class
                               (37) converge to it, within an explicit bound (below) at every T.
``gu2021.thmC1_rate``          Alg. 1 → :math:`Q_0(\omega^*)`: fitted log-log slopes of
                               :math:`E_{\rm init}\|Q_s(\cdot;\bar\omega)-Q_0(\cdot;\omega^*)\|^2_{L^2(\nu)}` in
                               :math:`T_{\rm critic}` and in M against the claimed rates.
``gu2021.eq44_localization``   with tabular local features ((II) = 0) the TD fixed point is within
                               :math:`2c\rho^{k+1}/(1-\gamma)` of :math:`Q_s` (the step after (43)); also the
                               proof's own form :math:`2(I)/(1-\gamma)` with (I) exact.
``gu2021.thm5_1``              Theorem 5.1's proof chain (41)+(44) with every term exact, per M; the localisation
                               floor against the displayed third term of (24) (its growth as γ → 1).
``gu2021.init_scale``          §4.3: the 1/sqrt(M) ("Xavier") scaling of (13) gives an initial output of
                               width-free scale
                               (for :math:`b_m=\pm1`; not for §4.3's :math:`b_m\equiv1`).
``gu2021.locality_2hop``       (30): the marginal law of :math:`\mu_{t+1}(s)` depends only on
                               :math:`(\mu_t(\mathcal N^2_s),h_t(\mathcal N_s))`; tightness at distance 2.

Readings (guide §3, §4)
-----------------------
* ν is the stationary law of the pair chain :math:`K((\mu,h)\to(\mu',h'))=\mathbf P^N(\mu'\mid\mu,h)\Pi(h'\mid\mu')`
  (:func:`~netmarl_verify.solvers.exact._mean_field_critic.stationary_pairs`); an instance whose pair chain
  has several recurrent classes fails the assumption "ν unique" (rows "not applicable").
* Policies: the multinomial team policy (5) of the instance's random individual policy.
* Critic input :math:`\lambda^k_s\zeta^k_s` with :math:`\|\cdot\|\le1` (raw dimension :math:`|\mathcal N^k_s|(1+|A|)`),
  :math:`[\omega(0)]_m\sim N(0,I/d)`, :math:`b_m\sim\mathrm{Unif}\{\pm1\}` shared by the teams, R = 1,
  :math:`\eta=\min\{(1-\gamma)/8,T^{-1/2}\}`, i.i.d. samples from ν (Alg. 1 as analysed).
* Team reward (7): ``"weighted"`` (the proofs' reading) for the runs of Alg. 1; both readings for the exact
  (44) rows. :math:`r_{\max}=\max|r|`; Lemma 4.2's :math:`(c,\rho)=(r_{\max}/(1-\gamma),\sqrt{\gamma})`.

The explicit bound of ``critic_fixed_point`` (the toolkit's, not the paper's)
--------------------------------------------------------------------------------
Thm C.1 is an O(·) statement ("follows [2, Thm 4.6]", proof omitted). For Alg. 1 on the linearised class
(37) — features :math:`\phi` with :math:`\|\phi\|\le\|\zeta\|\le1`, box :math:`\mathcal B`, i.i.d. pairs from ν —
the argument of Bhandari et al. (2018, Thm 2) goes through with the box projection: ω* solves the
variational inequality :math:`\langle\bar g(\omega^*),\omega-\omega^*\rangle\le0` on :math:`\mathcal B`, so
:math:`\langle\bar g(\omega),\omega-\omega^*\rangle\le-(1-\gamma)\|\Phi(\omega-\omega^*)\|^2_\nu`, and
:math:`E\|g_t(\omega)\|^2\le2\sigma_*^2+8\|\Phi(\omega-\omega^*)\|_\nu^2` with
:math:`\sigma_*^2=E_{\xi\sim\nu,\xi'\sim K(\xi,\cdot)}[\delta_*^2\|\phi(\xi)\|^2]` (exact). With
:math:`8\eta\le1-\gamma`,
summing the T − 1 updates and bounding the last iterate by the same recursion,

.. math:: E\|Q_0(\bar\omega_T)-Q_0(\omega^*)\|^2_\nu\le\frac{A}{T}\Big(1+\frac1{\eta(1-\gamma)}\Big),\qquad
          A=\|\omega(0)-\omega^*\|_2^2+2(T-1)\eta^2\sigma_*^2.

The measured value is the mean over R runs (one initialisation each) of the squared distance, the bound the
mean of the runs' bounds: the expectation is over the samples, so the check holds with high probability
(the bound is loose by one to three orders of magnitude).

Rates (``thmC1_rate``)
----------------------
Thm C.1: :math:`E_{\rm init}\|Q_s(\bar\omega)-Q_0(\omega^*)\|^2\le
O(R^3d^{3/2}M^{-1/2}+R^{5/2}d^{5/4}M^{-1/4}+R^2dT^{-1/2})`.
Two sweeps with the network (13) as printed (``critic_features="network"``): in T at fixed M (the
linearised class (37) too, where the M terms vanish: the T term alone, claimed slope −1/2), and in M
with :math:`T_{\rm critic}=4M` (claimed slope −1/4, the slowest term). measured = fitted slope, bound =
claimed slope, ``atol`` = :data:`SLOPE_ATOL` (fit noise over R runs): a rate check, the constants being
unspecified. The same initialisations are used at every T (one draw per run).

Findings
--------
* (44) and the chain (41)+(44) hold with Lemma 4.2's constants in :math:`L^2(\nu)` on every instance here,
  loosely (largest ratios 0.022 for :math:`2c\rho^{k+1}/(1-\gamma)`, 0.009 for the chain; the proof's own form
  :math:`2(I)/(1-\gamma)` with (I) exact: 0.26). The sup-norm finding of ``gu2021.lemma4_2`` on the relay
  does not reach the critic claims: the relay's pair chain is reducible, ν is not unique ("not applicable").
* Theorem 5.1's displayed third term :math:`r_{\max}^2\gamma^{k+1}/(1-\gamma)^2` drops a :math:`(1-\gamma)^{-2}` of
  (44) (:math:`8c^2\rho^{2k+2}/(1-\gamma)^2=8r_{\max}^2\gamma^{k+1}/(1-\gamma)^4`; (45) puts :math:`c^2\rho^{2k+2}`
  inside the O(·) without it). The exact floor grows slower than either as γ → 1 (fitted exponents of
  :math:`1/(1-\gamma)` ≤ 1.8 < 2), so the displayed form is not contradicted on these instances.
* Thm C.1's rates are seen only in part (full run). In T (η = T^{-1/2}, T ≥ 256, tail fit) 11 of 13 teams
  decay at −0.49 to −0.73, but on the random 4-state path two teams decay at −0.18 to −0.35 over
  T = 1024..16384 (the implied constant :math:`\text{error}\cdot\sqrt T` grows ×2.3-4.2) while staying ≥ 14×
  below the explicit bound of ``critic_fixed_point``: pre-asymptotic, not a contradiction of an O(·). In M with
  T = 4M (guide E4) the error is flat for M = 8..32 on 7 of 13 teams (slopes −0.17 to +0.13): 4M updates
  are still in the transient; with T = 64M 11 of 13 teams decay at −0.35 to −0.64 and the same two teams of
  the random path stay flat (0.00, 0.01). The M terms of Thm C.1 (:math:`R^3d^{3/2}M^{-1/2}`, d = 9) cannot
  dominate below M ~ 10^3, which the fixed-point solver (BVLS with M d variables) does not reach in the time
  budget: the M rate proper is not tested.
* The class (37) has no bias: :math:`Q_0(0;\omega)=0`. Where ν charges :math:`\zeta^k_s=0` (no agent in
  :math:`\mathcal N^k_s`) and :math:`\widehat Q_s\ne0` there, no R satisfies Assumption 5.1 and (II) has a
  floor :math:`\nu(0)\widehat Q_s(0)^2`: metered in ``thm5_1`` (``extra.mass_at_zero``, up to 1 on the
  congestion instance, whose ν leaves some zones empty).
"""

import math

import numpy as np
from scipy.optimize import lsq_linear

from netmarl_verify.solvers.exact._errors import MultipleRecurrentClassesError
from netmarl_verify.solvers.exact._mean_field import evaluate_lifted, local_q
from netmarl_verify.solvers.exact._mean_field_critic import (
    SUPPORT_TOL,
    critic_fixed_point_mf,
    critic_input_table,
    critic_inputs,
    pair_kernel,
    random_feature_matrix,
    stationary_pairs,
)
from netmarl_verify.solvers.sampled._dec_neural_ac import run_dec_neural_td
from netmarl_verify.verify import (
    Assumption,
    Choice,
    Claim,
    DecayFigure,
    Fault,
    Integer,
    LinesFigure,
    LogLogErrorFigure,
    Measurement,
    Real,
    SearchSpace,
    Series,
    claim_factory,
    fit_loglog_slope,
    instance_seed,
    register,
)
from netmarl_verify.verify._fit import bootstrap_slope_ci

from ._common import PAPER, PAPER_FILE, READINGS, SEED_MAX, individual_policy, lifted_of, make_instance, meter_rows

__all__ = ["make_claims", "SLOPE_ATOL", "NORM_TOL", "VI_TOL", "LOCALITY_TOL", "CI_LEVEL", "CI_METHOD", "NO_SEARCH",
           "critic_spaces"]

#: Allowance of a fitted slope over the claimed one (R runs, 3-6 abscissae: the fit's noise is ~0.05).
SLOPE_ATOL = 0.1
#: Operator norms from an SVD of a |supp nu| x |supp nu| matrix: rounding ~1e-15.
NORM_TOL = 1e-12
#: Variational inequality of (39), relative to the scale of the expected TD direction times the box.
VI_TOL = 1e-9
#: Marginal laws from exact convolutions: rounding ~1e-16.
LOCALITY_TOL = 1e-12
#: The interval of a fitted slope: percentile bootstrap over the runs (resample runs, rebuild the mean curve, refit).
CI_LEVEL = 0.9
CI_BOOT = 1000
CI_METHOD = "percentile bootstrap over runs (resample runs with replacement, refit the mean curve)"
#: What the notes of a sampled claim say instead of declaring a search space.
NO_SEARCH = "No search space: sampled (a search would select false alarms)"


# ---------------------------------------------------------------------------- shared pieces
def _ctx(instance, reading="weighted"):
    """(lifted, team policy w, nu, K) of an instance (cached; raises if nu is not unique)."""
    p = instance.payload
    key = ("_critic_ctx", reading)
    if key not in p:
        lifted = lifted_of(instance, reading)
        w = lifted.multinomial_policy(individual_policy(instance))
        nu = stationary_pairs(lifted, w)
        p[key] = (lifted, w, nu, pair_kernel(lifted, w))
    return p[key]


def _nu_unique(instance):
    try:
        _ctx(instance)
        return True, ""
    except MultipleRecurrentClassesError as exc:
        return False, str(exc)[:200]


def _assumptions(instance):
    ok, why = _nu_unique(instance)
    rows = meter_rows(instance)
    rows.append(Assumption("nu_theta unique (pair chain unichain)", ok, None, "one recurrent class",
                           why or "stationary law of K unique"))
    if ok:
        lifted, w, nu, K = _ctx(instance)
        rows.append(Assumption("support of nu (meter)", True, float((nu > SUPPORT_TOL).sum()), "-",
                               f"{int((nu > SUPPORT_TOL).sum())} of {lifted.n_xi} pairs"))
    return rows


def _guarded(measure):
    """`measure` on instances with a unique nu; one "not applicable" row (NaN) otherwise."""

    def wrapped(instance, rng, quick, *args):
        ok, why = _nu_unique(instance)
        if not ok:
            yield Measurement(measured=float("nan"), bound=float("nan"), point={"check": "nu not unique"},
                              extra={"reason": why})
            return
        yield from measure(instance, rng, quick, *args)

    return wrapped


def _l2(nu, v):
    return float(np.sqrt(nu @ (v * v)))


def _group_projector(labels, nu):
    """The L2(nu) orthogonal projection onto functions of the labels (nu-conditional mean), as a matrix."""
    n = labels.max() + 1
    mass = np.bincount(labels, nu, n)
    P = np.zeros((len(labels), len(labels)))
    for g in range(n):
        idx = np.flatnonzero(labels == g)
        if mass[g] > 0:
            P[np.ix_(idx, idx)] = nu[idx][None, :] / mass[g]
    return P


def _op_norm(A, weights):
    """Operator norm of v -> A v in L2(weights) on the support of the weights."""
    supp = weights > SUPPORT_TOL
    sq = np.sqrt(weights[supp])
    B = sq[:, None] * A[np.ix_(supp, supp)] / sq[None, :]
    return float(np.linalg.norm(B, 2))


def _tabular_td(lifted, K, nu, r, s, k, gamma):
    """Tabular local TD fixed point (state aggregation on the key zeta^k_s) over Xi (zero off supp nu)."""
    supp = np.flatnonzero(nu > SUPPORT_TOL)
    labels = lifted.key(s, k)[supp]
    _, lab = np.unique(labels, return_inverse=True)
    n = lab.max() + 1
    Phi = np.zeros((len(supp), n))
    Phi[np.arange(len(supp)), lab] = 1.0
    D = nu[supp]
    Ks = K[np.ix_(supp, supp)]
    A = Phi.T @ (D[:, None] * (Phi - gamma * Ks @ Phi))
    wv = np.linalg.solve(A, Phi.T @ (D * r[supp]))
    out = np.zeros(lifted.n_xi)
    out[supp] = Phi @ wv
    return out


def _box_projection(Phi, base, nu, y, h):
    """L2(nu) projection of y onto {base + Phi u : |u|_inf <= h} (values on Xi); exact BVLS."""
    supp = nu > SUPPORT_TOL
    sq = np.sqrt(nu[supp])
    cols = np.flatnonzero(np.abs(Phi[supp]).max(axis=0) > 0)
    G = sq[:, None] * Phi[np.ix_(supp, cols)]
    res = lsq_linear(G, sq * (y[supp] - base[supp]), bounds=(-h, h), method="bvls", tol=1e-14, lsq_solver="exact")
    u = np.clip(res.x, -h, h)
    return base + Phi[:, cols] @ u


def _seed(rng):
    return int(rng.integers(0, 2**63 - 1))


def _inits(lifted, k, M, R, rng):
    """(omega0 (R, S, M, d_max), b (R, S, M)) as Alg. 1 l. 2 draws them (shared b)."""
    Zc, dims = critic_input_table(lifted, k)
    S, d = Zc.shape[0], Zc.shape[2]
    b = np.broadcast_to(rng.choice(np.array([-1.0, 1.0]), size=(R, 1, M)), (R, S, M)).copy()
    W0 = rng.standard_normal((R, S, M, d))
    mask = (np.arange(d)[None, :] < dims[:, None]) / np.sqrt(dims)[:, None]
    return W0 * mask[None, :, None, :], b


def _fixed_points(lifted, w, nu, k, W0, b, radius=1.0):
    """[[CriticFixedPoint per team] per run] (nu from the exact solver: see the report on _stationary)."""
    R, S = W0.shape[:2]
    return [[critic_fixed_point_mf(lifted, w, s, k, W0[r, s], b[r, s], radius=radius, nu=nu) for s in range(S)]
            for r in range(R)]


def _td(lifted, w, k, M, T, init, rng, features, td_discount=None, radius=1.0):
    R = init[0].shape[0]
    res = run_dec_neural_td(lifted, w, k, width=M, n_iterations=T, runs=R, rng=_seed(rng), init=init,
                            radius=radius, critic_features=features, td_discount=td_discount, checkpoints=[],
                            metrics=())
    return res.values  # (R, S, Xi)


def _instances(quick, seed):
    yield make_instance("lazy_walk", seed, L=3, N=2, A=2, gamma=0.5)
    yield make_instance("random", seed, graph="path", S=4, N=2, A=2, gamma=0.5, seed=seed)
    if not quick:
        yield make_instance("congestion", seed, L=4, topology="path", N=2, gamma=0.7, seed=seed)
        yield make_instance("relay", seed, N=3, gamma=0.5, reward="indicator")


def _td_instances(quick, seed):
    """The instances of the claims that run Alg. 1 (the fixed points cost O(M d) BVLS variables each)."""
    yield make_instance("random", seed, graph="path", S=3, N=2, A=2, gamma=0.5, seed=seed)
    if not quick:
        yield make_instance("lazy_walk", seed, L=3, N=2, A=2, gamma=0.5)
        yield make_instance("random", seed, graph="path", S=4, N=2, A=2, gamma=0.5, seed=seed)
        yield make_instance("congestion", seed, L=4, topology="path", N=2, gamma=0.7, seed=seed)


# ---------------------------------------------------------------------------- search spaces
_GAMMA = Real(0.05, 0.95)
_SEED = Integer(0, SEED_MAX)


def _size(p):
    """``"|S|x N"`` of a size choice -> (|S| (or L), N)."""
    n, agents = p["size"].split("x")
    return int(n), int(agents)


def critic_spaces(sizes=("3x2", "4x2", "3x3", "4x3")):
    """The exact critic claims' families (guide §8): random, congestion, lazy_walk, with |S| (L) and N from `sizes`
    (``"|S|xN"``, a Choice: it keeps |Xi| and the cost of an evaluation in check); the policy from the seed.

    (The relay is left out: its pair chain is reducible, nu is not unique and every row is "not applicable".)"""
    size = Choice(tuple(sizes))

    def random(p):
        S, N = _size(p)
        return make_instance("random", p["seed"], graph=p["graph"], S=S, N=N, A=2, gamma=p["gamma"],
                             seed=p["seed"], signed=p["signed"], mu_weight=p["mu_weight"])

    def congestion(p):
        L, N = _size(p)
        return make_instance("congestion", p["seed"], L=L, topology=p["topology"], N=N, gamma=p["gamma"],
                             alpha=p["alpha"], cost=p["cost"], seed=p["seed"])

    def lazy_walk(p):
        L, N = _size(p)
        return make_instance("lazy_walk", p["seed"], L=L, N=N, A=2, gamma=p["gamma"], initial=p["initial"])

    return (
        SearchSpace("random", {"graph": Choice(("path", "cycle", "star")), "size": size, "gamma": _GAMMA,
                               "signed": Choice((False, True)), "mu_weight": Real(0.0, 3.0), "seed": _SEED}, random,
                    "random neighbour-supported kernels and mu-dependent rewards, random individual policy "
                    "(size = |S|xN)"),
        SearchSpace("congestion", {"topology": Choice(("path", "cycle")), "size": size, "gamma": _GAMMA,
                                   "alpha": Real(0.0, 1.0), "cost": Real(0.0, 0.5), "seed": _SEED},
                    congestion, "zones on a path or cycle, congested moves, random demands (size = LxN)"),
        SearchSpace("lazy_walk", {"size": size, "gamma": _GAMMA, "initial": Choice(("uniform", "at0")),
                                  "seed": _SEED}, lazy_walk,
                    "lazy walk on a path, |A| = 2 (stay / move), reward at state 0 (size = LxN)"),
    )


#: Graphs on which (mu(N_s), h(N_s)) does not already fix mu (|S - N_s| >= 2 for some s at distance 2): on the
#: 3-state path or the 4-cycle mu(S - N_s) is one number fixed by mu(N_s), and the tightness row is vacuous.
_LOCALITY_SHAPES = ("path-4", "path-5", "cycle-5", "star-4", "star-5")


def _locality_spaces():
    def shape(p):
        graph, n = p["shape"].split("-")
        return graph, int(n)

    def random(p):
        graph, S = shape(p)
        return make_instance("random", p["seed"], graph=graph, S=S, N=p["N"], A=2, gamma=0.7, seed=p["seed"],
                             mu_weight=p["mu_weight"])

    def congestion(p):
        topology, L = shape(p)
        return make_instance("congestion", p["seed"], L=L, topology=topology, N=p["N"], gamma=0.7, alpha=p["alpha"],
                             seed=p["seed"])

    def relay(p):
        return make_instance("relay", 0, N=p["N"], gamma=0.5, reward="indicator")

    return (
        SearchSpace("random", {"shape": Choice(_LOCALITY_SHAPES), "N": Integer(2, 3), "mu_weight": Real(0.0, 3.0),
                               "seed": _SEED}, random,
                    "random kernels reading mu(N_s) with weight mu_weight (0: P ignores mu, rows not applicable)"),
        SearchSpace("congestion", {"shape": Choice(("path-4", "path-5", "cycle-5")), "N": Integer(2, 3),
                                   "alpha": Real(0.0, 1.0), "seed": _SEED}, congestion,
                    "congested moves: success probability 1 - alpha mu(target)"),
        SearchSpace("relay", {"N": Integer(2, 5)}, relay,
                    "guide §8 relay: an agent at 2 moves iff mu(3) > 0 (the extremal case of tightness)"),
    )


def _ci_rng(instance, tag):
    """The bootstrap's own stream (the measurement's rng is left untouched, so no other row changes)."""
    return np.random.default_rng(instance_seed(int(instance.payload["seed"]), instance.name + " slope ci " + tag))


def _slope_ci(instance, tag, x, runs):
    """``extra`` entries of the bootstrap interval of the log-log slope of the mean over `runs` (R, K)."""
    lo, hi = bootstrap_slope_ci(x, runs, CI_LEVEL, CI_BOOT, _ci_rng(instance, tag))
    return {"slope_ci_low": lo, "slope_ci_high": hi, "slope_ci_level": CI_LEVEL, "slope_ci_method": CI_METHOD,
            "slope_ci_resamples": CI_BOOT}


# ---------------------------------------------------------------------------- Lemma C.1
def _contraction_measure(instance, rng, quick, weights="nu"):
    lifted, w, nu, K = _ctx(instance)
    model = lifted.model
    gamma = model.gamma
    if weights == "nu":
        wts = nu
    else:  # the broken input: the discounted visitation (12) from P_0 in place of nu
        wts = evaluate_lifted(lifted, w, teams=False).sigma
    norm = gamma * _op_norm(K, wts)
    yield Measurement(measured=norm, bound=gamma, point={"operator": "gamma K", "s": -1, "kappa": -1},
                      values={"gamma": gamma}, extra={"weights": weights, "norm_K": norm / gamma})
    yield Measurement(measured=abs(norm - gamma), bound=NORM_TOL,
                      point={"operator": "gamma K (equality: constants attain it)", "s": -1, "kappa": -1},
                      extra={"weights": weights})
    for s in range(model.n_states):
        for k in range(model.diameter):
            P = _group_projector(lifted.key(s, k), wts)
            yield Measurement(measured=gamma * _op_norm(P @ K, wts), bound=gamma,
                              point={"operator": "Pi_{s,k} gamma K (tabular local)", "s": s, "kappa": k},
                              values={"gamma": gamma})
    # Proj_{F_{R,M}} T_s on random pairs of box functions (sampled Lipschitz quotient)
    M, k, s = 16, 1, 0
    Z = critic_inputs(lifted, s, k)
    d = Z.shape[1]
    r = lifted.team_rewards[:, s]
    h = 1.0 / math.sqrt(M)
    worst = 0.0
    for _ in range(3 if quick else 8):
        W0 = rng.standard_normal((M, d)) / math.sqrt(d)
        b = rng.choice([-1.0, 1.0], size=M)
        Phi = random_feature_matrix(Z, W0, b)
        base = Phi @ W0.reshape(-1)
        u1, u2 = (rng.uniform(-h, h, size=Phi.shape[1]) for _ in range(2))
        q1, q2 = base + Phi @ u1, base + Phi @ u2
        p1 = _box_projection(Phi, base, wts, r + gamma * K @ q1, h)
        p2 = _box_projection(Phi, base, wts, r + gamma * K @ q2, h)
        den = _l2(wts, q1 - q2)
        if den > 1e-12:
            worst = max(worst, _l2(wts, p1 - p2) / den)
    yield Measurement(measured=worst, bound=gamma,
                      point={"operator": "Proj_F(R,M) T_s (sampled Lipschitz quotient)", "s": s, "kappa": k},
                      values={"gamma": gamma}, extra={"M": M, "weights": weights})


def _contraction_figure(rows):
    specs = []
    for name in list(rows["instance"].unique())[:2]:
        specs.append(DecayFigure(
            f"Lemma C.1: projected contraction, {name}, s = 0",
            Series(r"$\|\Pi_{s,k}\gamma K\|_{L^2(\nu)}$", "measured",
                   where={"point.operator": "Pi_{s,k} gamma K (tabular local)"}),
            bounds=Series(r"$\gamma$", "bound", where={"point.operator": "Pi_{s,k} gamma K (tabular local)"}),
            where={"instance": name, "point.s": 0}, xlabel="k", ylabel="operator norm", log_y=False))
    return specs


# ---------------------------------------------------------------------------- fixed point vs Alg. 1 (37)
def _vi_gap(lifted, nu, K, r, fp, b, W0, gamma, h):
    """max over the box of <gbar(omega*), omega - omega*> (closed form) and its scale."""
    Z = fp.inputs
    Phi = random_feature_matrix(Z, W0, b)
    q = Phi @ fp.omega.reshape(-1)
    g = Phi.T @ (nu * (r + gamma * K @ q - q))
    om = fp.omega.reshape(-1)
    w0 = W0.reshape(-1)
    lo, hi = w0 - h, w0 + h
    gap = float(np.sum(np.maximum(g * (hi - om), g * (lo - om))))
    return gap, float(np.abs(g).sum() * 2 * h)


def _explicit_bound(lifted, nu, K, r, fp, b, W0, gamma, T, eta):
    """A (1 + 1/(eta (1-gamma))) / T of the module docstring."""
    Phi = random_feature_matrix(fp.inputs, W0, b)
    q = Phi @ fp.omega.reshape(-1)
    delta2 = (r[:, None] + gamma * q[None, :] - q[:, None]) ** 2  # [xi, xi']
    sig2 = float(nu @ ((Phi ** 2).sum(axis=1) * (K * delta2).sum(axis=1)))
    dist0 = float(((fp.omega - W0) ** 2).sum())
    A = dist0 + 2.0 * (T - 1) * eta ** 2 * sig2
    return A * (1.0 + 1.0 / (eta * (1.0 - gamma))) / T, sig2, dist0


def _fp_measure(instance, rng, quick, td_discount=None):
    lifted, w, nu, K = _ctx(instance)
    gamma = lifted.model.gamma
    k, R = 1, 4
    Ms = (16,) if quick else (16, 32)
    S = lifted.model.n_states
    for M in Ms:
        W0, b = _inits(lifted, k, M, R, rng)
        fps = _fixed_points(lifted, w, nu, k, W0, b)
        h = 1.0 / math.sqrt(M)
        worst, scale = -np.inf, 0.0
        for rr in range(R):
            for s in range(S):
                g, sc = _vi_gap(lifted, nu, K, lifted.team_rewards[:, s], fps[rr][s], b[rr, s], W0[rr, s], gamma, h)
                worst, scale = max(worst, g), max(scale, sc)
        yield Measurement(measured=worst, bound=VI_TOL * max(1.0, scale),
                          point={"check": "variational inequality of (39) at omega*", "M": M, "T": 0, "s": -1},
                          extra={"certificate_max": max(fp.certificate for row in fps for fp in row),
                                 "kkt_max": max(fp.kkt_residual for row in fps for fp in row), "scale": scale})
        for T in ((1024, 8192, 65536) if M == 16 else (1024, 8192)):
            eta = min((1.0 - gamma) / 8.0, T ** -0.5)
            vals = _td(lifted, w, k, M, T, (W0, b), rng, "linearised", td_discount)
            for s in range(S):
                r = lifted.team_rewards[:, s]
                errs, bounds, sig2s, d0s = [], [], [], []
                for rr in range(R):
                    fp = fps[rr][s]
                    errs.append(_l2(nu, vals[rr, s] - fp.values) ** 2)
                    bd, sig2, d0 = _explicit_bound(lifted, nu, K, r, fp, b[rr, s], W0[rr, s], gamma, T, eta)
                    bounds.append(bd)
                    sig2s.append(sig2)
                    d0s.append(d0)
                yield Measurement(measured=float(np.mean(errs)), bound=float(np.mean(bounds)),
                                  point={"check": "Alg. 1 on (37) -> Q_0(omega*)", "M": M, "T": T, "s": s},
                                  values={"eta": eta, "gamma": gamma, "T": T},
                                  extra={"sigma_star2": float(np.mean(sig2s)), "dist0_2": float(np.mean(d0s)),
                                         "err_max": float(np.max(errs)), "runs": R})


def _fp_figure(rows):
    specs = []
    name = rows["instance"].iloc[0]
    sub = rows[(rows["instance"] == name) & (rows["point.check"] == "Alg. 1 on (37) -> Q_0(omega*)")]
    for M in sorted(sub["point.M"].unique())[-1:]:
        where = {"instance": name, "point.check": "Alg. 1 on (37) -> Q_0(omega*)", "point.M": M, "point.s": 0}
        specs.append(LogLogErrorFigure(
            f"Alg. 1 on the class (37) vs Lemma C.1's fixed point: {name}, M = {int(M)}, s = 0",
            Series(r"$E\|Q_0(\bar\omega_T)-Q_0(\omega^*)\|^2_\nu$", "measured"),
            bounds=Series("explicit bound (toolkit, Bhandari-type)", "bound"),
            x="point.T", where=where, xlabel=r"$T_{\rm critic}$", ylabel="squared error"))
    return specs


# ---------------------------------------------------------------------------- Thm C.1 rates
def _rate_measure(instance, rng, quick, td_discount=None):
    lifted, w, nu, K = _ctx(instance)
    k, R = 1, 8
    gamma = lifted.model.gamma
    S = lifted.model.n_states
    # (a) T sweep at fixed M, same initialisations at every T
    M = 16 if quick else 32
    Ts = (256, 1024, 4096) if quick else (256, 1024, 4096, 16384)
    W0, b = _inits(lifted, k, M, R, rng)
    fps = _fixed_points(lifted, w, nu, k, W0, b)
    T_last = Ts[-1]
    eta_last = min((1.0 - gamma) / 8.0, T_last ** -0.5)
    explicit = [float(np.mean([_explicit_bound(lifted, nu, K, lifted.team_rewards[:, s], fps[rr][s], b[rr, s],
                                               W0[rr, s], gamma, T_last, eta_last)[0] for rr in range(R)]))
                for s in range(S)]
    for features in ("linearised", "network"):
        per_run = np.zeros((S, R, len(Ts)))
        for j, T in enumerate(Ts):
            vals = _td(lifted, w, k, M, T, (W0, b), rng, features, td_discount)
            for s in range(S):
                per_run[s, :, j] = [_l2(nu, vals[rr, s] - fps[rr][s].values) ** 2 for rr in range(R)]
        curves = per_run.mean(axis=1)
        for s in range(S):
            slope = fit_loglog_slope(np.array(Ts[-3:], float), curves[s, -3:])
            if not np.isfinite(slope):  # Q_0(omega*) reached exactly (e.g. r_s = 0 on supp nu): no rate to fit
                continue
            yield Measurement(measured=slope, bound=-0.5,
                              point={"sweep": "T", "features": features, "s": s, "M": M},
                              extra={"x": list(map(float, Ts)), "y": curves[s].tolist(), "runs": R,
                                     **_slope_ci(instance, f"T {features} s={s}", np.array(Ts[-3:], float),
                                                 per_run[s][:, -3:]),
                                     "implied_c_growth": float(curves[s, -1] * math.sqrt(Ts[-1])
                                                               / (curves[s, 0] * math.sqrt(Ts[0]))),
                                     "explicit_bound_at_T_max": explicit[s],
                                     "explicit_ratio_at_T_max": float(curves[s, -1] / explicit[s])})
    # (b) M sweep with T = 4 M (guide E4) and T = 64 M (both T = Omega(M)), network as printed
    Ms = (8, 16, 32)
    R = 8 if quick else 16
    factors = (4, 64)
    per_run = np.zeros((len(factors), S, R, len(Ms)))  # run r at each M: independent initialisations
    for j, M in enumerate(Ms):
        W0, b = _inits(lifted, k, M, R, rng)
        fps = _fixed_points(lifted, w, nu, k, W0, b)
        for i, c in enumerate(factors):
            vals = _td(lifted, w, k, M, c * M, (W0, b), rng, "network", td_discount)
            for s in range(S):
                per_run[i, s, :, j] = [_l2(nu, vals[rr, s] - fps[rr][s].values) ** 2 for rr in range(R)]
    curves = per_run.mean(axis=2)
    for i, c in enumerate(factors):
        for s in range(S):
            slope = fit_loglog_slope(np.array(Ms, float), curves[i, s])
            if not np.isfinite(slope):
                continue
            yield Measurement(measured=slope, bound=-0.25,
                              point={"sweep": f"M (T = {c}M)", "features": "network", "s": s, "M": -1},
                              extra={"x": list(map(float, Ms)), "y": curves[i, s].tolist(), "runs": R,
                                     **_slope_ci(instance, f"M x{c} s={s}", np.array(Ms, float), per_run[i, s]),
                                     "implied_c_growth": float(curves[i, s, -1] * Ms[-1] ** 0.25
                                                               / (curves[i, s, 0] * Ms[0] ** 0.25))})


def _rate_figure(rows):
    import json

    specs = []
    name = rows["instance"].iloc[0]
    for sweep, feats, claimed in (("T", "linearised", -0.5), ("T", "network", -0.5), ("M (T = 4M)", "network", -0.25),
                                  ("M (T = 64M)", "network", -0.25)):
        sel = rows[(rows["instance"] == name) & (rows["point.sweep"] == sweep) & (rows["point.features"] == feats)
                   & (rows["point.s"] == 0)]
        if sel.empty:
            continue
        ex = json.loads(sel["extra"].iloc[0])
        x, y = np.array(ex["x"]), np.array(ex["y"])
        specs.append(LogLogErrorFigure(
            f"Thm C.1: Alg. 1 ({feats}) -> Q_0(omega*) vs {sweep}: {name}, s = 0",
            Series(r"$E_{\rm init}\|Q_s(\bar\omega)-Q_0(\omega^*)\|^2_\nu$", y, x=x),
            xlabel=r"$T_{\rm critic}$" if sweep == "T" else "M", ylabel="squared error",
            fitted_slope=float(sel["measured"].iloc[0]), claimed_slope=claimed))
    return specs


# ---------------------------------------------------------------------------- (44)
def _eq44_measure(instance, rng, quick, c_scale=1.0):
    model = instance.payload["model"]
    gamma = model.gamma
    c = c_scale * model.r_max / (1.0 - gamma)
    rho = math.sqrt(gamma)
    for reading in READINGS:
        lifted, w, nu, K = _ctx(instance, reading)
        # the norms on supp nu: off it the stationary solver leaves rounding (~1e-19), which the square root lifts
        # to ~1e-9 against q_tab = 0 there (found by search: a "violation" of the proof form with (I) = 0)
        nu_s = np.where(nu > SUPPORT_TOL, nu, 0.0)
        ev = evaluate_lifted(lifted, w)
        for s in range(model.n_states):
            Qs = ev.Q_teams[s]
            for k in range(model.diameter):
                q_tab = _tabular_td(lifted, K, nu, lifted.team_rewards[:, s], s, k, gamma)
                err = _l2(nu_s, Qs - q_tab)
                one = _l2(nu_s, Qs - local_q(lifted, Qs, s, k, "sigma", nu))  # (I) with the nu-conditional Q-hat
                common = {"reading": reading, "s": s, "kappa": k}
                ex = {"I_nu": one, "c_rho": c * rho ** (k + 1), "sup_loc": float(np.abs(
                    Qs - local_q(lifted, Qs, s, k, "sigma", nu))[nu > SUPPORT_TOL].max())}
                yield Measurement(measured=err, bound=2 * c * rho ** (k + 1) / (1 - gamma),
                                  point={**common, "check": "paper 2 c rho^{k+1}/(1-gamma)"},
                                  values={"c": c, "rho": rho, "gamma": gamma}, extra=ex)
                yield Measurement(measured=err ** 2, bound=8 * c ** 2 * rho ** (2 * k + 2) / (1 - gamma) ** 2,
                                  point={**common, "check": "(44) squared, (II) = 0"},
                                  values={"c": c, "rho": rho, "gamma": gamma}, extra=ex)
                yield Measurement(measured=err, bound=2 * one / (1 - gamma) + 1e-12,
                                  point={**common, "check": "proof form 2 (I)/(1-gamma), (I) exact"}, extra=ex)


def _eq44_figure(rows):
    specs = []
    for name in list(rows["instance"].unique())[:2]:
        where = {"instance": name, "point.s": 0, "point.reading": "weighted"}
        specs.append(DecayFigure(
            f"(44) with tabular local features: {name}, s = 0, weighted (7)",
            Series(r"$\|Q_s-Q_0^{\rm tab}\|_{L^2(\nu)}$", "measured",
                   where={"point.check": "paper 2 c rho^{k+1}/(1-gamma)"}, mask_at_or_below=1e-15),
            bounds=[Series(r"$2c\rho^{k+1}/(1-\gamma)$", "bound",
                           where={"point.check": "paper 2 c rho^{k+1}/(1-gamma)"}),
                    Series(r"$2(I)/(1-\gamma)$", "bound",
                           where={"point.check": "proof form 2 (I)/(1-gamma), (I) exact"},
                           mask_at_or_below=1e-11)],
            where=where, xlabel="k", ylabel="error"))
    return specs


# ---------------------------------------------------------------------------- Thm 5.1
def _thm51_measure(instance, rng, quick, c_scale=1.0, exponent=2.0, chain="all"):
    lifted, w, nu, K = _ctx(instance)
    model = lifted.model
    gamma, S = model.gamma, model.n_states
    c = c_scale * model.r_max / (1.0 - gamma)
    rho = math.sqrt(gamma)
    ev = evaluate_lifted(lifted, w)
    k, R = 1, 4
    Ms = (16, 32) if quick else (16, 32, 64)
    for M in Ms:
        W0, b = _inits(lifted, k, M, R, rng)
        fps = _fixed_points(lifted, w, nu, k, W0, b)
        vals = _td(lifted, w, k, M, 4 * M, (W0, b), rng, "network")
        h = 1.0 / math.sqrt(M)
        for s in range(S):
            Qs = ev.Q_teams[s]
            qhat = local_q(lifted, Qs, s, k, "sigma", nu)
            Z = critic_inputs(lifted, s, k)
            d = Z.shape[1]
            tot, c1, two = [], [], []
            for rr in range(R):
                Wd = W0[rr, s][:, :d]
                Phi = random_feature_matrix(Z, Wd, b[rr, s])
                base = Phi @ Wd.reshape(-1)
                proj = _box_projection(Phi, base, nu, qhat, h)
                two.append(_l2(nu, qhat - proj) ** 2)
                tot.append(_l2(nu, vals[rr, s] - Qs) ** 2)
                c1.append(_l2(nu, vals[rr, s] - fps[rr][s].values) ** 2)
            zero = np.abs(Z).sum(axis=1) == 0
            bound = 2 * (np.mean(c1) + (8 * c ** 2 * rho ** (2 * k + 2) + 2 * np.mean(two)) / (1 - gamma) ** 2)
            if chain == "thmC1 only":  # the broken input: the critic error bounded by its Thm C.1 part alone
                bound = float(np.mean(c1))
            yield Measurement(measured=float(np.mean(tot)), bound=float(bound),
                              point={"check": "(41)+(44) explicit", "M": M, "s": s, "kappa": k, "gamma": gamma},
                              values={"c": c, "rho": rho, "gamma": gamma},
                              extra={"thmC1_part": float(np.mean(c1)), "II2": float(np.mean(two)),
                                     "mass_at_zero": float(nu[zero].sum()),
                                     "qhat_at_zero": float(np.abs(qhat[zero]).max(initial=0.0)), "runs": R})
    # the localisation floor (tabular local TD, the M -> infinity limit when q_tab is in the class) vs gamma
    gammas = (0.3, 0.5, 0.7, 0.9) if quick else (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
    fam = instance.params["family"]
    params = {kk: v for kk, v in instance.params.items() if kk not in ("family", "gamma")}
    floors = {}
    for g in gammas:
        inst_g = make_instance(fam, instance.payload["seed"], name=instance.name + f" gamma->{g}", gamma=g, **params)
        inst_g.payload["pi"] = instance.payload["pi"]  # the same individual policy at every gamma
        lg, wg, nug, Kg = _ctx(inst_g)
        evg = evaluate_lifted(lg, wg)
        for s in range(S):
            for kk in range(model.diameter):
                q_tab = _tabular_td(lg, Kg, nug, lg.team_rewards[:, s], s, kk, g)
                floors[(s, kk, g)] = _l2(nug, evg.Q_teams[s] - q_tab) ** 2
    x = np.log(1.0 / (1.0 - np.array(gammas)))
    for s in range(S):
        for kk in range(model.diameter):
            f = np.array([floors[(s, kk, g)] for g in gammas])
            disp = np.array([model.r_max ** 2 * g ** (kk + 1) / (1 - g) ** 2 for g in gammas])
            ok = f > 1e-24
            slope = fit_loglog_slope(np.exp(x[ok]), (f / np.array(gammas) ** (kk + 1))[ok]) if ok.sum() >= 2 else 0.0
            yield Measurement(measured=float(slope), bound=exponent + SLOPE_ATOL,
                              point={"check": "floor exponent of 1/(1-gamma)", "M": -1, "s": s, "kappa": kk,
                                     "gamma": -1},
                              extra={"gammas": list(gammas), "floor": f.tolist(), "displayed": disp.tolist(),
                                     "implied_constant_max": float((f / disp).max()), "claimed_exponent": exponent,
                                     "eq44_exponent": 4.0})


def _thm51_figure(rows):
    import json

    specs = []
    name = rows["instance"].iloc[0]
    sel = rows[(rows["instance"] == name) & (rows["point.check"] == "floor exponent of 1/(1-gamma)")
               & (rows["point.s"] == 0)]
    if not sel.empty:
        series, bounds = [], []
        for i, (_, row) in enumerate(sel.iterrows()):
            ex = json.loads(row["extra"])
            g = np.array(ex["gammas"])
            series.append(Series(f"floor, k = {int(row['point.kappa'])}", np.array(ex["floor"]), x=1 / (1 - g),
                                 mask_at_or_below=1e-24))
            bounds.append(Series(f"displayed $r^2\\gamma^{{k+1}}/(1-\\gamma)^2$, k = {int(row['point.kappa'])}",
                                 np.array(ex["displayed"]), x=1 / (1 - g)))
        specs.append(LinesFigure(f"Thm 5.1: localisation floor vs the displayed term: {name}, s = 0", series,
                                 bounds=bounds, log_x=True, log_y=True, xlabel=r"$1/(1-\gamma)$",
                                 ylabel=r"$\|Q_s-Q_0^{\rm tab}\|^2_{L^2(\nu)}$", legend="below"))
    where = {"instance": name, "point.check": "(41)+(44) explicit", "point.s": 0}
    specs.append(LogLogErrorFigure(
        f"Thm 5.1: critic error vs M (T = 4M) and the explicit chain (41)+(44): {name}, s = 0",
        Series(r"$E\|Q_s(\bar\omega)-Q_s\|^2_\nu$", "measured"), bounds=Series("(41)+(44), exact terms", "bound"),
        x="point.M", where=where, xlabel="M", ylabel="squared error"))
    return specs


# ---------------------------------------------------------------------------- locality (30)
def _marginal_law(lifted, xi, s):
    """Law of N mu_{t+1}(s) given the pair xi (vector over 0..N)."""
    counts = lifted.model.mus[:, s]
    return np.bincount(counts, lifted.T[xi], lifted.model.n_agents + 1)


def _locality_measure(instance, rng, quick, radius=2):
    lifted = lifted_of(instance)
    model = lifted.model
    mc = lifted.mu_counts()
    tight, where = 0.0, -1
    for s in range(model.n_states):
        inner = list(model.kappa_hop(s, radius))
        hood = list(model.kappa_hop(s, 1))
        key = np.column_stack([mc[:, inner], lifted.counts[:, hood, :].reshape(lifted.n_xi, -1)])
        _, lab = np.unique(key, axis=0, return_inverse=True)
        lab = lab.reshape(-1)
        laws = np.stack([_marginal_law(lifted, x, s) for x in range(lifted.n_xi)])
        worst = 0.0
        for g in range(lab.max() + 1):
            idx = np.flatnonzero(lab == g)
            if len(idx) > 1:
                worst = max(worst, 0.5 * float(np.abs(laws[idx] - laws[idx[0]]).sum(axis=1).max()))
        yield Measurement(measured=worst, bound=LOCALITY_TOL,
                          point={"check": f"law of mu_{{t+1}}(s) given (mu(N^{radius}_s), h(N_s))", "s": s})
        # tightness: fixing only (mu(N_s), h(N_s)) the law may change (when P reads mu beyond N_s)
        key1 = lifted.counts[:, hood, :].reshape(lifted.n_xi, -1)
        _, lab1 = np.unique(key1, axis=0, return_inverse=True)
        lab1 = lab1.reshape(-1)
        for g in range(lab1.max() + 1):
            idx = np.flatnonzero(lab1 == g)
            if len(idx) > 1:
                tv = 0.5 * float(np.abs(laws[idx] - laws[idx[0]]).sum(axis=1).max())
                if tv > tight:
                    tight, where = tv, s
    yield Measurement(measured=-tight, bound=-10 * LOCALITY_TOL,
                      point={"check": "tightness: (mu(N_s), h(N_s)) alone does not fix it (max over s)", "s": where},
                      extra={"tv_at_distance_2": tight, "P_reads_mu": model.kernel_reads_mu()})


def _locality_instances(quick, seed):
    yield make_instance("random", seed, graph="path", S=5, N=2, A=2, gamma=0.7, seed=seed)
    yield make_instance("relay", seed, N=3, gamma=0.5, reward="indicator")
    if not quick:
        yield make_instance("random", seed, graph="cycle", S=5, N=3, A=2, gamma=0.7, seed=seed)
        yield make_instance("random", seed, graph="star", S=4, N=3, A=2, gamma=0.7, seed=seed)


def _locality_assumptions(instance):
    rows = meter_rows(instance)
    model = instance.payload["model"]
    rows.append(Assumption("P reads mu (needed for tightness)", model.kernel_reads_mu(), None, "true",
                           "a kernel that ignores mu makes the law depend on (mu(s), h(s)) only"))
    return rows


# ---------------------------------------------------------------------------- initial scale (13), §4.3
def _init_measure(instance, rng, quick, exponent=0.5, tau=1.0):
    lifted = lifted_of(instance)
    model = lifted.model
    N, d = model.n_agents, 1 + model.n_actions
    Ms = (16, 64, 256, 1024) if quick else (16, 64, 256, 1024, 4096)
    R = 64 if quick else 256
    feats = [lifted.type_features(0, c) for c in range(1, N + 1)]  # zeta_s = (mu(s), h(s))/sqrt2, every type
    Z = np.concatenate(feats, axis=0)
    for b_kind in ("pm1", "ones"):
        second, entropy, per_run = [], [], []
        for M in Ms:
            theta = rng.standard_normal((R, M, d)) / math.sqrt(d)  # [theta_s(0)]_m ~ N(0, I/d)
            b = rng.choice([-1.0, 1.0], size=(R, M)) if b_kind == "pm1" else np.ones((R, M))
            f = (np.maximum(np.einsum("ud,rmd->rum", Z, theta), 0.0) * b[:, None, :]).sum(axis=2) / M ** exponent
            second.append(float((f ** 2).mean()))
            per_run.append((f ** 2).mean(axis=1))  # (R,): one initialisation each
            ent, start = [], 0
            for z in feats:  # the softmax (14) over the types of a team with c agents
                lg = tau * f[:, start:start + len(z)]
                start += len(z)
                p = np.exp(lg - lg.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                ent.append(-(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=1).mean() / math.log(len(z)))
            entropy.append(float(np.mean(ent)))
        slope = fit_loglog_slope(np.array(Ms, float), np.array(second))
        yield Measurement(measured=slope, bound=0.0,
                          point={"b": b_kind, "check": "slope of E_init f(zeta;theta(0))^2 in M"},
                          extra={"x": list(map(float, Ms)), "y": second, "normalised_entropy": entropy,
                                 "xavier_second_moment": float((Z ** 2).sum(axis=1).mean() / (2 * d)), "runs": R,
                                 **_slope_ci(instance, f"init b={b_kind}", np.array(Ms, float),
                                             np.stack(per_run, axis=1))})


def _init_instances(quick, seed):
    yield make_instance("lazy_walk", seed, L=3, N=2, A=2, gamma=0.9)
    yield make_instance("random", seed, graph="path", S=3, N=4, A=3, gamma=0.9, seed=seed)


def _init_figure(rows):
    import json

    series = []
    name = rows["instance"].iloc[-1]
    for _, row in rows[rows["instance"] == name].iterrows():
        ex = json.loads(row["extra"])
        series.append(Series(f"b = {row['point.b']}", np.array(ex["y"]), x=np.array(ex["x"])))
    return [LinesFigure(f"Initial scale of the energy network (13): {name}", series, log_x=True, log_y=True,
                        xlabel="M", ylabel=r"$E_{\rm init}f(\zeta_s;\theta(0))^2$")]


# ---------------------------------------------------------------------------- the claims
@claim_factory(
    weights=Fault("nu", "'sigma': the norm taken in L2(sigma), the discounted visitation (12) from P_0, in place "
                        "of the stationary nu: K is not a contraction there (||gamma K||_sigma > gamma)"),
    td_discount=Fault(None, "discount of Alg. 1's TD target (None: the model's gamma); 0.99 (gamma = 0.5) makes Alg. 1 "
                            "converge to another projected fixed point, not to Lemma C.1's"),
    c_scale=Fault(1.0, "multiplies c = r_max/(1-gamma) in (44) and in Thm 5.1's chain: a wrong constant"),
    chain=Fault("all", "'thmC1 only': Thm 5.1's chain cut to its Thm C.1 part E||Q(omega-bar) - Q_0(omega*)||^2 (no "
                       "factor 2, no localisation or (II) term), which the critic error exceeds"),
    floor_exponent=Fault(2.0, "the exponent of 1/(1-gamma) claimed for the floor (the displayed term's 2); a "
                              "negative value is a wrong claim the measured growth exceeds"),
    init_exponent=Fault(0.5, "the exponent of the width in the output scaling of (13) (1/M^e); 0.25 makes the scale "
                             "grow like M^(1/2)"),
    locality_radius=Fault(2, "the radius of mu in (30); 1 (mu(N_s) instead of mu(N^2_s)) is too small when P reads mu"),
)
def make_claims(*, faults):
    """Build the critic claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, assumptions=_assumptions, instances=_instances)
    td = {**common, "instances": _td_instances}
    return [
        Claim(id="gu2021.lemmaC1_contraction", source="Lemma C.1 (proof); eq. (19), (35)-(36)", **common,
              search=critic_spaces(("3x2", "4x2", "3x3")),
              statement="The Bellman operator T_s (19) is a gamma-contraction in L2(nu_theta), nu_theta the stationary "
                        "law of the pair chain; composed with an L2(nu) projection onto a convex class it stays one.",
              latex=r"\|\mathcal T_sQ_1-\mathcal T_sQ_2\|_{L^2(\nu_\theta)}\le\gamma\|Q_1-Q_2\|_{L^2(\nu_\theta)},\ "
                    r"\text{i.e.}\ \|\gamma K\|_{L^2(\nu_\theta)}=\gamma\|D_\nu^{1/2}KD_\nu^{-1/2}\|_2=\gamma",
              measure=lambda inst, rng, quick: _guarded(_contraction_measure)(inst, rng, quick, f["weights"]),
              figure=_contraction_figure,
              notes=f"Rows (point.operator): gamma ||K||_nu (exact SVD on supp nu) <= gamma, and its equality "
                    f"(constants attain it, tol {NORM_TOL}); the tabular local projection Pi_(s,k) (nu-conditional "
                    "mean on the key zeta^k_s) composed with gamma K, every s and k; the box class (37) (M = 16, "
                    "R = 1): the largest quotient ||Proj T q1 - Proj T q2|| / ||q1 - q2|| over random q1, q2 in the "
                    "box (BVLS projections). Broken input: sigma (12) for nu. Search spaces: random, congestion, "
                    "lazy_walk (|S|xN in 3x2, 4x2, 3x3: the BVLS quotients cost ~10 s at 4x3; gamma, reward sign, "
                    "mu-weight, "
                    "alpha, cost, seed); the equality row scores 1 on every instance (the norm is attained)."),
        Claim(id="gu2021.critic_fixed_point", source="Lemma C.1; App. C.2 (39); Alg. 1 on the class (37)", **td,
              statement="Proj_{F_{R,M}} T_s has a unique fixed point Q_0(.; omega*) on supp nu (the global minimiser "
                        "of the MSPBE (39)), and Alg. 1 on the linearised class converges to it.",
              latex=r"Q_0(\cdot;\omega^*)=\mathrm{Proj}_{\mathcal F_{R,M}}\mathcal T_sQ_0(\cdot;\omega^*),\quad"
                    r"E\|Q_0(\bar\omega_T)-Q_0(\omega^*)\|^2_\nu\le"
                    r"\frac{\|\omega(0)-\omega^*\|^2+2(T-1)\eta^2\sigma_*^2}{T}"
                    r"\Big(1+\frac1{\eta(1-\gamma)}\Big)",
              measure=lambda inst, rng, quick: _guarded(_fp_measure)(inst, rng, quick, f["td_discount"]),
              figure=_fp_figure,
              notes=f"Rows 'variational inequality': max over the box of <gbar(omega*), omega - omega*> (closed "
                    f"form; <= {VI_TOL} x scale), every run and team, with the solver's certificate in extra. Rows "
                    "'Alg. 1 on (37)': mean over 4 runs of the squared L2(nu) distance of the averaged iterate to "
                    "Q_0(omega*), against the toolkit's explicit bound (module docstring; a Bhandari et al. "
                    "2018-type argument, not the paper's: Thm C.1 is O(.)). k = 1, R = 1, eta = min((1-gamma)/8, "
                    "T^-1/2), i.i.d. samples from nu, T up to 65536. Fixed points use the exact nu "
                    f"(stationary_pairs), not Alg. 1's batched solve. {NO_SEARCH}: the Alg. 1 rows bound an "
                    "expectation by a mean over 4 runs."),
        Claim(id="gu2021.thmC1_rate", source="Theorem C.1 (from [2, Thm 4.6]; proof omitted)", **td,
              statement="E_init ||Q_s(.; omega-bar) - Q_0(.; omega*)||^2_{L2(nu)} <= O(R^3 d^{3/2} M^{-1/2} + "
                        "R^{5/2} d^{5/4} M^{-1/4} + R^2 d T^{-1/2}): a rate in T_critic (-1/2) and in M (-1/4 at "
                        "T = 4M).",
              latex=r"E_{\rm init}\|Q_s(\cdot;\bar\omega)-Q_0(\cdot;\omega^*)\|^2_{L^2(\nu)}\le\mathcal O\Big("
                    r"\frac{R^3d^{3/2}}{\sqrt{M}}+\frac{R^{5/2}d^{5/4}}{M^{1/4}}"
                    r"+\frac{R^2d}{\sqrt{T_{\rm critic}}}\Big)",
              measure=lambda inst, rng, quick: _guarded(_rate_measure)(inst, rng, quick, f["td_discount"]),
              figure=_rate_figure, atol=SLOPE_ATOL,
              notes=f"measured = fitted log-log slope (tail: last 3 points) of the mean over runs (8; 16 in the "
                    f"M sweep of the full run) of the squared distance; bound = the claimed slope; atol {SLOPE_ATOL}. "
                    "Sweep T in 256..16384 at M = 16 (quick) / 32 for the network as printed and for the linearised "
                    "class (37) (only the T term remains); sweep M in 8..32 with T = 4M (guide E4) and T = 64M "
                    "(network). The same initialisations at every T. A rate check: the constants of O(.) are "
                    "unspecified; extra.implied_c_growth is the growth of error x T^(1/2) (M^(1/4)) over the sweep, "
                    "extra.explicit_ratio_at_T_max the error over critic_fixed_point's explicit bound. "
                    f"extra.slope_ci_low/high: {int(CI_LEVEL * 100)}% {CI_METHOD}, {CI_BOOT} resamples, same tail "
                    "points as the slope; the verdict uses the point slope (with 8 runs the interval is a spread "
                    f"of the fit over initialisations, not of the O(.) rate). {NO_SEARCH}."),
        Claim(id="gu2021.eq44_localization", source="proof of Thm 5.1, (42)-(44)", **common,
              search=critic_spaces(),
              statement="With a function class that contains the localized Q-hat_s ((II) = 0; here all functions of "
                        "zeta^k_s), the projected TD fixed point Q_0 satisfies ||Q_s - Q_0||_{L2(nu)} <= "
                        "2 c rho^{k+1} / (1-gamma), (c, rho) from Lemma 4.2; squared, (44).",
              latex=r"\|Q_s^{\Pi}-Q_0\|_{L^2(\nu)}\le\frac{2c\rho^{k+1}+(II)}{1-\gamma},\ (II)=0,\ "
                    r"(c,\rho)=\Big(\frac{r_{\max}}{1-\gamma},\sqrt{\gamma}\Big)",
              measure=lambda inst, rng, quick: _guarded(_eq44_measure)(inst, rng, quick, f["c_scale"]),
              figure=_eq44_figure, atol=1e-12,
              notes="Q_0 = tabular local TD fixed point w = (Phi' D(I - gamma K) Phi)^-1 Phi' D r_s (state "
                    "aggregation on zeta^k_s, exact). Rows: the paper's bound, (44) squared, and the proof's form "
                    "2 (I)/(1-gamma) with (I) = ||Q_s - Q-hat_s||_nu for the nu-conditional Q-hat (exact; it must "
                    "hold). Both readings of (7). Norms in L2(nu) on supp nu (nu > SUPPORT_TOL; the solver's "
                    "rounding off the support is dropped). Search spaces: random, congestion, lazy_walk (|S|xN up "
                    "to 4x3, gamma, reward sign, mu-weight, alpha, cost, seed)."),
        Claim(id="gu2021.thm5_1", source="Theorem 5.1, eq. (24); App. C.3 (41)-(46)", **td,
              statement="E_init ||Q_s(.; omega-bar) - Q_s||^2_{L2(nu)} <= O(R^3 d^{3/2} M^{-1/2} + R^{5/2} d^{5/4} "
                        "M^{-1/4} + r_max^2 gamma^{k+1}/(1-gamma)^2); its proof: (41) and (44) with (II) of Lemma C.2.",
              latex=r"E_{\rm init}\|Q_s(\cdot;\bar\omega)-Q_s^{\Pi^\theta}\|^2_{L^2(\nu)}\le"
                    r"2E\|Q_s(\bar\omega)-Q_0(\omega^*)\|^2"
                    r"+\frac{2}{(1-\gamma)^2}E\big(8c^2\rho^{2k+2}+2(II)^2\big)",
              measure=lambda inst, rng, quick: _guarded(_thm51_measure)(inst, rng, quick, f["c_scale"],
                                                                             f["floor_exponent"], f["chain"]),
              figure=_thm51_figure,
              notes="Rows '(41)+(44) explicit': Alg. 1 as printed (network), T = 4M, k = 1, mean over 4 runs; every "
                    "term of the bound exact ((II) by a BVLS projection of the nu-conditional Q-hat onto the box "
                    "class; c, rho Lemma 4.2's). Rows 'floor exponent': the exact localisation floor "
                    "||Q_s - Q_0^tab||^2 (the M -> oo limit when Q_0^tab lies in the class) on a gamma grid, divided "
                    "by gamma^{k+1}; measured = fitted exponent of 1/(1-gamma), bound = the displayed term's 2 + 0.1 "
                    "(fit allowance); (44) itself allows 4. extra.mass_at_zero: nu-mass of zeta^k_s = 0, where the "
                    "bias-free class (37) is 0. The floor-exponent fit is over an exact gamma grid (no runs: no "
                    f"interval). {NO_SEARCH}: the chain rows are means over 4 runs of Alg. 1."),
        Claim(id="gu2021.init_scale", source="§4.3 after (13) (Xavier scaling); Alg. 1-2 l. 2 vs §4.3 b_m = 1",
              paper=PAPER, paper_file=PAPER_FILE, assumptions=meter_rows, instances=_init_instances,
              statement="With the 1/sqrt(M) scaling of (13) and [W]_m(0) ~ N(0, I/d), the network's initial output "
                        "f(x; W(0)) has a scale independent of the width M.",
              latex=r"E_{\rm init}\big[f(\zeta_s;\theta(0))^2\big]=O(1)\ \text{in}\ M,\quad f(x;W)=\frac1{\sqrt{M}}"
                    r"\sum_mb_m\mathrm{ReLU}(x^\top[W]_m)",
              measure=lambda inst, rng, quick: _init_measure(inst, rng, quick, f["init_exponent"]),
              figure=_init_figure, atol=SLOPE_ATOL,
              notes=f"Monte Carlo over 64 (quick) / 256 initialisations per M, inputs every actor type feature "
                    f"zeta_s = (mu(s), h(s))/sqrt2; measured = log-log slope of E f^2 in M, bound 0 (atol "
                    f"{SLOPE_ATOL}). Finding: with b_m = +-1 (Alg. 1-2) E f^2 = E ReLU(w'x)^2 = |x|^2/(2d) for every M "
                    "(holds); with §4.3's b_m = 1 the mean is sqrt(M) |x|/sqrt(2 pi d), E f^2 grows like M "
                    "(violated): "
                    "the scaling keeps the variance, not the scale, and the initial energy policy (14) concentrates on "
                    "the types of largest |zeta_s| (extra.normalised_entropy falls with M). Broken input: 1/M^(1/4). "
                    f"extra.slope_ci_low/high: {int(CI_LEVEL * 100)}% {CI_METHOD} (the initialisations), "
                    f"{CI_BOOT} resamples; the verdict uses the point slope. {NO_SEARCH}: Monte Carlo."),
        Claim(id="gu2021.locality_2hop", source="App. B.2, eq. (30); §3 after (6)", paper=PAPER, paper_file=PAPER_FILE,
              assumptions=_locality_assumptions, instances=_locality_instances, search=_locality_spaces(),
              statement="The marginal law of mu_{t+1}(s) depends only on (mu_t(N^2_s), h_t(N_s)); distance 2 is needed "
                        "when P reads mu.",
              latex=r"\mu_{t+1}(s)\sim\mathbf P^N_s(\cdot\mid\mu_t(\mathcal N^2_s),h_t(\mathcal N_s))",
              measure=lambda inst, rng, quick: _locality_measure(inst, rng, quick, f["locality_radius"]),
              notes=f"Exact: the law of N mu_(t+1)(s) from every pair (the lifted kernel (6)); measured = the "
                    f"largest TV between two pairs that agree on (mu(N^2_s), h(N_s)) (<= {LOCALITY_TOL}). Tightness "
                    "row (one per instance): minus the largest TV, over s, between pairs agreeing on (mu(N_s), h(N_s)) "
                    "only, which must be positive (<= -1e-11): a change of mu at distance 2 changes the law. The relay "
                    "(an agent at 2 moves iff mu(3) > 0) is the extremal case. Broken input: radius 1. Search spaces: "
                    f"random and congestion on the graphs {list(_LOCALITY_SHAPES)} (not the 3-state path or the "
                    "4-cycle: there mu(S - N_s) is one number fixed by mu(N_s), so no change at distance 2 is "
                    "possible and the tightness row is vacuously violated), N, mu-weight / alpha, seed; the relay "
                    "with N = 2..5. Search finding: on congestion the tightness row is violated (TV 0 at distance 2) "
                    "although P reads mu: a move's success reads mu(target) only, and the target of a move into or "
                    "out of s lies in N_s, so (mu(N_s), h(N_s)) fixes the law; 'distance 2 is needed when P reads "
                    "mu' holds for kernels that read mu(N_y) of a neighbour y (random, relay), not for every one."),
    ]


for _claim in make_claims():
    register(_claim)
