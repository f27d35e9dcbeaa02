r"""Discounted occupancy measures and visitation distributions.

ying2023 eq. (2): the (unnormalised) discounted state-action occupancy measure

.. math:: \lambda^\pi(s, a) = \sum_{t\ge0}\gamma^t \Pr{}^\pi(s_t = s, a_t = a \mid s_0\sim\mu_0),
          \qquad \sum_{s,a}\lambda^\pi(s,a) = \frac{1}{1-\gamma},

and the normalised state visitation distribution :math:`d^\pi_{\mu_0} = (1-\gamma)\sum_a\lambda^\pi(\cdot,a)`.
The state part solves :math:`(I - \gamma P_\pi^\top)\lambda = \mu_0`.
"""

from netmarl_verify.envs._memory import check_memory

from ._evaluation import _check_gamma, _shared_evaluation
from ._gradient import check_initial

__all__ = ["discounted_visitation", "discounted_occupancy"]


def _state_occupancy(mdp, policy, gamma, initial, backend):
    gamma = _check_gamma(gamma)
    if gamma is None:
        raise ValueError("the discounted occupancy needs a discount factor gamma in [0, 1)")
    ev = _shared_evaluation(mdp, policy, gamma, backend=backend)
    lam = ev.visitation(check_initial(initial, ev.model.n_states))
    return ev, lam


def discounted_visitation(mdp, policy, gamma, initial=None, *, backend="auto"):
    """Normalised discounted state visitation :math:`(1-\\gamma)\\sum_t\\gamma^t\\Pr(s_t=s)` (sums to 1).

    Parameters
    ----------
    mdp, policy
        As in :func:`stationary_distribution`.
    gamma : float in [0, 1)
    initial : ndarray, shape (|S|,), optional
        :math:`\\mu_0` (default uniform over global states).
    """
    _, lam = _state_occupancy(mdp, policy, gamma, initial, backend)
    return (1.0 - gamma) * lam


def discounted_occupancy(mdp, policy, gamma, initial=None, *, backend="auto", max_bytes=None):
    """Unnormalised discounted state-action occupancy :math:`\\lambda(s, a)` (ying2023 eq. (2)).

    Returns
    -------
    ndarray, shape (|S|, |A|)
        Indexed by global state and joint action; sums to :math:`1/(1-\\gamma)`. The joint-action
        table is built only when it fits in memory (checked first).
    """
    ev, lam = _state_occupancy(mdp, policy, gamma, initial, backend)
    op = ev.model
    check_memory(8.0 * op.n_states * op.n_actions * 2, "the joint state-action occupancy table",
                 max_bytes=max_bytes)
    return lam[:, None] * op.joint_policy(max_bytes=max_bytes)
