r"""What the chen2024 claim modules share: the paper, instances of the guide's families, meters, stationary points.

Instances are :class:`~netmarl_verify.envs.BNGameInstance` objects of :func:`~netmarl_verify.envs.bn_game`
(guide §7), reproducible from (family, parameters, seed); the payload caches :math:`M`
(:func:`~netmarl_verify.solvers.exact.mismatch_coefficient`) and :math:`V^*`. Random initial logits are
drawn from :func:`~netmarl_verify.verify.instance_seed` of the instance name.
"""

import math

import numpy as np
import scipy.optimize

from netmarl_verify.envs._bn_games import BNSoftmaxPolicy, bn_game
from netmarl_verify.solvers.exact._bn_exact import (
    bn_gradient,
    bn_objective,
    bn_optimal_value,
    mismatch_coefficient,
)
from netmarl_verify.verify import Assumption, Choice, Instance, Integer, Real, SearchSpace, instance_seed

__all__ = ["one_blas_thread", "PAPER", "PAPER_FILE", "SEED_MAX", "make_instance", "mismatch_of", "vstar_of", "random_theta",
           "stationary_point", "meter_rows", "random_space", "thresholds"]

PAPER = "chen2024"
PAPER_FILE = "chen2024_bayesian_network_policy_gradient_rates.txt"
SEED_MAX = 2**31 - 1


def make_instance(family, seed=0, name=None, **params):
    """An :class:`~netmarl_verify.verify.Instance` of a guide §7 family (payload: the BN game instance)."""
    inst = bn_game(family, seed=seed, **params)
    name = name or f"{family} " + " ".join(f"{k}={v}" for k, v in params.items()) + f" seed={seed}"
    return Instance(name=name.strip(), params={"family": family, "seed": seed, **params}, family=family,
                    size=float(inst.game.n_states * inst.game.n_actions),
                    payload={"bn": inst, "name": name, "seed": seed})


def mismatch_of(instance):
    """Cached :class:`~netmarl_verify.solvers.exact.MismatchCoefficient` of the instance's game."""
    pl = instance.payload
    if "M" not in pl:
        pl["M"] = mismatch_coefficient(pl["bn"].game)
    return pl["M"]


def vstar_of(instance):
    r"""Cached :math:`V^*(\mu)`."""
    pl = instance.payload
    if "vstar" not in pl:
        pl["vstar"] = bn_optimal_value(pl["bn"].game)[0]
    return pl["vstar"]


def random_theta(instance, label, scale=1.0):
    """Gaussian logits (std `scale`) for the instance's policy, from the instance seed and `label`."""
    inst = instance.payload["bn"]
    rng = np.random.default_rng(instance_seed(instance.payload["seed"], instance.payload["name"] + " " + label))
    return [scale * rng.standard_normal(s) for s in BNSoftmaxPolicy(inst.game, inst.dag).shapes]


def stationary_point(game, policy0, lam, gtol=1e-11, maxiter=20_000):
    r"""A stationary point of :math:`L_\lambda` by L-BFGS with the analytic gradient (guide §8: to ‖∇‖ <= 1e-10).

    Returns ``(policy, grad_norm)``.
    """
    def f(x):
        pol = policy0.with_flat(x)
        return -bn_objective(game, pol, lam)

    def g(x):
        return -bn_gradient(game, policy0.with_flat(x), lam).flat

    res = scipy.optimize.minimize(f, policy0.flat, jac=g, method="L-BFGS-B",
                                  options={"gtol": gtol, "ftol": 0.0, "maxiter": maxiter, "maxcor": 30})
    pol = policy0.with_flat(res.x)
    return pol, bn_gradient(game, pol, lam).norm


def thresholds(game, lam):
    r"""The gradient thresholds the text uses (guide §2, Lemma 2): statement, A.2's per-coordinate, A.3's."""
    nS, nA, amax = game.n_states, game.n_actions, max(game.action_sizes)
    return {"statement": lam / (2 * nS * nA * amax), "A.3": lam / (2 * nS * amax)}


def meter_rows(instance):
    """Assumptions 1-2 metered: coverage min_s min_pi d~(s) > 0 (M finite), bounded reward."""
    game = instance.payload["bn"].game
    Mc = mismatch_of(instance)
    lo, hi = game.reward_range
    return [
        Assumption("coverage (Assumption 1)", bool(Mc.d_min.min() > 0), float(Mc.d_min.min()), "> 0",
                   f"min_s min_pi d~(s); M = {Mc.M:.6g} (state {Mc.argmax_state})"),
        Assumption("bounded reward (Assumption 2)", bool(np.isfinite([lo, hi]).all()), hi - lo, "finite",
                   f"r in [{lo:.6g}, {hi:.6g}]"),
    ]


def random_space(build_extra=None, dags=("product", "chain", "star", "full"), doc=""):
    """The ``random`` family's search space (guide §7: |S| = 2-4, N = 2-3, binary, several DAGs)."""
    def build(p):
        return make_instance("random", p["seed"], S=p["S"], N=p["N"], A=2, gamma=p["gamma"], dag=p["dag"])

    return SearchSpace("random", {"S": Integer(1, 4), "N": Integer(2, 3), "gamma": Real(0.0, 0.95),
                                  "dag": Choice(tuple(dags)), "seed": Integer(0, SEED_MAX)}, build,
                       doc or "random cooperative games (Dirichlet kernels, U[0,1) rewards), binary actions")


def log_lam_space(family, fixed, doc):
    """A family with λ searched on a log scale."""
    def build(p):
        q = dict(fixed)
        q.update({k: v for k, v in p.items() if k != "seed"})
        return make_instance(family, p.get("seed", 0), **q)

    return SearchSpace(family, {"lam": Real(1e-4, 1e-1, log=True), "seed": Integer(0, SEED_MAX)}, build, doc)


def fmt(x):
    return f"{x:.6g}" if isinstance(x, float) and math.isfinite(x) else str(x)


def one_blas_thread(fn):
    """Run a measurement with one BLAS thread and collect its rows: the ascents' thousands of small
    solves would otherwise round differently with the thread count (reruns must be bit-identical)."""
    import functools

    from threadpoolctl import threadpool_limits

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with threadpool_limits(limits=1):
            return list(fn(*args, **kwargs))

    return wrapped
