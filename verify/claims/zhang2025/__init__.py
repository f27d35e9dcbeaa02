r"""zhang2025: Zhang, Oh, Hairi, Luo, Velasquez, Liu (2025), "Finite-Time Global Optimality Convergence in Deep
Neural Actor-Critic Methods for Decentralized Multi-Agent Reinforcement Learning".

Claims, by module (registered at import, in this order):

- :mod:`.restart` — ``zhang2025.lemma4_2``, ``zhang2025.lemma5_4``: the restart kernel's stationary law against
  (1−γ) times the discounted visitation (and the ρ₀ variant); mixing with the explicit κ = 1, ρ = γ;
- :mod:`.gradient` — ``zhang2025.lemma4_3``, ``zhang2025.remark1_q``, ``zhang2025.assump5_5``,
  ``zhang2025.assump5_6``, ``zhang2025.lemma5_7``: the advantage policy gradient against central finite
  differences (both kernel modes, both readings of the constant), the Q form of Remark 1, the score bound and
  Fisher non-degeneracy, ε_bias, gradient domination;
- :mod:`.smoothness` — ``zhang2025.assump5_8``, ``zhang2025.eq8_descent``: L_J and the smoothness constant of J
  against the softmax reference 8Δr/(1−γ)³; the descent step (8) l. 1 with L_J and with β/2;
- :mod:`.consensus` — ``zhang2025.assump5_1``, ``zhang2025.gossip_rate``, ``zhang2025.factC2``: the consensus
  matrix meter, the gossip bound of (26)(d), mean preservation;
- :mod:`.proof_steps` — ``zhang2025.eq8_normalized``, ``zhang2025.eq11_recursion``: the normalised-direction
  inequality of (8) l. 3; the recursion (9) iterated against (10)-(11);
- :mod:`.algorithm` — ``zhang2025.eq30_td_direction``, ``eq23_neural_td``, ``critic_init``, ``critic_spread``,
  ``eq26_actor_gossip``, ``thm5_10_rate``, ``thm5_10_alg``, ``figD1_td_vs_q``, ``figD1_gossip``, ``factC3``,
  ``eq38_41``, ``cor5_11``: Algorithms 1-3 (``solvers.sampled.run_zhang_ac``) against exact truth, the actor's
  TD-error direction (30), neural TD (23), the critic at init and before gossip, Theorem 5.10 with the exact
  oracle and with Alg. 1 + 2, App. D.1's Fig. 2/10 and Fig. 5 with exact curves, and the sympy re-derivations of
  (38)-(41) and Cor. 5.11;
- :mod:`.ablations` — ``zhang2025.figD1_width``, ``figD1_depth``, ``figD1_KM``, ``figD1_agents``, ``eq34``: App. D.1's
  Fig. 6-9 with exact episode returns beside the sampled ones (N = 4 refused with the memory it needs), and
  line 3 of (34) against its tight Cauchy-Schwarz form;
- :mod:`.critic_terms` — ``zhang2025.assump5_9``, ``eq22_pseudo_central``, ``thm5_10_regime``: ε_critic(B, m, D) at
  the VI solution W* (linearised and network forms), the pseudo-centralised gap (21)-(22), and the eight terms of
  Theorem 5.10 at the theorem's B = m^{1/32}D^{-6} (finding: ε_critic there is the init error, the bound vacuous);
- :mod:`.batch_terms` — ``zhang2025.eq33_batch``, ``eq25_square``, ``eq36_terms``: the Markov-batch term (28)-(33)
  exactly (variance O(1/M), but a bias that does not decay), the squaring (24)→(25) (the reverse of Jensen), and
  the two gossip parts of (35)-(36) separately (the actor part is not O(B D^{1/2}));
- :mod:`.rlhf` — ``zhang2025.figD2_rlhf``: App. D.2's LLM experiment, not applicable here (weights and torch),
  with the reason and its printed settings.

Conventions (guide ``shared/claims/zhang2025.md`` §2): kernel ``"original"`` (J, Q, Adv on ℙ) and ``"restart"``
(on the restart kernel), both run; TV = ½‖·‖₁; F(θ) read as :math:`E_{\nu(\theta)}[\psi\psi^\top]`. Every claim id
of the guide's table (§6) is registered.
"""

from . import restart, gradient, smoothness, consensus, proof_steps, algorithm, ablations  # noqa: F401  (row order)
from . import critic_terms, batch_terms, rlhf  # noqa: F401,E402  (row order)

__all__ = ["restart", "gradient", "smoothness", "consensus", "proof_steps", "algorithm", "ablations", "critic_terms",
           "batch_terms", "rlhf"]
