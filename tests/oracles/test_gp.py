"""Gaussian process, log expected improvement and GPSuggester against independent truth."""

import math

import keras_tuner
import numpy as np
import pytest
from scipy.stats import norm

from keras_hpt.oracles._acquisition import GPSuggester
from keras_hpt.oracles._encoding import SpaceEncoder
from keras_hpt.oracles._gp import GaussianProcess, log_expected_improvement

BRANIN_MINIMUM = 0.397887


def _branin(x1, x2):
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def _toy_data(n=12, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, dim))
    return x, np.sin(5 * x[:, 0]) + x[:, 1] ** 2 - 0.5 * x[:, 2] + 0.01 * rng.normal(size=n)


def test_posterior_matches_sklearn_with_the_same_fixed_kernel():
    sklearn_gp = pytest.importorskip("sklearn.gaussian_process")
    kernels = sklearn_gp.kernels
    x, y = _toy_data()
    gp = GaussianProcess().fit(x, y)
    # Any hyperparameters will do; these are not the fitted ones.
    gp.theta = np.log([0.3, 0.7, 2.0, 1.5, 1e-3])
    gp.condition(x, y)
    scale = np.std(y) ** 2
    kernel = kernels.ConstantKernel(1.5 * scale, "fixed") * kernels.Matern(
        [0.3, 0.7, 2.0], "fixed", nu=2.5
    ) + kernels.WhiteKernel(1e-3 * scale, "fixed")
    reference = sklearn_gp.GaussianProcessRegressor(kernel, optimizer=None).fit(x, y - y.mean())
    xq = np.random.default_rng(1).random((20, 3))
    mean, variance = gp.predict(xq)
    ref_mean, ref_std = reference.predict(xq, return_std=True)
    np.testing.assert_allclose(mean, ref_mean + y.mean(), rtol=1e-6, atol=1e-8)
    # sklearn's std includes the white noise; ours is the latent function's.
    np.testing.assert_allclose(variance, ref_std**2 - 1e-3 * scale, rtol=1e-5, atol=1e-9)


def test_posterior_matches_a_naive_matern_formula():
    x, y = _toy_data(n=8, dim=3)
    gp = GaussianProcess().fit(x, y)
    lengthscales, signal, noise = gp.lengthscales, gp.signal_variance, gp.noise_variance

    def matern(a, b):
        r = np.sqrt((((a[:, None, :] - b[None, :, :]) / lengthscales) ** 2).sum(-1))
        return signal * (1 + math.sqrt(5) * r + 5 * r**2 / 3) * np.exp(-math.sqrt(5) * r)

    y_std = (y - y.mean()) / y.std()
    cov = matern(x, x) + (noise + 1e-9) * np.eye(len(x))
    xq = np.random.default_rng(2).random((5, 3))
    k = matern(xq, x)
    mean = y.mean() + y.std() * k @ np.linalg.solve(cov, y_std)
    variance = y.var() * (signal - np.einsum("ij,ji->i", k, np.linalg.solve(cov, k.T)))
    got_mean, got_variance = gp.predict(xq)
    np.testing.assert_allclose(got_mean, mean, rtol=1e-7)
    np.testing.assert_allclose(got_variance, variance, rtol=1e-5, atol=1e-12)


def test_predict_gradients_match_finite_differences():
    x, y = _toy_data()
    gp = GaussianProcess().fit(x, y)
    xq = np.random.default_rng(3).random((4, 3))
    _, _, dmean, dvariance = gp.predict(xq, return_grad=True)
    step = 1e-6
    for d in range(3):
        shift = np.zeros(3)
        shift[d] = step
        (m_plus, v_plus), (m_minus, v_minus) = gp.predict(xq + shift), gp.predict(xq - shift)
        np.testing.assert_allclose(dmean[:, d], (m_plus - m_minus) / (2 * step), atol=1e-5)
        np.testing.assert_allclose(dvariance[:, d], (v_plus - v_minus) / (2 * step), atol=1e-5)


def test_marginal_likelihood_gradient_matches_finite_differences():
    x, y = _toy_data()
    gp = GaussianProcess()
    sq_diff = ((x[:, None, :] - x[None, :, :]) ** 2).reshape(-1, 3)
    y_std = (y - y.mean()) / y.std()
    theta = np.array([-1.0, 0.2, 0.5, 0.3, -5.0])
    _, grad = gp._neg_log_posterior(theta, sq_diff, y_std)
    for i in range(len(theta)):
        shift = np.zeros_like(theta)
        shift[i] = 1e-6
        plus, _ = gp._neg_log_posterior(theta + shift, sq_diff, y_std)
        minus, _ = gp._neg_log_posterior(theta - shift, sq_diff, y_std)
        assert grad[i] == pytest.approx((plus - minus) / 2e-6, rel=1e-5, abs=1e-6)


def test_fit_finds_the_relevant_dimension():
    rng = np.random.default_rng(4)
    x = rng.random((30, 2))
    gp = GaussianProcess().fit(x, np.sin(6 * x[:, 0]))
    assert gp.lengthscales[0] < 0.5 * gp.lengthscales[1]


@pytest.mark.parametrize("z", [-5.0, -2.0, -1.0, -0.3, 0.0, 0.7, 3.0])
def test_log_ei_matches_the_closed_form(z):
    best, sigma = 1.0, 0.5
    mean = best - z * sigma
    log_ei, dmean, dvariance = log_expected_improvement(
        np.array([mean]), np.array([sigma**2]), best
    )
    expected = sigma * (z * norm.cdf(z) + norm.pdf(z))
    assert log_ei[0] == pytest.approx(math.log(expected), rel=1e-10)
    # dEI/dmean = -Phi(z), dEI/dsigma = phi(z); log EI divides by EI.
    assert dmean[0] == pytest.approx(-norm.cdf(z) / expected, rel=1e-8)
    assert dvariance[0] == pytest.approx(norm.pdf(z) / (2 * sigma) / expected, rel=1e-8)


@pytest.mark.parametrize("z", [-40.0, -300.0, -1e4])
def test_log_ei_stays_finite_where_naive_ei_underflows(z):
    assert z * norm.cdf(z) + norm.pdf(z) == 0.0  # naive EI is lost
    log_ei, dmean, _ = log_expected_improvement(np.array([-z]), np.array([1.0]), 0.0)
    # Asymptotic series: h(z) = phi(z) / z^2 (1 - 3 / z^2 + 15 / z^4 - ...).
    expected = norm.logpdf(z) - 2 * math.log(-z) + math.log1p(-3 / z**2 + 15 / z**4)
    assert np.isfinite(log_ei[0]) and np.isfinite(dmean[0])
    assert log_ei[0] == pytest.approx(expected, rel=1e-9)


def _small_space():
    hp = keras_tuner.HyperParameters()
    hp.Choice("cat", ["a", "b", "c"])
    hp.Int("k", 1, 3)
    hp.Boolean("flag")
    return hp


def test_suggestions_never_repeat_observed_or_pending_configurations():
    encoder = SpaceEncoder(_small_space())
    suggester, rng = GPSuggester(encoder, n_initial_points=3), np.random.default_rng(0)
    offsets = {"a": 0.5, "b": 0.0, "c": 1.0}
    xs, ys, pending, keys = [], [], [], set()
    for i in range(18):  # 3 * 3 * 2 configurations
        x = suggester.suggest(np.array(xs), np.array(ys), np.array(pending), rng=rng)
        keys.add(encoder.vector_key(x))
        # Every third trial keeps running while the next one is asked for.
        if i % 3 == 0:
            pending.append(x)
            continue
        for p in pending:
            v = encoder.decode(p)
            xs.append(p)
            ys.append(offsets[v["cat"]] + (v["k"] - 2) ** 2 + v["flag"])
        pending = []
        values = encoder.decode(x)
        xs.append(x)
        ys.append(offsets[values["cat"]] + (values["k"] - 2) ** 2 + values["flag"])
    assert len(keys) == 18
    observed, values = np.array(xs + pending), np.array(ys + [0.0] * len(pending))
    assert suggester.suggest(observed, values, rng=rng) is None


def test_suggestions_respect_conditional_scopes():
    hp = keras_tuner.HyperParameters()
    hp.Choice("model", ["linear", "mlp"])
    with hp.conditional_scope("model", ["mlp"]):
        hp.Int("units", 8, 64, step=8)
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    encoder = SpaceEncoder(hp)
    suggester, rng = GPSuggester(encoder), np.random.default_rng(1)
    xs, ys = [], []
    for _ in range(15):
        x = suggester.suggest(np.array(xs), np.array(ys), rng=rng)
        values = encoder.decode(x)
        assert ("units" in values) == (values["model"] == "mlp")
        np.testing.assert_allclose(x, encoder.encode(values), atol=1e-12)
        xs.append(x)
        ys.append(abs(math.log10(values["lr"]) + 2) + (values.get("units", 0) - 32) ** 2 / 1e3)
    assert min(ys) < 0.2


def _branin_encoder() -> SpaceEncoder:
    hp = keras_tuner.HyperParameters()
    hp.Float("x1", -5.0, 10.0)
    hp.Float("x2", 0.0, 15.0)
    return SpaceEncoder(hp)


def test_branin_regret_after_30_evaluations():
    encoder = _branin_encoder()
    suggester, rng = GPSuggester(encoder), np.random.default_rng(0)
    xs, ys = [], []
    for _ in range(30):
        x = suggester.suggest(np.array(xs), np.array(ys), rng=rng)
        xs.append(x)
        ys.append(_branin(**encoder.decode(x)))
    assert min(ys) - BRANIN_MINIMUM < 0.1


def test_failures_passed_as_the_worst_value_do_not_stall_the_search():
    encoder = _branin_encoder()
    suggester, rng = GPSuggester(encoder), np.random.default_rng(1)
    xs, ys = [], []
    for _ in range(30):
        x = suggester.suggest(np.array(xs), np.array(ys), rng=rng)
        values = encoder.decode(x)
        # A third of the domain diverges; the caller reports the worst value so far.
        failed = values["x1"] > 5.0 and ys
        xs.append(x)
        ys.append(max(ys) if failed else _branin(**values))
    assert min(ys) - BRANIN_MINIMUM < 0.1


def test_nan_observations_count_as_the_worst_finite_one():
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    encoder = SpaceEncoder(hp)
    xs = np.linspace(0.0, 1.0, 7)[:, None]
    ys = (xs[:, 0] - 0.3) ** 2
    with_nan = np.where(np.arange(7) == 6, np.nan, ys)
    with_worst = np.where(np.arange(7) == 6, ys[:6].max(), ys)
    first = GPSuggester(encoder).suggest(xs, with_nan, rng=np.random.default_rng(0))
    second = GPSuggester(encoder).suggest(xs, with_worst, rng=np.random.default_rng(0))
    np.testing.assert_allclose(first, second)
