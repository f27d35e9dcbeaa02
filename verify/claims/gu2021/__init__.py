r"""gu2021: Gu, Guo, Wei, Xu, "Mean-Field Multi-Agent Reinforcement Learning: A Decentralized Network
Approach" (arXiv:2108.02731, 2021).

Claims, by module (registered at import, in this order):

- :mod:`.lifting` — ``gu2021.lift_kernel``, ``gu2021.lift_exchangeable``, ``gu2021.lemma3_1``: the lifted
  kernel (6) against the N-agent product MDP, exchangeability, Lemma 3.1's value and Q decomposition;
- :mod:`.decay` — ``gu2021.lemma4_2``, ``gu2021.decay_V``, ``gu2021.localq_sup``: the exponential decay of
  :math:`Q_s` (statement, proof and repaired exponents), of :math:`V_s` (used in Lemma D.4), and the
  LocalQ error (32);
- :mod:`.gradient` — ``gu2021.lemma4_3_phi``, ``gu2021.lemma4_3_pg``, ``gu2021.lemma4_3_local``,
  ``gu2021.lemma4_3_zero``: Lemma 4.3 for the energy policy (14);
- :mod:`.critic` — ``gu2021.lemmaC1_contraction``, ``gu2021.critic_fixed_point``, ``gu2021.thmC1_rate``,
  ``gu2021.eq44_localization``, ``gu2021.thm5_1``, ``gu2021.init_scale``, ``gu2021.locality_2hop``: the critic
  (App. A Alg. 1, ``solvers.sampled.run_dec_neural_td``) against the exact fixed point of Lemma C.1
  (``solvers.exact.critic_fixed_point_mf``), Thm C.1's rates, (44) and Theorem 5.1's chain, the initial scale
  for both readings of b_m, and the marginal locality (30) with its tightness at distance 2;
- :mod:`.actor` — ``gu2021.pdl``, ``gu2021.thm5_2``, ``gu2021.assump_R2_D``, ``gu2021.assump5_2_sigma``,
  ``gu2021.assump5_3_L``, ``gu2021.eq75``, ``gu2021.assump_R1_c0``, ``gu2021.policy_class_optima``,
  ``gu2021.thmD1``, ``gu2021.lemmaD4_eq84``: DEC-NEURAL-AC (Alg. 2, ``solvers.sampled.run_dec_neural_ac``)
  against exact J, the performance difference (66)-(67), the actor's assumptions R1, R2 and 5.2-5.3 metered
  exactly, (75), Theorem D.1 with every term exact, step (84) of Lemma D.4, and the optima of the policy
  classes;
- :mod:`.appendix` — ``gu2021.assump5_1_R``, ``gu2021.lemmaC2_rf``, ``gu2021.lemma4_1``, ``gu2021.assump5_4_additive``,
  ``gu2021.lemmaD1``, ``gu2021.lemmaD3``, ``gu2021.propD1``, ``gu2021.lemmaD4``: Assumption 5.1's R (certified lower
  bound and LP proxy), Lemma C.2 with 5.1 metered, Lemma 4.1 for the multinomial class, Assumption 5.4's
  additivity, and Lemmas D.1, D.3, D.4 and Prop. D.1 at exact (approximately) stationary points.

Conventions and readings (the implementation guide ``shared/claims/gu2021.md`` §3): team reward (7)
``"weighted"`` (default; the reading the proofs use) and ``"printed"``, both run; empty teams have one
dummy type with :math:`\zeta_s = 0`; actor input :math:`\zeta_s = (\mu(s),h(s))/\sqrt2`; φ carries
:math:`b_m` (the derivative of (13)); :math:`r_{\max}=\max|r|` of the individual reward. The paper has no
experiments: every instance is a toolkit-defined family (guide §8). Not yet implemented: the D.x rate checks beyond Theorem D.1 and Lemma D.4 as
run here (issue 12 stays open for the remaining guide ids).
"""

from . import lifting, decay, gradient, critic, actor, appendix  # noqa: F401  (registration order = row order)

__all__ = ["lifting", "decay", "gradient", "critic", "actor", "appendix"]
