"""netmarl-verify: exact ground truth for the theory of networked multi-agent RL.

Subpackages
-----------
envs
    Problem instances: networked and tabular MDPs, policies, generators, simulators.
solvers
    ``solvers.exact`` (stationary distributions, Q-functions, occupancy measures, policy
    gradients) and ``solvers.sampled`` (the papers' sample-based algorithms, numpy only).
verify
    The papers' claims as checks, the registry and the runner.
reports
    Markdown, self-contained HTML and CSV reports with figures.
testing
    Assertions for regression-testing your own algorithms against exact answers.
errors
    Every error class of the package; all derive from ``NetmarlError``.

The command line is ``netmarl-verify`` (or ``python -m netmarl_verify``).

Data flows one way: envs -> solvers -> verify -> reports, the command line on top.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("netmarl-verify")
except _metadata.PackageNotFoundError:  # imported from an uninstalled source tree
    __version__ = "0+unknown"

__all__ = ["__version__"]
