r"""What the qu2020 claim modules share: the paper, Theorem 1's and Assumption 4's hypotheses,
the instance families and the seeds.

Seeds. Instances are generated from :func:`netmarl_verify.verify.instance_seed` ``(seed, name)``
(re-exported here), so an instance does not depend on the others. **Known wart:** the decay
claims (:mod:`.decay`) draw *all* their instances from one sequential ``default_rng(seed)``, so
each instance there depends on the list before it (against the promise of
:mod:`netmarl_verify.verify._run`). Moving them to :func:`instance_seed` would change their
numbers, which the restructuring of issue 15 must not do; it is left for a change that
re-records the golden master.

Families. :class:`~netmarl_verify.verify.Instance` ``family`` says which construction an
instance comes from (:data:`COPY_CHAIN`, ...); claims and figures select on it, never on
substrings of the display name.
"""

import numpy as np
import sympy

from netmarl_verify.solvers.exact import interaction_matrix, row_sums
from netmarl_verify.verify import Assumption, assume_greater, assume_less, instance_seed

__all__ = [
    "PAPER",
    "PAPER_FILE",
    "rbar",
    "rho",
    "kappa",
    "RBAR",
    "instance_seed",
    "COPY_CHAIN",
    "SIGNED_COPY_CHAIN",
    "COUPLED",
    "RANDOM",
    "family_map",
    "theorem1_constants",
    "theorem1_assumption",
    "theorem1_gives_assumption2",
    "rbar_by_construction",
    "nonnegative_rewards",
    "assumption4",
]

PAPER = "qu2020"
PAPER_FILE = "qu2020_scalable_marl_average_reward.txt"

#: Symbols of Theorem 1's constants, shared by every bound (keys of ``Measurement.values``).
rbar, rho, kappa = sympy.symbols(r"\bar{r} rho kappa", positive=True)
RBAR = rbar.name

# ----------------------------------------------------------------------------- families
#: :func:`envs.copy_chain_mdp` with rewards in {0, rbar} (Lemma 3's TV bound attained).
COPY_CHAIN = "copy-chain"
#: :func:`envs.copy_chain_mdp` with signed rewards in {-rbar, rbar} (the factor-2 finding).
SIGNED_COPY_CHAIN = "signed copy-chain"
#: :func:`envs.coupled_networked_mdp` (Theorem 1's condition by construction, unless too strong).
COUPLED = "coupled"
#: :func:`envs.random_networked_mdp`: App. B.4 kernels (Theorem 1's row sums typically > 1).
RANDOM = "random"


def family_map(specs):
    """``{name: family}`` of instance specs whose first two fields are (name, family)."""
    return {spec[0]: spec[1] for spec in specs}


# ----------------------------------------------------------------------------- Theorem 1
def theorem1_constants(inst, mdp=None, key="_theorem1"):
    r"""``(rho, row sums)`` of Theorem 1 for the instance's model (or `mdp`), cached in the payload under `key`.

    :math:`\rho = \max_i\sum_j C_{ij}` of :func:`~netmarl_verify.solvers.exact.interaction_matrix`.
    """
    if key not in inst.payload:
        r, sums = row_sums(interaction_matrix(inst.payload["mdp"] if mdp is None else mdp))
        inst.payload[key] = (float(r), sums)
    return inst.payload[key]


# Two builders for Theorem 1's condition, on purpose: the decay claims (thm1, cor1, lemma2a/b) and
# the SAC claims (thm3a, thm2) have always recorded different names and details for it (the SAC
# name says that it is how Assumption 2 is obtained), and assumption names and details are part of
# the rows. One builder would change rows; both share the test and the measured value.
def _theorem1_condition(name, r, detail):
    return assume_less(name, r, 1, detail)


def theorem1_assumption(r, sums):
    """Theorem 1's row-sum condition, as the decay claims record it (with the worst agent)."""
    worst = int(np.argmax(sums))
    return _theorem1_condition("max_i sum_j C_ij <= rho < 1 (Theorem 1)", r,
                               f"row sums {np.round(sums, 4).tolist()}; largest at agent {worst}")


def theorem1_gives_assumption2(r, sums):
    """Theorem 1's row-sum condition, as the SAC claims record it (the route to Assumption 2)."""
    return _theorem1_condition("max_i sum_j C_ij <= rho < 1 (Theorem 1, gives Assumption 2)", r,
                               f"row sums {np.round(sums, 4).tolist()}")


# Two reward hypotheses, on purpose: Theorem 1 is *stated* for |r_i| <= rbar, which holds by
# construction when rbar is measured as max_i |r_i| (the decay module's finding is that the proof
# needs 0 <= r_i); Assumption 1 of the SAC analysis states 0 <= r_i <= rbar, whose lower end can fail.
def rbar_by_construction(rb):
    """``|r_i| <= rbar`` with rbar measured as ``max_i |r_i|``: holds by construction (Theorem 1 as stated)."""
    return Assumption("|r_i| <= rbar", holds=True, measured=rb, required="rbar = max_i |r_i|",
                      detail="rbar is measured as the largest |r_i|, so this holds by construction")


def nonnegative_rewards(mdp):
    """``0 <= r_i <= rbar`` (Assumption 1): the smallest reward must be >= 0."""
    lo = float(min(np.min(r) for r in mdp.rewards))
    return Assumption("0 <= r_i <= rbar (Assumption 1)", holds=lo >= 0, measured=lo, required="min_i r_i >= 0",
                      detail=f"rbar = max_i |r_i| = {mdp.reward_bound:.4g}; the lower end is what can fail")


# ----------------------------------------------------------------------------- Assumption 4
def assumption4(sigma, mu, where):
    r"""Assumption 4 (a) :math:`\sigma = \min_z\pi(z) > 0` and (b) :math:`\mu_D < 1`, measured `where`."""
    return [
        assume_greater("sigma = min_z pi(z) > 0 (Assumption 4(a))", sigma, 0, where),
        assume_less("mu_D = ||P - 1 pi^T||_D < 1 (Assumption 4(b))", mu, 1, where),
    ]
