r"""The exact compilation of a :class:`~envs.WirelessNetwork` (qu2020 App. E).

Two exact models, as functions of the network ``net`` (the methods of the same names on
:class:`~envs.WirelessNetwork` call them):

* :func:`to_networked_mdp`: a :class:`~envs.NetworkedMDP` with dense local kernels
  :math:`P_i(s_i' \mid s_{N_i}, a_{N_i})` and expected rewards :math:`\sigma_i` — exact for any
  policy, but :math:`20^{|N_i|} \cdot 4` entries per kernel (``d = 2``); sizes in the module
  docstring of :mod:`netmarl_verify.envs._wireless`. :func:`kernel_entries` and
  :func:`exact_model_bytes` say beforehand what it will cost.
* :func:`policy_chain`: the global chain under one product policy, as a one-action
  :class:`~envs.TabularMDP`, from a tensor network over the collision structure
  (:func:`_collision_factors`, :func:`_success_moments`) that keeps the users' correlated
  failures exact without the dense kernels; :func:`policy_chain_bytes` is its cost.

Both check the memory budget (:func:`~envs.check_memory`) before allocating anything.
"""

import numpy as np

from ._errors import NumericalError
from ._memory import check_memory, format_bytes
from ._networked import NetworkedMDP
from ._policy import check_policy
from ._tabular import TabularMDP

__all__ = ["kernel_entries", "exact_model_bytes", "to_networked_mdp", "policy_chain_bytes", "policy_chain"]


# ---------------------------------------------------------------------------- dense local kernels
def kernel_entries(net):
    """Entries of each dense kernel ``P_i`` of :func:`to_networked_mdp`, a list of Python ints."""
    S, A = net.n_local_states, net.n_local_actions
    return [(S * A) ** len(Ni) * S for Ni in net.neighbourhoods]


def exact_model_bytes(net):
    """Estimated peak bytes of :func:`to_networked_mdp` (the model copies its arrays when built).

    ``16 * (sum_i (|P_i| + |r_i|)) + 8 * max_i |P_i|`` bytes: our float64 arrays plus the
    model's copies, plus the temporaries of building and validating the largest kernel
    (``sigma_i``, boolean masks, row sums: about one more largest kernel).
    """
    P = kernel_entries(net)
    R = [e // net.n_local_states for e in P]
    return 16.0 * (sum(P) + sum(R)) + 8.0 * max(P)


def _size_description(net):
    P = kernel_entries(net)
    i = int(np.argmax(P))
    m = len(net.neighbourhoods[i])
    S, A = net.n_local_states, net.n_local_actions
    return (
        f"the exact wireless model of the {net.H} x {net.W} grid ({net.n} users, d = {net.d}); "
        f"user {i} has |N_i| = {m} and a dense kernel of {S}^{m} * {A}^{m} * {S} = {P[i]:.3g} "
        f"entries ({format_bytes(8.0 * P[i])}), the model {format_bytes(8.0 * (sum(P) + sum(P) / S))}"
    )


def _success_factors(net, i):
    """Building blocks of :math:`\\sigma_i(s_{N_i}, a_{N_i})` = P(user i's transmission succeeds)."""
    S, A = net.n_local_states, net.n_local_actions
    Ni = net.neighbourhoods[i]
    sends = np.zeros((S, A), dtype=bool)
    sends[1:, 1:] = True
    terms = []
    for a_i in range(1, A):
        k = net.ap_table[i, a_i]
        own = np.zeros((S, A))
        own[1:, a_i] = net.q[k]
        # free[j][s_j, a_j] = 1 - 1{j sends to k}, only for the other users of AP k
        free = {j: 1.0 - (sends & (net.ap_table[j][None, :] == k)) for j in net.users_of(k) if j != i}
        terms.append((own, free))
    return Ni, terms


def _sigma_dense(net, i):
    """:math:`\\sigma_i` on the dense layout ``(S,)*m + (A,)*m`` (expected reward of user i)."""
    Ni, terms = _success_factors(net, i)
    m = len(Ni)
    S, A = net.n_local_states, net.n_local_actions
    sigma = np.zeros((S,) * m + (A,) * m)

    def place(f, j):
        p = Ni.index(j)
        shape = [1] * (2 * m)
        shape[p], shape[m + p] = S, A
        return f.reshape(shape)

    for own, free in terms:
        t = place(own, i)
        for j, f in free.items():
            t = t * place(f, j)
        sigma += t
    return sigma


def _next_state_rows(net, i):
    """``fail[s, s']`` and ``succ[s, s']``: next-state laws of user i without / with a success."""
    S, d, p = net.n_local_states, net.d, net.p[i]
    s = np.arange(S)
    fail = np.zeros((S, S))
    succ = np.zeros((S, S))
    for out, kept in ((fail, s), (succ, np.where(s > 0, s & (s - 1), 0))):
        base = kept >> 1
        np.add.at(out, (s, base), 1.0 - p)
        np.add.at(out, (s, base | (1 << (d - 1))), p)
    return fail, succ


def to_networked_mdp(net, max_bytes=None):
    r"""Compile to an exact :class:`~envs.NetworkedMDP` (dense local kernels).

    ``transitions[i][s_{N_i}, a_{N_i}, s_i']`` (``transition_form="neighbourhood"``) is

    .. math:: (1 - \sigma_i)\, F_i(s_i' \mid s_i) + \sigma_i\, G_i(s_i' \mid s_i),

    with :math:`\sigma_i(s_{N_i}, a_{N_i}) = 1\{s_i \ne 0, a_i \ne 0\}\, q_{k}\,
    \prod_{j \ne i \text{ using } k} (1 - 1\{s_j \ne 0, \text{ap}(j, a_j) = k\})`, ``k`` the AP
    of ``a_i``, and :math:`F_i` / :math:`G_i` the laws of ageing plus arrival without / after
    removing the earliest packet. ``rewards[i] = sigma_i`` (``reward_form="neighbourhood"``, the
    expected reward).

    Parameters
    ----------
    net : WirelessNetwork
    max_bytes : int, optional
        Memory budget (default :func:`~envs.memory_budget`).

    Raises
    ------
    MemoryBudgetError
        Before allocating anything, if :func:`exact_model_bytes` exceeds the budget; the
        message names the grid and the largest kernel (e.g. the 5 x 5 grid: an interior user
        has 9 neighbours and a kernel of 4^9 * 5^9 * 4 = 2.05e12 entries).
    """
    check_memory(
        exact_model_bytes(net),
        _size_description(net),
        max_bytes=max_bytes,
        hint="use the vectorized simulator (envs.simulate) for grids this large",
    )
    P, R = [], []
    for i in range(net.n):
        m = len(net.neighbourhoods[i])
        pos = net.neighbourhoods[i].index(i)
        sigma = _sigma_dense(net, i)
        fail, succ = _next_state_rows(net, i)
        shape = [1] * (2 * m) + [net.n_local_states]
        shape[pos] = net.n_local_states
        T = np.multiply(sigma[..., None], (succ - fail).reshape(shape))
        T += fail.reshape(shape)
        P.append(T)
        R.append(sigma)
    return NetworkedMDP(net.graph, P, R, transition_form="neighbourhood", reward_form="neighbourhood")


# ---------------------------------------------------------------------------- exact chain under a policy
def _collision_factors(net):
    r"""The collision structure as factors over occupied APs ``o_i`` and success flags ``y_i``.

    ``o_i in 0..4`` is the action user ``i`` *effectively* takes (``0`` = occupies no AP:
    the null action or an empty queue). Returns ``V[i]`` of shape ``(2, 5)`` over
    ``(y_i, o_i)`` and ``W[(i, j)]`` of shape ``(2, 5, 5)`` over ``(y_i, o_i, o_j)`` for every
    ordered pair of neighbours:

    * ``V[i][0] = 1``, ``V[i][1, o_i] = q_{k(o_i)} 1{o_i != 0}``;
    * ``W[i, j][0] = 1``, ``W[i, j][1, o_i, o_j] = 1 - 1{o_i != 0} 1{o_j != 0} 1{k(o_i) = k(o_j)}``,

    so that :math:`\sigma_i(o) = V_i(1, o_i) \prod_{j \in N_i \setminus i} W_{ij}(1, o_i, o_j)`
    and ``y_i = 0`` selects the constant 1.
    """
    A = net.n_local_actions
    q_ext = np.append(net.q, 0.0)  # the null action's AP n_ap has q = 0
    V, W = [], {}
    for i in range(net.n):
        v = np.ones((2, A))
        v[1] = q_ext[net.ap_table[i]]
        V.append(v)
        for j in net.neighbourhoods[i]:
            if j != i:
                ki, kj = net.ap_table[i][:, None], net.ap_table[j][None, :]
                w = np.ones((2, A, A))
                w[1] = 1.0 - ((ki == kj) & (ki < net.n_ap))
                W[i, j] = w
    return V, W


def _success_moments(net, probs):
    r""":math:`C(s, y) = E_\pi[\prod_{i: y_i = 1} \sigma_i(s, a) \mid s]`, shape ``(2**d,)*n + (2,)*n``.

    Tensor network: :math:`C(s, y) = \sum_o \prod_j \rho_j(o_j | s_j)\, \Phi(o, y)`, with
    :math:`\Phi(o, y) = \prod_i V_i(y_i, o_i) \prod_{(i, j)} W_{ij}(y_i, o_i, o_j)`
    (:func:`_collision_factors`) and :math:`\rho_j(\cdot | s_j)` the law of the occupied AP:
    ``zeta_j(. | s_j)`` if ``s_j != 0``, the null action if the queue is empty. :math:`\Phi`
    (``5**n * 2**n`` entries) is built by broadcasting the pairwise factors, then the ``o_j``
    are replaced by ``s_j`` one mode at a time (``tensordot``).
    """
    n, S, A = net.n, net.n_local_states, net.n_local_actions
    V, W = _collision_factors(net)

    def place(arr, axes):
        order = np.argsort(axes)
        shape = [1] * (2 * n)
        for ax, size in zip(axes, arr.shape):
            shape[ax] = size
        return arr.transpose(order).reshape(shape)

    T = np.ones((A,) * n + (2,) * n)  # Phi(o, y)
    for i in range(n):
        T *= place(V[i], (n + i, i))
    for (i, j), w in W.items():
        T *= place(w, (n + i, i, j))
    for j in range(n):
        rho = np.zeros((S, A))
        rho[0, 0] = 1.0
        rho[1:] = probs[j][1:]
        T = np.moveaxis(np.tensordot(rho, T, axes=([1], [j])), 0, j)
    return np.ascontiguousarray(T)


def policy_chain_bytes(net):
    """Estimated peak bytes of :func:`policy_chain`.

    With ``N = (2**d)**n``: ``8 * 2.25 N**2`` (the dense matrix, the copy made by
    :class:`~envs.TabularMDP`, the last input of the next-state expansion and a slice of it),
    ``2 N**2`` (boolean validation masks) and ``8 * 3 * 5**n * 2**n`` (the collision tensor
    and its mode products).
    """
    N = float(net.n_local_states) ** net.n
    return 8.0 * 2.25 * N * N + 2.0 * N * N + 8.0 * 3 * float(net.n_local_actions) ** net.n * 2.0**net.n


def policy_chain(net, policy, max_bytes=None):
    r"""The exact global chain under a product policy, as a one-action :class:`~envs.TabularMDP`.

    ``P[s, 0, s'] = P_pi(s' | s)`` and ``R[s, 0] = E_pi[(1/n) sum_i r_i(s, a) | s]`` on global
    states ``s = np.ravel_multi_index(s_1..s_n, state_sizes)`` (user 0 most significant) —
    the chain :func:`netmarl_verify.solvers.exact.transition_matrix` contracts from :func:`to_networked_mdp`,
    built without the dense local kernels (the 2 x 3 grid: about 1 s and 0.3 GiB instead
    of ~45 s and 11 GiB).

    Construction. Given ``(s, a)`` the users' next states are independent and user ``i``'s law
    is :math:`F_i(\cdot|s_i) + \sigma_i(s, a) (G_i - F_i)(\cdot|s_i)` (see
    :func:`to_networked_mdp`). Expanding the product over users with binary indices
    :math:`y_i` (``U_i[s_i, 0, :] = F_i``, ``U_i[s_i, 1, :] = G_i - F_i``) and averaging over
    the **joint** action — which keeps the collision correlations between users exact (a
    product of per-user policy-averaged kernels would not) —

    .. math:: P_\pi(s'|s) = \sum_{y \in \{0,1\}^n} C(s, y) \prod_i U_i(s_i, y_i, s_i'),\qquad
              C(s, y) = E_\pi\Big[\prod_{i: y_i = 1} \sigma_i(s, a) \,\Big|\, s\Big],

    and :math:`C` is a tensor network of factors of arity <= 3 (:func:`_success_moments`).
    The ``y -> s'`` expansion is done one user at a time. ``R[s] = (1/n) sum_i C(s, e_i)``
    (:math:`E_\pi[\sigma_i | s]`, the expected reward). Round-off negatives (``> -1e-12``)
    are set to zero.

    Parameters
    ----------
    net : WirelessNetwork
    policy : LocalTabularPolicy, LocalSoftmaxPolicy or list of arrays ``probs[i][s_i, a_i]``
        A product policy; ``probs[i]`` has shape ``(2**d, 5)``. Actions chosen with an empty
        queue are null whatever their index.
    max_bytes : int, optional
        Memory budget (default :func:`~envs.memory_budget`).

    Returns
    -------
    TabularMDP
        ``n_states = (2**d)**n``, ``n_actions = 1``; feed it to the exact solvers with the
        policy table ``np.ones((n_states, 1))``.

    Raises
    ------
    MemoryBudgetError
        Before allocating anything, if :func:`policy_chain_bytes` exceeds the budget; the
        message names the grid, ``N`` and the bytes (the 3 x 3 grid has 262,144 states:
        512 GiB for the dense ``P`` alone).
    """
    n, S = net.n, net.n_local_states
    N = S**n
    check_memory(
        policy_chain_bytes(net),
        f"the exact policy chain of the {net.H} x {net.W} wireless grid ({n} users, d = {net.d}): "
        f"{N} global states, a dense P_pi of {N} x {N} float64 ({format_bytes(8.0 * N * N)})",
        max_bytes=max_bytes,
        hint="use the vectorized simulator (envs.simulate) for grids this large",
    )
    probs = check_policy(net, policy)
    C = _success_moments(net, probs)  # (S,)*n + (2,)*n
    R = np.zeros((S,) * n)
    for i in range(n):
        R += C[(slice(None),) * n + tuple(int(j == i) for j in range(n))]
    R /= n

    # y -> s' one user at a time: T has axes s_0..s_{n-1}, y_k..y_{n-1}, s'_0..s'_{k-1}
    T = C
    del C
    for k in range(n):
        fail, succ = _next_state_rows(net, k)
        new = np.empty(T.shape[:n] + T.shape[n + 1 :] + (S,))
        for v in range(S):
            src = (slice(None),) * k + (v,) + (slice(None),) * (n - k - 1)
            dst = new[src]
            np.multiply(T[src + (0,)][..., None], fail[v], out=dst)
            dst += T[src + (1,)][..., None] * (succ[v] - fail[v])
        T = new
        del new
    P = T.reshape(N, 1, N)
    del T
    low = float(P.min())
    if low < -1e-12:  # pragma: no cover - a bug, not round-off
        raise NumericalError(f"policy_chain: negative transition probability {low:.3e}")
    np.maximum(P, 0.0, out=P)
    return TabularMDP(P, R.reshape(N, 1))
