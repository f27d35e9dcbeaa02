r"""zhang2025: the restart kernel — Lemma 4.2 (stationary law = (1−γ) × visitation) and Lemma 5.4 (mixing).

``zhang2025.lemma4_2``  :math:`\nu_\theta = (1-\gamma)\eta_\theta` with :math:`\nu^\top\tilde P_\pi = \nu^\top`,
                        :math:`\eta^\top = e_{s_0}^\top(I-\gamma\mathbb P_\pi)^{-1}` (App. B.1), and the guide's
                        :math:`\rho_0` variant :math:`\nu = (1-\gamma)\rho_0^\top(I-\gamma\mathbb P_\pi)^{-1}`.
``zhang2025.lemma5_4``  :math:`\sup_s\|P(s_t,a_t\in\cdot|s_0=s)-\nu\|_{TV}\le\kappa\rho^t` with the explicit
                        :math:`\kappa = 1, \rho = \gamma` (TV = ½‖·‖₁).

Readings. :math:`\nu` is the restart chain's stationary law computed by the package's stationary solver on
:class:`~netmarl_verify.solvers.exact.RestartOperator` (ρ₀ = e_{s₀}) or on the restart TabularMDP (general ρ₀);
:math:`\eta` by the discounted-visitation solve: two different linear systems. The paper states Lemma 5.4 with
unspecified :math:`(\kappa,\rho)`; for the restart kernel they can be made explicit, because
:math:`(e_s-\nu)^\top\tilde P_\pi^t = \gamma^t(e_s-\nu)^\top\mathbb P_\pi^t` (module docstring of
:mod:`netmarl_verify.solvers.exact._restart`), so :math:`\kappa = 1,\rho=\gamma` is a theorem and the check
is exact; ``extra`` records the fitted rate, the spectral rate :math:`\gamma|\lambda_2(\mathbb P_\pi)|`, the
mixing time :math:`t_{mix}(1/4)` (next to the experiments' M = 1 and 10-step resets), and the TV distance
between the experiments' reset law :math:`\frac1{10}\sum_{t<10}\rho_0^\top\mathbb P_\pi^t` and ν. The law of
:math:`(s_t, a_t)` has the same TV distance as that of :math:`s_t` (same conditional :math:`\pi(a|s)`).
The full run adds the D.1 grid at full size (``spread_13x5``, 4,225 states, γ = 0.99, a random stochastic joint
policy) through the sparse route of :mod:`netmarl_verify.solvers.exact._spread_exact` (fixed-point iteration of the
restart chain against a sparse direct solve for η). Lemma 5.4 is stated "under Assumption 5.2"; for the restart chain it needs none: ``swap2`` (periodic
:math:`\mathbb P_\pi`) mixes at rate γ.
"""

import math

import numpy as np

from netmarl_verify.envs._zhang2025 import SpreadGrid
from netmarl_verify.solvers.exact._evaluation import stationary_distribution
from netmarl_verify.solvers.exact._spread_exact import sparse_restart_stationary, sparse_visitation
from netmarl_verify.solvers.exact._restart import mixing_curve, reset_law, restart_laws
from netmarl_verify.verify import Assumption, Claim, DecayFigure, Fault, Instance, Measurement, Series, claim_factory, \
    register

from ._common import PAPER, PAPER_FILE, chain_meters, derived_seed, mamdp_instances, mamdp_space, model_of, \
    reward_meters, swap2_space

__all__ = ["make_claims", "IDENTITY_TOL", "RESET_PERIOD", "TV_ATOL"]

#: Tolerance of the identities: two direct solves of systems with condition number <= 2/(1-gamma) <= 200,
#: forward errors about 1e-14 at gamma = 0.99.
IDENTITY_TOL = 1e-11
#: Rounding floor of the TV curve: t products of a row-stochastic matrix with a centred matrix, ~t |S| 1e-16.
TV_ATOL = 1e-13
#: The experiments' reset period (App. D.1).
RESET_PERIOD = 10


def _meters(instance):
    if "grid" in instance.payload:
        r = instance.payload["grid"].reward
        return [Assumption("bounded reward 0 <= r^i <= r_max (Assumption 5.3, meter)", True, float(r.min()),
                           "meter (min r^i)", f"r in [{r.min():.6g}, {r.max():.6g}]: fails as printed (r < 0)")]
    return chain_meters(instance) + reward_meters(instance)


def spread_13x5_instance(seed, gamma=0.99, N=2):
    """The D.1 grid at full size (13 x 5, N = 2) with a random stochastic joint policy (Dirichlet(1) rows, from
    `seed`), for the sparse route of Lemma 4.2."""
    grid = SpreadGrid(N, 13, 5)
    pi = np.random.default_rng(seed).dirichlet(np.ones(grid.n_joint), size=grid.n_states)
    return Instance(name=f"spread_13x5 N={N} gamma={gamma:g} seed={seed}",
                    params={"family": "spread_13x5", "N": N, "gamma": gamma, "seed": seed},
                    payload={"grid": grid, "pi": pi, "gamma": gamma}, size=float(grid.n_states * grid.n_joint),
                    family="spread_13x5")


def _instances(quick, seed):
    yield from mamdp_instances(quick, seed, ("tabular", "reduced"))
    if not quick:
        yield spread_13x5_instance(derived_seed(seed, "spread_13x5"))


def _lemma4_2_sparse(instance, original_kernel, drop_factor):
    grid, pi, g = instance.payload["grid"], instance.payload["pi"], instance.payload["gamma"]
    P = grid.policy_kernel(pi)
    for label, rho in (("rho0 = e_s0 (Lemma 4.2)", np.eye(grid.n_states)[grid.s0]), ("rho0 general (guide 1.3)",
                                                                                     grid.rho0)):
        nu, res = sparse_restart_stationary(P, g, rho)
        if original_kernel:  # the original chain's law after 500 steps (its stationary law, if it mixes)
            PT, nu = P.T.tocsr(), rho.copy()
            for _ in range(500):
                nu = PT @ nu
        eta = sparse_visitation(P, g, rho)
        target = eta if drop_factor else (1 - g) * eta
        extra = {"route": "sparse (fixed point vs direct solve)", "unreachable_states": int((nu <= 1e-15).sum())}
        if label.startswith("rho0 general"):
            law, x = np.zeros(grid.n_states), rho.copy()
            PT = P.T.tocsr()
            for _ in range(RESET_PERIOD):
                law += x / RESET_PERIOD
                x = PT @ x
            extra["tv_reset10_vs_nu"] = float(0.5 * np.abs(law - nu).sum())
        yield Measurement(measured=float(np.abs(nu - target).max()), bound=IDENTITY_TOL,
                          point={"check": "nu = (1-gamma) eta", "restart": label}, extra=extra)
        yield Measurement(measured=res, bound=IDENTITY_TOL, point={"check": "nu P_tilde = nu", "restart": label})


def _rho0(model):
    if np.count_nonzero(model.rho0) > 1:
        return model.rho0
    return np.full(model.n_states, 1.0 / model.n_states)


def _lemma4_2_measure(instance, rng, quick, original_kernel=False, drop_factor=False):
    if "grid" in instance.payload:
        yield from _lemma4_2_sparse(instance, original_kernel, drop_factor)
        return
    m = model_of(instance)
    pi = m.policy.joint_table()
    g = m.gamma
    for label, kw in (("rho0 = e_s0 (Lemma 4.2)", {"s0": m.s0}), ("rho0 general (guide 1.3)", {"rho0": _rho0(m)})):
        L = restart_laws(m.mdp, pi, g, **kw)
        nu = stationary_distribution(m.mdp, pi) if original_kernel else L.nu
        target = L.eta if drop_factor else (1 - g) * L.eta
        extra = {"unreachable_states": int(L.unreachable.size), "sum_eta": float(L.eta.sum()),
                 "one_over_1_minus_gamma": 1 / (1 - g)}
        if "rho0" in kw:
            law = reset_law(m.mdp, pi, kw["rho0"], RESET_PERIOD)
            extra["tv_reset10_vs_nu"] = float(0.5 * np.abs(law - L.nu).sum())
        yield Measurement(measured=float(np.abs(nu - target).max()), bound=IDENTITY_TOL,
                          point={"check": "nu = (1-gamma) eta", "restart": label}, extra=extra)
        yield Measurement(measured=L.stationarity_residual, bound=IDENTITY_TOL,
                          point={"check": "nu P_tilde = nu", "restart": label})


def _tmax(quick):
    return 30 if quick else 80


def _lemma5_4_measure(instance, rng, quick, original_kernel=False):
    m = model_of(instance)
    pi = m.policy.joint_table()
    g = m.gamma
    L = restart_laws(m.mdp, pi, g, s0=m.s0)
    Ppi = (L.P_tilde - (1 - g) * np.eye(m.n_states)[m.s0][None, :]) / g
    if original_kernel:
        P, nu = Ppi, stationary_distribution(m.mdp, pi)
    else:
        P, nu = L.P_tilde, L.nu
    T = _tmax(quick)
    tv = mixing_curve(P, nu, T)
    ev = np.sort(np.abs(np.linalg.eigvals(Ppi)))[::-1]
    lam2 = float(ev[1]) if ev.size > 1 else 0.0
    pos = tv > 1e-13
    idx = np.flatnonzero(pos)
    fitted = float(np.exp(np.polyfit(idx[len(idx) // 2:], np.log(tv[idx[len(idx) // 2:]]), 1)[0])) if idx.size > 4 else 0.0
    tmix = int(np.argmax(tv <= 0.25)) if (tv <= 0.25).any() else -1
    for t in range(T + 1):
        yield Measurement(measured=float(tv[t]), bound=float(g ** t), point={"t": t},
                          values={"kappa": 1.0, "rho": g},
                          extra={"fitted_rate": fitted, "spectral_rate": g * lam2, "t_mix_quarter": tmix,
                                 "M_experiment": 1, "reset_period": RESET_PERIOD} if t == 0 else {})


def _mixing_figure(rows):
    specs = []
    for name in list(rows["instance"].unique())[:2]:
        specs.append(DecayFigure(f"Lemma 5.4: restart chain, {name}",
                                 [Series(r"$\sup_s\|P^t(s,\cdot)-\nu\|_{TV}$", "measured", mask_at_or_below=1e-15)],
                                 bounds=Series(r"$\kappa\rho^t$, $\kappa=1$, $\rho=\gamma$", "bound"),
                                 where={"instance": name}, x="point.t", xlabel="t", ylabel="TV"))
    return specs


@claim_factory(
    original_kernel=Fault(False, "uses the original chain P_pi (its stationary law, its powers) in place of the "
                                 "restart kernel: Lemma 4.2's identity fails, and swap2 (periodic) never mixes"),
    drop_factor=Fault(False, "compares nu with eta instead of (1 - gamma) eta (the factor dropped)"),
)
def make_claims(*, faults):
    """Build the two restart-kernel claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, assumptions=_meters, search=(mamdp_space(), swap2_space()))
    return [
        Claim(id="zhang2025.lemma4_2", source="Lemma 4.2; App. B.1", **common, instances=_instances,
              statement="Under the restart kernel gamma P + (1-gamma) 1{s' = s0}, the stationary distribution is "
                        "nu(s) = (1 - gamma) eta(s), eta the discounted visitation measure from s0 under the "
                        "original kernel; the same with a restart law rho0 in place of s0.",
              latex=r"\nu_\theta^\top\tilde P_\pi=\nu_\theta^\top,\ \tilde P_\pi=\gamma\mathbb P_\pi+(1-\gamma)\mathbb 1"
                    r"e_{s_0}^\top\ \Longrightarrow\ \nu_\theta(s)=(1-\gamma)\eta_\theta(s),\ "
                    r"\eta_\theta^\top=e_{s_0}^\top(I-\gamma\mathbb P_\pi)^{-1}",
              measure=lambda inst, rng, quick: _lemma4_2_measure(inst, rng, quick, f["original_kernel"],
                                                                f["drop_factor"]),
              notes=f"measured = max_s |nu(s) - (1-gamma) eta(s)| (and the stationarity residual); bound "
                    f"{IDENTITY_TOL} (two direct solves). The rho0 rows use the instance's reset law (uniform by "
                    f"default); extra.tv_reset10_vs_nu is the TV between the experiments' 10-step reset law and nu."),
        Claim(id="zhang2025.lemma5_4", source="Lemma 5.4", **common,
              instances=lambda quick, seed: mamdp_instances(quick, seed, ("tabular", "reduced")),
              statement="sup_s ||P(s_t, a_t | s0 = s) - nu(theta)||_TV <= kappa rho^t for all t >= 0; for the restart "
                        "kernel with the explicit kappa = 1, rho = gamma.",
              latex=r"\sup_{s}\big\|\mathbb P((s_t,a_t)\in\cdot\mid s_0=s)-\nu_\theta\big\|_{TV}\le\kappa\rho^t,"
                    r"\quad\kappa=1,\ \rho=\gamma",
              measure=lambda inst, rng, quick: _lemma5_4_measure(inst, rng, quick, f["original_kernel"]),
              figure=_mixing_figure, atol=TV_ATOL,
              notes=f"atol {TV_ATOL}: the rounding floor of the computed TV curve (gamma^t falls below it). TV = half the L1 norm. extra (t = 0 row): fitted rate (log-linear fit of the tail), spectral rate "
                    "gamma |lambda_2(P_pi)|, t_mix(1/4) next to the experiments' M = 1 and 10-step resets."),
    ]


for _claim in make_claims():
    register(_claim)
