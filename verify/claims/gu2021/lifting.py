r"""gu2021: the lifting to teams — the lifted kernel (6), exchangeability, Lemma 3.1.

``gu2021.lift_kernel``        the pushforward of the N-agent kernel equals the lifted :math:`\mathbf P^N` (6):
                              :math:`\sum_{\mathbf s':\mu(\mathbf s')=\mu'}P(\mathbf s'\mid\mathbf s,\mathbf a)=\mathbf P^N(\mu'\mid\mu(\mathbf s),\mathrm{type}(\mathbf s,\mathbf a))`.
``gu2021.lift_exchangeable``  :math:`V_N` is constant on μ-classes and :math:`Q_N` on (μ, h)-classes, for the
                              multinomial execution of π and the correlated execution of an energy policy (14).
``gu2021.lemma3_1``           Lemma 3.1: :math:`V^\pi(\mathbf s)=\tilde V^\Pi(\mu(\mathbf s))` (9),
                              :math:`Q_N(\mathbf s,\mathbf a)=Q^\Pi(\mu,h)` and :math:`Q^\Pi=\sum_sQ^\Pi_s` (10), under both
                              readings of the team reward (7).

Every check is exact (direct linear algebra on the N-agent product MDP and on the lifted MDP,
two independent routes), tolerance 1e-10 (values up to :math:`|S| r_{\max}/(1-\gamma)\approx 40`).

Finding (reading of (7)). With (7) as printed, :math:`r_s=\sum_ar(s,\mu(\mathcal N_s),a)h(s)(a)`, the team
rewards do not weigh a team by its size, so :math:`\sum_s r_s` is not the agent average of (4) and
(9) fails (rows ``reading=printed``, violated by O(1)); the proof of Lemma 3.1 uses the weighted reward
:math:`\mu(s)\sum_a r\,h(s)(a)` from (28) on, under which every row holds to round-off. The
decomposition (10) holds under both readings (it is linearity).
"""

import numpy as np

from netmarl_verify.envs import _mean_field as mf
from netmarl_verify.solvers.exact import evaluate_policy
from netmarl_verify.solvers.exact._mean_field import evaluate_lifted
from netmarl_verify.verify import Choice, Claim, Fault, HLine, Integer, LinesFigure, Measurement, Real, SearchSpace, \
    Series, Style, claim_factory, register

from ._common import PAPER, PAPER_FILE, READINGS, SEED_MAX, energy_params, individual_policy, lifted_of, \
    make_instance, meter_rows

__all__ = ["make_claims", "LIFT_TOL", "KERNEL_TOL", "SCALING_GRID"]

#: Identity tolerance of values: LU solves of (I - gamma P) with |V| <= 40, errors ~1e-14.
LIFT_TOL = 1e-10
#: Pushforward of kernels: sums of products of probabilities, no solve.
KERNEL_TOL = 1e-12


def _instances(quick, seed):
    yield make_instance("random", seed, graph="path", S=3, N=2, A=2, gamma=0.7, seed=seed)
    yield make_instance("random", seed, graph="star", S=3, N=3, A=2, gamma=0.9, seed=seed, signed=True)
    yield make_instance("lazy_walk", seed, L=3, N=3, A=2, gamma=0.9)
    yield make_instance("identity2", seed, gamma=0.9)
    yield make_instance("congestion", seed, L=3, topology="cycle", N=2, gamma=0.9, seed=seed)
    if not quick:
        yield make_instance("random", seed, graph="cycle", S=4, N=2, A=2, gamma=0.5, seed=seed)
        yield make_instance("split", seed, gamma=0.9)
        yield make_instance("relay", seed, N=3, gamma=0.5, reward="signed")


#: The scaling sweep of ``gu2021.lemma3_1`` (full runs): path graphs, |A| = 2, gamma = 0.9; (|S|, N) with the
#: product MDP's |S|^N joint states and 2^N joint actions at most 256 x 16 (the dense product kernel <= 10^6
#: entries per action, 0.5-2 s per instance).
SCALING_GRID = tuple((2, n) for n in range(2, 8)) + tuple((3, n) for n in range(2, 6)) + ((4, 2), (4, 3), (4, 4),
                                                                                           (5, 2), (5, 3))


def _scaling_instances(quick, seed):
    yield from _instances(quick, seed)
    if not quick:
        for S, N in SCALING_GRID:
            yield make_instance("random", seed, graph="path", S=S, N=N, A=2, gamma=0.9, seed=seed)


def _space():
    def build(p):
        return make_instance("random", p["seed"], graph=p["graph"], S=p["S"], N=p["N"], A=2, gamma=p["gamma"],
                             seed=p["seed"], signed=p["signed"], mu_weight=p["mu_weight"])

    return (SearchSpace("random", {"graph": Choice(("path", "cycle", "star")), "S": Integer(2, 3), "N": Integer(2, 3),
                                   "gamma": Real(0.1, 0.95), "signed": Choice((False, True)),
                                   "mu_weight": Real(0.0, 3.0), "seed": Integer(0, SEED_MAX)}, build,
                        "random neighbour-supported kernels and mu-dependent rewards (guide §8 random_lifted)"),)


def _product(instance, nonexchangeable):
    key = ("_product", nonexchangeable)
    p = instance.payload
    if key not in p:
        model = p["model"]
        S = mf.product_states(model)
        cnt = np.stack([np.bincount(r, minlength=model.n_states) for r in S])
        p[key] = (mf.product_mdp(model, nonexchangeable=nonexchangeable), S, model.mu_index(cnt))
    return p[key]


def _pair_xi(lifted, S):
    """xi index of every joint (state, action) of the product MDP, shape (|S|^N, |A|^N)."""
    model = lifted.model
    A = mf._joint_states(model.n_actions, model.n_agents)
    out = np.zeros((len(S), len(A)), dtype=np.int64)
    for j, row in enumerate(S):
        n = np.zeros((len(A), model.n_states, model.n_actions), dtype=np.int64)
        np.add.at(n, (np.arange(len(A))[:, None], row[None, :], A), 1)
        out[j] = lifted.xi_of_counts(n)
    return out


def _policies(instance, lifted, drop_coefficient):
    """[(name, team policy over Xi, N-agent policy table)]: the multinomial execution of two pi, the correlated
    execution of an energy policy."""
    model = instance.payload["model"]
    pi = individual_policy(instance)
    out = []
    for name, p in (("multinomial pi", pi), ("multinomial uniform", mf.uniform_individual_policy(model))):
        out.append((name, lifted.multinomial_policy(p, drop_coefficient=drop_coefficient),
                    mf.product_policy_table(model, p)))
    if model.n_actions > 1:
        theta, b = energy_params(instance, M=8)
        w = lifted.energy_policy(theta, b)
        out.append(("correlated energy (14)", w, mf.correlated_policy_table(lifted, w)))
    return out


def _lift_kernel_measure(instance, rng, quick, nonexchangeable=0.0):
    lifted = lifted_of(instance)
    P, S, mu_idx = _product(instance, nonexchangeable)
    xi = _pair_xi(lifted, S)
    onehot = np.zeros((P.n_states, lifted.n_mu))  # joint next state -> its empirical distribution
    onehot[np.arange(P.n_states), mu_idx] = 1.0
    push = P.P @ onehot
    err = np.abs(push - lifted.T[xi]).max()
    yield Measurement(measured=float(err), bound=KERNEL_TOL, point={"check": "pushforward = P^N (6)"},
                      extra={"joint_states": P.n_states, "joint_actions": P.n_actions, "n_xi": lifted.n_xi})
    yield Measurement(measured=float(np.abs(lifted.T.sum(axis=1) - 1).max()), bound=KERNEL_TOL,
                      point={"check": "rows of P^N sum to 1"})


def _classes_range(values, labels):
    labels = np.asarray(labels).reshape(-1)
    n = labels.max() + 1
    hi = np.full(n, -np.inf)
    lo = np.full(n, np.inf)
    np.maximum.at(hi, labels, values.reshape(-1))
    np.minimum.at(lo, labels, values.reshape(-1))
    return float((hi - lo).max())


def _exch_measure(instance, rng, quick, nonexchangeable=0.0):
    model = instance.payload["model"]
    lifted = lifted_of(instance)
    P, S, mu_idx = _product(instance, nonexchangeable)
    xi = _pair_xi(lifted, S)
    for name, w, table in _policies(instance, lifted, False):
        ev = evaluate_policy(P, table, model.gamma)
        V = ev.global_values
        Q = ev.q(np.repeat(np.arange(P.n_states), P.n_actions), np.tile(np.arange(P.n_actions), P.n_states))
        Q = Q.reshape(P.n_states, P.n_actions)
        yield Measurement(measured=_classes_range(V, mu_idx), bound=LIFT_TOL,
                          point={"check": "V_N constant on mu-classes", "policy": name})
        yield Measurement(measured=_classes_range(Q, xi), bound=LIFT_TOL,
                          point={"check": "Q_N constant on (mu,h)-classes", "policy": name})


def _lemma31_measure(instance, rng, quick, nonexchangeable=0.0, drop_coefficient=False):
    model = instance.payload["model"]
    P, S, mu_idx = _product(instance, nonexchangeable)
    for reading in READINGS:
        lifted = lifted_of(instance, reading)
        xi = _pair_xi(lifted, S)
        for name, w, table in _policies(instance, lifted, drop_coefficient):
            ev_l = evaluate_lifted(lifted, w)
            ev = evaluate_policy(P, table, model.gamma)
            V = ev.global_values
            Q = ev.q(np.repeat(np.arange(P.n_states), P.n_actions),
                     np.tile(np.arange(P.n_actions), P.n_states)).reshape(P.n_states, P.n_actions)
            common = {"reading": reading, "policy": name}
            sizes = {"N": model.n_agents, "S": model.n_states, "lifted_states": lifted.n_mu,
                     "lifted_pairs": lifted.n_xi, "product_states": P.n_states,
                     "product_pairs": P.n_states * P.n_actions}
            yield Measurement(measured=float(np.abs(V - ev_l.V[mu_idx]).max()), bound=LIFT_TOL,
                              point={**common, "check": "(9) V^pi(s) = V~(mu(s))"},
                              extra={"V_scale": float(np.abs(V).max()), **sizes})
            yield Measurement(measured=float(np.abs(Q - ev_l.Q[xi]).max()), bound=LIFT_TOL,
                              point={**common, "check": "Q_N(s,a) = Q(mu,h)"})
            yield Measurement(measured=float(np.abs(ev_l.Q - ev_l.Q_teams.sum(axis=0)).max()), bound=LIFT_TOL,
                              point={**common, "check": "(10) Q = sum_s Q_s"})
            yield Measurement(measured=float(np.abs(ev_l.V - ev_l.V_teams.sum(axis=0)).max()), bound=LIFT_TOL,
                              point={**common, "check": "(9) V~ = sum_s V~_s"})


def _scaling_figure(rows):
    r"""Lemma 3.1 against N and |S|: the table sizes (lifted :math:`|\mathcal P^N(\mathcal S)|` and
    :math:`|\Xi|` vs the product's :math:`|\mathcal S|^N` and :math:`|\mathcal S|^N|\mathcal A|^N`) and the
    largest :math:`|V^\pi - \tilde V|` of the weighted reading, per |S| (the rows of the (9) check)."""
    sel = rows[(rows["point.check"] == "(9) V^pi(s) = V~(mu(s))") & (rows["point.reading"] == "weighted")]
    if "extra.N" not in sel or sel["extra.N"].isna().all():
        return []
    g = sel.groupby(["extra.S", "extra.N"]).agg(err=("measured", "max"), lifted=("extra.lifted_states", "max"),
                                                 product=("extra.product_states", "max"),
                                                 lpairs=("extra.lifted_pairs", "max"),
                                                 ppairs=("extra.product_pairs", "max")).reset_index()
    Ss = [S for S, d in g.groupby("extra.S") if len(d) >= 2]
    if not Ss:
        return []
    size, err = [], []
    for k, S in enumerate(Ss):
        d = g[g["extra.S"] == S].sort_values("extra.N")
        x = d["extra.N"].to_numpy(float)
        size += [Series(f"|S| = {int(S)}: lifted", d["lifted"].to_numpy(float), x=x, style=Style(color=f"C{k}")),
                 Series(f"|S| = {int(S)}: product $|S|^N$", d["product"].to_numpy(float), x=x,
                        style=Style(color=f"C{k}", linestyle="--", marker=""))]
        err.append(Series(f"|S| = {int(S)}", d["err"].to_numpy(float), x=x, mask_at_or_below=0.0))
    return [LinesFigure("Lemma 3.1 vs N and |S|: lifted (solid), product (dashed) states", size,
                        xlabel="agents N", ylabel="states", log_y=True, integer_x=True),
            LinesFigure("Lemma 3.1 vs N and |S|: max |V^pi - V~| (weighted (7))", err,
                        hlines=HLine(LIFT_TOL, "tolerance"), xlabel="agents N", ylabel="max abs error",
                        log_y=True, integer_x=True)]


@claim_factory(
    nonexchangeable=Fault(0.0, "agent 0 stays put with this extra probability: a non-exchangeable N-agent kernel "
                               "(the pushforward and the lifting fail)"),
    drop_coefficient=Fault(False, "drops the multinomial coefficient of (5) (renormalised per team): not the "
                                  "law of the types under independent actions"),
)
def make_claims(*, faults):
    """Build the three lifting claims (faults: :func:`netmarl_verify.verify.with_faults`)."""
    f = faults
    common = dict(paper=PAPER, paper_file=PAPER_FILE, search=_space(), assumptions=meter_rows,
                  instances=_instances)
    return [
        Claim(id="gu2021.lift_kernel", source="eq. (6); guide §1.4 (i)", **common,
              statement="The pushforward of the N-agent product kernel by the empirical distribution equals the "
                        "lifted kernel P^N(mu'|mu,h): the convolution of independent multinomials "
                        "Mult(n_{s,a}, P(.|s, mu(N_s), a)) on N_s.",
              latex=r"\sum_{\mathbf s':\mu(\mathbf s')=\mu'}P(\mathbf s'\mid\mathbf s,\mathbf a)="
                    r"\mathbf P^N(\mu'\mid\mu(\mathbf s),h(\mathbf s,\mathbf a)),\quad"
                    r"\mu_{t+1}=\tfrac1N\textstyle\sum_{s,a}X_{s,a},\ X_{s,a}\sim\mathrm{Mult}(n_{s,a},\mathbf P(\cdot\mid s,\mu(\mathcal N_s),a))",
              measure=lambda inst, rng, quick: _lift_kernel_measure(inst, rng, quick, f["nonexchangeable"]),
              notes=f"measured = max |pushforward - P^N| over every joint state, joint action and mu'; tolerance "
                    f"{KERNEL_TOL}."),
        Claim(id="gu2021.lift_exchangeable", source="proof of Lemma 3.1 (26); guide §1.4 (ii)", **common,
              statement="Under the exchangeable execution of a team policy (independent actions from pi, or h ~ Pi "
                        "assigned by a uniform permutation), the N-agent V_N is constant on mu-classes and Q_N on "
                        "(mu, h)-classes.",
              latex=r"V_N(\mathbf s)=V_N(\mathbf s')\ \text{if}\ \mu(\mathbf s)=\mu(\mathbf s'),\quad "
                    r"Q_N(\mathbf s,\mathbf a)=Q_N(\mathbf s',\mathbf a')\ \text{if}\ n(\mathbf s,\mathbf a)=n(\mathbf s',\mathbf a')",
              measure=lambda inst, rng, quick: _exch_measure(inst, rng, quick, f["nonexchangeable"]),
              notes=f"measured = largest range of V_N (Q_N) within a class; tolerance {LIFT_TOL}."),
        Claim(id="gu2021.lemma3_1", source="Lemma 3.1, eq. (9)-(10); App. B.1",
              **{**common, "instances": _scaling_instances}, figure=_scaling_figure,
              statement="The value of the N-agent problem (4) under an individual policy pi equals the value (8) of "
                        "the lifted team problem under the multinomial team policy (5) induced by pi, and Q and V "
                        "decompose over the teams: Q = sum_s Q_s.",
              latex=r"V^\pi(\mu)=\tilde V^\Pi(\mu)=\sum_s\tilde V^\Pi_s(\mu),\qquad Q^\Pi(\mu,h)=\sum_sQ^\Pi_s(\mu,h)",
              measure=lambda inst, rng, quick: _lemma31_measure(inst, rng, quick, f["nonexchangeable"],
                                                                f["drop_coefficient"]),
              notes=f"Both readings of the team reward (7) (point.reading; guide §3). Tolerance {LIFT_TOL}. Finding: "
                    "with (7) as printed (unweighted by mu(s)) the rows (9) V^pi = V~ are violated by O(1): the "
                    "proof uses the mu(s)-weighted team reward from (28) on; under that reading every row holds. "
                    "The correlated execution of the energy policy (14) is checked too (guide §1.4). Full runs add the "
                    "scaling sweep SCALING_GRID (path graphs, |S| = 2..5, N up to 7): the figure sets the lifted "
                    "table sizes against the product's |S|^N and the error against N."),
    ]


for _claim in make_claims():
    register(_claim)
