r"""gu2021: Lemma 4.3 for the energy policy (14) — bounded score, the PG formula (17), the localized gradient (18).

``gu2021.lemma4_3_phi``   :math:`\max_{s,\mu,h}\|\Phi(\theta,s,\mu,h)\|_2\le2` (B.3: :math:`\|\Phi\|\le\|\zeta_s\|\le2`).
``gu2021.lemma4_3_pg``    (17): :math:`\nabla_{\theta_s}J=\frac{\tau}{1-\gamma}E_{\sigma_\theta}[Q^{\Pi^\theta}\Phi]` (σ normalised, eq. (12))
                          against central finite differences of the exact :math:`J(\theta)` (eq. (11)).
``gu2021.lemma4_3_local`` :math:`\|g_s(\theta)-\nabla_{\theta_s}J(\theta)\|\le\frac{c_0\tau|\mathcal S|}{1-\gamma}\rho^{k+1}` with the
                          proof's :math:`c_0=2c` (B.3's last step: (32) and :math:`\|\nabla\log\Pi_s\|=\tau\|\Phi\|\le2\tau`) and
                          Lemma 4.2's :math:`(c,\rho)=(r_{\max}/(1-\gamma),\sqrt\gamma)`.
``gu2021.lemma4_3_zero``  (33): :math:`E_{\sigma_\theta}[\sum_{y\notin\mathcal N^k_s}\widehat Q_y(\zeta^k_y)\Phi(\theta,s,\mu,h)]=0`.

Readings. φ carries :math:`b_m` (the derivative of (13); (15) as printed omits it, the broken input
of ``lemma4_3_pg``). (18) prints :math:`\widehat Q_y(\zeta^k_s)`; read :math:`\zeta^k_y` as in (23) and (33). The
actor input is :math:`\zeta_s=(\mu(s),h(s))/\sqrt2` (guide §3; ``point.input = "paper"`` rows use the
paper's unscaled input). θ: Gaussian :math:`N(0,I/d)` with :math:`b_m\sim\mathrm{Unif}\{\pm1\}` (Alg. 1-2) or
:math:`b_m\equiv1` (§4.3), and the ``gate`` parameters that make :math:`\|\Phi\|` extremal.
Both readings of the team reward (7) are run for the localized gradient. ``extra.c0_implied`` is
:math:`\|g_s-\nabla_{\theta_s}J\|(1-\gamma)/(\tau|\mathcal S|\rho^{k+1})`: it scales with the rewards (r → λr
multiplies it by λ), so the "universal constant" :math:`c_0` of the statement is :math:`2c\propto r_{\max}`.
"""

import math

import numpy as np

from netmarl_verify.envs import _mean_field as mf
from netmarl_verify.solvers.exact._mean_field import (
    energy_gradient,
    energy_objective,
    local_q,
    localized_gradient,
)
from netmarl_verify.verify import (
    Choice,
    Claim,
    DecayFigure,
    Fault,
    Integer,
    Measurement,
    Real,
    SearchSpace,
    Series,
    claim_factory,
    register,
)

from ._common import PAPER, PAPER_FILE, READINGS, SEED_MAX, energy_params, lifted_of, make_instance, meter_rows

__all__ = ["make_claims", "FD_EPS", "FD_RTOL", "ZERO_TOL", "TOOLKIT_SCALE"]

#: Finite-difference step; the error is O(eps^2 |J'''|) + O(1e-16 |J| / eps) ~ 1e-10 |J|.
FD_EPS = 1e-6
#: Tolerance of (17) vs finite differences, relative to max(1, |J|) (a kink within eps is improbable).
FD_RTOL = 1e-6
#: Tolerance of (33), relative to max(1, its scale): a sum of |Xi| products.
ZERO_TOL = 1e-12
TOOLKIT_SCALE = 1.0 / math.sqrt(2.0)


def _instances(quick, seed):
    M = 16 if quick else 64
    yield make_instance("random", seed, graph="path", S=5, N=2, A=2, gamma=0.7, seed=seed, M=M)
    yield make_instance("lazy_walk", seed, L=5, N=2, A=2, gamma=0.9, M=M)
    if not quick:
        yield make_instance("random", seed, graph="path", S=3, N=3, A=2, gamma=0.9, seed=seed, signed=True, M=M)
        yield make_instance("congestion", seed, L=5, topology="path", N=2, gamma=0.9, seed=seed, M=M)
        yield make_instance("random", seed, graph="star", S=4, N=2, A=3, gamma=0.5, seed=seed, M=M)


def _space():
    def build(p):
        return make_instance("random", p["seed"], graph=p["graph"], S=p["S"], N=p["N"], A=2, gamma=p["gamma"],
                             seed=p["seed"], signed=p["signed"], M=p["M"], tau=p["tau"])

    return (SearchSpace("random", {"graph": Choice(("path", "cycle", "star")), "S": Integer(3, 5),
                                   "N": Integer(2, 3), "gamma": Real(0.05, 0.95), "signed": Choice((False, True)),
                                   "M": Choice((8, 16, 64)), "tau": Real(0.1, 10.0, log=True),
                                   "seed": Integer(0, SEED_MAX)}, build,
                        "random instances, energy policies with Gaussian theta, b = +-1, temperature tau"),)


def _thetas(instance):
    """[(kind, theta, b, tau)]."""
    M = int(instance.params.get("M", 16))
    tau = float(instance.params.get("tau", 1.0))
    out = []
    for kind, b_kind in (("gaussian b=+-1", "pm1"), ("gaussian b=1", "ones")):
        theta, b = energy_params(instance, M, "random", b_kind=b_kind)
        out.append((kind, theta, b, tau))
    theta, b = energy_params(instance, M, "gate")
    out.append(("gate", theta, b, 10.0))
    return out


def _phi_measure(instance, rng, quick, input_factor=1.0):
    lifted = lifted_of(instance)
    for kind, theta, b, tau in _thetas(instance):
        for label, scale in (("toolkit 1/sqrt2", TOOLKIT_SCALE), ("paper", 1.0)):
            _, _, Phi = mf.energy_tables(lifted, theta, b, tau, scale * input_factor)
            norms = np.linalg.norm(Phi.reshape(Phi.shape[0], Phi.shape[1], -1), axis=2)
            s, x = np.unravel_index(int(np.argmax(norms)), norms.shape)
            yield Measurement(measured=float(norms.max()), bound=2.0, point={"theta": kind, "input": label},
                              extra={"argmax_s": int(s), "argmax_counts": lifted.counts[x].tolist(), "tau": tau})


def _pg_measure(instance, rng, quick, phi_without_b=False):
    lifted = lifted_of(instance)
    for kind, theta, b, tau in _thetas(instance)[:2]:  # not the gate: it sits on activation boundaries (a kink)
        grad, ev, _ = energy_gradient(lifted, theta, b, tau, TOOLKIT_SCALE, phi_without_b=phi_without_b)
        U = rng.standard_normal((3,) + theta.shape)
        U /= np.linalg.norm(U.reshape(3, -1), axis=1)[:, None, None, None]
        err = 0.0
        for u in U:
            jp = energy_objective(lifted, theta + FD_EPS * u, b, tau, TOOLKIT_SCALE)
            jm = energy_objective(lifted, theta - FD_EPS * u, b, tau, TOOLKIT_SCALE)
            err = max(err, abs((jp - jm) / (2 * FD_EPS) - float((grad * u).sum())))
        yield Measurement(measured=err, bound=FD_RTOL * max(1.0, abs(ev.J)), point={"theta": kind},
                          extra={"J": ev.J, "grad_norm": float(np.linalg.norm(grad)), "tau": tau})


def _local_measure(instance, rng, quick, c_scale=1.0):
    model = instance.payload["model"]
    nS, gamma = model.n_states, model.gamma
    rho = math.sqrt(gamma)
    for reading in READINGS:
        lifted = lifted_of(instance, reading)
        for kind, theta, b, tau in _thetas(instance)[:2]:
            grad, ev, Phi = energy_gradient(lifted, theta, b, tau, TOOLKIT_SCALE)
            c = c_scale * model.r_max / (1.0 - gamma)
            for weights in ("sigma", "uniform"):
                for k in range(model.diameter):
                    g = localized_gradient(lifted, ev, Phi, k, tau, weights=weights)
                    bound = 2.0 * tau * nS * c * rho ** (k + 1) / (1.0 - gamma)
                    for s in range(nS):
                        err = float(np.linalg.norm(g[s] - grad[s]))
                        yield Measurement(
                            measured=err, bound=bound,
                            point={"reading": reading, "theta": kind, "weights": weights, "s": s, "kappa": k},
                            values={"c": c, "rho": rho, "tau": tau, "S": nS},
                            extra={"c0_implied": err * (1 - gamma) / (tau * nS * rho ** (k + 1)), "two_c": 2 * c,
                                   "grad_norm": float(np.linalg.norm(grad[s]))})


def _zero_measure(instance, rng, quick, radius_offset=0):
    model = instance.payload["model"]
    lifted = lifted_of(instance)
    nS = model.n_states
    for kind, theta, b, tau in _thetas(instance)[:2]:
        grad, ev, Phi = energy_gradient(lifted, theta, b, tau, TOOLKIT_SCALE)
        for k in range(model.diameter):
            qhat = np.stack([local_q(lifted, ev.Q_teams[y], y, k, "sigma", ev.sigma) for y in range(nS)])
            worst, scale = 0.0, 0.0
            for s in range(nS):
                ys = [y for y in range(nS) if model.distances[s, y] > k - radius_offset]
                if not ys:
                    continue
                q = qhat[ys].sum(axis=0)
                term = tau / (1 - model.gamma) * np.einsum("x,xmd->md", ev.sigma * q, Phi[s])
                worst = max(worst, float(np.abs(term).max()))
                scale = max(scale, tau / (1 - model.gamma) * float(np.abs(q).max() * np.abs(Phi[s]).max()))
            yield Measurement(measured=worst, bound=ZERO_TOL * max(1.0, scale), point={"theta": kind, "kappa": k},
                              extra={"scale": scale})
    if radius_offset == 0:  # the helper of the solver gives the same term
        z = localized_gradient(lifted, ev, Phi, 0, tau, zero_term=True)
        yield Measurement(measured=float(np.abs(z).max()), bound=ZERO_TOL * max(1.0, scale),
                          point={"theta": "solver localized_gradient(zero_term=True)", "kappa": 0})


def _local_figure(rows):
    specs = []
    for name in list(rows["instance"].unique())[:2]:
        where = {"instance": name, "point.s": 0, "point.reading": "weighted", "point.theta": "gaussian b=+-1"}
        specs.append(DecayFigure(
            f"Lemma 4.3 (18): {name}, s = 0",
            [Series(f"{w} weights", "measured", where={"point.weights": w}, mask_at_or_below=1e-15)
             for w in ("sigma", "uniform")],
            bounds=Series(r"$2\tau|S|c\rho^{k+1}/(1-\gamma)$", "bound", where={"point.weights": "sigma"}),
            where=where, xlabel="k", ylabel=r"$\|g_s-\nabla_{\theta_s}J\|$"))
    return specs


@claim_factory(
    input_factor=Fault(1.0, "multiplies the actor input zeta_s (x3 pushes ||Phi|| above 2 at the gate parameters)"),
    phi_without_b=Fault(False, "uses (15) as printed (phi without b_m): (17) then misses the sign of b_m = -1 "
                               "neurons and disagrees with finite differences"),
    c_scale=Fault(1.0, "multiplies c (hence c_0 = 2c) in the localized-gradient bound: a wrong constant"),
    radius_offset=Fault(0, "drops from (33) only the teams at distance > k - offset: with offset 1 the teams at "
                           "distance k, whose Q-hat reads h(s), are included and the term is not zero"),
)
def make_claims(*, faults):
    """Build the four Lemma 4.3 claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, assumptions=meter_rows, instances=_instances, search=_space())
    return [
        Claim(id="gu2021.lemma4_3_phi", source="Lemma 4.3 (first claim); App. B.3", **common,
              statement="The centred feature of the energy policy is bounded: ||Phi(theta, s, mu, h)||_2 <= 2 for "
                        "every theta, s, mu and h.",
              latex=r"\|\Phi(\theta,s,\mu,h)\|_2=\big\|\phi_{\theta_s}(\zeta_s)-E_{h'(s)\sim\Pi_s^{\theta_s}}"
                    r"\phi_{\theta_s}(\mu(s),h'(s))\big\|_2\le2",
              measure=lambda inst, rng, quick: _phi_measure(inst, rng, quick, f["input_factor"]),
              notes="max over s and Xi per theta; the gate parameters (tau = 10) attain ||Phi|| ~ ||zeta_s||, i.e. "
                    "sqrt(mu(s)^2 + |h(s)|^2) <= sqrt 2 with the paper's input (ratio <= 0.71)."),
        Claim(id="gu2021.lemma4_3_pg", source="Lemma 4.3, eq. (17); Lemma 4.1", **common,
              statement="For the energy policy (14), grad_{theta_s} J = tau/(1-gamma) E_{sigma_theta}[Q(mu,h) "
                        "Phi(theta, s, mu, h)], sigma_theta the normalised visitation (12).",
              latex=r"\nabla_{\theta_s}J(\theta)=\frac{\tau}{1-\gamma}E_{\sigma_\theta}\big[Q^{\Pi^\theta}(\mu,h)"
                    r"\Phi(\theta,s,\mu,h)\big]",
              measure=lambda inst, rng, quick: _pg_measure(inst, rng, quick, f["phi_without_b"]),
              notes=f"measured = max over 3 random unit directions u of |u.grad - (J(theta+eps u) - J(theta-eps u))"
                    f"/(2 eps)|, eps = {FD_EPS}; bound {FD_RTOL} max(1, |J|). phi carries b_m. Gaussian theta only (away "
                    "from activation boundaries; the gate parameters sit on them and finite differences see the kink)."),
        Claim(id="gu2021.lemma4_3_local", source="Lemma 4.3, eq. (18); App. B.3", **common,
              statement="The localized gradient g_s (18), built from localized Q-hat_y on N_s^k, is within "
                        "c_0 tau |S| rho^{k+1}/(1-gamma) of grad_{theta_s} J, with the proof's c_0 = 2c and Lemma "
                        "4.2's (c, rho) = (r_max/(1-gamma), sqrt gamma).",
              latex=r"\|g_s(\theta)-\nabla_{\theta_s}J(\theta)\|\le\frac{2c\,\tau|\mathcal S|}{1-\gamma}\rho^{k+1},"
                    r"\ (c,\rho)=\Big(\frac{r_{\max}}{1-\gamma},\sqrt{\gamma}\Big)",
              measure=lambda inst, rng, quick: _local_measure(inst, rng, quick, f["c_scale"]),
              figure=_local_figure,
              notes="Q-hat_y with sigma-conditional or uniform weights (point.weights), exact Q_y; both readings of "
                    "(7). extra.c0_implied is the smallest c_0 the row needs; it scales with r_max (not universal)."),
        Claim(id="gu2021.lemma4_3_zero", source="Lemma 4.3 proof, eq. (33)", **common,
              statement="For a team-product policy and y outside N_s^k, E_sigma[Q-hat_y(zeta_y^k) Phi(theta, s, mu, h)] "
                        "= 0: Q-hat_y does not read h(s) and E_{h(s)~Pi_s}[Phi_s] = 0.",
              latex=r"E_{\sigma_\theta}\Big[\sum_{y\notin\mathcal N^k_s}\widehat Q_y(\zeta^k_y)\,\Phi(\theta,s,\mu,h)\Big]=0",
              measure=lambda inst, rng, quick: _zero_measure(inst, rng, quick, f["radius_offset"]),
              notes=f"measured = max entry over s; bound {ZERO_TOL} max(1, tau max|Q-hat| max|Phi|/(1-gamma)). Needs "
                    "sigma = sigma-bar x Pi (h_t ~ Pi(.|mu_t) at every t) and a symmetric distance."),
    ]


for _claim in make_claims():
    register(_claim)
