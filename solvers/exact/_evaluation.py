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

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from netmarl_verify.envs._validation import as_float_array, check_finite

from ._backends import choose_backend
from ._errors import PeriodicChainError
from ._markov import AverageRewardSolver, DiscountedSolver, chain_structure, raise_if_not_unichain
from ._model import _chunks, as_model
from ._operator import PolicyOperator

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


@dataclass(kw_only=True)
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
        Period of the recurrent class (average reward only; 1 means aperiodic).
    periodic : {"raise", "cesaro"}
        What Q at pairs does on a periodic chain (average reward): ``"raise"`` raises
        :class:`PeriodicChainError` (:meth:`require_aperiodic`), ``"cesaro"`` uses the Cesàro-limit
        bias.
    residuals : dict
        Residual certificate of every solve (max-norm, relative).
    forward_errors : dict
        Relative forward-error estimate :math:`\kappa_\infty(\rho + \epsilon_{\mathrm{mach}})` of
        every solve (keys ``"stationary"``, ``"poisson"``, ``"discounted"``, ``"visitation"``; see
        :mod:`._backends`; on the matrix-free backend the estimates of :mod:`._krylov`, where the
        discounted ones are rigorous bounds and ``"visitation"`` is a relative 1-norm error).
    custom_rewards : bool
        True when ``rewards=`` replaced the model's expected rewards (Q at pairs is then
        undefined; :meth:`require_model_rewards`).
    J : float or None
        Global average reward :math:`\frac1n\sum_i J_i` (property; average reward only).
    global_values : ndarray, shape (|S|,)
        Bias / value of the global reward (property).

    Methods
    -------
    q(states, actions, agent=None)
        Exact Q at global state-action pairs.
    q_local(states, actions)
        All local :math:`Q_i` at pairs, shape (m, n).
    visitation(initial)
        Unnormalised discounted visitation from an initial distribution (discounted only).
    require_aperiodic()
        Raise :class:`PeriodicChainError` where Q is undefined; return ``self``.
    require_model_rewards(what)
        Raise :class:`ValueError` after ``rewards=``; return ``self``.

    Notes
    -----
    Built by :func:`evaluate_policy` with keyword arguments only; ``_solver`` (the factorisation,
    reused by :meth:`visitation`) is private.
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
    forward_errors: dict = field(default_factory=dict)
    _solver: object = field(default=None, repr=False, compare=False)
    custom_rewards: bool = False
    _products: object = field(default=None, repr=False, compare=False)

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
        r"""Exact Q at global state-action pairs (see :func:`q_function`).

        Parameters
        ----------
        states, actions : int array
            NetworkedMDP: shape (m, n) of local indices. TabularMDP: shape (m,) of global indices.
        agent : int or None
            ``None``: Q of the global reward :math:`\frac1n\sum_i r_i`; ``i``: :math:`Q_i`.

        Returns
        -------
        ndarray, shape (m,)

        Raises
        ------
        PeriodicChainError
            See :meth:`require_aperiodic`.
        ValueError
            After ``rewards=`` (:meth:`require_model_rewards`), or for invalid pairs or agent.
        """
        if agent is not None:
            agent = self.model.check_agent(agent)
        out = self.q_local(states, actions)
        if agent is None:
            return out.mean(axis=1)
        return out[:, agent].copy()

    def require_aperiodic(self):
        """Check that Q at pairs is defined here, for chaining (``ev.require_aperiodic().q(...)``).

        Returns
        -------
        PolicyEvaluation
            ``self``.

        Raises
        ------
        PeriodicChainError
            Average reward, a periodic recurrent class and ``periodic="raise"``: the sum in
            qu2020 eq. (3) does not converge.
        """
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
        recorded in :attr:`residuals`.

        Parameters
        ----------
        initial : ndarray, shape (|S|,)
            An initial distribution :math:`\mu_0` over global states, already validated (it is
            not checked here; :func:`discounted_visitation` validates it for you).

        Returns
        -------
        ndarray, shape (|S|,)
            :math:`\lambda = \sum_t \gamma^t (P_\pi^\top)^t \mu_0`, which sums to
            :math:`1/(1-\gamma)`.

        Raises
        ------
        ValueError
            On an average-reward evaluation (``gamma=None``).
        SolverAccuracyError
            The residual certificate fails.
        """
        if self.gamma is None:
            raise ValueError("the discounted visitation needs a discounted evaluation (gamma in [0, 1))")
        # every solver (direct and matrix-free) also certifies the forward error
        return self._solver.visitation(initial, self.residuals, self.forward_errors)

    def require_model_rewards(self, what="Q at state-action pairs"):
        """Check that the rewards are the model's own, for chaining.

        ``rewards=`` gives expected rewards per state only, not the reward of each state-action
        pair that Q, gradients and truncations need.

        Parameters
        ----------
        what : str
            The quantity that needs pair rewards, for the error message.

        Returns
        -------
        PolicyEvaluation
            ``self``.

        Raises
        ------
        ValueError
            If the evaluation was given ``rewards=``.
        """
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
        if self._products is not None:  # matrix-free: Kronecker rows contracted in slabs (._krylov)
            from ._krylov import pair_values

            nxt = pair_values(model, states, actions, self.values)
            r = model.pair_rewards(states, actions)
            return r - self.J_local[None, :] + nxt if self.gamma is None else r + self.gamma * nxt
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

    def marginal(self, values, scale, offset):
        """The operator's agent-marginal Q (:meth:`~._operator.PolicyOperator.marginal`), matrix-free
        on the matrix-free backend."""
        if self._products is not None:
            from ._krylov import marginal

            return marginal(self.model, self._products, values, scale, offset,
                            rewards=None if self.custom_rewards else self.rewards)
        return self.model.marginal(values, scale, offset)


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


def _operator_of(mdp, policy, operator):
    """``as_model(mdp, policy)``, or the given operator (then ``mdp`` and ``policy`` must be None)."""
    if operator is None:
        return as_model(mdp, policy)
    if mdp is not None or policy is not None:
        raise TypeError("pass either (mdp, policy) or operator=, not both: the operator already carries the "
                        "model and the policy")
    if not isinstance(operator, PolicyOperator):
        raise TypeError(f"operator must implement the PolicyOperator protocol, got {type(operator).__name__}")
    return operator


def evaluate_policy(mdp=None, policy=None, gamma=None, *, operator=None, rewards=None, backend="auto",
                    periodic="raise", on_ill_conditioned="raise"):
    """Solve for everything exact about ``policy`` once; reuse it for Q, J and gradients.

    Parameters
    ----------
    mdp : NetworkedMDP or TabularMDP
        Omitted (``None``) when ``operator`` is given.
    policy : LocalSoftmaxPolicy (networked) or policy table / TabularSoftmaxPolicy (tabular)
        Omitted (``None``) when ``operator`` is given.
    gamma : float in [0, 1) or None
        ``None``: average reward (qu2020); otherwise discounted.
    operator : PolicyOperator, optional
        Evaluate this kernel instead of ``as_model(mdp, policy)``: a derived kernel such as
        :class:`~._operator.RestartOperator` (zhang2025's restart kernel
        :math:`\\gamma P_\\pi + (1-\\gamma)\\mathbf 1 e_{s_0}^\\top`). It is materialised through the
        backend (:meth:`~._backends.LinearBackend.transition_matrix`) exactly as a model's kernel
        is; its rewards, pairs and policy side are the operator's. The result's ``model`` is the
        operator, so solvers that need a :class:`~envs.NetworkedMDP` (truncation, the critic)
        refuse it.
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
    on_ill_conditioned : {"raise", "warn"}
        A forward-error estimate above :data:`~._backends.FORWARD_ERROR_TOL` raises
        :class:`IllConditionedError` (default) or issues a :class:`RuntimeWarning` (``"warn"``).

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
    IllConditionedError
        A forward-error estimate exceeds its tolerance (``on_ill_conditioned="raise"``).
    TypeError
        ``operator`` is not a :class:`~._operator.PolicyOperator`, or is given together with
        ``mdp`` / ``policy``.

    Examples
    --------
    The stationary distribution of the restart kernel is the normalised discounted visitation
    from the restart state (zhang2025):

    >>> import numpy as np
    >>> from netmarl_verify.envs import TabularMDP
    >>> from netmarl_verify.solvers.exact import (RestartOperator, as_model, discounted_visitation,
    ...                                          evaluate_policy)
    >>> mdp, pi = TabularMDP(np.array([[[0.9, 0.1]], [[0.3, 0.7]]]), np.zeros((2, 1))), np.ones((2, 1))
    >>> ev = evaluate_policy(operator=RestartOperator(as_model(mdp, pi), 0.5, 1))
    >>> ev.stationary.round(6), discounted_visitation(mdp, pi, 0.5, [0.0, 1.0]).round(6)
    (array([0.214286, 0.785714]), array([0.214286, 0.785714]))
    """
    if periodic not in PERIODIC_MODES:
        raise ValueError(f"periodic must be one of {PERIODIC_MODES}, got {periodic!r}")
    gamma = _check_gamma(gamma)
    model = _operator_of(mdp, policy, operator)
    linalg = choose_backend(model, backend)  # chosen once: a LinearBackend object
    return _evaluate(model, linalg, gamma, rewards, periodic, on_ill_conditioned)


def _evaluate(model, linalg, gamma, rewards, periodic, on_ill_conditioned="raise"):
    """The solve behind :func:`evaluate_policy` (and behind a miss of :func:`_shared_evaluation`)."""
    if getattr(linalg, "matrix_free", False):
        return _evaluate_matrix_free(model, linalg, gamma, rewards, periodic, on_ill_conditioned)
    P = linalg.transition_matrix(model)
    r, custom = _policy_rewards(model, rewards)
    residuals, fwd = {}, {}
    if gamma is None:
        structure = chain_structure(P)
        raise_if_not_unichain(structure, model.describe_state)
        solver = AverageRewardSolver(P, linalg, k=int(structure.recurrent_states[0]),
                                     on_ill_conditioned=on_ill_conditioned)
        d = solver.stationary(residuals, fwd)
        J, h = solver.bias(r, d, residuals, fwd)
        return PolicyEvaluation(model=model, gamma=None, backend=linalg.name, P=P, rewards=r, stationary=d,
                                J_local=J, values=h, period=structure.period, periodic=periodic,
                                residuals=residuals, forward_errors=fwd, custom_rewards=custom, _solver=solver)
    solver = DiscountedSolver(P, gamma, linalg, on_ill_conditioned=on_ill_conditioned)
    V = solver.values(r, residuals, fwd)
    return PolicyEvaluation(model=model, gamma=gamma, backend=linalg.name, P=P, rewards=r, stationary=None,
                            J_local=None, values=V, period=None, periodic=periodic, residuals=residuals,
                            forward_errors=fwd, custom_rewards=custom, _solver=solver)


def _solver_code(linalg):
    """The functions a solve runs through, as objects (part of the cache key, see :mod:`._cache`)."""
    g = globals()
    names = ("AverageRewardSolver", "DiscountedSolver", "chain_structure", "raise_if_not_unichain",
             "_policy_rewards", "_evaluate", "_evaluate_matrix_free")
    return tuple(g[n] for n in names) + _cache_methods(g["AverageRewardSolver"]) + \
        _cache_methods(g["DiscountedSolver"]) + _cache_methods(type(linalg))


def _cache_methods(cls):
    return tuple(v for c in cls.__mro__ if c is not object for v in vars(c).values() if callable(v))


def _shared_evaluation(mdp, policy, gamma, backend="auto", periodic="raise"):
    """:func:`evaluate_policy` for the one-shot functions: served from the evaluation cache (:mod:`._cache`).

    Same validation, same backend choice and the same solve as :func:`evaluate_policy`; a hit
    returns the evaluation (arrays and factorisation) a previous call with the same model object,
    policy values, ``gamma`` and resolved backend computed. The result is shared: callers must
    not mutate it or hand its arrays out uncopied.
    """
    from . import _cache

    if not _cache.cache_enabled():
        return evaluate_policy(mdp, policy, gamma, backend=backend, periodic=periodic)
    if periodic not in PERIODIC_MODES:
        raise ValueError(f"periodic must be one of {PERIODIC_MODES}, got {periodic!r}")
    gamma = _check_gamma(gamma)
    model = as_model(mdp, policy)
    linalg = choose_backend(model, backend)
    key, tables = _cache.make_key(model, gamma, linalg, _solver_code(linalg))
    if key is None:
        return _evaluate(model, linalg, gamma, None, periodic)
    ev = _cache.get(key, tables, mdp)
    if ev is None:
        ev = _evaluate(model, linalg, gamma, None, periodic)
        _cache.put(key, tables, mdp, ev)
    if ev.periodic != periodic:  # periodic only governs Q at pairs: share every array
        ev = dataclasses.replace(ev, periodic=periodic)
    return ev


def _evaluate_matrix_free(model, linalg, gamma, rewards, periodic, on_ill_conditioned="raise"):
    """:func:`evaluate_policy` on the matrix-free backend (:mod:`._krylov`): no |S| x |S| object."""
    from ._krylov import KrylovAverageReward, KrylovDiscounted, certified_structure, policy_rewards

    prod = linalg.products(model)
    if rewards is None:  # the model's rewards, without a table of every state's local indices
        r, custom = policy_rewards(model), False
    else:
        r, custom = _policy_rewards(model, rewards)
    residuals, fwd = {}, {}
    if gamma is None:
        structure = certified_structure(model, prod)
        raise_if_not_unichain(structure, model.describe_state)
        solver = KrylovAverageReward(prod, on_ill_conditioned=on_ill_conditioned)
        d = solver.stationary(residuals, fwd)
        J, h = solver.bias(r, d, residuals, fwd)
        return PolicyEvaluation(model=model, gamma=None, backend=linalg.name, P=solver.P, rewards=r, stationary=d,
                                J_local=J, values=h, period=structure.period, periodic=periodic,
                                residuals=residuals, forward_errors=fwd, custom_rewards=custom, _solver=solver,
                                _products=prod)
    solver = KrylovDiscounted(prod, gamma, on_ill_conditioned=on_ill_conditioned)
    V = solver.values(r, residuals, fwd)
    return PolicyEvaluation(model=model, gamma=gamma, backend=linalg.name, P=solver.P, rewards=r, stationary=None,
                            J_local=None, values=V, period=None, periodic=periodic, residuals=residuals,
                            forward_errors=fwd, custom_rewards=custom, _solver=solver, _products=prod)


def transition_matrix(mdp, policy, *, backend="auto"):
    """The state transition matrix :math:`P_\\pi(s'|s)` under ``policy`` (qu2020 eq. (1)).

    Built from the local factors row block by row block, on the backend :func:`evaluate_policy`
    would use.

    Parameters
    ----------
    mdp : NetworkedMDP or TabularMDP
    policy : LocalSoftmaxPolicy (networked) or policy table / TabularSoftmaxPolicy (tabular)
    backend : {"auto", "dense", "sparse"} or a backend object of :mod:`._backends`
        ``"auto"`` picks dense or sparse by size.

    Returns
    -------
    ndarray or scipy.sparse.csr_matrix, shape (|S|, |S|)
        Row :math:`s` is :math:`P_\\pi(\\cdot|s)`; global states in the order of
        ``mdp.state_tuples()`` (agent 0 most significant). Dense on the dense backend, CSR on the
        sparse one.

    Raises
    ------
    MemoryBudgetError
        The matrix would not fit (estimated before allocating).

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import TabularMDP
    >>> from netmarl_verify.solvers.exact import transition_matrix
    >>> P = np.array([[[0.9, 0.1]], [[0.3, 0.7]]])
    >>> transition_matrix(TabularMDP(P, np.zeros((2, 1))), np.ones((2, 1)))
    array([[0.9, 0.1],
           [0.3, 0.7]])
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
    return _shared_evaluation(mdp, policy, None, backend=backend, periodic="cesaro").stationary.copy()


def average_reward(mdp, policy, agent=None, *, backend="auto"):
    """:math:`J(\\theta)` (qu2020 eq. (2)), or :math:`J_i(\\theta)` with ``agent=i``.

    .. math:: J(\\theta) = E_{(s,a)\\sim\\pi^\\theta}\\, r(s, a), \\qquad
              r = \\frac1n\\sum_i r_i, \\qquad J_i(\\theta) = E_{(s,a)\\sim\\pi^\\theta}\\, r_i(s, a).

    Parameters
    ----------
    mdp : NetworkedMDP or TabularMDP
    policy : LocalSoftmaxPolicy (networked) or policy table / TabularSoftmaxPolicy (tabular)
    agent : int or None
        ``None``: the global average reward; ``i``: agent ``i``'s.
    backend : {"auto", "dense", "sparse"} or a backend object of :mod:`._backends`

    Returns
    -------
    float

    Raises
    ------
    MultipleRecurrentClassesError
        More than one recurrent class (the stationary distribution is not unique). A periodic
        chain is fine: :math:`J` is defined by its unique stationary distribution.
    ValueError
        ``agent`` is not an agent of ``mdp``.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import TabularMDP
    >>> from netmarl_verify.solvers.exact import average_reward
    >>> P = np.array([[[0.9, 0.1]], [[0.3, 0.7]]])
    >>> average_reward(TabularMDP(P, np.array([[1.0], [0.0]])), np.ones((2, 1)))
    0.75
    """
    ev = _shared_evaluation(mdp, policy, None, backend=backend, periodic="cesaro")
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
    gamma : float in [0, 1) or None
        ``None``: differential Q of qu2020 eq. (3) (bias normalised so that its stationary mean is
        zero). Otherwise the discounted Q; ``gamma=0`` gives the reward itself.
    backend : {"auto", "dense", "sparse"}
    periodic : {"raise", "cesaro"}
        On a periodic chain the sum in eq. (3) does not converge: ``"raise"`` raises
        :class:`PeriodicChainError`, ``"cesaro"`` returns the Cesàro limit of the partial sums.
    evaluation : PolicyEvaluation, optional
        Reuse a previous :func:`evaluate_policy` (must match ``gamma``).

    Returns
    -------
    ndarray, shape (m,)

    Raises
    ------
    ValueError
        ``gamma`` outside [0, 1), an ``evaluation`` computed with another ``gamma``, invalid pairs
        or agent, or an ``evaluation`` given ``rewards=``.
    PeriodicChainError
        Average reward on a periodic chain with ``periodic="raise"``.
    MultipleRecurrentClassesError
        Average reward with more than one recurrent class.

    References
    ----------
    qu2020 eq. (3); discounted: qu2020 Cor. 1, ying2023 eq. (7).
    """
    gamma = _check_gamma(gamma)
    if evaluation is None:
        evaluation = _shared_evaluation(mdp, policy, gamma, backend=backend, periodic=periodic)
    elif evaluation.gamma != gamma:
        raise ValueError(f"evaluation was computed with gamma={evaluation.gamma}, not {gamma}")
    return evaluation.q(states, actions, agent)


def state_values(mdp, policy, gamma=None, agent=None, *, backend="auto"):
    """Bias :math:`h` (average reward, :math:`d^\\top h = 0`) or discounted :math:`V`, over global states.

    Parameters
    ----------
    mdp : NetworkedMDP or TabularMDP
    policy : LocalSoftmaxPolicy (networked) or policy table / TabularSoftmaxPolicy (tabular)
    gamma : float in [0, 1) or None
        ``None``: the bias of qu2020 eq. (3) with stationary mean zero (the Cesàro-limit bias on a
        periodic chain); otherwise :math:`V = (I - \\gamma P_\\pi)^{-1} r_\\pi`.
    agent : int or None
        ``None``: of the global reward :math:`\\frac1n\\sum_i r_i`; ``i``: of :math:`r_i`.
    backend : {"auto", "dense", "sparse"} or a backend object of :mod:`._backends`

    Returns
    -------
    ndarray, shape (|S|,)
        Indexed by global state (``np.ravel_multi_index``, agent 0 most significant).

    Raises
    ------
    ValueError
        ``gamma`` outside [0, 1).
    MultipleRecurrentClassesError
        Average reward with more than one recurrent class.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import TabularMDP
    >>> from netmarl_verify.solvers.exact import state_values
    >>> P = np.array([[[0.9, 0.1]], [[0.3, 0.7]]])
    >>> mdp = TabularMDP(P, np.array([[1.0], [0.0]]))
    >>> state_values(mdp, np.ones((2, 1)), 0.5).round(6)
    array([1.857143, 0.428571])
    """
    ev = _shared_evaluation(mdp, policy, _check_gamma(gamma), backend=backend, periodic="cesaro")
    if agent is None:
        return ev.global_values
    return ev.values[:, agent].copy()
