r"""qu2020 §3.2 and App. C: the Scalable Actor-Critic (Alg. 1) — critic approximation, critic
convergence, and the stationarity bound of Theorem 2.

``qu2020.thm3a``  Theorem 3(a), eq. (13). For every agent :math:`i` and policy :math:`\theta` the
                  critic's fixed point :math:`\hat Q_i^\theta` (on :math:`Z_{N_i^\kappa}`, dummy pair
                  pinned at 0) is, up to the best constant :math:`c_i^\theta`, within
                  :math:`c\rho^{\kappa+1}/(1-\mu_D)` of :math:`Q_i^\theta` in
                  :math:`L^2(\pi^\theta)`, with :math:`(c, \rho) = (\bar r/(1-\rho), \rho)` from
                  Theorem 1 and :math:`\mu_D = \|P^\theta - \mathbf 1(\pi^\theta)^\top\|_{D^\theta}`
                  (Assumption 4).
``qu2020.critic`` Theorem 3(b) with :math:`\theta` frozen: the critic iterates of Alg. 1 (lines
                  3-6) converge to :math:`\hat Q_i^\theta`. Made falsifiable by the rate of linear
                  stochastic approximation (below).
``qu2020.thm2``   Theorem 2: :math:`\liminf_T\|\nabla J(\theta(T))\| \le L c\rho^{\kappa+1}/(1-\mu_D)`.

Everything compared is exact: :math:`Q_i^\theta` (:func:`netmarl_verify.solvers.exact.q_table`), the critic fixed
point (:func:`netmarl_verify.solvers.exact.critic_fixed_point`, residual-certified), :math:`\sigma, \mu_D`
(:func:`netmarl_verify.solvers.exact.ergodicity_constants`, an SVD of the dense state-action chain),
:math:`\nabla J` (:func:`netmarl_verify.solvers.exact.policy_gradient`). The sampled algorithm is
:func:`netmarl_verify.solvers.sampled.scalable_actor_critic`.

Theorem 3(b): the rate used as the criterion
--------------------------------------------
Averaging the updates (15)-(16) over the stationary law of the frozen chain gives the linear ODE
(Konda & Tsitsiklis 2003; qu2020 App. C.2) in the time :math:`\tau_t = \sum_{s<t}\alpha_s`

.. math:: \dot\mu = J_i - \mu, \qquad \dot y = G_i y - \pi_{\hat N}(\mu - J_i), \qquad
          y = \hat Q - \hat Q_i^\theta,

with :math:`G_i = M - \operatorname{diag}(\pi_N)` restricted to the non-dummy pairs (the matrix of
:func:`~solvers.exact.critic_fixed_point`'s system). The error of linear stochastic approximation
with steps :math:`\alpha_t \propto (\tau_0 + t)^{-a}`, :math:`1/2 < a < 1`, is the ODE transient
:math:`\|e^{\bar G\tau_t}e_0\|` plus a noise term of order :math:`\sqrt{\alpha_t}`
(e.g. Borkar 2008, ch. 10; Polyak & Juditsky 1992): once the transient is negligible,

.. math:: \frac{E(T)}{E(T_0)} \approx \sqrt{\frac{\alpha_T}{\alpha_{T_0}}}
          = \Big(\frac{\tau_0 + T_0}{\tau_0 + T}\Big)^{a/2},

a log-log slope :math:`-a/2`. The check is :math:`E(T)/E(T_0) \le A\,(\cdot)^{a/2}` with
:math:`T_0 = T/64` and allowance :math:`A = 1.5`: the Monte-Carlo standard error of the ratio of
two means over :math:`B` runs is recorded per row (3-6 % of the ratio with the settings below, so
the allowance is more than 8 standard errors), and the deviations from the asymptotic
:math:`\sqrt{\alpha_t}` law are of relative order :math:`\sqrt{\alpha_{T_0}}` (0.22 at
:math:`\kappa = 0` in quick mode; with the shifted steps used at :math:`\kappa = 1`,
:math:`\alpha_{T_0}` is not small and the measured ratio falls *below* the prediction, which
only makes the check easier to pass). A transient still present at :math:`T_0` also makes the
ratio smaller. A critic that does not converge to the target
(plateau) gives a ratio near 1, above :math:`1.5 \cdot 64^{-a/2} = 0.48`; so does any rate
slower than :math:`T^{-0.18}`. The assumption that makes the rate applicable is measured, not
assumed: the exact ODE transient at :math:`T` (the augmented linear ODE above, integrated with
:func:`scipy.linalg.expm`, :func:`netmarl_verify.solvers.exact.critic_ode_transient`) must be at most
10 % of the measured error at :math:`T`, otherwise
the error at :math:`T` is still transient-dominated and the row is "not applicable".

Power, honestly. The ratio test is weak against a *small* error in the limit: with
:math:`T_0` still in the transient, :math:`E(T_0)` is inflated and a target offset :math:`d`
(errors adding in quadrature) is flagged only when
:math:`d^2 \gtrsim (b^2E(T_0)^2 - E(T)^2)/(1-b^2)`, :math:`b = A(\cdot)^{a/2}`; this
``detectable_offset`` is recorded per row (about 0.07 in quick mode, 0.03 in full mode for
:math:`\kappa = 0`). A sharper test — the bias of the run-averaged table against its standard
error — was tried and rejected: the mean iterate of stochastic approximation under Markov noise has
an :math:`O(\alpha_T)` bias (measured 0.026, ten standard errors, on the 2-agent path) that no
derived constant accounts for. Moving :math:`T_0` into the asymptotic regime needs
:math:`T_0 \gtrsim 3\cdot10^4` at :math:`\kappa = 0`, i.e. :math:`T \approx 2\cdot10^6`, beyond the
budget; larger initial steps (shift :math:`\tau_0`) shorten the transient but raise the noise, and
the measured decay then is faster than :math:`\sqrt{\alpha_t}` (ratios 0.1 for 0.2 predicted).

Finding (the dummy pair slows the critic). The slowest mode of :math:`G_i` is the common offset
of all non-dummy entries (the constant :math:`c_i^\theta` of Theorem 3(a)): only transitions into
the dummy pair pull it back, so its rate is about :math:`\pi_N(\tilde z)/|Z_N|`. On the 3-agent
path with :math:`|S_i| = |A_i| = 2` and :math:`\kappa = 1` the middle agent's table has 64 pairs
and :math:`\lambda = \min_i(-\max\operatorname{Re}\operatorname{eig} G_i) \approx 2\cdot10^{-4}`
(:math:`5\cdot10^{-2}` at :math:`\kappa = 0`): with the default steps the transient lasts
:math:`\sim 10^8` iterations; the averaged ODE reproduces the measured error (0.457 against 0.468 at
:math:`T = 16384`, full mode). That instance is reported "not applicable"; :math:`\kappa = 1` is
checked on the 2-agent path (16 pairs) with :math:`\alpha_t = (100/(100+t))^{0.55}` (same power, Assumption 3 unchanged,
a longer initial phase of large steps).

Theorem 2: what a finite run can say
------------------------------------
A finite run cannot prove a :math:`\liminf` statement nor refute it: "holds" means the finite-T
value (per run, the smallest :math:`\|\nabla J(\theta_t)\|` over the checkpoints
:math:`t \ge T/4`; then the **largest over runs**, since Theorem 2 is an almost-sure statement
about every run) is below the bound. Constants: :math:`L_i = \sqrt 2` uniformly in
:math:`\theta` (Assumption 5) because the softmax score :math:`e_{a} - \zeta_i(\cdot|s_i)` has
squared norm :math:`(1-\zeta_a)^2 + \sum_{b\ne a}\zeta_b^2 \le (1-\zeta_a)^2 + (\sum_{b\ne a}
\zeta_b)^2 = 2(1-\zeta_a)^2 < 2`, approached as :math:`\zeta_a \to 0` with the mass on one other
action; so :math:`L = \sqrt{2n}`; the largest score norm along the trajectory is recorded.
Assumption 4 must hold uniformly in :math:`\theta`; it is measured along the trajectory (every
run, every checkpoint) and the bound uses the largest :math:`\mu_D` seen. No softmax family
satisfies it uniformly over all :math:`\theta`: :math:`\sigma \to 0` as the logits diverge, and
SAC drives them there (:math:`\sigma` falls to :math:`10^{-10}`-:math:`10^{-22}` on the runs
below).

Finding (the :math:`\kappa`-dependence is not observable). The bound shrinks like
:math:`\rho^{\kappa+1}`, but the local maxima of :math:`J` over tabular softmax policies are
deterministic policies at infinity, where every gradient vanishes whatever the bias of the
truncated critic; at finite :math:`T` the gap is optimisation error, flat or *growing* in
:math:`\kappa` (larger tables, slower critic): full mode, rescaling on, mean over runs 0.0031,
0.0043, 0.0046 and max over runs 0.0074, 0.0070, 0.0066 for :math:`\kappa = 0, 1, 2`, against
bounds 0.74, 0.14, 0.028. On the instances below the bound is also above
:math:`\|\nabla J(\theta_0)\|` for :math:`\kappa \le 1` (recorded as ``bound_met_at_start``): only
the :math:`\kappa = 2` rows need learning to hold.
"""

import math

import networkx as nx
import numpy as np
import sympy
from threadpoolctl import threadpool_limits

from netmarl_verify import envs
from netmarl_verify.solvers.exact import (
    best_deterministic_policy,
    critic_approximation_error,
    critic_fixed_point,
    critic_ode_transient,
    critic_slowest_rate,
    decay_profile,
    ergodicity_constants,
    evaluate_policy,
    policy_gradient,
    score_norm_bound,
)
from netmarl_verify.solvers.sampled import PowerSchedule, assumption3, frozen_policy_critic, scalable_actor_critic
from netmarl_verify.verify import (
    Assumption,
    Choice,
    Claim,
    DecayFigure,
    Fault,
    HLine,
    Instance,
    Integer,
    LinesFigure,
    LogLogErrorFigure,
    Measurement,
    Real,
    SearchSpace,
    Series,
    Style,
    VLine,
    assume_in,
    claim_factory,
    evaluate_bound,
    fit_loglog_slope,
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

__all__ = [
    "THM3A_BOUND",
    "THM2_BOUND",
    "CRITIC_BOUND",
    "CRITIC_ALLOWANCE",
    "SOFTMAX_SCORE_BOUND",
    "make_claims",
]

# rbar, rho, kappa: the symbols of ._common, shared with .decay (keys of Measurement.values)
mu_D = sympy.Symbol("mu_D", positive=True)
L_sym = sympy.Symbol("L", positive=True)
A_tol, a_pow, T_sym, T0_sym, tau0 = sympy.symbols("A a T T_0 tau", positive=True)
RBAR = rbar.name

#: Theorem 3(a), eq. (13), with Theorem 1's (c, rho).
THM3A_BOUND = rbar / (1 - rho) * rho ** (kappa + 1) / (1 - mu_D)
#: Theorem 2.
THM2_BOUND = L_sym * THM3A_BOUND
#: Theorem 3(b) rate criterion: E(T)/E(T0) <= A sqrt(alpha_T / alpha_T0) for alpha_t ∝ (tau + t)^-a.
CRITIC_BOUND = A_tol * ((tau0 + T0_sym) / (tau0 + T_sym)) ** (a_pow / 2)
#: The allowance A of the rate criterion (module docstring).
CRITIC_ALLOWANCE = 1.5
#: T / T0 in the rate criterion.
CRITIC_SPAN = 64
#: The averaged-ODE transient at T must be at most this fraction of the measured error at T.
CRITIC_TRANSIENT_FRACTION = 0.1
#: Uniform-in-theta bound on the softmax score norm, L_i (Assumption 5; module docstring).
SOFTMAX_SCORE_BOUND = math.sqrt(2.0)


# ============================================================================ Theorem 3(a)
def _thm3a_instances(quick, seed):
    """Coupled paths/cycles (Theorem 1's condition by construction) and an App. B.4 random line."""
    coupled = [("coupled path n=3 strength=0.3", nx.path_graph(3), 0.3),
               ("coupled path n=4 strength=0.15", nx.path_graph(4), 0.15)]
    random_lines = [("random line n=4 (App. B.4 kernels)", nx.path_graph(4))]
    if not quick:
        coupled += [("coupled path n=3 strength=0.15", nx.path_graph(3), 0.15),
                    ("coupled path n=4 strength=0.3", nx.path_graph(4), 0.3),
                    ("coupled cycle n=5 strength=0.25", nx.cycle_graph(5), 0.25),
                    ("coupled path n=5 strength=0.2", nx.path_graph(5), 0.2),
                    ("coupled path n=4 strength=0.6 (condition fails)", nx.path_graph(4), 0.6)]
        random_lines += [("random line n=5 (App. B.4 kernels)", nx.path_graph(5))]
    n_pol = 1 if quick else 3
    for name, graph, strength in coupled + [(nm, g, None) for nm, g in random_lines]:
        rng = np.random.default_rng(instance_seed(seed, name))
        if strength is None:
            mdp = envs.random_networked_mdp(graph, 2, 2, rng)
        else:
            mdp = envs.coupled_networked_mdp(graph, strength, 2, 2, rng=rng)
        policies = [envs.LocalSoftmaxPolicy.random(mdp, rng) for _ in range(n_pol)]
        yield Instance(name=name, params={"n": mdp.n, "S": 2, "A": 2, "strength": strength},
                       payload={"mdp": mdp, "policies": policies}, size=float(mdp.n_states * mdp.n_actions),
                       family=RANDOM if strength is None else COUPLED)


def _thm3a_search_spaces():
    """Search spaces of Theorem 3(a) (``netmarl-verify search``): coupled paths/cycles and the copy chain
    (two actions, rewards in {0, 1}), S = A = 2, at most 4 agents (the ergodicity SVD is dense)."""
    seed = Integer(0, 2**31 - 1)

    def instance(mdp, policy, family):
        return Instance(name="", payload={"mdp": mdp, "policies": [policy]},
                        size=float(mdp.n_states * mdp.n_actions), family=family)

    def build_coupled(p):
        graph = (nx.path_graph if p["graph"] == "path" else nx.cycle_graph)(p["n"])
        rng = np.random.default_rng(p["seed"])
        mdp = envs.coupled_networked_mdp(graph, p["strength"], 2, 2, rng=rng)
        return instance(mdp, envs.LocalSoftmaxPolicy.random(mdp, rng), COUPLED)

    def build_chain(p):
        mdp = envs.copy_chain_mdp(p["n"], p["rho"], action_size=2)
        return instance(mdp, envs.LocalSoftmaxPolicy.random(mdp, p["seed"]), COPY_CHAIN)

    return (
        SearchSpace(COUPLED, {"graph": Choice(("path", "cycle")), "n": Integer(3, 4), "strength": Real(0.01, 1.0),
                              "seed": seed}, build_coupled,
                    "coupled path/cycle, S = A = 2: coupling strength, seed of the kernels and policy"),
        SearchSpace(COPY_CHAIN, {"n": Integer(2, 4), "rho": Real(0.05, 0.95), "seed": seed}, build_chain,
                    "copy chain with two actions, rewards in {0, 1}: length, rho, policy seed"),
    )


def _thm3a_assumptions(inst):
    r, sums = theorem1_constants(inst)
    return [theorem1_gives_assumption2(r, sums), nonnegative_rewards(inst.payload["mdp"])]


def _thm3a_measure(inst, rng, quick, c_scale=1.0):
    mdp = inst.payload["mdp"]
    r, _ = theorem1_constants(inst)
    rb = mdp.reward_bound
    with threadpool_limits(limits=1):  # small dense SVDs: one BLAS thread is several times faster here
        for p_idx, pol in enumerate(inst.payload["policies"]):
            ev = evaluate_policy(mdp, pol)
            erg = ergodicity_constants(mdp, pol, evaluation=ev)
            a4 = assumption4(erg.sigma, erg.mu_D, f"policy {p_idx}")
            for i in range(mdp.n):
                ecc = int(mdp.distances[i].max())
                prof = decay_profile(mdp, pol, i, range(ecc), method="sup", evaluation=ev)
                for k, sup in zip(prof.kappas, prof.values):
                    k = int(k)
                    res = critic_approximation_error(mdp, pol, i, k, evaluation=ev)
                    tighter = sup / (1 - erg.mu_D)
                    yield Measurement(
                        measured=res.error,
                        values={RBAR: rb * c_scale, "rho": r, "kappa": k, "mu_D": erg.mu_D},
                        point={"policy": p_idx, "i": i, "kappa": k},
                        extra={"best_shift_c": res.c, "sigma": erg.sigma, "sup_decay": float(sup),
                               "bound_sup_decay": float(tighter),
                               "ratio_sup_decay": float(res.error / tighter) if tighter > 0 else float("nan")},
                        assumptions=a4)


def _thm3a_figure(rows):
    """Specs: the exact critic error against the paper's bound and the sup-decay bound, up to three instances."""
    specs = []
    ok = rows[rows["assumptions_hold"]]
    for name in ok["instance"].unique()[:3]:
        spec = DecayFigure(
            f"Theorem 3(a): {name}, agent 0, policy 0",
            Series(r"$\min_c\|\hat Q_i^\theta + c - Q_i^\theta\|_{\pi}$ (exact)", "measured"),
            bounds=[Series(r"paper: $c\rho^{\kappa+1}/(1-\mu_D)$", "bound"),
                    Series(r"$\sup$-decay$(\kappa)/(1-\mu_D)$", "extra.bound_sup_decay")],
            where={"assumptions_hold": True, "instance": name, "point.i": 0, "point.policy": 0},
            band=None, ylabel="error")
        if not spec.resolve(rows).empty:
            specs.append(spec)
    return specs


# ============================================================================ Theorem 3(b)
def _exact_target(mdp, policy, agent, kappa_, evaluation):
    return critic_fixed_point(mdp, policy, agent, kappa_, evaluation=evaluation)


def _critic_instances(quick, seed):
    """(instance, kappa, runs, iterations, critic steps): see the module docstring for the choices."""
    default = PowerSchedule(1.0, 0.55)
    shifted = PowerSchedule(100.0**0.55, 0.55, 100.0)  # alpha_0 = 1, alpha_t = (100/(100+t))^0.55
    if quick:
        specs = [("path", 3, 0, 64, 16384, default), ("path", 2, 1, 64, 8192, shifted)]
    else:
        specs = [("path", 3, 0, 128, 65536, default), ("path", 2, 1, 128, 65536, shifted),
                 ("path", 3, 1, 64, 16384, default)]
    for graph_name, n, k, B, T, alpha in specs:
        base = f"coupled {graph_name} n={n} strength=0.3"
        rng = np.random.default_rng(instance_seed(seed, base))
        mdp = envs.coupled_networked_mdp(nx.path_graph(n), 0.3, 2, 2, rng=rng)
        pol = envs.LocalSoftmaxPolicy.random(mdp, rng)
        shift = f", alpha=(100/(100+t))^0.55" if alpha.shift != 1.0 else ""
        yield Instance(name=f"{base}, kappa={k}{shift}",
                       params={"n": n, "kappa": k, "B": B, "T": T, "alpha_power": alpha.power,
                               "alpha_shift": alpha.shift},
                       payload={"mdp": mdp, "policy": pol, "kappa": k, "B": B, "T": T, "alpha": alpha},
                       size=float(mdp.n_states * mdp.n_actions), family=COUPLED)


def _critic_assumptions(inst):
    mdp, pol = inst.payload["mdp"], inst.payload["policy"]
    with threadpool_limits(limits=1):
        erg = ergodicity_constants(mdp, pol)
    alpha = inst.payload["alpha"]
    p = alpha.power
    return [
        assume_in("alpha square summable, not summable, non-increasing (Assumption 3, critic part)", p, 0.5, 1,
                  f"alpha_t = {alpha.scale:.4g}/({alpha.shift:g}+t)^{p}; the actor is frozen (eta = 0)",
                  required="power in (1/2, 1]"),
        *assumption4(erg.sigma, erg.mu_D, "frozen policy"),
    ]


def _critic_measure(inst, rng, quick, target=_exact_target, make_env=None):
    mdp, pol, k = inst.payload["mdp"], inst.payload["policy"], inst.payload["kappa"]
    B, T, alpha = inst.payload["B"], inst.payload["T"], inst.payload["alpha"]
    T0 = T // CRITIC_SPAN
    with threadpool_limits(limits=1):
        ev = evaluate_policy(mdp, pol)
        equations = [critic_fixed_point(mdp, pol, i, k, evaluation=ev, full_output=True)[1] for i in range(mdp.n)]
        targets = [np.asarray(target(mdp, pol, i, k, ev), dtype=float) for i in range(mdp.n)]
    checkpoints = np.union1d(np.unique(np.geomspace(1, T, 33).round().astype(np.int64)), [T0, T])

    def errors(state):
        err = np.zeros(B)
        for i in range(mdp.n):
            diff = np.abs(state.tables[i] - targets[i][None]).reshape(B, -1).max(axis=1)
            np.maximum(err, diff, out=err)
        return {"target_error": err}

    env = mdp if make_env is None else make_env(mdp)
    res = frozen_policy_critic(env, pol, k, T, batch=B, rng=rng, alpha=alpha, checkpoints=checkpoints,
                               callback=errors)
    E = res.trace.pivot(index="run", columns="iteration", values="target_error")
    its = E.columns.to_numpy()
    E = E.to_numpy()
    mean = E.mean(axis=0)
    j0, j1 = int(np.searchsorted(its, T0)), len(its) - 1
    ratio = mean[j1] / mean[j0]
    # delta-method standard error of a ratio of two means over the same B runs
    c = np.cov(E[:, j1], E[:, j0])
    rel_var = (c[0, 0] / mean[j1] ** 2 + c[1, 1] / mean[j0] ** 2 - 2 * c[0, 1] / (mean[j1] * mean[j0])) / B
    ratio_se = float(ratio * math.sqrt(max(rel_var, 0.0)))
    window = its >= T0
    slope = fit_loglog_slope(its[window], mean[window])
    predicted = ((alpha.shift + T0) / (alpha.shift + T)) ** (alpha.power / 2)
    # power: the smallest constant max-norm offset of the target that the ratio check would flag, if errors
    # added in quadrature: (E_T^2 + d^2) / (E_T0^2 + d^2) = (A predicted)^2
    b2 = (CRITIC_ALLOWANCE * predicted) ** 2
    detectable = math.sqrt(max(b2 * mean[j0] ** 2 - mean[j1] ** 2, 0.0) / (1 - b2)) if b2 < 1 else float("inf")

    taus = np.concatenate([[0.0], np.cumsum([alpha(t) for t in range(T)])])[its]
    with threadpool_limits(limits=1):
        transient = np.max([critic_ode_transient(eq, taus) for eq in equations], axis=0)
    lam = critic_slowest_rate(equations)
    burn_in = Assumption(
        "asymptotic regime at T: averaged-ODE transient <= 10% of the measured error",
        holds=transient[j1] <= CRITIC_TRANSIENT_FRACTION * mean[j1],
        measured=float(transient[j1] / mean[j1]), required=f"<= {CRITIC_TRANSIENT_FRACTION}",
        detail=f"ODE transient {transient[j1]:.3g} vs error {mean[j1]:.3g} at T={T}; slowest ODE rate "
               f"lambda = {lam:.3g}, tau_T = sum alpha_t = {taus[j1]:.4g}")
    claimed = -alpha.power / 2
    curves = {"iterations": its.tolist(), "error_mean": mean.tolist(), "error_runs": E.round(8).tolist(),
              "ode_transient": transient.tolist()}
    common = {"T": T, "T0": T0, "B": B, "lambda": lam, "tau_T": float(taus[j1]), "fitted_slope": slope,
              "claimed_slope": claimed, "predicted_ratio": predicted, "ratio": ratio, "ratio_se": ratio_se,
              "ratio_z": (ratio - predicted) / ratio_se if ratio_se > 0 else float("nan"),
              "error_T": float(mean[j1]), "error_T0": float(mean[j0]), "detectable_offset": detectable,
              "error_T_rel_se": float(E[:, j1].std(ddof=1) / math.sqrt(B) / mean[j1])}
    values = {"A": CRITIC_ALLOWANCE, "a": alpha.power, "T": T, "T_0": T0, "tau": alpha.shift}
    yield Measurement(measured=ratio, values=values, point={"kappa": k, "check": "E(T)/E(T0)"},
                      extra={**common, "curves": curves}, assumptions=[burn_in])
    yield Measurement(measured=slope, bound=0.0, values=values,
                      point={"kappa": k, "check": "log-log slope on [T0, T] <= 0"}, extra=common,
                      assumptions=[burn_in])


def _critic_figure(rows):
    """Specs: the critic error of every run (median, band) on log-log axes with the fitted and claimed slopes."""
    import json

    specs = []
    for _, r in rows[rows["point.check"] == "E(T)/E(T0)"].iterrows():
        ex = json.loads(r["extra"])
        cv = ex["curves"]
        t = np.asarray(cv["iterations"], dtype=float)
        specs.append(LogLogErrorFigure(
            f"Theorem 3(b), frozen policy ({r['verdict']}; grey line: T/64)\n{r['instance']}",
            [Series(r"$\max_i\|\hat Q_i^t - \hat Q_i^\theta\|_\infty$", cv["error_runs"], x=t),
             Series("averaged-ODE transient (exact)", cv["ode_transient"], x=t,
                    style=Style(color="0.5", linestyle=":", marker=""))],
            fitted_slope=ex["fitted_slope"], claimed_slope=ex["claimed_slope"], vlines=VLine(ex["T0"])))
    return specs


# ============================================================================ Theorem 2
def _thm2_instances(quick, seed):
    name = "coupled path n=4 strength=0.1"
    rng = np.random.default_rng(instance_seed(seed, name))
    mdp = envs.coupled_networked_mdp(nx.path_graph(4), 0.1, 2, 2, rng=rng)
    settings = dict(B=4, T=4096, rescale=(True,), kappas=(0, 1, 2)) if quick else \
        dict(B=16, T=32768, rescale=(True, False), kappas=(0, 1, 2))
    yield Instance(name=name, params={"n": 4, "S": 2, "A": 2, "strength": 0.1, "B": settings["B"],
                                      "T": settings["T"]},
                   payload={"mdp": mdp, **settings}, size=float(mdp.n_states * mdp.n_actions), family=COUPLED)


#: Step sizes of the Theorem 2 runs: alpha the default, eta 100/(1+t)^0.9 (Assumption 3 holds, d > 2.86).
THM2_ALPHA = PowerSchedule(1.0, 0.55)
THM2_ETA = PowerSchedule(100.0, 0.9)


def _thm2_assumptions(inst):
    mdp = inst.payload["mdp"]
    r, sums = theorem1_constants(inst)
    ok3, why3 = assumption3(THM2_ALPHA, THM2_ETA)
    return [
        nonnegative_rewards(mdp),
        theorem1_gives_assumption2(r, sums),
        Assumption("step sizes (Assumption 3)", holds=bool(ok3), required="1/2 < p_alpha < p_eta <= 1",
                   detail=f"alpha_t = 1/(1+t)^0.55, eta_t = 100/(1+t)^0.9: {why3}"),
        Assumption("score bounded and Lipschitz, grad J Lipschitz (Assumption 5)", holds=True,
                   measured=SOFTMAX_SCORE_BOUND, required="L_i = sqrt(2) for the tabular softmax",
                   detail="||e_a - zeta(.|s)||^2 = (1-zeta_a)^2 + sum_{b!=a} zeta_b^2 < 2(1-zeta_a)^2 <= 2; "
                          "smooth in theta on a finite chain"),
    ]


def _thm2_measure(inst, rng, quick, c_scale=1.0):
    mdp = inst.payload["mdp"]
    B, T = inst.payload["B"], inst.payload["T"]
    r, _ = theorem1_constants(inst)
    L_val = SOFTMAX_SCORE_BOUND * math.sqrt(mdp.n)
    checkpoints = np.union1d([0], np.unique(np.geomspace(1, T, 10 if quick else 14).round().astype(np.int64)))

    def exact(state):
        out = {m: np.empty(B) for m in ("grad_norm", "J", "mu_D", "sigma", "score_max")}
        for b in range(B):
            pol = state.policy(b)
            ev = evaluate_policy(mdp, pol)
            g = policy_gradient(mdp, pol, evaluation=ev)
            erg = ergodicity_constants(mdp, pol, evaluation=ev)
            out["grad_norm"][b] = math.sqrt(sum(float((x**2).sum()) for x in g))
            out["J"][b] = ev.J
            out["mu_D"][b] = erg.mu_D
            out["sigma"][b] = erg.sigma
            out["score_max"][b] = max(score_norm_bound(pol, i) for i in range(mdp.n))
        return out

    with threadpool_limits(limits=1):
        J_best = best_deterministic_policy(mdp).value
        for rescale in inst.payload["rescale"]:
            for k in inst.payload["kappas"]:
                res = scalable_actor_critic(mdp, k, T, batch=B, alpha=THM2_ALPHA, eta=THM2_ETA, rescale=rescale,
                                            rng=rng, checkpoints=checkpoints, callback=exact)
                tr = res.trace
                G = tr.pivot(index="run", columns="iteration", values="grad_norm")
                its = G.columns.to_numpy()
                G = G.to_numpy()
                final = its >= T / 4
                per_run = G[:, final].min(axis=1)
                mu_max = float(tr["mu_D"].max())
                sigma_min = float(tr["sigma"].min())
                g0 = float(G[:, 0].max())
                bound_values = {RBAR: mdp.reward_bound * c_scale, "rho": r, "kappa": k, "mu_D": mu_max, "L": L_val}
                J_final = tr[tr["iteration"] == T]["J"].to_numpy()
                bound_here = evaluate_bound(THM2_BOUND, **bound_values)
                yield Measurement(
                    measured=float(per_run.max()),
                    values=bound_values,
                    point={"kappa": k, "rescale": bool(rescale)},
                    extra={"mean_over_runs": float(per_run.mean()), "final_per_run": per_run.tolist(),
                           "initial_grad_norm": g0, "bound_met_at_start": bool(g0 <= bound_here),
                           "window_start": int(its[final][0]), "T": T, "B": B,
                           "score_norm_max": float(tr["score_max"].max()), "L_i_uniform": SOFTMAX_SCORE_BOUND,
                           "sigma_min": sigma_min, "J_initial": float(tr[tr["iteration"] == 0]["J"].mean()),
                           "J_final_mean": float(J_final.mean()), "J_best_deterministic": J_best,
                           "assumption3": res.assumption3[1],
                           "curves": {"iterations": its.tolist(), "grad_runs": G.tolist()}},
                    assumptions=assumption4(sigma_min, mu_max, "min sigma / max mu_D over every run and checkpoint"))


def _thm2_figure(rows):
    """Specs, per instance and rescaling: the final gradient gap against kappa with the bound, and the
    exact gradient norm along training per kappa."""
    import json

    specs = []
    for name in rows["instance"].unique():
        sub = rows[rows["instance"] == name]
        for rescale in sorted(sub["point.rescale"].unique(), reverse=True):
            s = sub[sub["point.rescale"] == rescale].sort_values("point.kappa")
            ks = s["point.kappa"].to_numpy(dtype=float)
            finals = np.array([json.loads(e)["final_per_run"] for e in s["extra"]]).T  # (runs, kappas)
            label = "Gamma rescaling on (Alg. 1)" if rescale else "no rescaling (paper's experiments)"
            specs.append(DecayFigure(
                f"Theorem 2, final gap vs kappa: {name}\n{label}",
                Series(r"$\min_{t \geq T/4}\|\nabla J(\theta_t)\|$ per run", finals, x=ks),
                bounds=Series(r"Theorem 2: $Lc\rho^{\kappa+1}/(1-\mu_D)$", "bound"),
                where={"instance": name, "point.rescale": rescale},
                hlines=HLine(float(s["extra.initial_grad_norm"].iloc[0]), r"$\|\nabla J(\theta_0)\|$"),
                ylabel=r"$\|\nabla J\|$"))

            curves, bounds = [], []
            for c, (_, r) in enumerate(s.iterrows()):
                cv = json.loads(r["extra"])["curves"]
                t = np.asarray(cv["iterations"], dtype=float)
                G = np.asarray(cv["grad_runs"], dtype=float)
                keep = t > 0
                curves.append(Series(rf"$\kappa={int(r['point.kappa'])}$ (median of {G.shape[0]} runs)",
                                     G[:, keep], x=t[keep], style=Style(color=f"C{c}"), band=False))
                bounds.append(HLine(float(r["bound"]), style=Style(color=f"C{c}", linestyle="--", linewidth=1)))
            specs.append(LinesFigure(
                f"SAC, exact gradient norm (dashed: Theorem 2 bound per kappa)\n{name}, {label}",
                curves, hlines=bounds, log_x=True, log_y=True,
                xlabel="iteration $t$", ylabel=r"$\|\nabla J(\theta_t)\|$ (exact)"))
    return specs


# ============================================================================ claims
@claim_factory(
    c_scale=Fault(1.0, "multiplies rbar in the bounds of thm3a and thm2 (a wrong constant)"),
    critic_target=Fault(None, "critic_target(mdp, policy, agent, kappa, evaluation) -> table the critic iterates "
                              "are compared with in qu2020.critic (default the exact fixed point): a wrong target"),
    critic_env=Fault(None, "critic_env(mdp) -> env the critic of qu2020.critic runs on (default the model "
                           "itself): an environment that does not match the model fails the slope check"),
)
def make_claims(*, faults):
    """Build the three claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    c_scale, critic_target, critic_env = faults["c_scale"], faults["critic_target"], faults["critic_env"]
    target = _exact_target if critic_target is None else critic_target
    return [
        Claim(id="qu2020.thm3a", paper=PAPER, paper_file=PAPER_FILE, source="Theorem 3(a), eq. (13) (App. C)",
              statement="For every agent i and policy theta, the fixed point Q-hat_i of the truncated critic, shifted "
                        "by the best constant, is within c rho^(kappa+1)/(1-mu_D) of the true Q_i in the "
                        "pi^theta-weighted L2 norm, c = rbar/(1-rho) and rho from Theorem 1, mu_D from "
                        "Assumption 4.",
              latex=r"\min_{c_i}\sqrt{E_{z\sim\pi^\theta}|\hat Q_i^\theta(z_{N_i^\kappa}) + c_i - Q_i^\theta(z)|^2}"
                    r" \le \frac{c\,\rho^{\kappa+1}}{1-\mu_D}, \quad c = \frac{\bar r}{1-\rho}",
              bound=THM3A_BOUND, assumptions=_thm3a_assumptions,
              measure=lambda inst, rng, quick: _thm3a_measure(inst, rng, quick, c_scale),
              instances=_thm3a_instances, figure=_thm3a_figure, search=_thm3a_search_spaces(),
              notes="One row per (policy, agent i, kappa < ecc(i)). Exact: Q_i (full table), the critic's fixed "
                    "point (solvers.exact.critic_fixed_point), the best shift c* = E_pi[Q_i - Q-hat_i] (equal to "
                    "the paper's c_i^theta, see solvers/exact/_critic.py), mu_D and sigma per policy "
                    "(Assumption 4 is checked per policy, the theorem needs it uniformly). extra.ratio_sup_decay "
                    "compares with the tighter sup-decay(kappa)/(1-mu_D) the proof gives when the exact decay "
                    "sup of eq. (4) replaces c rho^(kappa+1): it shows how much of the looseness is Theorem 1's "
                    "constant. Instances whose Theorem 1 row sums exceed 1 are not applicable (see the table)."),
        Claim(id="qu2020.critic", paper=PAPER, paper_file=PAPER_FILE,
              source="Theorem 3(b) with theta frozen (App. C.2, eq. (15)-(16))",
              statement="With the policy frozen, the critic iterates Q-hat_i^t of Alg. 1 (lines 3-6) converge to the "
                        "fixed point Q-hat_i^theta. Checked at the rate of linear stochastic approximation: the "
                        "mean error over B runs falls from T/64 to T by at least the factor "
                        "sqrt(alpha_T/alpha_T0) (up to the allowance A = 1.5), and its log-log slope is <= 0.",
              latex=r"\frac{E(T)}{E(T/64)} \le A\Big(\frac{\tau_0 + T/64}{\tau_0 + T}\Big)^{a/2}, \quad "
                    r"E(t) = \mathbb E\max_i\|\hat Q_i^t - \hat Q_i^\theta\|_\infty, \quad "
                    r"\alpha_t \propto (\tau_0 + t)^{-a}",
              bound=CRITIC_BOUND, assumptions=_critic_assumptions,
              measure=lambda inst, rng, quick: _critic_measure(inst, rng, quick, target, critic_env),
              instances=_critic_instances, figure=_critic_figure,
              notes="Derivation of the criterion, the allowance and the power in the module docstring. E(t) is the "
                    "mean over B independent runs of the max-norm error over agents and table entries, at "
                    "log-spaced checkpoints; extra.ratio_se is its delta-method standard error, extra.ratio_z the "
                    "distance to the asymptotic prediction in standard errors, extra.detectable_offset the "
                    "smallest offset of the target the ratio check would flag. The slope row has bound 0 (the "
                    "claimed slope -a/2 is drawn in the figure and recorded). A row applies only when the exact "
                    "averaged-ODE transient at T is at most CRITIC_TRANSIENT_FRACTION of the measured error; why "
                    "the 3-agent path at kappa = 1 is not applicable, and why kappa = 1 is checked on the 2-agent "
                    "path: module docstring (the dummy pair slows the critic). B and T are in each row."),
        Claim(id="qu2020.thm2", paper=PAPER, paper_file=PAPER_FILE, source="Theorem 2 (§3.2), proof in App. D",
              statement="Under Assumptions 1-5, the Scalable Actor-Critic reaches an approximate stationary point: "
                        "liminf_T ||grad J(theta(T))|| <= L c rho^(kappa+1)/(1-mu_D), L = sqrt(sum_i L_i^2). "
                        "Checked at finite T: for every run the smallest exact gradient norm over the checkpoints "
                        "t >= T/4 must be below the bound.",
              latex=r"\liminf_{T\to\infty}\|\nabla J(\theta(T))\| \le L\,\frac{c\,\rho^{\kappa+1}}{1-\mu_D},"
                    r"\quad L = \sqrt{\textstyle\sum_i L_i^2} = \sqrt{2n}",
              bound=THM2_BOUND, assumptions=_thm2_assumptions,
              measure=lambda inst, rng, quick: _thm2_measure(inst, rng, quick, c_scale),
              instances=_thm2_instances, figure=_thm2_figure,
              notes="measured = max over runs of min_{t >= T/4} ||grad J(theta_t)|| (exact, solvers.exact."
                    "policy_gradient); extra.mean_over_runs is the mean. 'holds' means the finite-T value is below "
                    "the bound; a 'violated' row would only say that T was too short. mu_D in the bound is the "
                    "largest over every run and checkpoint, sigma the smallest, L_i = sqrt(2) the uniform softmax "
                    "bound (module docstring); extra.score_norm_max is the largest score norm met, "
                    "extra.bound_met_at_start marks rows whose bound is above ||grad J(theta_0)|| already. Step "
                    "sizes THM2_ALPHA and THM2_ETA (Assumption 3 holds; eta's large scale makes the gradient drop "
                    "visibly within the budget). Why the kappa-dependence of the bound is not visible in the gap: "
                    "module docstring; the gaps and bounds: see the table and the figure."),
    ]


for _claim in make_claims():
    register(_claim)
