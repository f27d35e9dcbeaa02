r"""zhang2025: the consensus matrix and gossip — Assumption 5.1, the gossip bound of (26)(d), Fact C.2.

``zhang2025.assump5_1``    meter: :math:`A\mathbb 1=\mathbb 1`, :math:`\mathbb 1^\top A=\mathbb 1^\top`, :math:`A\ge0`, :math:`A_{ii},A_{ij}\ge\eta>0` on
                           the edges; connectivity, :math:`\sigma_2(A-J)`, the paper's rate :math:`1-\eta^{N-1}` in ``extra``.
``zhang2025.gossip_rate``  (26)(d): :math:`\|A^t_{i,:}-\frac1N\mathbb 1^\top\|^2\le4N(1+\eta^{1-N})^2(1-\eta^{N-1})^{2t}`, the entrywise
                           form :math:`|[A^t]_{ij}-\frac1N|\le2(1+\eta^{1-N})(1-\eta^{N-1})^t` (guide §6), the form of the cited
                           source, and the spectral bound :math:`\sigma_2^t`.
``zhang2025.factC2``       :math:`\frac1N\mathbb 1^\top A^t\hat W=\frac1N\mathbb 1^\top\hat W` (gossip by
                           :func:`~netmarl_verify.solvers.sampled.gossip`).

Readings and findings.

* **Connectivity.** Assumption 5.1 as printed (doubly stochastic, :math:`\eta>0` on the diagonal and the edges) does
  not ask for a connected graph, but the rate :math:`1-\eta^{N-1}` needs one. Rows ``reading = "5.1 as printed"`` keep
  disconnected graphs applicable; rows ``"5.1 + connected"`` add connectivity as a hypothesis. On
  ``identity(4)`` (no edges, :math:`\eta = 1`, rate 0) and ``blockdiag_half4`` (two components, :math:`\eta=\frac12`) the
  printed reading is **violated** (the row error stays at 0.87 / 0.5 while the bound decays): finding; the proof
  needs connectivity (Nedić & Ozdaglar 2009 assume it).
* **Cited source.** Nedić & Ozdaglar (2009), Prop. 1(b), as recalled here (not re-read from the source, guide §8):
  for a fixed connected graph (B = 1, :math:`B_0 = N-1`),
  :math:`|[A^t]_{ij}-\frac1N|\le2\frac{1+\eta^{-B_0}}{1-\eta^{B_0}}(1-\eta^{B_0})^{t/B_0}` — the exponent is :math:`t/(N-1)`,
  not t as in (26)(d). Rows ``"cited: N-O 2009 Prop. 1"``.
* (26)(d) is the square of a row norm: the package's :func:`~netmarl_verify.envs.consensus_rate_bound`
  (``constant=True``) is its square root; rows here compare squares, as printed.
* Generators: Metropolis-Hastings, lazy Metropolis :math:`\frac12(I+A_{MH})`, max-degree, random matrices on the
  graph's support with every weight :math:`\ge\eta` (symmetric, and Sinkhorn-balanced non-symmetric:
  :func:`~netmarl_verify.envs.random_consensus_matrix`), ``blockdiag_half4``, ``identity(4)``.
* Search spaces: ``sinkhorn_random`` (random weights >= eta on G(N, p)) and ``generators`` (Metropolis, lazy
  Metropolis, max-degree on path / cycle / star / G(N, p) graphs, N <= 8); connected graphs only, so the
  disconnected finding above stays with the fixed instances.
"""

import math

import networkx as nx
import numpy as np

from netmarl_verify.envs import (
    consensus_sigma2,
    consensus_spectral_radius,
    max_degree_weights,
    metropolis_hastings_weights,
    random_consensus_matrix,
)
from netmarl_verify.solvers.sampled import consensus_errors, gossip
from netmarl_verify.verify import (
    Assumption,
    Choice,
    Claim,
    DecayFigure,
    Fault,
    Instance,
    Integer,
    Measurement,
    Real,
    SearchSpace,
    Series,
    assume_at_most,
    assume_greater,
    claim_factory,
    register,
)

from ._common import CONSENSUS_GRAPHS, PAPER, PAPER_FILE, SEED_MAX, consensus_graph, consensus_matrix, derived_seed
from ._common import random_connected_graph as _random_connected_graph

__all__ = ["make_claims", "GOSSIP_T", "SUM_TOL", "MEAN_TOL", "consensus_instance"]

#: Gossip rounds of the checks (guide §7).
GOSSIP_T = (1, 2, 5, 10, 20, 40)
#: sigma2(A - J) at or below this is the rounding of the SVD (absolute error ~ eps ||A||_2 = 2.2e-16): the spectral
#: rows are then "not applicable" (A = J, e.g. Metropolis on a complete graph), not a comparison of roundings.
SIGMA2_FLOOR = 1e-12
#: Row and column sums within this of 1 count as doubly stochastic (the package's row-sum tolerance).
SUM_TOL = 1e-12
#: Mean preservation tolerance, relative to max(1, ||W||_inf): t rounds of N-term sums, t N u ~ 1e-14.
MEAN_TOL = 1e-12


def _eta(A, graph):
    e = [(i, j) for i, j in graph.edges if i != j]
    vals = [A[i, i] for i in range(A.shape[0])] + [A[i, j] for i, j in e] + [A[j, i] for i, j in e]
    return float(min(vals))


def consensus_instance(kind, graph_name, graph, A, **params):
    """An :class:`~netmarl_verify.verify.Instance` holding a consensus matrix and its graph."""
    A = np.asarray(A, dtype=np.float64)
    name = f"{kind} on {graph_name}"
    return Instance(name=name, params={"family": kind, "graph": graph_name, "N": int(A.shape[0]), **params},
                    payload={"A": A, "graph": graph}, size=float(A.shape[0]), family=kind)


def _instances(quick, seed):
    graphs = {"path5": nx.path_graph(5), "cycle6": nx.cycle_graph(6), "star5": nx.star_graph(4)}
    for gname, g in graphs.items():
        yield consensus_instance("metropolis", gname, g, metropolis_hastings_weights(g))
    g = graphs["path5"]
    yield consensus_instance("lazy_metropolis", "path5", g, 0.5 * (np.eye(5) + metropolis_hastings_weights(g)))
    yield consensus_instance("max_degree", "star5", graphs["star5"], max_degree_weights(graphs["star5"]))
    for sym in (True, False):
        s = derived_seed(seed, f"sinkhorn {sym}")
        g = _random_connected_graph(5, 0.5, s)
        eta = 0.5 / (1 + max(d for _, d in g.degree))
        yield consensus_instance(f"sinkhorn_random symmetric={sym}", f"gnp(5, 0.5) seed={s}", g,
                                 random_consensus_matrix(g, eta, rng=s, symmetric=sym), seed=s)
    g = nx.Graph([(0, 1), (2, 3)])
    yield consensus_instance("blockdiag_half4", "two edges", g, np.kron(np.eye(2), np.full((2, 2), 0.5)))
    yield consensus_instance("identity", "no edges (N=4)", nx.empty_graph(4), np.eye(4))
    if not quick:
        for n, p in ((3, 0.8), (6, 0.2), (6, 0.6)):
            s = derived_seed(seed, f"mh gnp {n} {p}")
            g = _random_connected_graph(n, p, s)
            yield consensus_instance("metropolis", f"gnp({n}, {p}) seed={s}", g, metropolis_hastings_weights(g), seed=s)
        g = nx.path_graph(6)
        yield consensus_instance("sinkhorn_random symmetric=True (eta at its limit)", "path6", g,
                                 random_consensus_matrix(g, 1 / 3, rng=seed))


def _space():
    def build(p):
        g = _random_connected_graph(p["N"], p["p"], p["seed"])
        # feasible eta: 1/(1 + d_max) (symmetric construction), half of it (non-symmetric)
        limit = 1.0 / (1 + max(d for _, d in g.degree)) / (1 if p["symmetric"] else 2)
        A = random_consensus_matrix(g, p["eta_fraction"] * limit, rng=p["seed"], symmetric=p["symmetric"])
        return consensus_instance("sinkhorn_random", f"gnp({p['N']}, {p['p']:.3g})", g, A)

    return SearchSpace("sinkhorn_random", {"N": Integer(3, 6), "p": Real(0.2, 0.8), "symmetric": Choice((True, False)),
                                           "eta_fraction": Real(0.05, 1.0), "seed": Integer(0, SEED_MAX)}, build,
                       "random doubly stochastic matrices on random connected graphs, weights >= eta")


def _generator_space():
    """The deterministic generators of the fixed instances (Metropolis-Hastings, lazy Metropolis, max-degree) on the
    guide's graph shapes, N up to 8: the eta-extremes (star: eta = 1/N) the Sinkhorn family does not reach. No
    complete graph: there these generators give A = 1 1^T / N exactly and every row compares rounding (1e-17) with
    rounding (a G(N, p) draw can still be complete: those rows hold, as E^t's row norms <= sigma(E)^t for the
    rounding matrix E itself)."""
    def build(p):
        g = consensus_graph(p["graph"], p["N"], p["p"], p["seed"])
        return consensus_instance(p["generator"], f"{p['graph']}{p['N']}", g, consensus_matrix(p["generator"], g))

    return SearchSpace("generators", {"N": Integer(2, 8), "graph": Choice(tuple(g for g in CONSENSUS_GRAPHS
                                                                              if g != "complete")),
                                      "p": Real(0.2, 0.8),
                                      "generator": Choice(("metropolis", "lazy_metropolis", "max_degree")),
                                      "seed": Integer(0, SEED_MAX)}, build,
                       "Metropolis-Hastings, lazy Metropolis and max-degree weights on path / cycle / star / complete "
                       "/ connected G(N, p) graphs (p, seed: the G(N, p) draw only)")


def _broken(A, graph, row_stochastic_only):
    """The fault: move weight within row 0 onto its first edge (rows still sum to 1, columns do not)."""
    if not row_stochastic_only:
        return A
    B = A.copy()
    nbrs = sorted(j for j in graph.neighbors(0) if j != 0)
    if nbrs:
        d = 0.5 * B[0, 0]
        B[0, 0] -= d
        B[0, nbrs[0]] += d
    return B


def _assumption_rows(instance):
    A, g = instance.payload["A"], instance.payload["graph"]
    return [
        assume_at_most("nonnegative: -min A <= 0", -float(A.min()), 0),
        assume_greater("eta = min(A_ii, A_ij on edges) > 0", _eta(A, g), 0),
    ]


def _meter_rows(instance, rng, quick, row_stochastic_only=False):
    g = instance.payload["graph"]
    A = _broken(instance.payload["A"], g, row_stochastic_only)
    n = A.shape[0]
    eta = _eta(A, g)
    extra = {"eta": eta, "connected": bool(nx.is_connected(g)), "symmetric": bool(np.array_equal(A, A.T)),
             "sigma2": consensus_sigma2(A), "spectral_radius": consensus_spectral_radius(A),
             "paper_rate": 1 - eta ** (n - 1) if eta > 0 else float("nan"),
             "off_support_max": float(max((abs(A[i, j]) for i in range(n) for j in range(n)
                                           if i != j and not g.has_edge(i, j)), default=0.0))}
    yield Measurement(measured=float(np.abs(A.sum(axis=1) - 1).max()), bound=SUM_TOL, point={"check": "row sums"},
                      extra=extra)
    yield Measurement(measured=float(np.abs(A.sum(axis=0) - 1).max()), bound=SUM_TOL, point={"check": "column sums"})
    yield Measurement(measured=extra["off_support_max"], bound=0.0, point={"check": "A_ij = 0 off the edges"})


def _power_minus_mean(A, t):
    n = A.shape[0]
    return np.linalg.matrix_power(A - 1.0 / n, t) if t > 0 else np.eye(n) - 1.0 / n


def _gossip_rows(instance, rng, quick, rate_factor=1.0):
    A, g = instance.payload["A"], instance.payload["graph"]
    n = A.shape[0]
    eta = _eta(A, g)
    connected = [Assumption("communication graph connected (not in 5.1 as printed)", bool(nx.is_connected(g)),
                            None, "connected", f"{nx.number_connected_components(g)} component(s)")]
    rate = 1 - eta ** (n - 1)
    B0 = n - 1
    s2 = consensus_sigma2(A)
    errs = consensus_errors(A, list(GOSSIP_T))
    for k, t in enumerate(GOSSIP_T):
        te = rate_factor * t
        row2 = float((errs[k] ** 2).max())
        entry = float(np.abs(_power_minus_mean(A, t)).max())
        checks = [("(26)(d): max_i ||A^t_i - 1/N||^2", row2,
                   4 * n * (1 + eta ** (1 - n)) ** 2 * rate ** (2 * te)),
                  ("entrywise 2(1+eta^(1-N))(1-eta^(N-1))^t", entry, 2 * (1 + eta ** (1 - n)) * rate ** te),
                  ("cited: N-O 2009 Prop. 1", entry,
                   2 * (1 + eta ** (-B0)) / (1 - eta ** B0) * rate ** (te / B0) if rate > 0 else 0.0),
                  ("spectral: max_i ||A^t_i - 1/N|| <= sigma2^t", float(errs[k].max()), s2 ** te)]
        for label, measured, bound in checks:
            for reading, hyp in (("5.1 as printed", []), ("5.1 + connected", connected)):
                if label.startswith("spectral") and reading == "5.1 as printed":
                    continue
                if label.startswith("spectral"):     # sigma2 from an SVD has absolute error ~ eps ||A||
                    hyp = hyp + [Assumption("sigma2(A - J) above the SVD's rounding (A != J)", s2 > SIGMA2_FLOOR,
                                            s2, f"> {SIGMA2_FLOOR:g}", "A = J to rounding: nothing to contract "
                                            "(complete graph, Metropolis / max-degree)")]
                yield Measurement(measured=measured, bound=float(bound),
                                  point={"check": label, "reading": reading, "t": t},
                                  values={"eta": eta, "N": n, "rate": rate, "sigma2": s2}, assumptions=hyp)


def _gossip_figure(rows):
    specs = []
    for name in list(rows["instance"].unique())[:2]:
        where = {"instance": name, "point.reading": "5.1 + connected"}
        specs.append(DecayFigure(
            f"(26)(d) gossip: {name}",
            [Series(r"$\max_i\|A^t_{i,:}-\mathbf{1}^\top/N\|^2$", "measured",
                    where={"point.check": "(26)(d): max_i ||A^t_i - 1/N||^2"}, mask_at_or_below=1e-30)],
            bounds=Series(r"$4N(1+\eta^{1-N})^2(1-\eta^{N-1})^{2t}$", "bound",
                          where={"point.check": "(26)(d): max_i ||A^t_i - 1/N||^2"}),
            where=where, x="point.t", xlabel=r"$t_{\rm gossip}$", ylabel="squared row error"))
    return specs


def _mean_rows(instance, rng, quick, row_stochastic_only=False):
    g = instance.payload["graph"]
    A = _broken(instance.payload["A"], g, row_stochastic_only)
    n = A.shape[0]
    W = rng.standard_normal((n, 50))
    W[:, :10] += 100.0  # a common start W(0): the uncentred form of (20)
    for t in (1, 10, 40):
        out = gossip(A, W, t)
        err = float(np.abs(out.mean(axis=0) - W.mean(axis=0)).max()) / max(1.0, float(np.abs(W).max()))
        yield Measurement(measured=err, bound=MEAN_TOL, point={"t": t})


@claim_factory(
    row_stochastic_only=Fault(False, "moves half of A_00 onto agent 0's first edge: rows still sum to 1, columns "
                                     "do not (a row-stochastic, not doubly stochastic, A)"),
    rate_factor=Fault(1.0, "multiplies t in the exponent of every rate (x20: the bounds decay too fast)"),
)
def make_claims(*, faults):
    """Build the consensus claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, instances=_instances, search=(_space(), _generator_space()),
                  assumptions=_assumption_rows)
    return [
        Claim(id="zhang2025.assump5_1", source="Assumption 5.1; Definition 4.1", **common,
              statement="The consensus matrix A is doubly stochastic, nonnegative, zero off the communication graph, "
                        "with A_ii >= eta and A_ij >= eta on the edges for some eta > 0.",
              latex=r"A\mathbb 1=\mathbb 1,\ \mathbb 1^\top A=\mathbb 1^\top,\ A\ge0,\ A_{ii}\ge\eta,\ A_{ij}\ge\eta\ "
                    r"\forall(i,j)\in\mathcal E,\ A_{ij}=0\ \forall(i,j)\notin\mathcal E",
              measure=lambda inst, rng, quick: _meter_rows(inst, rng, quick, f["row_stochastic_only"]),
              notes=f"Meter: row / column sums within {SUM_TOL}, support; eta, connectivity, symmetry, sigma_2(A - J), "
                    "the paper's rate 1 - eta^(N-1) in extra of the first row."),
        Claim(id="zhang2025.gossip_rate", source="proof of Thm 5.10, (20), (26)(d); Nedic & Ozdaglar (2009)", **common,
              statement="After t gossip rounds, ||A^t_{i,:} - 1^T/N||^2 <= 4N(1 + eta^(1-N))^2 (1 - eta^(N-1))^(2t) "
                        "for every agent i.",
              latex=r"\big\|A^t_{i,:}-\tfrac1N\mathbb 1^\top\big\|^2\le4N(1+\eta^{1-N})^2(1-\eta^{N-1})^{2t}",
              measure=lambda inst, rng, quick: _gossip_rows(inst, rng, quick, f["rate_factor"]),
              figure=_gossip_figure,
              notes=f"t in {GOSSIP_T}; the entrywise form, the cited source's form (exponent t/(N-1)) and the "
                    "spectral bound sigma_2^t as further checks; readings with and without connectivity."),
        Claim(id="zhang2025.factC2", source="Fact C.2", **common,
              statement="Gossip with a doubly stochastic A preserves the mean of the stacked parameters: "
                        "(1/N) 1^T A^t W = (1/N) 1^T W.",
              latex=r"\tfrac1N\mathbb 1^\top A^{t}\hat W=\tfrac1N\mathbb 1^\top\hat W",
              measure=lambda inst, rng, quick: _mean_rows(inst, rng, quick, f["row_stochastic_only"]),
              notes=f"W: 50 random columns (10 with a common offset 100); measured max |mean change| / max(1, "
                    f"||W||_inf), bound {MEAN_TOL}; t in (1, 10, 40), literal rounds (solvers.sampled.gossip)."),
    ]


for _claim in make_claims():
    register(_claim)
