"""The environment protocol of the sampled solvers.

A sampled algorithm needs ``n``, ``state_sizes``, ``action_sizes``, ``step(states, actions, rng)
-> (next_states, rewards)`` and ``kappa_hop(i, k)``. It does not derive the κ-hop
neighbourhoods itself; the environment gives them, through the graph mixin
:class:`netmarl_verify.envs.AgentGraph`, which :class:`~netmarl_verify.envs.NetworkedMDP` and
:class:`~netmarl_verify.envs.WirelessNetwork` inherit. Any duck-typed env with the same methods
works too. An env that offers only one-hop ``neighbourhoods`` is refused, and the error names the
missing ``kappa_hop``.
"""

__all__ = ["_env_structure"]

_PROTOCOL = ("n", "state_sizes", "action_sizes", "step", "kappa_hop")


def _env_structure(env, kappa):
    """``(n, S, A, hoods)`` of ``env``: sizes as int tuples, ``hoods[i]`` = ``env.kappa_hop(i, kappa)`` sorted.

    Raises
    ------
    TypeError
        ``env`` lacks an attribute of the protocol (the message names it; e.g. an env with
        ``neighbourhoods`` but no ``kappa_hop(i, k)``).
    ValueError
        Sizes or neighbourhoods that are not valid.
    """
    for attr in _PROTOCOL:
        if not hasattr(env, attr):
            hint = (" (the sampled solvers take the κ-hop neighbourhoods from the env, e.g. "
                    "netmarl_verify.envs.AgentGraph.kappa_hop; they do not derive them from `neighbourhoods`)"
                    if attr == "kappa_hop" else "")
            raise TypeError(f"`env` must have attributes n, state_sizes, action_sizes, step() and kappa_hop(i, k); "
                            f"missing {attr!r}{hint}")
    n = int(env.n)
    S = tuple(int(x) for x in env.state_sizes)
    A = tuple(int(x) for x in env.action_sizes)
    if n < 1 or len(S) != n or len(A) != n or min(S) < 1 or min(A) < 1:
        raise ValueError(f"`env` has n={n}, state_sizes={S}, action_sizes={A}: need n >= 1 positive sizes per agent")
    hoods = [tuple(sorted(int(j) for j in env.kappa_hop(i, kappa))) for i in range(n)]
    for i, Ni in enumerate(hoods):
        if i not in Ni or any(not 0 <= j < n for j in Ni):
            raise ValueError(f"env.kappa_hop({i}, {kappa}) = {Ni} must contain {i} and only agents 0..{n - 1}")
    return n, S, A, hoods
