r"""chen2024: the proof steps of App. A.2 (Lemma 2) and A.4 (Lemma 3), one row per step, at exact points.

``chen2024.lemma2_steps``  at the exact stationary points of :math:`L_\lambda` that ``chen2024.lemma2`` uses (same
                           instances, λ values and starts, same L-BFGS; plus ``parity_star``, see below) and along
                           exact ascent iterates (2)-(3) (η = 1/β_λ, from the same starts, the first iterate with
                           :math:`\|\nabla L_\lambda\|_2` at or below the statement's threshold): every step of A.2.
``chen2024.lemma3_steps``  at the full-DAG stationary points that ``chen2024.lemma3`` uses (plus one game whose root
                           has 4 actions): every step of A.4.

Rows: ``point.check`` names the step, ``point.reading`` the reading (d normalised / unnormalised, the
denominator printed / as in (5), the actions the step is taken over); ``point.at`` is ``"stationary point"`` or
``"ascent iterate"``. Each row is the worst coordinate: measured / bound is the largest ratio over agents,
states, parent configurations and actions (extra says where). Lower bounds :math:`x\ge b` are rows
``measured = b``, ``bound = x`` (so ratio = b/x, > 1 is a violation). Every row carries the lemma's hypothesis
:math:`\|\nabla L_\lambda\|_2\le\lambda/(2|S||\mathcal A|\max_i|\mathcal A^i|)` as a point assumption (it implies A.2's
per-coordinate :math:`\partial L_\lambda/\partial\theta\le\epsilon^i_{\rm opt}`, since
:math:`|\mathcal A|\max_j|\mathcal A^j|\ge|\mathcal A^{P^i}||\mathcal A^i|`); an ascent run that does not reach it within its
budget gives rows at its last iterate, "not applicable".

A.2 (Lemma 2):

- ``(4)``: :math:`\pi^i(a^i|s,a^{P^i})\ge1/(2|\mathcal A^i|)`, over the actions with :math:`A^i\ge0` (what A.2 derives)
  and over **all** actions (what A.4's "by (4)" uses);
- ``(5)``: :math:`A^i(s,a^{P^i},a^i)\le2(1-\gamma)\lambda/(d(s)\pi(a^{P^i}|s)|S||\mathcal A^{P^i}|)` for every
  :math:`(s,a^{P^i},a^i)`, d normalised (:math:`\tilde d`, sums to 1) and unnormalised (§2's d, sums to 1/(1-γ));
- ``A.2 gain``: agent i's exact best-response gain (deviation class :math:`\bar\pi^i(a^i|s,a^{P^i})`) against the
  last lines' :math:`2\lambda M/|\mathcal A^{P^i}|` (printed), the statement's 2λM, and the corrected chain
  :math:`(2\lambda/|S|)\sum_s\tilde d^{\pi'}(s)/\tilde d^{\pi}(s)` (π' the best deviation), which follows from (5) with
  :math:`E_{a^{P^i}\sim\pi(\cdot|s)}[1/\pi(a^{P^i}|s)]=|\mathcal A^{P^i}|` (worst agent by ratio).

A.4 (Lemma 3), full DAG, agents in a topological order:

- ``(4)`` as above (both action sets);
- ``(6)``: :math:`A^i\le2(1-\gamma)\lambda/(d(s)\pi(a^{P^i}|s)|S||\mathcal A^i|)` as printed, and with
  :math:`|\mathcal A^{P^i}|` as in (5) (guide §8 typo), each with d normalised and unnormalised;
- ``by (4)``: :math:`\pi(a^{P^i}|s)\ge1/(2^N|\mathcal A^{P^i}|)` (the row's ratio is
  :math:`1/(\min\pi(a^{P^i}|s)\,2^N|\mathcal A^{P^i}|)`);
- ``(7)``: :math:`A^i\le2^{N+1}(1-\gamma)\lambda/(d(s)|S|)`, d normalised and unnormalised;
- ``(8)``: :math:`Q^i(s,a^{P^i})=Q^{i-1}(s,a^{P_+^{i-1}})`, an identity (measured = max abs difference over
  s and joint actions, bound :math:`10^{-9}\max(1,\Delta r/(1-\gamma))`). Left side from the Bayes conditional of
  the joint table grouped by agent i's parent configuration; right side
  :math:`Q^{i-1}(s,a^{P^{i-1}})+A^{i-1}(s,a^{P^{i-1}},a^{i-1})` with the toolkit's advantage
  (:func:`~netmarl_verify.solvers.exact.bn_gradient`), matched joint action by joint action;
- ``chained``: :math:`Q(s,a)\le V(s)+N2^{N+1}(1-\gamma)\lambda/(d(s)|S|)` for every a (the bound A.4 feeds into the
  PDL), d normalised and unnormalised.

Findings (quick and full runs; the rows are kept).

- **(4) holds only where A.2 derives it.** Over the actions with :math:`A^i\ge0` the ratio is at most 1/2 at
  stationary points (there :math:`\pi^i\ge1/|\mathcal A^i|`); over all actions it fails by orders of magnitude
  (actions with negative advantage get :math:`\pi^i\sim\lambda`). A.4's "by (4)" uses it over all actions.
- **(5) holds with d normalised, fails with §2's unnormalised d for large γ** (possible once γ > 1/2; binary
  actions: γ > 3/4): at a stationary point
  :math:`A^i=\frac{(1-\gamma)\lambda}{\tilde d(s)\pi(a^{P^i}|s)|S||\mathcal A^{P^i}|}(1-\frac{1}{\pi^i|\mathcal A^i|})`, so the
  normalised ratio is :math:`(1-1/(\pi^i|\mathcal A^i|))/2\le1/4` for binary actions and the unnormalised one
  1/(1-γ) times that (2.5 at γ = 0.9; as Lemma 1, which is exact only with d̃). The readings agree at γ = 0.
- **A.2's last line 2λM/|A^{P^i}| is wrong; 2λM survives.** The proof evaluates
  :math:`E_{a^{P^i}\sim\pi(\cdot|s)}[1/(d(s)\pi(a^{P^i}|s))]` as :math:`1/d(s)`; it is :math:`|\mathcal A^{P^i}|/d(s)`. At
  stationary points of single-state games the gain of the child of the star is
  :math:`\lambda\,\mathrm{avg}_{a^{P}}(1-1/(\pi^i_{\max}|\mathcal A^i|))\to\lambda(1-1/|\mathcal A^i|)`, above
  :math:`2\lambda/|\mathcal A^{P^i}|` once :math:`|\mathcal A^{P^i}|>2|\mathcal A^i|/(|\mathcal A^i|-1)`: ``parity_star`` N = 4 (ratio → 2),
  N = 5 (→ 4), ``mod3`` (→ 4/3). The corrected chain and the statement's 2λM hold on every row.
- **(6) as printed (|A^i|) fails; with |A^{P^i}| (as (5)) it holds** (d normalised). At a stationary point the
  printed ratio is :math:`(|\mathcal A^i|-1/\pi^i)/(2|\mathcal A^{P^i}|)`: above 1 for a root with 4 actions (1.38-1.5 on
  ``random S=1 N=2 A=4``), just below 1 for climbing3's 3-action root. Only the |A^{P^i}| reading gives (7).
- **"by (4)" fails, and with it (7)**: :math:`\pi(a^{P^i}|s)` is as small as ~λ at stationary points (a parent's
  dominated action), far below :math:`1/(2^N|\mathcal A^{P^i}|)`, because (4) does not hold for negative-advantage
  actions. (7) then fails by a factor growing like 1/λ on contexts of small probability (≈ 10 at λ = 0.01 and
  ≈ 100 at λ = 0.001 on the γ = 0.9 random game, normalised d; ≈ 2.2 / 22 on the 4-action game).
- **The chained bound holds nevertheless** (ratio ≤ 0.06 normalised, ≤ 0.47 unnormalised, every row): by (8),
  :math:`Q(s,a)-V(s)=\sum_iA^i(s,a^{P^i},a^i)` telescopes, and the large :math:`A^i` behind a context of small
  probability comes with the parent's negative advantage for the dominated action that makes the context
  unlikely. The proof's per-term route ((7) for each i) is invalid, its chained conclusion survives on every
  point here; Lemma 3's conclusion holds on the same points (``chen2024.lemma3``).
- **(8) holds exactly** (fully correlated order: :math:`P^i=P_+^{i-1}`).
- Along ascent iterates (first iterate below the statement's threshold, a point with a non-zero gradient)
  the steps behave as at the stationary points ((4) over A^i >= 0 up to 0.6 there; the printed gain bound
  fails on mod3 and parity_star N = 4 in full runs); runs that stay above the threshold within the budget are "not
  applicable" (with η = 1/β_λ: the γ = 0.9 game, the 3-agent multi-state games, some starts of climbing,
  parity_star, mod3).

Randomness: none beyond the instances' seeds (the starts are ``chen2024.lemma2`` / ``lemma3``'s, from
:func:`~netmarl_verify.verify.instance_seed`); the measurement rng is not drawn from. Rows computed with one
BLAS thread (bit-identical reruns).
"""

import numpy as np

from netmarl_verify.solvers.exact._bn_exact import (
    beta_lambda,
    bn_evaluate,
    bn_gradient,
    bn_gradient_ascent,
    bn_nash_gap,
    deviation_joint_table,
)
from netmarl_verify.verify import (
    Claim,
    Fault,
    HLine,
    LinesFigure,
    Measurement,
    Series,
    Style,
    assume_at_most,
    claim_factory,
    register,
)

from ._common import (PAPER, PAPER_FILE, make_instance, meter_rows, mismatch_of, one_blas_thread, random_space,
                      stationary_point, thresholds)
from .gaps import _def3_assumption, _lams, _lemma2_instances, _lemma3_instances, _starts

__all__ = ["make_claims", "CHECKS", "READINGS", "ASCENT_LAMBDA", "ASCENT_BUDGET_QUICK", "ASCENT_BUDGET_FULL"]

EXACT_TOL = 1e-9
#: λ of the ascent runs (chen2024.lemma2_steps) and their budgets (updates).
ASCENT_LAMBDA = 0.1
ASCENT_BUDGET_QUICK = 4000
ASCENT_BUDGET_FULL = 20000
_CHUNK = 500
#: Figures per claim.
MAX_FIGURES = 3

#: ``point.check`` of the rows.
CHECKS = {
    "4": "(4) pi^i >= 1/(2|A^i|)",
    "5": "(5) A^i <= 2(1-gamma)lambda/(d(s)pi(a^P|s)|S||A^P|)",
    "gain": "A.2 gain of agent i",
    "6": "(6) A^i <= 2(1-gamma)lambda/(d(s)pi(a^P|s)|S| x)",
    "by4": "by (4): pi(a^P|s) >= 1/(2^N|A^P|)",
    "7": "(7) A^i <= 2^{N+1}(1-gamma)lambda/(d(s)|S|)",
    "8": "(8) Q^i(s,a^P) = Q^{i-1}(s,a^{P+})",
    "chain": "chained: Q(s,a) <= V(s) + N 2^{N+1}(1-gamma)lambda/(d(s)|S|)",
}
#: ``point.reading`` of the rows.
READINGS = {
    "pos": "A^i >= 0 (as A.2 derives it)",
    "all": "all actions (as A.4 uses it)",
    "dn": "d normalised",
    "du": "d unnormalised (section 2)",
    "printed": "2 lambda M/|A^P| (A.2 last line, printed)",
    "statement": "2 lambda M (statement)",
    "corrected": "(2 lambda/|S|) sum_s d'(s)/d(s) (E[1/pi(a^P|s)] = |A^P|)",
    "Ai_dn": "x = |A^i| (printed), d normalised",
    "Ai_du": "x = |A^i| (printed), d unnormalised (section 2)",
    "AP_dn": "x = |A^P| (as in (5)), d normalised",
    "AP_du": "x = |A^P| (as in (5)), d unnormalised (section 2)",
    "min": "min over i, s, a^P",
    "order": "fully correlated order",
}
_D_READINGS = (("dn", "d_tilde"), ("du", "d"))


# ----------------------------------------------------------------------------- one point
class _Point:
    """What every step needs at one θ: tables, the gradient (advantages, parent marginals), the evaluation."""

    def __init__(self, game, pol, lam):
        self.game, self.pol, self.lam = game, pol, float(lam)
        self.grad = bn_gradient(game, pol, lam)
        self.ev = self.grad.evaluation
        self.tables = pol.local_tables()
        self.N, self.nS, self.gamma = game.n_agents, game.n_states, game.gamma


def _worst(cands):
    """The candidate (ratio, measured, bound, where) with the largest ratio (first on ties)."""
    best = None
    for c in cands:
        if best is None or c[0] > best[0]:
            best = c
    return best


def _adv_worst(pt, bound_of):
    """Largest A^i / B^i over agents and (s, a^P, a^i); `bound_of(i, m_i)` gives B^i broadcastable to (nS, nP, Ai)."""
    cands = []
    for i, (adv, m) in enumerate(zip(pt.grad.advantage, pt.grad.parent_marginal)):
        B = np.broadcast_to(bound_of(i, m), adv.shape)
        r = np.where(np.isfinite(adv), adv / B, -np.inf)
        k = np.unravel_index(int(np.argmax(r)), r.shape)
        cands.append((float(r[k]), float(adv[k]), float(B[k]),
                      {"agent": i, "state": int(k[0]), "parent_config": int(k[1]), "action": int(k[2]),
                       "pi_i": float(pt.tables[i][k]), "pi_parents": float(m[k[0], k[1]])}))
    return _worst(cands)


def _row(point, key, reading, worst, extra, assumptions, scale=1.0):
    _, measured, bound, where = worst
    return Measurement(measured=measured, bound=scale * bound,
                       point={**point, "check": CHECKS[key], "reading": READINGS[reading]},
                       extra={**extra, **where}, assumptions=assumptions)


def _rows_4(pt, point, extra, assumptions, scale):
    for reading in ("pos", "all"):
        cands = []
        for i, (pi, adv) in enumerate(zip(pt.tables, pt.grad.advantage)):
            Ai = pi.shape[2]
            mask = (adv >= 0) if reading == "pos" else np.ones(pi.shape, dtype=bool)
            if not mask.any():
                continue
            v = np.where(mask, pi * (2 * Ai), np.inf)
            k = np.unravel_index(int(np.argmin(v)), v.shape)
            cands.append((1.0 / float(v[k]), 1.0 / (2 * Ai), float(pi[k]),
                          {"agent": i, "state": int(k[0]), "parent_config": int(k[1]), "action": int(k[2]),
                           "advantage": float(adv[k])}))
        yield _row(point, "4", reading, _worst(cands), extra, assumptions, scale)


def _rows_5(pt, point, extra, assumptions, scale, weighting):
    lam, g, nS = pt.lam, pt.gamma, pt.nS
    for reading, attr in _D_READINGS:
        d = getattr(pt.ev, attr)

        def bound_of(i, m, d=d):
            mm = m if weighting == "joint" else np.ones_like(m)
            return (2 * (1 - g) * lam / (d[:, None] * mm * nS * pt.pol.parent_sizes[i]))[:, :, None]

        yield _row(point, "5", reading, _adv_worst(pt, bound_of), extra, assumptions, scale)


def _rows_gain(pt, point, extra, assumptions, scale, M):
    gap, brs = bn_nash_gap(pt.game, pt.pol)
    lam, nS = pt.lam, pt.nS
    ratios = []
    for b in brs:
        dev = bn_evaluate(pt.game, deviation_joint_table(pt.pol, b.agent, b.rule)).d_tilde
        ratios.append(float(np.sum(dev / pt.ev.d_tilde)))
    gains = [float(b.gain) for b in brs]
    bounds = {"printed": [2 * lam * M / ps for ps in pt.pol.parent_sizes],
              "statement": [2 * lam * M] * pt.N,
              "corrected": [2 * lam / nS * r for r in ratios]}
    ex = {**extra, "nash_gap": float(gap), "gains": gains, "sum_s_dprime_over_d": ratios,
          "parent_sizes": list(pt.pol.parent_sizes)}
    for reading in ("printed", "statement", "corrected"):
        cands = [(gains[k] / bounds[reading][k], gains[k], bounds[reading][k], {"agent": k}) for k in range(pt.N)]
        yield _row(point, "gain", reading, _worst(cands), ex, assumptions, scale)


def _rows_6(pt, point, extra, assumptions, scale):
    lam, g, nS = pt.lam, pt.gamma, pt.nS
    for den in ("Ai", "AP"):
        for dr, attr in _D_READINGS:
            d = getattr(pt.ev, attr)

            def bound_of(i, m, d=d, den=den):
                x = pt.game.action_sizes[i] if den == "Ai" else pt.pol.parent_sizes[i]
                return (2 * (1 - g) * lam / (d[:, None] * m * nS * x))[:, :, None]

            yield _row(point, "6", f"{den}_{dr}", _adv_worst(pt, bound_of), extra, assumptions, scale)


def _rows_by4(pt, point, extra, assumptions, scale):
    N = pt.N
    cands = []
    for i, m in enumerate(pt.grad.parent_marginal):
        nP = pt.pol.parent_sizes[i]
        k = np.unravel_index(int(np.argmin(m)), m.shape)
        cands.append((1.0 / (float(m[k]) * 2**N * nP), 1.0 / (2**N * nP), float(m[k]),
                      {"agent": i, "state": int(k[0]), "parent_config": int(k[1]),
                       "min_pi_parents_times_2N_AP": float(m[k]) * 2**N * nP}))
    yield _row(point, "by4", "min", _worst(cands), extra, assumptions, scale)


def _rows_7(pt, point, extra, assumptions, scale):
    lam, g, nS, N = pt.lam, pt.gamma, pt.nS, pt.N
    for reading, attr in _D_READINGS:
        d = getattr(pt.ev, attr)

        def bound_of(i, m, d=d):
            return (2 ** (N + 1) * (1 - g) * lam / (d * nS))[:, None, None]

        yield _row(point, "7", reading, _adv_worst(pt, bound_of), extra, assumptions, scale)


def _conditional_q(pt, i):
    r""":math:`Q^i(s,a^{P^i})` from the joint table: :math:`\sum_{a\supseteq a^{P^i}}\pi(a|s)Q(s,a)/\pi(a^{P^i}|s)`."""
    nS, nP = pt.nS, pt.pol.parent_sizes[i]
    cfg = pt.pol.config[i]
    num = np.zeros((nS, nP))
    den = np.zeros((nS, nP))
    piQ = pt.ev.joint * pt.ev.Q
    for s in range(nS):
        num[s] = np.bincount(cfg, weights=piQ[s], minlength=nP)
        den[s] = np.bincount(cfg, weights=pt.ev.joint[s], minlength=nP)
    return num / den


def _rows_8(pt, point, extra, assumptions, q_identity):
    game, pol = pt.game, pt.pol
    if pt.N < 2:  # no pair (i-1, i)
        return
    order = pol.dag.order
    scale = max(1.0, game.delta_r / (1 - game.gamma))
    worst, where = -1.0, {}
    s_idx = np.arange(pt.nS)[:, None]
    for k in range(1, pt.N):
        i, j = order[k], order[k - 1]
        lhs = _conditional_q(pt, i)[s_idx, pol.config[i][None, :]]  # (nS, nA): Q^i(s, a^{P^i}(a))
        qj = _conditional_q(pt, j)[s_idx, pol.config[j][None, :]]
        adv = pt.grad.advantage[j][s_idx, pol.config[j][None, :], pol.own[j][None, :]]
        rhs = qj + adv if q_identity == "P+" else qj  # Q^{i-1}(s, a^{P+^{i-1}}) = Q^{i-1}(s, a^P) + A^{i-1}
        diff = float(np.max(np.abs(lhs - rhs)))
        if diff > worst:
            worst, where = diff, {"agent": int(i), "previous_agent": int(j)}
    yield Measurement(measured=worst, bound=EXACT_TOL * scale,
                      point={**point, "check": CHECKS["8"], "reading": READINGS["order"]},
                      extra={**extra, **where}, assumptions=assumptions)


def _rows_chain(pt, point, extra, assumptions, scale):
    lam, g, nS, N = pt.lam, pt.gamma, pt.nS, pt.N
    gap = pt.ev.Q - pt.ev.V[:, None]
    for reading, attr in _D_READINGS:
        d = getattr(pt.ev, attr)
        B = np.broadcast_to((N * 2 ** (N + 1) * (1 - g) * lam / (d * nS))[:, None], gap.shape)
        r = gap / B
        k = np.unravel_index(int(np.argmax(r)), r.shape)
        yield Measurement(measured=float(gap[k]), bound=scale * float(B[k]),
                          point={**point, "check": CHECKS["chain"], "reading": READINGS[reading]},
                          extra={**extra, "state": int(k[0]), "joint_action": int(k[1]),
                                 "pi_joint": float(pt.ev.joint[k])}, assumptions=assumptions)


def _hypothesis(pt, lam):
    gnorm = pt.grad.norm
    tau = thresholds(pt.game, lam)["statement"]
    return gnorm, [assume_at_most("||grad L|| <= lambda/(2|S||A|max|A^i|) (statement)", gnorm, tau)]


# ----------------------------------------------------------------------------- ascent
def _first_entry(game, pol0, lam, eta, tau, budget):
    """Exact ascent (2)-(3) from `pol0` to the first iterate with ||grad||_2 <= tau (or the budget's last one).

    Returns ``(policy, t, reached)``; chunked runs of :func:`bn_gradient_ascent` give the same iterates as one run.
    """
    theta, done = [t.copy() for t in pol0.theta], 0
    while done < budget:
        n = min(_CHUNK, budget - done)
        tr = bn_gradient_ascent(game, pol0.with_theta(theta), lam, eta, n)
        hit = np.nonzero(tr.grad_norm <= tau)[0]
        if hit.size:
            j = int(hit[0])
            if j:
                theta = bn_gradient_ascent(game, pol0.with_theta(theta), lam, eta, j).theta
            return pol0.with_theta(theta), done + j, True
        theta, done = tr.theta, done + n
    return pol0.with_theta(theta), done, False


# ----------------------------------------------------------------------------- measures
def _lemma2_instances_steps(quick, seed):
    yield from _lemma2_instances(quick, seed)
    yield make_instance("parity_star", seed, N=4)
    if not quick:
        yield make_instance("parity_star", seed, N=5)


def _lemma3_instances_steps(quick, seed):
    yield from _lemma3_instances(quick, seed)
    yield make_instance("random", seed, S=1, N=2, A=4, gamma=0.0, dag="full")
    if not quick:
        yield make_instance("random", seed, S=2, N=2, A=4, gamma=0.5, dag="full")


def _lemma2_point_rows(pt, lam, M, point, extra, scale, weighting):
    gnorm, hyp = _hypothesis(pt, lam)
    extra = {**extra, "grad_norm": gnorm, "threshold_statement": thresholds(pt.game, lam)["statement"], "M": M}
    yield from _rows_4(pt, point, extra, hyp, scale)
    yield from _rows_5(pt, point, extra, hyp, scale, weighting)
    yield from _rows_gain(pt, point, extra, hyp, scale, M)


@one_blas_thread
def _lemma2_measure(instance, rng, quick, scale=1.0, weighting="joint"):
    bn = instance.payload["bn"]
    game = bn.game
    M = mismatch_of(instance).M
    for lam in _lams(instance, quick):
        for label, theta in _starts(instance, quick):
            pol, _ = stationary_point(game, bn.policy(theta), lam)
            pt = _Point(game, pol, lam)
            yield from _lemma2_point_rows(pt, lam, M, {"lam": lam, "theta0": label, "at": "stationary point"},
                                          {}, scale, weighting)
    lam = float(instance.params["lam"]) if instance.params.get("lam") is not None else ASCENT_LAMBDA
    eta = 1.0 / beta_lambda(game, bn.dag, lam)[0]
    tau = thresholds(game, lam)["statement"]
    budget = ASCENT_BUDGET_QUICK if quick else ASCENT_BUDGET_FULL
    for label, theta in list(_starts(instance, True)):
        pol, t, reached = _first_entry(game, bn.policy(theta), lam, eta, tau, budget)
        pt = _Point(game, pol, lam)
        yield from _lemma2_point_rows(pt, lam, M, {"lam": lam, "theta0": label, "at": "ascent iterate"},
                                      {"t": t, "reached_threshold": reached, "eta": eta, "budget": budget},
                                      scale, weighting)


@one_blas_thread
def _lemma3_measure(instance, rng, quick, scale=1.0, q_identity="P+"):
    bn = instance.payload["bn"]
    game = bn.game
    if not bn.dag.is_fully_correlated:
        return
    M = mismatch_of(instance).M
    for lam in _lams(instance, quick):
        for label, theta in _starts(instance, quick):
            pol, _ = stationary_point(game, bn.policy(theta), lam)
            pt = _Point(game, pol, lam)
            gnorm, hyp = _hypothesis(pt, lam)
            point = {"lam": lam, "theta0": label, "at": "stationary point"}
            extra = {"grad_norm": gnorm, "threshold_statement": thresholds(game, lam)["statement"], "M": M}
            yield from _rows_4(pt, point, extra, hyp, scale)
            yield from _rows_6(pt, point, extra, hyp, scale)
            yield from _rows_by4(pt, point, extra, hyp, scale)
            yield from _rows_7(pt, point, extra, hyp, scale)
            yield from _rows_8(pt, point, extra, hyp, q_identity)
            yield from _rows_chain(pt, point, extra, hyp, scale)


# ----------------------------------------------------------------------------- figures
def _ratio_figure(title, prefer, series):
    """Step ratios against λ at the stationary points (start 'theta0 + 0.01 noise'): one figure per game of the
    `prefer` families (in that order, every game of a family, at most :data:`MAX_FIGURES`) with two λ or more."""
    def figure(rows):
        stat = rows[rows["point.at"] == "stationary point"]
        names = []
        for fam in prefer:
            for name in stat[stat["param.family"] == fam]["instance"].unique():
                if stat[stat["instance"] == name]["point.lam"].nunique() >= 2 and len(names) < MAX_FIGURES:
                    names.append(name)
        specs = []
        for name in names:
            specs.append(LinesFigure(
                f"{title}: {name}",
                [Series(label, "ratio", where={"point.check": CHECKS[c], "point.reading": READINGS[r]})
                 for label, c, r in series],
                x="point.lam", where={"instance": name, "point.at": "stationary point",
                                      "point.theta0": "theta0 + 0.01 noise"},
                hlines=[HLine(1.0, label="ratio 1 (bound attained)", style=Style(color="0.5", linestyle=":"))],
                log_x=True, log_y=True, xlabel=r"$\lambda$", ylabel="measured / bound (worst coordinate)",
                band=None, legend="below", figsize=(6.5, 5.0)))
        return specs

    return figure


_LEMMA2_SERIES = (("(4), A^i >= 0", "4", "pos"), ("(5), d normalised", "5", "dn"),
                  ("(5), d unnormalised", "5", "du"), ("gain / (2 lambda M/|A^P|)", "gain", "printed"),
                  ("gain / (2 lambda M)", "gain", "statement"))
_LEMMA3_SERIES = (("(6) |A^i|, d normalised", "6", "Ai_dn"), ("(6) |A^P|, d normalised", "6", "AP_dn"),
                  ("by (4)", "by4", "min"), ("(7), d normalised", "7", "dn"), ("chained, d normalised", "chain", "dn"))


# ----------------------------------------------------------------------------- the claims
@claim_factory(
    bound_scale=Fault(1.0, "multiplies every step's bound (1e-3: a wrong constant; (8) keeps its tolerance)"),
    weighting=Fault("joint", "'state': (5) with d(s) in place of d(s, a^{P^i}) = d(s) pi(a^{P^i}|s) (the parent "
                             "marginal dropped; violated where a context with A^i > 0 has small probability)"),
    q_identity=Fault("P+", "'P': (8)'s right side Q^{i-1}(s, a^{P^{i-1}}) without a^{i-1} (violated)"),
)
def make_claims(*, faults):
    """Build ``chen2024.lemma2_steps`` and ``chen2024.lemma3_steps`` (faults: :func:`~netmarl_verify.verify.with_faults`)."""
    f = faults
    return [
        Claim(id="chen2024.lemma2_steps", source="Lemma 2; App. A.2, eqs. (4)-(5) and the last lines",
              paper=PAPER, paper_file=PAPER_FILE, instances=_lemma2_instances_steps, assumptions=meter_rows,
              search=(random_space(dags=("product", "chain", "star")),),
              statement="At theta with ||grad L_lambda|| <= lambda/(2|S||A| max_i |A^i|): (4) pi^i(a^i|s,a^P) >= "
                        "1/(2|A^i|) for a^i with A^i >= 0; (5) A^i(s,a^P,a^i) <= 2(1-gamma)lambda/(d(s)pi(a^P|s)|S||A^P|) "
                        "for every (s, a^P, a^i); agent i's best-response gain <= 2 lambda M/|A^{P^i}| <= 2 lambda M.",
              latex=r"\pi^i\ge\frac1{2|\mathcal A^i|}\ (A^i\ge0),\quad A^i\le\frac{2(1-\gamma)\lambda}{d(s)\pi(a^{P^i}|s)"
                    r"|S||\mathcal A^{P^i}|},\quad V_{\bar\pi^i,\pi^{-i}}-V_\pi\le\frac{2\lambda M}{|\mathcal A^{P^i}|}\le2\lambda M",
              measure=lambda inst, rng, quick: _lemma2_measure(inst, rng, quick, f["bound_scale"], f["weighting"]),
              figure=_ratio_figure("A.2 steps at stationary points vs lambda", ("parity_star", "random", "climbing"),
                                   _LEMMA2_SERIES),
              rtol=1e-6, atol=1e-12,
              notes="Stationary points as chen2024.lemma2 (L-BFGS, gtol 1e-11; same instances, lambdas, starts) plus "
                    "parity_star N=4 (N=5 in full runs); ascent iterates: eta = 1/beta_lambda, lambda = "
                    f"{ASCENT_LAMBDA}, from the two quick starts, the first iterate below the statement's threshold "
                    f"(budget {ASCENT_BUDGET_QUICK} quick / {ASCENT_BUDGET_FULL} full updates; not reached: 'not "
                    "applicable'). Each row is the worst coordinate (extra: agent, state, parent_config, action). "
                    "Findings (module docstring): (4) only for A^i >= 0; (5) needs d normalised; the printed "
                    "2 lambda M/|A^P| fails (E[1/pi(a^P|s)] = |A^P|, not 1), 2 lambda M holds."),
        Claim(id="chen2024.lemma3_steps", source="Lemma 3; App. A.4, eqs. (6)-(8)", paper=PAPER,
              paper_file=PAPER_FILE, instances=_lemma3_instances_steps, assumptions=_def3_assumption,
              search=(random_space(dags=("full",)),),
              statement="Fully correlated DAG, ||grad L_lambda|| <= lambda/(2|S||A| max_i |A^i|): (6) A^i <= "
                        "2(1-gamma)lambda/(d(s)pi(a^P|s)|S||A^i|); by (4) pi(a^P|s) >= 1/(2^N |A^P|); (7) A^i <= "
                        "2^{N+1}(1-gamma)lambda/(d(s)|S|); (8) Q^i(s,a^{P^i}) = Q^{i-1}(s,a^{P+^{i-1}}); chained, "
                        "Q(s,a) <= V(s) + N 2^{N+1}(1-gamma)lambda/(d(s)|S|) for every a.",
              latex=r"A^i\le\frac{2(1-\gamma)\lambda}{d(s)\pi(a^{P^i}|s)|S||\mathcal A^i|},\ "
                    r"\pi(a^{P^i}|s)\ge\frac1{2^N|\mathcal A^{P^i}|},\ A^i\le\frac{2^{N+1}(1-\gamma)\lambda}{d(s)|S|},\ "
                    r"Q^i(s,a^{P^i})=Q^{i-1}(s,a^{P_+^{i-1}})",
              measure=lambda inst, rng, quick: _lemma3_measure(inst, rng, quick, f["bound_scale"], f["q_identity"]),
              figure=_ratio_figure("A.4 steps at full-DAG stationary points vs lambda", ("random", "climbing3"),
                                   _LEMMA3_SERIES),
              rtol=1e-6, atol=1e-12,
              notes="Stationary points as chen2024.lemma3 (same instances, lambdas, starts) plus random S=1 N=2 A=4 "
                    "(a 4-action root; S=2 gamma=0.5 too in full runs). Full DAG only (Def. 3 an assumption). "
                    "Findings (module docstring): (6) as printed fails on a 4-action root, holds with |A^P| as in "
                    "(5); 'by (4)' fails (pi(a^P|s) ~ lambda), so (7) fails at small lambda; the chained bound "
                    "holds anyway (the telescoping sum of (8) offsets it); (8) is exact."),
    ]


for _claim in make_claims():
    register(_claim)
