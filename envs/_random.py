"""The one way every function of the package takes randomness: :func:`as_generator`.

Every public function or method that draws random numbers has an ``rng`` argument (``seed`` for
:class:`~envs.WirelessNetwork`, whose parameters are drawn once) and passes it through
:func:`as_generator` once, at its entry point:

* ``None``: a fresh ``numpy.random.default_rng()`` (OS entropy, not reproducible);
* a non-negative ``int`` (Python or numpy integer): ``numpy.random.default_rng(seed)``, so an int
  seed ``s`` and ``default_rng(s)`` give bit-identical results;
* a :class:`numpy.random.SeedSequence`: ``numpy.random.default_rng(seq)``;
* a :class:`numpy.random.Generator`: used as it is (its state advances; pass the same generator
  along to continue one stream).

Anything else is refused with a :class:`TypeError` (``bool``, ``float``, strings, the legacy
``numpy.random.RandomState``) or a :class:`ValueError` (a negative int) naming the argument.
"""

import numbers

import numpy as np

__all__ = ["as_generator"]


def _check_seed(seed, name):
    """Validate an integer seed: a non-negative Python or numpy integer, not a bool."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"`{name}` must be None, a non-negative int seed, a numpy.random.SeedSequence or a "
            f"numpy.random.Generator, got {type(seed).__name__} {seed!r}"
        )
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"`{name}` must be a non-negative int seed, got {seed}")
    return seed


def as_generator(rng, name="rng"):
    """Turn ``rng`` (``int | numpy.random.Generator | SeedSequence | None``) into a Generator.

    Parameters
    ----------
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        See the module docstring: ``None`` is fresh entropy, an int ``s`` is
        ``numpy.random.default_rng(s)``, a Generator is returned unchanged (the same object).
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        For bools, floats, ``numpy.random.RandomState`` and any other type.
    ValueError
        For a negative int.

    Examples
    --------
    >>> import numpy as np
    >>> from netmarl_verify.envs import as_generator
    >>> as_generator(3).random() == np.random.default_rng(3).random()
    True
    >>> g = np.random.default_rng(0)
    >>> as_generator(g) is g
    True
    >>> as_generator(1.5)
    Traceback (most recent call last):
        ...
    TypeError: `rng` must be None, a non-negative int seed, ... got float 1.5
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.RandomState):
        raise TypeError(
            f"`{name}` is a legacy numpy.random.RandomState; pass an int seed or a "
            f"numpy.random.Generator (numpy.random.default_rng(seed)) instead"
        )
    return np.random.default_rng(_check_seed(rng, name))
