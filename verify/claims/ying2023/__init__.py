r"""ying2023: Ying, Ding, Koppel, Lavaei, "Scalable Multi-Agent Reinforcement Learning with General
Utilities" (arXiv:2302.07938, 2023).

Claims, by module (registered at import, in this order):

- :mod:`.occupancy` — ``ying2023.occupancy``, ``ying2023.lemma1``, ``ying2023.lemma3``: the occupancy
  measure and its identities, the shadow-reward policy gradient, the truncated policy;
- :mod:`.decay` — ``ying2023.assump1``, ``ying2023.lemma2``, ``ying2023.eq18``, ``ying2023.prop1``:
  Assumption 1's meter, the decay of the shadow Q, identity (18), the truncated gradient, ``ying2023.remark3`` (the trade-off in κ);
- :mod:`.optimality` — ``ying2023.remark2``, ``ying2023.remark4``: global optimality of localized
  policy gradient against the optimum over all of Λ, the truncated global-state policies;
- :mod:`.algorithm` — ``ying2023.alg1_estimators``, ``ying2023.prop2a``, ``ying2023.prop2c``,
  ``ying2023.thm1``: Algorithm 1's estimators against exact expectations, Prop. 2(I) coverage,
  Prop. 2(III) (its H-truncation term exactly, (27) by coverage), Theorem 1's per-step inequality (41),
  (38) and the coverage of (43), Theorem 2's rate,
  the TD oracle, Prop. 2(II);
- :mod:`.experiments` — ``ying2023.e1``, ``ying2023.e2``, ``ying2023.e5``: the toolkit's reproductions (the
  paper has none): E1 the decay in κ of Lemma 2 and Proposition 1 on the guide's families (mixture kernels with
  tunable α), E2 Algorithm 1's exact learning curves against the optimum over Λ, E5 the follow-up's linemsg
  exactly with Assumption 1's meter. E3 is ``ying2023.lemma3``'s figure (the ratio against ε per γ), E4
  ``ying2023.prop2a``'s (the survival curve of :math:`\|\tilde\lambda_i - \lambda_i\|_2/\epsilon_1`).

Conventions and readings (the implementation guide ``shared/claims/ying2023.md``): TV = ½ℓ1; λ
and λ_i unnormalised, d normalised; ξ on global states; one κ for the policy and the truncation
read two ways (R1/R2, :mod:`.decay`); (15)'s :math:`\hat Q_i` read :math:`\hat Q_j`.
"""

from . import occupancy, decay, optimality, algorithm, experiments  # noqa: F401  (registration order = row order)

__all__ = ["occupancy", "decay", "optimality", "algorithm", "experiments"]
