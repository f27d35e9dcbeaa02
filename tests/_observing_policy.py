"""A test-only product softmax policy whose agent i reads the states of ``observed[i]``.

It follows :class:`~netmarl_verify.envs.Policy` and :class:`~netmarl_verify.envs.Parametrised`, so
the solvers' one policy route can be tested on observation sets beyond ``(i,)`` before the κ-hop
policies of issue 11 land (the reference compiles it to a joint table).
"""

import math

import numpy as np

from netmarl_verify.envs import observed_rows, softmax
from netmarl_verify.envs._policy import _softmax_score_contract


class ObservingSoftmax:
    """A test-only softmax policy whose agent i reads the states of ``observed[i]`` (e.g. a neighbour)."""

    _table_label = "logits"

    def __init__(self, mdp, observed, logits=None, rng=0):
        self.mdp, self._obs = mdp, [tuple(o) for o in observed]
        self.n = mdp.n
        if logits is None:
            g = np.random.default_rng(rng)
            logits = [g.normal(size=(math.prod(mdp.state_sizes[k] for k in o), mdp.action_sizes[i]))
                      for i, o in enumerate(self._obs)]
        self.logits = [np.asarray(t, dtype=float) for t in logits]

    def observed(self, i):
        return self._obs[i]

    def probabilities(self):
        return [softmax(t, axis=1) for t in self.logits]

    def action_weights(self, states):
        return [t[observed_rows(o, states, self.mdp.state_sizes)] for t, o in zip(self.probabilities(), self._obs)]

    @property
    def size(self):
        return sum(t.size for t in self.logits)

    def flat(self):
        return np.concatenate([t.ravel() for t in self.logits])

    def with_flat(self, theta):
        out, k = [], 0
        for t in self.logits:
            out.append(np.asarray(theta[k:k + t.size]).reshape(t.shape))
            k += t.size
        return type(self)(self.mdp, self._obs, out)

    def score_contract(self, w):
        return _softmax_score_contract(self.probabilities(), self._obs, w)
