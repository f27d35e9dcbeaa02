
# qu2020 Alg. 1 (Scalable Actor-Critic). `__all__` is extended, not replaced, so that other
# algorithms can be appended to this file in any order.
from ._sac import (  # noqa: E402
    PowerSchedule,
    SACResult,
    SACState,
    assumption3,
    frozen_policy_critic,
    scalable_actor_critic,
)

__all__ = list(globals().get("__all__", [])) + [
    "scalable_actor_critic",
    "frozen_policy_critic",
    "SACResult",
    "SACState",
    "PowerSchedule",
    "assumption3",
]
