r"""The one place that builds :func:`numpy.einsum` specs for the exact solvers.

Every contraction of local factors in :mod:`solvers.exact` (kernel rows of the neighbourhood
form, action-resolved Q, truncated gradients, the averaged critic equation) labels its axes in
the same way: an optional batch axis, then *groups* of axes, one axis per agent in each group
(typically the agents' actions, then the agents' next states). :func:`labels` hands out those
labels, consecutively from :data:`LETTERS`, and :class:`PathCache` caches the contraction path
of each spec.

Agent limit
-----------
:func:`numpy.einsum` has 52 labels (``a-z``, ``A-Z``). A contraction over ``m`` agents with one
batch axis and two axes per agent needs ``2 m + 1`` labels, so **every contraction involves at
most** :data:`MAX_AGENTS` **= 25 agents** (for the kernel rows and the action-resolved Q: all
``n`` agents of a ``transition_form="neighbourhood"`` model; for the critic: the
:math:`(\kappa+1)`-hop neighbourhood :math:`E`; for the truncated gradient: :math:`N_j^\kappa`).
Beyond it :func:`labels` raises :class:`ContractionLimitError` (a :class:`ValueError`) naming the
contraction, the agents it needs and the limit. (Before issue 15 the limit was 25, 16 or 17
depending on the builder.)

Bit-identity
------------
A result of :func:`numpy.einsum` with ``optimize=path`` depends on the operand order, the path,
and (through the axis order of intermediates, which einsum sorts by dimension and then label)
on the relative order of the labels. :func:`labels` therefore hands out exactly the letters the
four former builders used (``ascii_letters`` in order: batch first, then each group), so the
specs, the paths and the numbers are unchanged.
"""

import string

import numpy as np

from ._errors import ContractionLimitError

__all__ = ["LETTERS", "MAX_AGENTS", "labels", "PathCache", "ContractionLimitError"]

#: The einsum labels, handed out in this order.
LETTERS = string.ascii_letters

#: Most agents one contraction may involve (one batch label plus two labels per agent).
MAX_AGENTS = (len(LETTERS) - 1) // 2


def labels(*group_sizes, batch=True, agents=None, what="this contraction"):
    """Consecutive einsum labels: ``[batch,] group_0, group_1, ...``.

    Parameters
    ----------
    *group_sizes : int
        Number of labels in each group (one per agent of the group).
    batch : bool
        Reserve one leading label for a batch axis.
    agents : int, optional
        Number of agents the contraction involves (checked against :data:`MAX_AGENTS`);
        default: the largest group.
    what : str
        Named in the error message.

    Returns
    -------
    list of str
        ``[b] + groups`` when ``batch``, else ``groups``; each group is a string with one letter
        per agent (index it by the agent's position in the group).

    Raises
    ------
    ContractionLimitError
        More than :data:`MAX_AGENTS` agents, or more labels than einsum has.
    """
    sizes = [int(g) for g in group_sizes]
    m = max(sizes, default=0) if agents is None else int(agents)
    need = int(batch) + sum(sizes)
    if m > MAX_AGENTS or need > len(LETTERS):
        raise ContractionLimitError(
            f"{what} involves {m} agents ({need} einsum labels); the exact solvers contract at most "
            f"MAX_AGENTS = {MAX_AGENTS} agents at once (numpy.einsum has {len(LETTERS)} labels)"
        )
    out, k = [], 0
    if batch:
        out.append(LETTERS[0])
        k = 1
    for g in sizes:
        out.append(LETTERS[k : k + g])
        k += g
    return out


class PathCache:
    """Contraction paths (``np.einsum_path(..., optimize="greedy")``), computed once per key.

    The default key is the spec and the operand shapes. A caller that wants one path for a whole
    chunked loop (the first chunk's, as :mod:`._critic` does) passes its own ``key``.
    """

    def __init__(self):
        self._paths = {}

    def path(self, spec, *operands, key=None):
        """The cached path of ``spec`` for ``operands`` (computed on first use of ``key``)."""
        if key is None:
            key = (spec,) + tuple(np.shape(op) for op in operands)
        p = self._paths.get(key)
        if p is None:
            p = self._paths[key] = np.einsum_path(spec, *operands, optimize="greedy")[0]
        return p

    def einsum(self, spec, *operands, key=None):
        """``np.einsum(spec, *operands)`` along the cached path."""
        return np.einsum(spec, *operands, optimize=self.path(spec, *operands, key=key))

    def __len__(self):
        return len(self._paths)
