r"""chen2024: Chen, Zhang, Kuang, Shen, Ozer, Zhang, "Convergence Rates of Bayesian Network Policy Gradient for
Cooperative Multi-Agent Reinforcement Learning" (workshop paper, 2024).

Claims, by module (registered at import, in this order):

- :mod:`.gradient` — ``chen2024.barrier_joint``, ``chen2024.lemma1``, ``chen2024.lemma4``: the log barrier of
  §4.1, Lemma 1's gradient (both normalisations of d), Lemma 4's smoothness constant β_λ;
- :mod:`.gaps` — ``chen2024.def1_nashgap``, ``chen2024.def2_optgap``, ``chen2024.assump1``, ``chen2024.lemma2``,
  ``chen2024.lemma3``: exact BN best responses and gaps, the coverage constant M, near-Nash / near-optimal
  stationary points;
- :mod:`.rates` — ``chen2024.thm1``, ``chen2024.thm1_ascent``, ``chen2024.thm1_algebra``, ``chen2024.thm2``,
  ``chen2024.thm2_algebra``: exact-gradient ascent (2)-(3) with the paper's step size and λ, and the sympy
  replay of A.3 / A.5;
- :mod:`.structure` — ``chen2024.def3``, ``chen2024.coord_product_vs_bn``, ``chen2024.assump2``,
  ``chen2024.sampled_gradient``, ``chen2024.lemma2_threshold``, ``chen2024.lemma3_threshold``: Definition 3's
  validator against two independent tests on every labelled DAG (N ≤ 5), the guide's E1/E2 (product policy vs
  the full DAG on coordination games), Assumption 2's meter and the proofs' use of it, the sampled Lemma 1
  gradient (unbiased), and searches along rays from stationary points at the gradient thresholds of Lemmas 2-3;
- :mod:`.proof_steps` — ``chen2024.lemma2_steps``, ``chen2024.lemma3_steps``: the proofs' per-action steps (4)-(8)
  of A.2 and A.4 at the same stationary points (and ascent iterates), under both readings of d and of (6)'s
  denominator.

Readings (guide ``shared/claims/chen2024.md`` §1.2, §8; the paper is the authority): agents numbered from 0;
joint actions in C order (agent 0 most significant); conditionals Bayesian, not interventions; Lemma 1 is
checked with d normalised (it holds) and unnormalised as §2 defines it (off by 1/(1-γ): a finding);
λ pinned by the proofs (ε/(2M), ε/(2^{N+1}NM)); Nash gap a maximum over agents with the deviation class
π̄^i(a^i|s, a^{P^i}); the theorems' min_{t<T} read with the first passage + 1. The paper has no experiments:
every instance is a guide §7 family.
"""

from . import gradient, gaps, rates, structure, proof_steps  # noqa: F401  (registration order = row order)

__all__ = ["gradient", "gaps", "rates", "structure", "proof_steps"]
