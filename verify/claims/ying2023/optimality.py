r"""ying2023: Remark 2 (global optimality of localized policy gradient) and Remark 4 (truncated policies).

``ying2023.remark2`` Remark 2: for concave :math:`f` (and [15, Assumption 5.11]) problem (5) has no
                     spurious local solutions, so the stationary points policy gradient reaches are
                     global optima. Checked exactly: :math:`f^* = \max_{\lambda\in\Lambda}F(\lambda)` over
                     the *whole* occupancy polytope by Frank-Wolfe with a certified gap
                     (:func:`~netmarl_verify.solvers.exact.utility_optimum`), against exact projected-free
                     gradient ascent (exact :math:`\nabla F` by Lemma 1, Armijo backtracking on the exact
                     :math:`F`) from several random starts in the localized class. Measured: the largest gap
                     :math:`f^* - F(\theta_T)` among the starts that end stationary
                     (:math:`\|\nabla F(\theta_T)\| \le` ``REMARK2_STATIONARY``); bound: the tolerance
                     ``REMARK2_TOL`` (relative to :math:`1/(1-\gamma)`) plus Frank-Wolfe's certified gap.
                     The premise [15, Assumption 5.11(iii)] (interpolation toward :math:`\lambda(\theta^*)`
                     within the image of the class) is metered: the policy of
                     :math:`(1-\alpha)\lambda(\theta_T) + \alpha\lambda^*` must be a product of the class's
                     local factors (:func:`_interpolation_defect`); where it is not, the row is "not
                     applicable" with the measured gap kept. Finding: on the coordination pair the
                     product (local-state) class has a spurious stationary point (F = 6.863 with
                     :math:`\|\nabla F\| = 9\cdot10^{-11}` against :math:`f^* = 9.5`: an equilibrium of the
                     coordination game), and (iii) fails there —
                     consistent with Remark 2, which needs it. More generally (iii) fails for the
                     localized class as soon as two agents' factors differ between
                     :math:`\lambda(\theta_T)` and :math:`\lambda^*` (the mixture of two product policies'
                     occupancies has a non-product policy, defect :math:`\alpha(1-\alpha)\Delta p\,\Delta q`), so
                     Remark 2's premise holds for one agent (the class is every policy) and rarely beyond;
                     the gaps measured where it fails are kept in the rows (random instances: every
                     start reaches :math:`f^*`; coordination pair: gap 2.64).
``ying2023.remark4`` Remark 4 / (47)-(48): the error of truncating a global-state policy to
                     :math:`N_i^\kappa` decays like :math:`\phi_1^\kappa`; the order :math:`O(\phi_0^{2\kappa} +
                     \phi_1^{2\kappa})` refers to [28], so this is a **rate check**: per κ, the exact occupancy
                     error :math:`\max_i\|\lambda_i^{\hat\pi} - \lambda_i^\pi\|_1` against the measured
                     :math:`c_1\phi_1^\kappa` (max over agents of the sup TV of (47)), ratio reported; and the
                     score line of (47) in both readings (S1: every action's score difference; S2: its ½ℓ1
                     sum), metered on the shared-parameter sigmoid.
"""

import math

import networkx as nx
import numpy as np

from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    discounted_occupancy,
    local_occupancies,
    shadow_problem,
    utility_optimum,
)
from netmarl_verify.verify import Assumption, Claim, Fault, Measurement, claim_factory, instance_seed, register

from ._common import PAPER, PAPER_FILE, make_instance

__all__ = ["make_claims", "REMARK2_TOL", "REMARK2_STATIONARY", "REMARK2_STARTS"]

#: Gap tolerance of Remark 2, relative to 1/(1-gamma) (the scale of F for rewards in [0, 1]).
REMARK2_TOL = 1e-4
#: ||grad F(theta_T)|| below which a start counts as stationary.
REMARK2_STATIONARY = 1e-5
#: Standard deviation of the random starting logits (moderate: saturated softmax starts sit on plateaus whose
#: vanishing gradient is not stationarity).
REMARK2_START_SCALE = 1.0
#: Random starts (quick, full).
REMARK2_STARTS = (3, 8)


def _ascent(mdp, policy, gamma, utilities, xi, iters, grad_scale=1.0):
    """A stationary point of the exact F over the policy's logits from ``policy``: L-BFGS on -F with the exact
    gradient (Lemma 1); returns (policy, F, ||grad F||).

    scipy's L-BFGS-B (a well-kept quasi-Newton method) reaches stationarity to 1e-8 in a few hundred
    evaluations where plain gradient ascent with backtracking stalls on the softmax's flat directions; any
    local method's limit points are what Remark 2 is about. ``grad_scale = -1`` minimises F instead (the
    broken input: a wrong sign).
    """
    from scipy.optimize import minimize

    sign = 1.0 if grad_scale >= 0 else -1.0

    def fun(theta):
        prob = shadow_problem(mdp, policy.with_flat(theta), gamma, utilities, xi)
        g = np.concatenate([x.ravel() for x in prob.gradient()])
        return -sign * prob.value, -sign * g

    res = minimize(fun, policy.flat(), jac=True, method="L-BFGS-B",
                   options={"maxiter": iters, "gtol": 1e-10, "ftol": 1e-15})
    end = policy.with_flat(res.x)
    prob = shadow_problem(mdp, end, gamma, utilities, xi)
    g = np.concatenate([x.ravel() for x in prob.gradient()])
    return end, prob.value, float(np.linalg.norm(g))


def _remark2_instances(quick, seed):
    name = "single agent S=3 A=2"
    rng = np.random.default_rng(instance_seed(seed, name))
    mdp = envs.random_networked_mdp(nx.path_graph(1), 3, 2, rng=rng)
    single = envs.UtilityInstance(mdp, envs.LocalSoftmaxPolicy.random(mdp, rng), envs.initial_distribution(mdp), 0.8,
                                  0, [np.asarray(r) for r in mdp.rewards], name, {"n": 1, "gamma": 0.8})
    yield make_instance(single, "apprenticeship", family="single-agent", seed=seed, name=name + " f=apprenticeship")
    yield make_instance(envs.coordination_pair(0.9, np.random.default_rng(instance_seed(seed, "coordination"))),
                        "linear", family="coordination", seed=seed, name="coordination_pair gamma=0.9 f=linear")
    name = "random_khop n=2 kappa=1"
    inst = envs.random_khop(2, 1, 1.0, 0.3, np.random.default_rng(instance_seed(seed, name)))
    yield make_instance(inst, "entropy", family="random-khop", seed=seed, name=name + " f=entropy")
    if not quick:
        name = "mixture_line n=3 local"
        inst = envs.mixture_line(3, 1.0, np.random.default_rng(instance_seed(seed, name)), local_policy=True)
        yield make_instance(inst, "apprenticeship", family="mixture", seed=seed, name=name + " f=apprenticeship")


def _remark2_payload(instance, quick, grad_scale):
    p = instance.payload
    key = ("_remark2", quick, grad_scale)
    if key not in p:
        inst, utils = p["inst"], p["utilities"]
        opt = utility_optimum(inst.mdp, inst.gamma, utils, inst.initial, gap_tol=1e-10, max_iter=5000)
        rng = np.random.default_rng(instance_seed(0, instance.name + " starts"))
        ends = []
        for _ in range(REMARK2_STARTS[0 if quick else 1]):
            start = inst.policy.with_flat(REMARK2_START_SCALE * rng.standard_normal(inst.policy.size))
            ends.append(_ascent(inst.mdp, start, inst.gamma, utils, inst.initial, 300 if quick else 1000, grad_scale))
        p[key] = (opt, ends)
    return p[key]


def _interpolation_defect(mdp, policy, lam_a, lam_b, n_alpha=11):
    r"""How far :math:`(1-\alpha)\lambda_a + \alpha\lambda_b` leaves the image of the policy class, worst α.

    The occupancy :math:`\lambda` is that of the policy :math:`\pi(a|s) = \lambda(s,a)/\lambda(s)`; it lies in the
    image of the class of product policies :math:`\prod_i\pi_i(a_i|s_{O_i})` iff, on the states it visits,
    (i) :math:`\pi(\cdot|s)` is the product of its marginals and (ii) agent i's marginal depends on
    :math:`s_{O_i}` only. Returns the largest violation of (i) and (ii) (absolute, in probability).
    """
    n = mdp.n
    S, A = tuple(mdp.state_sizes), tuple(mdp.action_sizes)
    tables = envs.check_policy(mdp, policy)
    worst = 0.0
    for alpha in np.linspace(0.0, 1.0, n_alpha):
        lam = (1.0 - alpha) * lam_a + alpha * lam_b
        ls = lam.sum(axis=1)
        seen = ls > 1e-12
        pi = np.where(seen[:, None], lam / np.where(seen, ls, 1.0)[:, None], 0.0).reshape((-1,) + A)
        margs = [pi.sum(axis=tuple(1 + k for k in range(n) if k != i)) for i in range(n)]  # (|S|, A_i)
        prod = margs[0]
        for m in margs[1:]:
            prod = (prod[:, :, None] * m[:, None, :]).reshape(prod.shape[0], -1)
        worst = max(worst, float(np.abs(pi.reshape(pi.shape[0], -1) - prod)[seen].max()))
        for i, m in enumerate(margs):
            O = tables.observed[i]
            full = m.reshape(S + (A[i],))
            mask = seen.reshape(S)
            others = tuple(k for k in range(n) if k not in O)
            if not others:
                continue
            hi = np.where(mask[..., None], full, -np.inf).max(axis=others)
            lo = np.where(mask[..., None], full, np.inf).min(axis=others)
            spread = np.where(np.isfinite(hi) & np.isfinite(lo), hi - lo, 0.0)
            worst = max(worst, float(spread.max()))
    return worst


#: Largest interpolation defect (in probability) read as "inside the class" (rounding of lambda(s, a)/lambda(s)).
#: Membership is exact or not: the mixture of two product policies' occupancies has the policy of a product
#: only when at most one agent's factor differs (defect alpha (1 - alpha) dp dq otherwise, second order).
REMARK2_DEFECT_TOL = 1e-9


def _remark2_assumptions(instance, quick=True):
    opt, ends = _remark2_payload(instance, quick, 1.0)
    inst = instance.payload["inst"]
    concave = all(getattr(f, "concave", False) for f in instance.payload["utilities"])
    defects = [_interpolation_defect(inst.mdp, pol, discounted_occupancy(inst.mdp, pol, inst.gamma, inst.initial),
                                     opt.lam) for pol, _, _ in ends]
    k = int(np.argmax(defects))
    return [Assumption("f concave", concave, None, "every f_i concave", ""),
            Assumption("Frank-Wolfe certificate", bool(opt.certified), opt.gap, "certified gap",
                       f"f* in [{opt.value:.10g}, {opt.value + opt.gap:.10g}] after {opt.iterations} iterations"),
            Assumption("[15, Assumption 5.11(iii)]: interpolation toward lambda* stays in the class's image",
                       max(defects) <= REMARK2_DEFECT_TOL, max(defects), f"<= {REMARK2_DEFECT_TOL}",
                       f"worst over {len(ends)} ascent end points (start {k}) and alpha in [0, 1]: the policy of "
                       "(1-alpha) lambda(theta_T) + alpha lambda* is not a product of the class's local factors")]


def _remark2_measure(instance, rng, quick, grad_scale=1.0):
    opt, ends = _remark2_payload(instance, quick, grad_scale)
    inst = instance.payload["inst"]
    tol = REMARK2_TOL / (1.0 - inst.gamma) + opt.gap
    stationary = [(F, gn) for _, F, gn in ends if gn <= REMARK2_STATIONARY]
    gaps = [opt.value - F for F, _ in stationary]
    yield Measurement(measured=float(max(gaps)) if gaps else float("nan"), bound=tol,
                      point={"check": "largest gap f* - F(theta_T) among stationary starts"},
                      extra={"f_star": opt.value, "fw_gap": opt.gap, "starts": len(ends),
                             "stationary_starts": len(stationary),
                             "final_F": [F for _, F, _ in ends], "final_grad_norm": [g for _, _, g in ends]})


# ============================================================================ Remark 4
def _remark4_instances(quick, seed):
    for n in ((3,) if quick else (3, 4)):
        for scale in (0.5, 2.0):
            name = f"decaying global-state softmax n={n} scale={scale}"
            rng = np.random.default_rng(instance_seed(seed, name))
            base = envs.random_khop(n, 0, 1.0, 0.3, rng)
            mdp = base.mdp
            # logits of agent i: scale * sum_j e^{-d(i,j)} w_ij s_j (a global-state policy whose dependence decays)
            D = mdp.distances
            logits = []
            W = rng.standard_normal((n, n, 2))
            for i in range(n):
                grid = np.array(list(np.ndindex(*mdp.state_sizes)))
                z = np.zeros((grid.shape[0], 2))
                for j in range(n):
                    z += scale * math.exp(-2.0 * D[i, j]) * grid[:, j:j + 1] * W[i, j][None, :]
                logits.append(z.reshape(tuple(mdp.state_sizes) + (2,)))
            pol = envs.KHopSoftmaxPolicy(logits, [tuple(range(n))] * n)
            inst = envs.UtilityInstance(mdp, pol, base.initial, base.gamma, n, base.local_rewards, name,
                                        {"n": n, "scale": scale, "gamma": base.gamma},
                                        reference=(np.zeros(n, dtype=np.int64),) * 2)
            yield make_instance(inst, "linear", family="global-state", seed=seed, name=name)
    inst = envs.lemma3_absorbing(0.9, 0.1, 1e-6, sigmoid=(0.2, 3.0))
    yield make_instance(inst, "linear", family="absorbing-sigmoid", seed=seed)


def _score_lines(mdp, policy, kappa):
    """(S1, S2) of (47)'s score line for a tabular softmax: per agent the sup over s_N, s_-N, s'_-N of
    max_a ||psi(a|.) - psi(a|.')|| (S1) and 1/2 sum_a ||...|| (S2); psi(a|x) = e_a - pi(.|x) in row x."""
    tables = envs.check_policy(mdp, policy)
    s1 = s2 = 0.0
    for i in range(mdp.n):
        N = set(mdp.kappa_hop(i, kappa))
        O = tables.observed[i]
        T = tables[i].reshape(tuple(mdp.state_sizes[k] for k in O) + (-1,))
        ins = [q for q, k in enumerate(O) if k in N]
        outs = [q for q, k in enumerate(O) if k not in N]
        if not outs:
            continue
        T = np.transpose(T, ins + outs + [len(O)])
        T = T.reshape(math.prod(T.shape[q] for q in range(len(ins))), -1, T.shape[-1])
        # psi(a|x) - psi(a|x') in the parameters of rows x and x' (different rows): the two score vectors
        # live in different rows, so ||psi(a|x) - psi(a|x')||^2 = ||e_a - pi_x||^2 + ||e_a - pi_x'||^2
        A = T.shape[-1]
        eye = np.eye(A)
        norms = np.sqrt(((eye[None, None, :, :] - T[:, :, None, :]) ** 2).sum(axis=-1))  # (m_in, m_out, A)
        pair = np.sqrt(norms[:, :, None, :] ** 2 + norms[:, None, :, :] ** 2)
        m_out = T.shape[1]
        mask = ~np.eye(m_out, dtype=bool)[None, :, :, None]
        s1 = max(s1, float(np.where(mask, pair, 0.0).max()))
        s2 = max(s2, float((0.5 * np.where(mask, pair, 0.0).sum(axis=-1)).max()))
    return s1, s2


def _remark4_measure(instance, rng, quick, c1_scale=1.0):
    inst = instance.payload["inst"]
    mdp, pol = inst.mdp, inst.policy
    s_bar = inst.reference[0]
    lam = local_occupancies(discounted_occupancy(mdp, pol, inst.gamma, inst.initial), mdp.state_sizes,
                            mdp.action_sizes)
    for kappa in range(int(mdp.distances.max())):
        trunc = envs.truncated_policy(mdp, pol, kappa, s_bar)
        lt = local_occupancies(discounted_occupancy(mdp, trunc, inst.gamma, inst.initial), mdp.state_sizes,
                               mdp.action_sizes)
        err = max(float(np.abs(a - b).sum()) for a, b in zip(lt, lam))
        c1phi = float(envs.policy_outside_tv(mdp, pol, kappa).max()) * c1_scale
        s1, s2 = _score_lines(mdp, pol, kappa)
        bound = mdp.n * c1phi / (1.0 - inst.gamma) ** 2
        yield Measurement(measured=err, bound=2.0 * bound, point={"kappa": kappa},
                          extra={"c1_phi1_kappa": c1phi, "bound_printed": bound, "score_S1": s1, "score_S2": s2})


# ============================================================================ claims
@claim_factory(
    grad_scale=Fault(1.0, "the sign of Remark 2's ascent (-1: F is minimised, a wrong sign)"),
    c1_scale=Fault(1.0, "multiplies the measured c1 phi1^kappa of Remark 4: a wrong constant"),
)
def make_claims(*, faults):
    """Build the two claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE)
    return [
        Claim(id="ying2023.remark2", source="Remark 2 (with [15, Assumption 5.11])", **common,
              statement="For concave f, problem (5) has no spurious local solutions: the stationary points policy "
                        "gradient over the localized class reaches are global optima, F(theta_T) = max over all of "
                        "Lambda. Exact: f* by Frank-Wolfe with a certified gap; exact gradient ascent from random starts.",
              latex=r"\nabla F(\theta^\infty) = 0 \Rightarrow F(\theta^\infty) = \max_{\lambda\in\Lambda}"
                    r"\tfrac1n\textstyle\sum_if_i(\lambda_i)",
              assumptions=_remark2_assumptions,
              measure=lambda inst, rng, quick: _remark2_measure(inst, rng, quick, f["grad_scale"]),
              instances=_remark2_instances,
              notes=f"bound = {REMARK2_TOL}/(1-gamma) + Frank-Wolfe's certified gap; a start counts when its final "
                    f"||grad F|| <= {REMARK2_STATIONARY} (extra.stationary_starts). The premise [15, Assumption "
                    "5.11(iii)] is metered (interpolation toward lambda* stays in the class's image); on the "
                    "coordination pair it fails and the local class has spurious stationary points (module docstring)."),
        Claim(id="ying2023.remark4", source="Remark 4, (47)-(48) (order from [28]: rate check)", **common,
              statement="Truncating a global-state policy to N_i^kappa (48) changes the local occupancies by "
                        "O(c1 phi1^kappa); checked per kappa against 2 n c1 phi1^kappa/(1-gamma)^2 (Lemma 3 with TV "
                        "read as l1, which the perturbation argument gives), with c1 phi1^kappa measured exactly.",
              latex=r"\max_i\|\lambda_i^{\hat\pi}-\lambda_i^{\pi}\|_1 = O(c_1\phi_1^\kappa)",
              measure=lambda inst, rng, quick: _remark4_measure(inst, rng, quick, f["c1_scale"]),
              instances=_remark4_instances,
              notes="Rate check (the paper gives only an order, from [28]). extra.score_S1 / score_S2 meter the score "
                    "line of (47) in its two readings; extra.bound_printed is Lemma 3's printed constant (TV = half "
                    "l1), which ying2023.lemma3 shows can fail by up to a factor 2."),
    ]


for _claim in make_claims():
    register(_claim)
