"""Every docstring example of the installed package runs (``doctest``), module by module.

The examples are collected from the installed ``netmarl_verify`` (not from the source folders,
which are not importable under their installed names), so they test what users get.
"""

import doctest
import importlib
import pkgutil

import pytest

import netmarl_verify

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(netmarl_verify.__path__, prefix="netmarl_verify.")
    if not m.name.endswith("__main__")
)


def test_modules_were_found():
    assert "netmarl_verify.envs._networked" in MODULES and "netmarl_verify._cli" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (see stdout)"
