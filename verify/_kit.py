r"""The claim kit: instance seeds, assumption builders, fault injection.

What every paper's claim modules share, so that a claim module is mostly data.

Instance seeds
--------------
:func:`instance_seed` is the one route from a master seed and an instance name to the entropy
of that instance's *generation* (its random kernels, rewards, policies):
``SeedSequence([seed, crc32(name)])``. The instance therefore does not depend on which other
instances are generated, nor in which order, and claims of one paper that use the same name
get the same instance. The *measurement* stream is another one,
:func:`netmarl_verify.verify.instance_rng` (it also hashes the claim id).

Assumption builders
-------------------
:func:`assume_less`, :func:`assume_at_most`, :func:`assume_greater`, :func:`assume_at_least`
and :func:`assume_in` build the :class:`~netmarl_verify.verify.Assumption` of a numerical
hypothesis from the measured value and the threshold: ``holds`` is the comparison, ``required``
reads ``"< 1"``, ``">= 0.5"``, ``"in (0.5, 1]"`` (the threshold formatted with ``str``, so pass
``1`` rather than ``1.0`` for ``"< 1"``), unless given.

Fault injection
---------------
A check must be able to fail, and the tests show it failing on deliberately broken inputs (a
wrong constant, a wrong kernel, a wrong target). Claim factories declare those inputs once, with
:func:`claim_factory`::

    @claim_factory(c_scale=Fault(1.0, "multiplies rbar in the bound (a wrong constant)"))
    def make_claims(*, faults):
        ...  # faults["c_scale"] is the resolved value (the default unless injected)

and every test breaks any claim the same way, by :func:`with_faults`::

    broken = with_faults(get_claim("qu2020.thm1"), c_scale=0.5)   # or with_faults("qu2020.thm1", ...)

which rebuilds the claim with the factory (and options) that made it, the given faults replacing
the defaults. Unknown fault names raise, naming the declared ones (:func:`claim_faults`). The
registered claims are built with no faults.
"""

import dataclasses
import functools
import weakref
import zlib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ._claims import Assumption, Claim

__all__ = [
    "instance_seed",
    "assume_less",
    "assume_at_most",
    "assume_greater",
    "assume_at_least",
    "assume_in",
    "Fault",
    "claim_factory",
    "with_faults",
    "claim_faults",
]


# ----------------------------------------------------------------------------- seeds
def instance_seed(seed, name):
    """Entropy of the instance `name` generated from the master `seed`: ``SeedSequence([seed, crc32(name)])``.

    ``zlib.crc32`` rather than ``hash()``, which is salted per process for strings.

    Examples
    --------
    >>> a = np.random.default_rng(instance_seed(0, "line n=4")).random()
    >>> a == np.random.default_rng(instance_seed(0, "line n=4")).random()
    True
    >>> a == np.random.default_rng(instance_seed(1, "line n=4")).random()
    False
    """
    return np.random.SeedSequence([int(seed), zlib.crc32(name.encode("utf-8"))])


# ----------------------------------------------------------------------------- assumptions
def assume_less(name, measured, threshold, detail="", *, required=None):
    """``Assumption(name, holds=measured < threshold, measured, required="< threshold", detail)``.

    Examples
    --------
    >>> assume_less("rho < 1", 0.8, 1).to_dict()["required"]
    '< 1'
    """
    return Assumption(name, holds=measured < threshold, measured=measured,
                      required=f"< {threshold}" if required is None else required, detail=detail)


def assume_at_most(name, measured, threshold, detail="", *, slack=0.0, required=None):
    """``holds = measured <= threshold + slack`` (`slack` a rounding allowance); required ``"<= threshold"``."""
    return Assumption(name, holds=measured <= threshold + slack, measured=measured,
                      required=f"<= {threshold}" if required is None else required, detail=detail)


def assume_greater(name, measured, threshold, detail="", *, required=None):
    """``holds = measured > threshold``; required ``"> threshold"``."""
    return Assumption(name, holds=measured > threshold, measured=measured,
                      required=f"> {threshold}" if required is None else required, detail=detail)


def assume_at_least(name, measured, threshold, detail="", *, required=None):
    """``holds = measured >= threshold``; required ``">= threshold"``."""
    return Assumption(name, holds=measured >= threshold, measured=measured,
                      required=f">= {threshold}" if required is None else required, detail=detail)


def assume_in(name, measured, low, high, detail="", *, closed="right", required=None):
    """``holds = measured`` in the interval from `low` to `high`.

    Parameters
    ----------
    closed : {"right", "left", "both", "neither"}
        Which ends belong to the interval; default ``(low, high]``.
    required : str, optional
        Default ``"in (low, high]"`` (brackets after `closed`).

    Examples
    --------
    >>> a = assume_in("step power (Assumption 3)", 0.55, 0.5, 1)
    >>> a.holds, a.required
    (True, 'in (0.5, 1]')
    """
    if closed not in ("right", "left", "both", "neither"):
        raise ValueError(f"`closed` must be 'right', 'left', 'both' or 'neither', got {closed!r}")
    lo_in, hi_in = closed in ("left", "both"), closed in ("right", "both")
    above = measured >= low if lo_in else measured > low
    below = measured <= high if hi_in else measured < high
    if required is None:
        required = f"in {'[' if lo_in else '('}{low}, {high}{']' if hi_in else ')'}"
    return Assumption(name, holds=above and below, measured=measured, required=required, detail=detail)


# ----------------------------------------------------------------------------- fault injection
@dataclass(frozen=True)
class Fault:
    """One deliberately wrong ingredient a claim factory accepts.

    Attributes
    ----------
    default : object
        The honest value (the registered claims use it).
    doc : str
        What the fault does, and which verdict it is meant to flip.
    """

    default: Any
    doc: str


@dataclass(frozen=True)
class _Origin:
    factory: Any
    options: dict
    faults: dict
    index: int


#: claim object -> how it was built (weak: built claims are not kept alive here)
_ORIGINS = weakref.WeakKeyDictionary()


def claim_factory(**faults):
    r"""Declare the faults of a claim factory (module docstring).

    The decorated function is called as ``func(faults=resolved, **options)`` with `resolved` a
    dict holding every declared fault (default or injected); it returns a :class:`Claim` or a
    list of them. The wrapper takes ``faults=None`` (a mapping of fault names to values) and the
    same options, remembers for each claim it built how it was built (for :func:`with_faults`),
    and exposes the declaration as ``.faults``.

    Raises
    ------
    TypeError
        If a declared value is not a :class:`Fault`.
    """
    for key, f in faults.items():
        if not isinstance(f, Fault):
            raise TypeError(f"fault {key!r} must be declared as a Fault(default, doc), got {f!r}")
    declared = MappingProxyType(dict(faults))

    def deco(func):
        @functools.wraps(func)
        def factory(*, faults=None, **options):
            given = dict(faults or {})
            unknown = sorted(set(given) - set(declared))
            if unknown:
                raise ValueError(f"{func.__qualname__}: unknown fault(s) {unknown}; declared: {sorted(declared)}")
            resolved = {k: given.get(k, f.default) for k, f in declared.items()}
            out = func(faults=resolved, **options)
            for k, c in enumerate([out] if isinstance(out, Claim) else out):
                _ORIGINS[c] = _Origin(factory, dict(options), given, k)
            return out

        factory.faults = declared
        return factory

    return deco


def _origin(claim):
    if isinstance(claim, str):
        from ._registry import get_claim

        claim = get_claim(claim)
    if not isinstance(claim, Claim):
        raise TypeError(f"expected a Claim or a claim id, got {type(claim).__name__}")
    try:
        return claim, _ORIGINS[claim]
    except KeyError:
        raise ValueError(f"claim {claim.id!r} was not built by a claim_factory: it declares no faults") from None


def claim_faults(claim):
    """The faults `claim` (a :class:`Claim` or a claim id) accepts: ``{name: Fault}``."""
    return _origin(claim)[1].factory.faults


def with_faults(claim, *, claim_id=None, **faults):
    """`claim` rebuilt by its factory with `faults` injected (module docstring).

    Parameters
    ----------
    claim : Claim or str
        A claim built by a :func:`claim_factory` (every registered claim of the package), or its id.
    claim_id : str, optional
        A new id for the broken claim (its measurement streams then differ,
        :func:`netmarl_verify.verify.instance_rng`); default the same id, hence the same streams.
    **faults
        Values of declared faults; faults injected into `claim` already are kept unless overridden.

    Returns
    -------
    Claim
        Not registered.
    """
    claim, origin = _origin(claim)
    built = origin.factory(faults={**origin.faults, **faults}, **origin.options)
    out = built if isinstance(built, Claim) else list(built)[origin.index]
    if out.id != claim.id:  # a factory must build the same claims whatever the faults
        raise RuntimeError(f"rebuilding {claim.id!r} with faults gave {out.id!r}")
    if claim_id is None:
        return out
    renamed = dataclasses.replace(out, id=claim_id)
    _ORIGINS[renamed] = _ORIGINS[out]
    return renamed
