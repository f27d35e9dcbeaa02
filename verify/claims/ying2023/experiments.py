r"""ying2023 has no experiments; the toolkit's reproduction E2 (guide §8.3): Algorithm 1's exact learning curves.

``ying2023.e2`` (toolkit-defined, labelled as such): Algorithm 1 on a 6-agent line with mixture kernels
(:func:`~netmarl_verify.envs.mixture_line`, Assumption 1 metered by the other claims), γ = 0.7, a local
state-entropy utility on odd agents and a linear one on even agents, ξ uniform, tabular κ-hop softmax,
κ ∈ {0, 1, 2}, exact and TD oracles. Rows: the exact :math:`F(\theta^t)` at every checkpoint, checked
against the global optimum :math:`f^*` over all of Λ (Frank-Wolfe, certified gap): :math:`F(\theta^t)
\le f^* + \text{gap}` must hold for every policy, so a violation means a wrong solver or utility (the
check can fail: the broken input scales F). ``extra.grad_norm2`` is :math:`\|\nabla F(\theta^t)\|^2`. The
figure draws the exact curves per κ and oracle with :math:`f^*`.
"""

import numpy as np

from netmarl_verify import envs
from netmarl_verify.solvers.exact import utility_optimum
from netmarl_verify.solvers.sampled import run_shadow_pg
from netmarl_verify.verify import Claim, Fault, HLine, LinesFigure, Measurement, Series, claim_factory, instance_seed, register

from ._common import MIXTURE, PAPER, PAPER_FILE, make_instance

__all__ = ["make_claims", "E2_KAPPAS"]

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


@claim_factory(value_scale=Fault(1.0, "multiplies the exact F(theta_t) (a wrong utility scale or solver)"))
def make_claims(*, faults):
    """Build the reproduction claim (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    return [Claim(id="ying2023.e2", source="toolkit-defined reproduction E2 (the paper has no experiments)",
                  paper=PAPER, paper_file=PAPER_FILE,
                  statement="Algorithm 1's exact learning curves F(theta_t) and ||grad F(theta_t)||^2 for kappa in "
                            "{0, 1, 2}, exact and TD oracles, never above the global optimum f* over Lambda.",
                  latex=r"F(\theta^t)\le f^*=\max_{\lambda\in\Lambda}\tfrac1n\textstyle\sum_if_i(\lambda_i)",
                  measure=lambda inst, rng, quick: _measure(inst, rng, quick, f["value_scale"]),
                  instances=_instances, figure=_figure,
                  notes="Toolkit-defined (guide §8.3 E2): the paper has no experiment. B = H = 20, eta = 5, from the "
                        "uniform kappa-hop policy. bound = f* + Frank-Wolfe's certified gap.")]


for _claim in make_claims():
    register(_claim)
