"""Bench case ``sac``: Scalable Actor-Critic (qu2020 Alg. 1) training throughput and memory flatness.

On the wireless grid of qu2020 App. E (default 5 x 5, κ = 0, ``B = 1024`` runs at once, the step
sizes :data:`ALPHA`, :data:`ETA` and ``rescale=False`` of the App. E experiment in
:mod:`netmarl_verify.verify.claims`):

1. **throughput** — one untimed warm-up, then ``n_iterations`` iterations timed;
   ``agent_steps_per_s = B * n * T / seconds`` as measured by
   :func:`netmarl_verify.solvers.sampled.scalable_actor_critic` itself (checkpoints excluded), ``total_s`` the
   wall time of that call;
2. **memory flatness** — ``N = memory_iterations`` and then ``10 N`` iterations in the same
   process, both with two checkpoints (so the trace has the same size): the resident set size
   after each run (``/proc/self/statm``; ``ru_maxrss`` where that is unavailable), the change of
   the peak ``ru_maxrss``, and the peak of the memory traced by :mod:`tracemalloc` during each run
   (numpy reports its array allocations to tracemalloc). A training loop whose memory grows with
   the number of iterations shows a larger 10 N figure; a flat one shows the same numbers.

Goals (from the issue): more than 200,000 agent-steps per second; memory flat over a 10x longer run.
"""

import gc
import resource
import time
import tracemalloc

from netmarl_verify.solvers.sampled import PowerSchedule

__all__ = ["run_sac_case", "GOAL_AGENT_STEPS_PER_S", "ALPHA", "ETA"]

# The step sizes of the App. E experiment, defined here so that the benchmark does not import a
# claim module. They equal ``ALPHA`` and ``ETA`` of the qu2020 wireless claim (asserted by
# tests/solvers/sampled/test_kit.py::test_bench_step_sizes_equal_the_claims).
#: Critic step size :math:`\alpha_t = (1+t)^{-0.55}`.
ALPHA = PowerSchedule(1.0, 0.55)
#: Actor step size :math:`\eta_t = 1000^{0.6}/(1000+t)^{0.6}`.
ETA = PowerSchedule(1000.0**0.6, 0.6, 1000.0)

GOAL_AGENT_STEPS_PER_S = 200_000
#: RSS growth between the N and the 10 N run still called flat: allocator noise, a few pages.
FLAT_TOLERANCE_MIB = 4.0


def _maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rss_mib():
    """Current resident set size in MiB (Linux ``/proc/self/statm``), else the peak."""
    try:
        import os

        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        return _maxrss_mib()


def run_sac_case(threads, seed=0, *, H=5, W=5, batch=1024, n_iterations=300, memory_iterations=50, kappa=0):
    """Time SAC training on the wireless grid and check that its memory stays flat.

    Parameters
    ----------
    threads : int
        BLAS threads (threadpoolctl).
    seed : int
        Network parameters (``WirelessNetwork(H, W, seed=seed)``) and the runs' generator.
    H, W : int
        Grid size (5 x 5 in the paper).
    batch : int
        Runs trained at once.
    n_iterations : int
        Iterations of the timed run.
    memory_iterations : int
        ``N``: the memory check runs ``N`` then ``10 N`` iterations.
    kappa : int
        Truncation radius (dense critic tables; κ = 0 on 5 x 5: 20 entries per agent and run).

    Returns
    -------
    dict
        ``case, n, backend, agent_steps_per_s, total_s, peak_rss_mib, notes`` plus the raw memory
        numbers (``rss_after_n_mib``, ``rss_after_10n_mib``, ``rss_growth_mib``,
        ``traced_peak_n_mib``, ``traced_peak_10n_mib``, ``maxrss_growth_mib``), ``memory_flat``,
        ``goal_met``.
    """
    from threadpoolctl import threadpool_limits

    from netmarl_verify import envs
    from netmarl_verify.solvers.sampled import scalable_actor_critic

    N = int(memory_iterations)
    T = int(n_iterations)
    if N < 1 or T < 1:
        raise ValueError(f"`n_iterations` and `memory_iterations` must be >= 1, got {T} and {N}")

    def train(iterations, rng):
        return scalable_actor_critic(net, kappa, iterations, batch=batch, alpha=ALPHA, eta=ETA, rescale=False,
                                     rng=rng, checkpoints=[0, iterations])

    with threadpool_limits(limits=threads):
        net = envs.WirelessNetwork(H, W, seed=seed)
        train(min(5, T), seed)  # warm-up: imports, first-touch of the tables
        t0 = time.perf_counter()
        res = train(T, seed + 1)
        total = time.perf_counter() - t0
        rate = float(res.agent_steps_per_second)
        del res

        mem = {}
        for label, iterations, rng in (("n", N, seed + 2), ("10n", 10 * N, seed + 3)):
            gc.collect()
            tracemalloc.start()
            r = train(iterations, rng)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            del r
            gc.collect()
            mem[f"rss_after_{label}_mib"] = _rss_mib()
            mem[f"maxrss_after_{label}_mib"] = _maxrss_mib()
            mem[f"traced_peak_{label}_mib"] = peak / 2**20

    growth = mem["rss_after_10n_mib"] - mem["rss_after_n_mib"]
    traced_growth = mem["traced_peak_10n_mib"] - mem["traced_peak_n_mib"]
    maxrss_growth = mem["maxrss_after_10n_mib"] - mem["maxrss_after_n_mib"]
    flat = growth <= FLAT_TOLERANCE_MIB and traced_growth <= FLAT_TOLERANCE_MIB
    notes = (f"rss after N={N}: {mem['rss_after_n_mib']:.1f} MiB, after 10N={10 * N}: "
             f"{mem['rss_after_10n_mib']:.1f} MiB ({growth:+.1f}); traced peak {mem['traced_peak_n_mib']:.1f} -> "
             f"{mem['traced_peak_10n_mib']:.1f} MiB; max RSS {maxrss_growth:+.1f} MiB; "
             f"memory {'flat' if flat else 'GROWS'}; goal > {GOAL_AGENT_STEPS_PER_S:,} agent-steps/s "
             f"{'met' if rate > GOAL_AGENT_STEPS_PER_S else 'MISSED'}")
    return {
        "case": "sac",
        "n": net.n,
        "backend": f"B={batch} kappa={kappa}",
        "agent_steps_per_s": rate,
        "total_s": total,
        "iterations": T,
        "peak_rss_mib": _maxrss_mib(),
        **mem,
        "rss_growth_mib": growth,
        "maxrss_growth_mib": maxrss_growth,
        "memory_flat": bool(flat),
        "goal_met": bool(rate > GOAL_AGENT_STEPS_PER_S),
        "notes": notes,
    }
