r"""Exact policy evaluation: stationary distribution, J, differential / discounted Q.

Average reward (qu2020 §2.1):

.. math::
    J(\theta) = E_{(s,a)\sim\pi^\theta} r(s,a), \qquad
    Q^\theta_i(s,a) = E\Big[\sum_{t\ge0} r_i(s(t),a(t)) - J_i(\theta) \,\Big|\, s(0)=s, a(0)=a\Big]
    \quad (3)

computed as :math:`Q_i(s,a) = r_i(s,a) - J_i + \sum_{s'} P(s'|s,a) h_i(s')` with :math:`h_i` the bias
(:mod:`._markov`). Discounted: :math:`Q_i(s,a) = r_i(s,a) + \gamma \sum_{s'} P(s'|s,a) V_i(s')`.
The global Q is the average over agents of the local ones, :math:`Q = \frac1n\sum_i Q_i`.
"""

from dataclasses import dataclass, field

import numpy as np

from netmarl_verify.envs._validation import as_float_array, check_finite

from ._backends import choose_backend
from ._errors import PeriodicChainError
from ._markov import AverageRewardSolver, DiscountedSolver, chain_structure, raise_if_not_unichain
from ._model import _chunks, as_model

__all__ = [
    "PolicyEvaluation",
    "evaluate_policy",
    "transition_matrix",
    "stationary_distribution",
    "average_reward",
    "q_function",
    "state_values",
]

PERIODIC_MODES = ("raise", "cesaro")


@dataclass
class PolicyEvaluation:
    r"""Everything the exact solvers know about one (model, policy[, gamma]).

    Attributes
    ----------
    model : object
        Internal factored view of ``(mdp, policy)``.
    gamma : float or None
        ``None`` for average reward.
    backend : str
        ``"dense"`` or ``"sparse"``.
    P : ndarray or scipy.sparse matrix
        :math:`P_\pi(s'|s)`, shape (|S|, |S|).
    rewards : ndarray, shape (|S|, n)
        :math:`r_{\pi,i}(s) = E_{a\sim\zeta(\cdot|s)} r_i(s,a)`.
    stationary : ndarray or None
        :math:`d` (average reward only).
    J_local : ndarray, shape (n,) or None
        :math:`J_i` (average reward only).
    values : ndarray, shape (|S|, n)
        Bias :math:`h_i` (average reward, :math:`d^\top h_i = 0`) or :math:`V_i` (discounted).
    period : int or None
        Period of the recurrent class (average reward only).
    residuals : dict
        Residual certificate of every solve (max-norm, relative).
    """

    model: object
    gamma: float | None
    backend: str
    P: object
    rewards: np.ndarray
    stationary: np.ndarray | None
    J_local: np.ndarray | None
    values: np.ndarray
    period: int | None
    periodic: str
    residuals: dict = field(default_factory=dict)
    _solver: object = None
    #: True when ``rewards=`` replaced the model's expected rewards (Q at pairs is then undefined).
    custom_rewards: bool = False

    def __repr__(self):
        # a summary: the matrices are attributes, printing them would flood a REPL or a log
        n_states, n_agents = self.values.shape
        parts = [f"n_states={n_states}", f"agents={n_agents}", f"backend={self.backend!r}"]
        if self.gamma is None:
            parts.append(f"J={self.J:.6g}")
            if self.period is not None and self.period > 1:
                parts.append(f"period={self.period}, periodic={self.periodic!r}")
        else:
            parts.append(f"gamma={self.gamma:g}")
        res = [float(v) for v in self.residuals.values() if np.isscalar(v)]
        if res:
            parts.append(f"max residual {max(res):.1e}")
        return f"PolicyEvaluation({', '.join(parts)})"

    @property
    def J(self):
        """Global average reward :math:`J = \\frac1n \\sum_i J_i` (average reward only)."""
        return None if self.J_local is None else float(self.J_local.mean())

    @property
    def global_values(self):
        """Bias / value of the global reward, :math:`\\frac1n \\sum_i h_i`."""
        return self.values.mean(axis=1)

    def q(self, states, actions, agent=None):
        """Exact Q at global state-action pairs (see :func:`q_function`)."""
        if agent is not None:
            agent = self.model.check_agent(agent)
        out = self.q_local(states, actions)
        if agent is None:
            return out.mean(axis=1)
        return out[:, agent].copy()

    def require_aperiodic(self):
        """Raise :class:`PeriodicChainError` if Q is undefined here: average reward, a periodic
        recurrent class and ``periodic="raise"``. Returns ``self``."""
        if self.gamma is None and self.period is not None and self.period > 1 and self.periodic == "raise":
            raise PeriodicChainError(
                f"the recurrent class of the chain under this policy has period {self.period}: the sum in "
                "qu2020 eq. (3) does not converge. Pass periodic='cesaro' for the Cesàro limit "
                "(r - J + P h with h the Cesàro-limit bias)"
            )
        return self

    def visitation(self, initial):
        r"""Unnormalised discounted visitation :math:`\lambda = (I - \gamma P_\pi^\top)^{-1}\mu_0`.

        Reuses the factorisation of the evaluation (discounted only); the residual certificate is
        recorded in :attr:`residuals`. ``initial`` is a validated distribution over global states.
        """
        if self.gamma is None:
            raise ValueError("the discounted visitation needs a discounted evaluation (gamma in [0, 1))")
        return self._solver.visitation(initial, self.residuals)

    def require_model_rewards(self, what="Q at state-action pairs"):
        """Raise unless the rewards are the model's own (``rewards=`` gives expected rewards only,
        not the reward of each state-action pair that Q, gradients and truncations need)."""
        if self.custom_rewards:
            raise ValueError(
                f"{what} needs the reward of every state-action pair, but this evaluation was given "
                "expected rewards per state (rewards=); only stationary, J_local and values are defined"
            )
        return self

    def q_local(self, states, actions):
        """All local :math:`Q_i` at once, shape (m, n) (one kernel row per pair, shared by agents)."""
        self.require_aperiodic()
        self.require_model_rewards()
        model = self.model
        states, actions = model.check_pairs(states, actions)
        m = states.shape[0]
        nS = model.n_states
        out = np.empty((m, self.values.shape[1]))
        for a, b in _chunks(m, 8.0 * nS * 2):
            rows = model.pair_rows(states[a:b], actions[a:b])
            nxt = rows @ self.values
            r = model.pair_rewards(states[a:b], actions[a:b])
            if self.gamma is None:
                out[a:b] = r - self.J_local[None, :] + nxt
            else:
                out[a:b] = r + self.gamma * nxt
        return out


def _check_gamma(gamma):
    if gamma is None:
        return None
    gamma = float(gamma)
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1) (or None for average reward), got {gamma}")
    return gamma


def _policy_rewards(model, rewards):
    """The model's expected rewards, or the ``rewards=`` override (validated), shape (|S|, n)."""
    if rewards is None:
        return model.policy_rewards(), False
    if callable(rewards):
        rewards = rewards(model.global_states())
    r = as_float_array(rewards, "rewards")
    want = (model.n_states, model.n_agents)
    if r.ndim == 1 and model.n_agents == 1:
        r = r[:, None]
    if r.shape != want:
        raise ValueError(f"rewards must have shape (|S|, n) = {want} (expected reward of each agent in each "
                         f"global state under the policy), got {r.shape}")
    check_finite(r, "rewards")
    return r, True


def evaluate_policy(mdp, policy, gamma=None, *, rewards=None, backend="auto", periodic="raise"):
    """Solve for everything exact about ``policy`` once; reuse it for Q, J and gradients.

    Parameters
    ----------
    mdp : NetworkedMDP or TabularMDP
    policy : LocalSoftmaxPolicy (networked) or policy table / TabularSoftmaxPolicy (tabular)
    gamma : float in [0, 1) or None
        ``None``: average reward (qu2020); otherwise discounted.
    rewards : ndarray of shape (|S|, n), or callable, optional
        Replaces the model's expected rewards :math:`r_{\\pi,i}(s)` (column ``i`` for agent ``i``;
        one column for a TabularMDP): e.g. ying2023's shadow rewards or chen2024's barrier terms,
        on the same kernel and the same factorisation. A callable is called with the global
        states in the model's convention (``mdp.state_tuples()``, shape (|S|, n), for a
        NetworkedMDP; ``arange(|S|)`` for a TabularMDP) and returns the table. With ``rewards=``
        only :attr:`~PolicyEvaluation.stationary`, ``J_local`` and ``values`` are defined (Q at
        pairs, gradients and truncations need pair rewards and raise).
    backend : {"auto", "dense", "sparse"} or a backend object of :mod:`._backends`
    periodic : {"raise", "cesaro"}
        What :meth:`PolicyEvaluation.q` does on a periodic chain (average reward).

    Returns
    -------
    PolicyEvaluation

    Raises
    ------
    MultipleRecurrentClassesError
        Average reward with more than one recurrent class.
    MemoryBudgetError
        The tables would not fit (estimated before allocating).
    SolverAccuracyError
        A residual certificate failed.
    """
    if periodic not in PERIODIC_MODES:
        raise ValueError(f"periodic must be one of {PERIODIC_MODES}, got {periodic!r}")
    gamma = _check_gamma(gamma)
    model = as_model(mdp, policy)
    linalg = choose_backend(model, backend)  # chosen once: a LinearBackend object
    P = linalg.transition_matrix(model)
    r, custom = _policy_rewards(model, rewards)
    residuals = {}
    if gamma is None:
        structure = chain_structure(P)
        raise_if_not_unichain(structure, model.describe_state)
        solver = AverageRewardSolver(P, linalg, k=int(structure.recurrent_states[0]))
        d = solver.stationary(residuals)
        J, h = solver.bias(r, d, residuals)
        return PolicyEvaluation(model, None, linalg.name, P, r, d, J, h, structure.period, periodic, residuals,
                                solver, custom)
    solver = DiscountedSolver(P, gamma, linalg)
    V = solver.values(r, residuals)
    return PolicyEvaluation(model, gamma, linalg.name, P, r, None, None, V, None, periodic, residuals, solver, custom)


def transition_matrix(mdp, policy, *, backend="auto"):
    """The state transition matrix :math:`P_\\pi(s'|s)` under ``policy`` (qu2020 eq. (1)).

    Built from the local factors row block by row block; dense ndarray or CSR matrix.
    """
    model = as_model(mdp, policy)
    return choose_backend(model, backend).transition_matrix(model)


def stationary_distribution(mdp, policy, *, backend="auto"):
    """Stationary distribution of the global state chain under ``policy``.

    Parameters
    ----------
    mdp : NetworkedMDP or TabularMDP
    policy : LocalSoftmaxPolicy or policy table
    backend : {"auto", "dense", "sparse"}

    Returns
    -------
    d : ndarray, shape (|S|,)
        Indexed by global state (``np.ravel_multi_index``, agent 0 most significant).

    Raises
    ------
    MultipleRecurrentClassesError
        If the chain has more than one recurrent class (the answer would not be unique).

    Notes
    -----
    A periodic irreducible chain has a unique stationary distribution, which is returned.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import TabularMDP
    >>> from netmarl_verify.solvers.exact import stationary_distribution
    >>> P = np.array([[[0.9, 0.1]], [[0.3, 0.7]]])
    >>> stationary_distribution(TabularMDP(P, np.zeros((2, 1))), np.ones((2, 1)))
    array([0.75, 0.25])
    """
    return evaluate_policy(mdp, policy, None, backend=backend, periodic="cesaro").stationary


def average_reward(mdp, policy, agent=None, *, backend="auto"):
    """:math:`J(\\theta)` (qu2020 eq. (2)), or :math:`J_i(\\theta)` with ``agent=i``."""
    ev = evaluate_policy(mdp, policy, None, backend=backend, periodic="cesaro")
    if agent is None:
        return ev.J
    return float(ev.J_local[ev.model.check_agent(agent)])


def q_function(mdp, policy, states, actions, agent=None, gamma=None, *, backend="auto", periodic="raise",
               evaluation=None):
    """Exact Q at global state-action pairs.

    Parameters
    ----------
    mdp : NetworkedMDP or TabularMDP
    policy : LocalSoftmaxPolicy or policy table
    states, actions : int array
        NetworkedMDP: shape (m, n) of local indices. TabularMDP: shape (m,) of global indices.
    agent : int or None
        ``None``: Q of the global reward :math:`r = \\frac1n\\sum_i r_i`; ``i``: :math:`Q_i`.
    gamma : float in (0, 1) or None
        ``None``: differential Q of qu2020 eq. (3) (bias normalised so that its stationary mean is
        zero). Otherwise the discounted Q.
    backend : {"auto", "dense", "sparse"}
    periodic : {"raise", "cesaro"}
        On a periodic chain the sum in eq. (3) does not converge: ``"raise"`` raises
        :class:`PeriodicChainError`, ``"cesaro"`` returns the Cesàro limit of the partial sums.
    evaluation : PolicyEvaluation, optional
        Reuse a previous :func:`evaluate_policy` (must match ``gamma``).

    Returns
    -------
    ndarray, shape (m,)

    References
    ----------
    qu2020 eq. (3); discounted: qu2020 Cor. 1, ying2023 eq. (7).
    """
    gamma = _check_gamma(gamma)
    if evaluation is None:
        evaluation = evaluate_policy(mdp, policy, gamma, backend=backend, periodic=periodic)
    elif evaluation.gamma != gamma:
        raise ValueError(f"evaluation was computed with gamma={evaluation.gamma}, not {gamma}")
    return evaluation.q(states, actions, agent)


def state_values(mdp, policy, gamma=None, agent=None, *, backend="auto"):
    """Bias :math:`h` (average reward, :math:`d^\\top h = 0`) or discounted :math:`V`, over global states."""
    ev = evaluate_policy(mdp, policy, _check_gamma(gamma), backend=backend, periodic="cesaro")
    if agent is None:
        return ev.global_values
    return ev.values[:, agent].copy()
