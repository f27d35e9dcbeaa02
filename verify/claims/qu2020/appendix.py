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

Lemma 15 (:math:`|\hat F^\theta| \le C_F`, the Lipschitz constants) is not implemented yet.
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
from netmarl_verify.verify import Claim, Fault, Instance, LinesFigure, Measurement, Series, claim_factory, register

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
                    yield Measurement(measured=float(g), bound=Gmax * decay, values={**base, "t": int(t)},
                                      point={**pt, "check": "(b) G mixing", "t": int(t)})
                    yield Measurement(measured=float(hh), bound=hmax * decay, values={**base, "t": int(t)},
                                      point={**pt, "check": "(b) h mixing", "t": int(t)})


# ============================================================================ Lemma 9
def _lemma9_measure(inst, rng, quick, c_prime_scale=1.0):
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
                b = 0.5 * (1 - erg.mu_D) * erg.sigma ** 2
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


def _lemma10_measure(inst, rng, quick, c_scale=1.0, compare_global_J=False):
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
                J = ev.J if compare_global_J else float(ev.J_local[i])
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


# ============================================================================ claims
@claim_factory(
    gradient_fn=Fault(None, "gradient_fn(mdp, policy) -> list of arrays compared with the finite differences in "
                            "qu2020.lemma1 (default solvers.exact.policy_gradient): a wrong gradient formula"),
    c_inf_scale=Fault(1.0, "multiplies c_inf of Lemma 6 (a wrong constant)"),
    gmax_scale=Fault(1.0, "multiplies G_max of Lemma 7 (a wrong constant)"),
    c_prime_scale=Fault(1.0, "multiplies c' of Lemma 9 (a wrong constant: the symmetric part loses definiteness)"),
    lemma10_global_J=Fault(False, "compares mu-hat_i with the global J instead of J_i in qu2020.lemma10"),
    rbar_scale=Fault(1.0, "multiplies rbar in Lemma 11's Q_max and Lemma 10's (21) (a wrong constant)"),
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
              instances=_lemma1_instances,
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
              instances=_basic_instances, figure=_lemma6_figure,
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
              instances=lambda quick, seed: _basic_instances(quick, seed, big=False),
              notes="One row per (agent i, kappa <= 1, check, t); point.t = -1 on the t-free checks. The bound "
                    "formula shown is G_max; each row's numeric bound is the one of its check. (a) for G~ is "
                    "attained when |Z_N| >= 3 (ratio 1: the row of z_N against a different non-dummy z'_N; on the "
                    "copy chain's |Z_N| = 2 it is 1 + 1/c'). (b) is loose by the "
                    "factor c_inf (and 2). c' is Lemma 9's value, measured per policy."),
        Claim(id="qu2020.lemma9", source="Lemma 9 (App. C.2, proof C.4)", **common,
              statement="With c' = 1/(sigma sqrt(1-mu_D)), x^T G-bar_i(theta) x >= (1/2)(1-mu_D) sigma^2 ||x||^2 for "
                        "every x: the smallest eigenvalue of the symmetric part of G-bar_i(theta) is at least "
                        "(1/2)(1-mu_D) sigma^2. Checked as -lambda_min <= -(1/2)(1-mu_D) sigma^2.",
              latex=r"\lambda_{\min}\big(\tfrac12(\bar G_i(\theta) + \bar G_i(\theta)^\top)\big) \ge "
                    r"\tfrac12(1-\mu_D)\sigma^2, \quad c' = \frac1{\sigma\sqrt{1-\mu_D}}",
              bound=-LEMMA9_BOUND, assumptions=_a4,
              measure=lambda inst, rng, quick: _lemma9_measure(inst, rng, quick, f["c_prime_scale"]),
              instances=_basic_instances,
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
                                                               f["lemma10_global_J"]),
              instances=_lemma10_instances,
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
              instances=_basic_instances,
              notes="Q_i is the differential Q of eq. (3) (pi-mean zero; solvers.exact.q_table). Rows: "
                    "||Q_i||_inf per agent (bound Q_max), ||grad_i J|| per agent (bound L_i Q_max) and ||grad J|| "
                    "(bound L Q_max). Very loose (c_inf is large); the proof, like Lemma 7's, also needs only "
                    "|r_i| <= rbar."),
    ]


for _claim in make_claims():
    register(_claim)
