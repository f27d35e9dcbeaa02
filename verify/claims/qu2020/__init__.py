r"""qu2020: Qu, Lin, Wierman, Li, "Scalable Multi-Agent Reinforcement Learning for Networked
Systems with Average Reward" (NeurIPS 2020; arXiv:2006.06626).

REFERENCES
----------
G. Qu, Y. Lin, A. Wierman, N. Li. Scalable Multi-Agent Reinforcement Learning for Networked
Systems with Average Reward. Advances in Neural Information Processing Systems 33 (2020).
arXiv:2006.06626. Text: ``qu2020_scalable_marl_average_reward.txt``.

Claims, by module (registered at import, in this order):

- :mod:`.decay` — ``qu2020.thm1``, ``qu2020.cor1``, ``qu2020.lemma2a``, ``qu2020.lemma2b``:
  exponential decay (Theorem 1, Corollary 1) and truncation (Lemma 2);
- :mod:`.experiments` — ``qu2020.lemma3``, ``qu2020.appA2``, ``qu2020.figB4``: TV decay of the
  agent marginals, the k-colouring encoding, App. B.4's Fig. 3;
- :mod:`.sac` — ``qu2020.thm3a``, ``qu2020.critic``, ``qu2020.thm2``: Scalable Actor-Critic
  (Theorem 3(a), Theorem 3(b) with theta frozen, Theorem 2);
- :mod:`.wireless` — ``qu2020.fig5``: SAC against tuned localized ALOHA (Fig. 2 / Fig. 5);
- :mod:`.appendix` — ``qu2020.lemma1``, ``lemma6``, ``lemma7``, ``lemma9``, ``lemma10``, ``lemma11``: the
  lemmas of App. C-D.

:mod:`._common` holds what they share (Theorem 1's and Assumption 4's hypotheses, instance
families, seeds, and the known seeding wart of :mod:`.decay`). Every claim is built by a
:func:`netmarl_verify.verify.claim_factory`, so any of them can be broken on purpose with
:func:`netmarl_verify.verify.with_faults`.
"""

from . import decay, experiments, sac, wireless  # noqa: F401  (registration order = row order)
from . import appendix  # noqa: F401,E402  (App. C-D lemmas: registered last)

__all__ = ["decay", "experiments", "sac", "wireless", "appendix"]
