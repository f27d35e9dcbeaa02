r"""What the ying2023 claim modules share: the paper, utilities, instances, Assumption 1's meter.

Instances are :class:`~netmarl_verify.envs.UtilityInstance` objects from the guide's families
(``shared/claims/ying2023.md`` §10), generated from :func:`~netmarl_verify.verify.instance_seed`
``(seed, name)``; the payload holds the instance and the utilities ``f_i``.

Utilities. ``"linear"``: :math:`f_i = \langle r_i, \lambda_i\rangle` with the instance's local
rewards; ``"entropy"``: agent ``i`` even linear, odd local state entropy; ``"apprenticeship"``:
:math:`-\|\lambda_i - \lambda_{e,i}\|_2^2` toward the occupancy of a second random policy.

Assumption 1's meter (eq. (11)-(12)) is :func:`assumption1_rows`; :math:`M_f` is measured as
:math:`\max_i\|r_i^{\pi_\theta}\|_\infty` at the instance's θ (the sup over θ that Lemma 2 asks for
is not computable; the report says so), next to the utility's closed-form bound on Λ.
"""

import math

import numpy as np

from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    ApprenticeshipUtility,
    LinearUtility,
    StateEntropyUtility,
    assumption1,
    discounted_occupancy,
    influence_matrix,
    lemma2_bound,
    local_occupancies,
    shadow_problem,
)
from netmarl_verify.verify import Assumption, Instance, assume_less, instance_seed

__all__ = ["PAPER", "PAPER_FILE", "UTILITIES", "make_instance", "utilities_for", "problem_of",
           "assumption1_rows", "influence_of", "bound_lemma2", "measured_mf", "RELAY", "MIXTURE", "RANDOM_KHOP",
           "COPY_CHAIN", "ABSORBING"]

PAPER = "ying2023"
PAPER_FILE = "ying2023_scalable_marl_general_utilities.txt"

RELAY = "relay"
MIXTURE = "mixture"
RANDOM_KHOP = "random-khop"
COPY_CHAIN = "copy-chain"
ABSORBING = "absorbing-pair"

UTILITIES = ("linear", "entropy", "apprenticeship")


def utilities_for(inst, kind, rng=None):
    """The local utilities ``f_i`` of kind ``kind`` (module docstring) for a UtilityInstance."""
    mdp = inst.mdp
    n = mdp.n
    if kind == "linear":
        return [LinearUtility(np.asarray(r)) for r in inst.local_rewards]
    if kind == "entropy":
        return [StateEntropyUtility(inst.gamma) if i % 2 else LinearUtility(np.asarray(inst.local_rewards[i]))
                for i in range(n)]
    if kind == "apprenticeship":
        expert = envs.LocalSoftmaxPolicy.random(mdp, np.random.default_rng(rng), draw="dirichlet")
        lam = discounted_occupancy(mdp, expert, inst.gamma, inst.initial)
        targets = local_occupancies(lam, mdp.state_sizes, mdp.action_sizes)
        return [ApprenticeshipUtility(t) for t in targets]
    raise ValueError(f"utility kind must be one of {UTILITIES}, got {kind!r}")


def make_instance(inst, utility="linear", *, family="", seed=0, name=None, extra=None):
    """An :class:`~netmarl_verify.verify.Instance` around a UtilityInstance and its utilities."""
    name = name or f"{inst.name} " + " ".join(f"{k}={v}" for k, v in inst.params.items()) + f" f={utility}"
    rng = np.random.default_rng(instance_seed(seed, name + " utility"))
    utilities = utilities_for(inst, utility, rng)
    params = {**inst.params, "utility": utility}
    return Instance(name=name, params=params, payload={"inst": inst, "utilities": utilities, **(extra or {})},
                    size=float(inst.mdp.n_states * inst.mdp.n_actions), family=family)


def problem_of(instance, policy=None):
    """The :class:`~netmarl_verify.solvers.exact.ShadowProblem` of an instance (cached per policy object)."""
    p = instance.payload
    inst = p["inst"]
    pol = inst.policy if policy is None else policy
    cache = p.setdefault("_problems", {})
    key = id(pol)
    if key not in cache:
        cache[key] = (pol, shadow_problem(inst.mdp, pol, inst.gamma, p["utilities"], inst.initial))
    return cache[key][1]


def influence_of(instance):
    """ying2023's influence matrix M (eq. (11)), brute force on the kernels, cached."""
    p = instance.payload
    if "_M" not in p:
        p["_M"] = influence_matrix(p["inst"].mdp)
    return p["_M"]


def measured_mf(problem):
    r""":math:`\max_i\|r_i^{\pi_\theta}\|_\infty` at the instance's θ (module docstring)."""
    return float(max(np.abs(r).max() for r in problem.shadow_rewards))


def assumption1_rows(instance, gamma=None):
    """Assumption 1 measured: the β = 0 row sum against 1/γ, and whether β* is finite."""
    inst = instance.payload["inst"]
    gamma = inst.gamma if gamma is None else gamma
    M = influence_of(instance)
    a1 = assumption1(M, inst.mdp.distances, gamma)
    rows = M.sum(axis=1)
    worst = int(np.argmax(rows))
    out = [assume_less("Assumption 1: max_i sum_j M_ij < 1/gamma", float(rows.max()), round(1.0 / gamma, 12),
                       f"agent {worst}: sum_j M_{worst}j = {rows.max():.6g} (M = ying2023 eq. (11), TV = half l1); "
                       f"1/gamma = {1.0 / gamma:.6g}")]
    if a1.feasible:
        offdiag = M * (inst.mdp.distances > 0)
        out.append(Assumption("Assumption 1: beta*(rho) range", True, None,
                              "some beta >= 0 with max_i sum_j e^{beta d(i,j)} M_ij <= rho < 1/gamma",
                              "beta* = inf (no influence at positive distance)" if not offdiag.any()
                              else f"rho in [{rows.max():.6g}, {1.0 / gamma:.6g})"))
    return out


def bound_lemma2(instance, mf, kappa, scale=1.0):
    r"""``(value, rho*)``: :math:`\inf_\rho c_0(\rho)e^{-\beta^*(\rho)\kappa}`, :math:`c_0 = 2\gamma\rho M_f/(1-\gamma\rho)`."""
    inst = instance.payload["inst"]
    b = lemma2_bound(influence_of(instance), inst.mdp.distances, inst.gamma, mf, kappa)
    return scale * b.value, b.rho
