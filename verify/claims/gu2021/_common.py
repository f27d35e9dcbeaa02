r"""What the gu2021 claim modules share: the paper, the guide's instance families, lifted-MDP caches.

Instances are :class:`~netmarl_verify.envs.MeanFieldNetwork` models of the guide's families (§8:
``relay``, ``split``, ``lazy_walk``, ``identity2``, ``congestion``, ``random_lifted``), reproducible
from (family, parameters, seed): every random ingredient (random kernels, the individual policy,
the energy-policy parameters) is drawn from :func:`~netmarl_verify.verify.instance_seed` of the
instance name. The payload holds the model, the individual policy ``pi[s, c, a]``, and caches of
the lifted MDP per team-reward reading (guide §3: ``"weighted"``, the default, and ``"printed"``).
"""

import math

import numpy as np

from netmarl_verify.envs import _mean_field as mf
from netmarl_verify.verify import Assumption, Instance, instance_seed

__all__ = ["PAPER", "PAPER_FILE", "READINGS", "make_instance", "lifted_of", "individual_policy", "energy_params",
           "meter_rows", "family_model", "FAMILIES", "SEED_MAX"]

PAPER = "gu2021"
PAPER_FILE = "gu2021_mean_field_marl_network_of_states.txt"
READINGS = mf.TEAM_REWARDS
FAMILIES = ("relay", "split", "lazy_walk", "identity2", "congestion", "random")
SEED_MAX = 2**31 - 1


def family_model(family, **p):
    """The model of a guide §8 family from its parameters."""
    if family == "relay":
        return mf.mf_relay(p.get("N", 3), p.get("gamma", 0.9), p.get("reward", "indicator"))
    if family == "split":
        return mf.mf_split(p.get("gamma", 0.9))
    if family == "lazy_walk":
        return mf.mf_lazy_walk(p.get("L", 3), p.get("N", 2), p.get("A", 1), p.get("gamma", 0.9),
                                 p.get("initial", "uniform"))
    if family == "identity2":
        return mf.mf_identity2(p.get("gamma", 0.9))
    if family == "congestion":
        return mf.mf_congestion(p.get("L", 4), p.get("topology", "path"), p.get("alpha", 0.5), p.get("cost", 0.1),
                                  p.get("N", 2), p.get("gamma", 0.9), seed=p.get("seed", 0))
    if family == "random":
        return mf.mf_random(p.get("graph", "path"), p.get("S", 3), p.get("N", 2), p.get("A", 2), p.get("gamma", 0.9),
                              seed=p.get("seed", 0), signed=p.get("signed", False), mu_weight=p.get("mu_weight", 1.0))
    raise ValueError(f"unknown gu2021 family {family!r}; known: {FAMILIES}")


def make_instance(family, master=0, name=None, **params):
    """An :class:`~netmarl_verify.verify.Instance` of a family (module docstring); `master` is the run's master
    seed (the policy and energy parameters are drawn from it), ``params["seed"]`` a random family's own seed."""
    model = family_model(family, **params)
    name = name or f"{family} " + " ".join(f"{k}={v}" for k, v in params.items())
    rng = np.random.default_rng(instance_seed(master, name + " policy"))
    pi = mf.random_individual_policy(model, rng)
    sizes = mf.lift_sizes(model.n_agents, model.n_states, model.n_actions)
    return Instance(name=name, params={"family": family, **params}, family=family, size=float(sizes.n_xi),
                    payload={"model": model, "pi": pi, "seed": master, "name": name, "_lifted": {}})


def lifted_of(instance, reading="weighted"):
    """The :class:`~netmarl_verify.envs.LiftedMDP` of an instance under a reading (cached)."""
    cache = instance.payload["_lifted"]
    if reading not in cache:
        cache[reading] = mf.lift(instance.payload["model"], reading)
    return cache[reading]


def individual_policy(instance):
    """The instance's individual policy ``pi[s, c, a]`` (Dirichlet, from the seed)."""
    return instance.payload["pi"]


def energy_params(instance, M=16, kind="random", tau=1.0, b_kind="pm1"):
    r"""``(theta, b)`` of the energy policy (14) for an instance.

    kind : {"random", "gate"}
        ``"random"``: :math:`[\theta_s]_m\sim N(0, I/d)` (gu2021 §4.3) from the instance seed;
        ``"gate"``: every neuron active exactly on the types with more weight on action 0
        (:math:`[\theta_s]_m = (0, 1, -1, 0, \dots)`), the extremal case of :math:`\|\Phi\|`.
    b_kind : {"pm1", "ones"}
        :math:`b_m\sim\mathrm{Unif}\{\pm1\}` (Alg. 1-2) or :math:`b_m\equiv1` (§4.3).
    """
    model = instance.payload["model"]
    nS, nA = model.n_states, model.n_actions
    d = 1 + nA
    rng = np.random.default_rng(instance_seed(instance.payload["seed"], instance.payload["name"] + f" theta {M}"))
    theta = rng.normal(size=(nS, M, d)) / math.sqrt(d)
    b = rng.choice([-1.0, 1.0], size=M) if b_kind == "pm1" else np.ones(M)
    if kind == "gate":
        theta = np.zeros((nS, M, d))
        theta[:, :, 1] = 1.0
        if nA > 1:
            theta[:, :, 2] = -1.0
        b = -np.ones(M)
    return theta, b


def meter_rows(instance):
    """Metered (informational) hypotheses: bounded reward, reward sign, whether P reads μ."""
    model = instance.payload["model"]
    R = model.reward_table()
    return [
        Assumption("bounded reward (r_max)", True, model.r_max, "finite",
                   f"max|r| = {model.r_max:.6g}, min r = {R.min():.6g}, max r = {R.max():.6g}"),
        Assumption("P reads mu (meter)", True, float(model.kernel_reads_mu()), "-",
                   "1: the kernel depends on mu(N_s); 0: it ignores mu"),
    ]
