r"""gu2021: Definition 4.1 / Lemma 4.2 (decay of :math:`Q_s`), the decay of :math:`V_s` (Lemma D.4), LocalQ (32).

``gu2021.lemma4_2``   :math:`\Delta_s(k)=\max\{|Q_s(\zeta)-Q_s(\zeta')|:\zeta,\zeta'\ \text{agree on}\ (\mu(\mathcal N^k_s),h(\mathcal N^k_s))\}`
                      against Lemma 4.2's :math:`(c,\rho)=(r_{\max}/(1-\gamma),\sqrt\gamma)`, i.e.
                      :math:`\frac{r_{\max}}{1-\gamma}\gamma^{(k+1)/2}` (rows ``check=statement``), against the proof's
                      :math:`\frac{r_{\max}}{1-\gamma}\gamma^{\lfloor k/2\rfloor+1}` (``check=proof``), and against the
                      toolkit's repaired :math:`\frac{(1+\mathbb 1_{\rm signed})r_{\max}}{1-\gamma}\gamma^{\lceil k/2\rceil}`
                      (``check=repaired``); ``extra.agreement_t`` is the largest t up to which the laws
                      :math:`\mathfrak P_{t,s}`, :math:`\mathfrak P'_{t,s}` of the witness pair coincide, next to the
                      proof's :math:`\lfloor k/2\rfloor` (``extra.proof_t``).
``gu2021.decay_V``    the same three bounds for :math:`V_s(\mu)` over μ agreeing on :math:`\mathcal N^k_s` (the proof of
                      Lemma D.4: "the same argument as Lemma 4.2").
``gu2021.localq_sup`` (32): :math:`\sup_\zeta|\widehat Q_s(\zeta^k_s)-Q_s(\zeta)|\le c\rho^{k+1}` for σ-conditional, uniform
                      and worst-case (point-mass) weights, with Lemma 4.2's (c, ρ).

Readings: :math:`r_{\max}=\max|r|` of the individual reward (both team-reward readings have
:math:`|r_s|\le r_{\max}`); both readings of (7) are run (``point.reading``). Policies: the multinomial
team policy (5) of the instance's random individual policy. k runs over 0..diameter−1 (at the
diameter every pair agrees).

Finding (the proof's horizon is off by one at even k). :math:`\mu_{t+1}(y)` reads :math:`\mu_t(\mathcal N^2_y)`
(eq. (30)), so :math:`\mu_t(\mathcal N_s)` reads :math:`\mu_0(\mathcal N^{2t+1}_s)`: the laws
:math:`\mathfrak P_{t,s}` agree for :math:`t\le\lfloor(k-1)/2\rfloor`, not for :math:`t\le\lfloor k/2\rfloor` as B.2
asserts. On the ``relay`` (an agent at 2 moves to 1 iff μ(3) > 0; reward at 0 iff μ(1) > 0), k = 2,
s = 0: the pair differing only in μ(3) (distance 3) already differs at t = 1 (``agreement_t = 0``,
``proof_t = 1``); :math:`\Delta_0(2)=\frac{n_0}{N}\frac{\gamma}{1-\gamma}` (weighted; :math:`\frac{\gamma}{1-\gamma}` printed),
above the proof's :math:`\frac{\gamma^2}{1-\gamma}` for every γ and above the statement's :math:`\frac{\gamma^{3/2}}{1-\gamma}`
when :math:`n_0/N>\sqrt\gamma` (printed: always). With signed rewards the TV step loses a factor 2
(:math:`|E_Pr-E_{P'}r|\le(\max r-\min r)\mathrm{TV}`), which breaks odd k as well. What the proof needs:
horizon :math:`\lfloor(k-1)/2\rfloor`, i.e. :math:`\gamma^{\lceil k/2\rceil}` (ρ = √γ with :math:`c=r_{\max}/((1-\gamma)\sqrt\gamma)`
for even k), and :math:`2r_{\max}` for signed rewards — the ``repaired`` rows, which hold everywhere.
"""

import math

import numpy as np

from netmarl_verify.solvers.exact._mean_field import (
    LOCAL_Q_WEIGHTS,
    agreement_horizon,
    decay_profile_lifted,
    evaluate_lifted,
    lemma42_bounds,
    local_q,
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

from ._common import PAPER, PAPER_FILE, READINGS, SEED_MAX, individual_policy, lifted_of, make_instance, meter_rows

__all__ = ["make_claims", "ROUNDING_ATOL", "CHECKS"]

#: Q_s tables come from LU solves with |Q_s| <= r_max/(1-gamma) <= 100: differences below 1e-12 are rounding.
ROUNDING_ATOL = 1e-12
CHECKS = ("statement", "proof", "repaired")


def _instances(quick, seed):
    yield make_instance("relay", seed, N=3, gamma=0.5, reward="indicator")
    yield make_instance("relay", seed, N=3, gamma=0.5, reward="signed")
    yield make_instance("random", seed, graph="path", S=5, N=2, A=2, gamma=0.7, seed=seed)
    yield make_instance("lazy_walk", seed, L=5, N=2, A=2, gamma=0.9)
    if not quick:
        yield make_instance("relay", seed, N=5, gamma=0.1, reward="indicator")
        yield make_instance("relay", seed, N=5, gamma=0.9, reward="signed")
        yield make_instance("random", seed, graph="cycle", S=5, N=2, A=2, gamma=0.9, seed=seed, signed=True)
        yield make_instance("random", seed, graph="star", S=4, N=3, A=2, gamma=0.5, seed=seed)
        yield make_instance("congestion", seed, L=5, topology="path", N=2, gamma=0.9, seed=seed)
        yield make_instance("random", seed, graph="grid", S=6, N=2, A=2, gamma=0.9, seed=seed)


def _spaces():
    def relay(p):
        return make_instance("relay", 0, N=p["N"], gamma=p["gamma"], reward=p["reward"])

    def random(p):
        return make_instance("random", p["seed"], graph=p["graph"], S=p["S"], N=p["N"], A=2, gamma=p["gamma"],
                             seed=p["seed"], signed=p["signed"], mu_weight=p["mu_weight"])

    return (
        SearchSpace("relay", {"N": Integer(3, 5), "gamma": Real(0.05, 0.95), "reward": Choice(("indicator", "signed"))},
                    relay, "guide §8 relay: path 0-4, the signal at 3 reaches the reward at 0 in one step"),
        SearchSpace("random", {"graph": Choice(("path", "cycle", "star")), "S": Integer(3, 5), "N": Integer(2, 3),
                               "gamma": Real(0.05, 0.95), "signed": Choice((False, True)),
                               "mu_weight": Real(0.0, 3.0), "seed": Integer(0, SEED_MAX)}, random,
                    "random neighbour-supported kernels and mu-dependent rewards, random individual policy"),
    )


def _evaluations(instance):
    """{reading: (lifted, team policy, evaluation)} (cached on the payload)."""
    p = instance.payload
    if "_decay_eval" not in p:
        out = {}
        for reading in READINGS:
            lifted = lifted_of(instance, reading)
            w = lifted.multinomial_policy(individual_policy(instance))
            out[reading] = (lifted, w, evaluate_lifted(lifted, w))
        p["_decay_eval"] = out
    return p["_decay_eval"]


def _signed(model):
    return bool(model.reward_table().min() < 0)


def _bound_rows(measured, model, k, c_scale, common, extra):
    r_max = c_scale * model.r_max
    bounds = lemma42_bounds(r_max, model.gamma, k, _signed(model))
    for check, bound in zip(CHECKS, bounds):
        yield Measurement(measured=measured, bound=bound, point={**common, "check": check},
                          values={"r_max": r_max, "gamma": model.gamma, "k": k},
                          extra={**extra, "bound_statement": bounds[0], "bound_proof": bounds[1],
                                 "bound_repaired": bounds[2], "signed_reward": _signed(model)})


def _lemma42_measure(instance, rng, quick, c_scale=1.0):
    model = instance.payload["model"]
    for reading, (lifted, w, ev) in _evaluations(instance).items():
        for s in range(model.n_states):
            for k in range(model.diameter):
                delta, (lo, hi) = decay_profile_lifted(lifted, ev.Q_teams[s], s, k)
                t_agree = agreement_horizon(lifted, w, s, lo, hi, k + 2) if delta > ROUNDING_ATOL else k + 2
                extra = {"agreement_t": t_agree, "proof_t": k // 2, "true_t": (k - 1) // 2,
                         "witness": [lifted.counts[lo].tolist(), lifted.counts[hi].tolist()]}
                yield from _bound_rows(delta, model, k, c_scale, {"reading": reading, "s": s, "kappa": k}, extra)


def _mu_key(model, s, k):
    hood = list(model.kappa_hop(s, k))
    _, lab = np.unique(model.mus[:, hood], axis=0, return_inverse=True)
    return lab.reshape(-1)


def _decay_v_measure(instance, rng, quick, c_scale=1.0):
    model = instance.payload["model"]
    for reading, (lifted, w, ev) in _evaluations(instance).items():
        for s in range(model.n_states):
            for k in range(model.diameter):
                lab = _mu_key(model, s, k)
                n = lab.max() + 1
                hi = np.full(n, -np.inf)
                lo = np.full(n, np.inf)
                np.maximum.at(hi, lab, ev.V_teams[s])
                np.minimum.at(lo, lab, ev.V_teams[s])
                delta = float((hi - lo).max())
                yield from _bound_rows(delta, model, k, c_scale, {"reading": reading, "s": s, "kappa": k}, {})


def _localq_measure(instance, rng, quick, c_scale=1.0):
    model = instance.payload["model"]
    for reading, (lifted, w, ev) in _evaluations(instance).items():
        c = c_scale * model.r_max / (1.0 - model.gamma)
        rho = math.sqrt(model.gamma)
        for s in range(model.n_states):
            for k in range(model.diameter):
                for weights in LOCAL_Q_WEIGHTS:
                    qhat = local_q(lifted, ev.Q_teams[s], s, k, weights, ev.sigma)
                    err = float(np.abs(qhat - ev.Q_teams[s]).max())
                    yield Measurement(measured=err, bound=c * rho ** (k + 1),
                                      point={"reading": reading, "s": s, "kappa": k, "weights": weights},
                                      values={"c": c, "rho": rho, "k": k})


def _figure_instances(rows, n_first=2):
    """The instances drawn: the first `n_first` (the relay pair) and the first on a cycle and on a grid of states
    (the guide's E2: decay on paths, cycles and grids)."""
    names = list(rows["instance"].unique())
    out = names[:n_first]
    for kind in ("graph=path", "graph=cycle", "graph=grid"):
        hit = next((n for n in names if kind in n), None)
        if hit is not None and hit not in out:
            out.append(hit)
    return out


def _decay_figure(title, ylabel):
    def figure(rows):
        specs = []
        for name in _figure_instances(rows):
            where = {"instance": name, "point.s": 0, "point.reading": "weighted"}
            specs.append(DecayFigure(
                f"{title}: {name}, s = 0, weighted (7)",
                Series(ylabel, "measured", where={"point.check": "statement"}, mask_at_or_below=1e-15),
                bounds=[Series(r"statement $\frac{r_{\max}}{1-\gamma}\gamma^{(k+1)/2}$", "bound",
                               where={"point.check": "statement"}),
                        Series(r"proof $\frac{r_{\max}}{1-\gamma}\gamma^{\lfloor k/2\rfloor+1}$", "bound",
                               where={"point.check": "proof"}),
                        Series(r"repaired $\gamma^{\lceil k/2\rceil}$", "bound", where={"point.check": "repaired"})],
                where=where, xlabel="k", ylabel=ylabel))
        return specs

    return figure


def _localq_figure(rows):
    specs = []
    for name in list(rows["instance"].unique())[:2]:
        specs.append(DecayFigure(
            f"LocalQ (32): {name}, s = 0, weighted (7)",
            [Series(wt, "measured", where={"point.weights": wt}, mask_at_or_below=1e-15) for wt in LOCAL_Q_WEIGHTS],
            bounds=Series(r"$c\rho^{k+1}$", "bound", where={"point.weights": "sigma"}),
            where={"instance": name, "point.s": 0, "point.reading": "weighted"}, xlabel="k",
            ylabel=r"$\sup|\hat Q_s - Q_s|$"))
    return specs


@claim_factory(
    c_scale=Fault(1.0, "multiplies r_max (hence c) in every decay bound: a wrong constant"),
)
def make_claims(*, faults):
    """Build the three decay claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, assumptions=meter_rows, instances=_instances,
                  search=_spaces(), atol=ROUNDING_ATOL)
    return [
        Claim(id="gu2021.lemma4_2", source="Definition 4.1, Lemma 4.2; App. B.2", **common,
              statement="For every s, k and every pair (mu,h), (mu',h') agreeing on (mu(N_s^k), h(N_s^k)), "
                        "|Q_s(mu,h) - Q_s(mu',h')| <= c rho^{k+1} with (c, rho) = (r_max/(1-gamma), sqrt gamma); the "
                        "proof concludes r_max gamma^{floor(k/2)+1}/(1-gamma).",
              latex=r"\Delta_s(k)=\max_{\zeta\sim_{\mathcal N^k_s}\zeta'}|Q_s^{\Pi}(\zeta)-Q_s^{\Pi}(\zeta')|\le"
                    r"\frac{r_{\max}}{1-\gamma}\gamma^{\frac{k+1}2}\quad(\text{proof: }\frac{r_{\max}}{1-\gamma}"
                    r"\gamma^{\lfloor k/2\rfloor+1})",
              measure=lambda inst, rng, quick: _lemma42_measure(inst, rng, quick, f["c_scale"]),
              figure=_decay_figure("Lemma 4.2", r"$\Delta_s(k)$"),
              notes="Three rows per (reading, s, k): point.check = statement (the lemma), proof (B.2's "
                    "exponent), repaired (the toolkit's gamma^{ceil(k/2)}, x2 for signed rewards; not the paper's). "
                    "Finding: the relay violates the statement and the proof at even k (B.2's horizon floor(k/2) "
                    "should be floor((k-1)/2): extra.agreement_t vs extra.proof_t), and signed rewards lose the "
                    "factor 2 of the TV step; the repaired rows hold (module docstring)."),
        Claim(id="gu2021.decay_V", source="proof of Lemma D.4 (80); Lemma 4.2's argument", **common,
              statement="V_s has the (r_max/(1-gamma), sqrt gamma)-exponential decay property: |V_s(mu) - V_s(mu')| "
                        "<= r_max gamma^{(k+1)/2}/(1-gamma) whenever mu and mu' agree on N_s^k.",
              latex=r"\max_{\mu\sim_{\mathcal N^k_s}\mu'}|V_s^{\Pi}(\mu)-V_s^{\Pi}(\mu')|\le"
                    r"\frac{r_{\max}}{1-\gamma}\gamma^{\frac{k+1}2}",
              measure=lambda inst, rng, quick: _decay_v_measure(inst, rng, quick, f["c_scale"]),
              figure=_decay_figure("decay of V_s", r"$\max|V_s - V_s'|$"),
              notes="Rows as for gu2021.lemma4_2 (statement, proof, repaired). V_s(mu) = E_{h~Pi} Q_s(mu, h)."),
        Claim(id="gu2021.localq_sup", source="(LocalQ-function), eq. (32)", **common,
              statement="Any localized Q-hat_s (non-negative weights summing to one over the completions of "
                        "zeta_s^k) is within c rho^{k+1} of Q_s everywhere, (c, rho) from Lemma 4.2.",
              latex=r"\sup_{(\mu,h)\in\Xi}|\widehat Q_s(\zeta^k_s)-Q_s(\mu,h)|\le\frac{r_{\max}}{1-\gamma}"
                    r"\gamma^{\frac{k+1}2}",
              measure=lambda inst, rng, quick: _localq_measure(inst, rng, quick, f["c_scale"]),
              figure=_localq_figure,
              notes="Weights (point.weights): sigma-conditional (the L2(sigma) projection; uniform where sigma "
                    "has no mass), uniform, worst-low / worst-high (point masses on the group's extremes, whose "
                    "error is Delta_s(k)). Inherits Lemma 4.2's finding on the relay."),
    ]


for _claim in make_claims():
    register(_claim)
