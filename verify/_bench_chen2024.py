r"""Benchmark rows for the chen2024 exact solvers (issue 13 §3), shaped like :mod:`netmarl_verify.verify._bench`'s.

:func:`bn_bench_case` times, with BLAS threads pinned to `threads` (threadpoolctl):

``nash-gap`` (one state)
    :func:`~netmarl_verify.solvers.exact.bn_nash_gap` on ``bn_game("parity_star", N=16)`` — one state,
    16 binary agents (65,536 joint actions), agent 15 with all 15 others as parents (32,768 contexts in its
    best-response MDP) — at seeded N(0, 1) logits. Goal: under 2 s (:data:`GOAL_NASH_GAP_SECONDS`).
``nash-gap`` (10 states)
    The same on ``bn_game("random", S=10, N=10, dag="full")`` (1,024 joint actions, the fully correlated
    DAG of chen2024 Def. 3). Goal: under 2 s.
``bn-ascent``
    :func:`~netmarl_verify.solvers.exact.bn_gradient_ascent` (chen2024 eqs. (2)-(3), exact gradient of
    Lemma 1, no gap) on ``bn_game("random", S=4, N=3, dag="chain")``, λ = 0.01, η = 1/β_λ: iterations per
    second. Goal: 10^6 iterations in minutes, i.e. more than :data:`GOAL_ASCENT_ITERATIONS_PER_S`.

Each row has the keys of ``_bench``'s non-``exact`` rows (``case``, ``n``, ``backend``,
``agent_steps_per_s``, ``total_s``, ``peak_rss_mib``, ``notes`` with "goal ... met/MISSED") plus
case-specific extras. ``agent_steps_per_s`` is NaN for the gap rows (no simulation) and, for the ascent,
agent-updates per second (iterations/s × N; the iterations/s are in ``iterations_per_s`` and the notes).
``peak_rss_mib`` is this process's ``ru_maxrss`` so far (run each call in a fresh process, as ``_bench``
does, for a per-case number).
"""

import resource
import time

import numpy as np

__all__ = ["bn_bench_case", "GOAL_NASH_GAP_SECONDS", "GOAL_ASCENT_ITERATIONS_PER_S"]

#: Issue 13 §3: the exact Nash gap of the two benchmark games, each under this many seconds.
GOAL_NASH_GAP_SECONDS = 2.0

#: Issue 13 §3: 10^6 exact-gradient iterations "in minutes" on a 3-agent, 4-state game (200 s at this rate).
GOAL_ASCENT_ITERATIONS_PER_S = 5_000.0


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _random_logits(inst, seed):
    rng = np.random.default_rng(seed)
    return inst.policy([rng.normal(size=t.shape) for t in inst.theta0])


def _gap_row(inst, label, seed):
    from netmarl_verify.solvers.exact import bn_nash_gap

    pol = _random_logits(inst, seed)
    game = inst.game
    t0 = time.perf_counter()
    gap, brs = bn_nash_gap(game, pol)
    wall = time.perf_counter() - t0
    goal = GOAL_NASH_GAP_SECONDS
    ok = "met" if wall < goal else "MISSED"
    return {"case": "nash-gap", "n": game.n_agents, "backend": f"|S|={game.n_states} |A|={game.n_actions}",
            "agent_steps_per_s": float("nan"), "total_s": wall, "peak_rss_mib": _peak_mib(),
            "nash_gap": float(gap), "policy_iterations": int(sum(b.iterations for b in brs)),
            "notes": f"bn_nash_gap on {label} (goal < {goal:g} s: {ok})"}


def _ascent_row(seed, n_iter):
    from netmarl_verify.envs._bn_games import bn_game
    from netmarl_verify.solvers.exact import beta_lambda, bn_gradient_ascent

    inst = bn_game("random", seed=seed, S=4, N=3, dag="chain")
    lam = 0.01
    eta = 1.0 / beta_lambda(inst.game, inst.dag, lam)[0]
    bn_gradient_ascent(inst.game, inst.policy(), lam, eta, 50)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    trace = bn_gradient_ascent(inst.game, inst.policy(), lam, eta, n_iter)
    wall = time.perf_counter() - t0
    rate = trace.iterations / wall
    goal = GOAL_ASCENT_ITERATIONS_PER_S
    ok = "met" if rate > goal else "MISSED"
    return {"case": "bn-ascent", "n": inst.game.n_agents, "backend": f"|S|=4 chain, {n_iter} it",
            "agent_steps_per_s": rate * inst.game.n_agents, "total_s": wall, "peak_rss_mib": _peak_mib(),
            "iterations_per_s": rate, "seconds_per_million": 1e6 / rate,
            "notes": f"bn_gradient_ascent {rate:,.0f} it/s, 10^6 it in {1e6 / rate / 60:.1f} min "
                     f"(goal > {goal:,.0f} it/s: {ok})"}


def bn_bench_case(threads, seed=0, n_iter=20_000):
    """The chen2024 benchmark rows (module docstring), BLAS threads pinned to `threads`.

    Parameters
    ----------
    threads : int
        BLAS threads (threadpoolctl).
    seed : int
        Seed of the random logits and of the random games.
    n_iter : int
        Timed iterations of the ascent row.

    Returns
    -------
    list of dict
        Three rows: nash-gap (one state, N = 16), nash-gap (10 states, N = 10), bn-ascent.

    Examples
    --------
    >>> from netmarl_verify.verify._bench_chen2024 import bn_bench_case
    >>> rows = bn_bench_case(1, n_iter=200)  # doctest: +SKIP
    >>> [r["case"] for r in rows]  # doctest: +SKIP
    ['nash-gap', 'nash-gap', 'bn-ascent']
    """
    from threadpoolctl import threadpool_limits

    from netmarl_verify.envs._bn_games import bn_game

    with threadpool_limits(limits=int(threads)):
        one = bn_game("parity_star", seed=seed, N=16)
        ten = bn_game("random", seed=seed, S=10, N=10, dag="full")
        return [_gap_row(one, "parity_star(N=16), one state, 65,536 joint actions", seed),
                _gap_row(ten, "random(S=10, N=10, full DAG), 1,024 joint actions", seed),
                _ascent_row(seed, int(n_iter))]
