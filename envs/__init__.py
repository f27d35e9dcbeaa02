"""Problem instances: networked and tabular MDPs, policies, generators, simulators.

Global states and joint actions are enumerated with ``np.ravel_multi_index(local, sizes)``:
agent 0 is the most significant digit.

Every function that draws randomness takes ``rng`` as an int seed, a
:class:`numpy.random.Generator` or None, through :func:`as_generator`.
"""

from ._instances import LocalTabularPolicy, coloring_mdp, coloring_state, copy_chain_mdp, coupled_networked_mdp
from ._generators import grid_graph, qu2020_grid, qu2020_line, random_networked_mdp
from ._memory import MemoryBudgetError, check_memory, format_bytes, memory_budget
from ._networked import REWARD_FORMS, TRANSITION_FORMS, NetworkedMDP
from ._policy import LocalSoftmaxPolicy, TabularSoftmaxPolicy, softmax
from ._random import as_generator
from ._tabular import TabularMDP, check_policy_table
from ._validation import (
    ROW_SUM_ATOL,
    ModelValidationError,
    NegativeProbabilityError,
    NonFiniteError,
    RowSumError,
    ShapeError,
)
from ._wireless import (
    AlohaTuning,
    LocalPolicySampler,
    Rollout,
    WirelessNetwork,
    simulate,
    simulator_throughput,
    tune_aloha,
)

__all__ = [
    "NetworkedMDP",
    "TabularMDP",
    "LocalSoftmaxPolicy",
    "LocalTabularPolicy",
    "coloring_mdp",
    "coloring_state",
    "coupled_networked_mdp",
    "copy_chain_mdp",
    "TabularSoftmaxPolicy",
    "softmax",
    "check_policy_table",
    "random_networked_mdp",
    "qu2020_line",
    "qu2020_grid",
    "grid_graph",
    "TRANSITION_FORMS",
    "REWARD_FORMS",
    "ROW_SUM_ATOL",
    "ModelValidationError",
    "ShapeError",
    "NonFiniteError",
    "NegativeProbabilityError",
    "RowSumError",
    "as_generator",
    "MemoryBudgetError",
    "check_memory",
    "memory_budget",
    "format_bytes",
    "WirelessNetwork",
    "LocalPolicySampler",
    "Rollout",
    "simulate",
    "AlohaTuning",
    "tune_aloha",
    "simulator_throughput",
]
