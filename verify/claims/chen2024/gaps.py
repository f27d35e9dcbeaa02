r"""chen2024: the gaps of Def. 1-2, the coverage constant M, and Lemmas 2-3 at stationary points.

``chen2024.def1_nashgap`` the BN best response (policy iteration on the augmented states :math:`(s,a^{P^i})`)
                          equals brute force over every deterministic rule :math:`a^i(s,a^{P^i})` and the dense
                          augmented MDP; on the empty DAG it equals the product-policy
                          :func:`~netmarl_verify.solvers.exact.best_response`; the gap is a **max** over agents.
``chen2024.def2_optgap``  :math:`V^*` by policy iteration = LP = value iteration; optimality-gap >= Nash-gap >= 0.
``chen2024.assump1``      :math:`M=\max_s\max_\pi d^\pi(s)/\min_{\pi'}d^{\pi'}(s)` (2|S| MDP solves) with
                          :math:`1\le M\le1/((1-\gamma)\min_s\mu(s))`.
``chen2024.lemma2``       at stationary points of :math:`L_\lambda` (L-BFGS, analytic gradient), Nash-gap <= 2λM.
``chen2024.lemma3``       fully correlated DAG (Def. 3): optimality-gap <= :math:`2^{N+1}N\lambda M`.

Readings. Deviation class of Def. 1 for a BN policy: :math:`\bar\pi^i(a^i|s,a^{P^i})` (same parents, A.2 changes
θ^i only); the others' conditional given :math:`a^{P_+^i}` (guide §8). :math:`M_{\rm eff}` (extra) is the ratio
:math:`\max_s\tilde d^{\pi'}(s)/\tilde d^{\pi_\theta}(s)` with π' the maximising deviation (Lemma 2) or π* (Lemma 3), the
ratio inside the proofs. The stationary point must satisfy the statement's threshold
:math:`\|\nabla L_\lambda\|\le\lambda/(2|S||\mathcal A|\max_i|\mathcal A^i|)` (a point assumption); rows also report A.3's threshold
:math:`\lambda/(2|S|\max_i|\mathcal A^i|)`. The search of θ at the thresholds for the worst gap is
``chen2024.lemma2_threshold`` / ``lemma3_threshold`` (:mod:`.structure`); the per-action proof steps (4)-(8) at these
points are ``chen2024.lemma2_steps`` / ``lemma3_steps`` (:mod:`.proof_steps`).
"""

import itertools
import math

import numpy as np

from netmarl_verify.envs._bn_games import BayesianNetwork, BNSoftmaxPolicy
from netmarl_verify.solvers.exact import best_response, policy_iteration
from netmarl_verify.solvers.exact._bn_exact import (
    augmented_mdp,
    bn_evaluate,
    bn_gradient,
    bn_nash_gap,
    bn_optimal_value,
    brute_force_best_gain,
    deviation_joint_table,
    visitation_ratio,
)
from netmarl_verify.verify import (
    Assumption,
    Claim,
    Fault,
    LinesFigure,
    Measurement,
    Series,
    assume_at_most,
    claim_factory,
    register,
)

from ._common import (
    PAPER,
    PAPER_FILE,
    log_lam_space,
    make_instance,
    meter_rows,
    mismatch_of,
    random_space,
    random_theta,
    stationary_point,
    thresholds,
    vstar_of,
)

__all__ = ["make_claims"]

EXACT_TOL = 1e-9


# ----------------------------------------------------------------------------- Def. 1 / Def. 2 / Assumption 1
def _small_instances(quick, seed):
    yield make_instance("chain3", seed, gamma=0.9)
    yield make_instance("random", seed, S=2, N=3, A=2, gamma=0.9, dag="full")
    yield make_instance("random", seed, S=2, N=2, A=2, gamma=0.5, dag="product")
    yield make_instance("miscoordinated_full", seed, c=8.0)
    if not quick:
        yield make_instance("random", seed, S=2, N=3, A=2, gamma=0.95, dag="star")
        yield make_instance("climbing", seed, dag="chain")
        yield make_instance("coord2", seed, dag="chain", gamma=0.9)


def _policies(instance):
    bn = instance.payload["bn"]
    yield "theta0", bn.policy()
    yield "gaussian", bn.policy(random_theta(instance, "gaps gaussian", 1.0))
    yield "gaussian x4", bn.policy(random_theta(instance, "gaps gaussian x4", 4.0))


def _def1_measure(instance, rng, quick, aggregate="max"):
    bn = instance.payload["bn"]
    game = bn.game
    for label, pol in _policies(instance):
        gap, brs = bn_nash_gap(game, pol, aggregate=aggregate)
        brute = [brute_force_best_gain(game, pol, i) for i in range(game.n_agents)]
        scale = max(1.0, game.delta_r / (1 - game.gamma))
        yield Measurement(measured=abs(gap - max(brute)), bound=EXACT_TOL * scale,
                          point={"theta": label, "check": "Nash gap = brute force (max over agents)"},
                          extra={"gap": gap, "brute": max(brute), "sum_of_gains": sum(brute)})
        yield Measurement(measured=-min(b.gain for b in brs), bound=EXACT_TOL * scale,
                          point={"theta": label, "check": "every gain >= 0"})
        k = int(np.argmax([b.gain for b in brs]))
        mdp, mu = augmented_mdp(game, pol, k)
        dense = float(mu @ policy_iteration(mdp, game.gamma).V)
        yield Measurement(measured=abs(dense - brs[k].value), bound=EXACT_TOL * scale,
                          point={"theta": label, "check": "reduced PI = dense augmented PI"})
        if not bn.dag.edges:
            tables = [t[:, 0, :] for t in pol.local_tables()]
            prod = max(best_response(game.mdp, game.action_sizes, tables, i, game.gamma, game.mu).gain
                       for i in range(game.n_agents))
            yield Measurement(measured=abs(prod - gap), bound=EXACT_TOL * scale,
                              point={"theta": label, "check": "empty DAG = product best_response"})


def _def2_measure(instance, rng, quick, gap_sign=1.0):
    bn = instance.payload["bn"]
    game = bn.game
    scale = max(1.0, game.delta_r / (1 - game.gamma))
    v_pi, _ = bn_optimal_value(game, "policy_iteration")
    v_lp, _ = bn_optimal_value(game, "lp")
    v_vi, _ = bn_optimal_value(game, "value_iteration")
    yield Measurement(measured=abs(v_pi - v_lp), bound=1e-7 * scale, point={"theta": "-", "check": "V* PI = LP"})
    yield Measurement(measured=abs(v_pi - v_vi), bound=1e-9 * scale, point={"theta": "-", "check": "V* PI = VI"})
    for label, pol in _policies(instance):
        opt = gap_sign * (v_pi - bn_evaluate(game, pol).value)
        nash = bn_nash_gap(game, pol)[0]
        yield Measurement(measured=nash - opt, bound=EXACT_TOL * scale,
                          point={"theta": label, "check": "Nash-gap <= optimality-gap"},
                          extra={"nash_gap": nash, "optimality_gap": opt})
        yield Measurement(measured=-opt, bound=EXACT_TOL * scale, point={"theta": label, "check": "optimality-gap >= 0"})


def _assump1_measure(instance, rng, quick, bound_scale=1.0):
    game = instance.payload["bn"].game
    Mc = mismatch_of(instance)
    # brute force over deterministic joint policies (tiny games): the same extremes
    nS, nA = game.n_states, game.n_actions
    if nA ** nS <= 4096:
        ds = np.array([bn_evaluate(game, np.eye(nA)[list(c)]).d_tilde for c in itertools.product(range(nA), repeat=nS)])
        yield Measurement(measured=float(max(np.abs(ds.max(0) - Mc.d_max).max(), np.abs(ds.min(0) - Mc.d_min).max())),
                          bound=1e-10, point={"check": "extremes = brute force over deterministic joint policies"})
    yield Measurement(measured=1.0 - Mc.M, bound=0.0, point={"check": "M >= 1"}, extra={"M": Mc.M})
    yield Measurement(measured=Mc.M, bound=bound_scale / ((1 - game.gamma) * float(game.mu.min())),
                      point={"check": "M <= 1/((1-gamma) min mu)"}, extra={"min_d_tilde": float(Mc.d_min.min())})


# ----------------------------------------------------------------------------- Lemmas 2-3
def _lemma2_instances(quick, seed):
    yield make_instance("coord2", seed, dag="product")
    yield make_instance("climbing", seed, dag="chain")
    yield make_instance("and3", seed, dag="inward_star")
    yield make_instance("random", seed, S=2, N=2, A=2, gamma=0.9, dag="chain")
    if not quick:
        yield make_instance("climbing", seed, dag="product")
        yield make_instance("random", seed, S=3, N=3, A=2, gamma=0.5, dag="product")
        yield make_instance("chain3", seed, gamma=0.5)
        yield make_instance("mod3", seed)


def _lemma3_instances(quick, seed):
    yield make_instance("coord2", seed, dag="full")
    yield make_instance("climbing3", seed)
    yield make_instance("random", seed, S=2, N=2, A=2, gamma=0.9, dag="full")
    if not quick:
        yield make_instance("single_state", seed, N=3, kind="climbing")
        yield make_instance("single_state", seed, N=4, kind="and")
        yield make_instance("random", seed, S=2, N=3, A=2, gamma=0.5, dag="full")


def _starts(instance, quick):
    bn = instance.payload["bn"]
    yield "theta0 + 0.01 noise", [t + u for t, u in zip(bn.theta0, random_theta(instance, "start noise", 0.01))]
    yield "gaussian", random_theta(instance, "start gaussian", 1.0)
    if not quick:
        yield "gaussian x5", random_theta(instance, "start gaussian x5", 5.0)


def _lams(instance, quick):
    if "lam" in instance.params and instance.params["lam"] is not None:
        return (float(instance.params["lam"]),)
    return (0.1, 0.01) if quick else (0.1, 0.03, 0.01, 0.003, 0.001)


def _stationary_rows(instance, quick, which, bound_scale):
    """The rows of :func:`_stationary_rows_one_thread`, computed with one BLAS thread.

    The ascent to a near-stationary point runs thousands of small solves; with several BLAS threads
    their rounding (and so the point reached, at 1e-9 relative) would depend on the thread count,
    and reruns must be bit-identical across thread counts (tests/verify/test_reruns.py).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return list(_stationary_rows_one_thread(instance, quick, which, bound_scale))


def _stationary_rows_one_thread(instance, quick, which, bound_scale):
    bn = instance.payload["bn"]
    game = bn.game
    Mc = mismatch_of(instance)
    N = game.n_agents
    for lam in _lams(instance, quick):
        th = thresholds(game, lam)
        for label, theta in _starts(instance, quick):
            pol, gnorm = stationary_point(game, bn.policy(theta), lam)
            ev = bn_evaluate(game, pol)
            point_assumptions = [assume_at_most("||grad L|| <= lambda/(2|S||A|max|A^i|) (statement)", gnorm,
                                                th["statement"])]
            extra = {"grad_norm": gnorm, "threshold_statement": th["statement"], "threshold_A3": th["A.3"],
                     "M": Mc.M}
            if which == "nash":
                gap, brs = bn_nash_gap(game, pol)
                k = int(np.argmax([b.gain for b in brs]))
                meff = visitation_ratio(game, deviation_joint_table(pol, k, brs[k].rule), ev.joint)
                bound = 2 * lam * Mc.M
                extra.update(M_eff=meff, ratio_M_eff=gap / (2 * lam * meff), agent=k,
                             agent_gain_over_2lamM_over_AP=brs[k].gain / (2 * lam * Mc.M / pol.parent_sizes[k]))
            else:
                gap = vstar_of(instance) - ev.value
                _, opt = bn_optimal_value(game)
                pistar = np.eye(game.n_actions)[opt.policy]
                meff = visitation_ratio(game, pistar, ev.joint)
                bound = 2 ** (N + 1) * N * lam * Mc.M
                marg = bn_gradient(game, pol, lam, evaluation=ev).parent_marginal
                step = min(float(m.min()) * 2**N * ps for m, ps in zip(marg, pol.parent_sizes))
                extra.update(M_eff=meff, ratio_M_eff=gap / (2 ** (N + 1) * N * lam * meff),
                             A4_min_parent_marginal_times_2N_AP=step, nash_gap=bn_nash_gap(game, pol)[0])
            yield Measurement(measured=gap, bound=bound_scale * bound, point={"lam": lam, "theta0": label},
                              extra=extra, assumptions=point_assumptions)


def _def3_assumption(instance):
    dag = instance.payload["bn"].dag
    return meter_rows(instance) + [Assumption("fully correlated DAG (Def. 3)", dag.is_fully_correlated,
                                              float(len(dag.edges)), f"= N(N-1)/2 = "
                                              f"{dag.n_agents * (dag.n_agents - 1) // 2}", str(dag.parents))]


def _lam_figure(rows, title):
    specs = []
    for name in list(rows["instance"].unique())[:2]:
        sub = rows[rows["instance"] == name]
        if sub["point.lam"].nunique() < 2:
            continue
        label = sub["point.theta0"].iloc[0]
        specs.append(LinesFigure(f"{title}: {name}", [Series("measured gap", "measured", where={"point.theta0": label})],
                                 x="point.lam", where={"instance": name},
                                 bounds=[Series("bound", "bound", where={"point.theta0": label})],
                                 log_x=True, log_y=True, xlabel=r"$\lambda$", ylabel="gap", band=None))
    return specs


@claim_factory(
    aggregate=Fault("max", "'sum': the NashConv-style sum over agents instead of Def. 1's max"),
    gap_sign=Fault(1.0, "-1: the optimality gap with its sign flipped (negative gaps, cf. OpenSpiel #486)"),
    m_bound_scale=Fault(1.0, "multiplies 1/((1-gamma) min mu) in the bound on M (0.01: a wrong constant)"),
    bound_scale=Fault(1.0, "multiplies 2 lambda M (Lemma 2) and 2^{N+1} N lambda M (Lemma 3) (1e-3: a wrong constant)"),
)
def make_claims(*, faults):
    """Build the Def. 1-2, Assumption 1 and Lemma 2-3 claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, assumptions=meter_rows)
    return [
        Claim(id="chen2024.def1_nashgap", source="Definition 1", instances=_small_instances, **common,
              search=(random_space(),),
              statement="Nash-gap(pi) = max_i (max over pi-bar^i(a^i|s,a^{P^i}) of V_{pi-bar^i, pi^{-i}}(mu) - V_pi(mu)); "
                        "computed exactly by policy iteration on the augmented states (s, a^{P^i}).",
              latex=r"\text{Nash-gap}(\pi)=\max_i\Big(\max_{\bar\pi^i}V_{\bar\pi^i,\pi^{-i}}(\mu)-V_\pi(\mu)\Big)",
              measure=lambda inst, rng, quick: _def1_measure(inst, rng, quick, f["aggregate"]),
              notes="Brute force enumerates every deterministic rule a^i(s, a^P); the dense augmented MDP is a third "
                    "route; the empty DAG is also checked against the product best_response."),
        Claim(id="chen2024.def2_optgap", source="Definition 2", instances=_small_instances, **common,
              search=(random_space(),),
              statement="optimality-gap(pi) = V*(mu) - V_pi(mu) >= Nash-gap(pi) >= 0, V* over all joint policies.",
              latex=r"\text{optimality-gap}(\pi)=\max_{\pi^*}V_{\pi^*}(\mu)-V_\pi(\mu)\ \ge\ \text{Nash-gap}(\pi)\ \ge0",
              measure=lambda inst, rng, quick: _def2_measure(inst, rng, quick, f["gap_sign"]),
              notes="V* by policy iteration, LP (HiGHS, 1e-7 relative: its tolerances) and value iteration."),
        Claim(id="chen2024.assump1", source="Assumption 1; Lemma 2 (definition of M)", instances=_small_instances,
              **common, search=(random_space(),),
              statement="M = max_{pi,pi'} ||d^pi / d^pi'||_inf is finite under Assumption 1, 1 <= M <= "
                        "1/((1-gamma) min_s mu(s)).",
              latex=r"1\le M=\max_s\frac{\max_\pi d_\mu^\pi(s)}{\min_{\pi'}d_\mu^{\pi'}(s)}\le\frac{1}{(1-\gamma)\min_s\mu(s)}",
              measure=lambda inst, rng, quick: _assump1_measure(inst, rng, quick, f["m_bound_scale"]),
              notes="Each extreme of d(s) is an MDP with reward +-e_s (policy iteration, deterministic joint "
                    "policies suffice); brute force over deterministic joint policies on tiny games."),
        Claim(id="chen2024.lemma2", source="Lemma 2; App. A.2", instances=_lemma2_instances, **common,
              search=(random_space(dags=("product", "chain", "star")),
                      log_lam_space("climbing", {"dag": "chain"}, "the climbing game with the chain DAG, lambda searched")),
              statement="If ||grad L_lambda(theta)||_2 <= lambda/(2|S||A| max_i |A^i|), the BN policy pi_theta is "
                        "2 lambda M-Nash.",
              latex=r"\|\nabla_\theta L_\lambda(\theta)\|_2\le\frac{\lambda}{2|\mathcal S||\mathcal A|\max_i|\mathcal A^i|}"
                    r"\ \Longrightarrow\ \text{Nash-gap}(\pi_\theta)\le2\lambda M",
              measure=lambda inst, rng, quick: _stationary_rows(inst, quick, "nash", f["bound_scale"]),
              figure=lambda rows: _lam_figure(rows, "Lemma 2: Nash gap at stationary points vs lambda"),
              rtol=1e-6, atol=1e-9,
              notes="Stationary points by L-BFGS (analytic gradient, gtol 1e-11); the threshold is a point assumption. "
                    "extra.M_eff / ratio_M_eff: the proof's effective ratio; atol 1e-9 covers the L-BFGS residual."),
        Claim(id="chen2024.lemma3", source="Lemma 3; Definition 3; App. A.4", instances=_lemma3_instances,
              paper=PAPER, paper_file=PAPER_FILE, assumptions=_def3_assumption,
              search=(random_space(dags=("full",)),
                      log_lam_space("climbing3", {}, "the 3-agent climbing game (full DAG), lambda searched")),
              statement="For a fully correlated BN policy, if ||grad L_lambda(theta)||_2 <= lambda/(2|S||A| max_i |A^i|), "
                        "pi_theta is 2^{N+1} N lambda M-optimal.",
              latex=r"|\mathcal E|=\tfrac{N(N-1)}2,\ \|\nabla_\theta L_\lambda(\theta)\|_2\le\frac{\lambda}{2|\mathcal S||\mathcal A|"
                    r"\max_i|\mathcal A^i|}\ \Longrightarrow\ \text{optimality-gap}(\pi_\theta)\le2^{N+1}N\lambda M",
              measure=lambda inst, rng, quick: _stationary_rows(inst, quick, "optimality", f["bound_scale"]),
              figure=lambda rows: _lam_figure(rows, "Lemma 3: optimality gap at stationary points vs lambda"),
              rtol=1e-6, atol=1e-9,
              notes="Full DAG only (Def. 3 is an assumption: other DAGs are 'not applicable'). "
                    "extra.A4_min_parent_marginal_times_2N_AP: A.4's step 'pi(a^P|s) >= 1/(2^N |A^P|)' asserts >= 1."),
    ]


for _claim in make_claims():
    register(_claim)
