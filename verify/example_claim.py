r"""An example claim module: a template for writing your own claims.

The claim ``example.bias_span`` is a classical perturbation bound for average-reward Markov
chains (not from one of the package's papers; its paper id ``"example"`` is registered nowhere,
which is fine). For a chain :math:`P_\pi` with Dobrushin ergodic coefficient

.. math:: \tau(P) = \max_{s, s'} \tfrac12 \sum_x |P(x \mid s) - P(x \mid s')| < 1,

the bias :math:`h` (the average-reward state values, :math:`d^\top h = 0`, qu2020 eq. (3)) of
the reward :math:`r_\pi` satisfies

.. math:: \operatorname{sp}(h) \le \frac{\operatorname{sp}(r_\pi)}{1 - \tau(P)},
          \qquad \operatorname{sp}(x) = \max_s x_s - \min_s x_s,

because :math:`h = \sum_t (P^t r_\pi - J)` and :math:`\operatorname{sp}(P x) \le \tau(P)\,\operatorname{sp}(x)`.
On a two-state chain with switching probabilities :math:`p + q \le 1` it is an equality
(:math:`\operatorname{sp}(h) = |\bar r_0 - \bar r_1| / (p + q)` and :math:`\tau = 1 - p - q`):
the check has no slack there, so a wrong constant fails at once.

The module has no side effect at import: :func:`register` adds the claim to a registry, which
``netmarl-verify`` calls with

.. code-block:: bash

    NETMARL_VERIFY_EXTRA_CLAIMS=netmarl_verify.verify.example_claim netmarl-verify run example --quick

(a bare module name: its own ``register(registry)`` is called). :func:`make_claim` builds the
claim with another constant, e.g. ``make_claim(constant=0.9)``, a deliberately wrong bound
that the tests show ``violated``.

Examples
--------
>>> from netmarl_verify.verify import Registry, run
>>> from netmarl_verify.verify import example_claim
>>> registry = Registry()
>>> example_claim.register(registry)
>>> rows = run("example", quick=True, registry=registry, progress=False)
>>> sorted(set(rows["verdict"]))
['holds', 'not applicable']
>>> broken = Registry([example_claim.make_claim(constant=0.9)])
>>> "violated" in set(run("example", quick=True, registry=broken, progress=False)["verdict"])
True
"""

import numpy as np
import sympy

from netmarl_verify.envs import TabularMDP, TabularSoftmaxPolicy, as_generator
from netmarl_verify.solvers.exact import evaluate_policy

from ._claims import Assumption, Claim, Instance, Measurement

__all__ = ["make_claim", "register", "dobrushin_coefficient", "span"]

sp_r, tau, C = sympy.symbols("sp_r tau C", nonnegative=True)


def span(x):
    """:math:`\\max x - \\min x`."""
    x = np.asarray(x, dtype=float)
    return float(x.max() - x.min())


def dobrushin_coefficient(P):
    r"""Dobrushin's ergodic coefficient :math:`\tau(P) = \max_{s,s'} \tfrac12\|P(s, \cdot) - P(s', \cdot)\|_1`.

    Examples
    --------
    >>> dobrushin_coefficient(np.array([[0.9, 0.1], [0.3, 0.7]]))
    0.6
    """
    P = np.asarray(P, dtype=float)
    return float(round(0.5 * np.abs(P[:, None, :] - P[None, :, :]).sum(axis=-1).max(), 15))


# -- instances: (name, params) reproducible from the seed -----------------------------------------


def _two_state(switch_0, switch_1, r_0, r_1):
    """One action per state: move to the other state with probability switch_s, reward r_s."""
    P = np.array([[[1 - switch_0, switch_0]], [[switch_1, 1 - switch_1]]])
    return TabularMDP(P, np.array([[r_0], [r_1]])), np.ones((2, 1))


def instances(quick, seed):
    """Two-state chains (tight when p + q <= 1), random 4-state MDPs, and a periodic swap."""
    rng = as_generator(seed, "seed")
    for k, total in enumerate((0.5, 1.5) if quick else (0.2, 0.5, 0.9, 1.2, 1.5, 1.9)):
        p = rng.uniform(0.1, 0.9) * min(total, 1.0) if total <= 1 else rng.uniform(total - 1, 1.0)
        q = total - p
        r = rng.uniform(0, 1, size=2)
        mdp, pi = _two_state(p, q, *r)
        yield Instance(name=f"two-state p+q={total}", params={"p": p, "q": q, "r0": r[0], "r1": r[1]},
                       payload=(mdp, pi), size=2 + k / 10)
    for k in range(1 if quick else 4):
        P = rng.dirichlet(np.ones(4), size=(4, 2))
        mdp = TabularMDP(P, rng.uniform(0, 1, size=(4, 2)))
        policy = TabularSoftmaxPolicy(rng.normal(size=(4, 2)))
        yield Instance(name=f"random-4x2-{k}", params={"states": 4, "actions": 2, "k": k}, payload=(mdp, policy),
                       size=4 + k / 10)
    # tau = 1: the hypothesis fails (the bound is not applicable; the chain is periodic)
    mdp, pi = _two_state(1.0, 1.0, 1.0, 0.0)
    yield Instance(name="periodic swap", params={"p": 1.0, "q": 1.0, "r0": 1.0, "r1": 0.0}, payload=(mdp, pi),
                   size=2)


def _evaluate(instance):
    mdp, policy = instance.payload
    ev = evaluate_policy(mdp, policy, None, backend="dense", periodic="cesaro")
    return ev, dobrushin_coefficient(np.asarray(ev.P))


def assumptions(instance):
    """The one hypothesis, measured: :math:`\\tau(P_\\pi) < 1`."""
    _, t = _evaluate(instance)
    return [Assumption("Dobrushin coefficient tau(P_pi) < 1", holds=t < 1, measured=t, required="< 1",
                       detail="rows of P_pi overlap (a scrambling chain)")]


def measure(instance, rng, quick):
    """sp(h) of the exact bias against sp(r_pi) / (1 - tau); no randomness needed."""
    ev, t = _evaluate(instance)
    h = ev.global_values
    r = ev.rewards.mean(axis=1)
    return Measurement(measured=span(h), values={"sp_r": span(r), "tau": t},
                       extra={"J": ev.J, "residual": max(ev.residuals.values())})


def make_claim(constant=1, claim_id=None):
    """The claim ``sp(h) <= constant * sp(r_pi) / (1 - tau)``; ``constant < 1`` is a wrong bound.

    Parameters
    ----------
    constant : number
        1 is the true statement; anything smaller is violated on the tight two-state chains.
    claim_id : str, optional
        Default ``"example.bias_span"`` (``"example.bias_span_c<constant>"`` for other constants).
    """
    constant = sympy.nsimplify(constant)
    if claim_id is None:
        claim_id = "example.bias_span" if constant == 1 else f"example.bias_span_c{float(constant):g}"
    bound = constant * sp_r / (1 - tau)
    return Claim(
        id=claim_id,
        source="perturbation bound (Seneta, Non-negative Matrices and Markov Chains, 1981, §3.1)",
        statement="The span of the average-reward bias is at most the span of the reward divided by "
                  "1 - tau, tau the Dobrushin ergodic coefficient of the chain.",
        latex=r"\operatorname{sp}(h) \le " + sympy.latex(bound),
        bound=bound,
        assumptions=assumptions,
        measure=measure,
        instances=instances,
        notes="Equality on two-state chains with p + q <= 1: a constant below 1 is violated there.",
        # measured comes from a direct solve (residual ~1e-15): the default rounding allowance is right
    )


def register(registry):
    """Add ``example.bias_span`` to `registry` (called by ``NETMARL_VERIFY_EXTRA_CLAIMS``)."""
    registry.register(make_claim(), replace=True)
