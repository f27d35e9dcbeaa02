r"""zhang2025: steps of the proof of Thm 5.10 — (8) l. 3 and the recursion (9) → (10) → (11).

``zhang2025.eq8_normalized``  for any :math:`g` (the gradient) and :math:`d = g + e` (the update direction),
                              :math:`-\frac{\langle g,d\rangle}{\|d\|}\le-\frac13\|g\|+\frac83\|e\|`.
``zhang2025.eq11_recursion``  (9) iterated at equality with :math:`\alpha = 7/(2\sqrt\mu)`, :math:`\alpha_t=\alpha/t` from
                              :math:`\Delta_2`, against (11)'s (and (10)'s) printed right-hand side.

(9)-(11). With :math:`a_t = \alpha_t\sqrt\mu/3 = 7/(6t)`, the recursion
:math:`\Delta_{t+1} = (1-a_t)\Delta_t + \frac{8\alpha_t}3\|e\| + L_J\alpha_t^2 + \frac{\alpha_t}3\epsilon'` is the largest
:math:`\Delta` (9) allows; each instance switches on one input. **Findings:** the :math:`\Delta_2` term of (11) holds
(:math:`t\prod_{k=2}^t(1-\frac7{6k})\le\frac56`), but the other three terms do not follow from (9): the ε' term settles
at :math:`\frac{2\alpha}7\epsilon' = \epsilon'/\sqrt\mu` (ratio :math:`1/\sqrt\mu = 2.83` at μ_f = ½), not ε'; a constant
‖e‖ gives :math:`\to\frac{16}7\alpha\|e\|` against (11)'s :math:`\alpha\|e\|` (ratio → 16/7; 2.67 at small t); the
:math:`L_J` term behaves like :math:`6L_J\alpha^2/t` against :math:`L_J\alpha^2/t` (ratio 3.5 at t = 300, → 6). The
theorem's O(·) rates survive with larger constants; its floor becomes :math:`\epsilon'/\sqrt\mu`, which with the
derived ε' of ``zhang2025.lemma5_7`` is :math:`\sqrt{\epsilon_{\rm bias}}/(1-\gamma)` (the standard floor). (10) as printed
is garbled: its :math:`c_k=\prod_{i=0}^{k-1}(1-\alpha_{k-i}\sqrt\mu/3)` contains :math:`1-\alpha_1\sqrt\mu/3=-\frac16`, so its
right-hand side turns negative; it is **violated** (rows ``"(10) as printed"``, t ≤ 200; α₀ does not occur).

Readings. (8) l. 3 uses the inequality with the minus on the left (row ``reading = "(8) l. 3"``); the sentence after (8)
prints it without the minus, :math:`\frac{\langle g,d\rangle}{\|d\|}\le-\frac13\|g\|+\frac83\|e\|`, which is false already at
e = 0 (row ``"sentence after (8), as printed"``: **violated**, a typo). Tightness: with :math:`\|g\| = 1` and d at angle
φ from g the smallest error is :math:`\|e\| = \sin\varphi` (φ ≤ 90°) or 1 (φ > 90°, d → 0 along the ray), so
:math:`\sup\frac{\|g\|/3-\langle g,d\rangle/\|d\|}{\|e\|} = \frac43` (φ = 180°): the ratio to the printed :math:`\frac83` is at
most ½, i.e. the constant could be :math:`\frac43`. Checked in the equivalent form :math:`\|g\|/3-\langle g,d\rangle/\|d\|\le\frac83\|e\|`, so measured/bound is
the tightness. Instances: these adversarial directions on an angle grid,
and random Gaussian pairs in several dimensions and error scales.
"""

import math

import numpy as np

from netmarl_verify.verify import Claim, Fault, Instance, Integer, LinesFigure, Measurement, Real, SearchSpace, \
    Series, claim_factory, register

from ._common import PAPER, PAPER_FILE, SEED_MAX, derived_seed

__all__ = ["make_claims"]


def _instance(kind, **params):
    name = f"eq8 {kind} " + " ".join(f"{k}={v}" for k, v in params.items())
    return Instance(name=name, params={"family": kind, **params}, payload={"family": kind, **params}, size=float(params.get("dim", 2)),
                    family=kind)


def _instances(quick, seed):
    yield _instance("adversarial", angles=181 if quick else 1801)
    for dim, scale in ((2, 0.3), (10, 1.0), (100, 3.0)):
        yield _instance("gaussian", dim=dim, scale=scale, n=200 if quick else 5000, seed=derived_seed(seed, f"{dim}"))


def _pairs(instance, rng):
    p = instance.payload
    if p["family"] == "adversarial":
        phi = np.linspace(0.0, math.pi, int(p["angles"]))[1:-1]
        g = np.tile([1.0, 0.0], (phi.size, 1))
        u = np.stack([np.cos(phi), np.sin(phi)], axis=1)
        # closest point to g on the ray t u, t > 0 (t -> 0+ beyond 90 degrees)
        t = np.maximum((g * u).sum(axis=1), 1e-9)
        d = t[:, None] * u
        return g, d, {"phi": phi}
    rs = np.random.default_rng(int(p["seed"]))
    g = rs.standard_normal((int(p["n"]), int(p["dim"])))
    e = float(p["scale"]) * rs.standard_normal(g.shape) * rs.random((g.shape[0], 1)) * 3
    return g, g + e, {}


def _measure(instance, rng, quick, constant=8 / 3):
    g, d, info = _pairs(instance, rng)
    ng, ne, nd = np.linalg.norm(g, axis=1), np.linalg.norm(d - g, axis=1), np.linalg.norm(d, axis=1)
    cosd = (g * d).sum(axis=1) / nd
    # checked in the equivalent form  lhs + ||g||/3 <= constant ||e||  (so that measured/bound is the tightness)
    for reading, lhs in (("(8) l. 3", -cosd + ng / 3), ("sentence after (8), as printed", cosd + ng / 3)):
        bound = constant * ne
        if instance.payload["family"] == "adversarial":
            step = max(1, len(lhs) // 60)
            for k in range(0, len(lhs), step):
                yield Measurement(measured=float(lhs[k]), bound=float(bound[k]),
                                  point={"reading": reading, "phi_deg": float(np.degrees(info["phi"][k]))},
                                  extra={"lhs_unshifted": float(lhs[k] - ng[k] / 3)})
        else:
            k = int(np.argmax(lhs - bound))
            yield Measurement(measured=float(lhs[k]), bound=float(bound[k]), point={"reading": reading, "pair": k},
                              extra={"max_ratio": float(np.max(lhs / bound))})


def _figure(rows):
    name = [n for n in rows["instance"].unique() if "adversarial" in n][:1]
    if not name:
        return None
    return LinesFigure("(8) l. 3 on adversarial directions",
                       [Series(r"$\|g\|/3-\langle g,d\rangle/\|d\|$", "measured")],
                       bounds=Series(r"$\frac{8}{3}\|e\|$", "bound"),
                       where={"instance": name[0], "point.reading": "(8) l. 3"}, x="point.phi_deg",
                       xlabel=r"angle between $d$ and $g$ (degrees)", ylabel="value")


def _space():
    def build(p):
        return _instance("gaussian", dim=p["dim"], scale=p["scale"], n=500, seed=p["seed"])

    return SearchSpace("gaussian", {"dim": Integer(2, 50), "scale": Real(0.01, 10.0, log=True),
                                    "seed": Integer(0, SEED_MAX)}, build, "random (g, e) pairs")


@claim_factory(constant=Fault(8 / 3, "the constant in front of ||e|| (1/3: below the sharp 4/3, violated)"),
               delta2_power=Fault(1, "the power of t in (11)'s Delta_2/t term (2: the Delta_2-only instance, which "
                                     "holds, is then violated)"))
def make_claims(*, faults):
    """Build ``zhang2025.eq8_normalized`` and ``zhang2025.eq11_recursion`` (faults: :func:`netmarl_verify.verify.with_faults`)."""
    return [Claim(id="zhang2025.eq8_normalized", source="proof of Thm 5.10, (8) l. 3 and the sentence after it",
                  paper=PAPER, paper_file=PAPER_FILE, instances=_instances, search=(_space(),), figure=_figure,
                  statement="For any gradient g and direction d with error e = d - g: -<g, d>/||d|| <= -||g||/3 + "
                            "(8/3) ||e||.",
                  latex=r"-\frac{\langle\nabla J(\theta_t),d_t\rangle}{\|d_t\|}\le-\frac13\|\nabla J(\theta_t)\|+\frac83\|e_t\|",
                  measure=lambda inst, rng, quick: _measure(inst, rng, quick, faults["constant"]),
                  notes="Sharp constant 4/3 (module docstring); the sentence after (8) drops the minus (violated)."),
            Claim(id="zhang2025.eq11_recursion", source="proof of Thm 5.10, (9)-(11)", paper=PAPER, paper_file=PAPER_FILE,
                  instances=_recursion_instances, figure=_recursion_figure, search=(_recursion_space(),),
                  statement="Iterating (9) with alpha = 7/(2 sqrt(mu)), alpha_t = alpha/t gives (11): Delta_{t+1} <= "
                            "Delta_2/t + (alpha/t) sum_{tau<=t-2} ||e_tau|| + L_J alpha^2/t + eps'.",
                  latex=r"\Delta_{t+1}\le\frac{1}{t}\Delta_2+\frac{\alpha}{t}\sum_{\tau=0}^{t-2}\|e_\tau\|+\frac{L_J\alpha^2}{t}"
                        r"+\epsilon'\quad\mathrm{from}\quad\Delta_{t+1}=\left(1-\frac{\alpha_t\sqrt{\mu}}{3}\right)\Delta_t"
                        r"+\frac{8\alpha_t}{3}\|e_t\|+L_J\alpha_t^2+\frac{\alpha_t}{3}\epsilon'",
                  measure=lambda inst, rng, quick: _recursion_rows(inst, rng, quick, faults["delta2_power"]),
                  notes="(9) iterated at equality (the largest Delta the recursion allows) from Delta_2, constant ||e||, "
                        "against (11)'s and (10)'s printed right-hand sides; one term switched on per instance. "
                        "Findings in the module docstring."),
            ]


def _recursion_figure(rows):
    sel = [n for n in rows["instance"].unique() if "only" in n]
    specs = []
    for name in sel[:4]:
        specs.append(LinesFigure(f"(9) iterated vs (11): {name}", [Series("(9) at equality", "measured")],
                                 bounds=Series("(11) RHS", "bound"), where={"instance": name, "point.check": "(11)"},
                                 x="point.t", xlabel="t", ylabel=r"$\Delta_{t+1}$", log_x=True, log_y=True))
    return specs



# ----------------------------------------------------------------------------- (9) -> (10) -> (11)
def _recursion_instance(label, mu_f, e, L, eps, delta2):
    return Instance(name=f"recursion {label}", params={"family": "recursion", "mu_f": mu_f, "e": e, "L_J": L,
                                                     "eps_prime": eps, "delta2": delta2},
                    payload={"mu_f": mu_f, "e": e, "L_J": L, "eps_prime": eps, "delta2": delta2},
                    size=1.0, family="recursion")


def _recursion_instances(quick, seed):
    yield _recursion_instance("Delta_2 only", 0.5, 0.0, 0.0, 0.0, 1.0)
    yield _recursion_instance("e only", 0.5, 0.1, 0.0, 0.0, 0.0)
    yield _recursion_instance("L_J only", 0.5, 0.0, 1.0, 0.0, 0.0)
    yield _recursion_instance("eps' only", 0.5, 0.0, 0.0, 0.1, 0.0)
    if not quick:
        yield _recursion_instance("mixed mu_f=0.1", 0.1, 0.05, 2.0, 0.01, 5.0)
        yield _recursion_instance("mixed mu_f=1", 1.0, 0.05, 2.0, 0.01, 5.0)


def _recursion_space():
    def build(p):
        return _recursion_instance("search", p["mu_f"], p["e"], p["L_J"], p["eps_prime"], p["delta2"])

    return SearchSpace("recursion", {"mu_f": Real(0.05, 1.0, log=True), "e": Real(0.0, 1.0), "L_J": Real(0.0, 5.0),
                                     "eps_prime": Real(0.0, 1.0), "delta2": Real(0.0, 10.0)}, build,
                       "explicit inputs of (9): mu_f, a constant ||e||, L_J, eps', Delta_2")


def _t_points(T):
    return sorted({int(round(x)) for x in np.geomspace(2, T, 25)})


def _recursion_rows(instance, rng, quick, delta2_power=1):
    p = instance.payload
    mu = p["mu_f"] ** 2 / 2
    alpha = 7 / (2 * math.sqrt(mu))
    e, L, eps, d2 = p["e"], p["L_J"], p["eps_prime"], p["delta2"]
    T = 300 if quick else 3000
    delta = {2: d2}
    for t in range(2, T + 1):  # (9) at equality, alpha_t = alpha / t, from t = 2 (1 - alpha_1 sqrt(mu)/3 < 0)
        a_t = alpha / t
        delta[t + 1] = (1 - a_t * math.sqrt(mu) / 3) * delta[t] + 8 * a_t / 3 * e + L * a_t ** 2 + a_t / 3 * eps
    prod = 1.0
    for t in range(2, T + 1):
        prod *= 1 - 7 / (6 * t)
        if t in _t_points(T):
            rhs11 = d2 / t ** delta2_power + alpha / t * (t - 1) * e + L * alpha ** 2 / t + eps
            yield Measurement(measured=delta[t + 1], bound=rhs11, point={"check": "(11)", "t": t},
                              values={"alpha": alpha, "mu": mu})
            yield Measurement(measured=t * prod, bound=1.0, point={"check": "t prod_{k=2}^t (1 - 7/(6k)) <= 1", "t": t})
            # (10) as printed: c_k = 1{k >= 1} prod_{i=0}^{k-1} (1 - alpha_{k-i} sqrt(mu)/3), alpha_0 read as alpha
            rhs10 = math.prod(1 - alpha / k * math.sqrt(mu) / 3 for k in range(2, t + 1)) * d2
            for k in range(1, t - 1):
                c_k = math.prod(1 - (alpha / (k - i)) * math.sqrt(mu) / 3 for i in range(0, k))
                rhs10 += c_k * (alpha / (t - k) * (e + eps) + L * (alpha / (t - k)) ** 2)
            if t <= 200:
                yield Measurement(measured=delta[t], bound=rhs10, point={"check": "(10) as printed", "t": t})


for _claim in make_claims():
    register(_claim)
