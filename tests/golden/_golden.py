"""Golden master of the numbers: qu2020 claim rows and unit-level exact quantities.

The restructuring of issue 15 must leave every number unchanged. This module computes

* the rows of ``run("qu2020", quick=True, seed=s)`` for :data:`SEEDS`, without the fields that
  are not results (timings, versions, provenance: :func:`comparable_rows`);
* the exact quantities of :func:`exact_quantities` on a fixed set of test instances (both
  transition forms, both reward forms, discounted and average reward, decay, truncation,
  critic fixed point, wireless chain).

``python tests/golden/_golden.py`` records them into ``tests/golden/*.json.gz`` / ``*.npz``
(run it only when a change of numbers is intended, and say so in the commit);
``tests/test_golden.py`` recomputes and compares them bit for bit.

Floats are stored as JSON (``repr`` round-trips exactly) and ``.npz`` (binary), so the stored
values are the exact doubles.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEEDS = (0, 1, 2)
ROWS_FILE = HERE / "qu2020_quick_rows.json.gz"
EXACT_FILE = HERE / "exact_quantities.npz"
META_FILE = HERE / "recorded_on.json"


def blas_fingerprint():
    """BLAS libraries and the CPU kernels they picked (bits can depend on the kernel)."""
    from threadpoolctl import threadpool_info

    return sorted(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
                  for i in threadpool_info() if i.get("user_api") == "blas")

#: Row fields that are not results: wall-clock timings, versions and provenance.
_TIMING = re.compile(r"(seconds|per_second|wall_time)")


def _drop_timings(value):
    if isinstance(value, dict):
        return {k: _drop_timings(v) for k, v in value.items() if not _TIMING.search(str(k))}
    if isinstance(value, list):
        return [_drop_timings(v) for v in value]
    return value


def comparable_rows(df):
    """Rows as a list of dicts without timings, versions and provenance (JSON cells decoded)."""
    out = []
    json_cols = ("point", "params", "values", "extra", "assumptions", "failed_assumptions", "counterexample")
    for rec in df.to_dict(orient="records"):
        row = {}
        for k, v in rec.items():
            if k.startswith(("version.", "provenance.")) or _TIMING.search(k):
                continue
            if k in json_cols and isinstance(v, str):
                v = json.loads(v)
            if isinstance(v, (np.floating, np.integer, np.bool_)):
                v = v.item()
            row[k] = _drop_timings(v)
        out.append(row)
    return out


def qu2020_rows():
    """``{seed: comparable rows}`` of the quick qu2020 run."""
    from netmarl_verify.verify import run

    return {str(s): comparable_rows(run("qu2020", quick=True, seed=s, progress=False)) for s in SEEDS}


def _instances():
    import networkx as nx

    from netmarl_verify import envs

    out = {}
    for seed in (0, 1):
        out[f"line4-seed{seed}"] = envs.qu2020_line(n=4, rng=seed)
    out["grid2x2"] = envs.qu2020_grid(2, 2, rng=3)
    for form in ("local", "neighbourhood"):
        g = nx.cycle_graph(4)
        mdp = envs.random_networked_mdp(g, 2, 2, rng=5, transition_form=form, reward_form=form)
        out[f"cycle4-{form}"] = (mdp, envs.LocalSoftmaxPolicy.random(mdp, rng=6))
    out["copy-chain"] = (envs.copy_chain_mdp(4, 0.6), None)
    return out


def exact_quantities():
    """``{name: array}`` of exact quantities on the fixed instances."""
    from netmarl_verify import envs
    from netmarl_verify.solvers import exact as ex

    out = {}
    for name, (mdp, pol) in _instances().items():
        if pol is None:
            pol = envs.LocalSoftmaxPolicy([np.zeros((mdp.state_sizes[i], mdp.action_sizes[i])) for i in range(mdp.n)])
        n = mdp.n
        rng = np.random.default_rng(11)
        S = np.stack([rng.integers(0, mdp.state_sizes[i], 40) for i in range(n)], axis=1)
        A = np.stack([rng.integers(0, mdp.action_sizes[i], 40) for i in range(n)], axis=1)
        ev = ex.evaluate_policy(mdp, pol)
        out[f"{name}/d"] = ex.stationary_distribution(mdp, pol)
        out[f"{name}/J"] = np.array(ex.average_reward(mdp, pol))
        out[f"{name}/J1"] = np.array(ex.average_reward(mdp, pol, agent=1))
        out[f"{name}/Q"] = ex.q_function(mdp, pol, S, A)
        out[f"{name}/Q_agent0"] = ex.q_function(mdp, pol, S, A, agent=0)
        out[f"{name}/Q_gamma"] = ex.q_function(mdp, pol, S, A, gamma=0.9)
        out[f"{name}/V_gamma"] = ex.state_values(mdp, pol, gamma=0.8)
        for k, g in enumerate(ex.policy_gradient(mdp, pol)):
            out[f"{name}/grad/{k}"] = np.asarray(g)
        for k, g in enumerate(ex.policy_gradient(mdp, pol, gamma=0.9)):
            out[f"{name}/grad_gamma/{k}"] = np.asarray(g)
        out[f"{name}/visitation"] = ex.discounted_visitation(mdp, pol, 0.9)
        out[f"{name}/occupancy"] = np.asarray(ex.discounted_occupancy(mdp, pol, 0.9))
        out[f"{name}/C"] = ex.interaction_matrix(mdp)
        out[f"{name}/q_table0"] = np.asarray(ex.q_table(mdp, pol, 0, evaluation=ev))
        for kappa in (0, 1):
            for weights in ("uniform", "stationary"):
                out[f"{name}/truncated_q/{kappa}/{weights}"] = np.asarray(
                    ex.truncated_q(mdp, pol, 0, kappa, weights, evaluation=ev))
            for k, g in enumerate(ex.truncated_gradient(mdp, pol, 0, kappa, evaluation=ev)):
                out[f"{name}/truncated_gradient/{kappa}/{k}"] = np.asarray(g)
        prof = ex.decay_profile(mdp, pol, 0, [0, 1, 2], evaluation=ev)
        out[f"{name}/decay_sup"] = np.asarray(prof.values, dtype=float)
        prof = ex.decay_profile(mdp, pol, 0, [0, 1], method="sampled", n_samples=5, rng=3, evaluation=ev)
        out[f"{name}/decay_sampled"] = np.asarray(prof.values, dtype=float)
        out[f"{name}/marginals"] = np.asarray(ex.agent_marginals(mdp, pol, 0, S[:3], A[:3], 4))
        if mdp.transition_form == "local" and mdp.reward_form == "local":
            Qhat, eq = ex.critic_fixed_point(mdp, pol, 0, 1, evaluation=ev, full_output=True)
            out[f"{name}/critic"] = np.asarray(Qhat, dtype=float)
            out[f"{name}/critic_M"] = np.asarray(eq.M, dtype=float)
            erg = ex.ergodicity_constants(mdp, pol, evaluation=ev)
            out[f"{name}/ergodicity"] = np.array([erg.sigma, erg.mu_D])
    net = envs.WirelessNetwork(1, 3, d=2, seed=0)
    chain = net.policy_chain(net.aloha_policy(0.4))
    out["wireless1x3/chain_P"] = np.asarray(chain.P, dtype=float)
    out["wireless1x3/chain_R"] = np.asarray(chain.R, dtype=float)
    return out


def load_rows():
    with gzip.open(ROWS_FILE, "rt") as f:
        return json.load(f)


def load_exact():
    with np.load(EXACT_FILE) as z:
        return {k: z[k] for k in z.files}


def record():
    from threadpoolctl import threadpool_limits

    import scipy.linalg  # noqa: F401  (load scipy's BLAS before pinning it)

    with threadpool_limits(limits=1):
        rows = qu2020_rows()
        exact = exact_quantities()
    with gzip.open(ROWS_FILE, "wt") as f:
        json.dump(rows, f, allow_nan=True, sort_keys=True)
    np.savez_compressed(EXACT_FILE, **exact)
    from netmarl_verify.verify import versions

    META_FILE.write_text(json.dumps({"blas": blas_fingerprint(), "versions": versions()}, indent=1) + "\n")
    print(f"wrote {ROWS_FILE} ({sum(len(v) for v in rows.values())} rows) and {EXACT_FILE} ({len(exact)} arrays)")


if __name__ == "__main__":
    record()
