r"""zhang2025: the critic's approximation error (Assumption 5.9), the pseudo-centralised bridge (22) and the size of
every term of Theorem 5.10 in the theorem's own regime :math:`B = m^{1/32}D^{-6}`.

``zhang2025.assump5_9``            :math:`\epsilon_{\rm critic}(B,m,D) = \max_x|\hat Q(x;W^*_\theta)-Q_\theta(x)|`, W* the
                                   solution of the VI (14) of the linearised critic (12) over :math:`\mathcal B(B)` (meter).
``zhang2025.eq22_pseudo_central``  (21)-(22): :math:`\|\bar W-\bar V\|\le2B\sqrt D` and
                                   :math:`|\hat Q(x;\bar W)-\hat Q(x;\bar V)|\le L_W\|\bar W-\bar V\|\le2L_WB\sqrt D`,
                                   linearised (exact :math:`L_W`) and neural (estimated :math:`L_W`) critic (ratio).
``zhang2025.thm5_10_regime``       the eight terms of Thm 5.10 / (37) with unit constants at
                                   :math:`B = c\,m^{1/32}D^{-6}`, the measured :math:`\epsilon_{\rm critic}` and
                                   :math:`\sqrt{\epsilon_{\rm bias}}` included (meter).

Readings and findings
---------------------
* **The critic problem (Fact C.3, (12)-(14)).** As :func:`.algorithm._vi_measure`: one-hot
  :math:`\xi` (d = |S||A|), the literal eq. (5) network (:class:`~..sampled._nets.DeepReLU`), team reward
  :math:`\bar r` (the proof's Alg. 3), TD targets on the original kernel ℙ (``kernel="original"``), pairs weighted by
  the restart law :math:`\nu(s)\pi(a|s)` of Lemma 4.2. With :math:`u = W-W(0)` (flattened, one block per layer) the VI
  (14) is :math:`(Mu-b)^\top(w-u)\ge0\ \forall w\in\mathcal B(B)`, :math:`M=\Phi^\top D_\nu(\Phi-\gamma P_\pi\Phi)`,
  :math:`b=\Phi^\top D_\nu(\bar r+\gamma P_\pi q_0-q_0)`, :math:`\Phi` the rows :math:`\phi(x)^\top=\nabla_W\hat Q(x;W(0))^\top`,
  :math:`q_0=\hat Q(\cdot;W(0))`; solved by :func:`.algorithm._vi_solve` from :math:`u=0` (extragradient, then the
  KKT system in the D layer multipliers; best of three candidates by the gap), its relative gap
  :math:`(g^\top u+B\sum_h\|g_h\|)/(1+\|b\|_\infty B)` an Assumption of every row (:data:`VI_GAP_TOL`). The
  unconstrained TD fixed point is ``lstsq(M, b)`` (minimum norm), :math:`B_{\rm free}` its largest layer norm.
* **Two forms of** :math:`\hat Q(x;W^*)`. (14) defines W* for the linearised critic, so
  :math:`\hat Q_0(x;W^*)=q_0(x)+\phi(x)^\top u^*` is what Fact C.3 makes unique on supp ν (form ``"linearised"``);
  Assumption 5.9 prints :math:`\hat Q(x;W^*)`, the network (5) at :math:`W^*` (form ``"network"``). W* itself is not
  unique when φ is rank-deficient on supp ν (dead ReLUs of one-hot inputs, :math:`Dm^2>|S||A|`): the network form
  would then depend on which solution the solver returns; W* is canonicalised to the minimum-norm point of the
  solution set (:func:`solve_critic`), which also makes reruns bit-identical (the solver's own point moved by 0.5
  between two calls in one process on a singular M).
* **Assumption 5.9 rows.** (a) *reach* (exact geometry): :math:`\max_x|\hat Q_0(x;W^*)-\hat Q(x;W(0))| =
  \max_x|\phi(x)^\top u^*|\le\max_x\|\phi(x)\|\,B\sqrt D` — the critic can move at most this far from its
  initialisation, so :math:`|\epsilon_{\rm critic}-\epsilon_{\rm init}|` is bounded by it; (b) *informative*:
  :math:`\epsilon_{\rm critic}` (on supp ν) below the sup error of the best constant predictor, half the range
  of :math:`Q_\theta` on supp ν — the paper's reading of 5.9, "able to accurately approximate the Q-function";
  (c) *identity*: at :math:`B=2B_{\rm free}` the VI's :math:`\epsilon_{\rm critic}` equals the unconstrained
  fixed point's (:data:`ID_TOL`, relative to :math:`1+\max|Q_\theta|`; it needs a relative VI gap
  :math:`\le10^{-10}`, :data:`VI_GAP_TOL_ID`: the solver does not reach it on ill-conditioned M, e.g. m = 4 where
  :math:`B_{\rm free}` is large — "not applicable", a solver limit; the lstsq value is confirmed by an independent
  projected-Bellman iteration in the tests). **Finding** (quick instance, random_mamdp N=2 S=5 A_i=3 γ=0.9, Q range
  0.815 on supp ν): at the theorem's :math:`B=m^{1/32}D^{-6}` (1.04-1.07 for D = 1, 0.016 for D = 2) the critic
  barely leaves W(0): for D = 2, :math:`\epsilon_{\rm critic}/\epsilon_{\rm init}` = 0.97 (m = 4) and 0.99 (m = 8),
  :math:`\epsilon_{\rm critic}` = 7.9 and 9.8, i.e. 9.7 and 12 times the Q range (D = 1: 9.4, 13.3; ratio to the
  init error 0.72, 0.65) — the init error of the literal (5), whose output scale is :math:`\sqrt{2m}`. Row (b) is
  violated at every B of the grid except the wide linearised critic at :math:`B\ge B_{\rm free}` (m = 8, D = 2:
  :math:`\epsilon_{\rm critic}` = 4e-13); the network form at that W* is 17.0 (1195 for m = 4, D = 2): far from
  W(0) the linearisation (12) is no guide to the network (5).
  **Not a theorem:** :math:`\epsilon_{\rm critic}(B)` is *not* monotone in B, neither the sup nor the
  :math:`L^2(\nu)` error: quick instance, m = 4, D = 2: 4.6255 at B = 1.63 (VI gap 0) < 4.6273 at
  :math:`B\ge B_{\rm free}` (lstsq, confirmed by the projected-Bellman iteration to 1e-12); probe random_mamdp N=2 S=5 A_i=3 seed 123, m = 4, D = 2, net seed 7, 10 radii from the
  theorem's B to :math:`2B_{\rm free}`: 9.44, 5.08, 5.51, 5.08 along the grid. Flag ``eps_nonincreasing_in_B`` in
  the identity row's extra, no row.
* **(22), geometry.** :func:`~..sampled._zhang_ac.deep_neural_td` projects *per layer* (each
  :math:`W^{(h)}` radially onto its Frobenius ball; :meth:`DeepReLU.project`), so :math:`\mathcal B(B)` is a
  product of D balls of radius B around the common W(0): each layer of :math:`\bar W-\bar V` has norm
  :math:`\le2B`, hence :math:`\|\bar W-\bar V\|_2\le2B\sqrt D` (attained by antipodal points in every layer).
  :math:`\bar W` (the mean of Alg. 2's post-gossip critics, = the mean of the running averages by Fact C.2) and
  :math:`\bar V` (Alg. 3) are convex combinations of projected iterates, hence in the convex set
  :math:`\mathcal B(B)`. Both algorithms see the *same* tuples and the same W(0), H, b: Alg. 2 with K updates,
  Alg. 3 called with K + 1 (it runs K − 1 updates, as printed) and the same seed — the coupling of the analysis
  (the chain ends are checked equal). Local rewards :math:`r^i` for Alg. 2, :math:`\bar r` for Alg. 3.
* **(22), Lipschitz constant.** Linearised critic: :math:`L_W=\max_x\|\phi(x)\|` exactly (the gradient of
  :math:`\hat Q_0` does not depend on W); neural critic: :math:`L_W` *estimated* as the largest
  :math:`\|\nabla_W\hat Q(x;W)\|` over the pairs x and over 11 points of the segment :math:`[\bar V,\bar W]` and
  8 random points of :math:`\mathcal B(B)` (one point on every layer sphere each). By the mean-value theorem
  along the segment (:math:`\hat Q` is piecewise smooth in W) the segment maximum is the constant that matters for
  the first inequality; rows "(22) l. 1" use it. The rows are exact for the linearised critic and carry the
  estimate's caveat for the neural one.
* **Thm 5.10 in its regime.** One instance, unit constants, logs dropped (the Õ; the (37) log factors
  :math:`\log^{3/2}m\log^{1/2}K` in extra), :math:`B=c\,m^{1/32}D^{-6}`, :math:`c\in\{0.1,1,10,100\}`, T = 1000,
  M = 100, K = 1000 (≥ D⁴), :math:`t_{\rm gossip}=10`, the path-graph consensus matrix of
  :func:`.algorithm._consensus` (η = 0.1). Terms: (1) 1/T; (2) :math:`\sqrt{\epsilon_{\rm bias}}` (Assumption 5.6
  reading (b), :func:`~..exact._fisher.epsilon_bias` as in :mod:`.gradient`); (3) the measured
  :math:`\epsilon_{\rm critic}` at that B (linearised, sup over pairs); (4) :math:`N^{1/2}M^{-1/2}`; (5)-(8) in
  (37)'s B-form :math:`N^{3/2}BD^{1/2}q^{t}`, :math:`N^{1/2}BD^{1/2}`, :math:`N^{1/2}BD^{5/2}K^{-1/4}`,
  :math:`N^{1/2}B^{4/3}m^{-1/12}D^4` (:math:`q=1-\eta^{N-1}`) and in the theorem's printed form
  :math:`N^{3/2}m^{1/32}D^{-11/2}q^t`, :math:`N^{1/2}m^{1/32}D^{-11/2}`, :math:`N^{1/2}m^{1/32}D^{-7/2}K^{-1/4}`,
  :math:`N^{1/2}m^{-1/24}D^{-4}`. Rows: the two forms agree at c = 1 (identity); "informative": the sum of the
  terms below the trivial range :math:`J^*-\min_\pi J` (both forms; with and without term (3)); term (3) below
  the Q range. **Findings** (quick instance, m = 8, D = 2, J* − min J = 5.73, Q range 0.815): at c = 1 the terms
  are (1) 0.001, (2) 0.020, (3) 9.16, (4) 0.141, (5) 0.023, (6) 0.033, (7) 0.024, (8) 0.081 — term (3) alone exceeds
  the trivial range, so the bound is vacuous; with (3) the (37) B-form is vacuous at every c (small c:
  :math:`\epsilon_{\rm critic}` is the init error; large c: (8) :math:`\propto B^{4/3}D^4`, 45.8 at c = 100).
  Without (3) the B-form is informative for c ≤ 10 at D = 2 (c ≤ 1 at D = 1, full mode). The printed form hides c
  in the Θ: it can look informative at large c (full mode, m = 8, D = 1, c = 100: 4.29 < 5.73 with
  :math:`\epsilon_{\rm critic}` ≈ 0) only because it does not charge the B that made :math:`\epsilon_{\rm critic}`
  small. The window of B where (5)-(8) are small is the one where the critic cannot leave W(0).
"""

import math
from dataclasses import dataclass

import numpy as np

from netmarl_verify.envs import TabularMDP
from netmarl_verify.envs._validation import NonFiniteError
from netmarl_verify.solvers.exact._fisher import advantage_policy_gradient, epsilon_bias, optimal_objective
from netmarl_verify.solvers.exact._optimality import optimal_values
from netmarl_verify.solvers.sampled._nets import DeepReLU
from netmarl_verify.solvers.sampled._zhang_ac import deep_neural_td, theorem_radius
from netmarl_verify.verify import Assumption, Claim, Fault, LinesFigure, Measurement, Series, claim_factory, register

from ._common import PAPER, PAPER_FILE, SEED_MAX, derived_seed, make_instance, model_of, reward_meters
from .algorithm import _consensus, _onehot_net, _rounding_floor, _seed, _vi_gap, _vi_solve
from .gradient import RCOND

__all__ = ["make_claims", "critic_problem", "solve_critic", "critic_errors", "regime_terms", "VI_GAP_TOL", "ID_TOL"]

#: Relative VI gap at or below which W* counts as solved (an Assumption of every meter row that uses W*). The values
#: are then good to ~1e-3 (probe: a gap of 7.7e-7 moved Q-hat_0 by 2e-3), far inside the rows' margins.
VI_GAP_TOL = 1e-6
#: Relative VI gap required by the identity rows (as ``factC3``): a gap of 1e-8 already moved Q-hat_0 by 3e-6 in
#: probes (against an independent projected-Bellman iteration), above :data:`ID_TOL`.
VI_GAP_TOL_ID = 1e-10
#: Tolerance of the identity rows (relative to 1 + max |Q_theta| for errors, to the printed term for (5)-(8)).
ID_TOL = 1e-8
#: The extragradient iterations of :func:`.algorithm._vi_solve` (as ``factC3``).
VI_ITERS = 500


def _bd(depth):
    return math.sqrt(depth)


# ============================================================================ the linearised critic problem
@dataclass
class CriticProblem:
    r"""The VI (14) of one eq. (5) network on one instance (module docstring).

    Attributes
    ----------
    net : DeepReLU
        One network (one-hot inputs of dimension |S||A|).
    q0 : ndarray (n,)
        :math:`\hat Q(x;W(0))` on every pair.
    Phi : ndarray (n, D m^2)
        :math:`\phi(x)^\top`, layer blocks contiguous.
    M, b : ndarray
        The affine VI :math:`g(u) = Mu-b`.
    Q : ndarray (n,)
        The exact team :math:`Q_\theta` (kernel ``"original"``).
    supp : ndarray of bool (n,)
        Pairs with :math:`\nu(s)\pi(a|s) > 10^{-15}`.
    u_free : ndarray
        ``lstsq(M, b)``, the unconstrained TD fixed point (minimum norm).
    B_free : float
        Its largest layer norm.
    L_lin : float
        :math:`\max_x\|\phi(x)\|`, the exact Lipschitz constant of the linearised critic.
    width, depth : int
        m and D.
    """

    net: DeepReLU
    q0: np.ndarray
    Phi: np.ndarray
    M: np.ndarray
    b: np.ndarray
    Q: np.ndarray
    supp: np.ndarray
    u_free: np.ndarray
    B_free: float
    L_lin: float
    width: int
    depth: int

    @property
    def sizes(self):
        return [self.width * self.width] * self.depth

    def layer_norms(self, u):
        return np.linalg.norm(u.reshape(self.depth, -1), axis=1)


def critic_problem(model, g, width, depth, seed):
    r"""The VI (14) of the linearised eq. (5) critic for the policy of ``g`` (module docstring).

    Parameters
    ----------
    model : ZhangMAMDP
    g : AdvantageGradient
        :func:`~netmarl_verify.solvers.exact._fisher.advantage_policy_gradient` of the model (kernel
        ``"original"``): the policy table, the restart law ν and :math:`Q_\theta`.
    width, depth : int
        m and D.
    seed : int
        The network's initialisation (:func:`.algorithm._onehot_net`).

    Returns
    -------
    CriticProblem
    """
    S, A = g.pi.shape
    n = S * A
    net = _onehot_net(n, width, depth, seed)
    X = np.eye(n)
    q0, Phi = net.forward(X), net.features(X).reshape(n, -1)
    P = np.asarray(model.mdp.P).reshape(n, S)
    Ppair = (P[:, :, None] * g.pi[None]).reshape(n, n)
    Dw = (g.nu[:, None] * g.pi).reshape(-1)
    r = np.asarray(model.mdp.R).reshape(-1)
    M = Phi.T @ (Dw[:, None] * (Phi - model.gamma * Ppair @ Phi))
    b = Phi.T @ (Dw * (r + model.gamma * Ppair @ q0 - q0))
    u_free = np.linalg.lstsq(M, b, rcond=None)[0]
    prob = CriticProblem(net=net, q0=q0, Phi=Phi, M=M, b=b, Q=np.asarray(g.Q).reshape(-1), supp=Dw > 1e-15,
                         u_free=u_free, B_free=0.0, L_lin=float(np.linalg.norm(Phi, axis=1).max()), width=width,
                         depth=depth)
    prob.B_free = float(prob.layer_norms(u_free).max())
    return prob


def solve_critic(prob, B, constrained=True, prefer_free=True):
    r"""Solve the VI (14) over :math:`\mathcal B(B)` (:func:`.algorithm._vi_solve`, from W(0), :data:`VI_ITERS`).

    The mean TD map :math:`g(u)=Mu-b` depends on u only through :math:`\Phi_\nu u` (the rows on supp ν), so the
    solution set is :math:`(u^*+\ker\Phi_\nu)\cap\mathcal B(B)`; which point the solver returns depends on its
    path (and, on a singular M, on the last bits of its BLAS calls: two calls in one process returned points 0.5
    apart). The solution is therefore canonicalised: (i) when the unconstrained fixed point ``u_free`` lies in the
    ball it solves (14) too, and it is returned if its gap is no larger (``prefer_free``; deterministic); (ii)
    otherwise the minimum-norm point :math:`\Phi_\nu^+\Phi_\nu u^*` of the solution's affine set (``lstsq``) when
    it lies in the ball (smallest total norm; a layer may exceed B, then the solver's point is kept). Either way the
    W* closest to W(0) among those found, the one most favourable to the linearisation.

    Parameters
    ----------
    prob : CriticProblem
    B : float
        The radius of every layer's ball.
    constrained : bool
        False: return the unconstrained fixed point ``u_free`` whatever B (the fault ``constrained``).
    prefer_free : bool
        Step (i) above (False: the solver's point, canonicalised by (ii) only; the identity rows).

    Returns
    -------
    u : ndarray
        :math:`W^*-W(0)`, flattened.
    gap : float
        The relative VI gap :math:`(g^\top u+B\sum_h\|g_h\|)/(1+\|b\|_\infty B)` at u (rounding floored).
    """
    def rel_gap(v):                                 # |.|: a gap of -1e-17 is rounding (>= 0 on the ball)
        return _rounding_floor(abs(_vi_gap(prob.M, prob.b, v, prob.sizes, B) / (1.0 + float(np.abs(prob.b).max()) * B)))

    if not constrained:
        return prob.u_free.copy(), rel_gap(prob.u_free)
    u = _vi_solve(prob.M, prob.b, prob.sizes, B, np.zeros(prob.M.shape[0]), VI_ITERS)
    Ps = prob.Phi[prob.supp]
    uc = np.linalg.lstsq(Ps, Ps @ u, rcond=None)[0]
    if prob.layer_norms(uc).max() <= B * (1 + 1e-12):
        u = uc
    gap = rel_gap(u)
    if prefer_free and prob.B_free <= B:
        gap_free = rel_gap(prob.u_free)
        if gap_free <= gap:
            return prob.u_free.copy(), gap_free
    return u, gap


def critic_errors(prob, u):
    r"""Sup errors of both forms of :math:`\hat Q(\cdot;W(0)+u)` against :math:`Q_\theta`.

    Returns
    -------
    dict
        ``{"linearised": {"all", "supp"}, "network": {"all", "supp"}, "move"}``: the sup errors over all pairs and
        over supp ν, and :math:`\max_x|\phi(x)^\top u|` (the linearised critic's move from W(0)).
    """
    lin = prob.q0 + prob.Phi @ u
    net = prob.net.forward(np.eye(len(prob.q0)), np.asarray(prob.net.W0) + u.reshape(prob.net.W0.shape))
    out = {}
    for form, q in (("linearised", lin), ("network", net)):
        e = np.abs(q - prob.Q)
        out[form] = {"all": float(e.max()), "supp": float(e[prob.supp].max())}
    out["move"] = float(np.abs(prob.Phi @ u).max())
    return out


def _q_range(prob):
    q = prob.Q[prob.supp]
    return float(q.max() - q.min())


def _vi_assumption(gap, tol=VI_GAP_TOL):
    return Assumption(f"VI (14) solved (relative gap <= {tol:g})", gap <= tol, gap, f"<= {tol:g}",
                      "extragradient + KKT (.algorithm._vi_solve) from W(0); existence by monotonicity (Fact C.3); "
                      "a solver limit when it fails, not a finding")


# ============================================================================ Assumption 5.9
def _a59_instances(quick, seed):
    yield make_instance("random_mamdp", N=2, S=5, A_i=3, gamma=0.9, scale=1.0, seed=derived_seed(seed, "assump5_9"))
    if not quick:
        yield make_instance("random_mamdp", N=2, S=3, A_i=2, gamma=0.9, scale=1.0,
                            seed=derived_seed(seed, "assump5_9 small"))


def _grid_md(quick):
    return ((4, 1), (4, 2), (8, 1), (8, 2)) if quick else ((4, 1), (4, 2), (8, 1), (8, 2), (16, 1), (16, 2))


def _a59_measure(instance, rng, quick, constrained=True):
    model = model_of(instance)
    g = advantage_policy_gradient(model)
    seed = _seed(rng)
    for width, depth in _grid_md(quick):
        prob = critic_problem(model, g, width, depth, int(np.random.default_rng([seed, width, depth])
                                                          .integers(SEED_MAX)))
        Bth = theorem_radius(width, depth)
        init = critic_errors(prob, np.zeros_like(prob.u_free))
        qr = _q_range(prob)
        free = critic_errors(prob, prob.u_free)
        base = {"width": width, "depth": depth, "n_params": int(prob.Phi.shape[1]), "pairs": int(len(prob.q0)),
                "rank_phi_supp": int(np.linalg.matrix_rank(prob.Phi[prob.supp])),
                "dead_pairs": int((np.linalg.norm(prob.Phi, axis=1) == 0).sum()), "B_theorem": Bth,
                "B_free": prob.B_free, "L_lin": prob.L_lin, "Q_range": qr, "eps_init": init["linearised"]["supp"],
                "eps_free_lstsq": free["linearised"]["supp"], "seed": seed}
        curve, curve_net, radii = [], [], []
        for label, B in (("theorem B = m^(1/32) D^-6", Bth), ("10 x theorem B", 10 * Bth),
                         ("100 x theorem B", 100 * Bth), ("unconstrained (B = 2 B_free)", 2 * prob.B_free)):
            u, gap = solve_critic(prob, B, constrained)
            err = critic_errors(prob, u)
            curve.append(err["linearised"]["supp"])
            curve_net.append(err["network"]["supp"])
            radii.append(B)
            hyp = [_vi_assumption(gap)]
            lay = prob.layer_norms(u)
            extra = dict(base, B=B, vi_gap=gap, dist_to_W0=float(np.linalg.norm(u)), max_layer_dist=float(lay.max()),
                         eps_linearised_all=err["linearised"]["all"], eps_linearised_supp=err["linearised"]["supp"],
                         eps_network_all=err["network"]["all"], eps_network_supp=err["network"]["supp"],
                         ratio_eps_to_Q_range=err["linearised"]["supp"] / qr if qr > 0 else float("inf"),
                         ratio_eps_to_eps_init=err["linearised"]["supp"] / init["linearised"]["supp"]
                         if init["linearised"]["supp"] > 0 else float("nan"))
            pt = {"width": width, "depth": depth, "radius": label}
            yield Measurement(measured=err["move"], bound=prob.L_lin * B * _bd(depth), assumptions=hyp, extra=extra,
                              point=dict(pt, form="linearised",
                                         check="reach: max_x |Q0(x; W*) - Q(x; W(0))| <= max||phi|| B sqrt(D)"))
            for form in ("linearised", "network"):
                yield Measurement(measured=err[form]["supp"], bound=qr / 2, assumptions=hyp, extra=extra,
                                  point=dict(pt, form=form,
                                             check="informative: eps_critic on supp nu <= Q range / 2 (best constant)"))
        # (c) identity: at B >= B_free the VI solution is the unconstrained TD fixed point (on supp nu)
        u, gap = solve_critic(prob, 2 * prob.B_free, constrained, prefer_free=False)
        e_vi = critic_errors(prob, u)["linearised"]["supp"]
        scale = 1.0 + float(np.abs(prob.Q).max())
        mono = bool(np.all(np.diff(np.asarray(curve)[np.argsort(radii, kind="stable")]) <= 1e-9 * scale))
        diff = _rounding_floor(abs(e_vi - free["linearised"]["supp"]) / scale)
        e_vi = float(f"{e_vi:.10g}") if diff else free["linearised"]["supp"]   # rounding of the solve (docstring)
        yield Measurement(measured=diff, bound=ID_TOL,
                          assumptions=[_vi_assumption(gap, VI_GAP_TOL_ID)],
                          point={"width": width, "depth": depth, "radius": "unconstrained (B = 2 B_free)",
                                 "form": "linearised", "check": "identity: eps_critic(B >= B_free) = eps of lstsq fixed "
                                                                "point"},
                          extra=dict(base, eps_vi=e_vi, eps_curve_radii=radii, eps_curve_linearised=curve,
                                     eps_curve_network=curve_net,
                                     eps_nonincreasing_in_B=mono))


def _a59_figure(rows):
    """eps_critic (linearised, supp nu) against B per (m, D) on the first instance, the best constant's error dashed."""
    name = rows["instance"].unique()[0]
    sub = rows[(rows["instance"] == name) & (rows["point.form"] == "linearised")
               & rows["point.check"].str.startswith("informative")]
    series = []
    for (m, D), grp in sub.groupby(["point.width", "point.depth"], sort=True):
        grp = grp.sort_values("extra.B")
        series.append(Series(f"m = {m}, D = {D}", grp["measured"].to_numpy(float), x=grp["extra.B"].to_numpy(float)))
    if not series:
        return None
    B = np.sort(sub["extra.B"].to_numpy(float))
    return LinesFigure(f"Assumption 5.9 on {name}: eps_critic vs B", series,
                       bounds=[Series("Q range / 2 (best constant)", np.full(len(B), sub["bound"].iloc[0]), x=B)],
                       xlabel="B", ylabel=r"$\epsilon_{critic}$ on supp $\nu$", log_x=True, log_y=True)


# ============================================================================ (22): W-bar vs V-bar
def _eq22_instances(quick, seed):
    yield make_instance("random_mamdp", N=2, S=3, A_i=2, gamma=0.9, scale=1.0, seed=derived_seed(seed, "eq22"),
                        local_rewards=True)
    if not quick:
        yield make_instance("random_mamdp", N=3, S=2, A_i=2, gamma=0.8, scale=1.0, seed=derived_seed(seed, "eq22 N3"),
                            local_rewards=True)


def _ball_points(W0, B, count, rng):
    """``count`` points of B(B) around W0 (R, D, m, m): every layer on its sphere of radius B, random direction."""
    out = []
    for _ in range(count):
        d = rng.standard_normal(W0.shape)
        d *= B / np.sqrt((d ** 2).sum(axis=(-2, -1), keepdims=True))
        out.append(W0 + d)
    return out


def _grad_norms(net, X, W):
    """max_x ||grad_W Q-hat(x; W)|| per copy (R,)."""
    f = net.features(X, W)
    return np.sqrt((f.reshape(f.shape[0], f.shape[1], -1) ** 2).sum(axis=-1)).max(axis=1)


def _eq22_measure(instance, rng, quick, project=True):
    model = model_of(instance)
    seed = _seed(rng)
    N = model.n_agents
    n = model.n_states * model.n_actions
    A = _consensus(N, seed)
    configs = [(8, 2, 50)] if quick else [(8, 2, 50), (8, 2, 200), (16, 2, 50)]
    mults = (1.0, 100.0) if quick else (1.0, 10.0, 100.0)
    R = 3 if quick else 5
    X = np.eye(n)
    for width, depth, K in configs:
        net = DeepReLU.init(np.random.default_rng(seed), dim=n, width=width, depth=depth, copies=R)
        W0 = np.asarray(net.W0)
        Phi = net.features(X).reshape(R, n, -1)
        L_lin = np.linalg.norm(Phi, axis=2).max(axis=1)                                    # (R,)
        for mult in mults:
            B = mult * theorem_radius(width, depth)
            pt = {"width": width, "depth": depth, "K": K, "radius": f"{mult:g} x theorem B"}
            try:
                r2 = deep_neural_td(model, K=K, algorithm=2, width=width, depth=depth, radius=B if project else None,
                                    A=A, t_gossip=10, runs=R, rng=seed, checkpoints=[])
            except NonFiniteError as exc:                                   # only without projection
                yield Measurement(measured=float("inf"), bound=2 * B * _bd(depth),
                                  point=dict(pt, critic="-", check="diameter: ||W-bar - V-bar|| <= 2 B sqrt(D)"),
                                  extra={"error": str(exc), "B": B})
                continue
            r3 = deep_neural_td(model, K=K + 1, algorithm=3, width=width, depth=depth, radius=B, runs=R, rng=seed,
                                checkpoints=[])
            hyp = [Assumption("network rebuilt from the seed (W(0) of both runs identical)",
                              np.array_equal(W0, r2.W0) and np.array_equal(W0, r3.W0), None, "identical"),
                   Assumption("Alg. 2 and Alg. 3 saw the same tuples (chain ends equal)",
                              np.array_equal(r2.last_state, r3.last_state), None, "equal")]
            Wb = r2.weights.mean(axis=1)                                    # Fact C.2: mean of the agents
            Vb = r3.weights[:, 0]
            diff = (Wb - Vb).reshape(R, -1)
            dist = np.linalg.norm(diff, axis=1)                             # (R,)
            layer = np.sqrt(((Wb - Vb) ** 2).sum(axis=(-2, -1)))            # (R, D)
            gap_lin = np.abs(np.einsum("rnp,rp->rn", Phi, diff)).max(axis=1)
            gap_net = np.abs(net.forward(X, Wb) - net.forward(X, Vb)).max(axis=1)
            seg = np.max([_grad_norms(net, X, Vb + t * (Wb - Vb)) for t in np.linspace(0, 1, 11)], axis=0)
            pts = _ball_points(W0, B, 8, np.random.default_rng([seed, width, K, 1]))
            L_est = np.maximum(seg, np.max([_grad_norms(net, X, W) for W in pts], axis=0))
            base = {"B": B, "two_B_sqrt_D": 2 * B * _bd(depth), "dist": dist.tolist(),
                    "max_layer_diff": float(layer.max()), "two_B": 2 * B,
                    "max_layer_dist_W_bar": float(net.layer_distances(Wb).max()),
                    "max_layer_dist_V_bar": float(net.layer_distances(Vb).max()),
                    "L_lin": L_lin.tolist(), "L_W_segment": seg.tolist(), "L_W_estimate": L_est.tolist(),
                    "gap_linearised": gap_lin.tolist(), "gap_network": gap_net.tolist(), "runs": R,
                    "beta": K ** -0.5, "t_gossip": 10, "projected_W_bar": bool(project), "seed": seed}
            k = int(np.argmax(dist))
            yield Measurement(measured=float(dist[k]), bound=2 * B * _bd(depth), assumptions=hyp, extra=base,
                              point=dict(pt, critic="-", check="diameter: ||W-bar - V-bar|| <= 2 B sqrt(D)"))
            rows = (("linearised", "(22) l. 1: gap <= L_W ||W-bar - V-bar|| (L_W exact)", gap_lin, L_lin * dist),
                    ("linearised", "(22): gap <= 2 L_W B sqrt(D) (L_W exact)", gap_lin, 2 * L_lin * B * _bd(depth)),
                    ("network", "(22) l. 1: gap <= L_W ||W-bar - V-bar|| (L_W: segment max, estimate)", gap_net,
                     seg * dist),
                    ("network", "(22): gap <= 2 L_W B sqrt(D) (L_W: estimate)", gap_net, 2 * L_est * B * _bd(depth)))
            for critic, check, meas, bnd in rows:
                ratio = meas / np.maximum(bnd, 1e-300)
                k = int(np.argmax(ratio))
                yield Measurement(measured=float(meas[k]), bound=float(bnd[k]), assumptions=hyp,
                                  point=dict(pt, critic=critic, check=check),
                                  extra=dict(base, worst_run=k, ratios=ratio.tolist()))


# ============================================================================ Thm 5.10 in its regime
REGIME = dict(T=1000, M=100, K=1000, t_gossip=10)


def regime_terms(N, m, D, B, eps_bias_sq, eps_critic, q, T, M, K, t_gossip):
    r"""The eight terms of Thm 5.10 with unit constants: ``{"B-form": ..., "printed": ..., "logs": ...}``.

    B-form: (37) with the given B; printed: the theorem's (5)-(8) (B = m^{1/32} D^{-6} substituted); ``logs``:
    the (37) factor :math:`\log^{3/2}m\log^{1/2}K` of (7)-(8).
    """
    common = {"(1) 1/T": 1 / T, "(2) sqrt(eps_bias)": math.sqrt(max(eps_bias_sq, 0.0)), "(3) eps_critic": eps_critic,
              "(4) N^(1/2) M^(-1/2)": math.sqrt(N / M)}
    bform = dict(common, **{"(5) gossip": N ** 1.5 * B * math.sqrt(D) * q ** t_gossip,
                            "(6) diameter": math.sqrt(N) * B * math.sqrt(D),
                            "(7) K": math.sqrt(N) * B * D ** 2.5 * K ** -0.25,
                            "(8) linearisation": math.sqrt(N) * B ** (4 / 3) * m ** (-1 / 12) * D ** 4})
    printed = dict(common, **{"(5) gossip": N ** 1.5 * m ** (1 / 32) * D ** -5.5 * q ** t_gossip,
                              "(6) diameter": math.sqrt(N) * m ** (1 / 32) * D ** -5.5,
                              "(7) K": math.sqrt(N) * m ** (1 / 32) * D ** -3.5 * K ** -0.25,
                              "(8) linearisation": math.sqrt(N) * m ** (-1 / 24) * D ** -4.0})
    return {"B-form": bform, "printed": printed, "logs": math.log(m) ** 1.5 * math.log(K) ** 0.5}


def _regime_instances(quick, seed):
    yield make_instance("random_mamdp", N=2, S=5, A_i=3, gamma=0.9, scale=1.0, seed=derived_seed(seed, "assump5_9"))


def _min_objective(model):
    """min over policies of J = V(s0): minus the optimum of the negated team reward."""
    return -float(optimal_values(TabularMDP(model.mdp.P, -np.asarray(model.mdp.R)), model.gamma).V[model.s0])


def _regime_measure(instance, rng, quick, b_exponent=1 / 32):
    model = model_of(instance)
    g = advantage_policy_gradient(model)
    seed = _seed(rng)
    N = model.n_agents
    A = _consensus(N, seed)
    off = A[~np.eye(N, dtype=bool)]
    eta = float(min(A.diagonal().min(), off[off > 0].min()))
    q = 1 - eta ** (N - 1)
    J_star, _ = optimal_objective(model)
    J_min = _min_objective(model)
    trivial = J_star - J_min
    R = np.asarray(model.mdp.R)
    eb = epsilon_bias(model, rcond=RCOND)
    rg = REGIME
    for width, depth in ((8, 2),) if quick else ((8, 1), (8, 2), (16, 2)):
        prob = critic_problem(model, g, width, depth, int(np.random.default_rng([seed, width, depth])
                                                          .integers(SEED_MAX)))
        qr = _q_range(prob)
        eps_init = critic_errors(prob, np.zeros_like(prob.u_free))["linearised"]["all"]
        for c in (0.1, 1.0, 10.0, 100.0):
            B = c * width ** b_exponent * depth ** -6.0
            u, gap = solve_critic(prob, B)
            err = critic_errors(prob, u)
            t = regime_terms(N, width, depth, B, eb.squared, err["linearised"]["all"], q, **rg)
            hyp = [_vi_assumption(gap)]
            extra = {"B": B, "c": c, "terms_B_form": t["B-form"], "terms_printed": t["printed"], "log_factor": t["logs"],
                     "eps_critic_network": err["network"]["all"], "eps_init": eps_init, "Q_range": qr,
                     "J_star": J_star, "J_min": J_min, "J_theta": g.J, "gap_now": J_star - g.J,
                     "r_max_over_1_minus_gamma": float(R.max()) / (1 - model.gamma), "eta": eta, "rate_q": q,
                     "eps_bias_squared": eb.squared, "eps_bias_printed": eb.printed, "vi_gap": gap, "N": N, **rg}
            pt = {"width": width, "depth": depth, "c": c}
            for form in ("B-form", "printed"):
                terms = t[form]
                yield Measurement(measured=float(sum(terms.values())), bound=trivial, assumptions=hyp, extra=extra,
                                  point=dict(pt, form=form, check="informative: sum of terms (1)-(8) <= J* - min J"))
                yield Measurement(measured=float(sum(v for k, v in terms.items() if not k.startswith("(3)"))),
                                  bound=trivial, assumptions=hyp, extra=extra,
                                  point=dict(pt, form=form, check="informative: sum of terms (1)-(2), (4)-(8) <= "
                                                                  "J* - min J"))
            yield Measurement(measured=err["linearised"]["all"], bound=qr, assumptions=hyp, extra=extra,
                              point=dict(pt, form="B-form", check="term (3): eps_critic <= Q range"))
            if c == 1.0:
                keys = [k for k in t["printed"] if k[:3] in ("(5)", "(6)", "(7)", "(8)")]
                rel = max(abs(t["B-form"][k] - t["printed"][k]) / t["printed"][k] for k in keys)
                yield Measurement(measured=rel, bound=ID_TOL, extra=extra,
                                  point=dict(pt, form="both", check="identity: (37) B-form = printed (5)-(8) at "
                                                                    "B = m^(1/32) D^-6"))


# ============================================================================ the claims
@claim_factory(
    constrained=Fault(True, "solve the VI (14) over B(B) (False: W* = the unconstrained TD fixed point whatever B, "
                            "as without projection; the reach row is violated at the theorem's B)"),
    project=Fault(True, "Alg. 2 projects onto B(B) (False: W-bar unprojected while V-bar is; the weights move "
                        "farther than B and the diameter row is violated)"),
    b_exponent=Fault(1 / 32, "the m-exponent u of B = c m^u D^-6 (1/2, the proof's O(m^(1/2) D^-6) condition: the "
                             "(37) B-form no longer equals the theorem's printed terms; the identity row is violated)"),
)
def make_claims(*, faults):
    """Build the critic-term claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    c = dict(paper=PAPER, paper_file=PAPER_FILE)
    return [
        Claim(id="zhang2025.assump5_9", source="Assumption 5.9; Fact C.3, (12)-(14)", **c, instances=_a59_instances,
              figure=_a59_figure,
              measure=lambda i, r, q: _a59_measure(i, r, q, f["constrained"]),
              statement="For every policy the critic at the VI solution W* of (14) approximates Q_theta: "
                        "max_x |Q-hat(x; W*) - Q_theta(x)| <= eps_critic (meter: eps_critic(B, m, D) measured, "
                        "linearised and network forms).",
              latex=r"\epsilon_{\rm critic}(B,m,D)=\max_x|\hat Q(x;W^*_\theta)-Q_\theta(x)|,\quad W^*\ \mathrm{solves}"
                    r"\ (14)\ \mathrm{over}\ \mathcal{B}(B)",
              notes="no search space: meter (its rows are findings, and every evaluation costs 17 VI solves; a search "
                    "would rank instances by how far eps_critic exceeds the Q range). "
                    "Meter. One-hot xi, team reward, kernel 'original', nu the restart law (module docstring). "
                    "Rows per (m, D, B): reach (exact: the linearised critic moves at most max||phi|| B sqrt(D) from "
                    "W(0)), informative (eps_critic on supp nu <= half the Q range = the best constant's error; "
                    "linearised and network forms), and per (m, D) the identity eps_critic(2 B_free) = eps of the "
                    "lstsq fixed point. B: the theorem's m^(1/32) D^-6 (unit constant), x10, x100, 2 B_free. "
                    "FINDING: at the theorem's B, eps_critic ~ eps_init (the init error of the literal (5), tens of "
                    "times the Q range): the informative rows are violated; eps_critic(B) is not monotone in B "
                    "(extra.eps_nonincreasing_in_B)."),
        Claim(id="zhang2025.eq22_pseudo_central", source="proof of Thm 5.10, (21)-(22); Alg. 2-3; Remark 6", **c,
              instances=_eq22_instances, measure=lambda i, r, q: _eq22_measure(i, r, q, f["project"]),
              statement="W-bar (mean of Alg. 2's critics) and V-bar (Alg. 3) both lie in B(B), so ||W-bar - V-bar|| "
                        "<= 2 B sqrt(D) and |Q-hat(x; W-bar) - Q-hat(x; V-bar)| <= L_W ||W-bar - V-bar|| <= "
                        "2 L_W B sqrt(D).",
              latex=r"|\hat Q(x;\bar W)-\hat Q(x;\bar V)|\le L_W\|\bar W-\bar V\|\le2L_WB\sqrt{D}",
              notes="no search space: sampled (a search would select false alarms). The neural rows use an "
                    "estimated L_W. Ratio check. B(B) is a product of per-layer Frobenius balls (deep_neural_td projects each "
                    "layer), diameter 2 B sqrt(D). Alg. 2 (local rewards, t_gossip = 10, path-graph A) and Alg. 3 "
                    "(team reward) on the same tuples and W(0); beta = K^-1/2; B = mult x m^(1/32) D^-6. L_W exact "
                    "for the linearised critic (max_x ||phi(x)||); for the network an ESTIMATE (max of ||grad_W "
                    "Q-hat|| over pairs, 11 segment points, 8 random points of B(B)). Worst run per row."),
        Claim(id="zhang2025.thm5_10_regime", source="Thm 5.10; proof (35)-(37); remark (40)-(41)", **c,
              instances=_regime_instances, assumptions=reward_meters,
              measure=lambda i, r, q: _regime_measure(i, r, q, f["b_exponent"]),
              statement="At B = Theta(m^(1/32) D^-6) the eight terms of Thm 5.10 (unit constants, the measured "
                        "eps_critic and eps_bias) bound J* - J(theta_T) (meter: is the bound informative?).",
              latex=r"\frac{1}{T}+\sqrt{\epsilon_{\rm bias}}+\epsilon_{\rm critic}+\sqrt{N/M}+N^{3/2}BD^{1/2}"
                    r"(1-\eta^{N-1})^{t}+N^{1/2}BD^{1/2}+N^{1/2}BD^{5/2}K^{-1/4}+N^{1/2}B^{4/3}m^{-1/12}D^4"
                    r"\le J^*-\min_\pi J",
              notes="no search space: meter on one fixed regime (its rows are findings). "
                    "Meter. T = 1000, M = 100, K = 1000, t_gossip = 10, eta = 0.1 (path-graph A), B = c m^(1/32) "
                    "D^-6, c in {0.1, 1, 10, 100}; logs dropped (in extra). Rows: sum of the terms vs the trivial "
                    "range J* - min J (with and without term (3); (37) B-form and the printed form), term (3) vs "
                    "the Q range, and at c = 1 the identity of the two forms of (5)-(8). FINDINGS: with eps_critic "
                    "the bound is vacuous at every c; without it informative only for c <= 1, where the critic "
                    "cannot leave W(0)."),
    ]


for _claim in make_claims():
    register(_claim)
