r"""gu2021: Gu, Guo, Wei, Xu, "Mean-Field Multi-Agent Reinforcement Learning: A Decentralized Network
Approach" (arXiv:2108.02731, 2021).

Claims, by module (registered at import, in this order):

- :mod:`.lifting` — ``gu2021.lift_kernel``, ``gu2021.lift_exchangeable``, ``gu2021.lemma3_1``: the lifted
  kernel (6) against the N-agent product MDP, exchangeability, Lemma 3.1's value and Q decomposition;
- :mod:`.decay` — ``gu2021.lemma4_2``, ``gu2021.decay_V``, ``gu2021.localq_sup``: the exponential decay of
  :math:`Q_s` (statement, proof and repaired exponents), of :math:`V_s` (used in Lemma D.4), and the
  LocalQ error (32);
- :mod:`.gradient` — ``gu2021.lemma4_3_phi``, ``gu2021.lemma4_3_pg``, ``gu2021.lemma4_3_local``,
  ``gu2021.lemma4_3_zero``: Lemma 4.3 for the energy policy (14).

Conventions and readings (the implementation guide ``shared/claims/gu2021.md`` §3): team reward (7)
``"weighted"`` (default; the reading the proofs use) and ``"printed"``, both run; empty teams have one
dummy type with :math:`\zeta_s = 0`; actor input :math:`\zeta_s = (\mu(s),h(s))/\sqrt2`; φ carries
:math:`b_m` (the derivative of (13)); :math:`r_{\max}=\max|r|` of the individual reward. The paper has no
experiments: every instance is a toolkit-defined family (guide §8). Not yet implemented (issue 12 stays
open): locality (30), Lemma 4.1 for other policy classes, the critic (Alg. 1, Thm 5.1, Lemmas C.1-C.2),
the actor (Alg. 2, Thm 5.2, App. D) and the assumption meters R1, R2, 5.1-5.4.
"""

from . import lifting, decay, gradient  # noqa: F401  (registration order = row order)

__all__ = ["lifting", "decay", "gradient"]
