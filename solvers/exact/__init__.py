r"""Exact solvers: ground truth by direct linear algebra, with a residual certificate.

Every quantity is computed from the local factors of a :class:`~netmarl_verify.envs.NetworkedMDP`
(or from a :class:`~netmarl_verify.envs.TabularMDP`) on a dense (LAPACK) or sparse (SuperLU)
backend chosen by size. Every solve records its residual; one above tolerance raises
:class:`SolverAccuracyError` instead of returning a wrong number.

Policy evaluation (qu2020 §2.1)
-------------------------------
evaluate_policy           -- solve once for (mdp, policy[, gamma]), or for a derived kernel
                             (``operator=``, e.g. :class:`RestartOperator`); returns a :class:`PolicyEvaluation`
PolicyEvaluation          -- stationary distribution, J, biases / values, Q at pairs, visitations
transition_matrix         -- :math:`P_\pi(s'|s)`, dense or CSR
stationary_distribution   -- :math:`d` with :math:`d^\top P_\pi = d^\top`
average_reward            -- :math:`J(\theta)` or :math:`J_i(\theta)` (qu2020 eq. (2))
q_function                -- differential (eq. (3)) or discounted Q at state-action pairs
state_values              -- bias :math:`h` or discounted :math:`V` over global states
chain_structure           -- recurrent classes and period of a chain (:class:`ChainStructure`)
clear_evaluation_cache    -- drop the evaluations the one-shot functions share (:mod:`._cache`:
                             bounded LRU, ``NETMARL_EVALUATION_CACHE=0`` or :func:`no_evaluation_cache`
                             disable it; :func:`evaluation_cache_info` reports it)

Policy gradients
----------------
policy_gradient           -- exact gradient of :math:`J` (qu2020 Lemma 1) or of the discounted value
objective                 -- the scalar the gradient differentiates
finite_difference_gradient -- central differences along random directions, a second route

Occupancy measures
------------------
discounted_visitation     -- normalised :math:`(1-\gamma)\sum_t \gamma^t \Pr(s_t = s)` over states
discounted_occupancy      -- unnormalised :math:`\lambda(s, a)` over state-action pairs (ying2023 eq. (2))

General utilities (ying2023 §2-3)
---------------------------------
shadow_problem            -- λ, λ_i, F(θ), the shadow rewards and the shadow model (:class:`ShadowProblem`:
                             Lemma 1's gradient, shadow Q tables, truncated shadow Q (14))
utility_objective         -- :math:`F(\theta) = \frac1n\sum_i f_i(\lambda_i)` (eq. (5))
local_occupancies         -- :math:`\lambda_i(s_i, a_i)` of a global table (eq. (4))
LinearUtility, StateEntropyUtility, ApprenticeshipUtility, KLUtility, LogFairnessUtility
                          -- local utilities :math:`f_i` with value, gradient, M_f and L_λ on Λ (:mod:`._utilities`)
influence_matrix          -- ying2023's M_ij (eq. (11)); beta_frontier, assumption1, lemma2_bound (eq. (12), Lemma 2)
utility_optimum           -- max of a concave F over Λ by Frank-Wolfe with a certified gap (Remark 2)
truncated_shadow_gradient -- :math:`\hat g_i(\theta)` of eq. (15), every agent
score_zero_term           -- the term (18) the proof of Prop. 1 drops, per agent
horizon_occupancy         -- :math:`\lambda^{(H)} = \sum_{k<H}\gamma^k\Pr(s^k, a^k)` (the mean of Alg. 1's (20))
horizon_expectations      -- :math:`\lambda_i^{(H)}` and :math:`\hat g_i^{(H)}` (the means of (20) and (21))
td_fixed_point            -- the aggregated fixed point of the TD oracle (23)

Interaction, decay and truncation (qu2020 §2.2, §3.1)
-----------------------------------------------------
interaction_matrix        -- Theorem 1's :math:`C`
interaction_rho           -- :math:`\rho = \max_i \sum_j C_{ij}` and the row sums (:class:`InteractionRho`)
row_sums                  -- the same two numbers as a tuple ``(rho, sums)``
agent_marginals           -- Lemma 3's exact laws of :math:`z_i(t)` from given pairs
marginal_tv_sup           -- Lemma 3's supremum of their total-variation distance
q_table                   -- the full :math:`Q_i(s, a)` table (small instances)
truncated_q               -- :math:`\tilde Q_i` on :math:`N_i^\kappa` (eq. (5)-(6))
truncated_gradient        -- :math:`\hat h_i(\theta)` (eq. (7))
score_norm_bound          -- :math:`L_i`, the largest softmax score norm
decay_profile             -- the left side of eq. (4) per κ (:class:`DecayProfile`)

Critic (qu2020 Algorithm 1, Assumption 4, Theorem 3)
----------------------------------------------------
critic_fixed_point        -- the averaged critic equation's solution (:class:`CriticEquation`)
ergodicity_constants      -- :math:`\sigma`, :math:`\mu_D` of Assumption 4 (:class:`ErgodicityConstants`)
critic_approximation_error -- the left side of Theorem 3's eq. (13), best constant (:class:`CriticApproximation`)
critic_slowest_rate       -- the slowest rate of the averaged critic ODE
critic_ode_transient      -- its transient, exactly
state_action_chain, l1_contraction, critic_averaged_system, critic_mixing_constants -- App. C's
                             constants: the dense z-chain, Lemma 6's worst direction, Ḡ_i and h̄_i
                             (Lemmas 9-10), Lemma 7's norms

Mean-field critic and actor (gu2021 App. A, Lemma C.1, eq. (17))
----------------------------------------------------------------
critic_fixed_point_mf     -- the box-bounded least-squares fixed point of the localized neural TD in the
                             random-feature class (37), certified (:class:`CriticFixedPoint`)
stationary_pairs, pair_kernel -- ν_θ on the lifted pairs (μ, h) and the pair chain
critic_inputs, critic_input_table, critic_input_scale, random_feature_matrix, linearisation_bound
                          -- the critic's inputs ζ^k_s, the features of (37) and the network-vs-linearisation gap
expected_actor_direction  -- the exact E ĝ_s of DEC-NEURAL-AC given critics, and one sample's variance
                             (:class:`ActorDirection`)

Optimality and equilibria
-------------------------
optimal_values, optimal_gain, value_iteration, policy_iteration, lp_values -- optimal control
policy_values, bellman_residual -- a fixed policy's values and their Bellman residual
best_response, nash_gap, optimality_gap, best_deterministic_policy -- per-agent deviations
OptimalValues, OptimalGain, BestResponse, DeterministicOptimum -- their results

Operators and backends
----------------------
as_model                  -- ``(mdp, policy)`` as the factored operator the backends read
PolicyOperator            -- the operator protocol (``rows``, ``matvec``, ``rmatvec``, ...)
RestartOperator           -- zhang2025's restart kernel :math:`\gamma P_\pi + (1-\gamma)\mathbf 1 e_{s_0}^\top`
choose_backend            -- the dense / sparse backend object the solvers would pick

Errors
------
MultipleRecurrentClassesError -- average reward is undefined: more than one recurrent class
PeriodicChainError        -- the sum in eq. (3) does not converge (pass ``periodic="cesaro"``)
SolverAccuracyError       -- a residual certificate failed
UnidentifiedFixedPointError -- Assumption 4(a) fails: the critic's fixed point is not unique
"""

from ._backends import choose_backend
from ._bn_exact import (
    BNAscentTrace,
    BNBestResponse,
    BNEvaluation,
    BNGradient,
    MismatchCoefficient,
    augmented_mdp,
    beta_lambda,
    bn_best_response,
    bn_evaluate,
    bn_gradient,
    bn_gradient_ascent,
    bn_hessian,
    bn_nash_gap,
    bn_objective,
    bn_optimal_value,
    bn_optimality_gap,
    deviation_joint_table,
    joint_log_barrier,
    log_barrier,
    mismatch_coefficient,
    visitation_ratio,
)
from ._cache import clear_evaluation_cache, evaluation_cache_info, no_evaluation_cache
from ._critic import (
    CriticApproximation,
    CriticEquation,
    ErgodicityConstants,
    critic_approximation_error,
    critic_fixed_point,
    ergodicity_constants,
)
from ._critic_constants import (
    CriticMixing,
    CriticSystem,
    StateActionChain,
    critic_averaged_system,
    critic_mixing_constants,
    l1_contraction,
    state_action_chain,
)
from ._critic_dynamics import critic_ode_transient, critic_slowest_rate
from ._decay import DecayProfile, decay_profile
from ._errors import (
    MultipleRecurrentClassesError,
    PeriodicChainError,
    SolverAccuracyError,
    UnidentifiedFixedPointError,
)
from ._evaluation import (
    PolicyEvaluation,
    average_reward,
    evaluate_policy,
    q_function,
    state_values,
    stationary_distribution,
    transition_matrix,
)
from ._gradient import central_difference_gradient, finite_difference_gradient, objective, policy_gradient
from ._interaction import InteractionRho, agent_marginals, interaction_matrix, interaction_rho, row_sums
from ._marginal_tv import marginal_tv_sup
from ._markov import ChainStructure, chain_structure
from ._mean_field import (
    LOCAL_Q_WEIGHTS,
    MeanFieldEvaluation,
    agreement_horizon,
    decay_profile_lifted,
    energy_gradient,
    energy_objective,
    evaluate_lifted,
    lemma42_bounds,
    local_q,
    localized_gradient,
)
from ._mean_field_critic import (
    ActorDirection,
    CriticFixedPoint,
    critic_fixed_point_mf,
    critic_input_scale,
    critic_input_table,
    critic_inputs,
    expected_actor_direction,
    linearisation_bound,
    pair_kernel,
    random_feature_matrix,
    stationary_pairs,
)
from ._restart import (
    RestartLaws,
    mixing_curve,
    reset_law,
    restart_kernel,
    restart_law,
    restart_laws,
    restart_mdp,
    restart_stationary,
    visitation_measure,
)
from ._fisher import (
    AdvantageGradient,
    EpsilonBias,
    advantage,
    advantage_policy_gradient,
    compatible_weights,
    epsilon_bias,
    exact_objective,
    fisher_information,
    optimal_objective,
    pair_values,
)
from ._spread_exact import (
    SpreadOptimum,
    sparse_restart_stationary,
    sparse_visitation,
    spread_episode_return,
    spread_optimal_episode_return,
    spread_optimal_values,
    spread_policy_values,
)
from ._spread_symmetric import SymmetricSpread, symmetric_spread, symmetric_spread_returns
from ._model import as_model
from ._occupancy import discounted_occupancy, discounted_visitation
from ._operator import PolicyOperator, RestartOperator
from ._optimality import (
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
from ._influence import Assumption1, AssumptionError, Lemma2Bound, assumption1, beta_frontier, influence_matrix, lemma2_bound
from ._utilities import (
    LAMBDA_NEG_ATOL,
    ApprenticeshipUtility,
    KLUtility,
    LinearUtility,
    LogFairnessUtility,
    StateActionEntropyUtility,
    StateEntropyUtility,
    UtilityDomainError,
    global_shadow_reward,
    local_occupancies,
    shadow_rewards,
    state_action_entropy,
    utility_value,
)
from ._utility_optimum import UtilityOptimum, policy_occupancy, utility_optimum
from ._shadow_horizon import HorizonExpectations, TDFixedPoint, horizon_expectations, horizon_occupancy, td_fixed_point
from ._shadow import (
    ShadowProblem,
    score_zero_term,
    shadow_problem,
    truncated_shadow_gradient,
    utility_objective,
)
from ._truncation import q_table, score_norm_bound, truncated_gradient, truncated_q

__all__ = [
    # policy evaluation
    "evaluate_policy",
    "PolicyEvaluation",
    "transition_matrix",
    "stationary_distribution",
    "average_reward",
    "q_function",
    "state_values",
    "chain_structure",
    "ChainStructure",
    "clear_evaluation_cache",
    "evaluation_cache_info",
    "no_evaluation_cache",
    # policy gradients
    "policy_gradient",
    "objective",
    "finite_difference_gradient",
    # occupancy measures
    "discounted_visitation",
    "discounted_occupancy",
    # ying2023: utilities of the occupancy, shadow rewards, truncated shadow gradients
    "LinearUtility",
    "StateEntropyUtility",
    "StateActionEntropyUtility",
    "state_action_entropy",
    "ApprenticeshipUtility",
    "KLUtility",
    "LogFairnessUtility",
    "LAMBDA_NEG_ATOL",
    "local_occupancies",
    "utility_value",
    "shadow_rewards",
    "global_shadow_reward",
    "influence_matrix",
    "beta_frontier",
    "assumption1",
    "Assumption1",
    "lemma2_bound",
    "Lemma2Bound",
    "utility_optimum",
    "UtilityOptimum",
    "policy_occupancy",
    "shadow_problem",
    "ShadowProblem",
    "utility_objective",
    "truncated_shadow_gradient",
    "score_zero_term",
    "horizon_occupancy",
    "horizon_expectations",
    "HorizonExpectations",
    "td_fixed_point",
    "TDFixedPoint",
    # gu2021: the lifted mean-field MDP
    "MeanFieldEvaluation",
    "evaluate_lifted",
    "decay_profile_lifted",
    "agreement_horizon",
    "local_q",
    "energy_objective",
    "energy_gradient",
    "localized_gradient",
    "lemma42_bounds",
    "LOCAL_Q_WEIGHTS",
    # gu2021: the critic's fixed point (Lemma C.1) and the actor's exact direction
    "critic_fixed_point_mf",
    "CriticFixedPoint",
    "stationary_pairs",
    "pair_kernel",
    "critic_inputs",
    "critic_input_table",
    "critic_input_scale",
    "random_feature_matrix",
    "linearisation_bound",
    "expected_actor_direction",
    "ActorDirection",
    # interaction, decay and truncation
    "interaction_matrix",
    "interaction_rho",
    "InteractionRho",
    "row_sums",
    "agent_marginals",
    "marginal_tv_sup",
    "q_table",
    "truncated_q",
    "truncated_gradient",
    "score_norm_bound",
    "decay_profile",
    "DecayProfile",
    # critic
    "critic_fixed_point",
    "CriticEquation",
    "ergodicity_constants",
    "ErgodicityConstants",
    "critic_approximation_error",
    "CriticApproximation",
    "critic_slowest_rate",
    "critic_ode_transient",
    "state_action_chain",
    "StateActionChain",
    "l1_contraction",
    "critic_averaged_system",
    "CriticSystem",
    "critic_mixing_constants",
    "CriticMixing",
    # chen2024: Bayesian-network policies, log barrier, Nash and optimality gaps
    "BNAscentTrace",
    "BNBestResponse",
    "BNEvaluation",
    "BNGradient",
    "MismatchCoefficient",
    "augmented_mdp",
    "beta_lambda",
    "bn_best_response",
    "bn_evaluate",
    "bn_gradient",
    "bn_gradient_ascent",
    "bn_hessian",
    "bn_nash_gap",
    "bn_objective",
    "bn_optimal_value",
    "bn_optimality_gap",
    "central_difference_gradient",
    "deviation_joint_table",
    "joint_log_barrier",
    "log_barrier",
    "mismatch_coefficient",
    "visitation_ratio",
    # zhang2025: restart kernel laws, advantage gradient, Fisher information, Simple Spread
    "RestartLaws",
    "mixing_curve",
    "reset_law",
    "restart_kernel",
    "restart_law",
    "restart_laws",
    "restart_mdp",
    "restart_stationary",
    "visitation_measure",
    "AdvantageGradient",
    "EpsilonBias",
    "advantage",
    "advantage_policy_gradient",
    "compatible_weights",
    "epsilon_bias",
    "exact_objective",
    "fisher_information",
    "optimal_objective",
    "pair_values",
    "SpreadOptimum",
    "sparse_restart_stationary",
    "sparse_visitation",
    "spread_episode_return",
    "spread_optimal_values",
    "spread_optimal_episode_return",
    "SymmetricSpread",
    "symmetric_spread",
    "symmetric_spread_returns",
    "spread_policy_values",
    # optimality and equilibria
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
    # operators and backends
    "as_model",
    "PolicyOperator",
    "RestartOperator",
    "choose_backend",
    # errors
    "MultipleRecurrentClassesError",
    "PeriodicChainError",
    "SolverAccuracyError",
    "UnidentifiedFixedPointError",
    "UtilityDomainError",
    "AssumptionError",
]
