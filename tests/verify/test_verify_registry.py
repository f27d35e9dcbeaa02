"""The claim registry and the NETMARL_VERIFY_EXTRA_CLAIMS mechanism."""

import sys
import types

import pytest

import _toy_claims
from netmarl_verify import verify
from netmarl_verify.verify import REGISTRY, Registry, UnknownClaimError, load_extra_claims


def test_lookup_by_claim_paper_and_all(toy_registry):
    assert [c.id for c in toy_registry.claims_for("toy.geometric")] == ["toy.geometric"]
    assert [c.id for c in toy_registry.claims_for("toy")] == ["toy.geometric", "toy.geometric_wrong_constant"]
    assert len(toy_registry.claims_for("all")) == 2
    assert toy_registry.papers() == ["toy"]
    assert "toy.geometric" in toy_registry
    assert toy_registry.get("toy.geometric").source == "Eq. (1)"


def test_unknown_ids_raise_with_known_papers(toy_registry):
    with pytest.raises(UnknownClaimError, match="known papers: toy"):
        toy_registry.claims_for("nosuch")
    with pytest.raises(UnknownClaimError, match="nosuch.thm1"):
        toy_registry.get("nosuch.thm1")
    with pytest.raises(UnknownClaimError):
        toy_registry.unregister("nosuch.thm1")


def test_duplicates_refused_unless_replace(toy_registry):
    c = _toy_claims.make_claims()[0]
    with pytest.raises(ValueError, match="already registered"):
        toy_registry.register(c)
    toy_registry.register(c, replace=True)
    assert toy_registry.get("toy.geometric") is c
    with pytest.raises(TypeError):
        toy_registry.register("toy.geometric")
    toy_registry.unregister("toy.geometric")
    assert "toy.geometric" not in toy_registry


def test_default_registry_has_no_toy_claims():
    assert not any(c.paper == "toy" for c in verify.list_claims())
    assert REGISTRY is not None and all(c.paper != "toy" for c in REGISTRY)


def test_fresh_registry_does_not_autoload(monkeypatch):
    monkeypatch.setenv(verify.EXTRA_CLAIMS_ENV, "_toy_claims:register_toy_claims")
    assert len(Registry()) == 0


def test_extra_claims_spec_module_function():
    registry = Registry()
    modules = load_extra_claims(" _toy_claims:register_toy_claims , ", registry)
    assert modules == [_toy_claims]
    assert [c.id for c in registry] == ["toy.geometric", "toy.geometric_wrong_constant"]


def test_extra_claims_spec_module_registering_at_import(monkeypatch):
    # A plain module entry registers at import, like the paper modules (into the default registry).
    registry = Registry()
    module = types.ModuleType("_fake_claims_module")
    monkeypatch.setitem(sys.modules, "_fake_claims_module", module)
    assert load_extra_claims("_fake_claims_module", registry) == [module]
    assert len(registry) == 0


def test_extra_claims_errors_name_the_entry():
    with pytest.raises(ImportError, match="no_such_module_xyz"):
        load_extra_claims("no_such_module_xyz", Registry())
    with pytest.raises(ImportError, match="nope"):
        load_extra_claims("_toy_claims:nope", Registry())


def test_claims_package_load_all_imports_every_module():
    import netmarl_verify.verify.claims

    mods = verify.claims.load_all()
    assert [m.__name__.rsplit(".", 1)[1] for m in mods] == verify.claims.paper_modules()
