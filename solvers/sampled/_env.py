"""The environment protocol of the sampled solvers (interim).

A sampled algorithm needs ``n``, ``state_sizes``, ``action_sizes``, ``step(states, actions, rng)
-> (next_states, rewards)`` and the κ-hop neighbourhoods, from ``kappa_hop(i, k)`` or, failing
that, from the one-hop ``neighbourhoods`` by breadth-first search.

.. note:: Temporary. This module, with its own κ-hop BFS, is to be replaced by the graph mixin
   :class:`netmarl_verify.envs.AgentGraph` (``n``, ``neighbourhoods``, ``kappa_hop``, ...; issue 15,
   review §4 C), which :class:`~netmarl_verify.envs.NetworkedMDP` and
   :class:`~netmarl_verify.envs.WirelessNetwork` inherit: both already take the ``kappa_hop``
   branch below. The BFS serves only duck-typed envs that offer ``neighbourhoods`` alone; it goes
   when the protocol requires ``kappa_hop`` (or accepts any ``AgentGraph``).
"""

__all__ = ["_env_structure"]


def _env_structure(env, kappa):
    """``(n, S, A, hoods)`` of ``env``: sizes as int tuples, ``hoods[i]`` = :math:`N_i^\\kappa` sorted.

    Raises
    ------
    TypeError
        ``env`` lacks an attribute of the protocol.
    ValueError
        Sizes or neighbourhoods that are not valid.
    """
    for attr in ("n", "state_sizes", "action_sizes", "step"):
        if not hasattr(env, attr):
            raise TypeError(f"`env` must have attributes n, state_sizes, action_sizes and step(); missing {attr!r}")
    n = int(env.n)
    S = tuple(int(x) for x in env.state_sizes)
    A = tuple(int(x) for x in env.action_sizes)
    if n < 1 or len(S) != n or len(A) != n or min(S) < 1 or min(A) < 1:
        raise ValueError(f"`env` has n={n}, state_sizes={S}, action_sizes={A}: need n >= 1 positive sizes per agent")
    if hasattr(env, "kappa_hop"):
        hoods = [tuple(sorted(int(j) for j in env.kappa_hop(i, kappa))) for i in range(n)]
    elif hasattr(env, "neighbourhoods"):
        one = [set(int(j) for j in env.neighbourhoods[i]) | {i} for i in range(n)]
        hoods = []
        for i in range(n):
            seen, frontier = {i}, {i}
            for _ in range(kappa):
                frontier = {j for k in frontier for j in one[k]} - seen
                seen |= frontier
            hoods.append(tuple(sorted(seen)))
    else:
        raise TypeError("`env` must provide kappa_hop(i, k) or neighbourhoods")
    for i, Ni in enumerate(hoods):
        if i not in Ni or any(not 0 <= j < n for j in Ni):
            raise ValueError(f"env.kappa_hop({i}, {kappa}) = {Ni} must contain {i} and only agents 0..{n - 1}")
    return n, S, A, hoods
