"""``netmarl-verify bench``: wall time, throughput and peak memory of solvers and simulators.

Each case runs in a fresh subprocess so that its peak resident memory (``ru_maxrss`` of the
child) is its own. BLAS threads are pinned to ``--threads`` (default: the number of cores)
with threadpoolctl, so numbers are comparable between machines with the same core count.

Case ``exact``: on the qu2020 App. B.4 line instance with ``n`` agents (|S_i| = 2, |A_i| = 3,
seed 0), time
  1. :func:`netmarl_verify.solvers.exact.evaluate_policy` (P_pi, stationary distribution, all biases h_i),
  2. every local Q_i at 1,000 random global state-action pairs,
  3. the exact policy gradient (qu2020 Lemma 1),
end to end, per backend, with the largest certified residual and the largest forward-error
estimate (``PolicyEvaluation.forward_errors``) of the solves (goals: n = 12 under 5 s on 2 cores; issue 10: the matrix-free backend at
least 30x faster than dense at n = 12 in the same run, n = 20 under 20 s, n = 22 under 2 minutes with
peak memory under 8 GiB). Without ``--backends`` each size runs the backends that can run it: dense
and sparse below n = 12, dense, sparse and matrix-free at n = 12 (the ratio row), matrix-free only
above (dense takes minutes from n = 13 and refuses from n = 16):
``netmarl-verify bench --only exact --sizes 12,14,16,18,20,22`` prints the issue-10 table.

Case ``simulator``: the qu2020 App. E wireless network on the 5 x 5 grid, batch 1,024, uniform
policy sampled in batch; agent-steps per second (goal > 5 million).

Case ``step``: the generic :meth:`envs.NetworkedMDP.step` (any local kernels) on a random 5 x 5
grid instance, |S_i| = 2, |A_i| = 3, batch 1,024, with policy sampling; agent-steps per second.

Case ``sac``: Scalable Actor-Critic (qu2020 Alg. 1) training on the 5 x 5 grid, kappa = 0, batch
1,024; agent-steps per second (goal > 200,000) and memory after N and 10N iterations (goal: flat).

Case ``shadow-pg``: ying2023 Alg. 1 (distributed PG with shadow rewards, TD oracle) on a 10-agent
line, κ = 1, B = 256, H = 50; agent-steps per second (goal > 1 million: a third of the SAC row).

Case ``spread-optimum`` (opt-in): zhang2025 App. D.1's exact optimal and uniform-start 10-step returns on the
13 x 5 Simple Spread, N = 3 on the ordered tables and N = 4 on the orbit model of the agents' permutation
symmetry (goal < 60 s each, issue 14).

Case ``main-job`` (opt-in: ``--only main-job``): the main job, ``netmarl-verify report qu2020`` with
``--jobs`` = ``--threads``, timed end to end in a subprocess (goal: under 2 minutes on 2 cores).

Exit status: 0 when every case ran; 1 when a case failed (each failure is named on stderr, the
other cases still run); 2 for usage errors (unknown ``--only`` case or backend, sizes that are not
positive integers).
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

__all__ = ["main", "run_exact_case", "simulator_throughput"]

GOAL_SECONDS = {12: 5.0, 20: 20.0, 22: 120.0}

#: Peak memory goals (MiB of the child's max RSS), issue 10.
GOAL_PEAK_MIB = {22: 8192.0}

#: Speed-up goals of the matrix-free backend over dense in the same run, issue 10.
GOAL_RATIO = {12: 30.0}

#: Without ``--backends``: sizes up to this run dense and sparse; this size also matrix-free (the
#: ratio row); larger sizes matrix-free only.
RATIO_N = 12


def default_backends(n):
    """The backends a size runs when ``--backends`` is not given (module docstring)."""
    if n < RATIO_N:
        return ["dense", "sparse"]
    if n == RATIO_N:
        return ["dense", "sparse", "matrix-free"]
    return ["matrix-free"]


def run_exact_case(n, backend, threads, seed=0, n_pairs=1000):
    """Run one timing case in this process; returns a dict (used by the child process)."""
    from threadpoolctl import threadpool_limits

    import numpy as np

    from netmarl_verify import envs
    from netmarl_verify.solvers.exact import evaluate_policy, policy_gradient

    with threadpool_limits(limits=threads):
        mdp, pol = envs.qu2020_line(n, rng=seed)
        rng = envs.as_generator(seed + 1)
        S = rng.integers(0, 2, (n_pairs, n))
        A = rng.integers(0, 3, (n_pairs, n))
        t0 = time.perf_counter()
        ev = evaluate_policy(mdp, pol, backend=backend)
        t1 = time.perf_counter()
        Q = ev.q_local(S, A)
        t2 = time.perf_counter()
        grad = policy_gradient(mdp, pol, evaluation=ev)
        t3 = time.perf_counter()
        from netmarl_verify.solvers.exact import as_model, choose_backend

        auto = choose_backend(as_model(mdp, pol), "auto").name
    return {
        "case": "exact",
        "n": n,
        "backend": ev.backend,
        "states": mdp.n_states,
        "joint_actions": mdp.n_actions,
        "evaluate_s": t1 - t0,
        "q_all_agents_s": t2 - t1,
        "gradient_s": t3 - t2,
        "total_s": t3 - t0,
        "max_residual": max(ev.residuals.values()),
        # the largest forward-error estimate of the solves (solvers.exact._backends / _krylov)
        "max_forward_error": max(ev.forward_errors.values()) if ev.forward_errors else float("nan"),
        "checksum": float(Q.sum() + sum(g.sum() for g in grad)),
        "auto_backend": auto,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def simulator_throughput(network=None, batch=1024, steps=200, rng=None, policy=None, warmup=5):
    """Agent-steps per second of :func:`~envs.simulate`'s hot loop (policy sampling + step).

    Times the network's :meth:`~envs.WirelessNetwork.fast_loop`, the loop that
    :func:`~envs.simulate` runs. It used to be ``netmarl_verify.envs.simulator_throughput``, which
    is now a deprecated alias of this function.

    Parameters
    ----------
    network : WirelessNetwork, optional
        Default: the 5 x 5 grid of qu2020 App. E.
    batch, steps : int
        ``batch * n * steps`` agent-steps are timed.
    rng : int, numpy.random.Generator or None, optional
        See :func:`~envs.as_generator`.
    policy : optional
        Default: the uniform random policy.
    warmup : int
        Untimed steps first.

    Returns
    -------
    float
        Agent-steps per second (``batch * n * steps / seconds``).
    """
    from netmarl_verify import envs

    network = envs.WirelessNetwork() if network is None else network
    rng = envs.as_generator(rng)
    sampler = envs.LocalPolicySampler(network.uniform_policy() if policy is None else policy)
    loop = network.fast_loop(sampler, np.zeros((int(batch), network.n), dtype=np.int64))
    for _ in range(int(warmup)):
        loop.step(rng)
    t0 = time.perf_counter()
    for _ in range(int(steps)):
        loop.step(rng)
    dt = time.perf_counter() - t0
    return batch * network.n * steps / dt


def run_simulator_case(threads, seed=0, batch=1024, steps=400):
    """Wireless 5 x 5 grid simulator (qu2020 App. E): uniform policy sampled in batch + step."""
    from threadpoolctl import threadpool_limits

    from netmarl_verify import envs

    with threadpool_limits(limits=threads):
        net = envs.WirelessNetwork(5, 5, seed=seed)
        t0 = time.perf_counter()
        rate = simulator_throughput(net, batch=batch, steps=steps, rng=seed)
        wall = time.perf_counter() - t0
    return {"case": "simulator", "n": net.n, "backend": f"B={batch}", "agent_steps_per_s": rate,
            "total_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_generic_step_case(threads, seed=0, batch=1024, steps=200):
    """Generic :meth:`envs.NetworkedMDP.step` on a random 5 x 5 grid instance (|S_i| = 2,
    |A_i| = 3, qu2020 B.4 kernels), actions from a random local softmax policy sampled in batch."""
    from threadpoolctl import threadpool_limits

    from netmarl_verify import envs

    with threadpool_limits(limits=threads):
        rng = envs.as_generator(seed)
        mdp = envs.random_networked_mdp(envs.grid_graph(5, 5), 2, 3, rng=rng)
        sampler = envs.LocalPolicySampler(envs.LocalSoftmaxPolicy.random(mdp, rng))
        s = np.zeros((batch, mdp.n), dtype=np.int64)
        for _ in range(5):  # warm-up (builds the stacked tables)
            s, _r = mdp.step(s, sampler.sample(s, rng), rng)
        t0 = time.perf_counter()
        for _ in range(steps):
            s, _r = mdp.step(s, sampler.sample(s, rng), rng)
        wall = time.perf_counter() - t0
    return {"case": "step", "n": mdp.n, "backend": f"generic B={batch}",
            "agent_steps_per_s": batch * mdp.n * steps / wall, "total_s": wall,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "notes": "NetworkedMDP.step + policy sampling"}


def _sac_case(threads, seed=0):
    from ._bench_sac import run_sac_case

    return run_sac_case(threads, seed)


def run_main_job_case(threads, seed=0, papers="qu2020"):
    """The main job, ``netmarl-verify report <papers> --out <tmp>`` with ``--jobs = threads``, timed as a whole.

    Wall time and the peak resident memory of the largest process (the report's process or one of
    its workers: ``ru_maxrss`` of this child and of its own children). Goal (issue 10): the full
    qu2020 report under 2 minutes on 2 cores (:data:`GOAL_MAIN_JOB_SECONDS`).
    """
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "netmarl_verify", "report", papers, "--out", out, "--jobs", str(threads),
               "--seed", str(seed)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[1:])} exited {proc.returncode}: "
                               f"{(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    goal = GOAL_MAIN_JOB_SECONDS
    return {"case": "main-job", "n": 0, "backend": f"report {papers} --jobs {threads}", "agent_steps_per_s": float("nan"),
            "total_s": wall, "peak_rss_mib": peak / 1024,
            "notes": f"wall time of the main job (goal < {goal:g} s: {'met' if wall < goal else 'MISSED'})"}


def run_shadow_pg_case(threads, seed=0):
    """ying2023 Alg. 1 on a 10-agent line (random_khop, kappa = 1, B = 256, H = 50, TD oracle): agent-steps/s."""
    from threadpoolctl import threadpool_limits

    from netmarl_verify.solvers.sampled import shadow_pg_throughput

    with threadpool_limits(limits=threads):
        t0 = time.perf_counter()
        rate = shadow_pg_throughput(n=10, kappa=1, B=256, H=50, T=10, rng=seed)
        wall = time.perf_counter() - t0
    goal = GOAL_SHADOW_PG
    return {"case": "shadow-pg", "n": 10, "backend": "kappa=1 B=256 H=50", "agent_steps_per_s": rate,
            "total_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "notes": f"ying2023 Alg. 1, TD oracle (goal > {goal:,.0f}: {'met' if rate > goal else 'MISSED'})"}


#: ying2023 Alg. 1's throughput goal, agent-steps/s, set from the qu2020 SAC row (goal 200,000; measured 3.1 and
#: 11.8 million on the 5 x 5 grid, B = 1024, on a loaded and a quiet 2-core machine): five times SAC's goal, since
#: an iteration of Alg. 1 also runs the TD pass and the gradient estimate. Side by side in one run
#: (``bench --only sac,shadow-pg``): SAC 11.8 million, Alg. 1 8.4 million agent-steps/s.
GOAL_SHADOW_PG = 1_000_000.0

#: Goal of the main job's wall time, seconds (issue 10 §5: the full qu2020 report on 2 cores).
GOAL_MAIN_JOB_SECONDS = 120.0

def run_dec_neural_ac_case(threads, seed=0):
    """gu2021 DEC-NEURAL-AC (Alg. 1-2) on mf_congestion(L=5, N=2), M = 64, B = 64, 16 runs: samples/s and agent-steps/s."""
    from threadpoolctl import threadpool_limits

    from netmarl_verify.solvers.sampled import dec_neural_ac_throughput
    from netmarl_verify.solvers.sampled._dec_neural_ac import GOAL_SAMPLES_PER_SECOND

    with threadpool_limits(limits=threads):
        t0 = time.perf_counter()
        rate = dec_neural_ac_throughput(rng=seed)
        wall = time.perf_counter() - t0
    goal = GOAL_SAMPLES_PER_SECOND
    return {"case": "dec-neural-ac", "n": 2, "backend": "congestion M=64 B=64 R=16", "agent_steps_per_s": 2 * rate,
            "total_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "samples_per_s": rate,
            "notes": f"gu2021 Alg. 2, {rate:,.0f} samples/s (goal > {goal:,.0f}: {'met' if rate > goal else 'MISSED'})"}


def run_zhang_ac_case(threads, seed=0):
    """zhang2025 Alg. 1-2 (deep ReLU critic with gossip) on the 13 x 5 Simple Spread, N = 2, 64 runs: agent-steps/s."""
    from threadpoolctl import threadpool_limits

    from netmarl_verify.solvers.sampled import zhang_ac_throughput
    from netmarl_verify.solvers.sampled._zhang_ac import GOAL_ZHANG_AC

    with threadpool_limits(limits=threads):
        t0 = time.perf_counter()
        rate = zhang_ac_throughput(rng=seed)
        wall = time.perf_counter() - t0
    goal = GOAL_ZHANG_AC
    return {"case": "zhang-ac", "n": 2, "backend": "spread 13x5 m=20 D=5 R=64", "agent_steps_per_s": rate,
            "total_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "notes": f"zhang2025 Alg. 1-2, t_gossip = 10 (goal > {goal:,.0f}: {'met' if rate > goal else 'MISSED'})"}


#: zhang2025 (issue 14): the exact optimum of the 13 x 5 Simple Spread, N = 3, in under a minute on 2 cores.
GOAL_SPREAD_OPTIMUM_SECONDS = 60.0


def run_spread_optimum_case(threads, seed=0):
    """zhang2025 App. D.1: exact optimal and uniform-start 10-step returns on the 13 x 5 Simple Spread, two rows:
    N = 3 on the full ordered tables (274,625 states x 125 joint actions: build + backward recursion) and N = 4 on
    the orbit model of the agents' permutation symmetry (814,385 orbits x 625); goal < 60 s each."""
    from threadpoolctl import threadpool_limits

    import numpy as np

    from netmarl_verify.envs._zhang2025 import SpreadGrid
    from netmarl_verify.solvers.exact import spread_episode_return, spread_optimal_episode_return, symmetric_spread, \
        symmetric_spread_returns

    goal = GOAL_SPREAD_OPTIMUM_SECONDS
    rows = []
    with threadpool_limits(limits=threads):
        t0 = time.perf_counter()
        g = SpreadGrid(3, 13, 5)
        opt = spread_optimal_episode_return(g, 10)
        uni = spread_episode_return(g, np.full((g.n_states, g.n_joint), 1.0 / g.n_joint), 10)
        wall = time.perf_counter() - t0
        rows.append({"case": "spread-optimum", "n": 3, "backend": "13x5 ordered tables, 274,625 x 125",
                     "agent_steps_per_s": float("nan"), "total_s": wall,
                     "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                     "notes": f"10-step optimum {opt:.4f}, uniform {uni:.4f} (goal < {goal:g} s: "
                              f"{'met' if wall < goal else 'MISSED'})"})
        del g
        t0 = time.perf_counter()
        m = symmetric_spread(4, 13, 5)
        opt, uni = symmetric_spread_returns(m, 10)
        wall = time.perf_counter() - t0
        rows.append({"case": "spread-optimum", "n": 4, "backend": f"13x5 orbit model, {m.n_classes:,} x 625",
                     "agent_steps_per_s": float("nan"), "total_s": wall,
                     "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                     "notes": f"10-step optimum {opt:.4f}, uniform {uni:.4f} (goal < {goal:g} s: "
                              f"{'met' if wall < goal else 'MISSED'})"})
    return rows


def run_bn_case(threads, seed=0):
    """chen2024: the exact Nash gap (N = 16 one-state, N = 10 ten-state) and exact-gradient ascent: three rows."""
    from ._bench_chen2024 import bn_bench_case

    return bn_bench_case(threads, seed)  # pins the BLAS threads itself


CASES = {"exact": None, "simulator": run_simulator_case, "step": run_generic_step_case, "sac": _sac_case,
         "shadow-pg": run_shadow_pg_case, "dec-neural-ac": run_dec_neural_ac_case, "zhang-ac": run_zhang_ac_case,
         "bn": run_bn_case, "spread-optimum": run_spread_optimum_case,
         "main-job": run_main_job_case}
#: Cases run when ``--only`` is not given (``main-job`` takes minutes: ask for it by name).
DEFAULT_CASES = ("exact", "simulator", "step", "sac", "shadow-pg", "dec-neural-ac", "zhang-ac", "bn")


def _child(args):
    if args.case == "exact":
        res = run_exact_case(args.n, args.backend, args.threads, args.seed)
    else:
        res = CASES[args.case](args.threads, args.seed)
    print(json.dumps(res))


def _run_in_subprocess(n, backend, threads, seed, timeout, case="exact"):
    cmd = [sys.executable, "-c", "import sys; from netmarl_verify.verify._bench import main; sys.exit(main(sys.argv[1:]))",
           "--child", "--case", case, "--n", str(n), "--backend", backend,
           "--threads", str(threads), "--seed", str(seed)]
    env = dict(os.environ)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"case": case, "n": n, "backend": backend, "error": f"timeout after {timeout}s"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"case": case, "n": n, "backend": backend, "error": last}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _format(rows):
    head = f"{'case':<6} {'n':>3} {'backend':<11} {'|S|':>8} {'|A|':>10} {'evaluate':>9} {'Q(1000)':>8} " \
           f"{'grad':>7} {'total s':>8} {'peak MiB':>9} {'residual':>9} {'fwd err':>9}  goal"
    lines = [head, "-" * len(head)]
    for r in rows:
        if r["case"] != "exact" and "error" not in r:
            continue
        if "error" in r:
            lines.append(f"{r['case']:<6} {r['n']:>3} {r['backend']:<11}  ERROR: {r['error']}")
            continue
        goal = GOAL_SECONDS.get(r["n"])
        gtxt = "" if goal is None else (f"< {goal:g}s " + ("met" if r["total_s"] < goal else "MISSED"))
        mem = GOAL_PEAK_MIB.get(r["n"])
        if mem is not None:
            gtxt += ("; " if gtxt else "") + f"peak < {mem / 1024:g} GiB " + ("met" if r["peak_rss_mib"] < mem else "MISSED")
        if gtxt and r.get("auto_backend", r["backend"]) != r["backend"]:
            gtxt += f" (not the default: backend='auto' picks {r['auto_backend']})"
        lines.append(
            f"{r['case']:<6} {r['n']:>3} {r['backend']:<11} {r['states']:>8} {r['joint_actions']:>10} "
            f"{r['evaluate_s']:>9.3f} {r['q_all_agents_s']:>8.3f} {r['gradient_s']:>7.3f} {r['total_s']:>8.3f} "
            f"{r['peak_rss_mib']:>9.0f} {r['max_residual']:>9.1e} {r.get('max_forward_error', float('nan')):>9.1e}  {gtxt}"
        )
    lines += _ratio_lines(rows)
    other = [r for r in rows if r["case"] != "exact" and "error" not in r]
    if other:
        lines.append("")
        head = f"{'case':<13} {'n':>3} {'setting':<26} {'agent-steps/s':>14} {'wall s':>8} {'peak MiB':>9}  notes"
        lines += [head, "-" * len(head)]
        for r in other:
            rate = r["agent_steps_per_s"]
            rate = f"{rate:>14,.0f}" if rate == rate else f"{'-':>14}"
            lines.append(f"{r['case']:<13} {r['n']:>3} {r['backend']:<26} {rate} "
                         f"{r['total_s']:>8.2f} {r['peak_rss_mib']:>9.0f}  {r.get('notes', '')}")
    return "\n".join(lines)


def _ratio_lines(rows):
    """One line per size with both a dense and a matrix-free row: the speed-up measured in this run."""
    out = []
    by = {}
    for r in rows:
        if r.get("case") == "exact" and "error" not in r:
            by.setdefault(r["n"], {})[r["backend"]] = r
    for n in sorted(by):
        d, m = by[n].get("dense"), by[n].get("matrix-free")
        if d is None or m is None or not m["total_s"] > 0:
            continue
        ratio = d["total_s"] / m["total_s"]
        goal = GOAL_RATIO.get(n)
        gtxt = "" if goal is None else f" (goal >= {goal:g}x: " + ("met" if ratio >= goal else "MISSED") + ")"
        out.append(f"n = {n}: matrix-free {ratio:.1f}x faster than dense in this run "
                   f"({m['total_s']:.3f} s vs {d['total_s']:.3f} s){gtxt}")
    if out:
        out.insert(0, "")
    return out


PROG = "netmarl-verify bench"
BACKEND_NAMES = ("dense", "sparse", "matrix-free", "auto")


def _int_at_least(lo):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {value}")
        return value
    return parse


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _sizes(text):
    items = [x.strip() for x in text.split(",") if x.strip()]
    out = []
    for x in items:
        try:
            n = int(x)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated agent counts such as 8,10,12, got {x!r}"
                + (f" in {text!r}" if len(items) > 1 else "")) from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"agent counts must be >= 1, got {n}")
        out.append(n)
    return out


def _names(valid, what):
    def parse(text):
        items = [x.strip() for x in text.split(",") if x.strip()]
        unknown = [x for x in items if x not in valid]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(map(repr, unknown))} (choose from {', '.join(valid)})")
        if not items:
            raise argparse.ArgumentTypeError(f"no {what} given (choose from {', '.join(valid)})")
        return list(dict.fromkeys(items))
    return parse


def main(argv=None):
    """Entry point of ``netmarl-verify bench``; returns the exit status.

    0 when every case ran, 1 when a case failed (each failure is named on stderr; the other cases
    still run), 2 (``SystemExit`` from argparse) for usage errors: unknown ``--only`` case or
    ``--backends`` name, sizes that are not positive integers.
    """
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default=[8, 10, 12, 13], type=_sizes,
                   help="comma-separated agent counts (default 8,10,12,13)")
    p.add_argument("--backends", default=None, type=_names(BACKEND_NAMES, "backend"),
                   help="comma-separated backends: dense, sparse, matrix-free, auto (default: dense,sparse below "
                        f"n = {RATIO_N}, dense,sparse,matrix-free at n = {RATIO_N}, matrix-free above)")
    p.add_argument("--threads", type=_int_at_least(1), default=os.cpu_count() or 1,
                   help="BLAS threads (default: cores)")
    p.add_argument("--seed", type=_int_at_least(0), default=0)
    p.add_argument("--timeout", type=_positive_float, default=600.0,
                   help="seconds per case before it is reported as timed out")
    p.add_argument("--json", action="store_true", help="print one JSON object per row instead of the table")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--backend", help=argparse.SUPPRESS)
    p.add_argument("--case", default="exact", help=argparse.SUPPRESS)
    p.add_argument("--only", default=list(DEFAULT_CASES), type=_names(tuple(CASES), "case"),
                   help="comma-separated cases to run: exact, simulator, step, sac, shadow-pg, dec-neural-ac, zhang-ac, bn, "
                        "spread-optimum, main-job (default all but spread-optimum, about 2 minutes, and "
                        "main-job, which runs the whole qu2020 report: about 2 minutes)")
    args = p.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    sizes, backends, only = args.sizes, args.backends, set(args.only)
    if "exact" in only and not sizes:
        p.error("--sizes is empty but --only selects the exact case")
    rows = []
    try:
        from tqdm import tqdm

        it = tqdm([(n, b) for n in sizes for b in (backends or default_backends(n))], desc="bench",
                  file=sys.stderr, disable=not sys.stderr.isatty())
    except ImportError:  # pragma: no cover
        it = [(n, b) for n in sizes for b in (backends or default_backends(n))]
    for n, b in (it if "exact" in only else []):
        rows.append(_run_in_subprocess(n, b, args.threads, args.seed, args.timeout))
    for case in [c for c in CASES if c != "exact" and c in only]:
        res = _run_in_subprocess(0, "-", args.threads, args.seed, args.timeout, case=case)
        rows.extend(res if isinstance(res, list) else [res])  # a case may report several rows (bn)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cores": os.cpu_count(),
            "threads": args.threads, "seed": args.seed}
    if args.json:
        for r in rows:
            print(json.dumps({**r, **meta}))
    else:
        print(f"netmarl-verify bench  (qu2020 line instances, |S_i|=2, |A_i|=3, seed {args.seed}; "
              f"{args.threads} BLAS threads on {os.cpu_count()} cores; python {meta['python']})")
        print("times in seconds; Q(1000) = every local Q_i at 1,000 random pairs; peak = child max RSS;\n"
              "residual = largest certified residual of the solves; fwd err = largest forward-error estimate "
              "(relative; rigorous for discounted solves, an estimate for the average-reward ones);\n"
              "the time goal applies to the backend that "
              "backend='auto' picks")
        print(_format(rows))
    failed = [r for r in rows if "error" in r]
    for r in failed:
        where = f"n={r['n']}, backend={r['backend']}" if r["case"] == "exact" else f"backend={r['backend']}"
        print(f"{PROG}: error: case {r['case']} ({where}) failed: {r['error']}", file=sys.stderr)
    return 1 if failed else 0
