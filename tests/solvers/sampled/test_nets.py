"""The numpy ReLU networks of gu2021 eq. (13) and zhang2025 eq. (5) (solvers/sampled/_nets.py).

Gradients are checked against central finite differences, one coordinate at a time, all
coordinates at once through the copies axis. Tolerance derivation:

* truncation: the central difference has error :math:`\\epsilon^2 f'''/6` in general, but on a
  fixed activation pattern both networks are *affine in each single weight* (gu2021: f is linear
  in each row :math:`[W]_m`; zhang2025: :math:`\\hat Q` is linear in :math:`W^{(h)}` once the
  other layers and the pattern are fixed), so along a coordinate the truncation error is exactly
  0. The tests choose inputs with every pre-activation :math:`|z| > 10^{-3}` and assert that no
  perturbed copy changes its activation pattern, which makes this exact.
* rounding: a computed network value has error at most :math:`\\epsilon_f = L\\,\\gamma_k\\,S`
  (:math:`\\gamma_k = ku/(1-ku)`, u = 2^-53, k the longest dot product plus a few roundings, L the
  number of nested layers, S the value of the *absolute* network :math:`|b|^\\top|W|\\cdots|x|`,
  the sum of the magnitudes of all terms); the difference quotient divides two such errors by the
  step 2eps, giving :math:`\\epsilon_f/\\text{eps}`: O(ulp/eps). The step used is the exactly
  representable ``(W + eps) - W`` (Sterbenz), so the step's own rounding does not enter. The
  analytic gradient's rounding, :math:`L\\gamma_k G` with G the absolute network's gradient, is
  added.
"""

import math

import numpy as np
import pytest

from netmarl_verify.envs import ShapeError
from netmarl_verify.solvers.sampled import DeepReLU, TwoLayerReLU, average_parameters, running_average

U = 2.0 ** -53


def gamma(k):
    return k * U / (1 - k * U)


def _unit_rows(rng, n, d):
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _away_from_kinks(net, W, rng, n, margin=1e-3):
    """n unit-norm inputs whose pre-activations all have |z| > margin (rejection sampling)."""
    pool = _unit_rows(rng, 400, net.dim)
    z = net.preactivations(pool, W).reshape(400, -1)
    keep = pool[np.abs(z).min(axis=1) > margin]
    assert len(keep) >= n, "not enough inputs away from the kinks"
    return keep[:n]


def _coordinate_fd(net, W, x, eps):
    """Central differences along every coordinate; returns (fd (K, n), patterns unchanged?)."""
    K = net.n_params
    E = np.eye(K).reshape((K,) + W.shape)
    big = net.expand(K)
    Wp, Wm = W + eps * E, W - eps * E
    step = ((Wp - W) + (W - Wm)).reshape(K, -1).sum(axis=1)      # exact steps, summed over the one coordinate
    fd = (big.forward(x, Wp) - big.forward(x, Wm)) / step[:, None]
    base = np.broadcast_to(net.preactivations(x, W) > 0, (K,) + x.shape[:1] + net.preactivations(x, W).shape[1:])
    same = all(np.array_equal(big.preactivations(x, V) > 0, base) for V in (Wp, Wm))
    return fd, same


# ------------------------------------------------------------------------------ two-layer (gu2021)
def _two_layer_ref(W, b, x):
    """Obviously correct eq. (13): loops over inputs and units."""
    M = W.shape[0]
    return np.array([sum(b[m] * max(0.0, float(xi @ W[m])) for m in range(M)) / math.sqrt(M) for xi in x])


class TestTwoLayer:
    def test_forward_matches_loop_reference_for_every_copy(self):
        net = TwoLayerReLU.init(3, dim=4, width=7, copies=(2, 3))
        W = net.W0 + 0.1 * np.random.default_rng(1).standard_normal(net.W0.shape)
        x_shared = _unit_rows(np.random.default_rng(2), 5, 4)
        x_own = np.random.default_rng(3).standard_normal((2, 3, 5, 4))
        out_shared, out_own = net.forward(x_shared, W), net.forward(x_own, W)
        assert out_shared.shape == out_own.shape == (2, 3, 5)
        for i in range(2):
            for j in range(3):
                np.testing.assert_allclose(out_shared[i, j], _two_layer_ref(W[i, j], net.b[i, j], x_shared), rtol=1e-13)
                np.testing.assert_allclose(out_own[i, j], _two_layer_ref(W[i, j], net.b[i, j], x_own[i, j]), rtol=1e-13)

    def test_init_distribution_and_seeding(self):
        a = TwoLayerReLU.init(0, dim=5, width=1000, copies=4)
        b = TwoLayerReLU.init(np.random.default_rng(0), dim=5, width=1000, copies=4)
        assert np.array_equal(a.W0, b.W0) and np.array_equal(a.b, b.b)
        assert set(np.unique(a.b)) == {-1.0, 1.0}
        # [W]_m(0) ~ N(0, I/d): 20000 entries of variance 1/5; standard error of the variance 0.2*sqrt(2/20000)
        assert abs(a.W0.var() - 0.2) < 5 * 0.2 * math.sqrt(2 / a.W0.size)
        ones = TwoLayerReLU.init(0, dim=5, width=8, b="ones")
        assert ones.copies == () and np.all(ones.b == 1.0)
        assert not a.W0.flags.writeable

    @pytest.mark.parametrize("at_init", [True, False])
    def test_gradient_equals_central_differences(self, at_init):
        rng = np.random.default_rng(4)
        net = TwoLayerReLU.init(5, dim=3, width=6)
        W = net.W0 if at_init else net.W0 + 0.3 * rng.standard_normal(net.W0.shape)
        x = _away_from_kinks(net, W, rng, 5)
        eps = 1e-6
        fd, same = _coordinate_fd(net, W, x, eps)
        assert same, "a perturbation crossed a ReLU kink"
        g = net.features(x, W).reshape(len(x), -1).T                      # (K, n)
        absnet = TwoLayerReLU(np.abs(W), np.abs(net.b))
        S = absnet.forward(np.abs(x), np.abs(W)).max()
        k = net.dim + net.width + 3
        tol = 2 * gamma(k) * S / eps + 2 * gamma(k) * np.abs(g).max()
        err = np.abs(fd - g).max()
        assert err <= tol, (err, tol)

    def test_backward_is_the_vjp_of_features_and_f_is_phi_dot_W(self):
        rng = np.random.default_rng(6)
        net = TwoLayerReLU.init(7, dim=4, width=9, copies=3)
        W = net.W0 + 0.2 * rng.standard_normal(net.W0.shape)
        x = rng.standard_normal((3, 6, 4))
        g = rng.standard_normal((3, 6))
        phi = net.features(x, W)
        np.testing.assert_allclose(net.backward(x, g, W), np.einsum("cn,cnmd->cmd", g, phi), rtol=1e-12, atol=1e-14)
        # ReLU is 1-homogeneous: f(x; W) = <phi_W(x), W> (gu2021 after eq. (15))
        np.testing.assert_allclose(np.einsum("cnmd,cmd->cn", phi, W), net.forward(x, W), rtol=1e-12, atol=1e-14)

    def test_projection_is_the_clip_and_the_euclidean_projection(self):
        rng = np.random.default_rng(8)
        net = TwoLayerReLU.init(9, dim=3, width=16, copies=4)
        R = np.array([0.5, 1.0, 2.0, 0.0])
        Y = net.W0 + rng.standard_normal(net.W0.shape)
        P = net.project(Y, R)
        half = (R / 4.0)[:, None, None]                                   # R / sqrt(M), M = 16
        ulp = 4 * U * np.abs(net.W0).max()                                 # rounding of W0 +- half
        assert np.all(np.abs(P - net.W0) <= half + ulp) and np.allclose(net.distance(P), np.minimum(net.distance(Y), R))
        assert np.array_equal(net.project(P, R), P)                        # idempotent
        inside = net.W0 + half * rng.uniform(-1, 1, net.W0.shape)
        assert np.array_equal(net.project(inside, R), inside)
        # variational inequality <Y - P, Z - P> <= 0 and distance minimality, against random Z in the box
        Z = net.W0[None] + half[None] * rng.uniform(-1, 1, (500,) + net.W0.shape)
        Z[:100] = np.clip(P[None] + 1e-3 * rng.standard_normal((100,) + P.shape), net.W0 - half, net.W0 + half)
        vi = np.einsum("cmd,kcmd->kc", Y - P, Z - P)
        assert vi.max() <= 1e-12
        dist_P = np.sqrt(((Y - P) ** 2).sum(axis=(1, 2)))
        dist_Z = np.sqrt(((Y[None] - Z) ** 2).sum(axis=(2, 3)))
        assert np.all(dist_P[None] <= dist_Z * (1 + 1e-15))

    def test_output_scale_at_init(self):
        """E f^2 = |x|^2 / (2d) for Rademacher b (any M); E f = sqrt(M)|x| / sqrt(2 pi d) for b = 1."""
        x = _unit_rows(np.random.default_rng(1), 1, 4)
        f = TwoLayerReLU.init(0, dim=4, width=64, copies=20000).forward(x)[:, 0]
        se = (f ** 2).std() / math.sqrt(f.size)
        assert abs((f ** 2).mean() - 1 / 8) < 5 * se
        f1 = TwoLayerReLU.init(0, dim=4, width=64, copies=20000, b="ones").forward(x)[:, 0]
        assert abs(f1.mean() - 8 / math.sqrt(8 * math.pi)) < 5 * f1.std() / math.sqrt(f1.size)

    def test_errors_name_the_argument(self):
        net = TwoLayerReLU.init(0, dim=3, width=4, copies=2)
        with pytest.raises(ShapeError, match="inputs `x` must have shape"):
            net.forward(np.zeros((5, 2)))
        with pytest.raises(ShapeError, match="`W` must have shape"):
            net.forward(np.zeros((5, 3)), np.zeros((4, 3)))
        with pytest.raises(ShapeError, match="`grad_out`"):
            net.backward(np.zeros((5, 3)), np.zeros(4))
        with pytest.raises(ValueError, match="`b` must be"):
            TwoLayerReLU.init(0, dim=3, width=4, b="gauss")
        with pytest.raises(ValueError, match="radius"):
            net.project(net.W0, -1.0)


# ------------------------------------------------------------------------------ deep (zhang2025)
def _deep_ref(H, W, b, x):
    """Obviously correct eq. (5) for one network and one input."""
    m = H.shape[0]
    h = H @ x
    for Wh in W:
        h = np.maximum(Wh @ h, 0.0) / math.sqrt(m)
    return float(b @ h)


class TestDeep:
    def test_forward_matches_reference_for_every_copy(self):
        net = DeepReLU.init(1, dim=4, width=5, depth=3, copies=(2, 2))
        W = net.W0 + 0.1 * np.random.default_rng(2).standard_normal(net.W0.shape)
        x = _unit_rows(np.random.default_rng(3), 6, 4)
        out = net.forward(x, W)
        assert out.shape == (2, 2, 6)
        for i in range(2):
            for j in range(2):
                ref = [_deep_ref(net.H[i, j], W[i, j], net.b[i, j], xi) for xi in x]
                np.testing.assert_allclose(out[i, j], ref, rtol=1e-12)

    def test_init_is_the_papers(self):
        net = DeepReLU.init(0, dim=6, width=30, depth=4, copies=20)
        for arr, var in ((net.H, 2.0), (net.W0, 2.0), (net.b, 1.0)):   # N(0, 2), N(0, 2), N(0, 1)
            assert abs(arr.var() - var) < 5 * var * math.sqrt(2 / arr.size)
        assert net.W0.shape == (20, 4, 30, 30) and net.n_params == 4 * 30 * 30

    @pytest.mark.parametrize("at_init", [True, False])
    def test_gradient_equals_central_differences(self, at_init):
        rng = np.random.default_rng(11)
        net = DeepReLU.init(12, dim=4, width=5, depth=3)
        W = net.W0 if at_init else net.W0 + 0.5 * rng.standard_normal(net.W0.shape)
        x = _away_from_kinks(net, W, rng, 4)
        eps = 1e-6
        fd, same = _coordinate_fd(net, W, x, eps)
        assert same, "a perturbation crossed a ReLU kink"
        g = net.features(x, W).reshape(len(x), -1).T                       # (K, n)
        absnet = DeepReLU(np.abs(net.H), np.abs(W), np.abs(net.b))
        S = absnet.forward(np.abs(x)).max()
        G = np.abs(absnet.features(np.abs(x))).max()
        L, k = net.depth + 2, max(net.dim, net.width) + 3
        tol = 2 * L * gamma(k) * S / eps + 2 * L * gamma(k) * G
        err = np.abs(fd - g).max()
        assert err <= tol, (err, tol)

    def test_backward_vjp_batched_and_euler_identity(self):
        rng = np.random.default_rng(13)
        net = DeepReLU.init(14, dim=3, width=6, depth=4, copies=(2, 3))
        W = net.W0 + 0.3 * rng.standard_normal(net.W0.shape)
        x = _unit_rows(rng, 5, 3)
        g = rng.standard_normal((2, 3, 5))
        phi = net.features(x, W)                                           # (2, 3, 5, D, m, m)
        np.testing.assert_allclose(net.backward(x, g, W), np.einsum("abn,abnhij->abhij", g, phi), rtol=1e-11, atol=1e-12)
        # Q is positively 1-homogeneous in each layer W^(h): <dQ/dW^(h), W^(h)> = Q for every h
        q = net.forward(x, W)
        euler = np.einsum("abnhij,abhij->abnh", phi, W)
        np.testing.assert_allclose(euler, np.broadcast_to(q[..., None], euler.shape), rtol=1e-11, atol=1e-11)
        # each copy's gradient is its own network's: compare with single-copy objects
        for i, j in [(0, 0), (1, 2)]:
            one = DeepReLU(net.H[i, j], net.W0[i, j], net.b[i, j])
            np.testing.assert_allclose(one.backward(x, g[i, j], W[i, j]), net.backward(x, g, W)[i, j], rtol=1e-12)

    def test_projection_is_per_layer_radial_and_euclidean(self):
        rng = np.random.default_rng(15)
        net = DeepReLU.init(16, dim=3, width=4, depth=3, copies=3)
        Bs = np.array([0.5, 2.0, 0.0])
        Y = net.W0 + rng.standard_normal(net.W0.shape)
        Y[1, 0] = net.W0[1, 0] + 0.1 * rng.standard_normal((4, 4))         # one layer already inside
        P = net.project(Y, Bs)
        dY, dP = net.layer_distances(Y), net.layer_distances(P)
        np.testing.assert_allclose(dP, np.minimum(dY, Bs[:, None]), rtol=1e-14, atol=1e-15)
        assert np.array_equal(P[1, 0], Y[1, 0])
        np.testing.assert_allclose(net.project(P, Bs), P, rtol=0, atol=1e-15)   # idempotent
        # KKT: Y_h - P_h = lambda (P_h - W0_h), lambda >= 0 (the normal cone of a ball)
        out = dY > Bs[:, None]
        for c, h in zip(*np.nonzero(out)):
            if Bs[c] > 0:
                lam = (dY[c, h] - Bs[c]) / Bs[c]
                np.testing.assert_allclose(Y[c, h] - P[c, h], lam * (P[c, h] - net.W0[c, h]), atol=1e-13)
        # variational inequality and distance minimality against random points of the product of balls
        D = rng.standard_normal((400,) + net.W0.shape)
        D *= (Bs[None, :, None, None, None] * rng.uniform(0, 1, (400, 3, 3, 1, 1)) /
              np.sqrt((D ** 2).sum(axis=(-2, -1), keepdims=True)))
        Z = net.W0[None] + D
        assert np.all(net.layer_distances(Z[0]) <= Bs[:, None] + 1e-15)
        vi = np.einsum("chij,kchij->kc", Y - P, Z - P)
        assert vi.max() <= 1e-12
        dist_P = np.sqrt(((Y - P) ** 2).sum(axis=(1, 2, 3)))
        dist_Z = np.sqrt(((Y[None] - Z) ** 2).sum(axis=(2, 3, 4)))
        assert np.all(dist_P[None] <= dist_Z * (1 + 1e-15))

    def test_output_scale_at_init_is_sqrt_2m(self):
        """Literal eq. (5): E Q^2 = 2 m |x|^2 over the init (each hidden layer preserves E|x^(h)|^2)."""
        x = _unit_rows(np.random.default_rng(1), 1, 6)
        q = DeepReLU.init(0, dim=6, width=20, depth=5, copies=4000).forward(x)[:, 0]
        se = (q ** 2).std() / math.sqrt(q.size)
        assert abs((q ** 2).mean() - 40.0) < 5 * se, ((q ** 2).mean(), se)     # measured 42.3 +- 2.1
        assert abs(q.mean()) < 5 * q.std() / math.sqrt(q.size)


# ------------------------------------------------------------------------------ flattening, averaging
def test_flatten_roundtrip_and_order():
    net = DeepReLU.init(0, dim=2, width=3, depth=2, copies=(2, 4))
    W = np.random.default_rng(0).standard_normal(net.W0.shape)
    v = net.flatten(W)
    assert v.shape == (2, 4, 18) and np.array_equal(net.unflatten(v), W)
    assert np.array_equal(v[1, 2, 9:], W[1, 2, 1].ravel())                 # layer 2 follows layer 1, C order
    two = TwoLayerReLU.init(0, dim=3, width=2)
    assert np.array_equal(two.flatten(two.W0), np.concatenate([two.W0[0], two.W0[1]]))  # ([W]_1, [W]_2)


def test_average_across_agents_and_expand():
    base = DeepReLU.init(0, dim=2, width=3, depth=2, copies=2)
    net = base.expand(5, axis=1)                                           # 2 runs x 5 agents, common init
    assert net.copies == (2, 5) and np.array_equal(net.H[:, 3], base.H)
    W = net.W0 + np.random.default_rng(1).standard_normal(net.W0.shape)
    np.testing.assert_allclose(net.average(W, axis=1), W.mean(axis=1), rtol=1e-15)
    w = np.array([1.0, 0.0, 0.0, 3.0, 0.0])
    np.testing.assert_allclose(net.average(W, w, axis=1), (W[:, 0] + 3 * W[:, 3]) / 4, rtol=1e-14)
    with pytest.raises(ValueError, match="different `H`"):
        net.average(W, axis=0)                                             # the two runs differ
    np.testing.assert_allclose(net.average(W, axis=0, check_common=False), W.mean(axis=0))
    with pytest.raises(ValueError, match="non-negative"):
        average_parameters(W, -w, axis=1)


def test_running_average_is_the_mean_of_the_iterates():
    """gu2021 eq. (22): after t = 0..T-2 it is the mean of W(0..T-1)."""
    iterates = np.random.default_rng(0).standard_normal((7, 3, 2))
    avg = iterates[0]
    for t in range(6):
        avg = running_average(avg, iterates[t + 1], t)
    np.testing.assert_allclose(avg, iterates.mean(axis=0), rtol=1e-14)
