r"""Problem instances: networked and tabular MDPs, policies, generators, the wireless network, simulation.

Everything here is a model or draws from one; the solvers (:mod:`netmarl_verify.solvers`) read
these objects and nothing here imports them.

Models
------
:class:`NetworkedMDP`
    Agents on a graph with local kernels :math:`P_i(s_i' | s_{N_i}, a_i)` or
    :math:`P_i(s_i' | s_{N_i}, a_{N_i})` (:data:`TRANSITION_FORMS`) and local rewards
    (:data:`REWARD_FORMS`); qu2020 eq. (1), ying2023 §2.
:class:`TabularMDP`
    A flat ``P[s, a, s']``, ``R[s, a]`` model (:meth:`NetworkedMDP.to_tabular`, or your own);
    :func:`check_policy_table` validates a policy table for it.
:class:`AgentGraph`
    The mixin both :class:`NetworkedMDP` and :class:`WirelessNetwork` inherit: closed
    neighbourhoods ``neighbourhoods[i]`` (sorted, including ``i``), ``kappa_hop(i, k)``,
    ``distances``, ``check_agent(i)``, ``check_pairs(states, actions)``, and the global
    enumeration ``state_index`` / ``state_tuples`` (``action_index`` / ``action_tuples``).
    :func:`closed_neighbourhood` and :func:`check_graph` are the same rules for a bare graph.

Global states and joint actions are enumerated with ``np.ravel_multi_index(local, sizes)``:
agent 0 is the most significant digit.

Policies
--------
:class:`LocalSoftmaxPolicy` (:math:`\zeta_i(a_i | s_i)` from logits, differentiable),
:class:`KHopSoftmaxPolicy` (ying2023: :math:`\pi^i(a_i | s_{N_i^\kappa})`, also global-state policies),
:class:`LocalTabularPolicy` (any tables, deterministic allowed), :class:`TabularSoftmaxPolicy`
(a softmax on a :class:`TabularMDP`), :func:`softmax`. They follow the declared protocols
:class:`Policy` (``n``, ``observed(i)``: the agents whose states agent ``i`` reads,
``action_weights(states)``) and, when differentiable, :class:`Parametrised` (``size``, ``flat``,
``with_flat``, ``score_contract(w)`` for :class:`ScoreWeights` ``w``). :func:`check_policy` is the
one validator (returns :class:`PolicyTables`), :func:`joint_policy_table` / :func:`product_table`
the one joint-table builder, :func:`observed_rows` the table rows a batch of states reads, and
:func:`sample_categorical` (precomputed: :func:`categorical_thresholds`) the one batched sampler.

Generators and named instances
------------------------------
:func:`random_networked_mdp` (uniform random kernels on any graph), :func:`qu2020_line` and
:func:`qu2020_grid` (qu2020 App. B.4 presets, with a random policy), :func:`grid_graph`,
:func:`coloring_mdp` / :func:`coloring_state` (App. A.2), :func:`coupled_networked_mdp`
(tunable interaction strength), :func:`copy_chain_mdp` (Theorem 1 attained exactly).

The wireless network (qu2020 §4, App. E)
----------------------------------------
:class:`WirelessNetwork`: users on an ``H x W`` grid sharing the access points at the cell
corners, with a vectorized ``step``, an exact compilation (``to_networked_mdp``,
``policy_chain``), the localized ALOHA baseline (``aloha_policy``) and its grid search
:func:`tune_aloha` (result :class:`AlohaTuning`).

Consensus matrices (zhang2025 Def. 4.1, Assumption 5.1)
--------------------------------------------------------
Generators on a connected communication graph: :func:`metropolis_hastings_weights`,
:func:`max_degree_weights`, :func:`random_consensus_matrix` (entries :math:`\ge \eta`);
:func:`check_consensus_matrix` (doubly stochastic within 1e-12, support on the edges plus the
diagonal, connected graph: :func:`check_connected`); measurements :func:`consensus_eta`,
:func:`consensus_sigma2`, :func:`consensus_spectral_radius`, :func:`consensus_rate_bound`
(:math:`(1 - \eta^{N-1})^t`), all at once :func:`measure_consensus` (:class:`ConsensusMeasures`).

Simulation
----------
:func:`simulate` rolls out a batch of copies of any environment with ``n``, ``state_sizes``,
``action_sizes`` and ``step`` under a product policy, returning a :class:`Rollout`;
:class:`LocalPolicySampler` is its vectorized action sampler. An environment with a
``fast_loop(sampler, states)`` method (the wireless network) is run through it, with the same
random numbers.

Randomness, validation, memory
------------------------------
Every function that draws randomness takes ``rng`` as an int seed, a
:class:`numpy.random.Generator`, a :class:`numpy.random.SeedSequence` or None, through
:func:`as_generator`. Invalid model input raises a :class:`ModelValidationError`
(:class:`ShapeError`, :class:`NonFiniteError`, :class:`NegativeProbabilityError`,
:class:`RowSumError`; rows must sum to one within :data:`ROW_SUM_ATOL`) naming the agent and the
index. Large allocations are checked first against :func:`memory_budget` (``NETMARL_MAX_BYTES``)
by :func:`check_memory`, which raises :class:`MemoryBudgetError`; :func:`format_bytes` prints
sizes.

Examples
--------
>>> from netmarl_verify.envs import qu2020_line, simulate
>>> mdp, policy = qu2020_line(4, rng=0)
>>> mdp.neighbourhoods[1], mdp.kappa_hop(0, 2)
((0, 1, 2), (0, 1, 2))
>>> simulate(mdp, policy, steps=10, rng=0, batch=8).local_rewards.shape
(8, 4)
"""


from ._aloha import AlohaTuning, tune_aloha
from ._bn_games import (
    BNGameInstance,
    BNSoftmaxPolicy,
    BN_GAME_FAMILIES,
    BayesianNetwork,
    CLIMBING_PAYOFF,
    CooperativeMarkovGame,
    bn_game,
)
from ._consensus import (
    ConsensusMeasures,
    check_connected,
    check_consensus_matrix,
    consensus_eta,
    consensus_rate_bound,
    consensus_sigma2,
    consensus_spectral_radius,
    max_degree_weights,
    measure_consensus,
    metropolis_hastings_weights,
    random_consensus_matrix,
)
from ._generators import grid_graph, qu2020_grid, qu2020_line, random_networked_mdp
from ._graph import AgentGraph, check_graph, closed_neighbourhood
from ._instances import LocalTabularPolicy, coloring_mdp, coloring_state, copy_chain_mdp, coupled_networked_mdp
from ._mean_field import (
    LiftSizes,
    LiftedMDP,
    MeanFieldNetwork,
    TEAM_REWARDS,
    composition_rank,
    compositions,
    correlated_policy_table,
    energy_tables,
    lift,
    lift_sizes,
    mf_congestion,
    mf_identity2,
    mf_lazy_walk,
    mf_random,
    mf_relay,
    mf_split,
    n_compositions,
    product_mdp,
    product_policy_table,
    product_states,
    random_individual_policy,
    simulate_agents,
    state_graph,
    uniform_individual_policy,
)
from ._memory import MemoryBudgetError, check_memory, format_bytes, memory_budget
from ._networked import REWARD_FORMS, TRANSITION_FORMS, NetworkedMDP
from ._policy import (
    KHopSoftmaxPolicy,
    LocalSoftmaxPolicy,
    Parametrised,
    Policy,
    PolicyTables,
    ScoreWeights,
    TabularSoftmaxPolicy,
    categorical_thresholds,
    check_policy,
    joint_policy_table,
    observed_rows,
    product_table,
    sample_categorical,
    softmax,
)
from ._random import as_generator
from ._simulate import LocalPolicySampler, Rollout, simulate
from ._tabular import TabularMDP, check_policy_table
from ._validation import (
    ROW_SUM_ATOL,
    ModelValidationError,
    NegativeProbabilityError,
    NonFiniteError,
    RowSumError,
    ShapeError,
)
from ._wireless import WirelessNetwork
from ._zhang2025 import (
    DEFAULT_LANDMARKS,
    LinearLogits,
    LoopLogits,
    MPE2_ACTION,
    ProductSoftmaxPolicy,
    SPREAD_ACTIONS,
    SpreadGrid,
    ZHANG2025_FAMILIES,
    ZhangMAMDP,
    bandit3,
    bandit3_loop,
    joint_action_digits,
    make_zhang2025_instance,
    random_mamdp,
    random_mdp,
    reduced_features,
    spread_grid,
    swap2,
    tabular_features,
)
from ._ying2023 import (
    UtilityInstance,
    coordination_pair,
    initial_distribution,
    lemma3_absorbing,
    linemsg,
    mixture_influence,
    mixture_line,
    mixture_networked_mdp,
    policy_outside_tv,
    random_khop,
    relay,
    transient_entropy,
    truncated_policy,
    xor_relay,
    ying_copy_chain,
)

__all__ = [
    # models
    "NetworkedMDP",
    "TRANSITION_FORMS",
    "REWARD_FORMS",
    "TabularMDP",
    "check_policy_table",
    "AgentGraph",
    "closed_neighbourhood",
    "check_graph",
    # policies
    "Policy",
    "Parametrised",
    "LocalSoftmaxPolicy",
    "KHopSoftmaxPolicy",
    "LocalTabularPolicy",
    "TabularSoftmaxPolicy",
    "softmax",
    "check_policy",
    "PolicyTables",
    "ScoreWeights",
    "observed_rows",
    "product_table",
    "joint_policy_table",
    "sample_categorical",
    "categorical_thresholds",
    # generators and named instances
    "random_networked_mdp",
    "qu2020_line",
    "qu2020_grid",
    "grid_graph",
    "coloring_mdp",
    "coloring_state",
    "coupled_networked_mdp",
    "copy_chain_mdp",
    # ying2023: mixture kernels, initial distributions, the named families
    "UtilityInstance",
    "mixture_networked_mdp",
    "mixture_influence",
    "initial_distribution",
    "relay",
    "xor_relay",
    "ying_copy_chain",
    "lemma3_absorbing",
    "mixture_line",
    "random_khop",
    "transient_entropy",
    "coordination_pair",
    "linemsg",
    "truncated_policy",
    "policy_outside_tv",
    # gu2021: mean-field agents on a network of states, the lifted team MDP
    "MeanFieldNetwork",
    "LiftedMDP",
    "LiftSizes",
    "TEAM_REWARDS",
    "compositions",
    "n_compositions",
    "composition_rank",
    "lift",
    "lift_sizes",
    "energy_tables",
    "product_mdp",
    "product_states",
    "product_policy_table",
    "correlated_policy_table",
    "simulate_agents",
    "uniform_individual_policy",
    "random_individual_policy",
    "mf_relay",
    "mf_split",
    "mf_lazy_walk",
    "mf_identity2",
    "mf_congestion",
    "mf_random",
    "state_graph",
    # chen2024: cooperative Markov games, Bayesian-network (DAG) policies
    "BN_GAME_FAMILIES",
    "CLIMBING_PAYOFF",
    "BayesianNetwork",
    "BNGameInstance",
    "BNSoftmaxPolicy",
    "CooperativeMarkovGame",
    "bn_game",
    # zhang2025: the multi-agent MDP, product softmax parametrisations, the Simple Spread grid
    "DEFAULT_LANDMARKS",
    "MPE2_ACTION",
    "SPREAD_ACTIONS",
    "ZHANG2025_FAMILIES",
    "LinearLogits",
    "LoopLogits",
    "ProductSoftmaxPolicy",
    "SpreadGrid",
    "ZhangMAMDP",
    "bandit3",
    "bandit3_loop",
    "joint_action_digits",
    "make_zhang2025_instance",
    "random_mamdp",
    "random_mdp",
    "reduced_features",
    "spread_grid",
    "swap2",
    "tabular_features",
    # the wireless network
    "WirelessNetwork",
    "AlohaTuning",
    "tune_aloha",
    # consensus matrices (zhang2025 Def. 4.1, Assumption 5.1)
    "metropolis_hastings_weights",
    "max_degree_weights",
    "random_consensus_matrix",
    "check_consensus_matrix",
    "check_connected",
    "consensus_eta",
    "consensus_sigma2",
    "consensus_spectral_radius",
    "consensus_rate_bound",
    "measure_consensus",
    "ConsensusMeasures",
    # simulation
    "simulate",
    "Rollout",
    "LocalPolicySampler",
    # randomness, validation, memory
    "as_generator",
    "ROW_SUM_ATOL",
    "ModelValidationError",
    "ShapeError",
    "NonFiniteError",
    "NegativeProbabilityError",
    "RowSumError",
    "MemoryBudgetError",
    "check_memory",
    "memory_budget",
    "format_bytes",
]
