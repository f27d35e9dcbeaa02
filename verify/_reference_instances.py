r"""Named reference instances with their exact answers, for regression tests.

A reference instance is a small model, a policy and everything exact about them: the
stationary distribution :math:`d`, the average reward :math:`J`, the state values, the
Q-function at documented state-action pairs and the policy gradient. It is reproducible from
``(name, parameters, seed)``: :func:`reference_instance` called twice with the same arguments
returns identical arrays.

Every answer is computed by the exact solvers of :mod:`netmarl_verify.solvers.exact`; the test
suite checks each one a second, independent way (a closed form, a brute-force dense solve, or
finite differences).

Instances
---------
``"qu2020-line"`` (parameters ``n=4, state_size=2, action_size=3, gamma=None``)
    The random line of qu2020 App. B.4, exactly ``netmarl_verify.envs.qu2020_line(n, rng=seed,
    ...)``: uniform random local kernels and rewards in [0, 1], a random local softmax policy.
``"two-state-closed-form"`` (parameters ``gamma=None``)
    A :class:`~netmarl_verify.envs.TabularMDP` with two states and two actions: in state
    :math:`s`, action :math:`a` moves to the other state with probability :math:`c(s, a)` and
    pays :math:`R(s, a)`; :math:`c \sim U(0.05, 0.95)`, :math:`R \sim U(0, 1)` and the logits of
    a :class:`~netmarl_verify.envs.TabularSoftmaxPolicy` :math:`\sim N(0, 1)` are drawn from the
    seed. With :math:`p = \sum_a \pi(a|0) c(0, a)`, :math:`q = \sum_a \pi(a|1) c(1, a)` and
    :math:`\bar r_s = \sum_a \pi(a|s) R(s, a)`, everything has a closed form:

    .. math::
        d = \Big(\frac{q}{p+q}, \frac{p}{p+q}\Big), \quad
        J = \frac{q \bar r_0 + p \bar r_1}{p+q}, \quad
        h = \Delta\,(d_1, -d_0),\ \Delta = \frac{\bar r_0 - \bar r_1}{p+q},

    :math:`Q(s,a) = R(s,a) - J + h(s) + c(s,a)\,(h(1-s) - h(s))` and
    :math:`\partial J/\partial\theta[s,b] = d_s\,\pi(b|s)\,(Q(s,b) - h(s))`.
``"copy-chain"`` (parameters ``n=4, rho=0.5, rbar=1.0, signed=False, action_size=2, gamma=None``)
    :func:`netmarl_verify.envs.copy_chain_mdp` with a random local softmax policy (actions have
    no effect, so the gradient is exactly zero). Agent 0 earns :math:`\bar r s_0` and
    :math:`E[s_0(t) \mid s(0)] = \tfrac12 + \rho^t (s_{\min(t, n-1)}(0) - \tfrac12)`, so
    :math:`J = \bar r / (2n)` and

    .. math:: Q(s, a) = \frac{\bar r}{n}\Big[\sum_{t=0}^{n-2} \rho^t (s_t - \tfrac12)
              + \frac{\rho^{n-1}}{1-\rho} (s_{n-1} - \tfrac12)\Big]

    (twice that with ``signed=True``, whose :math:`J` is 0).

With ``gamma`` given, :attr:`ReferenceInstance.q`, :attr:`~ReferenceInstance.v` and
:attr:`~ReferenceInstance.gradient` are the discounted ones (the gradient is that of
:math:`V(\mu_0) = \mu_0^\top V` with :math:`\mu_0` uniform); :attr:`~ReferenceInstance.d` and
:attr:`~ReferenceInstance.J` stay the stationary distribution and the average reward.

State-action pairs: every global pair (states major, in the order of
``np.ravel_multi_index``) when there are at most :data:`MAX_ALL_PAIRS` of them, otherwise
:data:`N_SAMPLED_PAIRS` pairs drawn uniformly from the same random stream, after the model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from netmarl_verify.envs import (
    LocalSoftmaxPolicy,
    TabularMDP,
    TabularSoftmaxPolicy,
    as_generator,
    copy_chain_mdp,
    qu2020_line,
)
from netmarl_verify.solvers.exact import evaluate_policy, objective, policy_gradient

__all__ = ["ReferenceInstance", "reference_instance", "list_reference_instances", "MAX_ALL_PAIRS",
           "N_SAMPLED_PAIRS"]

#: Up to this many global state-action pairs, a reference instance gives Q at all of them.
MAX_ALL_PAIRS = 4096
#: Otherwise, Q at this many pairs drawn from the instance's random stream.
N_SAMPLED_PAIRS = 512


def _as_generator(rng):
    """The one place randomness is normalised (``int | Generator | None`` -> ``Generator``)."""
    return as_generator(rng, "seed")


def _readonly(x):
    x = np.array(x, copy=True)
    x.setflags(write=False)
    return x


@dataclass(frozen=True, eq=False)
class ReferenceInstance:
    r"""A named model, a policy and their exact answers (see the module docstring).

    Attributes
    ----------
    name : str
        One of :func:`list_reference_instances`.
    params : mapping
        The parameters (defaults filled in), read-only.
    seed : int or None
        The seed the instance was drawn with; ``None`` when a ``numpy.random.Generator`` was
        passed (the instance is then reproducible only from that generator's state).
    mdp : NetworkedMDP or TabularMDP
    policy : LocalSoftmaxPolicy or TabularSoftmaxPolicy
    gamma : float or None
        ``None``: average reward; otherwise the discount of `q`, `v` and `gradient`.
    states, actions : ndarray of int
        The pairs `q` is given at: shape (m, n) of local indices for a networked model, (m,) of
        global indices for a tabular one.
    d : ndarray, shape (|S|,)
        Stationary distribution over global states (``np.ravel_multi_index`` order).
    J : float
        Average reward of the global reward.
    J_local : ndarray, shape (n,)
        Average reward of each agent's reward (shape (1,) for a tabular model).
    v : ndarray, shape (|S|,)
        State values of the global reward: the bias :math:`h` with :math:`d^\top h = 0`
        (average reward, qu2020 eq. (3)) or the discounted :math:`V`.
    q : ndarray, shape (m,)
        Q of the global reward at ``(states[k], actions[k])``.
    q_local : ndarray, shape (m, n)
        Every agent's :math:`Q_i` at the same pairs (shape (m, 1) for a tabular model).
    objective : float
        :math:`J` (average reward) or :math:`V(\mu_0)` with :math:`\mu_0` uniform (discounted):
        the function `gradient` differentiates.
    gradient : tuple of ndarray
        Exact gradient of `objective` with respect to ``policy.logits``, same shapes.
    description : str
        One line: what the instance is.
    """

    name: str
    params: Any
    seed: int | None
    mdp: Any
    policy: Any
    gamma: float | None
    states: np.ndarray
    actions: np.ndarray
    d: np.ndarray
    J: float
    J_local: np.ndarray
    v: np.ndarray
    q: np.ndarray
    q_local: np.ndarray
    objective: float
    gradient: tuple
    description: str

    def label(self):
        """``"'qu2020-line' n=4 seed 0"``: the name, the non-default parameters and the seed."""
        defaults = _DEFAULTS[self.name]
        shown = " ".join(f"{k}={v}" for k, v in self.params.items() if k in ("n",) or v != defaults[k])
        seed = "seed <Generator>" if self.seed is None else f"seed {self.seed}"
        return " ".join(p for p in (f"{self.name!r}", shown, seed) if p)

    def __repr__(self):
        return f"ReferenceInstance({self.label()}, {self.description})"


# -- the instances ---------------------------------------------------------------------------


def _qu2020_line(rng, n, state_size, action_size):
    mdp, policy = qu2020_line(n, rng=rng, state_size=state_size, action_size=action_size)
    return mdp, policy, f"qu2020 App. B.4 random line, {n} agents, |S_i|={state_size}, |A_i|={action_size}"


def _two_state(rng):
    c = rng.uniform(0.05, 0.95, size=(2, 2))
    R = rng.uniform(0.0, 1.0, size=(2, 2))
    logits = rng.normal(size=(2, 2))
    P = np.empty((2, 2, 2))
    for s in range(2):
        P[s, :, 1 - s] = c[s]
        P[s, :, s] = 1.0 - c[s]
    return TabularMDP(P, R), TabularSoftmaxPolicy(logits), "two states, two actions, closed-form answers"


def _copy_chain(rng, n, rho, rbar, signed, action_size):
    if not 0.0 <= float(rho) < 1.0:
        raise ValueError(f"copy-chain: `rho` must be in [0, 1) (rho = 1 has several recurrent classes), got {rho}")
    mdp = copy_chain_mdp(n, rho, rbar=rbar, signed=signed, action_size=action_size)
    return mdp, LocalSoftmaxPolicy.random(mdp, rng), f"qu2020 copy chain, {n} agents, rho={rho}"


_BUILDERS = {
    "qu2020-line": _qu2020_line,
    "two-state-closed-form": _two_state,
    "copy-chain": _copy_chain,
}
_DEFAULTS = {
    "qu2020-line": {"n": 4, "state_size": 2, "action_size": 3, "gamma": None},
    "two-state-closed-form": {"gamma": None},
    "copy-chain": {"n": 4, "rho": 0.5, "rbar": 1.0, "signed": False, "action_size": 2, "gamma": None},
}


def list_reference_instances():
    """Names of the reference instances and their default parameters.

    Returns
    -------
    dict
        ``{name: {parameter: default}}``.

    Examples
    --------
    >>> from netmarl_verify.testing import list_reference_instances
    >>> sorted(list_reference_instances())
    ['copy-chain', 'qu2020-line', 'two-state-closed-form']
    """
    return {name: dict(defaults) for name, defaults in _DEFAULTS.items()}


def _all_or_sampled_pairs(mdp, rng):
    nS, nA = mdp.n_states, mdp.n_actions
    if nS * nA <= MAX_ALL_PAIRS:
        s_idx = np.repeat(np.arange(nS), nA)
        a_idx = np.tile(np.arange(nA), nS)
    else:
        s_idx = rng.integers(nS, size=N_SAMPLED_PAIRS)
        a_idx = rng.integers(nA, size=N_SAMPLED_PAIRS)
    if isinstance(mdp, TabularMDP):
        return s_idx, a_idx
    return mdp.state_tuples(s_idx), mdp.action_tuples(a_idx)


def reference_instance(name, *, seed=0, **params):
    r"""A named instance with its exact answers, reproducible from (name, parameters, seed).

    Parameters
    ----------
    name : str
        ``"qu2020-line"``, ``"two-state-closed-form"`` or ``"copy-chain"`` (see
        :mod:`netmarl_verify.testing` and :func:`list_reference_instances`).
    seed : int, numpy.random.Generator or None
        Randomness of the model, the policy and (for large instances) the pairs. An int (the
        default 0) makes the instance reproducible; ``None`` draws fresh entropy and records it
        in :attr:`ReferenceInstance.seed`, so it is reproducible too.
    **params
        The instance's parameters (defaults in :func:`list_reference_instances`). ``gamma``
        (every instance): ``None`` for average reward, else a discount in [0, 1).

    Returns
    -------
    ReferenceInstance
        Frozen, with read-only arrays. Calls with an int seed are cached.

    Raises
    ------
    ValueError
        Unknown `name` or parameter, or a parameter outside its range.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.testing import reference_instance
    >>> ref = reference_instance("two-state-closed-form", seed=0)
    >>> ref.mdp, ref.states.tolist(), ref.actions.tolist()
    (TabularMDP(n_states=2, n_actions=2), [0, 0, 1, 1], [0, 1, 0, 1])
    >>> bool(np.isclose(ref.d @ ref.v, 0.0)), bool(np.isclose(ref.d.sum(), 1.0))
    (True, True)
    >>> reference_instance("qu2020-line", n=3, seed=1).label()
    "'qu2020-line' n=3 seed 1"
    """
    if name not in _BUILDERS:
        raise ValueError(f"unknown reference instance {name!r}; known: {', '.join(_BUILDERS)}")
    unknown = sorted(set(params) - set(_DEFAULTS[name]))
    if unknown:
        raise ValueError(f"reference instance {name!r} has no parameter(s) {unknown}; "
                         f"its parameters (with defaults): {_DEFAULTS[name]}")
    full = {**_DEFAULTS[name], **params}
    if full["gamma"] is not None:
        full["gamma"] = float(full["gamma"])
        if not 0.0 <= full["gamma"] < 1.0:
            raise ValueError(f"`gamma` must be in [0, 1) or None, got {full['gamma']}")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer, np.random.Generator)):
        raise TypeError(f"`seed` must be an int, a numpy.random.Generator or None, got {type(seed).__name__}")
    if isinstance(seed, np.random.Generator):
        return _build(name, tuple(full.items()), _as_generator(seed), None)
    if seed < 0:
        raise ValueError(f"`seed` must be non-negative, got {seed}")
    return _cached(name, tuple(full.items()), int(seed))


@functools.lru_cache(maxsize=64)
def _cached(name, items, seed):
    return _build(name, items, _as_generator(seed), seed)


def _build(name, items, rng, seed):
    full = dict(items)
    gamma = full["gamma"]
    build_args = {k: v for k, v in full.items() if k != "gamma"}
    mdp, policy, description = _BUILDERS[name](rng, **build_args)
    states, actions = _all_or_sampled_pairs(mdp, rng)

    avg = evaluate_policy(mdp, policy, None, backend="dense")
    ev = avg if gamma is None else evaluate_policy(mdp, policy, gamma, backend="dense")
    q_local = ev.q_local(states, actions)
    gradient = policy_gradient(mdp, policy, gamma, evaluation=ev)
    obj = avg.J if gamma is None else objective(mdp, policy, gamma, backend="dense")
    if gamma is not None:
        description += f", discounted gamma={gamma}"
    return ReferenceInstance(
        name=name,
        params=MappingProxyType(full),
        seed=seed,
        mdp=mdp,
        policy=policy,
        gamma=gamma,
        states=_readonly(states),
        actions=_readonly(actions),
        d=_readonly(avg.stationary),
        J=float(avg.J),
        J_local=_readonly(avg.J_local),
        v=_readonly(ev.global_values),
        q=_readonly(q_local.mean(axis=1)),
        q_local=_readonly(q_local),
        objective=float(obj),
        gradient=tuple(_readonly(g) for g in gradient),
        description=description,
    )

