r"""qu2020 App. C-D: the lemmas behind Theorems 2 and 3 (Lemma 1 of §2.1 too), every constant as printed.

All lemmas here are about the **state-action chain** :math:`z = (s, a)`,
:math:`P^\theta(z,z') = P(s'|s,a)\zeta^\theta(a'|s')`, stationary law :math:`\pi^\theta`,
:math:`\sigma = \min_z\pi^\theta(z)`, :math:`\mu_D = \|P^\theta - \mathbf 1(\pi^\theta)^\top\|_{D^\theta}`
(Assumption 4, measured per policy by :func:`~netmarl_verify.solvers.exact.ergodicity_constants`),
:math:`c_\infty = \sqrt{|Z|/\sigma}`. Exact quantities: :mod:`netmarl_verify.solvers.exact`
(``state_action_chain``, ``l1_contraction``, ``critic_averaged_system``, ``critic_mixing_constants``,
``policy_gradient``, ``q_table``).

My reading of the (garbled) text
--------------------------------
``qu2020.lemma1``  Lemma 1 (Sutton et al. 2000): :math:`\nabla_\theta J = E_{(s,a)\sim\pi^\theta}
                   Q^\theta(s,a)\nabla_\theta\log\zeta^\theta(a|s)`, :math:`Q^\theta = \frac1n\sum_i Q_i^\theta`
                   the differential Q of eq. (3). Checked coordinate-wise against Richardson-extrapolated
                   central differences of the exact :math:`J` (step h = 1e-3 and h/2; error
                   :math:`O(h^4)`): identity up to ``LEMMA1_TOL``.
``qu2020.lemma6``  Lemma 6: for :math:`\mathbf 1^\top d = 0`, :math:`\|((P^\theta)^\top)^t d\|_1 \le
                   c_\infty\mu_D^t\|d\|_1`, :math:`c_\infty = \sqrt{|Z|/\sigma}`. The left side is taken in
                   the worst direction, exactly (vertex argument: :func:`~solvers.exact.l1_contraction`:
                   the sup over :math:`d` is :math:`\max_{x,y}\mathrm{TV}(P^t(x,\cdot), P^t(y,\cdot))`).
                   **Finding (proof):** the printed proof bounds :math:`\|(P^\top)^t d\|_{D}` by
                   :math:`\|[P - \mathbf 1\pi^\top]^\top\|_D^t\|d\|_D` and then uses :math:`\mu_D`; but
                   :math:`\|X^\top\|_D \ne \|X\|_D` unless the chain is reversible, and on the instances
                   here :math:`\|(P - \mathbf 1\pi^\top)^\top\|_D` is 6.9 (line n=3) and 4.2 (line n=4) —
                   the step as printed gives nothing. The statement survives, with a better constant, by
                   duality in the :math:`D^{-1}` norm: :math:`\|X^\top v\|_{D^{-1}} \le \|X\|_D\|v\|_{D^{-1}}`
                   and :math:`\|d\|_1 \le \|d\|_{D^{-1}} \le \|d\|_1/\sqrt\sigma`, so
                   :math:`\|(P^\top)^t d\|_1 \le \mu_D^t\|d\|_1/\sqrt\sigma` (recorded as
                   ``extra.ratio_dual``, :math:`c = 1/\sqrt\sigma \le c_\infty`).
``qu2020.lemma7``  Lemma 7, with :math:`c' = 1/(\sigma\sqrt{1-\mu_D})` (the value Lemma 9 fixes),
                   :math:`G_{\max} = 2 + 1/c'`, :math:`h_{\max} = \max(c',1)\bar r`, norms = max row sums:
                   (a) :math:`\|\tilde G_i(z,z')\|_\infty \le G_{\max}`, :math:`\|h_i(z)\|_\infty \le h_{\max}`,
                   :math:`\|G_i^\theta(z)\|_\infty, \|\bar G_i(\theta)\|_\infty \le G_{\max}`,
                   :math:`\|\bar h_i(\theta)\|_\infty \le h_{\max}`; (b) for every t,
                   :math:`\|E[G_i^\theta(z(t)) - \bar G_i \mid z(0)=z]\|_\infty \le 2G_{\max}c_\infty\mu_D^t`,
                   the same for :math:`h_i` with :math:`h_{\max}`, and :math:`\|\hat G_i^\theta(z)\|_\infty \le
                   2G_{\max}c_\infty/(1-\mu_D)`, :math:`\|\hat h_i^\theta(z)\|_\infty \le 2h_{\max}c_\infty/(1-\mu_D)`
                   (sup over z).
``qu2020.lemma9``  Lemma 9: with :math:`c' = 1/(\sigma\sqrt{1-\mu_D})`, :math:`x^\top\bar G_i(\theta)x \ge
                   \frac12(1-\mu_D)\sigma^2\|x\|^2`, i.e. :math:`\lambda_{\min}` of the symmetric part
                   :math:`\ge \frac12(1-\mu_D)\sigma^2` (the proof gives :math:`\min(\frac12,
                   \frac12(1-\mu_D)\sigma^2)`, the same since :math:`\sigma < 1`). Checked as
                   :math:`-\lambda_{\min} \le -\frac12(1-\mu_D)\sigma^2`.
``qu2020.lemma10`` Lemma 10: the solution of :math:`\bar h_i - \bar G_i x = 0` has
                   :math:`\hat\mu_i^\theta = J_i(\theta)` (identity), and (21)
                   :math:`\min_c\|\Phi_i\hat Q_i^\theta + c\mathbf 1 - Q_i^\theta\|_{D^\theta} \le
                   c\rho^{\kappa+1}/(1-\mu_D)` with Theorem 1's :math:`(c,\rho) = (\bar r/(1-\rho), \rho)` —
                   the same inequality as Theorem 3(a) (``qu2020.thm3a``), here with
                   :math:`\hat Q_i^\theta` from the :math:`(1+|\hat Z_N|)` system of App. C.2 rather than
                   from :func:`~solvers.exact.critic_fixed_point`'s reduced one.
``qu2020.lemma11`` Lemma 11: :math:`\|Q_i^\theta\|_\infty \le Q_{\max} = 2c_\infty\bar r/(1-\mu_D)`,
                   :math:`\|\nabla_{\theta_i}J\| \le L_iQ_{\max}`, :math:`\|\nabla J\| \le LQ_{\max}` with the
                   uniform softmax :math:`L_i = \sqrt2`, :math:`L = \sqrt{2n}` (as in ``qu2020.thm2``).

Search spaces (``netmarl-verify search``): the families of the fixed instances, every point a valid instance
(:func:`_search_spaces`): ``random`` (App. B.4 line, length and seed; Lemmas 1 and 15 also A in {2, 3}),
``coupled`` (path/cycle, strength, seed) and ``copy-chain`` (length, rho, policy seed; not for Lemmas 1, 10, 15).

``qu2020.lemma15`` Lemma 15 (App. D.1): :math:`F^\theta(\hat Q, z) = \langle\nabla_{\theta_i}J(\theta),
                   \Gamma(\hat Q)\nabla_{\theta_i}\log\zeta_i(a_i|s_i)\frac1n\sum_{j\in N_i^\kappa}\hat Q_j(z_{N_j^\kappa})
                   \rangle`, :math:`\Gamma(\hat Q) = 1/(1+\max_j\|\hat Q_j\|_\infty)`, and :math:`\hat F^\theta` its
                   Poisson solution (29), :math:`\hat F = \sum_t(P^t - \mathbf 1\pi^\top)F
                   = [(I - P + \mathbf 1\pi^\top)^{-1} - \mathbf 1\pi^\top]F`. (It is the actor's error term, not a
                   critic map.) The proof's constants: :math:`|F| \le C'_F = L_i^2Q_{\max}`,
                   :math:`|\hat F| \le C_F = \frac{2c_\infty}{1-\mu_D}C'_F`; Lipschitz in :math:`\hat Q` w.r.t.
                   :math:`\sum_j\|\hat Q_j - \hat Q'_j\|_\infty`: :math:`L'_{Q,F} = L_i^2Q_{\max}(1 + \frac1n)` for F and
                   :math:`L_{Q,F} = \frac{2c_\infty}{1-\mu_D}L'_{Q,F}` for :math:`\hat F`; :math:`L_{\theta,F}` only
                   exists ("for some"), so it is not checked. **Exact suprema.** Both maps are
                   :math:`\Gamma(\hat Q)\,a(z)\cdot\hat Q` with :math:`a(z)` linear coefficients (per block j and
                   cell u of :math:`z_{N_j^\kappa}`), so :math:`\sup_{\hat Q}|\hat F(\hat Q, z)| = \|a(z)\|_1`
                   (:math:`\frac m{1+m}\|a\|_1` at the vertex :math:`\hat Q = m\,\mathrm{sign}(a)`, the sup of a linear
                   form over the box of radius m), and the Lipschitz constant of
                   :math:`x \mapsto a\cdot x/(1+\|x\|_\infty)` w.r.t. :math:`\sum_j\|x_j\|_\infty` is
                   :math:`\max_{j}h(B_j, \|a\|_1 - 2\min_{k\in j}|a_k|)`, :math:`B_j = \|a_j\|_1`,
                   :math:`h(B, X) = B` if :math:`X \le B` else :math:`(X+B)^2/(4X)` (the supremum of the gradient's
                   dual norm, :func:`_lipschitz_of_rescaled_linear`; blocks of agents outside :math:`N_i^\kappa` are
                   zero and enter through :math:`\Gamma` only).
"""

import math

import networkx as nx
import numpy as np
import sympy
from threadpoolctl import threadpool_limits

from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    critic_averaged_system,
    critic_mixing_constants,
    ergodicity_constants,
    evaluate_policy,
    l1_contraction,
    objective,
    policy_gradient,
    q_table,
    state_action_chain,
)
from netmarl_verify.verify import (
    Choice,
    Claim,
    Fault,
    Instance,
    Integer,
    LinesFigure,
    Measurement,
    Real,
    SearchSpace,
    Series,
    claim_factory,
    register,
)

from ._common import (
    COPY_CHAIN,
    COUPLED,
    PAPER,
    PAPER_FILE,
    RANDOM,
    assumption4,
    instance_seed,
    kappa,
    nonnegative_rewards,
    rbar,
    rho,
    theorem1_constants,
    theorem1_gives_assumption2,
)

__all__ = ["LEMMA1_TOL", "LEMMA6_BOUND", "LEMMA9_BOUND", "LEMMA11_QMAX", "make_claims"]

mu_D, sigma, nZ, t_sym, L_sym, c_inf = sympy.symbols("mu_D sigma Z t L c_infty", positive=True)
RBAR = rbar.name
#: c_inf of Lemma 6.
C_INF = sympy.sqrt(nZ / sigma)
#: Lemma 6: c_inf mu_D^t (times ||d||_1 = 1).
LEMMA6_BOUND = C_INF * mu_D ** t_sym
#: c' of Lemma 9 (used in Lemmas 7, 9, 10).
C_PRIME = 1 / (sigma * sympy.sqrt(1 - mu_D))
#: Lemma 9: the smallest eigenvalue of the symmetric part of G-bar is at least this.
LEMMA9_BOUND = sympy.Rational(1, 2) * (1 - mu_D) * sigma ** 2
#: Lemma 11: Q_max.
LEMMA11_QMAX = 2 * C_INF * rbar / (1 - mu_D)
#: Lemma 7.
G_MAX = 2 + 1 / C_PRIME
H_MAX = sympy.Max(C_PRIME, 1) * rbar
#: Lemma 10 (21) = Theorem 3(a).
LEMMA10_BOUND = rbar / (1 - rho) * rho ** (kappa + 1) / (1 - mu_D)
#: Lemma 1: |Lemma 1's right side - Richardson central differences| per coordinate.
LEMMA1_TOL = 1e-8
LEMMA1_STEP = 1e-3
SOFTMAX_L_I = math.sqrt(2.0)


# ============================================================================ instances
def _line(n, seed, S=2, A=2):
    name = f"qu2020_line n={n} S={S} A={A}"
    mdp, pol = envs.qu2020_line(n, rng=np.random.default_rng(instance_seed(seed, name)), state_size=S,
                                action_size=A)
    return Instance(name=name, params={"n": n, "S": S, "A": A}, payload={"mdp": mdp, "policy": pol},
                    size=float(mdp.n_states * mdp.n_actions), family=RANDOM)


def _coupled(n, strength, seed):
    name = f"coupled path n={n} strength={strength}"
    rng = np.random.default_rng(instance_seed(seed, name))
    mdp = envs.coupled_networked_mdp(nx.path_graph(n), strength, 2, 2, rng=rng)
    pol = envs.LocalSoftmaxPolicy.random(mdp, rng)
    return Instance(name=name, params={"n": n, "S": 2, "A": 2, "strength": strength},
                    payload={"mdp": mdp, "policy": pol}, size=float(mdp.n_states * mdp.n_actions), family=COUPLED)


def _copy_chain(n, r):
    name = f"copy chain n={n} rho={r}"
    mdp = envs.copy_chain_mdp(n, r)
    pol = envs.LocalSoftmaxPolicy.random(mdp, 0)
    return Instance(name=name, params={"n": n, "rho": r}, payload={"mdp": mdp, "policy": pol},
                    size=float(mdp.n_states * mdp.n_actions), family=COPY_CHAIN)


# ============================================================================ search spaces
#: Largest seed of the random part of a searched instance.
SEARCH_SEED_MAX = 2**31 - 1


def _searched(mdp, pol, family):
    return Instance(name="", payload={"mdp": mdp, "policy": pol}, size=float(mdp.n_states * mdp.n_actions),
                    family=family)


def _search_spaces(max_n=4, actions=(2,), copy_chain=True, random=True, coupled=True):
    """Search spaces of the appendix claims (``netmarl-verify search``; :mod:`netmarl_verify.verify._search`).

    The three families the fixed instances come from, each point a valid instance built from its parameters
    alone: ``random`` (:func:`envs.qu2020_line`, App. B.4 kernels: length, local action count, seed of the
    kernels and policy), ``coupled`` (:func:`envs.coupled_networked_mdp` on a path or cycle: coupling
    strength, seed) and ``copy-chain`` (:func:`envs.copy_chain_mdp`: length, rho, seed of the policy). S = 2.
    """
    seed = Integer(0, SEARCH_SEED_MAX)
    acts = {"A": Choice(tuple(actions))} if len(actions) > 1 else {}

    def build_random(p):
        mdp, pol = envs.qu2020_line(p["n"], rng=np.random.default_rng(p["seed"]), state_size=2,
                                    action_size=p.get("A", actions[0]))
        return _searched(mdp, pol, RANDOM)

    def build_coupled(p):
        graph = (nx.path_graph if p["graph"] == "path" else nx.cycle_graph)(p["n"])
        rng = np.random.default_rng(p["seed"])
        mdp = envs.coupled_networked_mdp(graph, p["strength"], 2, 2, rng=rng)
        return _searched(mdp, envs.LocalSoftmaxPolicy.random(mdp, rng), COUPLED)

    def build_chain(p):
        mdp = envs.copy_chain_mdp(p["n"], p["rho"])
        return _searched(mdp, envs.LocalSoftmaxPolicy.random(mdp, p["seed"]), COPY_CHAIN)

    spaces = []
    if random:
        spaces.append(SearchSpace(RANDOM, {"n": Integer(2, max_n), **acts, "seed": seed}, build_random,
                                  f"App. B.4 random line, S = 2, A in {list(actions)}: length, seed"))
    if coupled:
        spaces.append(SearchSpace(COUPLED, {"graph": Choice(("path", "cycle")), "n": Integer(3, max_n),
                                            "strength": Real(0.01, 1.0), "seed": seed}, build_coupled,
                                  "coupled path/cycle, S = A = 2: coupling strength, seed of the kernels and policy"))
    if copy_chain:
        spaces.append(SearchSpace(COPY_CHAIN, {"n": Integer(2, max_n), "rho": Real(0.05, 0.95), "seed": seed},
                                  build_chain, "copy chain (one action): length, rho, seed of the policy"))
    return tuple(spaces)


def _basic_instances(quick, seed, big=True):
    yield _line(2, seed)
    yield _line(3, seed)
    if not quick:
        yield _coupled(3, 0.3, seed)
        if big:
            yield _line(4, seed)
    yield _copy_chain(3, 0.5)


def _ctx(inst):
    """Evaluation, dense chain and Assumption 4's constants, cached in the payload."""
    p = inst.payload
    if "_ev" not in p:
        with threadpool_limits(limits=1):
            p["_ev"] = evaluate_policy(p["mdp"], p["policy"])
            p["_chain"] = state_action_chain(p["mdp"], p["policy"], evaluation=p["_ev"])
            p["_erg"] = ergodicity_constants(p["mdp"], p["policy"], evaluation=p["_ev"])
    return p["_ev"], p["_chain"], p["_erg"]


def _a4(inst):
    _, _, erg = _ctx(inst)
    return assumption4(erg.sigma, erg.mu_D, "state-action chain z = (s, a) of the instance's policy")


def _a4_rewards(inst):
    return [*_a4(inst), nonnegative_rewards(inst.payload["mdp"])]


def _consts(inst, rbar_scale=1.0):
    _, ch, erg = _ctx(inst)
    return {"sigma": erg.sigma, "mu_D": erg.mu_D, "Z": ch.n_pairs, RBAR: inst.payload["mdp"].reward_bound * rbar_scale}


# ============================================================================ Lemma 1
def _lemma1_instances(quick, seed):
    yield _line(2, seed)
    yield _line(3, seed)
    if not quick:
        yield _line(4, seed)
        yield _line(3, seed, S=2, A=3)
        yield _coupled(3, 0.3, seed)


def _lemma1_measure(inst, rng, quick, gradient_fn=None):
    mdp, pol = inst.payload["mdp"], inst.payload["policy"]
    with threadpool_limits(limits=1):
        g = policy_gradient(mdp, pol) if gradient_fn is None else gradient_fn(mdp, pol)
        g = np.concatenate([np.asarray(x).ravel() for x in g])
        theta = pol.flat()
        h = LEMMA1_STEP

        def D(k, step):
            e = np.zeros_like(theta)
            e[k] = step
            return (objective(mdp, pol.with_flat(theta + e)) - objective(mdp, pol.with_flat(theta - e))) / (2 * step)

        fd = np.empty(theta.size)
        est = np.empty(theta.size)
        for k in range(theta.size):
            d1, d2 = D(k, h), D(k, h / 2)
            fd[k] = (4 * d2 - d1) / 3
            est[k] = abs(d2 - d1)
    err = np.abs(g - fd)
    k = int(np.argmax(err))
    yield Measurement(measured=float(err.max()), bound=LEMMA1_TOL, point={"check": "max_k |grad_k - FD_k|"},
                      extra={"worst_coordinate": k, "grad_norm": float(np.linalg.norm(g)),
                             "n_params": int(theta.size), "fd_step": h,
                             "central_difference_change": float(est.max()),
                             "relative_error": float(err.max() / max(np.abs(fd).max(), 1e-300))})


# ============================================================================ Lemma 6
LEMMA6_TS = 16
#: t stops where c_inf mu_D^t falls below this: the TV of two rows of P^t computed in double precision
#: bottoms out at ~4e-16 (measured on the coupled path, mu_D = 0.17), so smaller bounds check rounding.
LEMMA6_FLOOR = 1e-12


def _lemma6_measure(inst, rng, quick, c_scale=1.0):
    _, ch, erg = _ctx(inst)
    ts = [t for t in range(LEMMA6_TS if quick else 2 * LEMMA6_TS)
          if ch.c_inf * c_scale * erg.mu_D ** t >= LEMMA6_FLOOR]
    ratios, pairs = l1_contraction(ch.P, ts)
    for t, r, (x, y) in zip(ts, ratios, pairs):
        values = {"sigma": erg.sigma / c_scale ** 2, "mu_D": erg.mu_D, "Z": ch.n_pairs, "t": t}
        dual = erg.mu_D ** t / math.sqrt(erg.sigma)
        yield Measurement(measured=float(r), values=values, point={"t": t},
                          extra={"worst_pair": [x, y], "mu_D_transpose": ch.mu_D_transpose,
                                 "c_inf": ch.c_inf, "bound_dual": dual,
                                 "ratio_dual": float(r / dual) if dual > 0 else float("nan")})


def _lemma6_figure(rows):
    specs = []
    for name in rows["instance"].unique():
        specs.append(LinesFigure(
            f"Lemma 6: worst-direction contraction, {name}",
            Series(r"$\max_{1^\top d=0}\|((P^\theta)^\top)^t d\|_1/\|d\|_1$ (exact)", "measured"),
            x="point.t", where={"instance": name},
            bounds=[Series(r"Lemma 6: $c_\infty\mu_D^t$", "bound"),
                    Series(r"$\mu_D^t/\sqrt{\sigma}$ ($D^{-1}$-norm duality)", "extra.bound_dual")],
            log_y=True, integer_x=True, xlabel="t", ylabel="ratio", band=None))
    return specs


# ============================================================================ Lemma 7
#: (b)'s mixing rows stop where 2 c_inf mu_D^t falls below this. The mixing terms are differences of
#: exact expectations computed in double precision and bottom out at ~1e-15 relative to G_max and h_max
#: (measured on a coupled cycle, n = 3, strength 0.07, mu_D ~ 0.03: 1.3e-15 for G, 3e-12 with h_max ~ 2000),
#: so below it the rows compare rounding with a smaller number (the search found such "violations").
LEMMA7_FLOOR = 1e-12
def _c_prime(erg):
    return 1.0 / (erg.sigma * math.sqrt(1.0 - erg.mu_D))


def _lemma7_measure(inst, rng, quick, gmax_scale=1.0):
    mdp, pol = inst.payload["mdp"], inst.payload["policy"]
    ev, ch, erg = _ctx(inst)
    if not erg.mu_D < 1:
        return
    cp = _c_prime(erg)
    rb = mdp.reward_bound
    Gmax = (2 + 1 / cp) * gmax_scale
    hmax = max(cp, 1.0) * rb
    ts = range(8 if quick else 16)
    with threadpool_limits(limits=1):
        for i in range(mdp.n):
            for k in range(min(2, int(mdp.distances[i].max()) + 1)):
                m = critic_mixing_constants(mdp, pol, i, k, cp, ts, evaluation=ev, chain=ch)
                base = {"sigma": erg.sigma, "mu_D": erg.mu_D, "Z": ch.n_pairs, RBAR: rb, "c_prime": cp,
                        "G_max": Gmax, "h_max": hmax}
                pt = {"i": i, "kappa": k}
                for name, val, b in (("(a) max ||G~_i(z,z')||", m.G_tilde_max, Gmax),
                                     ("(a) max ||h_i(z)||", m.h_max, hmax),
                                     ("(a) max ||G_i^theta(z)||", m.G_theta_max, Gmax),
                                     ("(a) ||G-bar_i||", m.G_bar_norm, Gmax),
                                     ("(a) ||h-bar_i||", m.h_bar_norm, hmax),
                                     ("(b) max ||G-hat_i(z)||", m.G_hat_max, 2 * Gmax * ch.c_inf / (1 - erg.mu_D)),
                                     ("(b) max ||h-hat_i(z)||", m.h_hat_max, 2 * hmax * ch.c_inf / (1 - erg.mu_D))):
                    yield Measurement(measured=val, bound=b, values=base, point={**pt, "check": name, "t": -1})
                for t, g, hh in zip(m.ts, m.G_mixing, m.h_mixing):
                    decay = 2 * ch.c_inf * erg.mu_D ** int(t)
                    if decay < LEMMA7_FLOOR:  # the bound is below the rounding of the measured mixing term
                        break
                    yield Measurement(measured=float(g), bound=Gmax * decay, values={**base, "t": int(t)},
                                      point={**pt, "check": "(b) G mixing", "t": int(t)})
                    yield Measurement(measured=float(hh), bound=hmax * decay, values={**base, "t": int(t)},
                                      point={**pt, "check": "(b) h mixing", "t": int(t)})


# ============================================================================ Lemma 9
def _lemma9_measure(inst, rng, quick, c_prime_scale=1.0, bound_scale=1.0):
    mdp, pol = inst.payload["mdp"], inst.payload["policy"]
    ev, ch, erg = _ctx(inst)
    if not erg.mu_D < 1:
        return
    cp = _c_prime(erg) * c_prime_scale
    with threadpool_limits(limits=1):
        for i in range(mdp.n):
            for k in range(int(mdp.distances[i].max()) + 1):
                s = critic_averaged_system(mdp, pol, i, k, cp, evaluation=ev)
                lam = s.symmetric_part_min_eig
                b = 0.5 * (1 - erg.mu_D) * erg.sigma ** 2 * bound_scale
                yield Measurement(measured=-lam, bound=-b, values={"sigma": erg.sigma, "mu_D": erg.mu_D},
                                  point={"i": i, "kappa": k},
                                  extra={"lambda_min": lam, "bound_lower": b, "c_prime": cp,
                                         "lower_ratio": lam / b, "dim": int(s.G_bar.shape[0])})


# ============================================================================ Lemma 10
def _lemma10_instances(quick, seed):
    yield _coupled(3, 0.3, seed)
    if not quick:
        yield _coupled(4, 0.15, seed)
        yield _coupled(3, 0.15, seed)
        yield _line(3, seed)  # Theorem 1's condition fails: (21) not applicable, the identity still checked


def _lemma10_assumptions(inst):
    r, sums = theorem1_constants(inst)
    return [*_a4_rewards(inst)]  # Theorem 1's condition is attached to the (21) rows only


def _lemma10_measure(inst, rng, quick, c_scale=1.0, compare_global_J=False, J_scale=1.0):
    mdp, pol = inst.payload["mdp"], inst.payload["policy"]
    ev, ch, erg = _ctx(inst)
    if not erg.mu_D < 1:
        return
    r, sums = theorem1_constants(inst)
    thm1 = theorem1_gives_assumption2(r, sums)
    cp = _c_prime(erg)
    n = mdp.n
    pi_full = ch.pi.reshape(mdp.state_sizes + mdp.action_sizes)
    with threadpool_limits(limits=1):
        for i in range(n):
            Q = q_table(mdp, pol, i, evaluation=ev)
            for k in range(int(mdp.distances[i].max())):
                s = critic_averaged_system(mdp, pol, i, k, cp, evaluation=ev)
                J = (ev.J if compare_global_J else float(ev.J_local[i])) * J_scale
                yield Measurement(measured=abs(s.mu_hat - J), bound=1e-10 * max(1.0, abs(J)),
                                  point={"i": i, "kappa": k, "check": "mu-hat = J_i"},
                                  extra={"mu_hat": s.mu_hat, "J_i": float(ev.J_local[i]), "residual": s.residual})
                N = list(mdp.kappa_hop(i, k))
                shape = [1] * (2 * n)
                for j in N:
                    shape[j], shape[n + j] = mdp.state_sizes[j], mdp.action_sizes[j]
                diff = Q - s.table.reshape(shape)
                c = float((pi_full * diff).sum())
                err = math.sqrt(max(float((pi_full * (diff - c) ** 2).sum()), 0.0))
                yield Measurement(measured=err,
                                  values={RBAR: mdp.reward_bound * c_scale, "rho": r, "kappa": k, "mu_D": erg.mu_D},
                                  point={"i": i, "kappa": k, "check": "(21)"}, extra={"best_c": c},
                                  assumptions=[thm1])


# ============================================================================ Lemma 11
def _lemma11_measure(inst, rng, quick, rbar_scale=1.0):
    mdp, pol = inst.payload["mdp"], inst.payload["policy"]
    ev, ch, erg = _ctx(inst)
    values = _consts(inst, rbar_scale)
    with threadpool_limits(limits=1):
        qmax = float(2 * ch.c_inf * values[RBAR] / (1 - erg.mu_D)) if erg.mu_D < 1 else math.inf
        for i in range(mdp.n):
            Q = q_table(mdp, pol, i, evaluation=ev)
            yield Measurement(measured=float(np.abs(Q).max()), values=values, point={"i": i, "check": "||Q_i||_inf"})
        g = policy_gradient(mdp, pol, evaluation=ev)
        for i in range(mdp.n):
            yield Measurement(measured=float(np.linalg.norm(g[i])), bound=SOFTMAX_L_I * qmax,
                              values={**values, "L": SOFTMAX_L_I}, point={"i": i, "check": "||grad_i J||"})
        L = SOFTMAX_L_I * math.sqrt(mdp.n)
        yield Measurement(measured=float(math.sqrt(sum(float((x ** 2).sum()) for x in g))), bound=L * qmax,
                          values={**values, "L": L}, point={"i": -1, "check": "||grad J||"})


# ============================================================================ Lemma 15
#: Lemma 15 (proof, App. D.1): C'_F = L_i^2 Q_max bounds |F|; C_F = 2 c_inf/(1-mu_D) C'_F bounds |F-hat|;
#: L'_{Q,F} = L_i^2 Q_max (1 + 1/n) and L_{Q,F} = 2 c_inf/(1-mu_D) L'_{Q,F} are the Lipschitz constants in Q-hat.
n_sym = sympy.Symbol("n", positive=True)
POISSON_FACTOR = 2 * C_INF / (1 - mu_D)
LEMMA15_CF_PRIME = L_sym ** 2 * LEMMA11_QMAX
LEMMA15_CF = POISSON_FACTOR * LEMMA15_CF_PRIME
LEMMA15_LQF_PRIME = L_sym ** 2 * LEMMA11_QMAX * (1 + 1 / n_sym)
LEMMA15_LQF = POISSON_FACTOR * LEMMA15_LQF_PRIME
#: Magnitude of the vertex Q-hat used to cross-check the exact supremum by a direct evaluation.
LEMMA15_VERTEX_M = 1e6
#: Random pairs (Q-hat, Q-hat') per (agent, kappa) for the sampled Lipschitz quotient (a lower bound).
LEMMA15_PAIRS = 8


def _lipschitz_of_rescaled_linear(blocks, n_blocks):
    r"""Exact Lipschitz constant of :math:`f(x) = (a\cdot x)/(1 + \|x\|_\infty)` w.r.t. :math:`\sum_j\|x_j\|_\infty`.

    `blocks` holds the coefficients :math:`a` per block ``j`` (arrays ``(|Z|, cells_j)``, one row per z),
    `n_blocks` the number of blocks of x (blocks beyond ``len(blocks)`` have zero coefficients). Where the
    largest |entry| of x is unique, at entry k of block j, with :math:`m = \|x\|_\infty`,
    :math:`\beta = m/(1+m)`, the gradient's dual norm (max over blocks of the block's l1 norm) is at most
    :math:`(1-\beta)(B_j + \beta(\|a\|_1 - 2|a_k|))` (:math:`B_j = \|a_j\|_1`), approached when the other
    entries align with sign(a); the other blocks give :math:`(1-\beta)B_{j'}`. Maximising over
    :math:`\beta\in[0,1)`: :math:`B` if :math:`X \le B`, else :math:`(X+B)^2/(4X)`, :math:`X = \|a\|_1 - 2|a_k|`.
    The Lipschitz constant of a Lipschitz function is the supremum of the gradient's dual norm on
    this open set of full measure. Returns the constant per z.
    """
    absb = [np.abs(b) for b in blocks]
    norm1 = sum(b.sum(axis=1) for b in absb)
    best = np.zeros_like(norm1)
    for b in absb:
        B = b.sum(axis=1)
        X = norm1 - 2 * b.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(X > B, (X + B) ** 2 / (4 * np.where(X > 0, X, 1.0)), B)
        best = np.maximum(best, h)
    if n_blocks > len(blocks):  # a block of zero coefficients: B = 0, X = ||a||_1
        best = np.maximum(best, norm1 / 4)
    return best, norm1


def _lemma15_measure(inst, rng, quick, const_scale=1.0):
    mdp, pol = inst.payload["mdp"], inst.payload["policy"]
    ev, ch, erg = _ctx(inst)
    if not erg.mu_D < 1:
        return
    n = mdp.n
    nZ = ch.n_pairs
    rb = mdp.reward_bound
    qmax = 2 * ch.c_inf * rb / (1 - erg.mu_D)
    poisson = 2 * ch.c_inf / (1 - erg.mu_D)
    Li2 = SOFTMAX_L_I ** 2
    consts = {"sigma": erg.sigma, "mu_D": erg.mu_D, "Z": nZ, RBAR: rb, "L": SOFTMAX_L_I, "n": n}
    bounds = {"CF'": Li2 * qmax * const_scale, "CF": poisson * Li2 * qmax * const_scale,
              "LQF'": Li2 * qmax * (1 + 1 / n) * const_scale, "LQF": poisson * Li2 * qmax * (1 + 1 / n) * const_scale}
    probs = pol.probabilities()
    with threadpool_limits(limits=1):
        grad = policy_gradient(mdp, pol, evaluation=ev)
        Pi = np.tile(ch.pi, (nZ, 1))
        # sum_t (P^t - 1 pi^T) = (I - P + 1 pi^T)^{-1} - 1 pi^T: F-hat = M F, pi^T F-hat = 0
        M = np.linalg.inv(np.eye(nZ) - ch.P + Pi) - Pi
        st, ac = ch.states, ch.actions
        for i in range(n):
            g = np.asarray(grad[i])
            si, ai = st[:, i], ac[:, i]
            # c(z) = <grad_i J, grad log zeta_i(a_i|s_i)> = g[s_i, a_i] - sum_b zeta_i(b|s_i) g[s_i, b]
            c = g[si, ai] - (probs[i][si] * g[si]).sum(axis=1)
            score_norm = float(np.sqrt(((np.eye(mdp.action_sizes[i])[ai] - probs[i][si]) ** 2).sum(axis=1)).max())
            for k in range(min(2, int(mdp.distances[i].max()) + 1)):
                N = list(mdp.kappa_hop(i, k))
                onehots = []
                for j in N:
                    Nj = list(mdp.kappa_hop(j, k))
                    _, cell = np.unique(np.concatenate([st[:, Nj], ac[:, Nj]], axis=1), axis=0, return_inverse=True)
                    onehots.append(np.eye(int(cell.max()) + 1)[cell.ravel()])
                # F(Q-hat, z') = Gamma(Q-hat) sum_j sum_u aF_j[z', u] Q-hat_j(u), aF_j = c(z') 1{cell_j(z') = u} / n
                aF = [c[:, None] * oh / n for oh in onehots]
                # F-hat(Q-hat, z) = Gamma(Q-hat) sum_j sum_u A_j[z, u] Q-hat_j(u), A_j = M aF_j
                A = [M @ a for a in aF]
                lipF, supF = _lipschitz_of_rescaled_linear(aF, n)
                lipH, supH = _lipschitz_of_rescaled_linear(A, n)
                zH, zL = int(np.argmax(supH)), int(np.argmax(lipH))
                # second route: F-hat at the vertex Q-hat_j(u) = m sign(A_j[zH, u]) by a least-squares Poisson
                # solve (I - P) x = F - pi^T F, pi^T x = 0, vs the exact supremum times m/(1+m)
                m = LEMMA15_VERTEX_M
                Qv = [m * np.sign(a[zH]) for a in A]
                gam = 1.0 / (1.0 + m)
                F = gam * sum(a @ q for a, q in zip(aF, Qv))
                sysm = np.vstack([np.eye(nZ) - ch.P, ch.pi[None, :]])
                x = np.linalg.lstsq(sysm, np.concatenate([F - ch.pi @ F, [0.0]]), rcond=None)[0]
                expect = float(supH[zH]) * m / (1 + m)
                vertex_err = abs(abs(float(x[zH])) - expect) / max(expect, 1e-300)
                # sampled Lipschitz quotient (a lower bound on the exact constant)
                sampled = _sampled_lipschitz(A, [oh.shape[1] for oh in onehots], rng)
                pt = {"i": i, "kappa": k}
                ex = {"grad_i_norm": float(np.linalg.norm(g)), "score_norm_max": score_norm, "Q_max": qmax,
                      "poisson_factor": poisson, "N_size": len(N)}
                yield Measurement(measured=float(supF.max()), bound=bounds["CF'"], values=consts,
                                  point={**pt, "check": "sup |F| <= C'_F"},
                                  extra={**ex, "bound_grad_L": float(np.linalg.norm(g)) * SOFTMAX_L_I})
                yield Measurement(measured=float(supH.max()), bound=bounds["CF"], values=consts,
                                  point={**pt, "check": "sup |F-hat| <= C_F"},
                                  extra={**ex, "worst_z": zH, "vertex_check_rel_err": vertex_err})
                yield Measurement(measured=float(lipF.max()), bound=bounds["LQF'"], values=consts,
                                  point={**pt, "check": "Lip_Q F <= L'_QF"}, extra=ex)
                yield Measurement(measured=float(lipH.max()), bound=bounds["LQF"], values=consts,
                                  point={**pt, "check": "Lip_Q F-hat <= L_QF"},
                                  extra={**ex, "worst_z": zL, "sampled_lipschitz": sampled})


def _rescaled(A, Q):
    """F-hat(Q-hat, .) = Gamma(Q-hat) sum_j A_j Q-hat_j (Gamma over the blocks given: the others are 0)."""
    return sum(a @ q for a, q in zip(A, Q)) / (1.0 + max(float(np.abs(q).max()) for q in Q))


def _sampled_lipschitz(A, sizes, rng):
    """max over LEMMA15_PAIRS random close pairs of |F-hat(Q) - F-hat(Q')| / sum_j ||Q_j - Q'_j||, max over z."""
    out = 0.0
    for _ in range(LEMMA15_PAIRS):
        scale = float(np.exp(rng.uniform(-3, 3)))
        Q1 = [scale * rng.uniform(-1, 1, size) for size in sizes]
        Q2 = [q + scale * 0.1 * rng.uniform(-1, 1, q.shape) for q in Q1]
        dist = sum(float(np.abs(q1 - q2).max()) for q1, q2 in zip(Q1, Q2))
        out = max(out, float(np.abs(_rescaled(A, Q1) - _rescaled(A, Q2)).max()) / dist)
    return out


def _lemma15_assumptions(inst):
    pol = inst.payload["policy"]
    worst = 0.0
    for p in pol.probabilities():  # ||grad log zeta(a|s)||^2 = sum_b (1{b=a} - zeta_b)^2, max over (s, a)
        A = p.shape[1]
        worst = max(worst, float(np.sqrt(((np.eye(A)[None, :, :] - p[:, None, :]) ** 2).sum(axis=2)).max()))
    from netmarl_verify.verify import assume_at_most

    return [*_a4(inst), assume_at_most("max ||grad log zeta_i(a_i|s_i)|| <= L_i = sqrt 2 (Assumption 5)", worst,
                                       SOFTMAX_L_I, "tabular softmax: (1 - zeta_a)^2 + sum_{b != a} zeta_b^2 <= 2")]


# ============================================================================ claims
@claim_factory(
    gradient_fn=Fault(None, "gradient_fn(mdp, policy) -> list of arrays compared with the finite differences in "
                            "qu2020.lemma1 (default solvers.exact.policy_gradient): a wrong gradient formula"),
    c_inf_scale=Fault(1.0, "multiplies c_inf of Lemma 6 (a wrong constant)"),
    gmax_scale=Fault(1.0, "multiplies G_max of Lemma 7 (a wrong constant)"),
    c_prime_scale=Fault(1.0, "multiplies c' of Lemma 9 (a wrong constant: the symmetric part loses definiteness)"),
    lemma9_bound_scale=Fault(1.0, "multiplies Lemma 9's lower bound (1/2)(1-mu_D) sigma^2 (a wrong constant; > 1 breaks it)"),
    lemma10_J_scale=Fault(1.0, "multiplies the J_i that qu2020.lemma10 compares mu-hat_i with (a wrong value)"),
    lemma10_global_J=Fault(False, "compares mu-hat_i with the global J instead of J_i in qu2020.lemma10"),
    rbar_scale=Fault(1.0, "multiplies rbar in Lemma 11's Q_max and Lemma 10's (21) (a wrong constant)"),
    lemma15_scale=Fault(1.0, "multiplies Lemma 15's four constants C'_F, C_F, L'_QF, L_QF (a wrong constant)"),
)
def make_claims(*, faults):
    """Build the appendix claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE)
    return [
        Claim(id="qu2020.lemma1", source="Lemma 1 (§2.1; Sutton et al. 2000)", **common,
              statement="The policy-gradient theorem for the average reward: grad J(theta) = E_{(s,a)~pi^theta} "
                        "Q^theta(s,a) grad log zeta^theta(a|s). Exact right side vs Richardson-extrapolated central "
                        "differences of the exact J, every coordinate.",
              latex=r"\nabla_\theta J(\theta) = E_{(s,a)\sim\pi^\theta}\,Q^\theta(s,a)\nabla_\theta\log\zeta^\theta(a|s)",
              assumptions=_a4,
              measure=lambda inst, rng, quick: _lemma1_measure(inst, rng, quick, f["gradient_fn"]),
              instances=_lemma1_instances, search=_search_spaces(actions=(2, 3), copy_chain=False),
              notes=f"measured = max over coordinates of |Lemma 1's right side - (4 D(h/2) - D(h))/3|, D(h) the "
                    f"central difference of the exact J with step h = {LEMMA1_STEP} (error O(h^4) ~ 1e-12, rounding "
                    f"~1e-13); bound = the tolerance {LEMMA1_TOL} (an identity). Assumption 4 is recorded: it makes "
                    "J differentiable (unichain, aperiodic) but the identity needs only a unichain."),
        Claim(id="qu2020.lemma6", source="Lemma 6 (App. C.2)", **common,
              statement="Under Assumption 4, for every d with 1^T d = 0, ||((P^theta)^T)^t d||_1 <= c_inf mu_D^t "
                        "||d||_1, c_inf = sqrt(|Z|/sigma), on the state-action chain; checked in the worst "
                        "direction (exact: the largest TV distance between two rows of P^t).",
              latex=r"\sup_{\mathbf 1^\top d = 0}\frac{\|((P^\theta)^\top)^t d\|_1}{\|d\|_1} \le c_\infty\mu_D^t,"
                    r"\quad c_\infty = \sqrt{|Z|/\sigma}",
              bound=LEMMA6_BOUND, assumptions=_a4,
              measure=lambda inst, rng, quick: _lemma6_measure(inst, rng, quick, f["c_inf_scale"]),
              instances=_basic_instances, figure=_lemma6_figure, search=_search_spaces(),
              notes="Holds everywhere, loosely (c_inf = 31-5400 here; the worst ratio starts at 1). Finding "
                    "(proof): the printed proof uses ||[P - 1 pi^T]^T||_D <= mu_D, false for non-reversible chains "
                    "(extra.mu_D_transpose: 6.9 on the n=3 line, 4.2 on the n=4 line, seed 0); the statement follows instead "
                    "by D^{-1}-norm duality with the better constant 1/sqrt(sigma) (extra.bound_dual, "
                    "extra.ratio_dual <= 1). See the module docstring. t runs to 15 (quick) / 31 (full) but stops where "
                    "the bound falls below LEMMA6_FLOOR = 1e-12 (below it the exact ratio is rounding, ~4e-16)."),
        Claim(id="qu2020.lemma7", source="Lemma 7 (a)-(b) (App. C.2)", **common,
              statement="With c' = 1/(sigma sqrt(1-mu_D)), G_max = 2 + 1/c', h_max = max(c',1) rbar: (a) "
                        "||G~_i(z,z')||, ||G_i^theta(z)||, ||G-bar_i(theta)|| <= G_max and ||h_i(z)||, "
                        "||h-bar_i(theta)|| <= h_max; (b) ||E[G_i^theta(z(t)) - G-bar_i | z(0)=z]|| <= 2 G_max c_inf "
                        "mu_D^t, the same for h with h_max, and the Poisson solutions ||G-hat_i(z)|| <= 2 G_max c_inf/"
                        "(1-mu_D), ||h-hat_i(z)|| <= 2 h_max c_inf/(1-mu_D); infinity norms (max row sums).",
              latex=r"\|\tilde G_i\|_\infty \le G_{\max} = 2 + \tfrac1{c'},\ \|h_i\|_\infty \le \max(c',1)\bar r,\ "
                    r"\|E[G_i^\theta(z(t)) - \bar G_i\mid z(0)=z]\|_\infty \le 2G_{\max}c_\infty\mu_D^t",
              bound=G_MAX, assumptions=_a4_rewards,
              measure=lambda inst, rng, quick: _lemma7_measure(inst, rng, quick, f["gmax_scale"]),
              instances=lambda quick, seed: _basic_instances(quick, seed, big=False), search=_search_spaces(max_n=3),
              notes="One row per (agent i, kappa <= 1, check, t); point.t = -1 on the t-free checks. The bound "
                    "formula shown is G_max; each row's numeric bound is the one of its check. (a) for G~ is "
                    "attained when |Z_N| >= 3 (ratio 1: the row of z_N against a different non-dummy z'_N; on the "
                    "copy chain's |Z_N| = 2 it is 1 + 1/c'). (b) is loose by the "
                    "factor c_inf (and 2). c' is Lemma 9's value, measured per policy. (b)'s mixing rows stop where "
                    "2 c_inf mu_D^t < LEMMA7_FLOOR = 1e-12: below it the exact mixing terms are rounding (~1e-15 "
                    "relative to G_max, h_max) compared with a smaller bound (found by the search on a coupled cycle "
                    "with mu_D ~ 0.03)."),
        Claim(id="qu2020.lemma9", source="Lemma 9 (App. C.2, proof C.4)", **common,
              statement="With c' = 1/(sigma sqrt(1-mu_D)), x^T G-bar_i(theta) x >= (1/2)(1-mu_D) sigma^2 ||x||^2 for "
                        "every x: the smallest eigenvalue of the symmetric part of G-bar_i(theta) is at least "
                        "(1/2)(1-mu_D) sigma^2. Checked as -lambda_min <= -(1/2)(1-mu_D) sigma^2.",
              latex=r"\lambda_{\min}\big(\tfrac12(\bar G_i(\theta) + \bar G_i(\theta)^\top)\big) \ge "
                    r"\tfrac12(1-\mu_D)\sigma^2, \quad c' = \frac1{\sigma\sqrt{1-\mu_D}}",
              bound=-LEMMA9_BOUND, assumptions=_a4,
              measure=lambda inst, rng, quick: _lemma9_measure(inst, rng, quick, f["c_prime_scale"],
                                                              f["lemma9_bound_scale"]),
              instances=_basic_instances, search=_search_spaces(),
              notes="One row per (agent i, kappa up to the eccentricity). G-bar_i from solvers.exact."
                    "critic_averaged_system (App. C.2's block matrix, dummy pair dropped). extra.lower_ratio = "
                    "lambda_min / bound (>= 1 when the lemma holds; it is large: sigma^2 is tiny)."),
        Claim(id="qu2020.lemma10", source="Lemma 10, eq. (21) (App. C.2, proof C.5)", **common,
              statement="The solution x_i = [c' mu-hat_i; Q-hat_i] of h-bar_i(theta) - G-bar_i(theta) x = 0 has "
                        "mu-hat_i = J_i(theta), and for some c_i, ||Phi_i Q-hat_i + c_i 1 - Q_i||_D <= c "
                        "rho^(kappa+1)/(1-mu_D) with Theorem 1's c = rbar/(1-rho) (eq. (21)).",
              latex=r"\hat\mu_i^\theta = J_i(\theta),\quad \min_{c_i}\|\Phi_i\hat Q_i^\theta + c_i\mathbf 1 - "
                    r"Q_i^\theta\|_{D^\theta} \le \frac{c\rho^{\kappa+1}}{1-\mu_D}",
              bound=LEMMA10_BOUND, assumptions=_lemma10_assumptions,
              measure=lambda inst, rng, quick: _lemma10_measure(inst, rng, quick, f["rbar_scale"],
                                                               f["lemma10_global_J"], f["lemma10_J_scale"]),
              instances=_lemma10_instances, search=_search_spaces(copy_chain=False),
              notes="Two rows per (agent, kappa < eccentricity): the identity mu-hat = J_i (tolerance 1e-10 "
                    "max(1,|J_i|); mu-hat is c'^-1 times the first entry of the solution, c' pi^T r_i computed from "
                    "the neighbourhood marginals, J_i from the policy evaluation) and (21), which is Theorem 3(a)'s "
                    "(13) (see qu2020.thm3a), with Q-hat from App. C.2's full (1 + |Z-hat_N|) system. Theorem 1's "
                    "condition is attached to the (21) rows only."),
        Claim(id="qu2020.lemma11", source="Lemma 11 (App. D)", **common,
              statement="For every theta and i, ||Q_i^theta||_inf <= Q_max = 2 c_inf rbar/(1-mu_D), hence "
                        "||grad_{theta_i} J|| <= L_i Q_max and ||grad J|| <= L Q_max (L_i = sqrt 2 for the softmax, "
                        "L = sqrt(2n)).",
              latex=r"\|Q_i^\theta\|_\infty \le Q_{\max} = \frac{2c_\infty\bar r}{1-\mu_D},\quad "
                    r"\|\nabla J(\theta)\| \le LQ_{\max}",
              bound=LEMMA11_QMAX, assumptions=_a4,
              measure=lambda inst, rng, quick: _lemma11_measure(inst, rng, quick, f["rbar_scale"]),
              instances=_basic_instances, search=_search_spaces(),
              notes="Q_i is the differential Q of eq. (3) (pi-mean zero; solvers.exact.q_table). Rows: "
                    "||Q_i||_inf per agent (bound Q_max), ||grad_i J|| per agent (bound L_i Q_max) and ||grad J|| "
                    "(bound L Q_max). Very loose (c_inf is large); the proof, like Lemma 7's, also needs only "
                    "|r_i| <= rbar."),
        Claim(id="qu2020.lemma15", source="Lemma 15 (App. D.1, proof at the end of D.1)", **common,
              statement="For F^theta(Q-hat, z) = <grad_{theta_i} J(theta), Gamma(Q-hat) grad log zeta_i(a_i|s_i) (1/n) "
                        "sum_{j in N_i^kappa} Q-hat_j(z_{N_j^kappa})>, Gamma(Q-hat) = 1/(1 + max_j ||Q-hat_j||_inf), and "
                        "F-hat its Poisson solution on the state-action chain, for all theta, z, Q-hat: |F-hat| <= C_F "
                        "= 2 c_inf/(1-mu_D) C'_F with C'_F = L_i^2 Q_max (which bounds |F|), and F-hat is L_QF-Lipschitz "
                        "in Q-hat w.r.t. sum_j ||Q-hat_j - Q-hat'_j||_inf, L_QF = 2 c_inf/(1-mu_D) L'_QF with L'_QF = "
                        "L_i^2 Q_max (1 + 1/n) (F's constant). The Lipschitz constant in theta is only shown to exist.",
              latex=r"|\hat F^\theta(\hat Q, z)| \le C_F = \frac{2c_\infty}{1-\mu_D}L_i^2Q_{\max},\quad "
                    r"|\hat F^\theta(\hat Q, z) - \hat F^\theta(\hat Q', z)| \le \frac{2c_\infty}{1-\mu_D}"
                    r"L_i^2Q_{\max}\Big(1+\frac1n\Big)\sum_{j=1}^n\|\hat Q_j - \hat Q'_j\|_\infty",
              bound=LEMMA15_CF, assumptions=_lemma15_assumptions,
              measure=lambda inst, rng, quick: _lemma15_measure(inst, rng, quick, f["lemma15_scale"]),
              instances=_lemma1_instances, search=_search_spaces(max_n=3, actions=(2, 3), copy_chain=False),
              notes="Exact suprema over all Q-hat and z. F and F-hat are Gamma(Q-hat) times a linear form a(z).Q-hat "
                    "(F-hat = [(I - P + 1 pi^T)^{-1} - 1 pi^T] F, the series of (29)), so sup_Q |F-hat(Q, z)| = ||a(z)||_1 "
                    "(approached as ||Q-hat|| -> inf; cross-checked at a vertex with |Q-hat| = 1e6 by a least-squares "
                    "Poisson solve, extra.vertex_check_rel_err) and the Lipschitz constant in Q-hat has a closed form "
                    "(module docstring; extra.sampled_lipschitz is a sampled lower bound). Four rows per (agent i, "
                    "kappa <= 1): sup |F| vs C'_F, sup |F-hat| vs C_F (the statement), Lip_Q F vs L'_QF and "
                    "Lip_Q F-hat vs L_QF (the statement). Constants as printed: Q_max = 2 c_inf rbar/(1-mu_D) (Lemma "
                    "11), L_i = sqrt 2 (tabular softmax, Assumption 5 measured), c_inf = sqrt(|Z|/sigma), the Poisson "
                    "factor 2 c_inf/(1-mu_D) of Lemma 7(b). Not checked: L_theta,F, which the proof gives only as 'for "
                    "some' (it involves L' of Assumption 5 and an unspecified L_d). The bound formula shown is C_F; each "
                    "row's numeric bound is its check's. Very loose: c_inf/(1-mu_D) appears twice (Q_max and the "
                    "Poisson factor)."),
    ]


for _claim in make_claims():
    register(_claim)
