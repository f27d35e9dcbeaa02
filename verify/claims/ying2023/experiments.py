r"""ying2023 has no experiments; the toolkit's reproduction E2 (guide §8.3): Algorithm 1's exact learning curves.

``ying2023.e2`` (toolkit-defined, labelled as such): Algorithm 1 on a 6-agent line with mixture kernels
(:func:`~netmarl_verify.envs.mixture_line`, Assumption 1 metered by the other claims), γ = 0.7, a local
state-entropy utility on odd agents and a linear one on even agents, ξ uniform, tabular κ-hop softmax,
κ ∈ {0, 1, 2}, exact and TD oracles. Rows: the exact :math:`F(\theta^t)` at every checkpoint, checked
against the global optimum :math:`f^*` over all of Λ (Frank-Wolfe, certified gap): :math:`F(\theta^t)
\le f^* + \text{gap}` must hold for every policy, so a violation means a wrong solver or utility (the
check can fail: the broken input scales F). ``extra.grad_norm2`` is :math:`\|\nabla F(\theta^t)\|^2`. The
figure draws the exact curves per κ and oracle with :math:`f^*`.

``ying2023.e1`` (toolkit-defined, guide §8.3 E1): the decay in κ of Lemma 2's sup
:math:`\max_i\sup_{(s,a)\sim_{N_i^\kappa}(s',a')}|Q_i(s,a) - Q_i(s',a')|` and of Proposition 1's error
:math:`\max_i\|\hat g_i - \nabla_{\theta_i}F\|`, on log axes with :math:`\inf_\rho c_0\phi_0^\kappa` and the
:math:`c_0\phi_0^{\kappa+1}` line, on the relay (κ-hop policies, with and without coupling), random κ-hop
policies, random local policies, and mixture kernels with tunable α (local policies). Rows check the two
bounds (so the relay rows are violated: the finding of ``ying2023.lemma2``, drawn here beside the families
where the bounds hold), and the figure overlays the α sweep.

``ying2023.e5`` (toolkit-defined, optional E5): the follow-up's synthetic "linemsg" line
(:func:`~netmarl_verify.envs.linemsg`, guide §8.2) exactly at n = 6 and 8 with a random κ = 2 softmax and the
local state-entropy utility of the follow-up's constraint: Assumption 1's meter and Lemma 2's decay. Finding:
at the follow-up's γ = 0.99 Assumption 1 fails on its own environment: :math:`s_i' ` depends on
:math:`(a_i, s_{i+1})`, the β = 0 row sums are 1.2 against :math:`1/\gamma = 1.0101`; it holds for
:math:`\gamma < 1/1.2`, and the rows at γ = 0.8 check Lemma 2 there.
"""

import numpy as np

from netmarl_verify import envs
from netmarl_verify.errors import AssumptionError
from netmarl_verify.solvers.exact import StateEntropyUtility, decay_profile, truncated_shadow_gradient, utility_optimum
from netmarl_verify.solvers.sampled import run_shadow_pg
from netmarl_verify.verify import (
    Claim,
    DecayFigure,
    Fault,
    HLine,
    Instance,
    LinesFigure,
    Measurement,
    Series,
    claim_factory,
    instance_seed,
    register,
)

from ._common import MIXTURE, PAPER, PAPER_FILE, assumption1_rows, bound_lemma2, make_instance, measured_mf, problem_of
from .decay import ROUNDING_ATOL, SOFTMAX_M_PSI, _mixture, _random_khop, _relay, _search_spaces

__all__ = ["make_claims", "E2_KAPPAS", "E1_ALPHAS", "E5_SIZES", "E5_GAMMAS"]

E2_KAPPAS = (0, 1, 2)
#: Actor step of E2 (constant; Theorem 1 asks for eta <= 1/(4 L_theta), unknown: chosen so the curves move in 40 steps).
E2_ETA = 5.0


def _instances(quick, seed):
    name = "E2 mixture_line n=6 gamma=0.7"
    rng = np.random.default_rng(instance_seed(seed, name))
    inst = envs.mixture_line(6 if not quick else 4, 1.0, rng, gamma=0.7, kappa=0, scale=0.5)
    yield make_instance(inst, "entropy", family=MIXTURE, seed=seed, name=name if not quick else name.replace("6", "4"))


def _measure(instance, rng, quick, value_scale=1.0):
    inst, utils = instance.payload["inst"], instance.payload["utilities"]
    mdp = inst.mdp
    opt = utility_optimum(mdp, inst.gamma, utils, inst.initial, gap_tol=1e-9, max_iter=3000)
    T = 10 if quick else 40
    seed = int(rng.integers(0, 2**63 - 1))
    for kappa in E2_KAPPAS:
        start = envs.KHopSoftmaxPolicy.uniform(mdp, kappa)
        problem = (mdp, start, inst.gamma, inst.initial)
        for oracle in ("exact", "td"):
            res = run_shadow_pg(problem, utils, kappa, T=T, B=20, H=20, eta_theta=E2_ETA, oracle=oracle,
                                rng=seed + kappa, checkpoints=range(0, T + 1, 2), exact_metrics=("F", "grad_norm2"))
            for _, row in res.trace.iterrows():
                yield Measurement(measured=float(row["F"]) * value_scale, bound=opt.value + opt.gap,
                                  point={"kappa": kappa, "oracle": oracle, "t": int(row["iteration"])},
                                  extra={"grad_norm2": float(row["grad_norm2"]), "f_star": opt.value,
                                         "fw_gap": opt.gap, "seed": seed + kappa})


def _figure(rows):
    if rows.empty:
        return None
    f_star = float(rows["extra.f_star"].iloc[0])
    series = [Series(f"kappa = {k}, {o} oracle", "measured", where={"point.kappa": k, "point.oracle": o})
              for k in E2_KAPPAS for o in ("exact", "td")]
    grads = [Series(f"kappa = {k}, {o} oracle", "extra.grad_norm2", where={"point.kappa": k, "point.oracle": o})
             for k in E2_KAPPAS for o in ("exact", "td")]
    return [LinesFigure("E2 (toolkit-defined): Algorithm 1, exact F(theta_t)", series, x="point.t",
                        hlines=[HLine(f_star, r"$f^*$ over $\Lambda$")], xlabel="iteration $t$", ylabel=r"$F(\theta_t)$",
                        band=None),
            LinesFigure(r"E2: $\|\nabla F(\theta_t)\|^2$", grads, x="point.t", log_y=True, xlabel="iteration $t$",
                        ylabel=r"$\|\nabla F\|^2$", band=None)]


# ============================================================================ E1: decay in kappa
#: The mixture kernels' decay rates alpha of E1 (w_ij proportional to e^{-alpha d(i,j)}).
E1_ALPHAS = (0.5, 1.0, 2.0)


def _e1_instances(quick, seed):
    n = 4 if quick else 5
    yield _relay(2, 0.0, seed)
    yield _relay(2, 0.01, seed)
    yield _random_khop(n, 1, 0.3, seed)
    yield _random_khop(n, 0, 0.3, seed)  # kappa_pi = 0: random local policies
    for alpha in (E1_ALPHAS[::2] if quick else E1_ALPHAS):
        yield _mixture(n, alpha, seed, local=True)


def _e1_measure(instance, rng, quick, c0_scale=1.0):
    inst = instance.payload["inst"]
    mdp = inst.mdp
    n = mdp.n
    prob = problem_of(instance)
    mf = measured_mf(prob)
    grad = prob.gradient()
    zero = (np.zeros(n, dtype=np.int64),) * 2
    reference = inst.reference or zero
    kappas = list(range(int(mdp.distances.max())))
    sups = np.array([decay_profile(prob.shadow_mdp, inst.policy, i, kappas, inst.gamma, method="sup").values
                     for i in range(n)])  # (n, K)
    for k, kappa in enumerate(kappas):
        bound, rho_star = bound_lemma2(instance, mf, kappa, c0_scale)
        bound1, _ = bound_lemma2(instance, mf, kappa + 1, c0_scale)
        ghat = truncated_shadow_gradient(prob, kappa, reference)
        errs = [float(np.linalg.norm(ghat[i] - grad[i])) for i in range(n)]
        kappa_pi = getattr(inst.policy, "kappa", 0) or 0
        extra = {"M_f": mf, "rho_star": rho_star, "kappa_pi": kappa_pi, "alpha": inst.params.get("alpha")}
        i = int(np.argmax(sups[:, k]))
        yield Measurement(measured=float(sups[i, k]), bound=bound, point={"kappa": kappa, "check": "Lemma 2 (I)"},
                          extra={**extra, "agent": i, "bound_kappa_plus_1": bound1})
        i = int(np.argmax(errs))
        scale = SOFTMAX_M_PSI / (1.0 - inst.gamma)
        yield Measurement(measured=errs[i], bound=bound * scale, point={"kappa": kappa, "check": "Prop. 1"},
                          extra={**extra, "agent": i, "bound_kappa_plus_1": bound1 * scale})


def _e1_figure(rows):
    if rows.empty:
        return None
    specs = []
    for name in rows["instance"].unique():
        if "alpha=" in name:
            continue
        specs.append(DecayFigure(
            f"E1: {name}",
            [Series(r"Lemma 2: $\max_i\sup|Q_i-Q_i'|$", "measured", where={"point.check": "Lemma 2 (I)"}),
             Series(r"Prop. 1: $\max_i\|\hat g_i-\nabla_iF\|$", "measured", where={"point.check": "Prop. 1"})],
            bounds=[Series(r"$\inf_\rho c_0\phi_0^\kappa$", "bound", where={"point.check": "Lemma 2 (I)"}),
                    Series(r"$c_0\phi_0^{\kappa+1}$", "extra.bound_kappa_plus_1", where={"point.check": "Lemma 2 (I)"}),
                    Series(r"$c_0\phi_0^\kappa M_\psi/(1-\gamma)$", "bound", where={"point.check": "Prop. 1"})],
            where={"instance": name}, ylabel="value", legend="below"))
    mixtures = [nm for nm in rows["instance"].unique() if "alpha=" in nm]
    if mixtures:
        series, bounds = [], []
        for nm in mixtures:
            alpha = nm.split("alpha=")[1].split()[0]
            series.append(Series(rf"$\alpha = {alpha}$", "measured", where={"instance": nm, "point.check": "Lemma 2 (I)"}))
            bounds.append(Series(rf"bound, $\alpha = {alpha}$", "bound", where={"instance": nm, "point.check": "Lemma 2 (I)"}))
        specs.append(DecayFigure("E1: mixture kernels, local policies: Lemma 2's sup against alpha", series,
                                 bounds=bounds, ylabel=r"$\max_i\sup|Q_i-Q_i'|$", legend="below"))
    return specs


# ============================================================================ E5: linemsg
#: Sizes of the exact linemsg runs (quick, full) and the discounts: the follow-up's 0.99 and one inside Assumption 1.
E5_SIZES = ((4,), (6, 8))
E5_GAMMAS = (0.99, 0.8)


def _e5_instances(quick, seed):
    for n in E5_SIZES[0 if quick else 1]:
        for gamma in E5_GAMMAS:
            name = f"linemsg n={n} gamma={gamma} kappa=2"
            inst = envs.linemsg(n, gamma, 2, np.random.default_rng(instance_seed(seed, name)), scale=1.0)
            utils = [StateEntropyUtility(gamma) for _ in range(n)]
            yield Instance(name=name, params={**inst.params, "utility": "state entropy"},
                           payload={"inst": inst, "utilities": utils},
                           size=float(inst.mdp.n_states * inst.mdp.n_actions), family="linemsg")


def _e5_measure(instance, rng, quick, c0_scale=1.0):
    inst = instance.payload["inst"]
    mdp = inst.mdp
    prob = problem_of(instance)
    mf = measured_mf(prob)
    kappas = list(range(int(mdp.distances.max())))
    sups = np.array([decay_profile(prob.shadow_mdp, inst.policy, i, kappas, inst.gamma, method="sup").values
                     for i in range(mdp.n)])
    trivial = 2 * inst.gamma * mf / (1 - inst.gamma)
    for k, kappa in enumerate(kappas):
        try:
            bound, rho_star = bound_lemma2(instance, mf, kappa, c0_scale)
        except AssumptionError:  # no admissible rho: the row is not applicable (Assumption 1's row says why)
            bound, rho_star = trivial, float("nan")
        i = int(np.argmax(sups[:, k]))
        yield Measurement(measured=float(sups[i, k]), bound=bound, point={"kappa": kappa},
                          extra={"agent": i, "M_f": mf, "rho_star": rho_star, "F": prob.value,
                                 "trivial_bound": trivial, "bound_is_trivial": bool(rho_star != rho_star)})


def _e5_figure(rows):
    if rows.empty:
        return None
    series = [Series(nm.replace(" kappa=2", ""), "measured", where={"instance": nm}) for nm in rows["instance"].unique()]
    return DecayFigure("E5: linemsg, Lemma 2's sup of the entropy shadow Q (exact)", series,
                       ylabel=r"$\max_i\sup|Q_i-Q_i'|$", legend="below")


@claim_factory(value_scale=Fault(1.0, "multiplies the exact F(theta_t) (a wrong utility scale or solver)"),
               c0_scale=Fault(1.0, "multiplies c0 in the decay bounds of E1 and E5: a wrong constant"))
def make_claims(*, faults):
    """Build the reproduction claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    return [Claim(id="ying2023.e1", source="toolkit-defined reproduction E1 (Lemma 2, Proposition 1)", paper=PAPER,
                  paper_file=PAPER_FILE,
                  statement="Decay in kappa of the shadow Q (Lemma 2 (I)) and of the truncated-gradient error "
                            "(Proposition 1) against inf_rho c0 phi0^kappa on the relay, random kappa-hop and local "
                            "policies and mixture kernels with tunable alpha.",
                  latex=r"\max_i\sup_{(s,a)\sim_{N_i^\kappa}(s',a')}|Q_i-Q_i'|\le c_0\phi_0^\kappa,\ "
                        r"\max_i\|\hat g_i-\nabla_iF\|\le\frac{c_0\phi_0^\kappa M_\psi}{1-\gamma}",
                  assumptions=assumption1_rows,
                  measure=lambda inst, rng, quick: _e1_measure(inst, rng, quick, f["c0_scale"]),
                  instances=_e1_instances, figure=_e1_figure, atol=ROUNDING_ATOL, search=_search_spaces(),
                  notes="Toolkit-defined (guide §8.3 E1). The relay rows are violated: Lemma 2's finding for "
                        "kappa-hop policies (see ying2023.lemma2); local-policy families hold. M_f measured at theta, "
                        "M_psi = sqrt 2, reference 0."),
            Claim(id="ying2023.e2", source="toolkit-defined reproduction E2 (the paper has no experiments)",
                  paper=PAPER, paper_file=PAPER_FILE,
                  statement="Algorithm 1's exact learning curves F(theta_t) and ||grad F(theta_t)||^2 for kappa in "
                            "{0, 1, 2}, exact and TD oracles, never above the global optimum f* over Lambda.",
                  latex=r"F(\theta^t)\le f^*=\max_{\lambda\in\Lambda}\tfrac1n\textstyle\sum_if_i(\lambda_i)",
                  measure=lambda inst, rng, quick: _measure(inst, rng, quick, f["value_scale"]),
                  instances=_instances, figure=_figure,
                  notes="Toolkit-defined (guide §8.3 E2): the paper has no experiment. B = H = 20, eta = 5, from the "
                        "uniform kappa-hop policy. bound = f* + Frank-Wolfe's certified gap."),
            Claim(id="ying2023.e5", source="toolkit-defined reproduction E5 (the follow-up's linemsg, Assumption 1)",
                  paper=PAPER, paper_file=PAPER_FILE,
                  statement="On the follow-up's synthetic linemsg line, exactly (n = 6, 8, kappa = 2, local state "
                            "entropy): Assumption 1 metered, and Lemma 2's decay sup against inf_rho c0 phi0^kappa "
                            "where Assumption 1 holds.",
                  latex=r"\max_i\sum_jM_{ij}<1/\gamma\ \Rightarrow\ \sup|Q_i-Q_i'|\le c_0\phi_0^\kappa",
                  assumptions=assumption1_rows,
                  measure=lambda inst, rng, quick: _e5_measure(inst, rng, quick, f["c0_scale"]),
                  instances=_e5_instances, figure=_e5_figure, atol=ROUNDING_ATOL,
                  notes="Toolkit-defined (guide §8.3 E5, optional). Finding: at the follow-up's gamma = 0.99 "
                        "Assumption 1 fails (row sums 1.2 > 1/gamma = 1.0101: s_i' depends on a_i and s_{i+1}), so "
                        "those rows are not applicable; at gamma = 0.8 it holds and Lemma 2 is checked. The "
                        "follow-up's reward (0.1 1[s_i' = 1], agent 0's x10) is replaced by the entropy utility of its "
                        "constraint: a linear utility of lambda_i cannot express a reward on (s_{N_i}, a_i).")]


for _claim in make_claims():
    register(_claim)
