r"""zhang2025: Lipschitz and smoothness constants of J (Assumption 5.8) and the descent step (8) l. 1.

``zhang2025.assump5_8``    meter :math:`L_J = \sup\|\nabla J\|` and the smoothness constant :math:`\beta = \sup\|\nabla^2 J\|_{op}`
                           (central differences of the exact gradient) on θ samples around the instance's θ, against
                           the reference :math:`8\,\Delta r/(1-\gamma)^3` for the softmax (Agarwal et al. 2021, Lemma D.4;
                           Δr = max r − min r, V is shift-invariant in its Hessian).
``zhang2025.eq8_descent``  :math:`-J(\theta+\Delta)\le-J(\theta)-\langle\nabla J(\theta),\Delta\rangle+L\|\Delta\|^2` along normalised
                           steps :math:`\Delta = h\,d/\|d\|`, with L the printed :math:`L_J` (a Lipschitz constant of J) and
                           with :math:`\beta/2` (the descent lemma's constant); checked in the equivalent form
                           :math:`J(\theta)+\langle\nabla J,\Delta\rangle-J(\theta+\Delta)\le L\|\Delta\|^2`.

Readings. Assumption 5.8 names a Lipschitz constant, but (8) l. 1 uses it as a smoothness constant. The reference
constant is Agarwal et al.'s for the *joint* tabular softmax; a product of N per-agent tabular softmaxes on the global
state is the joint softmax composed with the linear map M (joint logit = sum of the agents' logits), so its Hessian
is :math:`M^\top\nabla^2 M` with :math:`\|M\|^2 = N|\mathcal A^i|^{N-1}`: the row uses :math:`8N|\mathcal A^i|^{N-1}\Delta r/(1-\gamma)^3`
(= Agarwal's for N = 1); other parametrisations are "not applicable" for the reference. On ``eq8_descent`` the
printed reading (L = L_J measured on the same samples) can fail when :math:`L_J < \beta/2` and the step is large:
rows record both. Measured: the reference is loose by about 1e4 on the random instances (beta ~ 0.2-1.2
against 1.7e3-4.3e4), and L_J/(beta/2) >= 1.9 on every instance, so the printed reading of (8) l. 1 holds there.
"""

import math

import numpy as np

from netmarl_verify.solvers.exact._fisher import advantage_policy_gradient, exact_objective
from netmarl_verify.verify import Assumption, Claim, Fault, Measurement, claim_factory, register

from ._common import PAPER, PAPER_FILE, make_instance, mamdp_space, model_of, reward_meters

__all__ = ["make_claims", "HESS_EPS", "STEPS"]

#: Step of the central differences of the exact gradient (error ~ eps^2 |J''''| + 1e-16 |grad| / eps).
HESS_EPS = 1e-5
#: Normalised step lengths of eq8_descent.
STEPS = (1e-3, 1e-2, 0.1, 0.5, 1.0, 2.0)


def _instances(quick, seed):
    yield make_instance("random_mdp", S=3, A=2, gamma=0.9, seed=seed)
    yield make_instance("random_mamdp", N=2, S=2, A_i=2, gamma=0.8, scale=1.0, parametrisation="tabular", seed=seed)
    yield make_instance("bandit3_loop", c=1.0, theta=2.0, gamma=0.9)
    if not quick:
        yield make_instance("random_mamdp", N=2, S=3, A_i=2, gamma=0.5, scale=3.0, parametrisation="reduced",
                            seed=seed + 1)
        yield make_instance("random_mdp", S=2, A=3, gamma=0.95, scale=0.2, seed=seed + 2)


def _grad(m, flat):
    return advantage_policy_gradient(m, m.policy.with_flat(flat)).grad


def _hessian(m, flat):
    p = flat.size
    H = np.empty((p, p))
    for k in range(p):
        e = np.zeros(p)
        e[k] = HESS_EPS
        H[:, k] = (_grad(m, flat + e) - _grad(m, flat - e)) / (2 * HESS_EPS)
    return 0.5 * (H + H.T)


def _samples(m, rng, quick):
    base = m.policy.flat
    out = [base]
    for _ in range(4 if quick else 16):
        out.append(base + rng.normal(scale=2.0, size=base.size))
    return out


def _constants(instance, rng, quick):
    m = model_of(instance)
    thetas = _samples(m, rng, quick)
    grads = [_grad(m, th) for th in thetas]
    hess = [float(np.linalg.norm(_hessian(m, th), 2)) for th in thetas]
    return m, thetas, grads, hess


def _reference(m, instance, scale):
    par = instance.params.get("parametrisation", "tabular" if instance.family in ("random_mdp",) else "-")
    dr = float(m.mdp.R.max() - m.mdp.R.min())
    A = m.action_sizes[0]
    return par, scale * 8 * m.n_agents * A ** (m.n_agents - 1) * dr / (1 - m.gamma) ** 3


def _assump5_8_rows(instance, rng, quick, ref_scale=1.0):
    m, thetas, grads, hess = _constants(instance, rng, quick)
    par, ref = _reference(m, instance, ref_scale)
    L_J = max(float(np.linalg.norm(g)) for g in grads)
    hyp = [Assumption("tabular softmax (the reference's setting)", par == "tabular", None, "tabular", par)]
    yield Measurement(measured=max(hess), bound=ref, point={"check": "beta = sup ||Hess J|| <= 8 N A^(N-1) dr/(1-g)^3"},
                      extra={"L_J": L_J, "beta": max(hess), "samples": len(thetas),
                             "L_J_over_beta_half": L_J / (max(hess) / 2) if max(hess) > 0 else float("inf")},
                      assumptions=hyp)


def _descent_rows(instance, rng, quick, L_scale=1.0):
    m, thetas, grads, hess = _constants(instance, rng, quick)
    L_J = max(float(np.linalg.norm(g)) for g in grads)
    beta = max(hess)
    for j, (th, g) in enumerate(zip(thetas[:3], grads[:3])):
        J0 = exact_objective(m, m.policy.with_flat(th))
        dirs = {"grad": g / np.linalg.norm(g)} if np.linalg.norm(g) > 0 else {}
        u = rng.normal(size=th.size)
        dirs["random"] = u / np.linalg.norm(u)
        for dname, d in dirs.items():
            for h in STEPS:
                J1 = exact_objective(m, m.policy.with_flat(th + h * d))
                for reading, L in (("printed: L = L_J", L_J), ("descent lemma: L = beta/2", beta / 2)):
                    # the equivalent form J(theta) + <grad, Delta> - J(theta + Delta) <= L ||Delta||^2 (ratio = tightness)
                    yield Measurement(measured=J0 + h * float(g @ d) - J1, bound=L_scale * L * h ** 2,
                                      point={"reading": reading, "theta": j, "direction": dname, "h": h},
                                      values={"L_J": L_J, "beta": beta})


@claim_factory(
    ref_scale=Fault(1.0, "multiplies the reference smoothness constant (x1e-5: below the measured beta)"),
    L_scale=Fault(1.0, "multiplies the constant in the descent step (x0: the quadratic term dropped, violated by "
                       "any concave direction)"),
)
def make_claims(*, faults):
    """Build ``zhang2025.assump5_8`` and ``zhang2025.eq8_descent``."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, instances=_instances, assumptions=reward_meters,
                  search=(mamdp_space(("tabular",)),))
    return [
        Claim(id="zhang2025.assump5_8", source="Assumption 5.8; Agarwal et al. (2021) Lemma D.4", **common,
              statement="J is L_J-Lipschitz (and, as (8) uses it, smooth); for the tabular softmax the smoothness "
                        "constant is at most 8 dr/(1-gamma)^3 (N agents: 8 N A^(N-1) dr/(1-gamma)^3).",
              latex=r"|J(\theta)-J(\theta')|\le L_J\|\theta-\theta'\|,\qquad\|\nabla^2J(\theta)\|_{op}\le"
                    r"\frac{8N|\mathcal A^i|^{N-1}\Delta r}{(1-\gamma)^3}",
              measure=lambda inst, rng, quick: _assump5_8_rows(inst, rng, quick, f["ref_scale"]),
              notes=f"Meter: Hessian by central differences of the exact gradient (eps {HESS_EPS}) at the instance's "
                    "theta and random perturbations (sd 2); extra: L_J, beta, L_J/(beta/2)."),
        Claim(id="zhang2025.eq8_descent", source="proof of Thm 5.10, (8) l. 1; Assumption 5.8", **common,
              statement="-J(theta + Delta) <= -J(theta) - <grad J(theta), Delta> + L ||Delta||^2 along normalised steps, "
                        "with the printed L = L_J and with the descent lemma's beta/2.",
              latex=r"-J(\theta_{t+1})\le-J(\theta_t)-\langle\nabla J(\theta_t),\theta_{t+1}-\theta_t\rangle+"
                    r"L_J\|\theta_{t+1}-\theta_t\|^2",
              measure=lambda inst, rng, quick: _descent_rows(inst, rng, quick, f["L_scale"]),
              notes=f"Steps h in {STEPS} along grad J/||grad J|| and a random unit direction, from 3 theta samples; "
                    "L_J and beta measured on the samples of assump5_8 (a local, not global, supremum)."),
    ]


for _claim in make_claims():
    register(_claim)
