"""Toy claims for the tests: partial sums of a geometric series against closed forms.

Nothing is registered at import. The tests build a fresh ``verify.Registry`` and call
:func:`register_toy_claims`; the command-line tests load this module through
``NETMARL_VERIFY_EXTRA_CLAIMS=_toy_claims:register_toy_claims`` (with this folder on
``PYTHONPATH``), so the real ``netmarl-verify list`` never shows them.

- ``toy.geometric``: :math:`S_K = \\sum_{k=0}^{K} a r^k \\le a/(1-r)` for :math:`0 \\le r < 1`,
  :math:`a > 0` — true; the instance ``r=1.5`` breaks the hypothesis (not applicable).
- ``toy.geometric_wrong_constant``: the same with the bound :math:`0.9\\,a/(1-r)` — a
  deliberately wrong constant, violated as soon as :math:`r^{K+1} < 0.1`.
- ``toy.broken``: ``measure`` raises on the instance ``bad`` (error reporting).
"""

import numpy as np
import sympy

from netmarl_verify.verify import Assumption, Claim, Instance, Measurement

a, r = sympy.symbols("a r", positive=True)

QUICK_R = (0.3, 0.9, 1.5)
FULL_R = (0.1, 0.3, 0.5, 0.9, 0.99, 1.5)
QUICK_K = (1, 5, 20)
FULL_K = (1, 2, 5, 10, 20, 50)


def geometric_instances(quick, seed):
    for size, ratio in enumerate(QUICK_R if quick else FULL_R, start=1):
        yield Instance(name=f"r={ratio}", params={"r": ratio}, size=size)


def geometric_assumptions(instance):
    ratio = instance.params["r"]
    return [Assumption("0 <= r < 1", holds=0 <= ratio < 1, measured=ratio, required="< 1",
                       detail="the series converges")]


def geometric_measure(instance, rng, quick):
    ratio = instance.params["r"]
    scale = rng.uniform(0.5, 2.0)  # the randomness of the claim: a ~ U(0.5, 2)
    for K in QUICK_K if quick else FULL_K:
        partial = float(np.sum(scale * ratio ** np.arange(K + 1)))
        yield Measurement(measured=partial, values={"a": scale}, point={"K": K},
                          extra={"tail": scale * ratio ** (K + 1) / (1 - ratio)})


def geometric_figure(rows, plots):
    decay_plot = plots.decay_plot

    ok = rows[rows["assumptions_hold"]]
    first = ok[ok["instance"] == ok["instance"].iloc[0]]
    K = first["point.K"].to_numpy()
    tail = first["value.a"].to_numpy() / (1 - first["param.r"].to_numpy()) - first["measured"].to_numpy()
    return decay_plot(K, tail, first["extra.tail"].to_numpy(), xlabel="K", ylabel="tail",
                      title=f"tail of the series, {first['instance'].iloc[0]}")


def broken_measure(instance, rng, quick):
    if instance.name == "bad":
        raise ZeroDivisionError("toy failure")
    return {"measured": 0.0, "bound": 1.0}


def make_claims():
    common = dict(paper_file="toy.txt", instances=geometric_instances, assumptions=geometric_assumptions,
                  measure=geometric_measure)
    return [
        Claim(id="toy.geometric", source="Eq. (1)", statement="Partial sums of a geometric series are"
              " bounded by its sum.", latex=r"\sum_{k=0}^{K} a r^k \le \frac{a}{1-r}", bound=a / (1 - r),
              figure=geometric_figure, **common),
        Claim(id="toy.geometric_wrong_constant", source="Eq. (2)", statement="A deliberately wrong"
              " constant: 0.9 a/(1-r).", latex=r"\sum_{k=0}^{K} a r^k \le 0.9\frac{a}{1-r}",
              bound=sympy.Rational(9, 10) * a / (1 - r), **common),
    ]


def make_broken_claim():
    return Claim(id="toy.broken", paper_file="toy.txt", source="-", statement="fails on purpose",
                 instances=lambda quick, seed: [{"name": "good"}, {"name": "bad"}], measure=broken_measure)


def register_toy_claims(registry):
    """Register the two geometric toy claims into `registry`."""
    for claim in make_claims():
        registry.register(claim)
