"""The claim registry.

Claim modules (``verify/claims/<paper>.py``) register their claims at import with
:func:`register`. The default registry :data:`REGISTRY` imports them all on first use
(:func:`load_all`), then the modules named in the environment variable
``NETMARL_VERIFY_EXTRA_CLAIMS``:

    NETMARL_VERIFY_EXTRA_CLAIMS="mypkg.my_claims,other.module:register_claims"

a comma-separated list of ``module`` or ``module:function``. ``function(registry)`` is called
after import and registers into the given registry. A bare ``module`` that defines its own
function ``register(registry)`` (defined in that module, not the re-exported
:func:`netmarl_verify.verify.register`) gets it called the same way; otherwise the module is
expected to register at import, like the paper modules. This is how users add their own
claims to ``netmarl-verify`` without editing the package (see
:mod:`netmarl_verify.verify.example_claim`), and how the tests add a toy claim to the command
line.

A fresh :class:`Registry` (``Registry()``) loads nothing by itself: tests and library users can
hold claims apart from the default registry.
"""

import importlib
import os

from netmarl_verify.envs._errors import NetmarlError

from ._claims import Claim

__all__ = [
    "Registry",
    "REGISTRY",
    "EXTRA_CLAIMS_ENV",
    "UnknownClaimError",
    "register",
    "unregister",
    "get_claim",
    "claims_for",
    "list_claims",
    "load_all",
    "load_extra_claims",
]

#: Environment variable naming extra claim modules (see the module docstring).
EXTRA_CLAIMS_ENV = "NETMARL_VERIFY_EXTRA_CLAIMS"


class UnknownClaimError(NetmarlError, LookupError):
    """No claim or paper with that id."""

    def __str__(self):  # LookupError quotes a single argument with repr(); keep the message readable
        return str(self.args[0]) if self.args else ""


class Registry:
    """An ordered collection of claims, addressed by claim id or paper id.

    Parameters
    ----------
    claims : iterable of Claim
        Claims to register immediately.
    autoload : bool
        If True, the first query imports the claim modules (:func:`load_all`). Only the
        default registry :data:`REGISTRY` autoloads.
    """

    def __init__(self, claims=(), *, autoload=False):
        self._claims = {}
        self._autoload = autoload
        self._loaded = not autoload
        for claim in claims:
            self.register(claim)

    def _ensure_loaded(self):
        if not self._loaded:
            # Set first: the modules call register(), not queries. Not reset on failure: the
            # error is raised once, and a retry would re-register the claims already loaded.
            self._loaded = True
            load_all(self)

    def register(self, claim, *, replace=False):
        """Add `claim`; returns it.

        Raises
        ------
        TypeError
            If `claim` is not a :class:`Claim`.
        ValueError
            If the id is taken (unless `replace`).
        """
        if not isinstance(claim, Claim):
            raise TypeError(f"can only register Claim objects, got {type(claim).__name__}")
        if claim.id in self._claims and not replace and self._claims[claim.id] is not claim:
            raise ValueError(f"claim id {claim.id!r} is already registered")
        self._claims[claim.id] = claim
        return claim

    def unregister(self, claim_id):
        """Remove and return the claim `claim_id`."""
        try:
            return self._claims.pop(claim_id)
        except KeyError:
            raise UnknownClaimError(f"unknown claim {claim_id!r}") from None

    def get(self, claim_id):
        """The claim with id `claim_id`.

        Raises
        ------
        UnknownClaimError
        """
        self._ensure_loaded()
        try:
            return self._claims[claim_id]
        except KeyError:
            raise UnknownClaimError(self._unknown_message(claim_id)) from None

    def claims(self, paper=None):
        """All claims in registration order, or those of `paper`."""
        self._ensure_loaded()
        return [c for c in self._claims.values() if paper is None or c.paper == paper]

    def papers(self):
        """Paper ids, in order of first registration."""
        return list(dict.fromkeys(c.paper for c in self.claims()))

    def claims_for(self, target):
        """Claims selected by `target`: ``"all"``, a paper id or a claim id.

        Raises
        ------
        UnknownClaimError
            With the known papers in the message.
        """
        self._ensure_loaded()
        if target == "all":
            return self.claims()
        if target in self._claims:
            return [self._claims[target]]
        selected = self.claims(paper=target)
        if selected:
            return selected
        raise UnknownClaimError(self._unknown_message(target))

    def _unknown_message(self, target):
        papers = ", ".join(self.papers()) or "none registered"
        return (
            f"unknown claim or paper {target!r} (known papers: {papers}; "
            "`netmarl-verify list` shows every claim id)"
        )

    def __contains__(self, claim_id):
        self._ensure_loaded()
        return claim_id in self._claims

    def __iter__(self):
        return iter(self.claims())

    def __len__(self):
        return len(self.claims())


#: The default registry: paper modules register here; autoloads on first query.
REGISTRY = Registry(autoload=True)


def load_extra_claims(spec, registry=None):
    """Import the extra claim modules of `spec` (the format of ``NETMARL_VERIFY_EXTRA_CLAIMS``).

    Parameters
    ----------
    spec : str
        Comma-separated ``module`` or ``module:function`` entries; blanks ignored. A bare
        ``module`` with its own ``register(registry)`` function has it called.
    registry : Registry, optional
        Passed to each ``function``; default :data:`REGISTRY`.

    Returns
    -------
    list of module

    Raises
    ------
    ImportError
        Naming the entry that failed.
    """
    registry = REGISTRY if registry is None else registry
    modules = []
    for entry in (e.strip() for e in (spec or "").split(",")):
        if not entry:
            continue
        module_name, _, func_name = entry.partition(":")
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise ImportError(f"{EXTRA_CLAIMS_ENV}: could not import {module_name!r}: {exc}") from exc
        if func_name:
            func = getattr(module, func_name, None)
            if not callable(func):
                raise ImportError(f"{EXTRA_CLAIMS_ENV}: {module_name!r} has no callable {func_name!r}")
            func(registry)
        else:
            func = getattr(module, "register", None)
            if callable(func) and getattr(func, "__module__", None) == module.__name__:
                func(registry)  # the module's own register(registry), not netmarl_verify.verify.register
        modules.append(module)
    return modules


def load_all(registry=None):
    """Import every paper module of :mod:`netmarl_verify.verify.claims`, then the extra modules.

    Paper modules register into the default registry at import; the ``module:function``
    entries of ``NETMARL_VERIFY_EXTRA_CLAIMS`` register into `registry`.
    """
    from . import claims

    modules = claims.load_all()
    modules += load_extra_claims(os.environ.get(EXTRA_CLAIMS_ENV, ""), registry)
    return modules


def register(claim, *, replace=False):
    """Register `claim` in the default registry (called by claim modules at import)."""
    return REGISTRY.register(claim, replace=replace)


def unregister(claim_id):
    """Remove `claim_id` from the default registry."""
    return REGISTRY.unregister(claim_id)


def get_claim(claim_id):
    """The claim `claim_id` of the default registry."""
    return REGISTRY.get(claim_id)


def claims_for(target):
    """Claims of the default registry selected by ``"all"``, a paper id or a claim id."""
    return REGISTRY.claims_for(target)


def list_claims(paper=None):
    """All claims of the default registry (or those of `paper`)."""
    return REGISTRY.claims(paper)
