r"""chen2024: the log-barrier objective, Lemma 1's gradient and Lemma 4's smoothness constant.

``chen2024.barrier_joint`` the per-agent barrier of §4.1 equals the joint barrier
                           :math:`-\lambda E_{s}\mathrm{KL}(\mathrm{Unif}_{\mathcal A}\|\pi_\theta(\cdot|s))` on every DAG (an identity:
                           the uniform joint law is uniform on every :math:`(a^{P^i},a^i)`).
``chen2024.lemma1``        Lemma 1's formula against coordinate-wise central differences of the exact
                           :math:`L_\lambda`, on the product, chain 0→1→2, star and full DAGs. Both readings of
                           :math:`d` (guide §1.2) are rows: ``normalized`` (:math:`\tilde d`, sums to 1) and
                           ``unnormalized`` (§2's :math:`d`, sums to :math:`1/(1-\gamma)`).
``chen2024.lemma4``        :math:`\max|\mathrm{eig}\,\nabla^2L_\lambda|\le\beta_\lambda`, the value part against
                           :math:`8N\Delta r/(1-\gamma)^3` and the regulariser part against :math:`\sum_i2\lambda/(|S||\mathcal A^{P^i}|)`.

Findings. **Lemma 1 holds with the normalised** :math:`\tilde d`; with §2's unnormalised :math:`d` (which the paper
says it uses) the value term is :math:`1/(1-\gamma)` times the true derivative: the ``unnormalized`` rows are
violated whenever :math:`\gamma>0` (``extra.value_ratio_to_fd`` ≈ :math:`1/(1-\gamma)`) and hold at :math:`\gamma=0`. Those rows
are the finding, kept on purpose. **Lemma 4** holds with a large margin: the measured value curvature is
orders of magnitude below :math:`8N\Delta r/(1-\gamma)^3`; the regulariser part is attained to within a factor 4
(the largest eigenvalue of :math:`\mathrm{diag}\,p-pp^\top` is at most 1/2, the bound uses 2).
The Hessian maximisation over θ is random restarts at three scales (no local ascent on the top
eigenvalue yet).
"""

import numpy as np

from netmarl_verify.solvers.exact._bn_exact import (
    beta_lambda,
    bn_gradient,
    bn_hessian,
    bn_objective,
    central_difference_gradient,
    joint_log_barrier,
    log_barrier,
)
from netmarl_verify.verify import Claim, Fault, Measurement, claim_factory, register

from ._common import PAPER, PAPER_FILE, make_instance, meter_rows, random_space, random_theta

__all__ = ["make_claims", "FD_EPS", "FD_RTOL"]

#: Central-difference step: truncation O(eps^2 |L'''|) ~ 1e-12, rounding ~ 1e-16 |L| / eps ~ 1e-10 |L|.
FD_EPS = 1e-6
#: Lemma 1 vs finite differences: tolerance relative to max(1, |L|, max|grad|).
FD_RTOL = 1e-6
LAMBDAS = (0.1, 0.01)


def _instances(quick, seed):
    yield make_instance("coord2", seed, dag="chain", gamma=0.0)
    yield make_instance("chain3", seed, gamma=0.9)
    yield make_instance("random", seed, S=3, N=3, A=2, gamma=0.9, dag="product")
    yield make_instance("random", seed, S=2, N=3, A=2, gamma=0.5, dag="full")
    if not quick:
        yield make_instance("random", seed, S=3, N=3, A=2, gamma=0.95, dag="star")
        yield make_instance("climbing", seed, dag="chain")
        yield make_instance("mod3", seed)
        yield make_instance("random", seed, S=2, N=2, A=3, gamma=0.9, dag="chain")


def _barrier_measure(instance, rng, quick, drop_log_card=False):
    bn = instance.payload["bn"]
    for label, scale in (("uniform", 0.0), ("gaussian", 1.0), ("near-deterministic", 100.0)):
        pol = bn.policy(random_theta(instance, "barrier " + label, scale))
        per_agent = log_barrier(pol, drop_log_card=drop_log_card)
        joint = joint_log_barrier(pol)
        yield Measurement(measured=abs(per_agent - joint), bound=1e-12 * max(1.0, abs(joint)),
                          point={"theta": label}, extra={"per_agent": per_agent, "joint": joint})


def _lemma1_measure(instance, rng, quick, conditional="bayes", weighting="joint"):
    bn = instance.payload["bn"]
    game = bn.game
    for label, scale in (("gaussian", 1.0), ("gaussian x3", 3.0)):
        pol = bn.policy(random_theta(instance, "lemma1 " + label, scale))
        for lam in LAMBDAS:
            fd = central_difference_gradient(lambda x: bn_objective(game, pol.with_flat(x), lam), pol.flat, FD_EPS)
            L = bn_objective(game, pol, lam)
            for reading in ("normalized", "unnormalized"):
                gr = bn_gradient(game, pol, lam, reading=reading, conditional=conditional, weighting=weighting)
                g = gr.flat
                err = float(np.abs(g - fd).max())
                gv = np.concatenate([v.reshape(-1) for v in gr.value_part])
                fv = fd - np.concatenate([b.reshape(-1) for b in gr.barrier_part])  # FD of the value term
                big = np.abs(fv) > 1e-3 * np.abs(fv).max()
                ratio = float(np.median(gv[big] / fv[big])) if big.any() else 1.0
                yield Measurement(measured=err, bound=FD_RTOL * max(1.0, abs(L), float(np.abs(fd).max())),
                                  point={"reading": reading, "theta": label, "lam": lam},
                                  extra={"value_ratio_to_fd": ratio, "one_over_1_minus_gamma": 1 / (1 - game.gamma),
                                         "L": L, "grad_norm": float(np.linalg.norm(fd))})


def _lemma4_measure(instance, rng, quick, beta_scale=1.0):
    bn = instance.payload["bn"]
    game = bn.game
    beta, vb, bb = beta_lambda(game, bn.dag, 1.0)
    scales = (0.0, 1.0, 4.0) if quick else (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
    for lam in LAMBDAS:
        worst_v, worst_b, worst_t = 0.0, 0.0, 0.0
        for sc in scales:
            for r in range(1 if sc == 0 else (2 if quick else 4)):
                pol = bn.policy(random_theta(instance, f"lemma4 {sc} {r}", sc))
                Hv, Hb = bn_hessian(game, pol, lam)
                worst_v = max(worst_v, float(np.abs(np.linalg.eigvalsh(Hv)).max()))
                worst_b = max(worst_b, float(np.abs(np.linalg.eigvalsh(Hb)).max()))
                worst_t = max(worst_t, float(np.abs(np.linalg.eigvalsh(Hv + Hb)).max()))
        beta, vb, bb = beta_lambda(game, bn.dag, lam)
        for part, meas, bnd in (("value", worst_v, vb), ("regulariser", worst_b, bb), ("total", worst_t, beta)):
            yield Measurement(measured=meas, bound=beta_scale * bnd, point={"part": part, "lam": lam},
                              extra={"beta_lambda": beta})


@claim_factory(
    drop_log_card=Fault(False, "omits log|A^i| from the per-agent barrier: it then differs from the joint one"),
    conditional=Fault("bayes", "'intervention': Q(s, a^{P+}) by clamping a^{P+} and sampling the other agents from "
                               "their own factors; wrong on the chain 0->1->2 (agent 2's grandparent)"),
    weighting=Fault("joint", "'state': d(s, a^{P^i}) replaced by d(s) (the parent marginal dropped)"),
    beta_scale=Fault(1.0, "multiplies beta_lambda and its parts (1e-3: a wrong constant)"),
)
def make_claims(*, faults):
    """Build the barrier, Lemma 1 and Lemma 4 claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, assumptions=meter_rows, instances=_instances,
                  search=(random_space(),))
    return [
        Claim(id="chen2024.barrier_joint", source="§4.1 (log-barrier objective)", **common,
              statement="The per-agent log barrier of L_lambda equals the joint log barrier "
                        "-E_{s~Unif} KL(Unif_A || pi_theta(.|s)) for every DAG.",
              latex=r"\sum_i\Big(\frac{\sum_{s,a^{P^i},a^i}\log\pi^i}{|S||\mathcal A^{P^i}||\mathcal A^i|}+\log|\mathcal A^i|\Big)"
                    r"=-E_{s\sim\mathrm{Unif}}\mathrm{KL}(\mathrm{Unif}_{\mathcal A}\|\pi_\theta(\cdot|s))",
              measure=lambda inst, rng, quick: _barrier_measure(inst, rng, quick, f["drop_log_card"]),
              notes="Both sides by log-softmax; near-deterministic logits (scale 100) included. Identity within 1e-12."),
        Claim(id="chen2024.lemma1", source="Lemma 1; App. A.1", **common,
              statement="For the tabular softmax BN policy, dL/dtheta^i_{s,a^P,a^i} = 1/(1-gamma) d(s,a^P) pi^i A^i + "
                        "lambda/(|S||A^P|) (1/|A^i| - pi^i), with d(s,a^P) = d(s) pi(a^P|s) and A^i = Q(s,a^{P+}) - "
                        "Q(s,a^P) (Bayesian conditionals).",
              latex=r"\frac{\partial L_\lambda}{\partial\theta^i_{s,a^{P^i},a^i}}=\frac{1}{1-\gamma}d_\mu^{\pi_\theta}(s,a^{P^i})"
                    r"\pi^i_{\theta^i}(a^i|s,a^{P^i})A^i_\theta(s,a^{P^i},a^i)+\frac{\lambda}{|S||\mathcal A^{P^i}|}"
                    r"\Big(\frac1{|\mathcal A^i|}-\pi^i_{\theta^i}(a^i|s,a^{P^i})\Big)",
              measure=lambda inst, rng, quick: _lemma1_measure(inst, rng, quick, f["conditional"], f["weighting"]),
              notes=f"measured = max_k |formula_k - FD_k| (central differences of the exact L, eps = {FD_EPS}); bound "
                    f"{FD_RTOL} max(1, |L|, max|FD|). point.reading: d normalised (sums to 1; holds) or §2's "
                    "unnormalised d (sums to 1/(1-gamma)): violated for gamma > 0 by the factor 1/(1-gamma) "
                    "(extra.value_ratio_to_fd), a finding about the printed normalisation."),
        Claim(id="chen2024.lemma4", source="Lemma 4 (App. A); Theorems 1-2", **common,
              statement="L_lambda is beta_lambda-smooth with beta_lambda = 8N(r_max - r_min)/(1-gamma)^3 + "
                        "sum_i 2 lambda/(|S||A^{P^i}|).",
              latex=r"\|\nabla^2L_\lambda(\theta)\|_2\le\beta_\lambda=\frac{8N(r_{\max}-r_{\min})}{(1-\gamma)^3}"
                    r"+\sum_i\frac{2\lambda}{|\mathcal S||\mathcal A^{P^i}|}",
              measure=lambda inst, rng, quick: _lemma4_measure(inst, rng, quick, f["beta_scale"]),
              notes="Value Hessian by central differences of the exact gradient, regulariser Hessian exact (block "
                    "diagonal); max |eigenvalue| over random theta at several scales. point.part: value vs "
                    "8N Dr/(1-gamma)^3, regulariser vs sum_i 2 lambda/(|S||A^P|), total vs beta_lambda.",
              rtol=1e-6),
    ]


for _claim in make_claims():
    register(_claim)
