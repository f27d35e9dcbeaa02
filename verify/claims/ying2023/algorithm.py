r"""ying2023: Algorithm 1's estimators, Proposition 2 (I) and (III), Theorem 1's per-step inequality (41).

``ying2023.alg1_estimators`` (20)-(21): the Monte-Carlo means of :math:`\tilde\lambda_i` (eq. (20)) and of
                     :math:`\tilde g_i` with the exact :math:`\hat Q_j` of the true shadow reward (eq. (30)'s
                     :math:`\hat g^t`) equal the exact H-truncated expectations :math:`\lambda_i^{(H)}` and
                     :math:`\hat g_i^{(H)}` (:func:`~netmarl_verify.solvers.exact.horizon_expectations`).
                     Measured: the largest standardised deviation :math:`|\bar x - x|/(z\,\widehat{se})` over the
                     entries, with the Bonferroni quantile :math:`z = \Phi^{-1}(1-\alpha/(2d))`,
                     :math:`\alpha = 10^{-4}`; bound 1 (a level-α test: a wrong estimator fails it, a right one
                     fails it with probability below α). The plug-in bias of :math:`\tilde r` against B is
                     recorded (``extra.reward_bias``).
``ying2023.prop2a``  Prop. 2(I) (25), (28): for each i, w.p. :math:`1-\delta_0`,
                     :math:`\|\tilde\lambda_i - \lambda_i\|_2 \le \epsilon_1(\delta_0) =
                     \sqrt{(4+2\gamma^{2H}B-16\log\delta_0)/((1-\gamma)^2B)}` and
                     :math:`\|\tilde r_i - r_i\|_\infty \le L_\lambda\epsilon_1(\delta_0)`. Coverage over R
                     independent batches: measured = the one-sided 99.9% Clopper-Pearson **lower** limit of the
                     miss rate, bound = :math:`\delta_0` (violated only when the data show a miss rate above
                     :math:`\delta_0` at that confidence); ``extra.quantile_ratio`` = the empirical
                     :math:`(1-\delta_0)`-quantile / :math:`\epsilon_1` (tightness).
``ying2023.prop2c``  Prop. 2(III): its H-truncation term (36), exactly,
                     :math:`\|\hat g_i^{(H)} - \hat g_i\| \le \sqrt{C_{3,i}}`,
                     :math:`C_{3,i} = \gamma^{2H}|N_i^\kappa|^2M_\psi^2M_f^2/(n^2(1-\gamma)^4)`; and (27) by
                     coverage, :math:`\|\tilde g_i - \hat g_i\| \le \epsilon_{2,i}(\delta_0) =
                     \sqrt{3(C_{1,i}+C_{2,i}+C_{3,i})}` w.p. :math:`1-2n\delta_0` for all i (per agent:
                     :math:`1-2\delta_0`), with the exact oracle of :math:`\tilde r` (:math:`\epsilon_0 = 0`).
``ying2023.thm1``    Theorem 1's per-step inequality (41), deterministic given the realised :math:`\tilde g`:
                     :math:`F(\theta^{t+1}) - F(\theta^t) \ge \frac\eta4\|\nabla F(\theta^t)\|^2 -
                     \frac{3\eta}4\sum_i\|\nabla_iF(\theta^t) - \tilde g_i^t\|^2` along runs of Alg. 1 (TD oracle),
                     exact F and ∇F. Checked as :math:`\text{RHS} - \text{LHS} \le 0`, i.e. measured = RHS − LHS,
                     bound 0 (``atol`` for rounding). The proof needs :math:`\eta \le 1/(4L_\theta)`; a lower bound
                     :math:`\hat L_\theta` on the smoothness (largest |curvature| of F along the realised steps,
                     from exact F by a second difference) is recorded and the row is "not applicable" when
                     :math:`\eta > 1/(4\hat L_\theta)` (the premise provably fails there). And the final
                     inequality (38), :math:`\frac{\sum_t\eta\|\nabla F(\theta^t)\|^2}{\sum_t\eta} \le
                     \frac{4(F(\theta^T) - F(\theta^0))}{\sum_t\eta} + 3\Delta(\delta_0)`, with the explicit
                     :math:`\Delta(\delta_0) = 2\sum_i[(c_0\phi_0^\kappa M_\psi/(1-\gamma))^2 + \epsilon_{2,i}^2]`.

``ying2023.thm1`` also checks the coverage of (43), :math:`\sum_i\|\nabla_iF(\theta^t) - \tilde g_i^t\|^2
\le \Delta(\delta_0)`, at three visited :math:`\theta^t` over fresh batches, against both readings of its
probability (:math:`1-\delta_0` as printed, :math:`1-2n\delta_0` as Prop. 2(III) gives). Prop. 2(II),
the TD oracle and Theorem 2 are in the claims of the same names below.
"""

import math

import numpy as np
from scipy import stats

from netmarl_verify import envs
from netmarl_verify.solvers.exact import horizon_expectations, shadow_problem, truncated_shadow_gradient
from netmarl_verify.solvers.sampled import shadow_pg_estimates
from netmarl_verify.verify import (
    Assumption,
    Claim,
    Fault,
    HLine,
    LinesFigure,
    Measurement,
    Series,
    VLine,
    claim_factory,
    instance_seed,
    register,
    row_extra,
)

from ._common import MIXTURE, PAPER, PAPER_FILE, RANDOM_KHOP, make_instance, measured_mf, problem_of

__all__ = ["make_claims", "ESTIMATOR_ALPHA", "PROP2_DELTA0", "PROP2_CONFIDENCE", "THM1_ATOL"]

#: Family-wise level of the estimator tests (Bonferroni over the entries).
ESTIMATOR_ALPHA = 1e-4
#: delta_0 of Prop. 2 (must lie in (0, 1/(2n))).
PROP2_DELTA0 = 0.05
#: One-sided confidence of the Clopper-Pearson limit on a miss rate.
PROP2_CONFIDENCE = 0.999
#: Rounding allowance of (41): F and grad F come from LU solves (errors ~1e-14 |F|, |F| <= 1/(1-gamma)).
THM1_ATOL = 1e-10
M_PSI = math.sqrt(2.0)


def _instances(quick, seed):
    name = "random_khop n=3 kappa=1"
    inst = envs.random_khop(3, 1, 1.0, 0.3, np.random.default_rng(instance_seed(seed, name)))
    yield make_instance(inst, "linear", family=RANDOM_KHOP, seed=seed, name=name + " f=linear")
    yield make_instance(inst, "apprenticeship", family=RANDOM_KHOP, seed=seed, name=name + " f=apprenticeship")
    if not quick:
        name = "mixture_line n=3"
        inst = envs.mixture_line(3, 1.0, np.random.default_rng(instance_seed(seed, name)))
        yield make_instance(inst, "entropy", family=MIXTURE, seed=seed, name=name + " f=entropy")


def _seed(instance, rng, tag):
    """A run seed from the measurement stream (recorded), so reruns are bit-identical."""
    return int(rng.integers(0, 2**63 - 1))


def _z(d, alpha=ESTIMATOR_ALPHA):
    return float(stats.norm.ppf(1.0 - alpha / (2.0 * d)))


def _standardised(samples, exact):
    """max over entries of |mean - exact| / (z se); samples (R, ...) and exact (...)."""
    R = samples.shape[0]
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / math.sqrt(R)
    dev = np.abs(mean - exact)
    z = _z(dev.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, dev / (z * se), np.where(dev > 1e-12, np.inf, 0.0))
    return float(t.max())


# ============================================================================ estimators
def _estimators_measure(instance, rng, quick, horizon_shift=0):
    inst, utils = instance.payload["inst"], instance.payload["utilities"]
    prob = problem_of(instance)
    kappa = 1
    H, B = 6, 4
    R = 1500 if quick else 4000
    exact = horizon_expectations(prob, kappa, H + horizon_shift)
    zero = (np.zeros(inst.mdp.n, dtype=np.int64),) * 2
    q_hat = [prob.truncated_q(j, kappa, zero) for j in range(inst.mdp.n)]
    seed = _seed(instance, rng, "estimators")
    est = shadow_pg_estimates(inst.mdp, inst.policy, inst.gamma, utils, kappa, batch=B, horizon=H,
                              initial=inst.initial, q_tables=q_hat, runs=R, rng=seed)
    lam_dev = max(_standardised(est.lambda_tilde[i], exact.local[i]) for i in range(inst.mdp.n))
    yield Measurement(measured=lam_dev, bound=1.0, point={"check": "E[lambda~_i] = lambda_i^(H)", "H": H, "B": B},
                      extra={"runs": R, "seed": seed, "z": _z(sum(x.size for x in exact.local))})
    g_dev = max(_standardised(est.gradient[i].reshape((R,) + np.shape(exact.gradient[i])), exact.gradient[i])
                for i in range(inst.mdp.n))
    yield Measurement(measured=g_dev, bound=1.0, point={"check": "E[g~_i] = g-hat_i^(H) (exact Q-hat oracle)",
                                                        "H": H, "B": B}, extra={"runs": R, "seed": seed})
    # plug-in bias of the shadow reward against B (recorded; no bound: f nonlinear => biased)
    bias = []
    for b in (1, 4, 16):
        e = shadow_pg_estimates(inst.mdp, inst.policy, inst.gamma, utils, kappa, batch=b, horizon=H,
                                initial=inst.initial, oracle=None, runs=400, rng=seed + b)
        ok = e.finite.all(axis=1)
        true = [u.gradient(x) for u, x in zip(utils, exact.local)]
        bias.append(max(float(np.abs(e.reward_tilde[i][ok].mean(axis=0) - true[i]).max())
                        for i in range(inst.mdp.n)) if ok.any() else float("nan"))
    yield Measurement(measured=0.0, bound=1.0, point={"check": "plug-in bias of r~ (recorded)", "H": H},
                      extra={"reward_bias_B1_B4_B16": bias})


# ============================================================================ Prop. 2(I)
def _eps1(gamma, H, B, delta0):
    return math.sqrt((4.0 + 2.0 * gamma ** (2 * H) * B - 16.0 * math.log(delta0)) / ((1.0 - gamma) ** 2 * B))


def _cp_lower(k, R, conf=PROP2_CONFIDENCE):
    return 0.0 if k == 0 else float(stats.beta.ppf(1.0 - conf, k, R - k + 1))


def _prop2a_instances(quick, seed):
    name = "random_khop n=3 kappa=1"
    inst = envs.random_khop(3, 1, 1.0, 0.3, np.random.default_rng(instance_seed(seed, name)))
    yield make_instance(inst, "apprenticeship", family=RANDOM_KHOP, seed=seed, name=name + " f=apprenticeship")
    name = "transient_entropy p=0.1"
    inst = envs.transient_entropy(0.1, 2, 0.9, np.random.default_rng(instance_seed(seed, name)))
    yield make_instance(inst, "apprenticeship", family="transient", seed=seed, name=name + " f=apprenticeship")


def _prop2a_coverage_instances(quick, seed):
    yield from _prop2a_instances(quick, seed)
    # E4's entropy utility on the transient state (guide §10): lambda~ is the same, r~ = grad f(lambda~) is not
    name = "transient_entropy p=0.1"
    inst = envs.transient_entropy(0.1, 2, 0.9, np.random.default_rng(instance_seed(seed, name)))
    yield make_instance(inst, "entropy", family="transient", seed=seed, name=name + " f=entropy")


#: Survival levels of E4's curves: P(error > x) from 1 down to 2/R, log-spaced.
E4_LEVELS = 40


def _survival(err, scale, R):
    y = np.logspace(0.0, math.log10(2.0 / R), E4_LEVELS)
    return (np.quantile(err, 1.0 - y) / scale).tolist(), y.tolist()


def _prop2a_measure(instance, rng, quick, eps1_scale=1.0):
    inst, utils = instance.payload["inst"], instance.payload["utilities"]
    n = inst.mdp.n
    delta0 = PROP2_DELTA0 / n  # in (0, 1/(2n))
    prob = problem_of(instance)
    R = 2000 if quick else 10000
    seed = _seed(instance, rng, "prop2a")
    for B, H in ((4, 10), (20, 20)):
        est = shadow_pg_estimates(inst.mdp, inst.policy, inst.gamma, utils, 0, batch=B, horizon=H,
                                  initial=inst.initial, oracle=None, runs=R, rng=seed + B)
        eps1 = _eps1(inst.gamma, H, B, delta0) * eps1_scale
        for i in range(n):
            lam_err = np.sqrt(((est.lambda_tilde[i] - prob.local[i][None]) ** 2).sum(axis=(1, 2)))
            k = int((lam_err > eps1).sum())
            q = float(np.quantile(lam_err, 1.0 - delta0))
            L = utils[i].lipschitz(inst.gamma, n_actions=inst.mdp.action_sizes[i])
            rew_err = np.abs(est.reward_tilde[i] - prob.shadow_rewards[i][None]).max(axis=(1, 2))
            rew_err = np.where(np.isfinite(rew_err), rew_err, np.inf)  # r~ non-finite (log 0): a miss
            k_r = int((rew_err > L * eps1).sum())
            common = {"i": i, "B": B, "H": H}
            surv_x, surv_y = _survival(lam_err, eps1, R)
            yield Measurement(measured=_cp_lower(k, R), bound=delta0, point={**common, "check": "||lambda~_i - lambda_i||_2 <= eps1"},
                              extra={"misses": k, "runs": R, "eps1": eps1, "quantile_ratio": q / eps1, "delta0": delta0,
                                     "trivial_bound": 2.0 / (1.0 - inst.gamma), "seed": seed + B,
                                     "survival_x": surv_x, "survival_y": surv_y,
                                     "nonfinite_reward_fraction": float(np.mean(~np.isfinite(
                                         est.reward_tilde[i].reshape(R, -1)).any(axis=1)))})
            if not math.isfinite(L):  # L_lambda = inf on Lambda (entropy): (25)'s reward line says nothing
                continue
            yield Measurement(measured=_cp_lower(k_r, R), bound=delta0,
                              point={**common, "check": "||r~_i - r_i||_inf <= L_lambda eps1"},
                              extra={"misses": k_r, "runs": R, "L_lambda": L,
                                     "quantile_ratio": float(np.quantile(rew_err, 1.0 - delta0)) / (L * eps1)
                                     if L > 0 else float("nan")})


def _prop2a_figure(rows):
    """E4 (guide §8.3): P(||lambda~_i - lambda_i||_2 > x eps1) against x, with eps1 (x = 1) and delta0 marked."""
    sub = rows[rows["point.check"] == "||lambda~_i - lambda_i||_2 <= eps1"] if "point.check" in rows else rows.iloc[:0]
    specs = []
    for name in sub["instance"].unique():
        one = sub[sub["instance"] == name]
        i = int(one["point.i"].min())
        one = one[one["point.i"] == i]
        series = []
        for _, r in one.iterrows():
            series.append(Series(f"B = {int(r['point.B'])}, H = {int(r['point.H'])}",
                                 np.asarray(row_extra(r, "survival_y")), x=np.asarray(row_extra(r, "survival_x"))))
        delta0 = float(one["extra.delta0"].iloc[0])
        specs.append(LinesFigure(f"E4: Prop. 2(I) coverage, {name}, agent {i}", series,
                                 hlines=[HLine(delta0, r"$\delta_0$")], vlines=[VLine(1.0, r"$\epsilon_1(\delta_0)$")],
                                 log_x=True, log_y=True, xlabel=r"$x = \|\tilde\lambda_i-\lambda_i\|_2/\epsilon_1$",
                                 ylabel="fraction of batches above x", band=None))
    return specs


# ============================================================================ Prop. 2(III), the H term
def _eps2_parts(mdp, gamma, utils, i, kappa, B, H, delta0, eps0, mf):
    r""":math:`(C_{1,i}, C_{2,i}, C_{3,i})` of (32), (35), (36): :math:`\epsilon_{2,i} = \sqrt{3(C_1+C_2+C_3)}`."""
    n, g = mdp.n, gamma
    Ni = len(mdp.kappa_hop(i, kappa))
    L = utils[i].lipschitz(g, n_actions=mdp.action_sizes[i])
    pre = Ni ** 2 * M_PSI ** 2 / n ** 2
    eps1 = _eps1(g, H, B, delta0)
    c1 = pre / (1 - g) ** 2 * (eps0 * mf + L * eps1 / (1 - g)) ** 2
    c2 = (2 - 8 * math.log(delta0)) * pre * mf ** 2 / ((1 - g) ** 4 * B)
    c3 = g ** (2 * H) * pre * mf ** 2 / (1 - g) ** 4
    return c1, c2, c3


def _closed_form_mf(inst, utils):
    """M_f of Assumption 2(I): the utilities' closed-form sup of ||grad f_i||_inf over Lambda."""
    return max(u.grad_bound(inst.gamma, _xi_marginal(inst, i), n_actions=inst.mdp.action_sizes[i])
               for i, u in enumerate(utils))


def _gradient_errors(est, target, R):
    """Per run and agent ||g~_i - target_i||_2 (inf for a run whose r~ was not finite), shape (R, n)."""
    out = np.stack([np.linalg.norm(np.asarray(g).reshape(R, -1) - np.ravel(t)[None], axis=1)
                    for g, t in zip(est.gradient, target)], axis=1)
    return np.where(np.isfinite(out), out, np.inf)


def _prop2c_coverage(instance, rng, quick, eps2_scale=1.0):
    """(27) by coverage: ||g~_i - g-hat_i|| <= eps_{2,i}(delta0) with the exact oracle of r~ (eps0 = 0)."""
    inst, utils = instance.payload["inst"], instance.payload["utilities"]
    mdp, g = inst.mdp, inst.gamma
    n = mdp.n
    Ls = [u.lipschitz(g, n_actions=mdp.action_sizes[i]) for i, u in enumerate(utils)]
    if not all(math.isfinite(L) for L in Ls):  # eps_2 = inf: nothing to cover (the entropy utility on Lambda)
        return
    delta0 = PROP2_DELTA0 / n
    prob = problem_of(instance)
    mf = _closed_form_mf(inst, utils)
    zero = (np.zeros(n, dtype=np.int64),) * 2
    R = 2000 if quick else 10000
    seed = _seed(instance, rng, "prop2c-coverage")
    kappa = 1
    ghat = truncated_shadow_gradient(prob, kappa, zero)
    for B, H in ((4, 10), (20, 20)):
        est = shadow_pg_estimates(mdp, inst.policy, g, utils, kappa, batch=B, horizon=H, initial=inst.initial,
                                  oracle="exact", reference=zero, runs=R, rng=seed + B)
        err = _gradient_errors(est, ghat, R)
        eps2 = np.empty(n)
        for i in range(n):
            c1, c2, c3 = _eps2_parts(mdp, g, utils, i, kappa, B, H, delta0, 0.0, mf)
            eps2[i] = math.sqrt(3.0 * (c1 + c2 + c3)) * eps2_scale
            k = int((err[:, i] > eps2[i]).sum())
            yield Measurement(measured=_cp_lower(k, R), bound=2.0 * delta0,
                              point={"i": i, "B": B, "H": H, "check": "coverage ||g~_i - g-hat_i|| <= eps2_i"},
                              extra={"misses": k, "runs": R, "eps2": float(eps2[i]), "C1": c1, "C2": c2, "C3": c3,
                                     "M_f": mf, "quantile_ratio": float(np.quantile(err[:, i], 1.0 - 2.0 * delta0))
                                     / eps2[i], "seed": seed + B})
        k = int((err > eps2[None]).any(axis=1).sum())
        yield Measurement(measured=_cp_lower(k, R), bound=2.0 * n * delta0,
                          point={"B": B, "H": H, "check": "coverage, all i (probability 1 - 2 n delta0)"},
                          extra={"misses": k, "runs": R, "seed": seed + B,
                                 "worst_ratio": float((err / eps2[None]).max())})


def _prop2c_measure(instance, rng, quick, c3_scale=1.0, eps2_scale=1.0):
    yield from _prop2c_h_term(instance, rng, quick, c3_scale)
    yield from _prop2c_coverage(instance, rng, quick, eps2_scale)


def _prop2c_h_term(instance, rng, quick, c3_scale=1.0):
    inst = instance.payload["inst"]
    mdp = inst.mdp
    prob = problem_of(instance)
    mf = measured_mf(prob)
    n = mdp.n
    for kappa in (0, 1):
        ghat = truncated_shadow_gradient(prob, kappa)
        for H in (1, 3, 10, 30):
            gH = horizon_expectations(prob, kappa, H).gradient
            for i in range(n):
                Ni = len(mdp.kappa_hop(i, kappa))
                c3 = (inst.gamma ** (2 * H) * Ni ** 2 * M_PSI ** 2 * mf ** 2 / (n ** 2 * (1.0 - inst.gamma) ** 4))
                yield Measurement(measured=float(np.linalg.norm(gH[i] - ghat[i])), bound=math.sqrt(c3) * c3_scale,
                                  point={"i": i, "kappa": kappa, "H": H, "check": "(36) H-truncation bias, exact"},
                                  extra={"M_f": mf, "N_i": Ni})


# ============================================================================ Theorem 1, (41)
def _thm1_instances(quick, seed):
    name = "random_khop n=3 kappa=1"
    inst = envs.random_khop(3, 1, 1.0, 0.3, np.random.default_rng(instance_seed(seed, name)))
    yield make_instance(inst, "apprenticeship", family=RANDOM_KHOP, seed=seed, name=name + " f=apprenticeship")
    yield make_instance(inst, "linear", family=RANDOM_KHOP, seed=seed, name=name + " f=linear")


def _flat(grads):
    return np.concatenate([np.asarray(g).ravel() for g in grads])


def _thm1_measure(instance, rng, quick, eta=0.5, slack_scale=1.0, delta_scale=1.0):
    inst, utils = instance.payload["inst"], instance.payload["utilities"]
    mdp, gamma, xi = inst.mdp, inst.gamma, inst.initial
    pol = inst.policy
    seed = _seed(instance, rng, "thm1")
    steps = 8 if quick else 25
    prob = shadow_problem(mdp, pol, gamma, utils, xi)
    visited = {}
    for t in range(steps):
        grad = prob.gradient()
        if t in (0, steps // 2, steps - 1):
            visited[t] = (pol, grad)
        est = shadow_pg_estimates(mdp, pol, gamma, utils, 1, batch=20, horizon=20, initial=xi, oracle="td",
                                  runs=1, rng=seed + t)
        gt = [np.reshape(g[0], np.shape(t)) for g, t in zip(est.gradient, pol.logits)]
        if not np.all(np.isfinite(_flat(gt))):
            continue
        new = pol.with_flat(pol.flat() + eta * _flat(gt))
        nprob = shadow_problem(mdp, new, gamma, utils, xi)
        lhs = nprob.value - prob.value
        gn2 = float(_flat(grad) @ _flat(grad))
        err2 = float(sum(((np.asarray(a) - np.asarray(b)) ** 2).sum() for a, b in zip(grad, gt)))
        rhs = eta / 4.0 * gn2 - 3.0 * eta / 4.0 * err2 * slack_scale
        # curvature of F along the realised step: a lower bound on L_theta
        d = eta * _flat(gt)
        dn = float(np.linalg.norm(d))
        mid = shadow_problem(mdp, pol.with_flat(pol.flat() + 0.5 * d), gamma, utils, xi).value
        curv = abs(nprob.value - 2.0 * mid + prob.value) / (0.25 * dn ** 2) if dn > 0 else 0.0
        premise = Assumption("step size: eta <= 1/(4 L_theta) (against the curvature lower bound)",
                             eta * curv <= 0.25, eta * curv, "<= 0.25",
                             "eta L-hat, L-hat = |second difference of the exact F along the step| / |step/2|^2 "
                             "(a lower bound on L_theta: the premise fails where this exceeds 1/4)")
        yield Measurement(measured=rhs - lhs, bound=0.0, point={"t": t},
                          extra={"F_t": prob.value, "F_t1": nprob.value, "grad_norm2": gn2, "grad_error2": err2,
                                 "eta": eta, "eta_L_hat": eta * curv, "seed": seed + t}, assumptions=[premise])
        pol, prob = new, nprob
    yield from _thm1_final_measure(instance, rng, quick, delta_scale)
    yield from _thm1_coverage(instance, rng, quick, visited, steps, delta_scale)


#: Oracles of the coverage of (43): name -> eps0 (the exact Q-hat of r~, and the adversarial eps0-oracle).
THM1_COVERAGE_ORACLES = {"exact": 0.0, "adversarial": 0.05}


def _thm1_coverage(instance, rng, quick, visited, T, delta_scale=1.0):
    r"""(43) by coverage at the visited :math:`\theta^t`: :math:`\sum_i\|\nabla_iF - \tilde g_i\|^2 \le \Delta(\delta_0)`.

    Conditional on :math:`\mathcal F_t` (the proof's use of Prop. 2 at step t), over R fresh batches at
    the same :math:`\theta^t`; against both readings of the probability, :math:`1 - \delta_0` (as printed)
    and :math:`1 - 2n\delta_0` (Prop. 2(III)'s), with :math:`\delta_0 = \delta/(2nT)`.
    """
    inst, utils = instance.payload["inst"], instance.payload["utilities"]
    mdp, gamma, xi = inst.mdp, inst.gamma, inst.initial
    n = mdp.n
    B, H, kappa = 20, 20, 1
    R = 500 if quick else 2000
    mf = _closed_form_mf(inst, utils)
    zero = (np.zeros(n, dtype=np.int64),) * 2
    seed = _seed(instance, rng, "thm1-43")
    for oracle, eps0 in THM1_COVERAGE_ORACLES.items():
        delta, parts = _delta_bound(instance, None, kappa, T, B, H, eps0, mf)
        delta *= delta_scale
        delta0 = parts["delta0"]
        for t, (pol, grad) in visited.items():
            est = shadow_pg_estimates(mdp, pol, gamma, utils, kappa, batch=B, horizon=H, initial=xi,
                                      oracle=oracle, eps0=eps0, reference=zero, runs=R, rng=seed + t)
            err2 = (_gradient_errors(est, grad, R) ** 2).sum(axis=1)
            k = int((err2 > delta).sum())
            common = {"t": t, "oracle": oracle}
            extra = {"misses": k, "runs": R, "Delta": delta, "eps0": eps0, "M_f": mf, "seed": seed + t,
                     "quantile_ratio": float(np.quantile(err2, 1.0 - delta0)) / delta, **parts}
            yield Measurement(measured=_cp_lower(k, R), bound=delta0,
                              point={**common, "check": "(43) coverage, probability 1 - delta0 (printed)"}, extra=extra)
            yield Measurement(measured=_cp_lower(k, R), bound=2.0 * n * delta0,
                              point={**common, "check": "(43) coverage, probability 1 - 2 n delta0"}, extra=extra)


# ============================================================================ Theorem 1, (38)
#: delta of Theorem 1 (delta0 = delta/(2nT)).
THM1_DELTA = 0.1


def _delta_bound(instance, prob, kappa, T, B, H, eps0, mf):
    """Delta(delta0) of (43) with every constant explicit (guide §2), and its parts."""
    from ._common import bound_lemma2

    inst, utils = instance.payload["inst"], instance.payload["utilities"]
    mdp, g = inst.mdp, inst.gamma
    n = mdp.n
    delta0 = THM1_DELTA / (2 * n * T)
    c0phi, _ = bound_lemma2(instance, mf, kappa)
    eps1 = _eps1(g, H, B, delta0)
    total = 0.0
    for i in range(n):
        c1, c2, c3 = _eps2_parts(mdp, g, utils, i, kappa, B, H, delta0, eps0, mf)
        total += (c0phi * M_PSI / (1 - g)) ** 2 + 3 * (c1 + c2 + c3)
    return 2 * total, {"delta0": delta0, "eps1": eps1, "c0_phi0_kappa": c0phi}


def _thm1_final_measure(instance, rng, quick, delta_scale=1.0):
    from netmarl_verify.solvers.sampled import run_shadow_pg

    inst, utils = instance.payload["inst"], instance.payload["utilities"]
    T = 20 if quick else 60
    B, H, eta, kappa = 20, 20, 0.5, 1
    seed = _seed(instance, rng, "thm1-38")
    res = run_shadow_pg(inst, utils, kappa, T=T, B=B, H=H, eta_theta=eta, oracle="exact", rng=seed,
                        checkpoints=range(T + 1), exact_metrics=("F", "grad_norm2"))
    tr = res.trace.sort_values("iteration")
    gn2 = tr["grad_norm2"].to_numpy()[:T]
    F = tr["F"].to_numpy()
    lhs = float(gn2.mean())  # constant eta: sum eta ||grad||^2 / sum eta
    prob = problem_of(instance)
    mf = max(u.grad_bound(inst.gamma, _xi_marginal(inst, i), n_actions=inst.mdp.action_sizes[i])
             for i, u in enumerate(utils))
    delta, parts = _delta_bound(instance, prob, kappa, T, B, H, 0.0, mf)
    rhs = 4.0 * (F[T] - F[0]) / (eta * T) + 3.0 * delta * delta_scale
    yield Measurement(measured=lhs, bound=rhs, point={"check": "(38) final", "T": T},
                      extra={"F_0": float(F[0]), "F_T": float(F[T]), "Delta": delta, "M_f": mf, **parts,
                             "first_term": 4.0 * (F[T] - F[0]) / (eta * T), "seed": seed, "oracle": "exact",
                             "ratio_without_delta": lhs / (4.0 * (F[T] - F[0]) / (eta * T)) if F[T] > F[0] else float("nan"),
                             "vacuous_delta": bool(3.0 * delta >= 1.0)})


def _xi_marginal(inst, i):
    xi = np.asarray(inst.initial).reshape(inst.mdp.state_sizes)
    return xi.sum(axis=tuple(k for k in range(inst.mdp.n) if k != i))


# ============================================================================ Theorem 2 (rate)
#: Target accuracies eps of Theorem 2's recipe (quick, full).
THM2_EPS = ((0.2, 0.1, 0.05), (0.2, 0.1, 0.05, 0.025))
#: Claimed slope of the squared gradient norm against total samples: eps with O~(eps^-2) samples.
THM2_CLAIMED_SLOPE = -0.5
#: Allowed excess of the fitted slope over the claimed one.
THM2_SLOPE_TOL = 0.2


def _thm2_instances(quick, seed):
    name = "random_khop n=2 kappa=1"
    inst = envs.random_khop(2, 1, 1.0, 0.3, np.random.default_rng(instance_seed(seed, name)), gamma=0.7)
    yield make_instance(inst, "apprenticeship", family=RANDOM_KHOP, seed=seed, name=name + " f=apprenticeship")


def _thm2_measure(instance, rng, quick, slope_tol=THM2_SLOPE_TOL):
    """Theorem 2's recipe with fixed multipliers: T = 4/eps, B = log(1/delta0)/eps, H = log(1/eps)/(2 log(1/gamma)),
    eta constant; the final average of ||grad F(theta^t)||^2 against total samples T B H (R runs)."""
    from netmarl_verify.solvers.sampled import run_shadow_pg
    from netmarl_verify.verify import fit_loglog_slope

    inst, utils = instance.payload["inst"], instance.payload["utilities"]
    g, n = inst.gamma, inst.mdp.n
    kappa = int(inst.mdp.distances.max())  # kappa = diameter: no truncation plateau, the rate alone
    seed = _seed(instance, rng, "thm2")
    samples, values = [], []
    for k, eps in enumerate(THM2_EPS[0 if quick else 1]):
        T = int(math.ceil(4.0 / eps))
        delta0 = THM1_DELTA / (2 * n * T)
        B = int(math.ceil(math.log(1.0 / delta0) / eps))
        H = max(1, int(math.ceil(math.log(1.0 / eps) / (2.0 * math.log(1.0 / g)))))
        res = run_shadow_pg(inst, utils, kappa, T=T, B=B, H=H, eta_theta=0.5, oracle="td", runs=4, rng=seed + k,
                            checkpoints=range(T + 1), exact_metrics=("grad_norm2",))
        tr = res.trace[res.trace["iteration"] < T]
        values.append(float(tr["grad_norm2"].mean()))
        samples.append(float(T * B * H))
    slope = fit_loglog_slope(np.asarray(samples), np.asarray(values))
    yield Measurement(measured=float(slope), bound=THM2_CLAIMED_SLOPE + slope_tol,
                      point={"check": "slope of (1/T) sum ||grad F||^2 vs total samples"},
                      extra={"samples": samples, "avg_grad_norm2": values, "eps": list(THM2_EPS[0 if quick else 1]),
                             "kappa": kappa, "seed": seed})


# ============================================================================ the TD oracle (23), Assumption 4
#: TD steps at which the error is measured (quick, full).
TD_STEPS = ((1000, 4000, 16000), (1000, 4000, 16000, 64000))
#: The claimed rate of TD along one trajectory ([14, Thm 5], cited in the text): error O(steps^{-1/2}).
TD_CLAIMED_SLOPE = -0.5
#: Allowed excess of the fitted slope over the claimed one (a rate check on 3-4 points of a noisy mean).
TD_SLOPE_TOL = 0.15


def _td_instances(quick, seed):
    name = "random_khop n=2 kappa=0"
    inst = envs.random_khop(2, 0, 1.0, 0.3, np.random.default_rng(instance_seed(seed, name)), gamma=0.5)
    yield make_instance(inst, "linear", family=RANDOM_KHOP, seed=seed, name=name + " f=linear")
    if not quick:
        name = "random_khop n=3 kappa=1"
        inst = envs.random_khop(3, 1, 0.5, 0.3, np.random.default_rng(instance_seed(seed, name)), gamma=0.5)
        yield make_instance(inst, "linear", family=RANDOM_KHOP, seed=seed, name=name + " f=linear")


def _td_measure(instance, rng, quick, law="stationary", reward_scale=1.0):
    from netmarl_verify.solvers.exact import td_fixed_point
    from netmarl_verify.solvers.sampled import PowerSchedule, td_truncated_q
    from netmarl_verify.verify import fit_loglog_slope

    inst = instance.payload["inst"]
    mdp, pol, gamma = inst.mdp, inst.policy, inst.gamma
    prob = problem_of(instance)
    rewards = prob.shadow_rewards
    kappa = 0 if instance.params.get("kappa", 0) == 0 else 1
    zero = (np.zeros(mdp.n, dtype=np.int64),) * 2
    steps_grid = TD_STEPS[0 if quick else 1]
    R = 16
    seed = _seed(instance, rng, "td")
    for i in range(mdp.n):
        star, eq = td_fixed_point(mdp, pol, gamma, reward_scale * rewards[i], i, kappa, law=law, full_output=True)
        q_hat = prob.truncated_q(i, kappa, zero)
        sigma = float(eq.pair_law[eq.support].min())
        # eta^k = h/(k + t0) with h = t0 = 2/(sigma (1 - gamma)): the max-norm rate needs h sigma (1 - gamma) > 1
        h = 2.0 / (sigma * (1.0 - gamma))
        errs, eps0 = [], []
        for steps in steps_grid:
            tabs = td_truncated_q(mdp, pol, gamma, rewards, kappa, steps=steps, step_size=PowerSchedule(h, 1.0, h),
                                  runs=R, rng=seed + steps)[i]
            w = eq.pair_law.reshape(star.shape)
            errs.append(float(np.mean([(w * np.abs(t - star)).sum() for t in tabs])))
            eps0.append(float(np.mean([np.abs(t - q_hat).max() for t in tabs])) / float(np.abs(rewards[i]).max()))
        slope = fit_loglog_slope(np.asarray(steps_grid, float), np.asarray(errs))
        yield Measurement(measured=float(slope), bound=TD_CLAIMED_SLOPE + TD_SLOPE_TOL,
                          point={"i": i, "check": "log-log slope of E|Q~ - Q~*|_pi vs steps"},
                          extra={"errors": errs, "steps": list(steps_grid), "eps0_measured": eps0,
                                 "aggregation_bias": float(np.abs(star - q_hat).max()), "sigma": sigma, "runs": R,
                                 "seed": seed, "law": law})


# ============================================================================ Prop. 2(II)
def _prop2b_measure(instance, rng, quick, bound_scale=1.0):
    inst, utils = instance.payload["inst"], instance.payload["utilities"]
    n = inst.mdp.n
    delta0 = PROP2_DELTA0 / n
    prob = problem_of(instance)
    mdp = inst.mdp
    # M_f of Assumption 2(I): the utilities' closed-form sup of ||grad f_i|| over Lambda (not the value at theta)
    mf = max(u.grad_bound(inst.gamma, _xi_marginal(inst, i), n_actions=mdp.action_sizes[i])
             for i, u in enumerate(utils))
    R = 300 if quick else 1000
    B, H, eps0, kappa = 20, 20, 0.05, 1
    zero = (np.zeros(n, dtype=np.int64),) * 2
    q_hat = [prob.truncated_q(j, kappa, zero) for j in range(n)]
    seed = _seed(instance, rng, "prop2b")
    est = shadow_pg_estimates(inst.mdp, inst.policy, inst.gamma, utils, kappa, batch=B, horizon=H,
                              initial=inst.initial, oracle="adversarial", eps0=eps0, runs=R, rng=seed)
    eps1 = _eps1(inst.gamma, H, B, delta0)
    misses, worst, rbar = 0, 0.0, 0.0
    for r in range(R):
        bad = False
        for i in range(n):
            L = utils[i].lipschitz(inst.gamma, n_actions=inst.mdp.action_sizes[i])
            bound = (eps0 * mf + L * eps1 / (1.0 - inst.gamma)) * bound_scale
            err = float(np.abs(est.q_tables[i][r] - q_hat[i]).max())
            worst = max(worst, err / bound)
            rbar = max(rbar, float(np.abs(est.reward_tilde[i][r]).max()))
            bad |= err > bound
        misses += bad
    yield Measurement(measured=_cp_lower(misses, R), bound=n * delta0,
                      point={"check": "||Q~_i - Q-hat_i||_inf <= eps0 M_f + L eps1/(1-gamma), all i", "B": B, "H": H},
                      extra={"misses": misses, "runs": R, "eps0": eps0, "worst_ratio": worst,
                             "max_reward_tilde": rbar, "M_f": mf, "seed": seed},
                      assumptions=[Assumption("(29)'s premise ||r~_i||_inf <= M_f", rbar <= mf * (1 + 1e-12), rbar,
                                              f"<= {mf:.6g}", "M_f = the utilities' sup of ||grad f_i||_inf over "
                                              "Lambda (Assumption 2(I)); r~ is evaluated at lambda~, outside Lambda")])


# ============================================================================ claims
@claim_factory(
    horizon_shift=Fault(0, "compares the Monte-Carlo means with the exact expectations at H + shift (a wrong "
                           "horizon / discount bookkeeping)"),
    eps1_scale=Fault(1.0, "multiplies eps1(delta0) of Prop. 2(I): a wrong constant"),
    c3_scale=Fault(1.0, "multiplies sqrt(C_3) of Prop. 2(III): a wrong constant"),
    eps2_scale=Fault(1.0, "multiplies eps_{2,i}(delta0) of Prop. 2(III)'s coverage: a wrong constant"),
    slack_scale=Fault(1.0, "multiplies the 3 eta/4 error term of (41): a wrong constant"),
    thm2_slope_tol=Fault(THM2_SLOPE_TOL, "the allowed excess of Theorem 2's fitted slope (negative: a claimed rate "
                                         "faster than samples^-1/2, a wrong exponent)"),
    delta_scale=Fault(1.0, "multiplies Delta(delta0) in Theorem 1's (38): a wrong constant"),
    td_law=Fault("stationary", "the pair law of the TD fixed point ('discounted': the wrong limit for (23) along "
                               "one trajectory; close to the right one on small instances)"),
    td_reward_scale=Fault(1.0, "multiplies the reward of the TD fixed point the iterates are compared with (a wrong "
                               "target: the error plateaus)"),
    prop2b_scale=Fault(1.0, "multiplies Prop. 2(II)'s bound: a wrong constant"),
)
def make_claims(*, faults):
    """Build the four claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE)
    return [
        Claim(id="ying2023.alg1_estimators", source="Alg. 1, eq. (20)-(21), (30)", **common,
              statement="The empirical occupancy (20) and the gradient estimate (21) with exact truncated Q are "
                        "unbiased for their H-truncated targets: E[lambda~_i] = lambda_i^(H) = sum_{k<H} gamma^k "
                        "P(s_i^k, a_i^k) and E[g~_i] = g-hat_i^(H).",
              latex=r"E[\tilde\lambda_i]=\lambda_i^{(H)},\quad E[\tilde g_i\,|\,\hat Q]=\hat g_i^{(H)}",
              measure=lambda inst, rng, quick: _estimators_measure(inst, rng, quick, f["horizon_shift"]),
              instances=_instances,
              notes=f"measured = max over entries of |mean - exact| / (z se), z the Bonferroni normal quantile at "
                    f"family-wise level {ESTIMATOR_ALPHA}; bound 1. The plug-in bias of r~ (B = 1, 4, 16) is recorded "
                    "in extra.reward_bias_B1_B4_B16 (nonzero for nonlinear f; Prop. 2(I) controls it by L_lambda eps1)."),
        Claim(id="ying2023.prop2a", source="Proposition 2(I), eq. (25), (28)", **common,
              statement="For every i, with probability 1 - delta0: ||lambda~_i - lambda_i||_2 <= eps1(delta0) = "
                        "sqrt((4 + 2 gamma^{2H} B - 16 log delta0)/((1-gamma)^2 B)) and ||r~_i - r_i||_inf <= "
                        "L_lambda eps1(delta0).",
              latex=r"\Pr\big(\|\tilde\lambda_i-\lambda_i\|_2\le\epsilon_1(\delta_0)\big)\ge1-\delta_0,\ "
                    r"\epsilon_1=\sqrt{\tfrac{4+2\gamma^{2H}B-16\log\delta_0}{(1-\gamma)^2B}}",
              measure=lambda inst, rng, quick: _prop2a_measure(inst, rng, quick, f["eps1_scale"]),
              instances=_prop2a_coverage_instances, figure=_prop2a_figure,
              notes=f"delta0 = {PROP2_DELTA0}/n; measured = one-sided {PROP2_CONFIDENCE} Clopper-Pearson lower limit "
                    "of the miss rate over R independent batches, bound delta0. extra.quantile_ratio = empirical "
                    "(1-delta0)-quantile / eps1: how loose eps1 is. Reading of (28) as printed (the guide's algebra). The "
                    "entropy instance (transient state) has L_lambda = inf on Lambda: its reward rows are not run, "
                    "and extra.nonfinite_reward_fraction counts batches with r~ = grad f(lambda~) infinite (a "
                    "transient state never sampled). Figure E4: the survival curve of ||lambda~ - lambda||/eps1."),
        Claim(id="ying2023.prop2c", source="Proposition 2(III), eq. (27), (31)-(37)", **common,
              statement="W.p. 1 - 2n delta0, ||g~_i - g-hat_i|| <= eps_{2,i}(delta0) = sqrt(3(C_1,i + C_2,i + C_3,i)) "
                        "for all i, with C_1 (32) the oracle and reward error, C_2 (35) the sampling error, and "
                        "the H-truncation bias ||g-hat_i^(H) - g-hat_i|| <= sqrt(C_3,i) (36), C_3,i = gamma^{2H} "
                        "|N_i^kappa|^2 M_psi^2 M_f^2/(n^2 (1-gamma)^4).",
              latex=r"\Pr\big(\forall i:\|\tilde g_i-\hat g_i\|\le\epsilon_{2,i}\big)\ge1-2n\delta_0,\ "
                    r"\epsilon_{2,i}=\sqrt{3(C_{1,i}+C_{2,i}+C_{3,i})};\ "
                    r"\|\hat g_i^{(H)}-\hat g_i\|\le\sqrt{C_{3,i}},\ C_{3,i}=\frac{\gamma^{2H}|N_i^\kappa|^2M_\psi^2M_f^2}"
                    r"{n^2(1-\gamma)^4}",
              measure=lambda inst, rng, quick: _prop2c_measure(inst, rng, quick, f["c3_scale"], f["eps2_scale"]),
              instances=_instances,
              notes="(36): exact on both sides (horizon_expectations vs truncated_shadow_gradient), M_psi = sqrt 2, "
                    f"M_f measured at theta. (27): coverage over R = 10^4 batches (2,000 quick) at kappa = 1 with the "
                    f"exact oracle of r~ (eps0 = 0), delta0 = {PROP2_DELTA0}/n, M_f Assumption 2(I)'s closed-form sup "
                    "over Lambda; measured = Clopper-Pearson lower limit of the miss rate, bound 2 delta0 per agent "
                    "and 2 n delta0 for all agents; extra.quantile_ratio = empirical quantile / eps2 (tightness). "
                    "Not run for utilities with L_lambda = inf on Lambda (entropy): eps2 is infinite there."),
        Claim(id="ying2023.thm1", source="Theorem 1, per-step inequality (41)", **common,
              statement="Along Algorithm 1 with eta <= 1/(4 L_theta): F(theta^{t+1}) - F(theta^t) >= (eta/4) "
                        "||grad F(theta^t)||^2 - (3 eta/4) sum_i ||grad_i F(theta^t) - g~_i^t||^2, for the realised "
                        "g~ (exact F and grad F).",
              latex=r"F(\theta^{t+1})-F(\theta^t)\ge\frac\eta4\|\nabla F(\theta^t)\|^2-\frac{3\eta}4\sum_i"
                    r"\|\nabla_iF(\theta^t)-\tilde g_i^t\|^2",
              measure=lambda inst, rng, quick: _thm1_measure(inst, rng, quick, slack_scale=f["slack_scale"],
                                                             delta_scale=f["delta_scale"]),
              instances=_thm1_instances, atol=THM1_ATOL,
              notes="measured = RHS - LHS (<= 0 when (41) holds), bound 0, atol 1e-10. TD oracle, B = H = 20, "
                    "eta = 0.5, kappa = 1. The premise eta <= 1/(4 L_theta) is checked against a lower bound on "
                    "L_theta (the curvature of the exact F along the realised step): rows where eta L-hat > 1/4 "
                    "are not applicable. One more row per instance: the final inequality (38) along a T-step run "
                    "with the exact oracle (eps0 = 0), Delta(delta0) with every constant explicit (guide §2), "
                    "delta = 0.1, delta0 = delta/(2nT). And the coverage of (43), sum_i ||grad_i F - g~_i||^2 <= "
                    "Delta(delta0), at theta^t for t = 0, T/2, T-1 of the same run, over R = 2,000 fresh batches "
                    "(500 quick), exact and adversarial (eps0 = 0.05) oracles, against both readings of its "
                    "probability: 1 - delta0 (printed) and 1 - 2 n delta0 (Prop. 2(III)'s)."),
        Claim(id="ying2023.thm2", source="Theorem 2, eq. (46) (rate check)", **common,
              statement="With T = O(1/eps), B = O(log(1/delta0)/eps), H = O(log(1/eps)), a constant step and an "
                        "O(1/eps0^2) oracle, (1/T) sum_t ||grad F(theta^t)||^2 = O(eps + n phi0^{2 kappa}) with "
                        "O~(eps^-2) samples: the squared gradient norm falls like samples^{-1/2}.",
              latex=r"\frac1T\sum_t\|\nabla F(\theta^t)\|^2=O(\epsilon+n\phi_0^{2\kappa}),\ "
                    r"\text{samples}=\tilde O(\epsilon^{-2})",
              measure=lambda inst, rng, quick: _thm2_measure(inst, rng, quick, f["thm2_slope_tol"]),
              instances=_thm2_instances,
              notes=f"Rate check (constants unspecified): the recipe with fixed multipliers T = 4/eps, B = "
                    f"log(1/delta0)/eps, H = log(1/eps)/(2 log(1/gamma)), eta = 0.5, TD oracle, kappa = the diameter "
                    f"(no truncation plateau), 4 runs; measured = fitted log-log slope of the average squared "
                    f"gradient norm against total samples T B H, bound {THM2_CLAIMED_SLOPE} + {THM2_SLOPE_TOL}. "
                    "Squared norm = the paper's eps-stationarity."),
        Claim(id="ying2023.td_oracle", source="Assumption 4, eq. (23)-(24) ([14, Thm 5] as cited)", **common,
              statement="The TD oracle (23) along one trajectory converges to the aggregated fixed point "
                        "Q~*(z) = E_mu[r + gamma Q~*(z') | z] (mu the stationary pair law) at the rate "
                        "O(steps^{-1/2}) the text cites; its distance to the truncated Q-hat of (14) (the measured "
                        "eps0 of (24)) does not vanish (aggregation bias).",
              latex=r"E\|	ilde Q_k-	ilde Q^*\|_{\mu}=O(k^{-1/2}),\quad	ilde Q^*(z)=E_\mu[r_i+\gamma	ilde Q^*(z')|z]",
              measure=lambda inst, rng, quick: _td_measure(inst, rng, quick, f["td_law"], f["td_reward_scale"]),
              instances=_td_instances,
              notes=f"Rate check: measured = fitted log-log slope of the mean pi-weighted error over R = 16 runs, "
                    f"bound = {TD_CLAIMED_SLOPE} + {TD_SLOPE_TOL}. Step h/(k + h) with h = 2/(sigma (1-gamma)), "
                    "sigma the smallest pair probability (the max-norm rate needs h sigma (1-gamma) > 1). "
                    "extra.eps0_measured is ||Q~ - Q-hat||_inf/||r||_inf, extra.aggregation_bias ||Q~* - Q-hat||."),
        Claim(id="ying2023.prop2b", source="Proposition 2(II), eq. (26), (29)", **common,
              statement="With an eps0-accurate oracle (Assumption 4), w.p. 1 - n delta0: ||Q~_i - Q-hat_i||_inf <= "
                        "eps0 M_f + L_lambda eps1(delta0)/(1-gamma) for all i; checked with the adversarial oracle "
                        "Q~ = Q-hat_{r~} + eps0 ||r~||_inf (worst sign pattern) over R batches.",
              latex=r"\|	ilde Q_i-\hat Q_i\|_\infty\le\epsilon_0M_f+rac{L_\lambda\epsilon_1(\delta_0)}{1-\gamma}",
              measure=lambda inst, rng, quick: _prop2b_measure(inst, rng, quick, f["prop2b_scale"]),
              instances=_prop2a_instances,
              notes="measured = Clopper-Pearson lower limit of the joint miss rate, bound n delta0; extra.worst_ratio "
                    "= the largest ||Q~ - Q-hat||/bound seen. M_f is Assumption 2(I)'s sup over Lambda (closed form per "
                    "utility); the premise of (29), ||r~||_inf <= M_f at the realised lambda~ (not in Lambda: mass "
                    "(1-gamma^H)/(1-gamma), zero entries), is an assumption row."),
    ]


for _claim in make_claims():
    register(_claim)
