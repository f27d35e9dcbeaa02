r"""zhang2025: the advantage policy gradient (Lemma 4.3, Remark 1), Assumptions 5.5-5.6, Lemma 5.7.

``zhang2025.lemma4_3``   :math:`\nabla_{\theta^i}J = \frac1{1-\gamma}E_{s\sim\nu,a\sim\pi}[\psi^i\,\mathrm{Adv}_\theta]` (B.2's constant)
                         against coordinate-wise central differences of the exact :math:`J(\theta)=V_\theta(s_0)`.
``zhang2025.remark1_q``  the same with :math:`Q_\theta` in place of :math:`\mathrm{Adv}_\theta`.
``zhang2025.assump5_5``  :math:`\max_{s,a}\|\psi\|\le1` and :math:`\lambda_{\min}F(\theta)>0`, :math:`F=E_{\nu}[\psi\psi^\top]` (meter).
``zhang2025.assump5_6``  the compatible weights :math:`(1-\gamma)F^\dagger\nabla J = F^\dagger E_\nu[\psi\mathrm{Adv}]`
                         (exact), with :math:`\epsilon_{\rm bias}(\theta)` metered under both readings.
``zhang2025.lemma5_7``   gradient domination :math:`\sqrt{\mu}(J^*-J(\theta))\le\epsilon'+\|\nabla J(\theta)\|` on the loop bandit.

Readings and findings.

* **Constant of Lemma 4.3.** The statement says "∝"; B.2 writes :math:`1/(1-\gamma)`; the proof of Thm 5.10 ((34) l. 1)
  uses 1. Rows ``reading = "B.2: 1/(1-gamma)"``, ``"(34): 1"`` and ``"proportional"`` (1 − cosine); ``extra.c_measured``
  is the least-squares constant. B.2's constant holds to finite-difference accuracy; the constant 1 of (34) is
  violated by the factor :math:`1/(1-\gamma)` (it is absorbed nowhere: it rescales ‖∇J‖ in (8)-(11)).
* **Kernel.** ``kernel = "original"``: J, Q, Adv on ℙ (as Lemma 4.2's η is defined), the lemma holds.
  ``kernel = "restart"``: J, Q, Adv on the restart kernel the MAMDP tuple of §3.1 names; then
  :math:`\nabla J = \sum_s\tilde\eta(s)\ldots` with :math:`\tilde\eta = e_{s_0}^\top(I-\gamma\tilde P_\pi)^{-1}\not\propto\nu` and the
  lemma fails (constant and direction) on every multi-state instance: **finding** — the proof needs the
  objective on ℙ and only the *sampling* on :math:`\tilde P`. On one-state instances both kernels coincide.
  The row ``reading = "Sutton 13.2"`` checks the exact gradient on each kernel against the same finite
  differences, so a failure is the lemma's, not the differentiation's.
* **Assumption 5.5.** The tabular softmax violates both parts (:math:`\|\psi\|` up to :math:`\sqrt2`; F singular,
  rank :math:`|S|(|A^i|-1)` per agent): **finding**, known for softmax (Agarwal et al. 2021). The reduced softmax and the
  loop policy with :math:`c\le\frac12` satisfy it when ν > 0 everywhere. ``extra.alpha`` is :math:`7/(2\sqrt{\mu})`,
  :math:`\mu=\mu_f^2/2`, implied by the measured :math:`\mu_f`.
* **Assumption 5.6** printed without a square and without an expectation in F: reading (a) the signed mean,
  reading (b) the squared error (guide §3), both in ``extra``; d^{π*} the normalised visitation of a deterministic
  optimal joint policy from :math:`s_0`.
* **Lemma 5.7** on ``bandit3_loop``: μ_f is the minimum of F(θ) over the θ grid, ε_bias the maximum of reading (b)
  over it; J* = 1/(1-γ) (arm 3, the global optimum, which the loop cannot reach). Both sides on the grid,
  stationary points included. **Finding:** with ε' as printed, :math:`\mu\sqrt{\epsilon_{\rm bias}}/(1-\gamma)`, the
  lemma is violated (LHS/RHS up to 56 at c = 0.5, 1278 at c = 0.1), at the loop's stationary points where
  ∇J = 0. The standard argument (performance difference, :math:`\|\psi\|\le1`, :math:`\|w^*\|\le(1-\gamma)\|\nabla J\|/\mu_f`)
  gives :math:`\mu_f(J^*-J)\le\mu_f\sqrt{\epsilon_{\rm bias}}/(1-\gamma)+\|\nabla J\|`, i.e. ε' =
  :math:`\sqrt{\mu}\sqrt{\epsilon_{\rm bias}}/(1-\gamma)` in the paper's normalisation (a square root lost; μ ≤ √μ as
  μ_f ≤ 1 under ‖ψ‖ ≤ 1). Rows ``"derived eps'"`` hold, with ratio exactly 1 at the stationary point.
* **Assumption 5.5 with N agents.** ‖ψ‖² = Σ_i ‖ψ^i‖² (Fact C.1), so the joint bound ‖ψ‖ ≤ 1 needs each agent's
  score well below 1; the reduced softmax with N = 2 reaches 1.88 (full run).
"""

import math

import numpy as np

from netmarl_verify.envs._zhang2025 import bandit3_loop
from netmarl_verify.solvers.exact._fisher import (
    KERNELS,
    advantage_policy_gradient,
    central_difference_gradient,
    epsilon_bias,
    exact_objective,
    fisher_information,
    optimal_objective,
)
from netmarl_verify.solvers.exact._evaluation import stationary_distribution
from netmarl_verify.verify import (
    Choice,
    Claim,
    Fault,
    Integer,
    LinesFigure,
    Measurement,
    Real,
    SearchSpace,
    Series,
    assume_at_most,
    assume_greater,
    claim_factory,
    register,
)

from ._common import PAPER, PAPER_FILE, SEED_MAX, chain_meters, make_instance, mamdp_instances, mamdp_space, model_of, \
    reward_meters

__all__ = ["make_claims", "FD_EPS", "FD_TOL", "COS_TOL", "LAMBDA_TOL", "RCOND"]

#: Finite-difference step; error O(eps^2 |J'''|) + O(1e-16 |J| / eps) ~ 1e-9 relative to max(1, |J|).
FD_EPS = 1e-5
#: Tolerance of an identity against central differences, relative to max(1, ||grad||_inf).
FD_TOL = 1e-6
#: Tolerance on 1 - cosine (rounding of a cosine computed from FD gradients accurate to ~1e-9).
COS_TOL = 1e-8
#: lambda_min(F) below this counts as singular (F is a sum of |S||A| rank-one terms, entries <= 2).
LAMBDA_TOL = 1e-10
#: Relative cut-off of the pseudo-inverse of F.
RCOND = 1e-10


def _meters(instance):
    return chain_meters(instance) + reward_meters(instance)


def _fd(model, kernel):
    pol = model.policy
    return central_difference_gradient(lambda x: exact_objective(model, pol.with_flat(x), kernel), pol.flat, FD_EPS)


def _pg_rows(instance, use_q, nu_from_original=False, uncentred=False):
    m = model_of(instance)
    for kernel in KERNELS:
        g = advantage_policy_gradient(m, kernel=kernel)
        fd = _fd(m, kernel)
        scale = max(1.0, float(np.abs(fd).max()))
        w = g.pi[:, :, None] * g.scores
        if uncentred:  # a score with E_a[psi] != 0: every coordinate shifted by 1/2
            w = g.pi[:, :, None] * (g.scores + 0.5)
        nu = stationary_distribution(m.mdp, g.pi) if nu_from_original else g.nu
        target = g.Q if use_q else g.adv
        e = np.einsum("s,sap,sa->p", nu, w, target)
        c_ls = float(fd @ e / (e @ e)) if e @ e > 0 else float("nan")
        # a zero gradient (both sides below the FD accuracy) is proportional to anything: cosine 1
        tiny = max(np.linalg.norm(fd), np.linalg.norm(e) / (1 - m.gamma)) <= FD_TOL * scale
        cos = 1.0 if tiny else float(fd @ e / (np.linalg.norm(fd) * np.linalg.norm(e)))
        common_extra = {"c_measured": c_ls, "one_over_1_minus_gamma": 1 / (1 - m.gamma), "cosine": cos,
                        "grad_norm": float(np.linalg.norm(fd)), "J": g.J}
        for i, blk in enumerate(g.blocks):
            for reading, const in (("B.2: 1/(1-gamma)", 1 / (1 - m.gamma)), ("(34): 1", 1.0)):
                err = float(np.abs(fd[blk] - const * e[blk]).max()) / scale
                yield Measurement(measured=err, bound=FD_TOL, point={"kernel": kernel, "reading": reading, "agent": i},
                                  extra=common_extra if i == 0 else {})
        yield Measurement(measured=1.0 - cos, bound=COS_TOL,
                          point={"kernel": kernel, "reading": "proportional", "agent": -1})
        if not use_q:
            yield Measurement(measured=float(np.abs(fd - g.grad).max()) / scale, bound=FD_TOL,
                              point={"kernel": kernel, "reading": "Sutton 13.2", "agent": -1})


def _fisher_rows(instance, rng, quick, score_scale=1.0):
    m = model_of(instance)
    g = advantage_policy_gradient(m)
    psi = score_scale * g.scores
    norms = np.linalg.norm(psi, axis=2)
    F = fisher_information(psi, g.pi, g.nu)
    lam = np.linalg.eigvalsh(F)
    mu_f = float(lam.min())
    rank = int((lam > LAMBDA_TOL * max(1.0, lam.max())).sum())
    off = max((float(np.abs(F[a, b]).max()) for a in g.blocks for b in g.blocks if a != b), default=0.0)
    mu = mu_f ** 2 / 2
    extra = {"rank": rank, "dim_theta": int(F.shape[0]), "lambda_max": float(lam.max()),
             "max_offdiag_block": off, "alpha": 7 / (2 * math.sqrt(mu)) if mu > 0 else float("inf"),
             "parametrisation": instance.params.get("parametrisation", "-")}
    yield Measurement(measured=float(norms.max()), bound=1.0, point={"check": "max ||psi|| <= 1"}, extra=extra)
    yield Measurement(measured=LAMBDA_TOL, bound=mu_f, point={"check": "lambda_min F > 0"}, extra=extra)


def _fisher_instances(quick, seed):
    yield make_instance("bandit3_loop", c=0.5, theta=1.0, gamma=0.9)
    yield make_instance("bandit3_loop", c=1.0, theta=2.0, gamma=0.9)
    for par in ("tabular", "reduced", "loglinear"):
        yield make_instance("random_mamdp", N=2, S=3, A_i=2, gamma=0.9, scale=1.0, parametrisation=par, seed=seed)
    if not quick:
        yield make_instance("random_mamdp", N=1, S=2, A_i=3, gamma=0.9, scale=0.5, parametrisation="loop", seed=seed)
        yield make_instance("random_mamdp", N=2, S=4, A_i=3, gamma=0.99, scale=3.0, parametrisation="reduced",
                            seed=seed + 1)


def _bias_rows(instance, rng, quick, wrong_constant=False):
    m = model_of(instance)
    eb = epsilon_bias(m, rcond=RCOND)
    w = eb.w / (1 - m.gamma) if wrong_constant else eb.w
    scale = max(1.0, float(np.abs(eb.w_regression).max()))
    yield Measurement(measured=float(np.abs(w - eb.w_regression).max()) / scale, bound=FD_TOL * 1e-2,
                      point={"check": "(1-gamma) F^+ grad J = F^+ E_nu[psi Adv]"},
                      extra={"eps_bias_printed": eb.printed, "eps_bias_squared": eb.squared,
                             "parametrisation": instance.params.get("parametrisation", "-")})


def _grid(quick):
    return np.linspace(0.0, 2 * math.pi, 201 if quick else 2001)


def _lemma5_7_rows(instance, rng, quick, eps_scale=1.0):
    c, gamma = instance.params["c"], instance.params["gamma"]
    thetas = _grid(quick)
    J, gn, lam, eb, psi_max = [], [], [], [], 0.0
    for t in thetas:
        m = bandit3_loop(c, float(t), gamma)
        g = advantage_policy_gradient(m)
        J.append(g.J)
        gn.append(float(np.linalg.norm(g.grad)))
        lam.append(float(np.linalg.eigvalsh(fisher_information(g.scores, g.pi, g.nu)).min()))
        eb.append(epsilon_bias(m, rcond=RCOND).squared)
        psi_max = max(psi_max, float(np.linalg.norm(g.scores, axis=2).max()))
    J, gn, lam, eb = map(np.asarray, (J, gn, lam, eb))
    J_star, _ = optimal_objective(bandit3_loop(c, 0.0, gamma))
    mu_f = float(lam.min())
    mu = mu_f ** 2 / 2
    eps_bias = eps_scale * float(eb.max())
    hyp = [assume_at_most("max ||psi|| <= 1 on the grid (Assumption 5.5)", psi_max, 1, slack=1e-12),
           assume_greater("mu_f = min_theta lambda_min F > 0 (Assumption 5.5)", mu_f, 0)]
    lhs = math.sqrt(mu) * (J_star - J)
    for reading, eps_prime in (("printed eps' = mu sqrt(eps_bias)/(1-gamma)", mu * math.sqrt(eps_bias) / (1 - gamma)),
                               ("derived eps' = sqrt(mu) sqrt(eps_bias)/(1-gamma)",
                                math.sqrt(mu) * math.sqrt(eps_bias) / (1 - gamma))):
        rhs = eps_prime + gn
        k = int(np.argmax(lhs / rhs))
        step = max(1, len(thetas) // 100)
        picks = sorted(set(range(0, len(thetas), step)) | {k, int(np.argmax(J)), int(np.argmin(J))})
        for j in picks:
            yield Measurement(measured=float(lhs[j]), bound=float(rhs[j]),
                              point={"reading": reading, "theta": float(thetas[j])},
                              values={"mu_f": mu_f, "eps_bias": eps_bias, "eps_prime": eps_prime},
                              extra={"J_star": J_star, "J": float(J[j]), "grad_norm": float(gn[j]),
                                     "max_psi": psi_max}, assumptions=hyp)


def _lemma5_7_instances(quick, seed):
    for c in ((0.5, 1.0) if quick else (0.1, 0.5, 1.0)):
        yield make_instance("bandit3_loop", c=c, theta=0.0, gamma=0.9)


def _lemma5_7_figure(rows):
    name = list(rows["instance"].unique())[0]
    readings = list(rows["point.reading"].unique())
    return LinesFigure(f"Lemma 5.7 on {name}", [Series(r"$\sqrt{\mu}(J^*-J(\theta))$", "measured",
                                                       where={"point.reading": readings[0]})],
                       bounds=[Series(f"$\\epsilon'+\\|\\nabla J\\|$, {r.split(' =')[0]}", "bound",
                                      where={"point.reading": r}) for r in readings],
                       where={"instance": name},
                       x="point.theta", xlabel=r"$\theta$", ylabel="value")


def _loop_space():
    def build(p):
        return make_instance("bandit3_loop", c=p["c"], theta=0.0, gamma=p["gamma"])

    return SearchSpace("bandit3_loop", {"c": Real(0.05, 2.0, log=True), "gamma": Real(0.5, 0.99)}, build,
                       "the loop policy on the 3-armed bandit (guide §7)")


def _fisher_space():
    def build(p):
        return make_instance("random_mamdp", N=p["N"], S=p["S"], A_i=3 if p["parametrisation"] == "loop" else p["A_i"],
                             gamma=p["gamma"], scale=p["scale"], parametrisation=p["parametrisation"], seed=p["seed"])

    return SearchSpace("random_mamdp", {"N": Integer(1, 2), "S": Integer(2, 4), "A_i": Integer(2, 3),
                                        "gamma": Real(0.5, 0.99), "scale": Real(0.1, 5.0, log=True),
                                        "parametrisation": Choice(("reduced", "loglinear", "loop")),
                                        "seed": Integer(0, SEED_MAX)}, build,
                       "random MAMDPs with the non-tabular parametrisations (Assumption 5.5 can hold)")


@claim_factory(
    nu_from_original=Fault(False, "weights the expectation with the stationary law of the original chain P_pi "
                                  "instead of the restart law nu (Lemma 4.2 ignored): Lemma 4.3 fails"),
    uncentred_score=Fault(False, "adds pi/2 to the score weights (a score without E_a[psi] = 0): Remark 1's Q "
                                 "form then differs from the Adv form and from the gradient"),
    score_scale=Fault(1.0, "multiplies the score (x3 pushes ||psi|| above 1 on the loop with c = 1/2)"),
    wrong_constant=Fault(False, "uses F^+ grad J without the factor (1 - gamma) in w*"),
    eps_scale=Fault(1.0, "multiplies the measured eps_bias in Lemma 5.7 (x0.01: the derived bound, tight at the "
                         "loop's stationary point, is violated there)"),
)
def make_claims(*, faults):
    """Build the policy-gradient claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, assumptions=_meters)
    pg_instances = lambda quick, seed: mamdp_instances(quick, seed, ("tabular", "loglinear"))  # noqa: E731
    return [
        Claim(id="zhang2025.lemma4_3", source="Lemma 4.3; App. B.2; (34) l. 1", **common, instances=pg_instances,
              search=(mamdp_space(),),
              statement="The gradient of J with respect to agent i's parameters is (1/(1-gamma)) E_{s~nu, a~pi}"
                        "[grad_{theta^i} log pi^i(a^i|s) Adv(s, a)], nu the restart-chain stationary law.",
              latex=r"\nabla_{\theta^i}J(\theta)=\frac1{1-\gamma}\,\mathbb E_{s\sim\nu_\theta,a\sim\pi_\theta}\big["
                    r"\nabla_{\theta^i}\log\pi^i_{\theta^i}(a^i|s)\,\mathrm{Adv}_\theta(s,a)\big]",
              measure=lambda inst, rng, quick: _pg_rows(inst, False, f["nu_from_original"]),
              notes=f"measured = max over agent i's coordinates of |FD - const E_nu[psi^i Adv]| / max(1, ||FD||_inf), "
                    f"central differences with eps = {FD_EPS}; bound {FD_TOL}. Readings of the constant: B.2 "
                    f"(1/(1-gamma)) and (34) (1); both kernel modes. Findings: (34)'s constant 1 and the restart "
                    f"kernel for J are violated (module docstring)."),
        Claim(id="zhang2025.remark1_q", source="Remark 1", **common, instances=pg_instances, search=(mamdp_space(),),
              statement="Lemma 4.3 holds with Q(s, a) in place of Adv(s, a).",
              latex=r"\nabla_{\theta^i}J(\theta)=\frac1{1-\gamma}\,\mathbb E_{s\sim\nu_\theta,a\sim\pi_\theta}\big["
                    r"\nabla_{\theta^i}\log\pi^i_{\theta^i}(a^i|s)\,Q_\theta(s,a)\big]",
              measure=lambda inst, rng, quick: _pg_rows(inst, True, False, f["uncentred_score"]),
              notes="As lemma4_3 with Q; the two agree because E_{a~pi}[psi(s, a)] = 0 in every state."),
        Claim(id="zhang2025.assump5_5", source="Assumption 5.5", **common, instances=_fisher_instances,
              search=(_fisher_space(),),
              statement="For every theta and (s, a): ||grad log pi(a|s)|| <= 1 and E_nu[psi psi^T] >= mu_f I, mu_f > 0.",
              latex=r"\|\nabla_\theta\log\pi_\theta(a|s)\|\le1,\qquad F(\theta)=\mathbb E_{\nu(\theta)}[\psi\psi^\top]"
                    r"\succeq\mu_fI,\ \mu_f>0",
              measure=lambda inst, rng, quick: _fisher_rows(inst, rng, quick, f["score_scale"]),
              notes=f"Meter. Row 'lambda_min F > 0' is {LAMBDA_TOL} <= lambda_min(F) (measured = the tolerance, bound = lambda_min). extra: rank F vs dim theta, the "
                    "largest off-diagonal agent block (0: F is block diagonal), alpha = 7/(2 sqrt(mu)). The tabular "
                    "softmax violates both parts (finding)."),
        Claim(id="zhang2025.assump5_6", source="Assumption 5.6; Lemma 5.7", **common, instances=_fisher_instances,
              search=(_fisher_space(),),
              statement="The transferred compatible-function-approximation error is at most eps_bias, with the NPG "
                        "weights w* = (1-gamma) F^+ grad J, which equal argmin_w E_nu[(Adv - w^T psi)^2] = "
                        "F^+ E_nu[psi Adv].",
              latex=r"\mathbb E_{d^{\pi^*}\times\pi^*}\big[(\mathrm{Adv}_\theta-w^{*\top}\psi)^2\big]\le\epsilon_{\rm bias},"
                    r"\quad w^*=(1-\gamma)F(\theta)^\dagger\nabla_\theta J(\theta)=F^\dagger\mathbb E_\nu[\psi\,\mathrm{Adv}]",
              measure=lambda inst, rng, quick: _bias_rows(inst, rng, quick, f["wrong_constant"]),
              notes=f"The row checks the identity of the two forms of w* (pinv rcond {RCOND}); eps_bias itself is a "
                    "meter in extra under reading (a) (printed, signed) and (b) (squared)."),
        Claim(id="zhang2025.lemma5_7", source="Lemma 5.7", **common, instances=_lemma5_7_instances,
              search=(_loop_space(),), figure=_lemma5_7_figure,
              statement="Gradient domination: sqrt(mu) (J(theta*) - J(theta)) <= eps' + ||grad J(theta)||, mu = mu_f^2/2, "
                        "eps' = mu sqrt(eps_bias)/(1-gamma).",
              latex=r"\sqrt{\mu}\big(J(\theta^*)-J(\theta)\big)\le\epsilon'+\|\nabla_\theta J(\theta)\|,\quad"
                    r"\mu=\frac{\mu_f^2}2,\ \epsilon'=\frac{\mu\sqrt{\epsilon_{\rm bias}}}{1-\gamma}",
              measure=lambda inst, rng, quick: _lemma5_7_rows(inst, rng, quick, f["eps_scale"]),
              notes="On the loop bandit; mu_f = min over the theta grid of F(theta), eps_bias = max of reading (b); "
                    "rows at 100 grid points plus the argmax of LHS/RHS and the extremes of J."),
    ]


for _claim in make_claims():
    register(_claim)
