r"""Exact dynamics of the averaged critic ODE of qu2020 Alg. 1 (Theorem 3(b), App. C.2).

Averaging the critic updates (15)-(16) over the stationary law of the frozen chain gives the
linear ODE (Konda & Tsitsiklis 2003; qu2020 App. C.2) in the time :math:`\tau_t = \sum_{s<t}\alpha_s`

.. math:: \dot\mu = J_i - \mu, \qquad \dot y = G_i y - \pi_{\hat N}(\mu - J_i), \qquad
          y = \hat Q - \hat Q_i^\theta,

with :math:`G_i = M - \operatorname{diag}(\pi_N)` restricted to the non-dummy pairs: the matrix of
the system :func:`~netmarl_verify.solvers.exact.critic_fixed_point` solves, available from its
``full_output=True`` :class:`~netmarl_verify.solvers.exact.CriticEquation`.

:func:`critic_slowest_rate` is the slowest decay rate of that ODE over agents and
:func:`critic_ode_transient` its exact solution (by :func:`scipy.linalg.expm`) from the critic's
initialisation :math:`\hat\mu = 0, \hat Q = 0`; :mod:`netmarl_verify.verify.claims.qu2020.sac`
uses both to decide whether a run of the critic is past its transient.
"""

import numpy as np
import scipy.linalg as sla

__all__ = ["critic_slowest_rate", "critic_ode_transient"]


def critic_slowest_rate(equations):
    r""":math:`\lambda = \min_i(-\max\operatorname{Re}\operatorname{eig} G_i)` of the averaged critic ODE.

    Parameters
    ----------
    equations : iterable of CriticEquation
        One per agent (``critic_fixed_point(..., full_output=True)[1]``).

    Returns
    -------
    float
        ``inf`` for no equation.
    """
    lam = np.inf
    for eq in equations:
        keep = np.flatnonzero(np.arange(eq.pi.size) != eq.dummy)
        G = eq.M[np.ix_(keep, keep)] - np.diag(eq.pi[keep])
        lam = min(lam, float(-np.linalg.eigvals(G).real.max()))
    return lam


def critic_ode_transient(equation, taus):
    r"""Max-norm error of the averaged critic ODE started at :math:`\hat\mu = 0, \hat Q = 0`.

    The ODE of (15)-(16) averaged over the frozen chain (module docstring), in the variables
    :math:`(\mu - J_i, \hat Q - \hat Q_i^\theta)` on the non-dummy pairs:

    .. math:: \frac{d}{d\tau}\begin{pmatrix} e_\mu \\ y \end{pmatrix} =
              \begin{pmatrix} -1 & 0 \\ -\pi_{\hat N} & G_i \end{pmatrix}
              \begin{pmatrix} e_\mu \\ y \end{pmatrix}, \qquad e_\mu(0) = -J_i, \ y(0) = -\hat Q_i^\theta.

    Parameters
    ----------
    equation : CriticEquation
        From ``critic_fixed_point(..., full_output=True)``.
    taus : array_like
        ODE times :math:`\tau_t = \sum_{s<t}\alpha_s`.

    Returns
    -------
    ndarray
        :math:`\|y(\tau)\|_\infty` at each time.
    """
    keep = np.flatnonzero(np.arange(equation.pi.size) != equation.dummy)
    m = keep.size
    H = np.zeros((m + 1, m + 1))
    H[0, 0] = -1.0
    H[1:, 0] = -equation.pi[keep]
    H[1:, 1:] = equation.M[np.ix_(keep, keep)] - np.diag(equation.pi[keep])
    x0 = np.concatenate([[-equation.J], -equation.table.reshape(-1)[keep]])
    return np.array([float(np.abs((sla.expm(H * float(t)) @ x0)[1:]).max(initial=0.0)) for t in taus])
