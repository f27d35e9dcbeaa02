r"""chen2024: Theorems 1-2 (iteration bounds) run with the paper's step size and λ, and their algebra.

``chen2024.thm1``          first passage of exact-gradient ascent (2)-(3) to Nash-gap <= ε vs the printed T, with
                           the proof's λ = ε/(2M) and η = c/β_λ, c ∈ {1, 0.5} (θ_0 = 0 + seeded noise, and others).
``chen2024.thm1_ascent``   on every trace: :math:`\sum_{t<T}\|\nabla_t\|^2\le2(L_T-L_0)/\eta` and :math:`L_\lambda` non-decreasing.
``chen2024.thm2``          full DAG: first passage to optimality-gap <= ε vs the printed T, λ = ε/(2^{N+1}NM).
``chen2024.thm1_algebra``, ``chen2024.thm2_algebra`` sympy: each displayed step of A.3 / A.5 against the one
                           derived from the previous display (measured = |printed - derived| / derived at the
                           instance's constants; bound 1e-12).

The first passage t* counts updates: :math:`\min_{t<T}` gap <= ε first holds for T = t* + 1, so measured = t* + 1.
Runs stop at a budget; a run that has not reached ε within its budget while the budget is below T is
"not applicable" (a point assumption: censored), never "holds".

Findings. **Algebra.** A.3's last equality keeps a λ in the second term after substituting λ = ε/(2M): the
derivation gives :math:`32M|S|\max_i|\mathcal A^i|^2\sum_i|\mathcal A^i|^{-1}\Delta r/((1-\gamma)\epsilon)`, the paper prints λ times that
(and the statement swaps :math:`|\mathcal A^i|` for :math:`|\mathcal A^{P^i}|`). A.5 squares λ = ε/(2^{N+1}NM) into
:math:`2^{N+5}` where :math:`8/\lambda^2` gives :math:`2^{2N+5}`: Theorem 2's first term is :math:`2^N` times too small as printed,
and its second term is :math:`2^{N+2}` times too small (8NM printed, :math:`2^{N+5}NM` derived). Also A.3 requires
:math:`\|\nabla\|\le\lambda/(2|S|\max_i|\mathcal A^i|)` but invokes Lemma 2, whose threshold is :math:`|\mathcal A|` times smaller:
the proof of Theorem 1 is missing a factor :math:`|\mathcal A|^2` in T (Theorem 2's proof has it). **Runs.** On the
instances here the measured first passages are far below the printed T (the bounds are loose by orders of
magnitude), so the printed-constant errors do not surface as violations on them.
"""

import math

import numpy as np
import sympy as sp

from netmarl_verify.solvers.exact._bn_exact import beta_lambda, bn_gradient_ascent
from netmarl_verify.verify import (
    Claim,
    Fault,
    LinesFigure,
    Measurement,
    Series,
    assume_at_least,
    claim_factory,
    register,
    row_extra,
)

from ._common import (PAPER, PAPER_FILE, make_instance, meter_rows, mismatch_of, one_blas_thread, random_space,
                      random_theta, vstar_of)

__all__ = ["make_claims", "thm1_T", "thm2_T", "algebra_steps"]

EPSILON = 0.1


def thm1_T(N, M, S, amax, dr, gamma, eps, lam, sum_inv_AP):
    """Theorem 1's printed T (statement form)."""
    return (256 * N * M**2 * S**2 * amax**2 * dr**2 / ((1 - gamma) ** 4 * eps**2)
            + 32 * lam * M * S * amax**2 * sum_inv_AP * dr / ((1 - gamma) * eps))


def thm2_T(N, M, S, nA, amax, dr, gamma, eps, sum_inv_AP):
    """Theorem 2's printed T."""
    return (2 ** (N + 8) * N**3 * M**2 * S**2 * nA**2 * amax**2 * dr**2 / (eps**2 * (1 - gamma) ** 4)
            + 8 * N * M * S * nA**2 * amax**2 * dr * sum_inv_AP / (eps * (1 - gamma)))


def _constants(instance):
    bn = instance.payload["bn"]
    game = bn.game
    M = mismatch_of(instance).M
    psizes = [math.prod(game.action_sizes[j] for j in p) for p in bn.dag.parents]
    return dict(N=game.n_agents, M=M, S=game.n_states, nA=game.n_actions, amax=max(game.action_sizes),
                dr=game.delta_r, gamma=game.gamma, sum_inv_AP=sum(1.0 / x for x in psizes),
                sum_inv_A=sum(1.0 / a for a in game.action_sizes))


def _thm_instances(quick, seed):
    yield make_instance("coord2", seed, dag="product")
    yield make_instance("coord2", seed, dag="full")
    yield make_instance("and3", seed, dag="inward_star")
    yield make_instance("random", seed, S=2, N=2, A=2, gamma=0.5, dag="chain")
    if not quick:
        yield make_instance("and3", seed, dag="inward_star", c=40.0)
        yield make_instance("climbing", seed, dag="chain")
        yield make_instance("parity_star", seed, N=4)
        yield make_instance("random", seed, S=2, N=3, A=2, gamma=0.5, dag="full")


def _thm2_instances(quick, seed):
    yield make_instance("coord2", seed, dag="full")
    yield make_instance("random", seed, S=2, N=2, A=2, gamma=0.5, dag="full")
    if not quick:
        yield make_instance("climbing", seed, dag="full")
        yield make_instance("miscoordinated_full", seed, c=4.0)


def _runs(instance, quick, which):
    """(label, theta0, c) start families."""
    bn = instance.payload["bn"]
    noise = random_theta(instance, f"{which} noise", 0.01)
    yield "theta0 + noise", [t + u for t, u in zip(bn.theta0, noise)], 1.0
    yield "theta0 + noise", [t + u for t, u in zip(bn.theta0, noise)], 0.5
    if not quick:
        yield "gaussian", random_theta(instance, f"{which} gaussian", 1.0), 1.0


def _trace(instance, quick, which, theta0, c):
    key = (which, quick, str(c), repr([float(np.asarray(t).sum()) for t in theta0]))
    cache = instance.payload.setdefault("traces", {})
    if key in cache:
        return cache[key]
    bn = instance.payload["bn"]
    game = bn.game
    k = _constants(instance)
    lam = EPSILON / (2 * k["M"]) if which == "nash" else EPSILON / (2 ** (k["N"] + 1) * k["N"] * k["M"])
    beta = beta_lambda(game, bn.dag, lam)[0]
    budget = 3000 if quick else 30000
    trace = bn_gradient_ascent(game, bn.policy(theta0), lam, c / beta, budget, gap=which, epsilon=EPSILON,
                               vstar=vstar_of(instance) if which == "optimality" else None,
                               gap_every=1 if quick else 5)
    cache[key] = (trace, lam, beta, budget)
    return cache[key]


@one_blas_thread
def _thm_measure(instance, rng, quick, which, T_scale=1.0):
    k = _constants(instance)
    if which == "optimality" and not instance.payload["bn"].dag.is_fully_correlated:
        return
    for label, theta0, c in _runs(instance, quick, which):
        trace, lam, beta, budget = _trace(instance, quick, which, theta0, c)
        if which == "nash":
            T = thm1_T(k["N"], k["M"], k["S"], k["amax"], k["dr"], k["gamma"], EPSILON, lam, k["sum_inv_AP"])
        else:
            T = thm2_T(k["N"], k["M"], k["S"], k["nA"], k["amax"], k["dr"], k["gamma"], EPSILON, k["sum_inv_AP"])
        T *= T_scale
        reached = trace.first_passage is not None
        measured = (trace.first_passage + 1) if reached else budget + 1
        censor = assume_at_least("first passage observed, or budget >= T", float(reached or budget >= T), 1,
                                 f"budget {budget}, T = {T:.4g}")
        yield Measurement(measured=float(measured), bound=T, point={"theta0": label, "c": c},
                          assumptions=[censor],
                          extra={"lam": lam, "eta": c / beta, "beta_lambda": beta, "gap_start": float(trace.gap[0]),
                                 "gap_min": float(trace.gap.min()), "L_gain": float(trace.L[-1] - trace.L[0]),
                                 "min_grad_norm": float(trace.grad_norm.min()), "M": k["M"],
                                 "gap_curve": trace.gap.tolist()[:400], "gap_t": trace.gap_t.tolist()[:400]})


@one_blas_thread
def _ascent_measure(instance, rng, quick, factor=2.0):
    for which in ("nash", "optimality"):
        if which == "optimality" and not instance.payload["bn"].dag.is_fully_correlated:
            continue
        for label, theta0, c in _runs(instance, quick, which):
            trace, lam, beta, budget = _trace(instance, quick, which, theta0, c)
            eta = c / beta
            lhs = float((trace.grad_norm ** 2).sum())
            rhs = factor * float(trace.L[-1] - trace.L[0]) / eta
            scale = max(1.0, float(np.abs(trace.L).max()))
            yield Measurement(measured=lhs, bound=rhs, point={"run": which, "theta0": label, "c": c,
                                                             "check": "sum ||grad||^2 <= 2 (L_T - L_0)/eta"},
                              extra={"T": trace.iterations})
            drop = float(np.max(trace.L[:-1] - trace.L[1:], initial=-np.inf))
            yield Measurement(measured=drop, bound=1e-13 * scale,
                              point={"run": which, "theta0": label, "c": c, "check": "L non-decreasing"})


# ----------------------------------------------------------------------------- sympy
def algebra_steps(theorem):
    """[(label, printed, derived)] sympy expressions of A.3 (theorem 1) or A.5 (theorem 2)."""
    N, M, S, nA, am, dr, g, eps, lam, sA, sAP = sp.symbols(
        "N M S A_joint a_max Delta_r gamma epsilon lambda SumInvA SumInvAP", positive=True)
    if theorem == 1:
        beta = 8 * N * dr / (1 - g) ** 3 + 2 * lam * sA / S  # A.3's plugged-in beta (|A^i|)
        # A.3 keeps beta symbolic in its first display
        b = sp.Symbol("beta_lambda", positive=True)
        disp1_printed = 32 * M**2 * S**2 * am**2 * b * dr / (eps**2 * (1 - g))
        disp1_derived = (8 * b * S**2 * am**2 * dr / (lam**2 * (1 - g))).subs(lam, eps / (2 * M))
        disp2_printed = (256 * N * M**2 * S**2 * am**2 * dr**2 / ((1 - g) ** 4 * eps**2)
                         + 64 * lam * M**2 * S * am**2 * sA * dr / ((1 - g) * eps**2))
        disp2_derived = disp1_printed.subs(b, beta)
        disp3_printed = (256 * N * M**2 * S**2 * am**2 * dr**2 / ((1 - g) ** 4 * eps**2)
                         + 32 * lam * M * S * am**2 * sA * dr / ((1 - g) * eps))
        disp3_derived = disp2_printed.subs(lam, eps / (2 * M))
        statement = (256 * N * M**2 * S**2 * am**2 * dr**2 / ((1 - g) ** 4 * eps**2)
                     + 32 * lam * M * S * am**2 * sAP * dr / ((1 - g) * eps))
        return [("A.3 display 1 (lambda = eps/2M)", disp1_printed, disp1_derived),
                ("A.3 display 2 (beta plugged in)", disp2_printed, disp2_derived),
                ("A.3 display 3 (final)", disp3_printed, disp3_derived),
                ("statement vs A.3 final (|A^P| vs |A^i|)", statement, disp3_printed)]
    b = sp.Symbol("beta_lambda", positive=True)
    beta = 8 * N * dr / (1 - g) ** 3 + 2 * lam * sAP / S
    disp1_printed = 2 ** (N + 5) * N**2 * M**2 * S**2 * nA**2 * am**2 * b * dr / (eps**2 * (1 - g))
    disp1_derived = (8 * b * S**2 * nA**2 * am**2 * dr / (lam**2 * (1 - g))).subs(lam, eps / (2 ** (N + 1) * N * M))
    disp2_printed = (2 ** (N + 8) * N**3 * M**2 * S**2 * nA**2 * am**2 * dr**2 / (eps**2 * (1 - g) ** 4)
                     + 2 ** (N + 5) * N**2 * M**2 * S**2 * nA**2 * am**2 * dr * (2 * lam * sAP / S) / (eps**2 * (1 - g)))
    disp2_derived = disp1_printed.subs(b, beta)
    disp3_printed = (2 ** (N + 8) * N**3 * M**2 * S**2 * nA**2 * am**2 * dr**2 / (eps**2 * (1 - g) ** 4)
                     + 8 * N * M * S * nA**2 * am**2 * dr * sAP / (eps * (1 - g)))
    disp3_derived = disp2_printed.subs(lam, eps / (2 ** (N + 1) * N * M))
    return [("A.5 display 1 (lambda = eps/(2^{N+1} N M))", disp1_printed, disp1_derived),
            ("A.5 display 2 (beta plugged in)", disp2_printed, disp2_derived),
            ("A.5 display 3 (final)", disp3_printed, disp3_derived)]


def _algebra_measure(instance, rng, quick, theorem):
    k = _constants(instance)
    N = k["N"]
    lam = EPSILON / (2 * k["M"]) if theorem == 1 else EPSILON / (2 ** (N + 1) * N * k["M"])
    beta = beta_lambda(instance.payload["bn"].game, instance.payload["bn"].dag, lam)[0]
    vals = {"N": N, "M": k["M"], "S": k["S"], "A_joint": k["nA"], "a_max": k["amax"], "Delta_r": k["dr"],
            "gamma": k["gamma"], "epsilon": EPSILON, "lambda": lam, "SumInvA": k["sum_inv_A"],
            "SumInvAP": k["sum_inv_AP"], "beta_lambda": beta}
    for label, printed, derived in algebra_steps(theorem):
        subs = {s: vals[s.name] for s in (printed.free_symbols | derived.free_symbols)}
        p, d = float(printed.subs(subs)), float(derived.subs(subs))
        yield Measurement(measured=abs(p - d) / abs(d), bound=1e-12, point={"step": label},
                          extra={"printed": p, "derived": d, "printed_over_derived": p / d,
                                 "symbolic_ratio": str(sp.simplify(printed / derived))})


def _gap_figure(rows, title):
    specs = []
    for name in list(rows["instance"].unique())[:2]:
        sub = rows[(rows["instance"] == name) & (rows["point.c"] == 1.0)]
        if sub.empty:
            continue
        r = sub.iloc[0]
        y = row_extra(r, "gap_curve")  # lists live in the JSON `extra` column only
        if not isinstance(y, (list, tuple, np.ndarray)):
            continue  # rows without the recorded curve (e.g. a budget-censored run)
        t = row_extra(r, "gap_t")
        t = list(t) if isinstance(t, (list, tuple, np.ndarray)) else list(range(len(y)))
        y = list(y)
        if len(t) < 2 or len(t) != len(y):
            continue
        specs.append(LinesFigure(f"{title}: {name}", [Series("gap", y=y, x=t)], log_y=True,
                                 xlabel="iteration t", ylabel="gap", band=None))
    return specs


@claim_factory(
    T_scale=Fault(1.0, "multiplies the printed T (1e-9: a wrong constant, first passages exceed it)"),
    ascent_factor=Fault(2.0, "the factor of the ascent-lemma bound (0.4 instead of 2: violated, since the exact "
                             "traces have sum ||grad||^2 ~ (L_T - L_0)/eta)"),
)
def make_claims(*, faults):
    """Build the Theorem 1-2 claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, assumptions=meter_rows, search=(random_space(),))
    return [
        Claim(id="chen2024.thm1", source="Theorem 1; App. A.3", instances=_thm_instances, **common,
              statement="Under Assumptions 1-2, the BN policy gradient (2)-(3) with eta <= 1/beta_lambda has "
                        "min_{t<T} Nash-gap_t <= eps whenever T >= 256 N M^2 |S|^2 max|A^i|^2 Dr^2/((1-gamma)^4 eps^2) "
                        "+ 32 lambda M |S| max|A^i|^2 sum_i |A^{P^i}|^{-1} Dr/((1-gamma) eps); lambda = eps/(2M) (A.3).",
              latex=r"T\ge\frac{256NM^2|\mathcal S|^2\max_i|\mathcal A^i|^2\Delta r^2}{(1-\gamma)^4\epsilon^2}+\frac{32\lambda M|\mathcal S|"
                    r"\max_i|\mathcal A^i|^2\sum_i|\mathcal A^{P^i}|^{-1}\Delta r}{(1-\gamma)\epsilon}\Rightarrow\min_{t<T}\text{Nash-gap}_t\le\epsilon",
              measure=lambda inst, rng, quick: _thm_measure(inst, rng, quick, "nash", f["T_scale"]),
              figure=lambda rows: _gap_figure(rows, "Theorem 1: Nash gap along (3), eta = 1/beta"),
              notes=f"eps = {EPSILON}; measured = first passage + 1 (exact gaps every iteration in quick runs, every "
                    "5th in full runs: an upper bound on the first passage). extra.L_gain is L_T - L_0."),
        Claim(id="chen2024.thm1_ascent", source="App. A.3 (ascent lemma); Lemma 4", instances=_thm_instances, **common,
              statement="On every run with eta <= 1/beta_lambda: sum_{t<T} ||grad L(theta_t)||^2 <= 2 (L(theta_T) - "
                        "L(theta_0))/eta and L(theta_t) is non-decreasing.",
              latex=r"\sum_{t<T}\|\nabla L_\lambda(\theta_t)\|_2^2\le\frac{2(L_\lambda(\theta_T)-L_\lambda(\theta_0))}{\eta},\quad"
                    r"L_\lambda(\theta_{t+1})\ge L_\lambda(\theta_t)",
              measure=lambda inst, rng, quick: _ascent_measure(inst, rng, quick, f["ascent_factor"]),
              notes="The same traces as thm1 / thm2 (point.run)."),
        Claim(id="chen2024.thm1_algebra", source="App. A.3 (displays)", instances=_thm_instances, **common,
              statement="Each display of A.3 follows from the previous one (sympy, evaluated at the instance's "
                        "constants).",
              latex=r"T\ge\frac{8\beta_\lambda|\mathcal S|^2\max_i|\mathcal A^i|^2\Delta r}{\lambda^2(1-\gamma)},\ \lambda=\frac{\epsilon}{2M}",
              measure=lambda inst, rng, quick: _algebra_measure(inst, rng, quick, 1),
              notes="Violated rows are findings (module docstring): display 3 keeps a lambda after substituting it; "
                    "the statement writes |A^{P^i}| where A.3 has |A^i|."),
        Claim(id="chen2024.thm2", source="Theorem 2; App. A.5", instances=_thm2_instances, **common,
              statement="For the fully correlated BN policy gradient with eta <= 1/beta_lambda, min_{t<T} "
                        "optimality-gap_t <= eps whenever T >= 2^{N+8} N^3 M^2 |S|^2 |A|^2 max|A^i|^2 Dr^2/(eps^2 "
                        "(1-gamma)^4) + 8 N M |S| |A|^2 max|A^i|^2 Dr sum_i |A^{P^i}|^{-1}/(eps (1-gamma)); "
                        "lambda = eps/(2^{N+1} N M).",
              latex=r"T\ge\frac{2^{N+8}N^3M^2|\mathcal S|^2|\mathcal A|^2\max_i|\mathcal A^i|^2\Delta r^2}{\epsilon^2(1-\gamma)^4}+"
                    r"\frac{8NM|\mathcal S||\mathcal A|^2\max_i|\mathcal A^i|^2\Delta r\sum_i|\mathcal A^{P^i}|^{-1}}{\epsilon(1-\gamma)}"
                    r"\Rightarrow\min_{t<T}\text{optimality-gap}_t\le\epsilon",
              measure=lambda inst, rng, quick: _thm_measure(inst, rng, quick, "optimality", f["T_scale"]),
              figure=lambda rows: _gap_figure(rows, "Theorem 2: optimality gap along (3), full DAG"),
              notes=f"eps = {EPSILON}; full DAG instances only."),
        Claim(id="chen2024.thm2_algebra", source="App. A.5 (displays)", instances=_thm2_instances, **common,
              statement="Each display of A.5 follows from the previous one (sympy, at the instance's constants).",
              latex=r"T\ge\frac{8\beta_\lambda|\mathcal S|^2|\mathcal A|^2\max_i|\mathcal A^i|^2\Delta r}{\lambda^2(1-\gamma)},\ "
                    r"\lambda=\frac{\epsilon}{2^{N+1}NM}",
              measure=lambda inst, rng, quick: _algebra_measure(inst, rng, quick, 2),
              notes="Violated rows are findings: 1/lambda^2 gives 2^{2N+5}, A.5 prints 2^{N+5}; the final second "
                    "term prints 8NM where the previous display gives 2^{N+5}NM."),
    ]


for _claim in make_claims():
    register(_claim)
