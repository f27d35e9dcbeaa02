"""Sampled algorithms: the papers' learning rules, run on simulated environments.

Each algorithm takes an environment (``n``, ``state_sizes``, ``action_sizes``, ``kappa_hop``,
``step(states, actions, rng)``), runs a batch of ``B`` independent runs at once, draws all
randomness from one ``rng`` (see :func:`~netmarl_verify.envs.as_generator`) and
returns a result with a ``trace`` (one row per checkpoint and run), the recorded ``seed``, the
``settings``, ``elapsed`` and ``agent_steps_per_second`` (:class:`RunResult`). A ``callback``
sees the parameters at every checkpoint and may add columns; a small ``exact_mdp`` adds exact
``J``, ``grad_norm`` and ``critic_error`` columns from :mod:`netmarl_verify.solvers.exact`.

Algorithms
----------
scalable_actor_critic -- qu2020 Alg. 1 (Scalable Actor-Critic), dense or sparse critic tables
frozen_policy_critic  -- its critic alone under a fixed policy (Theorem 3(b))
SACResult, SACState   -- its result, and what its callback sees
run_shadow_pg         -- ying2023 Alg. 1 (distributed PG with shadow rewards, κ-hop policies; TD, exact or
                         adversarial truncated-Q oracle), batched over runs (:class:`ShadowPGResult`)
shadow_pg_estimates   -- one iteration's estimators: λ̃ (20), r̃, Q̃ (23), g̃ (21) (:class:`ShadowPGEstimates`)
sample_trajectories   -- B trajectories of length H from ξ per run (:class:`Trajectories`)
td_truncated_q        -- the TD oracle (23) alone

run_dec_neural_td     -- gu2021 App. A Alg. 1 (decentralised neural TD per team s), batched (:class:`NeuralTDResult`)
run_dec_neural_ac     -- gu2021 Alg. 2 (DEC-NEURAL-AC: energy-based ReLU team policies), batched
                         (:class:`DecNeuralACResult`); dec_neural_ac_throughput for the bench row
run_zhang_ac          -- zhang2025 Alg. 1 (actor: TD-error, V-TD, Q-value and oracle directions, per-agent / global /
                         no normalisation) with the deep ReLU critic of Alg. 2 (gossip) or Alg. 3, batched
                         (:class:`ZhangACResult`); deep_neural_td runs the critic alone (:class:`DeepTDResult`)
bn_pg_estimate        -- a sample-based estimate of chen2024 Lemma 1's gradient for Bayesian-network policies
                         (geometric horizons, ancestral sampling), B at once (:class:`BNPGEstimate`)

Step sizes
----------
PowerSchedule -- ``scale / (shift + t) ** power``
assumption3   -- whether a (critic, actor) pair meets qu2020 Assumption 3 (two timescales)

Example
-------
>>> import networkx as nx
>>> from netmarl_verify.envs import coupled_networked_mdp
>>> from netmarl_verify.solvers.sampled import PowerSchedule, scalable_actor_critic
>>> mdp = coupled_networked_mdp(nx.path_graph(3), 0.5, rng=0)
>>> res = scalable_actor_critic(mdp, 1, 100, batch=2, rng=0, alpha=PowerSchedule(1.0, 0.55),
...                             checkpoints=[0, 100], exact_mdp=mdp, exact_metrics=("J",))
>>> res.trace.iteration.unique().tolist(), res.seed, bool(res.trace.J.notna().all())
([0, 100], 0, True)

Networks and gossip
-------------------
TwoLayerReLU, DeepReLU -- gu2021 eq. (13) and zhang2025 eq. (5), batched over inputs and copies
average_parameters, running_average -- averaging across copies (Fact C.2) and in time (eq. (22))
gossip, gossip_td_errors -- ``A^t X`` (zhang2025 Alg. 2 l. 12) and Alg. 1 l. 12-15
consensus_errors, disagreement -- ``||A^t_{i,:} - 1/N||`` per agent, distance to consensus

Writing a new algorithm
-----------------------
An algorithm is a loop built from the private kit (see each module's docstring):
``_runs`` (seeding with the seed recorded, ``TraceRecorder``, exact metrics,
timing, :class:`RunResult`), ``_schedules`` (step sizes), ``_tables`` (truncated tables, dense or
hashed), ``_actor`` (the batched softmax actor) and ``_env`` (the environment protocol).
"""

from ._bn_pg import BNPGEstimate, bn_pg_estimate
from ._dec_neural_ac import (
    DecNeuralACResult,
    NeuralTDResult,
    dec_neural_ac_throughput,
    run_dec_neural_ac,
    run_dec_neural_td,
)
from ._zhang_ac import (
    DeepTDResult,
    ZhangACResult,
    ZhangACState,
    actor_directions,
    deep_neural_td,
    run_zhang_ac,
    zhang_ac_throughput,
)
from ._gossip import consensus_errors, disagreement, gossip, gossip_td_errors
from ._nets import DeepReLU, TwoLayerReLU, average_parameters, running_average
from ._runs import RunResult
from ._sac import SACResult, SACState, frozen_policy_critic, scalable_actor_critic
from ._schedules import PowerSchedule, assumption3
from ._shadow_pg import (
    ShadowPGEstimates,
    ShadowPGResult,
    ShadowPGState,
    Trajectories,
    run_shadow_pg,
    sample_trajectories,
    shadow_pg_estimates,
    shadow_pg_throughput,
    td_truncated_q,
)

__all__ = [
    "scalable_actor_critic",
    "frozen_policy_critic",
    "SACResult",
    "SACState",
    "RunResult",
    "PowerSchedule",
    "assumption3",
    # neural networks (gu2021 eq. (13), zhang2025 eq. (5)) and gossip (zhang2025 Alg. 1-2)
    "TwoLayerReLU",
    "DeepReLU",
    "average_parameters",
    "running_average",
    "gossip",
    "gossip_td_errors",
    "consensus_errors",
    "disagreement",
    # ying2023 Alg. 1: distributed policy gradient with shadow rewards
    "run_shadow_pg",
    "ShadowPGResult",
    "ShadowPGState",
    "shadow_pg_estimates",
    "ShadowPGEstimates",
    "sample_trajectories",
    "Trajectories",
    "td_truncated_q",
    "shadow_pg_throughput",
    # gu2021 App. A: DEC-NEURAL-AC (Alg. 1-2)
    "run_dec_neural_td",
    "NeuralTDResult",
    "run_dec_neural_ac",
    "DecNeuralACResult",
    "dec_neural_ac_throughput",
    # zhang2025 Alg. 1-3: deep neural actor-critic with gossip
    "run_zhang_ac",
    "ZhangACResult",
    "ZhangACState",
    "deep_neural_td",
    "DeepTDResult",
    "actor_directions",
    "zhang_ac_throughput",
    # chen2024: the sampled BN policy gradient
    "bn_pg_estimate",
    "BNPGEstimate",
]
