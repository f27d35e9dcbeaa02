r"""ying2023's models: globally coupled (mixture) kernels, an initial distribution, the named families.

Mixture kernels (ying2023 §2, Assumption 1)
-------------------------------------------
ying2023 lets :math:`P_i(s_i' \mid s, a)` depend on the global pair, limited only by Assumption 1.
:func:`mixture_networked_mdp` builds the family

.. math:: P_i(\cdot \mid s, a) = \sum_j w_{ij} K_{ij}(\cdot \mid s_j, a_j), \qquad
          w_{ij} \ge 0, \ \sum_j w_{ij} = 1,

as a ``transition_form="neighbourhood"`` :class:`~envs.NetworkedMDP` whose interaction graph links
``i`` and ``j`` whenever :math:`w_{ij} > 0` or :math:`w_{ji} > 0`, with the *communication* graph
:math:`G` (distances :math:`d(i,j)`, κ-hop neighbourhoods) passed separately
(``communication_graph=``). Its influence matrix (eq. (11), TV = ½ℓ1) has the closed form
:func:`mixture_influence`: :math:`M_{ij} = w_{ij}\,\delta(K_{ij})` with
:math:`\delta(K) = \max_{x, x'} \mathrm{TV}(K(\cdot|x), K(\cdot|x'))` over the rows
:math:`x = (s_j, a_j)` — the other components are the same on both sides and cancel.

Instances
---------
Every family returns a :class:`UtilityInstance` (model, policy, initial distribution ξ on global
states, discount, the linear local rewards that define the default utility, and the parameters),
reproducible from (name, parameters, seed). They are the structured/extremal instances of the
implementation guide (``shared/claims/ying2023.md`` §10): :func:`relay`, :func:`xor_relay`,
:func:`ying_copy_chain`, :func:`lemma3_absorbing`, :func:`mixture_line`, :func:`random_khop`,
:func:`transient_entropy`, :func:`coordination_pair`, :func:`linemsg`.

References
----------
Ying, Ding, Koppel, Lavaei (2023), "Scalable Multi-Agent Reinforcement Learning with General
Utilities", arXiv 2302.07938, §2, eq. (11)-(12).
"""

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ._graph import check_graph
from ._instances import LocalTabularPolicy, copy_chain_mdp
from ._memory import check_memory
from ._networked import NetworkedMDP
from ._policy import KHopSoftmaxPolicy, LocalSoftmaxPolicy
from ._random import as_generator
from ._validation import ShapeError, as_float_array, check_distribution_rows

__all__ = [
    "UtilityInstance",
    "mixture_networked_mdp",
    "mixture_influence",
    "initial_distribution",
    "relay",
    "xor_relay",
    "ying_copy_chain",
    "lemma3_absorbing",
    "mixture_line",
    "random_khop",
    "transient_entropy",
    "coordination_pair",
    "linemsg",
    "truncated_policy",
    "policy_outside_tv",
]


@dataclass
class UtilityInstance:
    """A ying2023 instance: a model, a policy and the data of the utility problem.

    Attributes
    ----------
    mdp : NetworkedMDP
        Its rewards are the local linear rewards ``local_rewards`` (``reward_form="local"``).
    policy : KHopSoftmaxPolicy, LocalSoftmaxPolicy or LocalTabularPolicy
    initial : ndarray, shape (|S|,)
        ξ on global states (mixed radix, agent 0 most significant).
    gamma : float
    kappa : int
        The policy radius κ_π (0 for local-state policies; ``n`` for global-state policies).
    local_rewards : list of ndarray
        ``local_rewards[i]`` of shape (S_i, A_i): the linear utility f_i = <r_i, λ_i>.
    name : str
    params : dict
    """

    mdp: object
    policy: object
    initial: np.ndarray
    gamma: float
    kappa: int
    local_rewards: list
    name: str
    params: dict = field(default_factory=dict)
    reference: tuple = None  # the reference (s_bar, a_bar) of eq. (14)/(48) an instance prescribes


# ---------------------------------------------------------------------------- mixture kernels
def _check_weights(weights, n):
    W = as_float_array(weights, "weights")
    if W.shape != (n, n):
        raise ShapeError(f"weights must have shape (n, n) = ({n}, {n}), got {W.shape}")
    check_distribution_rows(W, "weights (row i: w_i., the mixture weights of agent i's kernel)", atol=1e-12)
    return W


def mixture_networked_mdp(communication_graph, weights, kernels, rewards, *, state_sizes=None, max_bytes=None):
    r"""A networked MDP with mixture kernels :math:`P_i(\cdot|s,a) = \sum_j w_{ij}K_{ij}(\cdot|s_j,a_j)`.

    Parameters
    ----------
    communication_graph : networkx.Graph
        :math:`G` of ying2023 §2 (its distances define :math:`N_i^\kappa`); nodes ``0..n-1``.
    weights : array, shape (n, n)
        Row ``i`` is a distribution over the agents ``j`` agent ``i``'s kernel reads.
    kernels : nested sequence
        ``kernels[i][j]`` of shape ``(S_j, A_j, S_i)`` (rows distributions), used where
        ``weights[i, j] > 0`` (may be None elsewhere).
    rewards : sequence of ndarray
        ``rewards[i]`` of shape ``(S_i, A_i)`` (local form).
    state_sizes : sequence of int, optional
        ``S_i`` when some agent's size cannot be read from the kernels.

    Returns
    -------
    NetworkedMDP
        ``transition_form="neighbourhood"`` on the interaction graph
        :math:`\{ij : w_{ij} > 0 \text{ or } w_{ji} > 0\}`, with ``communication_graph`` for the
        distances; the attributes ``mixture_weights`` and ``mixture_kernels`` keep the
        parameters (for :func:`mixture_influence`).

    Raises
    ------
    ShapeError, ModelValidationError
        A weight row that is not a distribution, a kernel of the wrong shape (named ``kernels[i][j]``).
    MemoryBudgetError
        When a neighbourhood-form table :math:`\prod_{j\in N_i}(S_jA_j)\,S_i` would not fit.

    References
    ----------
    ying2023 §2 and Assumption 1, eq. (11); the implementation guide's mixture form (§4).
    """
    n = check_graph(communication_graph)
    W = _check_weights(weights, n)
    R = [as_float_array(r, f"rewards[{i}]") for i, r in enumerate(rewards)]
    if len(R) != n:
        raise ShapeError(f"rewards must have one array per agent ({n}), got {len(R)}")
    S = [R[i].shape[0] for i in range(n)] if state_sizes is None else [int(x) for x in state_sizes]
    A = [R[i].shape[1] for i in range(n)]
    K = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if W[i, j] > 0:
                name = f"kernels[{i}][{j}]"
                k = as_float_array(kernels[i][j], name)
                if k.shape != (S[j], A[j], S[i]):
                    raise ShapeError(f"{name} must have shape (S_{j}, A_{j}, S_{i}) = {(S[j], A[j], S[i])}, got {k.shape}")
                check_distribution_rows(k, f"{name} (axes s_{j}, a_{j}, s_{i}')", atol=1e-12)
                K[i][j] = k
    graph = nx.empty_graph(n)
    graph.add_edges_from((i, j) for i in range(n) for j in range(n) if i != j and (W[i, j] > 0 or W[j, i] > 0))
    hoods = [tuple(sorted({i} | set(graph.neighbors(i)))) for i in range(n)]
    for i in range(n):
        size = math.prod(S[j] * A[j] for j in hoods[i]) * S[i]
        check_memory(8.0 * size, f"agent {i}'s neighbourhood-form mixture kernel ({size} entries)",
                     max_bytes=max_bytes)
    P = []
    for i in range(n):
        Ni = hoods[i]
        m = len(Ni)
        T = np.zeros(tuple(S[j] for j in Ni) + tuple(A[j] for j in Ni) + (S[i],))
        for q, j in enumerate(Ni):
            if W[i, j] > 0:
                shape = [1] * (2 * m) + [S[i]]
                shape[q], shape[m + q] = S[j], A[j]
                # K_ij's axes (s_j, a_j, s_i') go to positions q < m + q < 2m, in order: a reshape
                T = T + W[i, j] * K[i][j].reshape(shape)
        P.append(T)
    mdp = NetworkedMDP(graph, P, R, transition_form="neighbourhood", reward_form="local",
                       communication_graph=communication_graph)
    mdp.mixture_weights = W
    mdp.mixture_kernels = K
    return mdp


def mixture_influence(weights, kernels):
    r"""Closed-form influence matrix of mixture kernels: :math:`M_{ij} = w_{ij}\,\delta(K_{ij})`.

    :math:`\delta(K) = \max_{x,x'}\mathrm{TV}(K(\cdot|x), K(\cdot|x'))`, TV = ½ℓ1 (ying2023 §1.1),
    over the rows :math:`x = (s_j, a_j)` of ``kernels[i][j]`` (shape ``(S_j, A_j, S_i)``).
    ying2023 eq. (11) changes :math:`(s_j, a_j)` jointly, all else fixed; only the ``j``-th
    component of the mixture changes, so the TV is :math:`w_{ij}` times that of :math:`K_{ij}`.

    Returns
    -------
    ndarray, shape (n, n)
    """
    W = np.asarray(weights, dtype=np.float64)
    n = W.shape[0]
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if W[i, j] > 0:
                rows = np.asarray(kernels[i][j]).reshape(-1, np.shape(kernels[i][j])[-1])
                M[i, j] = W[i, j] * 0.5 * np.abs(rows[:, None, :] - rows[None, :, :]).sum(axis=-1).max()
    return M


def initial_distribution(mdp, kind="uniform", state=None):
    """ξ on global states: ``"uniform"``, or ``"point"`` at the local tuple ``state``."""
    if kind == "uniform":
        return np.full(mdp.n_states, 1.0 / mdp.n_states)
    if kind == "point":
        xi = np.zeros(mdp.n_states)
        xi[int(mdp.state_index(np.asarray(state).reshape(1, -1))[0])] = 1.0
        return xi
    raise ValueError(f"kind must be 'uniform' or 'point', got {kind!r}")


def _deterministic(rows, size):
    out = np.zeros(np.shape(rows) + (size,))
    np.put_along_axis(out, np.asarray(rows)[..., None], 1.0, axis=-1)
    return out


def _binary_tables(targets, eps):
    """Tables ``p[x, a]`` with ``p[x, target(x)] = 1 - eps`` over binary actions."""
    t = np.asarray(targets, dtype=np.int64).ravel()
    out = np.full((t.size, 2), float(eps))
    out[np.arange(t.size), t] = 1.0 - float(eps)
    return out


def _check_eps(eps):
    eps = float(eps)
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 1/2), got {eps}")
    return eps


def _check_gamma(gamma):
    gamma = float(gamma)
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1), got {gamma}")
    return gamma


# ---------------------------------------------------------------------------- relay
def _relay_model(kappa, couple):
    n = kappa + 2
    g = nx.path_graph(n)
    P, R = [], []
    for i in range(n):
        Ni = tuple(sorted({i} | set(g.neighbors(i))))
        T = np.empty((2,) * len(Ni) + (2, 2))
        for idx in np.ndindex(*((2,) * len(Ni))):
            for a in range(2):
                if i <= kappa:
                    row = (1.0 - couple) * np.eye(2)[a]
                    if couple > 0:
                        row = row + couple * np.eye(2)[idx[Ni.index(i + 1)]]
                else:  # agent kappa + 1 is frozen
                    row = np.eye(2)[idx[Ni.index(i)]]
                T[idx + (a,)] = row
        P.append(T)
        R.append(np.array([[0.0, 0.0], [1.0, 1.0]]) if i == 0 else np.zeros((2, 2)))
    return NetworkedMDP(g, P, R, transition_form="local", reward_form="local")


def _relay_policy(mdp, kappa, eps, xor, softmax):
    n = mdp.n
    observed = [tuple(mdp.kappa_hop(i, kappa)) for i in range(n)]
    tables = []
    for i, o in enumerate(observed):
        configs = np.array(list(np.ndindex(*((2,) * len(o)))))
        if i == 0:
            target = configs[:, o.index(1)]  # a_0 = s_1
        elif i == 1:
            far = configs[:, o.index(kappa + 1)]
            target = (configs[:, o.index(1)] ^ far) if xor else far  # a_1 = s_{kappa+1} (xor: s_1 ^ s_{kappa+1})
        else:
            target = np.zeros(len(configs), dtype=np.int64)
        tables.append(_binary_tables(target, eps))
    if softmax:
        # logits log(1 - eps), log(eps): the logit gap log((1 - eps)/eps) on the target action
        return KHopSoftmaxPolicy([np.log(t).reshape((2,) * len(o) + (2,)) for t, o in zip(tables, observed)],
                                 observed, kappa=kappa)
    return LocalTabularPolicy(tables, observed, state_sizes=mdp.state_sizes)


def relay(kappa, gamma=0.9, eps=0.05, couple=0.0, *, softmax=True):
    r"""The relay line: information from outside :math:`N_0^\kappa` reaches agent 0's reward through the policy.

    Agents ``0..κ+1`` on a path, :math:`S_i = A_i = \{0, 1\}`. For :math:`i \le \kappa`,
    :math:`P_i(s_i'|s, a) = 1\{s_i' = a_i\}` (with ``couple = c``:
    :math:`(1-c)1\{s_i' = a_i\} + c\,1\{s_i' = s_{i+1}\}`); agent κ+1 is frozen. κ-hop policies:
    :math:`\pi^0(a_0 = s_1) = 1-\varepsilon`, :math:`\pi^1(a_1 = s_{\kappa+1}) = 1-\varepsilon`
    (allowed: :math:`d(1, \kappa+1) = \kappa`), the others play 0 w.p. :math:`1-\varepsilon`.
    :math:`f_0 = \langle r_0, \lambda_0\rangle` with :math:`r_0(s_0, a_0) = s_0`, :math:`f_i \equiv 0`
    otherwise (:math:`M_f = 1`); ξ uniform. With ``couple = 0`` the kernels are diagonal in
    Assumption 1's sense (:math:`M_{ij} = 0` for :math:`i \ne j`), so :math:`\beta^* = \infty` and
    Lemma 2's bound is 0 for κ ≥ 1, while :math:`Q_0` depends on :math:`s_{\kappa+1}` through
    the policies of agents 1 and 0: the guide's extremal instance for the policy radius.

    Parameters
    ----------
    kappa : int >= 1
    gamma : float in [0, 1)
    eps : float in (0, 1/2)
    couple : float in [0, 1]
    softmax : bool
        True: a :class:`~envs.KHopSoftmaxPolicy` with logits :math:`\log(1-\varepsilon)`,
        :math:`\log\varepsilon` (differentiable); False: the same tables as a
        :class:`~envs.LocalTabularPolicy` with observation sets.

    Returns
    -------
    UtilityInstance
    """
    kappa = int(kappa)
    if kappa < 1:
        raise ValueError(f"relay needs kappa >= 1, got {kappa}")
    eps, gamma = _check_eps(eps), _check_gamma(gamma)
    couple = float(couple)
    if not 0.0 <= couple <= 1.0:
        raise ValueError(f"couple must be in [0, 1], got {couple}")
    mdp = _relay_model(kappa, couple)
    pol = _relay_policy(mdp, kappa, eps, xor=False, softmax=softmax)
    return UtilityInstance(mdp, pol, initial_distribution(mdp), gamma, kappa, [np.asarray(r) for r in mdp.rewards],
                           "relay", {"kappa": kappa, "gamma": gamma, "eps": eps, "couple": couple})


def xor_relay(kappa, gamma=0.9, eps=0.05):
    r"""As :func:`relay`, but :math:`\pi^1(a_1 = s_1 \oplus s_{\kappa+1}) = 1-\varepsilon` (ξ uniform, reference 0).

    A tabular κ-hop softmax with logit :math:`\log((1-\varepsilon)/\varepsilon)` on the target
    action; :math:`F = \frac1n\sum_i\langle r_i, \lambda_i\rangle`, :math:`n = \kappa + 2`.
    """
    kappa = int(kappa)
    if kappa < 1:
        raise ValueError(f"xor_relay needs kappa >= 1, got {kappa}")
    eps, gamma = _check_eps(eps), _check_gamma(gamma)
    mdp = _relay_model(kappa, 0.0)
    pol = _relay_policy(mdp, kappa, eps, xor=True, softmax=True)
    zero = (np.zeros(mdp.n, dtype=np.int64), np.zeros(mdp.n, dtype=np.int64))
    return UtilityInstance(mdp, pol, initial_distribution(mdp), gamma, kappa, [np.asarray(r) for r in mdp.rewards],
                           "xor_relay", {"kappa": kappa, "gamma": gamma, "eps": eps}, reference=zero)


# ---------------------------------------------------------------------------- copy chain
def ying_copy_chain(n, gamma=0.9, signed=False, mf=1.0, rng=None):
    r"""qu2020's copy chain at full copying (ρ = 1): agent i's next state is agent i+1's state.

    The last agent keeps its state; actions have no effect; :math:`r_0 \in \{0, M_f\}` or
    :math:`\{-M_f, M_f\}` (``signed``). Known answer of Assumption 1's meter:
    :math:`M_{i,i+1} = 1`, :math:`M_{n-1,n-1} = 1`, others 0, so :math:`\beta^*(\rho) = \log\rho` on
    :math:`[1, 1/\gamma)`. Local softmax policy (random logits from ``rng``), ξ uniform.
    """
    gamma = _check_gamma(gamma)
    mdp = copy_chain_mdp(int(n), 1.0, rbar=float(mf), signed=bool(signed), action_size=2)
    pol = LocalSoftmaxPolicy.random(mdp, as_generator(rng))
    return UtilityInstance(mdp, pol, initial_distribution(mdp), gamma, 0, [np.asarray(r) for r in mdp.rewards],
                           "copy_chain", {"n": int(n), "gamma": gamma, "signed": bool(signed), "mf": float(mf)})


# ---------------------------------------------------------------------------- Lemma 3's absorbing pair
def lemma3_absorbing(gamma=0.9, eps=0.1, eta=1e-6, *, sigmoid=None):
    r"""Two agents, κ = 0: agent 0 is absorbed in state 1 as soon as either agent plays 1 (ying2023 Lemma 3).

    :math:`S_0 = S_1 = \{0,1\}`; state 1 of agent 0 is absorbing; agent 0 moves to 1 iff
    :math:`a_0 = 1` or :math:`a_1 = 1`; agent 1 is frozen; ξ = δ_(0,0). Global-state policies
    :math:`\pi^0(a_0=1|s) = \varepsilon 1\{s_1 = 1\} + \eta`, :math:`\pi^1(a_1=1|s) = \varepsilon 1\{s_0=1\} + \eta`;
    the reference of (48) is :math:`\bar s = (1, 1)`. ``sigmoid=(theta, b)`` instead uses the
    shared-parameter sigmoid :math:`\pi^i(a_i = 1|s) = \sigma(\theta + b\,1\{s_{out} = 1\})` (a
    :class:`~envs.KHopSoftmaxPolicy` with logits (0, θ + b 1{...}), for the score line of (47)).
    Rewards: :math:`r_0(s_0, a_0) = s_0`.
    """
    gamma = _check_gamma(gamma)
    eps, eta = float(eps), float(eta)
    if not (0.0 <= eta and 0.0 <= eps and eps + eta <= 1.0):
        raise ValueError(f"need eps >= 0, eta >= 0 and eps + eta <= 1, got eps={eps}, eta={eta}")
    g = nx.path_graph(2)
    # agent 0: P_0(s0' | s0, s1, a0, a1); agent 1 frozen
    T0 = np.zeros((2, 2, 2, 2, 2))
    for s0, s1, a0, a1 in np.ndindex(2, 2, 2, 2):
        T0[s0, s1, a0, a1, 1 if (s0 == 1 or a0 == 1 or a1 == 1) else 0] = 1.0
    T1 = np.zeros((2, 2, 2, 2, 2))
    for s0, s1, a0, a1 in np.ndindex(2, 2, 2, 2):
        T1[s0, s1, a0, a1, s1] = 1.0
    R = [np.array([[0.0, 0.0], [1.0, 1.0]]), np.zeros((2, 2))]
    mdp = NetworkedMDP(g, [T0, T1], R, transition_form="neighbourhood", reward_form="local")
    observed = [(0, 1), (0, 1)]
    configs = np.array(list(np.ndindex(2, 2)))  # rows (s0, s1)
    params = {"gamma": gamma, "eps": eps, "eta": eta}
    if sigmoid is None:
        p0 = eps * (configs[:, 1] == 1) + eta
        p1 = eps * (configs[:, 0] == 1) + eta
        tables = [np.stack([1.0 - p, p], axis=1) for p in (p0, p1)]
        pol = LocalTabularPolicy(tables, observed, state_sizes=(2, 2))
    else:
        theta, b = (float(x) for x in sigmoid)
        params.update(theta=theta, b=b)
        logits = []
        for i in range(2):
            out = configs[:, 1 - i] == 1
            z = theta + b * out
            logits.append(np.stack([np.zeros(4), z], axis=1).reshape(2, 2, 2))
        pol = KHopSoftmaxPolicy(logits, observed, kappa=1)
    ref = (np.array([1, 1]), np.zeros(2, dtype=np.int64))
    return UtilityInstance(mdp, pol, initial_distribution(mdp, "point", (0, 0)), gamma, 0, R,
                           "lemma3_absorbing", params, reference=ref)


# ---------------------------------------------------------------------------- random families
def mixture_line(n, alpha=1.0, rng=None, *, radius=None, gamma=0.7, kappa=1, scale=0.5, local_policy=False):
    r"""Mixture kernels on a line: :math:`w_{ij} \propto e^{-\alpha d(i,j)}` (:math:`d \le` ``radius``), Dirichlet(1) rows.

    Binary :math:`S_i, A_i`; :math:`K_{ij}` random rows over :math:`(s_j, a_j)`; rewards uniform
    in [0, 1]; a random κ-hop softmax (``scale * N(0,1)`` logits) or a random local softmax
    (``local_policy``); ξ uniform. :math:`M_{ij} = w_{ij}\delta(K_{ij})` in closed form
    (:func:`mixture_influence`). Draw order: kernels (i, j ascending), rewards, policy.
    """
    n = int(n)
    if n < 2:
        raise ValueError(f"mixture_line needs n >= 2 agents, got {n}")
    gamma = _check_gamma(gamma)
    rng = as_generator(rng)
    g = nx.path_graph(n)
    D = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]).astype(float)
    W = np.exp(-float(alpha) * D)
    if radius is not None:
        W = np.where(D <= int(radius), W, 0.0)
    W /= W.sum(axis=1, keepdims=True)
    K = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if W[i, j] > 0:
                x = rng.standard_exponential(size=(2, 2, 2))
                K[i][j] = x / x.sum(axis=-1, keepdims=True)
    R = [rng.uniform(0.0, 1.0, size=(2, 2)) for _ in range(n)]
    mdp = mixture_networked_mdp(g, W, K, R)
    pol = LocalSoftmaxPolicy.random(mdp, rng) if local_policy else KHopSoftmaxPolicy.random(mdp, kappa, rng, scale=scale)
    return UtilityInstance(mdp, pol, initial_distribution(mdp), gamma, 0 if local_policy else int(kappa), R,
                           "mixture_line", {"n": n, "alpha": float(alpha), "radius": radius, "gamma": gamma,
                                            "kappa": int(kappa), "scale": float(scale),
                                            "local_policy": bool(local_policy)})


def random_khop(n, kappa=1, scale=1.0, couple=0.0, rng=None, *, gamma=0.7):
    r"""A line of ``n`` agents with own-state kernels (optionally mixed with the right neighbour) and a random κ-hop softmax.

    :math:`P_i(\cdot|s_i, s_{i+1}, a_i) = (1-c)K_i(\cdot|s_i, a_i) + c\,K'_i(\cdot|s_{i+1})`,
    Dirichlet(1) rows, binary states and actions, rewards uniform in [0, 1], ξ uniform.
    """
    n = int(n)
    if n < 2:
        raise ValueError(f"random_khop needs n >= 2 agents, got {n}")
    gamma = _check_gamma(gamma)
    couple = float(couple)
    if not 0.0 <= couple <= 1.0:
        raise ValueError(f"couple must be in [0, 1], got {couple}")
    rng = as_generator(rng)
    g = nx.path_graph(n)
    P, R = [], []
    for i in range(n):
        Ni = tuple(sorted({i} | set(g.neighbors(i))))
        own = rng.standard_exponential(size=(2, 2, 2))
        own /= own.sum(axis=-1, keepdims=True)
        nb = rng.standard_exponential(size=(2, 2))
        nb /= nb.sum(axis=-1, keepdims=True)
        T = np.empty((2,) * len(Ni) + (2, 2))
        for idx in np.ndindex(*((2,) * len(Ni))):
            right = idx[Ni.index(i + 1)] if i + 1 < n else None
            for a in range(2):
                row = own[idx[Ni.index(i)], a]
                if right is not None and couple > 0:
                    row = (1.0 - couple) * row + couple * nb[right]
                T[idx + (a,)] = row
        P.append(T)
        R.append(rng.uniform(0.0, 1.0, size=(2, 2)))
    mdp = NetworkedMDP(g, P, R, transition_form="local", reward_form="local")
    pol = KHopSoftmaxPolicy.random(mdp, kappa, rng, scale=scale)
    return UtilityInstance(mdp, pol, initial_distribution(mdp), gamma, int(kappa), R, "random_khop",
                           {"n": n, "kappa": int(kappa), "scale": float(scale), "couple": couple, "gamma": gamma})


# ---------------------------------------------------------------------------- utility-specific
def transient_entropy(p=0.1, n=2, gamma=0.9, rng=None):
    r"""State 1 of every agent has :math:`\xi_i(1) = p`, is left at once and never re-entered.

    :math:`S_i = \{0, 1, 2\}` (state 1 transient; states 0 and 2 recurrent, the action chooses
    between them), so :math:`d_i(1) = (1-\gamma)p` for every policy: the extremal case of the
    entropy utility's :math:`M_f` on Λ (guide §5). Agents independent on a line; ξ the product
    of :math:`(\,(1-p)/2,\ p,\ (1-p)/2\,)`; random local softmax policy; zero linear rewards.
    """
    p = float(p)
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    gamma, n = _check_gamma(gamma), int(n)
    g = nx.path_graph(n)
    P, R = [], []
    for i in range(n):
        Ni = tuple(sorted({i} | set(g.neighbors(i))))
        T = np.empty((3,) * len(Ni) + (2, 3))
        for idx in np.ndindex(*((3,) * len(Ni))):
            for a in range(2):
                T[idx + (a,)] = np.eye(3)[0 if a == 0 else 2]
        P.append(T)
        R.append(np.zeros((3, 2)))
    mdp = NetworkedMDP(g, P, R, transition_form="local", reward_form="local")
    xi1 = np.array([(1.0 - p) / 2, p, (1.0 - p) / 2])
    xi = xi1
    for _ in range(n - 1):
        xi = np.multiply.outer(xi, xi1)
    pol = LocalSoftmaxPolicy.random(mdp, as_generator(rng))
    return UtilityInstance(mdp, pol, xi.ravel(), gamma, 0, R, "transient_entropy", {"p": p, "n": n, "gamma": gamma})


def coordination_pair(gamma=0.9, rng=None):
    r"""Two agents, :math:`S_i = \{0,1,2\}`, :math:`r_i(s_i) = (0, 0.5, 1)[s_i]`, f_i linear (ying2023 Remark 2).

    Both next states are 2 if :math:`a = (1,1)`, 1 if :math:`a = (0,0)`, 0 otherwise: the
    localized class must coordinate. Random local softmax policy, ξ uniform.
    """
    gamma = _check_gamma(gamma)
    g = nx.path_graph(2)
    T = np.zeros((3, 3, 2, 2, 3))
    for s0, s1, a0, a1 in np.ndindex(3, 3, 2, 2):
        T[s0, s1, a0, a1, 2 if (a0, a1) == (1, 1) else 1 if (a0, a1) == (0, 0) else 0] = 1.0
    r = np.repeat(np.array([0.0, 0.5, 1.0])[:, None], 2, axis=1)
    mdp = NetworkedMDP(g, [T, T.copy()], [r, r.copy()], transition_form="neighbourhood", reward_form="local")
    pol = LocalSoftmaxPolicy.random(mdp, as_generator(rng))
    return UtilityInstance(mdp, pol, initial_distribution(mdp), gamma, 0, [r, r.copy()], "coordination_pair",
                           {"gamma": gamma})


def linemsg(n=6, gamma=0.99, kappa=2, rng=None, *, scale=0.0):
    r"""The follow-up's synthetic "linemsg" line (Ying et al., NeurIPS 2023; guide §8.2), exact for n <= 8.

    :math:`S_i = A_i = \{0,1\}`; :math:`s_0' = s_1` (ignores the action); :math:`s_{n-1}' = a_{n-1}`;
    for :math:`1 \le i \le n-2`: :math:`a_i = 0 \Rightarrow s_i' = 0`, and :math:`a_i = 1 \Rightarrow
    s_i' = 1` if :math:`s_{i+1} = 1`, else :math:`s_i' = 1` w.p. 0.8. The reward
    :math:`0.1\cdot1\{s_i' = 1\}` (agent 0's ×10) is on the *next* state; here its expectation given
    :math:`(s, a)` (a ``reward_form="local"`` reward needs :math:`(s_i, a_i)` only, so this model uses
    the exact expectation through a neighbourhood reward). ξ = δ_(1,...,1). κ-hop softmax with
    ``scale * N(0,1)`` logits (uniform at ``scale = 0``).
    """
    n, gamma = int(n), _check_gamma(gamma)
    if n < 3:
        raise ValueError(f"linemsg needs n >= 3 agents, got {n}")
    g = nx.path_graph(n)
    P, R = [], []
    for i in range(n):
        Ni = tuple(sorted({i} | set(g.neighbors(i))))
        T = np.empty((2,) * len(Ni) + (2, 2))
        Rr = np.empty((2,) * len(Ni) + (2,) * len(Ni))
        for idx in np.ndindex(*((2,) * len(Ni))):
            for a in range(2):
                if i == 0:
                    p1 = float(idx[Ni.index(1)])
                elif i == n - 1:
                    p1 = float(a)
                else:
                    p1 = 0.0 if a == 0 else (1.0 if idx[Ni.index(i + 1)] == 1 else 0.8)
                T[idx + (a,)] = (1.0 - p1, p1)
                # expected reward of agent i: depends on (s_{N_i}, a_i) only; spread over a_{N_i}
                sel = [slice(None)] * len(Ni)
                sel[Ni.index(i)] = a
                Rr[idx + tuple(sel)] = (1.0 if i == 0 else 0.1) * p1  # 0.1 * P(s_i' = 1), agent 0's x10
        P.append(T)
        R.append(Rr)
    mdp = NetworkedMDP(g, P, R, transition_form="local", reward_form="neighbourhood")
    pol = KHopSoftmaxPolicy.random(mdp, kappa, as_generator(rng), scale=scale)
    return UtilityInstance(mdp, pol, initial_distribution(mdp, "point", (1,) * n), gamma, int(kappa), None,
                           "linemsg", {"n": n, "gamma": gamma, "kappa": int(kappa), "scale": float(scale)})


# ---------------------------------------------------------------------------- Remark 4: truncated policies
def truncated_policy(mdp, policy, kappa, reference):
    r"""ying2023 (48): :math:`\hat\pi^i(a_i|s_{N_i^\kappa}) = \pi^i(a_i|s_{N_i^\kappa}, \bar s_{N_{-i}^\kappa})`.

    Parameters
    ----------
    mdp : NetworkedMDP
    policy : a product policy (any observation sets, e.g. global-state)
    kappa : int >= 0
    reference : sequence of int, length n
        :math:`\bar s` (only its coordinates outside :math:`N_i^\kappa` are used).

    Returns
    -------
    LocalTabularPolicy
        With observation sets :math:`N_i^\kappa`.
    """
    from ._policy import check_policy

    tables = check_policy(mdp, policy)
    s_bar = np.asarray(reference, dtype=np.int64).reshape(-1)
    if s_bar.shape != (mdp.n,):
        raise ShapeError(f"reference must have one state per agent ({mdp.n}), got shape {s_bar.shape}")
    mdp.check_pairs(s_bar.reshape(1, -1))
    out, sets = [], []
    for i in range(mdp.n):
        N = tuple(mdp.kappa_hop(i, kappa))
        O = tables.observed[i]
        configs = np.array(list(np.ndindex(*(mdp.state_sizes[k] for k in N)))).reshape(-1, len(N))
        full = np.tile(s_bar, (configs.shape[0], 1))
        full[:, list(N)] = configs
        rows = np.ravel_multi_index(tuple(full[:, k] for k in O), tuple(mdp.state_sizes[k] for k in O))
        out.append(tables[i][rows])
        sets.append(N)
    return LocalTabularPolicy(out, sets, state_sizes=mdp.state_sizes)


def policy_outside_tv(mdp, policy, kappa):
    r"""The left side of (47) per agent: :math:`\sup_{s, s'_{-N}}\mathrm{TV}(\pi^i(\cdot|s_N, s_{-N}), \pi^i(\cdot|s_N, s'_{-N}))`.

    :math:`N = N_i^\kappa`, TV = ½ℓ1 (ying2023 §1.1). Returns an array of shape (n,).
    """
    from ._policy import check_policy

    tables = check_policy(mdp, policy)
    out = np.zeros(mdp.n)
    for i in range(mdp.n):
        N = set(mdp.kappa_hop(i, kappa))
        O = tables.observed[i]
        T = tables[i].reshape(tuple(mdp.state_sizes[k] for k in O) + (-1,))
        ins = [q for q, k in enumerate(O) if k in N]
        outs = [q for q, k in enumerate(O) if k not in N]
        if not outs:
            continue
        T = np.transpose(T, ins + outs + [len(O)])
        m_in = math.prod(T.shape[q] for q in range(len(ins)))
        T = T.reshape(m_in, -1, T.shape[-1])
        out[i] = 0.5 * np.abs(T[:, :, None, :] - T[:, None, :, :]).sum(axis=-1).max()
    return out
