r"""Policies: the declared policy protocol, softmax policies, one validator, one sampler.

Localized tabular softmax (qu2020 §2.1):

.. math:: \zeta_i^{\theta_i}(a_i \mid s_i) = \frac{\exp \theta_i[s_i, a_i]}{\sum_b \exp \theta_i[s_i, b]},
          \qquad \zeta^\theta(a \mid s) = \prod_i \zeta_i^{\theta_i}(a_i \mid s_i).

Its score is :math:`\partial \log\zeta_i(a_i|s_i) / \partial\theta_i[x, b] = 1\{s_i = x\}(1\{a_i = b\} -
\zeta_i(b|x))`. Probabilities are computed after subtracting the row maximum, so logits of any
magnitude give finite probabilities.

The policy protocol (issue 15)
------------------------------
:class:`Policy` says what each agent observes: :meth:`Policy.observed` ``(i)`` is the sorted
tuple of agents whose local states agent ``i``'s policy reads (``(i,)`` for
:class:`LocalSoftmaxPolicy` and :class:`~envs.LocalTabularPolicy`; a κ-hop policy, ying2023,
would return :math:`N_i^\kappa`). Agent ``i``'s table then has one row per configuration of
those states, ``np.ravel_multi_index`` order (:func:`observed_rows`), and one column per own
action. On a :class:`~envs.TabularMDP` there is a single "agent" whose local state is the global
state, so ``observed(0) == (0,)`` there means *the global state* (:class:`TabularSoftmaxPolicy`).

:class:`Parametrised` says how to differentiate it: :meth:`Parametrised.score_contract`
``(w)`` is :math:`\sum_{s,a} w(s,a)\nabla_\theta\log\pi(a|s)` in the shapes of the logits, for
:math:`w(s, a) = d(s)\pi(a|s)Q(s, a)` handed over as a :class:`ScoreWeights` (the state weights
:math:`d` and the agent-marginal :math:`\bar Q_i(s, b)`, all a product policy's score needs).
The exact policy gradient is this contraction for every policy class.

One validator, one joint table, one sampler
-------------------------------------------
:func:`check_policy` ``(mdp, policy)`` validates a policy against a model or environment and
returns its tables (every solver entry and :func:`~envs.simulate` call it);
:func:`joint_policy_table` builds :math:`\pi(a|s)` on global indices (and
:func:`product_table` any sub-product, e.g. the critic's :math:`\zeta_N`);
:func:`sample_categorical` is the one batched categorical sampler, with one tie and zero-mass
convention (its docstring), used by :meth:`LocalSoftmaxPolicy.sample`,
:class:`~envs.LocalPolicySampler` (through :func:`categorical_thresholds`) and the sampled
actor :class:`~netmarl_verify.solvers.sampled._actor.SoftmaxActor`.
"""

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ._random import as_generator
from ._tabular import TabularMDP, check_policy_table
from ._validation import (
    ShapeError,
    as_float_array,
    check_distribution_rows,
    check_finite,
    check_local_indices,
    check_real,
)

__all__ = [
    "Policy",
    "Parametrised",
    "ScoreWeights",
    "PolicyTables",
    "LocalSoftmaxPolicy",
    "KHopSoftmaxPolicy",
    "TabularSoftmaxPolicy",
    "softmax",
    "check_policy",
    "observed_rows",
    "product_table",
    "joint_policy_table",
    "sample_categorical",
    "categorical_thresholds",
]


# ---------------------------------------------------------------------------- the protocol
@runtime_checkable
class Policy(Protocol):
    r"""A product policy :math:`\pi(a|s) = \prod_i \pi_i(a_i \mid s_{O_i})` (module docstring).

    Attributes
    ----------
    n : int
        Number of agents.
    """

    n: int

    def observed(self, i) -> tuple:
        """:math:`O_i`: the agents whose local states agent ``i``'s policy reads, sorted ascending."""

    def action_weights(self, states) -> list:
        r"""Per agent, :math:`\pi_i(\cdot \mid s_{O_i})` for a batch of states (B, n): a list of (B, A_i)."""


@runtime_checkable
class Parametrised(Protocol):
    """A policy with a flat parameter vector and its score contraction (module docstring)."""

    size: int

    def flat(self):
        """All parameters as one vector."""

    def with_flat(self, theta):
        """A new policy with parameters taken from the flat vector ``theta``."""

    def score_contract(self, w):
        r""":math:`\sum_{s,a} w(s,a)\nabla\log\pi(a|s)` for :class:`ScoreWeights` ``w``, shaped like the logits."""


@dataclass(frozen=True)
class ScoreWeights:
    r"""The weights :math:`w(s, a) = d(s)\pi(a|s)Q(s, a)` of a score contraction, agent-marginal form.

    Attributes
    ----------
    state_weights : ndarray, shape (|S|,)
        :math:`d(s)` (a stationary distribution or a discounted visitation).
    q_marginal : list of ndarray
        ``q_marginal[i]`` of shape (|S|, A_i): :math:`ar Q_i(s, b) = E_{a_{-i}\sim\pi}[Q(s, (b,
        a_{-i}))]` (one (|S|, |A|) array, :math:`Q` itself, for a tabular policy).
    state_shape : tuple of int
        Axes of a global state index (``S`` per agent; ``(|S|,)`` on a tabular MDP).

    Notes
    -----
    For a product policy the score of agent ``i`` depends on :math:`(s_{O_i}, a_i)` only, so
    :math:`\sum_{s,a} w(s,a)\partial\log\pi(a|s)/\partial	heta_i[x,b] = \sum_{s: s_{O_i}=x} d(s)
    \pi_i(b|x)ig(ar Q_i(s,b) - \sum_c\pi_i(c|x)ar Q_i(s,c)ig)` for the softmax.
    """

    state_weights: object
    q_marginal: list
    state_shape: tuple


class PolicyTables(list):
    """The validated tables of a policy (a list, ``tables[i]`` of shape (prod S_{O_i}, A_i)).

    Attributes
    ----------
    observed : tuple of tuple of int
        ``observed[i]`` is :math:`O_i` (module docstring).
    """

    def __init__(self, tables, observed):
        super().__init__(tables)
        self.observed = tuple(tuple(o) for o in observed)

    @property
    def local(self):
        """True when every agent reads exactly its own state (``observed[i] == (i,)``)."""
        return all(o == (i,) for i, o in enumerate(self.observed))


# ---------------------------------------------------------------------------- helpers
def observed_rows(observed, states, state_sizes=None):
    """Row indices into a table over the states of ``observed``, for a batch of states (B, n).

    ``observed == (i,)``: ``states[:, i]`` itself. Otherwise ``np.ravel_multi_index`` over the
    observed coordinates (``state_sizes`` needed); ``()``: all zeros.
    """
    observed = tuple(observed)
    if len(observed) == 1:
        return states[:, observed[0]]
    if not observed:
        return np.zeros(states.shape[0], dtype=np.int64)
    return np.ravel_multi_index(tuple(states[:, k] for k in observed), tuple(state_sizes[k] for k in observed))


def product_table(factors):
    r"""The product table of per-agent action distributions ``factors[k]`` (B, A_k): (B, prod A_k).

    Agent order = factor order, the first factor's action the most significant digit (the joint
    action enumeration). The one joint-table builder: :func:`joint_policy_table` and the critic's
    :math:`\zeta_N` call it.
    """
    B = factors[0].shape[0] if factors else 1
    table = np.ones((B, 1))
    for f in factors:
        table = (table[:, :, None] * f[:, None, :]).reshape(B, -1)
    return table


def joint_policy_table(mdp, policy, max_bytes=None):
    """The joint policy table ``pi[s, a]`` on global indices of a NetworkedMDP (small instances only).

    ``policy`` is anything :func:`check_policy` accepts (or its :class:`PolicyTables`).
    """
    from ._memory import check_memory

    tables = policy if isinstance(policy, PolicyTables) else check_policy(mdp, policy)
    check_memory(8.0 * mdp.n_states * mdp.n_actions * 2, "the joint policy table", max_bytes=max_bytes)
    S = mdp.state_tuples()
    return product_table([t[observed_rows(o, S, mdp.state_sizes)] for t, o in zip(tables, tables.observed)])


def _raw_tables(policy):
    """``(tables, label, validated)`` of a policy object or a list of tables (no model needed)."""
    if hasattr(policy, "probabilities"):
        label = getattr(policy, "_table_label", None)
        return list(policy.probabilities()), label, label is not None
    if isinstance(policy, (list, tuple)):
        return list(policy), None, False
    raise TypeError(
        "policy must be a LocalSoftmaxPolicy or a LocalTabularPolicy (any object with probabilities()), "
        f"or a list of tables probs[i][s_i, a_i]; got {type(policy).__name__}"
    )


def _table_name(label, i):
    return f"policy table {i}" if label is None else f"{label}[{i}]"


def _observed_sets(policy, n):
    if not callable(getattr(policy, "observed", None)):
        return tuple((i,) for i in range(n))
    out = []
    for i in range(n):
        o = tuple(int(k) for k in policy.observed(i))
        if any(not 0 <= k < n for k in o) or any(a >= b for a, b in zip(o, o[1:])):
            raise ValueError(f"policy.observed({i}) = {o} must be sorted distinct agents in 0..{n - 1}")
        out.append(o)
    return tuple(out)


def check_policy(mdp, policy):
    """Validate ``policy`` against a model or environment; return its :class:`PolicyTables`.

    The one policy validator (every exact solver entry, :func:`~envs.simulate`,
    :meth:`~envs.WirelessNetwork.policy_chain`).

    Parameters
    ----------
    mdp : NetworkedMDP, WirelessNetwork (any environment with ``n``, ``state_sizes``,
        ``action_sizes``) or TabularMDP
    policy : LocalSoftmaxPolicy, LocalTabularPolicy, any :class:`Policy` with ``probabilities()``,
        a list of tables ``probs[i][s_{O_i}, a_i]``; on a TabularMDP a TabularSoftmaxPolicy or a
        stochastic table ``pi[s, a]``.

    Returns
    -------
    PolicyTables
        float64 tables, ``tables[i]`` of shape ``(prod(S[k] for k in observed[i]), A[i])``
        (one ``(|S|, |A|)`` table on a TabularMDP, ``observed == ((0,),)``).

    Raises
    ------
    ShapeError
        Wrong number of agents (named with both counts) or a table of the wrong shape (named by
        agent, e.g. ``logits[1] (agent 1) has shape (2, 2), the MDP needs (3, 2)``).
    TypeError
        Not a policy, or a product policy on a TabularMDP.
    ModelValidationError
        A list's table that is not real, or whose rows are not distributions.
    """
    if isinstance(mdp, TabularMDP):
        want = (mdp.n_states, mdp.n_actions)
        if isinstance(policy, TabularSoftmaxPolicy):
            table = policy.table()
            if table.shape != want:
                raise ShapeError(f"policy logits have shape {table.shape}, the MDP needs {want}")
        elif hasattr(policy, "probabilities"):
            raise TypeError(f"a {type(policy).__name__} needs a NetworkedMDP; for a TabularMDP pass a table pi[s, a] "
                            "or a TabularSoftmaxPolicy")
        else:
            table = check_policy_table(policy, *want)
        return PolicyTables([table], ((0,),))
    raw, label, validated = _raw_tables(policy)
    where = "the MDP" if hasattr(mdp, "transitions") else "the environment"
    n = int(mdp.n)
    if len(raw) != n:
        raise ShapeError(f"the policy has {len(raw)} agents but {where} has {n}")
    observed = _observed_sets(policy, n)
    out = []
    for i, t in enumerate(raw):
        name = f"{_table_name(label, i)} (agent {i})"
        t = np.asarray(check_real(t, name), dtype=np.float64)
        want = (math.prod(mdp.state_sizes[k] for k in observed[i]), mdp.action_sizes[i])
        if t.shape != want:
            raise ShapeError(f"{name} has shape {t.shape}, {where} needs {want}")
        if not validated:
            check_distribution_rows(t, name, atol=1e-10)
        out.append(t)
    return PolicyTables(out, observed)


# ---------------------------------------------------------------------------- the sampler
def sample_categorical(cdf, u, axis=-1):
    r"""The one batched categorical sampler: actions from cumulative sums ``cdf`` and uniforms ``u``.

    .. math:: a = \minig(\#\{k : u \ge \mathrm{cdf}_k\},\ \ellig), \qquad
              \ell = \#\{k : \mathrm{cdf}_k < \mathrm{cdf}_{K-1}\},

    along ``axis`` (``K`` actions; ``u`` broadcasts against ``cdf`` with ``axis`` removed).

    Convention. Action ``k`` is drawn iff :math:`\mathrm{cdf}_{k-1} \le u < \mathrm{cdf}_k`
    (half-open intervals: a tie :math:`u = \mathrm{cdf}_k` goes to the *next* action), and
    :math:`\ell` is the last action whose mass survives in the cumulative sum. Hence **an action of
    zero mass is never returned**: not a leading one at :math:`u = 0`, not one in the middle (its
    interval is empty), not a trailing one when rounding leaves :math:`\mathrm{cdf}_{K-1} < u < 1`
    (the draw is capped at :math:`\ell`). ``cdf`` must be non-decreasing along ``axis`` (a cumulative
    sum of non-negative numbers is, in floating point too).

    Returns
    -------
    ndarray of int64
        ``cdf``'s shape without ``axis``.
    """
    cdf = np.asarray(cdf)
    axis = axis % cdf.ndim
    total = np.take(cdf, [cdf.shape[axis] - 1], axis=axis)
    u = np.expand_dims(np.asarray(u), axis)
    return np.minimum((u >= cdf).sum(axis=axis), (cdf < total).sum(axis=axis))


def categorical_thresholds(cdf):
    r"""Thresholds ``(..., K - 1)`` with ``#{k : u >= thr_k}`` equal to :func:`sample_categorical` ``(cdf, u)``.

    ``thr_k = cdf_k`` for ``k < l`` and :math:`+\infty` from the last surviving action ``l`` on
    (:func:`sample_categorical`'s convention, precomputed once for a fixed policy).
    """
    cdf = np.asarray(cdf, dtype=np.float64)
    K = cdf.shape[-1]
    last = (cdf < cdf[..., -1:]).sum(axis=-1)
    return np.where(np.arange(K - 1) >= last[..., None], np.inf, cdf[..., : K - 1])


def _softmax_score_contract(tables, observed, w):
    r""":meth:`Parametrised.score_contract` of a product of softmax tables (one per agent).

    For agent ``i`` the contraction is :math:`\sum_{s: s_{O_i}=x} d(s)\pi_i(b|x)(\bar Q_i(s,b) -
    \sum_c\pi_i(c|x)\bar Q_i(s,c))`, the advantage centred state by state (accurate to rounding
    whatever the size of :math:`\bar Q`). An agent that reads one agent's state (``O_i = (k,)``:
    local-state and tabular policies) is reduced on a (before k, S_k, after k, A_i) view with no
    gather of its table (2.5x faster at :math:`2^{20}` states); other observation sets through the
    rows of :func:`observed_rows`.
    """
    d, shape = w.state_weights, tuple(w.state_shape)
    nS = math.prod(shape)
    if d.shape != (nS,) or len(w.q_marginal) != len(tables):
        raise ShapeError(f"score weights for {len(w.q_marginal)} agents over {d.shape} states do not match a "
                         f"policy of {len(tables)} agents on {nS} states")
    idx = None
    grads = []
    for i, table in enumerate(tables):
        obs = observed[i]
        q = w.q_marginal[i]
        A = table.shape[1]
        if len(obs) == 1:
            k = obs[0]
            pre, post = math.prod(shape[:k]), math.prod(shape[k + 1:])
            Z = table.reshape(1, shape[k], 1, A)
            q4 = q.reshape(pre, shape[k], post, A)
            adv = q4 - np.einsum("xb,ixjb->ixj", table, q4)[..., None]
            g = ((d.reshape(pre, shape[k], post, 1) * Z) * adv).sum(axis=(0, 2))
            grads.append(g.reshape(table.shape))
            continue
        if idx is None:
            idx = np.unravel_index(np.arange(nS), shape)
        rows = (np.ravel_multi_index(tuple(idx[k] for k in obs), tuple(shape[k] for k in obs)) if obs
                else np.zeros(nS, dtype=np.int64))
        Z = table[rows]  # (|S|, A_i)
        adv = q - (Z * q).sum(axis=1, keepdims=True)
        contrib = (d[:, None] * Z * adv).reshape(shape + (A,))
        g = contrib.sum(axis=tuple(j for j in range(len(shape)) if j not in obs))
        grads.append(g.reshape(table.shape))
    return grads


def softmax(logits, axis=-1):
    """Numerically stable softmax along ``axis``."""
    z = logits - np.max(logits, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


class LocalObservation:
    """Mixin of the local-state policies (qu2020): agent ``i`` reads only ``s_i``."""

    def observed(self, i):
        """``(i,)``: agent ``i``'s policy reads its own local state."""
        i = int(i)
        if not 0 <= i < self.n:
            raise ValueError(f"agent must be in 0..{self.n - 1}, got {i}")
        return (i,)


class LocalSoftmaxPolicy(LocalObservation):
    r"""Product of local softmax policies :math:`\zeta_i(a_i | s_i)` (qu2020 §2.1).

    Parameters
    ----------
    logits : sequence of ndarray
        ``logits[i]`` has shape ``(S[i], A[i])``; finite.

    Attributes
    ----------
    logits : tuple of ndarray
    n : int

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import LocalSoftmaxPolicy
    >>> pol = LocalSoftmaxPolicy([np.array([[0.0, np.log(3.0)]])])
    >>> pol.probabilities()[0]
    array([[0.25, 0.75]])
    """

    def __init__(self, logits):
        logits = [as_float_array(t, f"logits[{i}]") for i, t in enumerate(logits)]
        for i, t in enumerate(logits):
            if t.ndim != 2:
                raise ShapeError(f"logits[{i}] (agent {i}) must have shape (S[{i}], A[{i}]), got {t.shape}")
            check_finite(t, f"logits[{i}] (agent {i})")
            t.setflags(write=False)
        self.logits = tuple(logits)
        self.n = len(logits)
        self._probs = None

    def __repr__(self):
        return f"LocalSoftmaxPolicy(n={self.n}, shapes={[t.shape for t in self.logits]})"

    @classmethod
    def uniform(cls, mdp):
        """The uniform policy (all logits zero) for ``mdp``."""
        return cls([np.zeros((S, A)) for S, A in zip(mdp.state_sizes, mdp.action_sizes)])

    @classmethod
    def random(cls, mdp, rng=None, *, draw="normalised-uniform"):
        """A random policy, one row per local state.

        ``draw="normalised-uniform"`` (default here): i.i.d. uniform weights normalised per
        state, drawn on [1e-3, 1] so that every logit is finite and no action is nearly
        impossible (the claims' own instances use it). ``draw="dirichlet"``: each row
        ``zeta_i(. | s_i)`` uniform on the simplex, Dirichlet(1): logits ``log E`` with ``E``
        i.i.d. standard exponentials (softmax normalises them) — what qu2020 App. B.4's
        "uniformly randomly" means, and what :func:`~netmarl_verify.envs.qu2020_line` and
        :func:`~netmarl_verify.envs.qu2020_grid` use by default. See
        :mod:`netmarl_verify.envs._generators` for why the two differ.
        """
        if draw not in ("dirichlet", "normalised-uniform"):
            raise ValueError(f"`draw` must be 'dirichlet' or 'normalised-uniform', got {draw!r}")
        rng = as_generator(rng)
        if draw == "dirichlet":
            # E > 0 almost surely; the floor keeps log finite if the generator ever returns 0
            return cls([np.log(np.maximum(rng.standard_exponential(size=(S, A)), 1e-300))
                        for S, A in zip(mdp.state_sizes, mdp.action_sizes)])
        return cls([np.log(rng.uniform(1e-3, 1.0, size=(S, A))) for S, A in zip(mdp.state_sizes, mdp.action_sizes)])

    def probabilities(self):
        """List of arrays ``zeta[i][s_i, a_i]``, each shape ``(S[i], A[i])``."""
        if self._probs is None:
            self._probs = tuple(softmax(t, axis=1) for t in self.logits)
        return list(self._probs)

    _table_label = "logits"  # check_policy names agent i's table "logits[i]"

    # -- the Policy protocol (observed: LocalObservation)
    def action_weights(self, states):
        r""":math:`\zeta_i(\cdot \mid s_i)` for states (B, n): a list of (B, A_i) arrays."""
        probs = self.probabilities()
        return [probs[i][states[:, i]] for i in range(self.n)]

    def check(self, mdp):
        """:func:`check_policy` ``(mdp, self)``; return ``self``."""
        check_policy(mdp, self)
        return self

    def sample(self, states, rng):
        """Sample local actions for a batch of global states, shape (B, n) -> (B, n).

        ``states`` is validated like :meth:`~envs.NetworkedMDP.step` (shape ``(B, n)`` or ``(n,)``,
        integer local indices within ``0..S[i]-1``, ``S[i] = logits[i].shape[0]``); ``rng`` is an
        int, a Generator or None (:func:`~envs.as_generator`). One uniform per copy and agent,
        :func:`sample_categorical`'s convention.
        """
        states = check_local_indices(states, [t.shape[0] for t in self.logits], "states")
        probs = self.probabilities()
        u = as_generator(rng).random(states.shape)
        out = np.empty_like(states)
        for i in range(self.n):
            out[:, i] = sample_categorical(np.cumsum(probs[i][states[:, i]], axis=1), u[:, i], axis=1)
        return out

    # -- flat parameter vector, for finite differences and optimisers
    @property
    def size(self):
        return int(sum(t.size for t in self.logits))

    def flat(self):
        """All logits as one vector (agent 0 first, each in C order)."""
        return np.concatenate([t.ravel() for t in self.logits])

    def with_flat(self, theta):
        """A new policy with logits taken from the flat vector ``theta``."""
        theta = as_float_array(theta, "theta")
        if theta.shape != (self.size,):
            raise ShapeError(f"flat parameter vector must have shape ({self.size},), got {theta.shape}")
        out, k = [], 0
        for t in self.logits:
            out.append(theta[k : k + t.size].reshape(t.shape))
            k += t.size
        return type(self)(out)

    def split(self, flat):
        """Split a flat vector into arrays shaped like :attr:`logits`."""
        out, k = [], 0
        for t in self.logits:
            out.append(np.asarray(flat[k : k + t.size]).reshape(t.shape))
            k += t.size
        return out

    def score_contract(self, w):
        r""":math:`\sum_{s,a} w(s,a)\nabla_\theta\log\zeta(a|s)` (:class:`ScoreWeights` ``w``), shaped like :attr:`logits`."""
        return _softmax_score_contract(self.probabilities(), [self.observed(i) for i in range(self.n)], w)

    def joint_table(self, mdp, max_bytes=None):
        """The joint policy table ``pi[s, a]`` on global indices (:func:`joint_policy_table`)."""
        return joint_policy_table(mdp, self, max_bytes=max_bytes)


class KHopSoftmaxPolicy:
    r"""Product of κ-hop localized softmax policies :math:`\pi^i_{\theta_i}(a_i \mid s_{N_i^\kappa})` (ying2023 §2).

    .. math:: \pi_\theta(a|s) = \prod_i \pi^i_{\theta_i}(a_i \mid s_{N_i^\kappa}), \qquad
              \pi^i_{\theta_i}(a_i \mid x) \propto \exp\theta_i[x, a_i],

    tabular in the observed states: ``logits[i]`` has one axis per agent of :math:`O_i` (sorted
    ascending, :math:`O_i = N_i^\kappa` for :meth:`uniform` / :meth:`random`), then the own action:
    shape ``tuple(S[j] for j in O_i) + (A[i],)``. The policy is still a product over agents given
    :math:`s`, so every exact solver reads it through the :class:`Policy` protocol and never
    builds the joint-action table. ``O_i = (i,)`` for every agent is qu2020's local-state policy
    (κ = 0); ``O_i`` = all agents is a global-state policy (ying2023 Remark 4).

    Parameters
    ----------
    logits : sequence of ndarray
        ``logits[i]`` of shape ``tuple(S[j] for j in observed[i]) + (A[i],)``; finite.
    observed : sequence of sequence of int
        ``observed[i]`` = :math:`O_i`: distinct agents, sorted ascending, containing ``i``.

    Attributes
    ----------
    logits : tuple of ndarray
    n : int
    kappa : int or None
        The radius the policy was built with (:meth:`uniform`, :meth:`random`), else None.

    Raises
    ------
    ShapeError
        A table whose number of axes is not ``len(observed[i]) + 1``.
    ValueError
        An observation set that is not sorted, repeats an agent or misses ``i``.

    References
    ----------
    ying2023 §2 (the localized policy class), §3 eq. (14)-(15), Remark 4.

    Examples
    --------
    >>> import networkx as nx
    >>> from netmarl_verify.envs import KHopSoftmaxPolicy, random_networked_mdp
    >>> mdp = random_networked_mdp(nx.path_graph(3), 2, 2, rng=0)
    >>> pol = KHopSoftmaxPolicy.uniform(mdp, kappa=1)
    >>> pol.observed(0), pol.logits[1].shape
    ((0, 1), (2, 2, 2, 2))
    """

    _table_label = "logits"

    def __init__(self, logits, observed, *, kappa=None):
        logits = [as_float_array(t, f"logits[{i}]") for i, t in enumerate(logits)]
        observed = [tuple(int(k) for k in o) for o in observed]
        if len(observed) != len(logits):
            raise ShapeError(f"{len(logits)} logit tables but {len(observed)} observation sets")
        n = len(logits)
        for i, (t, o) in enumerate(zip(logits, observed)):
            if i not in o or any(a >= b for a, b in zip(o, o[1:])) or any(not 0 <= k < n for k in o):
                raise ValueError(f"observed[{i}] = {o} must be distinct agents of 0..{n - 1}, sorted ascending, "
                                 f"containing {i}")
            if t.ndim != len(o) + 1:
                raise ShapeError(f"logits[{i}] (agent {i}) must have {len(o) + 1} axes (states of O_{i}={o}, then "
                                 f"a_{i}), got shape {t.shape}")
            check_finite(t, f"logits[{i}] (agent {i})")
            t.setflags(write=False)
        self.logits = tuple(logits)
        self._observed = tuple(observed)
        self.n = n
        self.kappa = None if kappa is None else int(kappa)
        self._probs = None

    def __repr__(self):
        k = "" if self.kappa is None else f", kappa={self.kappa}"
        return f"KHopSoftmaxPolicy(n={self.n}{k}, observed={list(self._observed)})"

    @staticmethod
    def _sets(mdp, kappa):
        kappa = int(kappa)
        if kappa < 0:
            raise ValueError(f"kappa must be >= 0, got {kappa}")
        return [tuple(mdp.kappa_hop(i, kappa)) for i in range(mdp.n)]

    @classmethod
    def uniform(cls, mdp, kappa):
        r"""The uniform policy on :math:`O_i = N_i^\kappa` (``mdp.kappa_hop(i, kappa)``), all logits zero."""
        sets = cls._sets(mdp, kappa)
        return cls([np.zeros(tuple(mdp.state_sizes[j] for j in o) + (mdp.action_sizes[i],))
                    for i, o in enumerate(sets)], sets, kappa=kappa)

    @classmethod
    def random(cls, mdp, kappa, rng=None, *, scale=1.0):
        r"""Random logits ``scale * N(0, 1)`` on :math:`O_i = N_i^\kappa`, drawn agent by agent in C order."""
        rng = as_generator(rng)
        sets = cls._sets(mdp, kappa)
        scale = float(scale)
        return cls([scale * rng.standard_normal(tuple(mdp.state_sizes[j] for j in o) + (mdp.action_sizes[i],))
                    for i, o in enumerate(sets)], sets, kappa=kappa)

    @classmethod
    def from_local(cls, policy, mdp, kappa):
        """The κ-hop policy that ignores the extra states: agent ``i`` plays ``policy``'s row :math:`s_i`.

        Turns a :class:`LocalSoftmaxPolicy` into the same policy in the κ-hop class (the
        logits are broadcast along the other observed agents), e.g. for a test that the two
        parametrisations give the same exact answers.
        """
        sets = cls._sets(mdp, kappa)
        out = []
        for i, o in enumerate(sets):
            shape = [1] * len(o) + [policy.logits[i].shape[1]]
            shape[o.index(i)] = policy.logits[i].shape[0]
            full = tuple(mdp.state_sizes[j] for j in o) + (mdp.action_sizes[i],)
            out.append(np.broadcast_to(policy.logits[i].reshape(shape), full).copy())
        return cls(out, sets, kappa=kappa)

    # -- the Policy protocol
    def observed(self, i):
        """:math:`O_i` (sorted ascending, contains ``i``)."""
        i = int(i)
        if not 0 <= i < self.n:
            raise ValueError(f"agent must be in 0..{self.n - 1}, got {i}")
        return self._observed[i]

    def probabilities(self):
        """Per agent, the table ``pi_i[x, a_i]`` with one row per observed configuration ``x``
        (``np.ravel_multi_index`` order over :math:`O_i`), shape ``(prod S_{O_i}, A_i)``."""
        if self._probs is None:
            self._probs = tuple(softmax(t, axis=-1).reshape(-1, t.shape[-1]) for t in self.logits)
        return list(self._probs)

    def _state_sizes(self):
        sizes = [None] * self.n
        for t, o in zip(self.logits, self._observed):
            for q, k in enumerate(o):
                sizes[k] = t.shape[q]
        return sizes

    def action_weights(self, states):
        r""":math:`\pi_i(\cdot \mid s_{O_i})` for states (B, n): a list of (B, A_i) arrays."""
        probs = self.probabilities()
        sizes = self._state_sizes()
        return [probs[i][observed_rows(o, states, sizes)] for i, o in enumerate(self._observed)]

    def check(self, mdp):
        """:func:`check_policy` ``(mdp, self)``; return ``self``."""
        check_policy(mdp, self)
        return self

    def sample(self, states, rng):
        """Sample local actions for a batch of global states (B, n) -> (B, n) (one uniform per copy and agent)."""
        sizes = self._state_sizes()
        if any(x is None for x in sizes):
            missing = [k for k, x in enumerate(sizes) if x is None]
            raise ValueError(f"no agent observes agents {missing}: their state ranges are unknown to the policy")
        states = check_local_indices(states, sizes, "states")
        u = as_generator(rng).random(states.shape)
        out = np.empty_like(states)
        for i, w in enumerate(self.action_weights(states)):
            out[:, i] = sample_categorical(np.cumsum(w, axis=1), u[:, i], axis=1)
        return out

    # -- flat parameter vector
    @property
    def size(self):
        return int(sum(t.size for t in self.logits))

    def flat(self):
        """All logits as one vector (agent 0 first, each in C order)."""
        return np.concatenate([t.ravel() for t in self.logits])

    def with_flat(self, theta):
        """A new policy with logits taken from the flat vector ``theta`` (same observation sets)."""
        theta = as_float_array(theta, "theta")
        if theta.shape != (self.size,):
            raise ShapeError(f"flat parameter vector must have shape ({self.size},), got {theta.shape}")
        return type(self)(self.split(theta), self._observed, kappa=self.kappa)

    def split(self, flat):
        """Split a flat vector into arrays shaped like :attr:`logits`."""
        out, k = [], 0
        for t in self.logits:
            out.append(np.asarray(flat[k : k + t.size]).reshape(t.shape))
            k += t.size
        return out

    def score_contract(self, w):
        r""":math:`\sum_{s,a} w(s,a)\nabla_\theta\log\pi(a|s)` (:class:`ScoreWeights` ``w``), shaped like :attr:`logits`."""
        grads = _softmax_score_contract(self.probabilities(), self._observed, w)
        return [g.reshape(t.shape) for g, t in zip(grads, self.logits)]

    def joint_table(self, mdp, max_bytes=None):
        """The joint policy table ``pi[s, a]`` on global indices (:func:`joint_policy_table`)."""
        return joint_policy_table(mdp, self, max_bytes=max_bytes)


class TabularSoftmaxPolicy:
    """Softmax policy on a tabular MDP's global states: ``pi[s, a] ∝ exp(logits[s, a])``.

    Parameters
    ----------
    logits : ndarray, shape (nS, nA)
    """

    def __init__(self, logits):
        t = as_float_array(logits, "logits")
        if t.ndim != 2:
            raise ShapeError(f"logits must have shape (nS, nA), got {t.shape}")
        check_finite(t, "logits")
        t.setflags(write=False)
        self.logits = (t,)
        self.n = 1

    _table_label = "logits"

    def table(self):
        """``pi[s, a]``, shape (nS, nA)."""
        return softmax(self.logits[0], axis=1)

    def probabilities(self):
        return [self.table()]

    # -- the Policy protocol: one "agent" whose local state is the global state
    def observed(self, i):
        """``(0,)``: the single agent reads the global state (module docstring)."""
        if int(i) != 0:
            raise ValueError(f"a TabularSoftmaxPolicy has a single agent 0, got {i}")
        return (0,)

    def action_weights(self, states):
        """``[pi[s]]`` for global states of shape (B,) or (B, 1)."""
        states = np.asarray(states)
        return [self.table()[states.reshape(states.shape[0], -1)[:, 0]]]

    def score_contract(self, w):
        r""":math:`\sum_{s,a} w(s,a)\nabla\log\pi(a|s)` (:class:`ScoreWeights` ``w``, ``q_marginal = [Q]``), shape (nS, nA)."""
        return _softmax_score_contract([self.table()], [(0,)], w)

    @property
    def size(self):
        return int(self.logits[0].size)

    def flat(self):
        return self.logits[0].ravel().copy()

    def with_flat(self, theta):
        theta = as_float_array(theta, "theta")
        if theta.shape != (self.size,):
            raise ShapeError(f"flat parameter vector must have shape ({self.size},), got {theta.shape}")
        return type(self)(theta.reshape(self.logits[0].shape))

    def split(self, flat):
        return [np.asarray(flat).reshape(self.logits[0].shape)]
