r"""ying2023's local utilities :math:`f_i(\lambda_i)`, their shadow rewards and the constants of Assumption 2.

Setting (ying2023 §2, eqs. (2), (4), (5); implementation guide §1, §5). The occupancy measure
:math:`\lambda^\pi(s, a) = \sum_{k\ge0}\gamma^k\Pr(s^k = s, a^k = a)` is **unnormalised**
(:math:`\sum_{s,a}\lambda = 1/(1-\gamma)`); agent :math:`i`'s local occupancy
:math:`\lambda_i(s_i, a_i)` is its marginal (eq. (4), :func:`local_occupancies`) and the global
utility is :math:`f(\lambda) = \frac1n\sum_i f_i(\lambda_i)` (eq. (5), :func:`utility_value`). The
local shadow reward is :math:`r_i = \nabla_{\lambda_i}f_i(\lambda_i)` **without** the :math:`1/n`
(:func:`shadow_rewards`); the global one is :math:`r(s,a) = \frac1n\sum_i r_i(s_i,a_i)`
(:func:`global_shadow_reward`).

Every utility has the same protocol:

``value(lam)``, ``gradient(lam)``
    :math:`f_i(\lambda_i)` and :math:`\nabla_{\lambda_i}f_i` (shape ``(S_i, A_i)``) at a local
    occupancy ``lam`` of shape ``(S_i, A_i)``.
``grad_bound(gamma, xi_marginal=None)``
    :math:`M_f`: a bound on :math:`\|\nabla f_i(\lambda_i)\|_\infty` over :math:`\lambda\in\Lambda`
    (Assumption 2(I), the premise of Lemma 2 and Prop. 1), in closed form. ``xi_marginal`` is agent
    :math:`i`'s marginal :math:`\xi_i` of the initial distribution; the bound holds for **every**
    MDP with that marginal and is attained by some such MDP unless the docstring says otherwise.
    ``math.inf`` when the gradient is unbounded on :math:`\Lambda` (never a cap).
``lipschitz(gamma, xi_marginal=None)``
    :math:`L_\lambda` of Assumption 2(II): :math:`\|\nabla f_i(\lambda_i) - \nabla f_i(\lambda'_i)\|_\infty
    \le L_\lambda\|\lambda_i - \lambda'_i\|_2` on :math:`\Lambda` (ℓ∞ on the left, ℓ2 on the right).
``concave``
    Whether :math:`f_i` is concave (Remark 2; the certificate of
    :func:`~._utility_optimum.utility_optimum` needs it).

Two facts about :math:`\Lambda` give every closed form below (:math:`d_i = (1-\gamma)\sum_{a_i}\lambda_i`):
the :math:`k = 0` term of the occupancy is :math:`\xi_i`, and the terms :math:`k \ge 1` carry mass
:math:`\gamma/(1-\gamma)` in total, so

.. math:: (1-\gamma)\xi_i(s_i) \le d_i(s_i) \le (1-\gamma)\xi_i(s_i) + \gamma, \qquad
          0 \le \lambda_i(s_i, a_i) \le \xi_i(s_i) + \frac{\gamma}{1-\gamma},

each end attained by some MDP with marginal :math:`\xi_i` (state :math:`s_i` never re-entered, or
entered at every step :math:`k \ge 1`; action :math:`a_i` never or always taken).

Validation: an occupancy with the wrong number of axes or the wrong shape is a
:class:`~netmarl_verify.envs.ShapeError`, a NaN or infinity a :class:`~netmarl_verify.envs.NonFiniteError`,
a negative entry (below ``-LAMBDA_NEG_ATOL``) or a point outside the utility's domain a
:class:`UtilityDomainError`; every message names the utility and the entry.
"""

import math
from dataclasses import dataclass

import numpy as np

from netmarl_verify.envs._errors import NetmarlError
from netmarl_verify.envs._memory import check_memory
from netmarl_verify.envs._validation import NonFiniteError, ShapeError, as_float_array

__all__ = [
    "UtilityDomainError",
    "LAMBDA_NEG_ATOL",
    "LinearUtility",
    "StateEntropyUtility",
    "StateActionEntropyUtility",
    "state_action_entropy",
    "ApprenticeshipUtility",
    "KLUtility",
    "LogFairnessUtility",
    "local_occupancies",
    "utility_value",
    "shadow_rewards",
    "global_shadow_reward",
]

#: Entries of an occupancy down to ``-LAMBDA_NEG_ATOL`` are rounding of a linear solve and read as 0
#: (a backward-stable solve of :math:`(I-\gamma P_\pi^\top)x = \xi` errs by ~1e-16 times
#: :math:`\mathrm{cond} \le (1+\gamma)/(1-\gamma)` times :math:`\|x\| \le 1/(1-\gamma)`; 1e-12 leaves room
#: for γ up to 0.999). Anything more negative is not an occupancy.
LAMBDA_NEG_ATOL = 1e-12


class UtilityDomainError(NetmarlError, ValueError):
    """An argument is outside a ying2023 utility's domain.

    A negative occupancy entry, a point where a logarithm's argument is not positive, a target that
    is not a positive distribution, an initial marginal that is not a distribution, or a discount
    that differs from the one the utility was built with. The message names the utility and the entry.
    """


# ----------------------------------------------------------------------------- helpers
def _check_lam(lam, name, shape=None):
    """``lam`` as a float64 (S_i, A_i) array with tiny negatives clipped to 0; errors name ``name``."""
    arr = as_float_array(lam, f"the occupancy passed to {name}")
    if arr.ndim != 2:
        raise ShapeError(f"{name}: a local occupancy must have 2 axes (s_i, a_i), got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ShapeError(f"{name}: the occupancy has shape {arr.shape} but the utility is defined on "
                         f"shape {tuple(shape)} (s_i, a_i)")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        raise NonFiniteError(f"{name}: the occupancy has a non-finite entry {float(arr[idx])!r} at (s_i, a_i) = {idx}")
    neg = arr < -LAMBDA_NEG_ATOL
    if neg.any():
        idx = tuple(int(k) for k in np.argwhere(neg)[0])
        raise UtilityDomainError(f"{name}: the occupancy has a negative entry {float(arr[idx])!r} at "
                                 f"(s_i, a_i) = {idx} (an occupancy measure is nonnegative)")
    return np.maximum(arr, 0.0)


def _check_gamma(gamma):
    gamma = float(gamma)
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1), got {gamma}")
    return gamma


def _check_xi(xi, name, n_states=None):
    """Agent i's initial marginal ξ_i as a float vector (a distribution), or None."""
    if xi is None:
        return None
    xi = as_float_array(xi, f"xi_marginal passed to {name}")
    if xi.ndim != 1 or (n_states is not None and xi.shape != (n_states,)):
        want = "(S_i,)" if n_states is None else f"({n_states},)"
        raise ShapeError(f"{name}: xi_marginal must have shape {want}, got {xi.shape}")
    if not np.isfinite(xi).all():
        raise NonFiniteError(f"{name}: xi_marginal has a non-finite entry")
    if (xi < 0).any() or abs(float(xi.sum()) - 1.0) > 1e-10:
        raise UtilityDomainError(f"{name}: xi_marginal must be a probability vector (nonnegative, sum 1), "
                                 f"got min {float(xi.min())!r} and sum {float(xi.sum())!r}")
    return xi


def _own_gamma(util, gamma):
    gamma = _check_gamma(gamma)
    if gamma != util.gamma:
        raise UtilityDomainError(f"{util.name}: built with gamma={util.gamma!r} (its d = (1-gamma) sum_a lambda) "
                                 f"but asked for a bound on the occupancies of gamma={gamma!r}")
    return gamma


def _need_actions(util, n_actions):
    if n_actions is None:
        raise TypeError(f"{util.name}.lipschitz needs n_actions = |A_i| (the bound carries sqrt(|A_i|))")
    n_actions = int(n_actions)
    if n_actions < 1:
        raise ValueError(f"{util.name}: n_actions must be >= 1, got {n_actions}")
    return n_actions


def _state_range(gamma, xi):
    """Per-state range [lo, hi] of d_i on Λ: lo = (1-γ)ξ_i, hi = (1-γ)ξ_i + γ."""
    lo = (1.0 - gamma) * xi
    return lo, lo + gamma


def _abs_log1_endpoints(lo, hi, shift=None):
    """max over states of max(|1 + log(lo/q)|, |1 + log(hi/q)|) (|1 + log x| is monotone on each side of 1/e)."""
    q = 1.0 if shift is None else shift
    with np.errstate(divide="ignore"):
        a = np.abs(1.0 + np.log(lo / q))
        b = np.abs(1.0 + np.log(hi / q))
    return float(np.maximum(a, b).max())


class _Utility:
    """Shared checks of the utility protocol (module docstring)."""

    name = "utility"
    concave = True
    shape = None

    def _lam(self, lam):
        return _check_lam(lam, self.name, self.shape)

    def _n_states(self):
        return None if self.shape is None else self.shape[0]


# ----------------------------------------------------------------------------- utilities
@dataclass(frozen=True, eq=False)
class LinearUtility(_Utility):
    r"""Linear utility :math:`f_i(\lambda_i) = \langle r_i, \lambda_i\rangle` (ying2023 §2, standard MARL).

    The shadow reward is :math:`r_i` itself; :math:`M_f = \|r_i\|_\infty` (attained everywhere),
    :math:`L_\lambda = 0` (guide §5).

    Parameters
    ----------
    r : array_like, shape (S_i, A_i)
        Finite local reward.

    Examples
    --------
    >>> import numpy as np
    >>> u = LinearUtility(np.array([[1.0, -2.0], [0.5, 0.0]]))
    >>> u.value(np.full((2, 2), 0.5)), u.grad_bound(0.9), u.lipschitz(0.9)
    (-0.25, 2.0, 0.0)
    """

    r: np.ndarray
    name = "LinearUtility"

    def __post_init__(self):
        r = as_float_array(self.r, "LinearUtility: r")
        if r.ndim != 2:
            raise ShapeError(f"LinearUtility: r must have shape (S_i, A_i), got {r.shape}")
        if not np.isfinite(r).all():
            raise NonFiniteError("LinearUtility: r has a non-finite entry")
        r.setflags(write=False)
        object.__setattr__(self, "r", r)

    @property
    def shape(self):
        return self.r.shape

    def value(self, lam):
        """:math:`\\langle r_i, \\lambda_i\\rangle`."""
        return float((self.r * self._lam(lam)).sum())

    def gradient(self, lam):
        """:math:`r_i` (constant)."""
        self._lam(lam)
        return self.r.copy()

    def grad_bound(self, gamma, xi_marginal=None, *, n_actions=None):
        """:math:`M_f = \\|r_i\\|_\\infty` (guide §5)."""
        _check_gamma(gamma)
        _check_xi(xi_marginal, self.name, self.shape[0])
        return float(np.abs(self.r).max(initial=0.0))

    def lipschitz(self, gamma, xi_marginal=None, *, n_actions=None):
        """:math:`L_\\lambda = 0` (the gradient is constant)."""
        _check_gamma(gamma)
        _check_xi(xi_marginal, self.name, self.shape[0])
        return 0.0


@dataclass(frozen=True, eq=False)
class StateEntropyUtility(_Utility):
    r"""Local state entropy :math:`f_i = -\sum_{s_i} d_i\log d_i`, :math:`d_i = (1-\gamma)\sum_{a_i}\lambda_i` (ying2023 §2).

    Gradient (guide §5, convention 6: constant in :math:`a_i`; signed, zero at :math:`d_i = 1/e`)

    .. math:: \frac{\partial f_i}{\partial\lambda_i(s_i,a_i)} = -(1-\gamma)\,(\log d_i(s_i) + 1),

    :math:`+\infty` where :math:`d_i(s_i) = 0` (the one-sided derivative; value uses :math:`0\log0 = 0`).

    Constants on :math:`\Lambda` (module docstring: :math:`d_i(s) \in [(1-\gamma)\xi_i(s), (1-\gamma)\xi_i(s)+\gamma]`):

    * :meth:`grad_bound` (sharp, the default): since :math:`|1 + \log x|` is monotone on each side
      of :math:`1/e`, its maximum over an interval is at an end,

      .. math:: M_f = (1-\gamma)\max_s\max\big(|1+\log((1-\gamma)\xi_i(s))|,\ |1+\log((1-\gamma)\xi_i(s)+\gamma)|\big),

      attained by an MDP with a transient state (the lower end) or an absorbing one (the upper
      end). The guide's closed form :math:`(1-\gamma)\max(|\log((1-\gamma)\xi_{\min})+1|, 1)`
      (``sharp=False``) is a valid but looser bound: it replaces the upper end by
      :math:`d \le 1` (:math:`|1+\log d| \le 1` for :math:`d\in[1/e, 1]`) — our derivation agrees
      with it as an upper bound and is never larger; the two coincide when the lower end dominates
      (:math:`(1-\gamma)\xi_{\min} \le e^{-2}`).
    * :meth:`lipschitz`: :math:`|\log d - \log d'| \le |d - d'|/\min(d, d')`,
      :math:`|d(s) - d'(s)| = (1-\gamma)|\sum_a\Delta(s,a)| \le (1-\gamma)\sqrt{|A_i|}\,\|\Delta\|_2` and
      :math:`\min(d,d') \ge (1-\gamma)\xi_i(s)` give the guide's
      :math:`L_\lambda = (1-\gamma)\sqrt{|A_i|}/\xi_{\min}`; it is approached (not attained) as both
      points approach the lower end along a direction uniform in :math:`a_i`.

    Both are ``math.inf`` without ``xi_marginal`` or when :math:`\xi_i` has a zero (the gradient
    is unbounded near :math:`d_i(s) = 0`).

    Parameters
    ----------
    gamma : float in [0, 1)
        The discount of the occupancies this utility reads (:math:`d_i` is normalised with it).

    Examples
    --------
    >>> import numpy as np
    >>> u = StateEntropyUtility(0.5)
    >>> lam = np.array([[0.5, 0.5], [0.5, 0.5]])  # d = (1/2, 1/2)
    >>> round(u.value(lam), 12) == round(float(np.log(2)), 12)
    True
    """

    gamma: float
    name = "StateEntropyUtility"

    def __post_init__(self):
        object.__setattr__(self, "gamma", _check_gamma(self.gamma))

    def _d(self, lam):
        return (1.0 - self.gamma) * self._lam(lam).sum(axis=1)

    def value(self, lam):
        """:math:`-\\sum_s d_i(s)\\log d_i(s)`, with :math:`0\\log 0 = 0`."""
        d = self._d(lam)
        pos = d > 0
        return float(-(d[pos] * np.log(d[pos])).sum())

    def gradient(self, lam):
        """:math:`-(1-\\gamma)(\\log d_i(s_i) + 1)`, broadcast over :math:`a_i` (:math:`+\\infty` where :math:`d_i = 0`)."""
        lam = self._lam(lam)
        d = (1.0 - self.gamma) * lam.sum(axis=1)
        with np.errstate(divide="ignore"):
            g = -(1.0 - self.gamma) * (np.log(d) + 1.0)
        return np.broadcast_to(g[:, None], lam.shape).copy()

    def grad_bound(self, gamma, xi_marginal=None, *, n_actions=None, sharp=True):
        """:math:`M_f` on :math:`\\Lambda` (class docstring); ``sharp=False`` gives the guide's closed form."""
        gamma = _own_gamma(self, gamma)
        xi = _check_xi(xi_marginal, self.name)
        if xi is None or not (xi > 0).all():
            return math.inf
        if sharp:
            lo, hi = _state_range(gamma, xi)
            return (1.0 - gamma) * _abs_log1_endpoints(lo, hi)
        return (1.0 - gamma) * max(abs(math.log((1.0 - gamma) * float(xi.min())) + 1.0), 1.0)

    def lipschitz(self, gamma, xi_marginal=None, *, n_actions=None):
        """:math:`L_\\lambda = (1-\\gamma)\\sqrt{|A_i|}/\\xi_{\\min}` (class docstring); ``n_actions`` is :math:`|A_i|` (required)."""
        gamma = _own_gamma(self, gamma)
        xi = _check_xi(xi_marginal, self.name)
        n_actions = _need_actions(self, n_actions)
        if xi is None or not (xi > 0).all():
            return math.inf
        return (1.0 - gamma) * math.sqrt(int(n_actions)) / float(xi.min())


@dataclass(frozen=True, eq=False)
class StateActionEntropyUtility(_Utility):
    r"""Entropy of the unnormalised occupancy, :math:`f_i = -\sum_{s_i,a_i}\lambda_i\log\lambda_i` (guide §5).

    Gradient :math:`-(\log\lambda_i + 1)`, :math:`+\infty` at :math:`\lambda_i(s,a) = 0`. With
    :math:`|A_i| \ge 2`, the occupancy of a policy that never takes some action is 0 there, so the
    gradient is **unbounded on** :math:`\Lambda`: :math:`M_f = L_\lambda = \infty` and every claim
    that needs them is "not applicable" naming :math:`M_f`. With a single action,
    :math:`\lambda_i(s, 0) = d_i(s)/(1-\gamma) \in [\xi_i(s), \xi_i(s) + \gamma/(1-\gamma)]` and the
    bounds are finite (the same end-point argument as :class:`StateEntropyUtility`):
    :math:`M_f = \max_s\max(|1+\log\xi_i(s)|, |1+\log(\xi_i(s)+\gamma/(1-\gamma))|)`,
    :math:`L_\lambda = 1/\xi_{\min}`.

    Examples
    --------
    >>> u = StateActionEntropyUtility()
    >>> u.grad_bound(0.9, [0.5, 0.5], n_actions=2)
    inf
    """

    name = "StateActionEntropyUtility"

    def value(self, lam):
        """:math:`-\\sum\\lambda\\log\\lambda` with :math:`0\\log0 = 0`."""
        lam = self._lam(lam)
        pos = lam > 0
        return float(-(lam[pos] * np.log(lam[pos])).sum())

    def gradient(self, lam):
        """:math:`-(\\log\\lambda + 1)` (:math:`+\\infty` at zero entries)."""
        lam = self._lam(lam)
        with np.errstate(divide="ignore"):
            return -(np.log(lam) + 1.0)

    def grad_bound(self, gamma, xi_marginal=None, *, n_actions=None):
        """``math.inf`` unless ``n_actions == 1`` and :math:`\\xi_i > 0` (class docstring)."""
        gamma = _check_gamma(gamma)
        xi = _check_xi(xi_marginal, self.name)
        if n_actions != 1 or xi is None or not (xi > 0).all():
            return math.inf
        return _abs_log1_endpoints(xi, xi + gamma / (1.0 - gamma))

    def lipschitz(self, gamma, xi_marginal=None, *, n_actions=None):
        """``math.inf`` unless ``n_actions == 1`` and :math:`\\xi_i > 0`; then :math:`1/\\xi_{\\min}`."""
        _check_gamma(gamma)
        xi = _check_xi(xi_marginal, self.name)
        if n_actions != 1 or xi is None or not (xi > 0).all():
            return math.inf
        return 1.0 / float(xi.min())


def state_action_entropy():
    """The utility :math:`-\\sum\\lambda_i\\log\\lambda_i` (a :class:`StateActionEntropyUtility`)."""
    return StateActionEntropyUtility()


@dataclass(frozen=True, eq=False)
class ApprenticeshipUtility(_Utility):
    r"""Apprenticeship utility :math:`f_i = -\|\lambda_i - \lambda_{e,i}\|_2^2` (ying2023 §2; guide §5).

    :math:`\nabla f_i = -2(\lambda_i - \lambda_{e,i})`; :math:`L_\lambda = 2` (since
    :math:`\|\cdot\|_\infty \le \|\cdot\|_2`; the gradient is globally Lipschitz).

    :meth:`grad_bound` (sharp, default): each entry of :math:`\lambda_i` ranges over
    :math:`[\ell(s), h(s)]` with :math:`h(s) = \xi_i(s) + \gamma/(1-\gamma)` and :math:`\ell = 0`
    (:math:`\ell = \xi_i(s)` when :math:`|A_i| = 1`); without ``xi_marginal``, :math:`h = 1/(1-\gamma)`,
    :math:`\ell = 0`. The convex :math:`|\lambda - \lambda_e|` peaks at an end:

    .. math:: M_f = 2\max_{s,a}\max\big(h(s) - \lambda_e(s,a),\ \lambda_e(s,a) - \ell(s)\big),

    attained by some MDP with marginal :math:`\xi_i`. The guide's :math:`2(1/(1-\gamma) + \|\lambda_e\|_\infty)`
    (``sharp=False``) is a valid, looser bound (it adds the two ends instead of taking the larger).

    Parameters
    ----------
    target : array_like, shape (S_i, A_i)
        :math:`\lambda_{e,i}`, finite (not necessarily an occupancy).
    """

    target: np.ndarray
    name = "ApprenticeshipUtility"

    def __post_init__(self):
        t = as_float_array(self.target, "ApprenticeshipUtility: target")
        if t.ndim != 2:
            raise ShapeError(f"ApprenticeshipUtility: target must have shape (S_i, A_i), got {t.shape}")
        if not np.isfinite(t).all():
            raise NonFiniteError("ApprenticeshipUtility: target has a non-finite entry")
        t.setflags(write=False)
        object.__setattr__(self, "target", t)

    @property
    def shape(self):
        return self.target.shape

    def value(self, lam):
        """:math:`-\\|\\lambda_i - \\lambda_{e,i}\\|_2^2`."""
        return float(-((self._lam(lam) - self.target) ** 2).sum())

    def gradient(self, lam):
        """:math:`-2(\\lambda_i - \\lambda_{e,i})`."""
        return -2.0 * (self._lam(lam) - self.target)

    def grad_bound(self, gamma, xi_marginal=None, *, n_actions=None, sharp=True):
        """:math:`M_f` on :math:`\\Lambda` (class docstring); ``sharp=False`` gives the guide's closed form."""
        gamma = _check_gamma(gamma)
        xi = _check_xi(xi_marginal, self.name, self.shape[0])
        if not sharp:
            return 2.0 * (1.0 / (1.0 - gamma) + float(np.abs(self.target).max(initial=0.0)))
        if xi is None:
            hi = np.full(self.shape[0], 1.0 / (1.0 - gamma))
            lo = np.zeros(self.shape[0])
        else:
            hi = xi + gamma / (1.0 - gamma)
            lo = xi.copy() if self.shape[1] == 1 else np.zeros(self.shape[0])
        t = self.target
        return 2.0 * float(np.maximum(hi[:, None] - t, t - lo[:, None]).max())

    def lipschitz(self, gamma, xi_marginal=None, *, n_actions=None):
        """:math:`L_\\lambda = 2`."""
        _check_gamma(gamma)
        _check_xi(xi_marginal, self.name, self.shape[0])
        return 2.0


@dataclass(frozen=True, eq=False)
class KLUtility(_Utility):
    r"""Negative KL divergence of the state distribution to a target, :math:`f_i = -\mathrm{KL}(d_i\,\|\,q_i)`.

    Chosen on the **normalised state distribution** :math:`d_i = (1-\gamma)\sum_{a_i}\lambda_i`
    (so the divergence is between two distributions and the gradient is bounded on
    :math:`\Lambda` when :math:`\xi_i > 0`; the state-action version has an unbounded gradient, like
    :class:`StateActionEntropyUtility`). Concave (KL is convex, :math:`d_i` linear in
    :math:`\lambda_i`). Exact gradient, constant in :math:`a_i`:

    .. math:: \frac{\partial f_i}{\partial\lambda_i(s_i,a_i)} = -(1-\gamma)\big(\log(d_i(s_i)/q_i(s_i)) + 1\big).

    Constants: as :class:`StateEntropyUtility` with :math:`\log d` replaced by :math:`\log(d/q)`,
    :math:`M_f = (1-\gamma)\max_s\max(|1+\log(\ell_s/q_s)|, |1+\log(h_s/q_s)|)`,
    :math:`\ell_s = (1-\gamma)\xi_i(s)`, :math:`h_s = \ell_s + \gamma` (attained), and
    :math:`L_\lambda = (1-\gamma)\sqrt{|A_i|}/\xi_{\min}` (same derivation). ``math.inf`` without
    ``xi_marginal`` or when :math:`\xi_i` has a zero.

    Parameters
    ----------
    target : array_like, shape (S_i,)
        :math:`q_i`, a distribution with **positive** entries (KL is infinite otherwise, since
        :math:`d_i > 0` wherever :math:`\xi_i > 0`).
    gamma : float in [0, 1)
    """

    target: np.ndarray
    gamma: float
    name = "KLUtility"

    def __post_init__(self):
        q = as_float_array(self.target, "KLUtility: target")
        if q.ndim != 1:
            raise ShapeError(f"KLUtility: target must be a distribution over s_i, shape (S_i,), got {q.shape}")
        if not np.isfinite(q).all():
            raise NonFiniteError("KLUtility: target has a non-finite entry")
        if not (q > 0).all() or abs(float(q.sum()) - 1.0) > 1e-10:
            bad = int(np.argmin(q))
            raise UtilityDomainError(f"KLUtility: target must be a distribution with positive entries; got "
                                     f"q[{bad}] = {float(q[bad])!r} and sum {float(q.sum())!r}")
        q.setflags(write=False)
        object.__setattr__(self, "target", q)
        object.__setattr__(self, "gamma", _check_gamma(self.gamma))

    def _lam(self, lam):
        arr = _check_lam(lam, self.name)
        if arr.shape[0] != self.target.shape[0]:
            raise ShapeError(f"{self.name}: the occupancy has {arr.shape[0]} states (shape {arr.shape}) but "
                             f"the target has {self.target.shape[0]}")
        return arr

    def value(self, lam):
        """:math:`-\\sum_s d_i(s)\\log(d_i(s)/q_i(s))`, with :math:`0\\log0 = 0`."""
        d = (1.0 - self.gamma) * self._lam(lam).sum(axis=1)
        pos = d > 0
        return float(-(d[pos] * np.log(d[pos] / self.target[pos])).sum())

    def gradient(self, lam):
        """:math:`-(1-\\gamma)(\\log(d_i/q_i) + 1)` broadcast over :math:`a_i` (:math:`+\\infty` where :math:`d_i = 0`)."""
        lam = self._lam(lam)
        d = (1.0 - self.gamma) * lam.sum(axis=1)
        with np.errstate(divide="ignore"):
            g = -(1.0 - self.gamma) * (np.log(d / self.target) + 1.0)
        return np.broadcast_to(g[:, None], lam.shape).copy()

    def grad_bound(self, gamma, xi_marginal=None, *, n_actions=None):
        """:math:`M_f` on :math:`\\Lambda` (class docstring)."""
        gamma = _own_gamma(self, gamma)
        xi = _check_xi(xi_marginal, self.name, self.target.shape[0])
        if xi is None or not (xi > 0).all():
            return math.inf
        lo, hi = _state_range(gamma, xi)
        return (1.0 - gamma) * _abs_log1_endpoints(lo, hi, shift=self.target)

    def lipschitz(self, gamma, xi_marginal=None, *, n_actions=None):
        """:math:`L_\\lambda = (1-\\gamma)\\sqrt{|A_i|}/\\xi_{\\min}`; ``n_actions`` is :math:`|A_i|` (required)."""
        gamma = _own_gamma(self, gamma)
        xi = _check_xi(xi_marginal, self.name, self.target.shape[0])
        n_actions = _need_actions(self, n_actions)
        if xi is None or not (xi > 0).all():
            return math.inf
        return (1.0 - gamma) * math.sqrt(int(n_actions)) / float(xi.min())


@dataclass(frozen=True, eq=False)
class LogFairnessUtility(_Utility):
    r"""Log-fairness utility :math:`f_i = \log(\langle r_i, \lambda_i\rangle + c)` (guide §5; concave, Remark 2).

    Gradient :math:`r_i/(\langle r_i,\lambda_i\rangle + c)`. On :math:`\Lambda`,
    :math:`\langle r_i,\lambda_i\rangle \ge m := \sum_s\xi_i(s)\min_a r_i(s,a) + \frac{\gamma}{1-\gamma}\min r_i`
    (the :math:`k=0` term, then the worst entry; :math:`m = \min r_i/(1-\gamma)` without
    ``xi_marginal``), attained by an MDP that moves to the worst pair and stays. Hence, when
    :math:`m + c > 0`,

    .. math:: M_f = \frac{\|r_i\|_\infty}{m + c}, \qquad
              L_\lambda = \frac{\|r_i\|_\infty\|r_i\|_2}{(m + c)^2}

    (:math:`|\frac1{x+c} - \frac1{x'+c}| \le |x - x'|/(m+c)^2` and
    :math:`|\langle r_i, \Delta\rangle| \le \|r_i\|_2\|\Delta\|_2`); ``math.inf`` when :math:`m + c \le 0`
    (the argument can reach 0 on :math:`\Lambda`). A point with :math:`\langle r_i,\lambda_i\rangle + c \le 0`
    is outside the domain (:class:`UtilityDomainError`).

    Parameters
    ----------
    r : array_like, shape (S_i, A_i)
    c : float
    """

    r: np.ndarray
    c: float = 0.0
    name = "LogFairnessUtility"

    def __post_init__(self):
        r = as_float_array(self.r, "LogFairnessUtility: r")
        if r.ndim != 2:
            raise ShapeError(f"LogFairnessUtility: r must have shape (S_i, A_i), got {r.shape}")
        if not np.isfinite(r).all() or not math.isfinite(float(self.c)):
            raise NonFiniteError("LogFairnessUtility: r and c must be finite")
        r.setflags(write=False)
        object.__setattr__(self, "r", r)
        object.__setattr__(self, "c", float(self.c))

    @property
    def shape(self):
        return self.r.shape

    def _arg(self, lam):
        x = float((self.r * self._lam(lam)).sum()) + self.c
        if not x > 0:
            raise UtilityDomainError(f"{self.name}: <r, lambda> + c = {x!r} is not positive, outside the domain of the log")
        return x

    def value(self, lam):
        """:math:`\\log(\\langle r_i,\\lambda_i\\rangle + c)`."""
        return math.log(self._arg(lam))

    def gradient(self, lam):
        """:math:`r_i/(\\langle r_i,\\lambda_i\\rangle + c)`."""
        return self.r / self._arg(lam)

    def _floor(self, gamma, xi):
        if xi is None:
            return float(self.r.min()) / (1.0 - gamma) + self.c
        return float(xi @ self.r.min(axis=1)) + gamma / (1.0 - gamma) * float(self.r.min()) + self.c

    def grad_bound(self, gamma, xi_marginal=None, *, n_actions=None):
        """:math:`M_f = \\|r_i\\|_\\infty/(m + c)` (class docstring)."""
        gamma = _check_gamma(gamma)
        floor = self._floor(gamma, _check_xi(xi_marginal, self.name, self.shape[0]))
        return float(np.abs(self.r).max()) / floor if floor > 0 else math.inf

    def lipschitz(self, gamma, xi_marginal=None, *, n_actions=None):
        """:math:`L_\\lambda = \\|r_i\\|_\\infty\\|r_i\\|_2/(m + c)^2` (class docstring)."""
        gamma = _check_gamma(gamma)
        floor = self._floor(gamma, _check_xi(xi_marginal, self.name, self.shape[0]))
        return float(np.abs(self.r).max() * np.linalg.norm(self.r)) / floor**2 if floor > 0 else math.inf


# ----------------------------------------------------------------------------- eq. (4), (5) and shadow rewards
def _sizes(sizes, what):
    out = tuple(int(x) for x in sizes)
    if not out or any(x < 1 for x in out):
        raise ShapeError(f"{what} must be a non-empty sequence of positive sizes, got {tuple(sizes)}")
    return out


def local_occupancies(lam, state_sizes, action_sizes):
    r"""Local occupancies :math:`\lambda_i(s_i, a_i)`: marginals of a global occupancy (ying2023 eq. (4)).

    Parameters
    ----------
    lam : array_like, shape (|S|, |A|)
        Global occupancy indexed by the global state (``np.ravel_multi_index`` over ``state_sizes``,
        agent 0 the most significant digit) and the joint action (same over ``action_sizes``), as
        :meth:`~netmarl_verify.envs.NetworkedMDP.to_tabular` and
        :func:`~._occupancy.discounted_occupancy`.
    state_sizes, action_sizes : sequence of int
        :math:`S_i`, :math:`A_i` per agent.

    Returns
    -------
    list of ndarray
        ``n`` arrays of shape ``(S_i, A_i)``, each summing to ``lam.sum()`` (:math:`1/(1-\gamma)` on Λ).

    Raises
    ------
    ShapeError, NonFiniteError

    Examples
    --------
    >>> import numpy as np
    >>> lam = np.arange(8.0).reshape(4, 2)  # two agents with 2 states; agent 0 has 2 actions, agent 1 one
    >>> [x.tolist() for x in local_occupancies(lam, (2, 2), (2, 1))]
    [[[2.0, 4.0], [10.0, 12.0]], [[10.0], [18.0]]]
    """
    S = _sizes(state_sizes, "state_sizes")
    A = _sizes(action_sizes, "action_sizes")
    if len(S) != len(A):
        raise ShapeError(f"state_sizes has {len(S)} agents but action_sizes has {len(A)}")
    arr = as_float_array(lam, "the global occupancy lam")
    want = (math.prod(S), math.prod(A))
    if arr.shape != want:
        raise ShapeError(f"the global occupancy must have shape (|S|, |A|) = {want} for state_sizes {S} and "
                         f"action_sizes {A}, got {arr.shape}")
    if not np.isfinite(arr).all():
        idx = tuple(int(k) for k in np.argwhere(~np.isfinite(arr))[0])
        raise NonFiniteError(f"the global occupancy has a non-finite entry at (s, a) = {idx}")
    n = len(S)
    T = arr.reshape(S + A)
    return [T.sum(axis=tuple(ax for ax in range(2 * n) if ax not in (i, n + i))) for i in range(n)]


def _pairs(utilities, local_lams):
    utilities, local_lams = list(utilities), list(local_lams)
    if len(utilities) != len(local_lams) or not utilities:
        raise ShapeError(f"need one utility per local occupancy, got {len(utilities)} utilities and "
                         f"{len(local_lams)} occupancies")
    return utilities, local_lams


def utility_value(utilities, local_lams):
    r""":math:`f(\lambda) = \frac1n\sum_i f_i(\lambda_i)` (ying2023 eq. (5)).

    Parameters
    ----------
    utilities : sequence of utility objects (module docstring), one per agent
    local_lams : sequence of ndarray, ``local_lams[i]`` of shape (S_i, A_i)
    """
    utilities, local_lams = _pairs(utilities, local_lams)
    return float(sum(u.value(x) for u, x in zip(utilities, local_lams)) / len(utilities))


def shadow_rewards(utilities, local_lams):
    r"""Local shadow rewards :math:`r_i = \nabla_{\lambda_i}f_i(\lambda_i)`, **without** the :math:`1/n` (ying2023 §3; guide §1.3).

    Returns
    -------
    list of ndarray, ``r_i`` of shape (S_i, A_i)
    """
    utilities, local_lams = _pairs(utilities, local_lams)
    return [np.asarray(u.gradient(x), dtype=np.float64) for u, x in zip(utilities, local_lams)]


def global_shadow_reward(utilities, local_lams, *, max_bytes=None):
    r"""The global shadow reward table :math:`r(s,a) = \frac1n\sum_i r_i(s_i,a_i) = \nabla_\lambda f(\lambda)` (ying2023 §3).

    The sizes are read from ``local_lams`` (``local_lams[i].shape == (S_i, A_i)``); the table is
    indexed like :func:`local_occupancies` (global state and joint action in mixed radix, agent 0
    the most significant digit). Small instances only: the memory is checked first.

    Returns
    -------
    ndarray, shape (|S|, |A|)

    Raises
    ------
    MemoryBudgetError
        When the table would not fit.
    """
    rs = shadow_rewards(utilities, local_lams)
    S = tuple(r.shape[0] for r in rs)
    A = tuple(r.shape[1] for r in rs)
    n = len(rs)
    nS, nA = math.prod(S), math.prod(A)
    check_memory(8.0 * nS * nA * 2, f"the global shadow reward table ({nS} states x {nA} joint actions)",
                 max_bytes=max_bytes)
    out = np.zeros(S + A)
    for i, r in enumerate(rs):
        shape = [1] * (2 * n)
        shape[i], shape[n + i] = S[i], A[i]
        out = out + r.reshape(shape)
    return out.reshape(nS, nA) / n
