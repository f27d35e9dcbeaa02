"""The wireless access-point network (qu2020 App. E): semantics, exact model, simulators, ALOHA.

Statistical checks use a fixed seed and 5-sigma tolerances derived from the binomial (one-step
frequencies) or from the spread of independent copies (time averages): a false alarm has
probability ~6e-7 per comparison, and with the seed fixed the tests are deterministic.
"""

import itertools

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from netmarl_verify.envs import (
    LocalPolicySampler,
    LocalSoftmaxPolicy,
    LocalTabularPolicy,
    MemoryBudgetError,
    ShapeError,
    WirelessNetwork,
    simulate,
    tune_aloha,
)
from netmarl_verify.verify._bench import simulator_throughput  # moved from envs (issue 15)


def _five_sigma(p, B):
    return 5.0 * np.sqrt(p * (1.0 - p) / B)


# ---------------------------------------------------------------------------- brute-force reference
def _reference_laws(net, states, actions):
    """Success probability and next-state law of every user, straight from the App. E text.

    Works on bit tuples (e_1, ..., e_d) and lists, independently of the integer tricks of the
    module. Returns ``sigma[i]`` and ``law[i]`` (dict next-state index -> probability).
    """
    n, d = net.n, net.d
    bits = [[(int(states[i]) >> m) & 1 for m in range(d)] for i in range(n)]  # bits[i][m-1] = e_m
    sends = [any(bits[i]) and actions[i] != 0 for i in range(n)]
    ap = [net.access_points(i)[actions[i] - 1] if sends[i] else None for i in range(n)]
    sigma, law = [], []
    for i in range(n):
        alone = sends[i] and all(not (sends[j] and ap[j] == ap[i]) for j in range(n) if j != i)
        sig = net.q[ap[i]] if alone else 0.0
        sigma.append(sig)
        out = {}
        for succ, p_succ in ((False, 1.0 - sig), (True, sig)):
            if p_succ == 0.0:
                continue
            queue = list(bits[i])
            if succ:
                queue[queue.index(1)] = 0  # earliest deadline leaves
            aged = queue[1:] + [0]  # deadline m -> m - 1; m = 1 is dropped
            for arrive, p_arr in ((0, 1.0 - net.p[i]), (1, net.p[i])):
                new = aged[:-1] + [arrive]  # new packet has deadline d
                idx = sum(b << m for m, b in enumerate(new))
                out[idx] = out.get(idx, 0.0) + p_succ * p_arr
        law.append(out)
    return sigma, law


def _king_graph(H, W):
    g = nx.Graph()
    g.add_nodes_from(range(H * W))
    for r, c, r2, c2 in itertools.product(range(H), range(W), range(H), range(W)):
        if (r, c) < (r2, c2) and abs(r - r2) <= 1 and abs(c - c2) <= 1:
            g.add_edge(r * W + c, r2 * W + c2)
    return g


# ---------------------------------------------------------------------------- geometry and parameters
@pytest.mark.parametrize("H, W", [(1, 2), (2, 3), (5, 5)])
def test_geometry_and_conflict_graph(H, W):
    net = WirelessNetwork(H, W)
    assert (net.n, net.n_ap) == (H * W, (H + 1) * (W + 1))
    assert nx.utils.graphs_equal(net.graph, _king_graph(H, W))
    for r, c in itertools.product(range(H), range(W)):
        corners = [(r, c), (r, c + 1), (r + 1, c), (r + 1, c + 1)]
        assert net.access_points(r * W + c) == tuple(rr * (W + 1) + cc for rr, cc in corners)
    # m_k: 1 at the grid's corners, 2 on its edges, 4 inside (for H, W >= 2)
    m = net.ap_users.reshape(H + 1, W + 1)
    assert m[0, 0] == m[0, W] == m[H, 0] == m[H, W] == 1
    if H >= 2 and W >= 2:
        assert np.all(m[1:H, 1:W] == 4) and np.all(m[0, 1:W] == 2) and np.all(m[1:H, 0] == 2)
    assert net.ap_users.sum() == 4 * net.n
    assert net.state_sizes == (4,) * net.n and net.action_sizes == (5,) * net.n


def test_parameters_drawn_from_recorded_seed_and_overridable():
    net = WirelessNetwork(2, 3, seed=17)
    rng = np.random.default_rng(17)
    assert_array_equal(net.p, rng.uniform(0, 1, 6))
    assert_array_equal(net.q, rng.uniform(0, 1, 12))
    assert net.seed == 17
    over = WirelessNetwork(2, 3, seed=17, p=0.25)
    assert_array_equal(over.p, np.full(6, 0.25))
    assert_array_equal(over.q, net.q)
    with pytest.raises(ValueError, match=r"`q\[3\]` = 1.5 is not a probability"):
        WirelessNetwork(1, 2, q=[0, 0, 0, 1.5, 0, 0])
    with pytest.raises(ShapeError, match=r"`p` must have shape \(2,\)"):
        WirelessNetwork(1, 2, p=[0.1, 0.2, 0.3])


def test_state_encoding_e1_is_least_significant():
    net = WirelessNetwork(1, 1, d=3)
    assert net.encode([1, 0, 0]) == 1 and net.encode([0, 0, 1]) == 4
    all_states = np.arange(8)
    assert_array_equal(net.encode(net.decode(all_states)), all_states)
    with pytest.raises(ValueError, match="0/1 tuples"):
        net.encode([2, 0, 0])


# ---------------------------------------------------------------------------- semantics by hand
# 1 x 2 strip: APs 0 1 2 / 3 4 5; user 0 has (0, 1, 3, 4), user 1 has (1, 2, 4, 5); they share 1 and 4.
def _strip(p=0.0, q=1.0):
    return WirelessNetwork(1, 2, p=p, q=q)


def _step(net, s, a, u_success=0.0, u_arrival=0.999):
    u = np.stack([np.full((1, net.n), u_success), np.full((1, net.n), u_arrival)])
    nxt, success = net.transition(np.array([s]), np.array([a]), u)
    return nxt[0].tolist(), success[0].tolist()


@pytest.mark.parametrize("a", [(2, 1), (4, 3)])  # both on AP 1 (TR / TL), both on AP 4 (BR / BL)
def test_collision_sends_neither(a):
    net = _strip()
    # each holds packets with deadlines 1 and 2 (s = 3): nothing sent, deadline 1 dropped, 2 -> 1
    assert _step(net, [3, 3], a) == ([1, 1], [False, False])
    nxt, rew = net.step([[3, 3]] * 50, [a] * 50, np.random.default_rng(0))
    assert_array_equal(rew, 0.0) and np.all(nxt == 1)


def test_different_access_points_succeed_with_probability_q():
    net = WirelessNetwork(1, 2, p=0.0, q=[0.0, 0.3, 0.0, 0.0, 0.0, 0.8])
    # user 0 -> AP 1 (q = 0.3), user 1 -> AP 5 (q = 0.8): success iff coin < q
    assert _step(net, [2, 2], [2, 4], u_success=0.29) == ([0, 0], [True, True])
    assert _step(net, [2, 2], [2, 4], u_success=0.5) == ([1, 0], [False, True])
    assert _step(net, [2, 2], [2, 4], u_success=0.9) == ([1, 1], [False, False])
    B = 20_000
    _, rew = net.step(np.full((B, 2), 2), np.tile([2, 4], (B, 1)), np.random.default_rng(1))
    assert np.all(np.abs(rew.mean(axis=0) - [0.3, 0.8]) <= _five_sigma(np.array([0.3, 0.8]), B))


def test_empty_queue_is_null_and_occupies_no_access_point():
    net = _strip()
    # user 0 has nothing to send; its action "AP 1" must not block user 1 on AP 1
    assert _step(net, [0, 1], [2, 1]) == ([0, 0], [False, True])
    # a null action never sends
    assert _step(net, [1, 1], [0, 1]) == ([0, 0], [False, True])


def test_earliest_deadline_packet_is_sent_and_later_one_ages():
    net = _strip()
    # s = 3: packets with deadlines 1 and 2; the deadline-1 packet is sent, the other ages to 1
    assert _step(net, [3, 0], [1, 0]) == ([1, 0], [True, False])
    # s = 2 (only deadline 2): sent, queue empty
    assert _step(net, [2, 0], [1, 0]) == ([0, 0], [True, False])


def test_deadline_expiry():
    net = WirelessNetwork(1, 1, d=3, p=0.0, q=1.0)
    seq = []
    s = net.encode([0, 0, 1])  # one packet with deadline 3, never sent
    for _ in range(4):
        seq.append(int(s))
        s = _step(net, [s], [0])[0][0]
    assert seq == [4, 2, 1, 0]  # deadline 3 -> 2 -> 1 -> dropped


def test_arrivals_have_deadline_d():
    net = WirelessNetwork(1, 1, d=3, p=1.0, q=1.0)
    assert _step(net, [0], [0], u_arrival=0.5) == ([4], [False])
    assert _step(net, [4], [0], u_arrival=0.5) == ([6], [False])
    assert _step(net, [7], [1], u_arrival=0.5) == ([7], [True])  # send e_1, age, arrive
    half = WirelessNetwork(1, 1, d=2, p=0.4, q=1.0)
    assert _step(half, [0], [0], u_arrival=0.39)[0] == [2]
    assert _step(half, [0], [0], u_arrival=0.41)[0] == [0]


def test_three_or_more_senders_on_one_ap_all_fail():
    net = WirelessNetwork(2, 2, p=0.0, q=1.0)
    centre = 4  # corner (1, 1), shared by all four users
    acts = [1 + net.access_points(i).index(centre) for i in range(4)]
    assert acts == [4, 3, 2, 1]
    assert _step(net, [1, 1, 1, 0], acts)[1] == [False, False, False, False]
    assert _step(net, [1, 0, 0, 0], acts)[1] == [True, False, False, False]


def test_step_validates_inputs():
    net = _strip()
    rng = np.random.default_rng(0)
    # one validator for every env (envs._validation.check_local_indices, issue 15): it names the agent
    with pytest.raises(ValueError, match=r"`states`\[0, 1\] = 4 is out of range for agent 1 \(valid 0..3\)"):
        net.step([[0, 4]], [[0, 0]], rng)
    with pytest.raises(ValueError, match=r"`actions`\[0, 0\] = 5 is out of range for agent 0 \(valid 0..4\)"):
        net.step([[0, 0]], [[5, 0]], rng)
    with pytest.raises(ShapeError, match=r"`states` must have shape \(m, n=2\)"):
        net.step([[0, 0, 0]], [[0, 0, 0]], rng)


# ---------------------------------------------------------------------------- exact model
def test_exact_model_matches_reference_on_every_pair_1x3():
    net = WirelessNetwork(1, 3, seed=5)
    mdp = net.to_networked_mdp()
    assert mdp.transition_form == "neighbourhood" and mdp.reward_form == "neighbourhood"
    assert mdp.neighbourhoods == ((0, 1), (0, 1, 2), (1, 2))
    for s in itertools.product(range(4), repeat=3):
        for a in itertools.product(range(5), repeat=3):
            sigma, law = _reference_laws(net, s, a)
            for i, Ni in enumerate(mdp.neighbourhoods):
                idx = tuple(s[j] for j in Ni) + tuple(a[j] for j in Ni)
                row = np.zeros(4)
                for k, v in law[i].items():
                    row[k] += v
                assert_allclose(mdp.transitions[i][idx], row, atol=1e-15)
                assert mdp.rewards[i][idx] == sigma[i]


def test_exact_model_matches_reference_on_random_pairs_2x2():
    net = WirelessNetwork(2, 2, seed=6)
    mdp = net.to_networked_mdp()
    rng = np.random.default_rng(0)
    for _ in range(300):
        s, a = rng.integers(0, 4, 4), rng.integers(0, 5, 4)
        sigma, law = _reference_laws(net, s, a)
        for i in range(4):  # N_i = all four users
            row = np.zeros(4)
            for k, v in law[i].items():
                row[k] += v
            assert_allclose(mdp.transitions[i][tuple(s) + tuple(a)], row, atol=1e-15)
            assert mdp.rewards[i][tuple(s) + tuple(a)] == sigma[i]


def test_exact_model_refusal_names_the_grid_and_kernel_size():
    with pytest.raises(MemoryBudgetError, match=r"5 x 5 grid \(25 users.*4\^9 \* 5\^9 \* 4 = 2\.05e\+12 entries"):
        WirelessNetwork().to_networked_mdp()
    # 2 x 3: the middle users' kernels have 4^6 * 5^6 * 4 = 2.56e8 entries (1.9 GiB each)
    with pytest.raises(MemoryBudgetError, match=r"2 x 3 grid.*4\^6 \* 5\^6 \* 4 = 2\.56e\+08 entries"):
        WirelessNetwork(2, 3).to_networked_mdp(max_bytes=2**30)
    assert WirelessNetwork(2, 3).exact_model_bytes() > 10 * 2**30


def test_strips_up_to_seven_compile():
    mdp = WirelessNetwork(1, 7).to_networked_mdp()
    assert max(len(N) for N in mdp.neighbourhoods) == 3
    assert mdp.n_states == 4**7


def _contract(mdp, zeta, i, arr):
    """sum_{a_{N_i}} prod_j zeta_j(a_j | s_j) arr[s_{N_i}, a_{N_i}, ...] by explicit einsum."""
    Ni = mdp.neighbourhoods[i]
    m = len(Ni)
    letters = "abcdefghij"
    S_ax, A_ax = letters[:m], letters[m : 2 * m].upper()
    ops = [arr] + [zeta[j] for j in Ni]
    spec = S_ax + A_ax + "z," + ",".join(S_ax[p] + A_ax[p] for p in range(m)) + "->" + S_ax + "z"
    return np.einsum(spec, *ops)


# ---------------------------------------------------------------------------- simulator vs exact kernel
def _configurations(rng, n, k=6):
    fixed = [(np.full(n, 3), np.ones(n, dtype=int)), (np.full(n, 1), np.full(n, 4))]
    rand = [(rng.integers(0, 4, n), rng.integers(0, 5, n)) for _ in range(k)]
    return fixed + rand


def _kernel_mismatches(net, mdp, B=20_000, seed=2024):
    """Number of 5-sigma violations between ``net.step`` frequencies and the exact kernel rows."""
    rng = np.random.default_rng(seed)
    bad = 0
    for s, a in _configurations(np.random.default_rng(3), net.n):
        nxt, rew = net.step(np.tile(s, (B, 1)), np.tile(a, (B, 1)), rng)
        for i, Ni in enumerate(mdp.neighbourhoods):
            idx = tuple(s[j] for j in Ni) + tuple(a[j] for j in Ni)
            p = mdp.transitions[i][idx]
            freq = np.bincount(nxt[:, i], minlength=4) / B
            bad += int(np.sum(np.abs(freq - p) > _five_sigma(p, B)))
            r = mdp.rewards[i][idx]
            bad += int(abs(rew[:, i].mean() - r) > _five_sigma(r, B))
        if net.n == 3:  # the users' next states are independent given (s, a): joint law = product
            joint = np.bincount(nxt @ [16, 4, 1], minlength=64) / B
            rows = [mdp.transitions[i][tuple(s[j] for j in N) + tuple(a[j] for j in N)]
                    for i, N in enumerate(mdp.neighbourhoods)]
            prod = np.einsum("a,b,c->abc", *rows).ravel()
            bad += int(np.sum(np.abs(joint - prod) > _five_sigma(prod, B)))
    return bad


@pytest.mark.parametrize("H, W", [(1, 3), (2, 2)])
def test_batch_simulator_matches_exact_kernel(H, W):
    net = WirelessNetwork(H, W, seed=11)
    assert _kernel_mismatches(net, net.to_networked_mdp()) == 0


def test_kernel_comparison_detects_a_wrong_simulator():
    """The check can fail: success probabilities off by 0.05 in the simulator only are caught."""
    net = WirelessNetwork(2, 2, seed=11)
    mdp = net.to_networked_mdp()
    net._q_ext = np.append(np.clip(net.q + 0.05, 0, 1), 0.0)
    assert _kernel_mismatches(net, mdp) > 0


def test_batch_simulator_matches_networked_mdp_step_one_step():
    net = WirelessNetwork(2, 2, seed=12)
    mdp = net.to_networked_mdp()
    B = 20_000
    rng = np.random.default_rng(77)
    for s, a in _configurations(np.random.default_rng(4), 4, k=4):
        S, A = np.tile(s, (B, 1)), np.tile(a, (B, 1))
        n1, r1 = net.step(S, A, rng)
        n2, r2 = mdp.step(S, A, rng)
        for i in range(4):
            p = mdp.transitions[i][tuple(s) + tuple(a)]
            f1, f2 = (np.bincount(x[:, i], minlength=4) / B for x in (n1, n2))
            # two independent samples of the same law: difference has variance 2 p (1 - p) / B
            assert np.all(np.abs(f1 - f2) <= np.sqrt(2) * _five_sigma(p, B))
        assert_allclose(r2[0], [mdp.rewards[i][tuple(s) + tuple(a)] for i in range(4)])


def test_rollouts_agree_with_each_other_and_with_the_exact_average_reward():
    """Wireless simulator, NetworkedMDP.step and the exact J of the exact model (2 x 2, ALOHA).

    Copies start from the exact stationary law, so the time averages are unbiased; their
    standard error comes from the spread of the independent copies.
    """
    net = WirelessNetwork(2, 2, seed=13)
    pol = net.aloha_policy(0.6)
    from netmarl_verify.solvers.exact import evaluate_policy

    ev = evaluate_policy(net.to_networked_mdp(), pol)
    d, J = ev.stationary, ev.J
    rng = np.random.default_rng(99)
    B, T = 2000, 40
    init = np.stack(np.unravel_index(rng.choice(256, size=B, p=d), (4,) * 4), axis=1)
    fast = simulate(net, pol, T, rng, initial_states=init)
    slow = simulate(net.to_networked_mdp(), pol, T, rng, initial_states=init)
    for roll in (fast, slow):
        assert roll.average_reward.shape == (B,) and roll.local_rewards.shape == (B, 4)
        assert abs(roll.mean - J) <= 5 * roll.std_error, (roll.mean, J, roll.std_error)
    assert abs(fast.mean - slow.mean) <= 5 * np.hypot(fast.std_error, slow.std_error)
    # final states are again stationary: per-user marginals within 5 binomial sigmas
    marg = [np.bincount(np.unravel_index(np.arange(256), (4,) * 4)[i], weights=d, minlength=4) for i in range(4)]
    for roll in (fast, slow):
        for i in range(4):
            f = np.bincount(roll.final_states[:, i], minlength=4) / B
            assert np.all(np.abs(f - marg[i]) <= _five_sigma(marg[i], B))


def test_simulate_records_states_and_burn_in():
    net = WirelessNetwork(1, 2, seed=0)
    roll = simulate(net, net.uniform_policy(), 5, np.random.default_rng(0), batch=3, burn_in=2, record_states=True)
    assert roll.states.shape == (6, 3, 2) and (roll.steps, roll.burn_in) == (5, 2)
    assert_array_equal(roll.states[-1], roll.final_states)
    with pytest.raises(ValueError, match="pass `batch` or `initial_states`"):
        simulate(net, net.uniform_policy(), 5, np.random.default_rng(0))
    with pytest.raises(ShapeError, match="needs"):
        simulate(net, LocalTabularPolicy([np.ones((4, 1))] * 2), 5, np.random.default_rng(0), batch=2)


# ---------------------------------------------------------------------------- policies
def test_policy_sampler_frequencies_and_zero_mass():
    probs = [np.array([[0.0, 0.5, 0.5, 0.0], [0.2, 0.3, 0.0, 0.5]]), np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])]
    sampler = LocalPolicySampler(probs)
    B = 50_000
    for s in ([0, 0], [1, 1], [1, 0]):
        a = sampler.sample(np.tile(s, (B, 1)), np.random.default_rng(s[0] + 2 * s[1]))
        for i in range(2):
            p = probs[i][s[i]]
            f = np.bincount(a[:, i], minlength=4) / B
            assert np.all(f[p == 0] == 0)
            assert np.all(np.abs(f - p) <= _five_sigma(p, B))
    # boundary uniforms: u = 0 and u just below 1 never pick a zero-mass action
    a = sampler.sample_from_uniforms(np.zeros((2, 2), dtype=int), np.array([[0.0, 0.0], [1 - 1e-16, 1 - 1e-16]]))
    assert_array_equal(a, [[1, 0], [2, 0]])


def test_aloha_policy_rows():
    net = WirelessNetwork(2, 2, seed=3)
    pol = net.aloha_policy(0.3)
    probs = pol.probabilities()
    for i, t in enumerate(probs):
        assert t.shape == (4, 5)
        assert_allclose(t.sum(axis=1), 1.0, atol=1e-15)
        assert_array_equal(t[0], [1, 0, 0, 0, 0])  # empty queue: null
        aps = net.access_points(i)
        w = net.q[list(aps)] / net.ap_users[list(aps)]
        for s in (1, 2, 3):
            assert t[s, 0] == pytest.approx(0.7)
            assert_allclose(t[s, 1:], 0.3 * w / w.sum(), rtol=1e-14)
    # user 0 of the 2 x 2 grid: corner AP shared by 1 user, edge APs by 2, the centre by 4
    assert_array_equal(net.ap_users[list(net.access_points(0))], [1, 2, 2, 4])
    assert_array_equal(net.aloha_policy(0.0).probabilities()[0][:, 0], 1.0)


def test_tune_aloha_returns_a_grid_value_and_table():
    net = WirelessNetwork(2, 2, seed=1)
    grid = [0.0, 0.3, 0.6, 1.0]
    res = tune_aloha(net, grid, np.random.default_rng(5), batch=64, steps=60, burn_in=10)
    assert res.best_p in grid
    assert list(res.table["p_send"]) == grid
    assert res.table["average_reward"].iloc[0] == 0.0  # never sending earns nothing
    assert res.best_reward == res.table["average_reward"].max()
    again = net.tune_aloha(grid, np.random.default_rng(5), batch=64, steps=60, burn_in=10)
    assert again.best_p == res.best_p and again.seed == res.seed


def test_simulator_throughput_runs():
    rate = simulator_throughput(WirelessNetwork(), batch=64, steps=3, rng=0, warmup=1)
    assert rate > 0


def test_collisions_correlate_next_states_under_a_stochastic_policy(collision_case):
    """Regression: a product of policy-averaged per-user kernels is not the exact chain.

    1 x 2 strip, p = 0.7, q = 1, each user sends to a shared AP half the time and to a private
    AP otherwise.
    Collisions make the two users fail together, so their next states are correlated given
    the current state. The exact J (joint contraction over actions) matches a long simulation;
    the product-of-marginals chain (what an earlier ``induced_chain`` built) does not.
    """
    from netmarl_verify.envs import LocalTabularPolicy, NetworkedMDP
    from netmarl_verify.solvers.exact import average_reward

    net, probs, pol = collision_case
    mdp = net.to_networked_mdp()
    J = average_reward(mdp, pol)
    # the product chain: average each user's kernel over a_{N_i} independently, then multiply
    P_prod, R_prod = [], []
    for i in range(2):
        Ni = mdp.neighbourhoods[i]
        T, R = mdp.transitions[i], mdp.rewards[i]
        m = len(Ni)
        for pos in reversed(range(m)):
            j = Ni[pos]
            shape = [1] * T.ndim
            shape[pos], shape[m + pos] = probs[j].shape
            T = (T * probs[j].reshape(shape)).sum(axis=m + pos, keepdims=True)
            R = (R * probs[j].reshape(shape[:-1])).sum(axis=m + pos, keepdims=True)
        P_prod.append(T.reshape(T.shape[:m] + (1, T.shape[-1])))
        R_prod.append(R.reshape(R.shape[:m] + (1,) * m))
    prod = NetworkedMDP(mdp.graph, P_prod, R_prod, transition_form="local", reward_form="neighbourhood")
    J_prod = average_reward(prod, LocalTabularPolicy([np.ones((4, 1))] * 2))
    roll = simulate(net, pol, 4000, np.random.default_rng(5), batch=2000, burn_in=100)
    assert abs(roll.mean - J) <= 5 * roll.std_error, (roll.mean, J, roll.std_error)
    assert abs(J_prod - J) > 20 * roll.std_error, (J_prod, J, roll.std_error)
