"""Exact solvers: stationary distributions, Q-functions, occupancy measures, policy gradients.

Every quantity is computed from the local factors of a :class:`~envs.NetworkedMDP` (or from a
:class:`~envs.TabularMDP`) by direct linear algebra with a residual certificate, on a dense
(LAPACK) or sparse (SuperLU) backend chosen by size.
"""

from ._errors import MultipleRecurrentClassesError, PeriodicChainError, SolverAccuracyError
from ._evaluation import (
    PolicyEvaluation,
    average_reward,
    evaluate_policy,
    q_function,
    state_values,
    stationary_distribution,
    transition_matrix,
)
from ._gradient import finite_difference_gradient, objective, policy_gradient
from ._markov import ChainStructure, chain_structure
from ._occupancy import discounted_occupancy, discounted_visitation

__all__ = [
    "evaluate_policy",
    "PolicyEvaluation",
    "transition_matrix",
    "stationary_distribution",
    "average_reward",
    "q_function",
    "state_values",
    "policy_gradient",
    "objective",
    "finite_difference_gradient",
    "discounted_visitation",
    "discounted_occupancy",
    "chain_structure",
    "ChainStructure",
    "MultipleRecurrentClassesError",
    "PeriodicChainError",
    "SolverAccuracyError",
]

from ._decay import (  # noqa: E402  (qu2020 §2.2 / §3.1 quantities)
    DecayProfile,
    agent_marginals,
    decay_profile,
    interaction_matrix,
    q_table,
    row_sums,
    score_norm_bound,
    truncated_gradient,
    truncated_q,
)

__all__ += [
    "interaction_matrix",
    "row_sums",
    "q_table",
    "truncated_q",
    "truncated_gradient",
    "decay_profile",
    "DecayProfile",
    "agent_marginals",
    "score_norm_bound",
]

from ._critic import (  # noqa: E402  (qu2020 Alg. 1 critic, Assumption 4, Theorem 3)
    CriticApproximation,
    CriticEquation,
    ErgodicityConstants,
    UnidentifiedFixedPointError,
    critic_approximation_error,
    critic_fixed_point,
    ergodicity_constants,
)

__all__ += [
    "critic_fixed_point",
    "CriticEquation",
    "UnidentifiedFixedPointError",
    "ergodicity_constants",
    "ErgodicityConstants",
    "critic_approximation_error",
    "CriticApproximation",
]

from ._critic_dynamics import critic_ode_transient, critic_slowest_rate  # noqa: E402  (qu2020 Theorem 3(b) ODE)
from ._marginal_tv import marginal_tv_sup  # noqa: E402  (qu2020 Lemma 3's supremum)
from ._optimality import (  # noqa: E402  (optimal values, best responses, Nash / optimality gaps)
    BestResponse,
    DeterministicOptimum,
    OptimalGain,
    OptimalValues,
    bellman_residual,
    best_deterministic_policy,
    best_response,
    lp_values,
    nash_gap,
    optimal_gain,
    optimal_values,
    optimality_gap,
    policy_iteration,
    policy_values,
    value_iteration,
)

__all__ += [
    "critic_slowest_rate",
    "critic_ode_transient",
    "marginal_tv_sup",
    "OptimalValues",
    "OptimalGain",
    "BestResponse",
    "DeterministicOptimum",
    "bellman_residual",
    "policy_values",
    "value_iteration",
    "policy_iteration",
    "lp_values",
    "optimal_values",
    "optimal_gain",
    "best_response",
    "nash_gap",
    "optimality_gap",
    "best_deterministic_policy",
]

from ._backends import choose_backend  # noqa: E402  (the dense/sparse backend object the solvers would pick)
from ._model import as_model  # noqa: E402  ((mdp, policy) in the factored interface the backends read)

__all__ += ["as_model", "choose_backend"]
