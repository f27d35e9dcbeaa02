"""Simulation of any networked environment under a product policy, vectorised over copies.

:func:`simulate` rolls out ``B`` independent copies of an environment that has ``n``,
``state_sizes``, ``action_sizes`` and a vectorised ``step(states, actions, rng) ->
(next_states, local_rewards)`` (:class:`~envs.NetworkedMDP`, :class:`~envs.WirelessNetwork`, or
a user's own). The loop runs over time only: :class:`LocalPolicySampler` samples every copy's
and agent's action at once, and ``step`` advances every copy at once.

Fast path. An environment may also offer ``fast_loop(sampler, states)``, returning an object
with ``states`` (the current ``(B, n)`` states) and ``step(rng)`` (advance every copy one step,
return the ``(B, n)`` local rewards) that draws its random numbers exactly as
``step(states, sampler.sample(states, rng), rng)`` would, but into preallocated buffers.
:func:`simulate` uses it when it is there (:meth:`~envs.WirelessNetwork.fast_loop`); this module
knows no environment class.
"""

import math
from dataclasses import dataclass

import numpy as np

from ._policy import PolicyTables, _raw_tables, _table_name, categorical_thresholds, check_policy, observed_rows
from ._random import as_generator
from ._validation import ShapeError, check_local_indices, check_real

__all__ = ["LocalPolicySampler", "Rollout", "simulate"]


# ---------------------------------------------------------------------------- policies
class LocalPolicySampler:
    r"""Vectorized sampling of a product policy :math:`\zeta_i(a_i \mid s_i)` for a batch.

    The tables are stacked once into the thresholds of :func:`~envs.categorical_thresholds`
    (``cdf[i * S_max + s, k]``, padded), and ``a = #{k : u >= thr_k}`` with one uniform per (copy,
    agent): no Python loop over copies or agents. This is :func:`~envs.sample_categorical`'s
    convention (ties go to the next action; zero-mass actions are never returned), precomputed.

    Parameters
    ----------
    policy : a product policy with ``probabilities()`` (LocalSoftmaxPolicy, KHopSoftmaxPolicy,
        LocalTabularPolicy), its :class:`~envs.PolicyTables`, or a list of arrays ``probs[i][s_i, a_i]``.
    state_sizes : sequence of int, optional
        ``S[i]`` per agent; needed when an agent observes other agents' states (κ-hop and
        global-state policies, ying2023), whose table rows are :func:`~envs.observed_rows`. Those
        are sampled agent by agent (a loop over agents, vectorised over the batch); local-state
        policies keep the stacked single-gather path.

    Raises
    ------
    ValueError
        A policy that observes other agents' states without ``state_sizes``.
    """

    def __init__(self, policy, state_sizes=None):
        raw, label, _ = _raw_tables(policy)
        probs = [np.asarray(check_real(t, f"{_table_name(label, i)} (agent {i})"), dtype=np.float64)
                 for i, t in enumerate(raw)]
        self.n = len(probs)
        if isinstance(policy, PolicyTables):
            observed = policy.observed
        elif callable(getattr(policy, "observed", None)):
            observed = [tuple(policy.observed(i)) for i in range(self.n)]
        else:
            observed = [(i,) for i in range(self.n)]
        self._observed = tuple(tuple(int(k) for k in o) for o in observed)
        self._local = all(o == (i,) for i, o in enumerate(self._observed))
        if not self._local:  # kappa-hop / global-state tables: rows from the observed states
            if state_sizes is None:
                raise ValueError("a policy whose agents observe other agents' states needs state_sizes= (S[i] per "
                                 "agent) to index its tables; simulate() passes env.state_sizes")
            self.state_sizes = tuple(int(x) for x in state_sizes)
            self.action_sizes = tuple(t.shape[1] for t in probs)
            self._thresholds = [np.ascontiguousarray(categorical_thresholds(np.cumsum(t, axis=1)).T) for t in probs]
            return
        S_max = max(t.shape[0] for t in probs)
        A_max = max(t.shape[1] for t in probs)
        cdf = np.full((self.n, S_max, A_max - 1), np.inf)
        for i, t in enumerate(probs):
            S_i, A_i = t.shape
            cdf[i, :S_i, : A_i - 1] = categorical_thresholds(np.cumsum(t, axis=1))
        # (A_max - 1, n * S_max): one contiguous gather per threshold
        self._cdf = np.ascontiguousarray(cdf.reshape(self.n * S_max, A_max - 1).T)
        self._row_offset = (np.arange(self.n, dtype=np.int64) * S_max)[None, :]
        self.state_sizes = tuple(t.shape[0] for t in probs)
        self.action_sizes = tuple(t.shape[1] for t in probs)

    def sample_from_uniforms(self, states, u):
        """Actions for states ``(B, n)`` given uniforms ``u`` of the same shape (deterministic)."""
        states = np.asarray(states, dtype=np.int64)
        out = np.empty(states.shape, dtype=np.int64)
        return self._sample_into(states, np.asarray(u, dtype=np.float64), out, _SampleWorkspace(states.shape))

    def _sample_into(self, states, u, out, work):
        """Hot path of :meth:`sample_from_uniforms` into preallocated buffers."""
        if not self._local:
            out.fill(0)
            for i, (thr, o) in enumerate(zip(self._thresholds, self._observed)):
                rows = observed_rows(o, states, self.state_sizes)
                for c in thr:  # A_i - 1 thresholds, vectorised over the batch
                    out[:, i] += u[:, i] >= c[rows]
            return out
        np.add(states, self._row_offset, out=work.rows)
        out.fill(0)
        for c in self._cdf:  # A_max - 1 thresholds, each vectorized over (B, n)
            np.take(c, work.rows, out=work.level, mode="clip")
            np.greater_equal(u, work.level, out=work.hit)
            out += work.hit
        return out

    def sample(self, states, rng):
        """Sample actions, int64 array of shape (B, n), for int states of shape (B, n) (or (n,)).

        ``states`` is validated like :meth:`~envs.NetworkedMDP.step` (integer local indices within
        each agent's range); ``rng``: int, Generator or None (:func:`~envs.as_generator`).
        """
        states = check_local_indices(states, self.state_sizes, "states")
        return self.sample_from_uniforms(states, as_generator(rng).random(states.shape))


class _SampleWorkspace:
    def __init__(self, shape):
        self.rows = np.empty(shape, dtype=np.int64)
        self.level = np.empty(shape, dtype=np.float64)
        self.hit = np.empty(shape, dtype=bool)


# ---------------------------------------------------------------------------- simulation
@dataclass
class Rollout:
    """Result of :func:`simulate`.

    Attributes
    ----------
    average_reward : ndarray, shape (B,)
        Per copy, the time average over the recorded steps of the global reward
        :math:`\\frac1n\\sum_i r_i`.
    local_rewards : ndarray, shape (B, n)
        Per copy and agent, the time-averaged local reward.
    final_states : ndarray, shape (B, n)
    states : ndarray, shape (steps + 1, B, n) or None
        The recorded trajectory (from the end of the burn-in) if ``record_states``.
    steps, burn_in : int
    """

    average_reward: np.ndarray
    local_rewards: np.ndarray
    final_states: np.ndarray
    states: np.ndarray | None
    steps: int
    burn_in: int

    @property
    def mean(self):
        """Average reward over copies and time."""
        return float(self.average_reward.mean())

    @property
    def std_error(self):
        """Standard error of :attr:`mean` from the spread of the independent copies."""
        B = self.average_reward.shape[0]
        return float(self.average_reward.std(ddof=1) / math.sqrt(B)) if B > 1 else float("nan")


def simulate(env, policy, steps, rng, *, batch=None, initial_states=None, burn_in=0, record_states=False):
    """Roll out ``B`` independent copies of a networked environment under a product policy.

    Works for any environment with ``n``, ``state_sizes``, ``action_sizes`` and a vectorized
    ``step(states, actions, rng) -> (next_states, local_rewards)``: a
    :class:`~envs.WirelessNetwork` (realised rewards) or a :class:`~envs.NetworkedMDP` (its
    :meth:`~envs.NetworkedMDP.step`, expected rewards). The loop runs over time only; policy
    sampling and steps are vectorized. An environment with ``fast_loop(sampler, states)``
    (module docstring) is advanced through it instead, with the same random numbers.

    Parameters
    ----------
    env : WirelessNetwork, NetworkedMDP or any environment with the attributes above
    policy : LocalTabularPolicy, LocalSoftmaxPolicy or LocalPolicySampler
    steps : int
        Recorded steps (after the burn-in).
    rng : int, numpy.random.Generator or None
        See :func:`~envs.as_generator`.
    batch : int, optional
        Number of copies when ``initial_states`` is not given.
    initial_states : int array, shape (B, n), optional
        Default: all zeros (for the wireless network: empty queues).
    burn_in : int
        Steps simulated before recording.
    record_states : bool

    Returns
    -------
    Rollout
    """
    steps, burn_in = int(steps), int(burn_in)
    if steps < 1 or burn_in < 0:
        raise ValueError(f"need `steps` >= 1 and `burn_in` >= 0, got {steps} and {burn_in}")
    rng = as_generator(rng)
    sampler = (policy if isinstance(policy, LocalPolicySampler)
               else LocalPolicySampler(check_policy(env, policy), state_sizes=env.state_sizes))
    if sampler.n != env.n:
        raise ShapeError(f"the policy has {sampler.n} agents but the environment has {env.n}")
    if initial_states is None:
        if batch is None:
            raise ValueError("pass `batch` or `initial_states`")
        s = np.zeros((int(batch), env.n), dtype=np.int64)
    else:
        s = np.array(initial_states, dtype=np.int64)
        if s.ndim != 2 or s.shape[1] != env.n:
            raise ShapeError(f"`initial_states` must have shape (B, n={env.n}), got {s.shape}")
    s = check_local_indices(s, env.state_sizes, "`initial_states`")
    fast = callable(getattr(env, "fast_loop", None))
    if fast:
        loop = env.fast_loop(sampler, s)
    B = s.shape[0]
    total = np.zeros((B, env.n))
    traj = np.empty((steps + 1, B, env.n), dtype=np.int64) if record_states else None
    for t in range(burn_in + steps):
        if record_states and t >= burn_in:
            traj[t - burn_in] = loop.states if fast else s
        if fast:
            r = loop.step(rng)
        else:
            s, r = env.step(s, sampler.sample(s, rng), rng)
        if t >= burn_in:
            total += r
    s = loop.states.copy() if fast else s
    if record_states:
        traj[steps] = s
    local = total / steps
    return Rollout(local.mean(axis=1), local, s, traj, steps, burn_in)

