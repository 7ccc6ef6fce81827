"""A Gaussian process with a Matérn-5/2 ARD kernel, and log expected improvement.

Everything is numpy and scipy, sized for hyperparameter search: a few hundred
observations at most, where an exact Cholesky factorisation costs milliseconds.
The kernel hyperparameters are fitted by maximum a posteriori with analytic
gradients and L-BFGS-B, warm-started from the previous fit so a refit after one
more observation takes a handful of iterations.
"""

import math
from typing import Optional, Tuple

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.special

_SQRT5 = math.sqrt(5.0)
_LOG_2PI = math.log(2.0 * math.pi)
# Added to the diagonal on top of the fitted noise, for a Cholesky that never fails
# on near-duplicate inputs.
_JITTER = 1e-9

# Bounds and log-normal priors of the log hyperparameters, in the unit cube and
# in standardised output units. Lengthscales from 0.01 (a needle) to 100 (flat);
# the prior centre 0.5 suits a response that changes a few times over a range.
_LOG_LS_BOUNDS = (math.log(1e-2), math.log(1e2))
_LOG_LS_PRIOR = (math.log(0.5), 1.0)
_LOG_SIGNAL_BOUNDS = (math.log(1e-2), math.log(1e2))
_LOG_SIGNAL_PRIOR = (0.0, 1.0)
# Most search objectives are nearly deterministic given the seed: the noise
# variance prior leans that way (a standard deviation near 1e-3 of the output's),
# and the data can still ask for more.
_LOG_NOISE_BOUNDS = (math.log(1e-8), math.log(1.0))
_LOG_NOISE_PRIOR = (math.log(1e-6), 3.0)


def _matern52(r2: np.ndarray, signal_variance: float) -> Tuple[np.ndarray, np.ndarray]:
    """Returns the kernel and its derivative with respect to the squared distance."""
    r = np.sqrt(np.maximum(r2, 0.0))
    decay = signal_variance * np.exp(-_SQRT5 * r)
    kernel = (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * decay
    # d/d(r^2) has no singularity at r = 0, unlike d/dr.
    return kernel, (-5.0 / 6.0) * (1.0 + _SQRT5 * r) * decay


def _cholesky_inverse(chol: np.ndarray) -> np.ndarray:
    """K^-1 from the lower Cholesky factor of K (LAPACK potri: half the work of two solves)."""
    inverse, info = scipy.linalg.lapack.dpotri(chol, lower=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed with info={info}")
    lower = np.tril(inverse)
    return lower + np.tril(lower, -1).T


def _log_normal_prior(x: np.ndarray, prior: Tuple[float, float]) -> Tuple[float, np.ndarray]:
    z = (x - prior[0]) / prior[1]
    return -0.5 * float(np.sum(z * z)), -z / prior[1]


class GaussianProcess:
    """Gaussian-process regression with a Matérn-5/2 ARD kernel on `[0, 1]^D`.

    Targets are standardised internally; `predict` answers in the original
    units. `fit` chooses one lengthscale per input dimension, the signal variance
    and the noise variance by maximising the log marginal likelihood plus
    log-normal priors, starting from the previous fit when there is one.

    Args:
        maxiter: Most L-BFGS-B iterations per `fit`. Defaults to `100`.

    Example:

    >>> x = np.linspace(0.0, 1.0, 8)[:, None]
    >>> gp = GaussianProcess().fit(x, np.sin(6.0 * x[:, 0]))
    >>> mean, variance = gp.predict(np.array([[0.5]]))
    >>> bool(abs(mean[0] - np.sin(3.0)) < 0.05), bool(variance[0] < 0.01)
    (True, True)
    """

    def __init__(self, maxiter: int = 100):
        self.maxiter = maxiter
        self.theta: Optional[np.ndarray] = None

    @property
    def lengthscales(self) -> np.ndarray:
        return np.exp(self.theta[:-2])

    @property
    def signal_variance(self) -> float:
        return float(np.exp(self.theta[-2]))

    @property
    def noise_variance(self) -> float:
        return float(np.exp(self.theta[-1]))

    def _neg_log_posterior(self, theta, sq_diff, y):
        n, dim = len(y), sq_diff.shape[1]
        inv_ls2 = np.exp(-2.0 * theta[:dim])
        signal, noise = math.exp(theta[dim]), math.exp(theta[dim + 1])
        kernel, dkernel = _matern52((sq_diff @ inv_ls2).reshape(n, n), signal)
        cov = kernel + (noise + _JITTER) * np.eye(n)
        try:
            chol = scipy.linalg.cholesky(cov, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = scipy.linalg.cho_solve((chol, True), y, check_finite=False)
        inverse = _cholesky_inverse(chol)
        log_lik = -0.5 * y @ alpha - np.log(np.diag(chol)).sum() - 0.5 * n * _LOG_2PI
        # d log p(y) / d theta = 0.5 tr((alpha alpha^T - K^-1) dK/dtheta).
        w = np.outer(alpha, alpha) - inverse
        grad = np.empty_like(theta)
        # dK/dlog(ls_d) = dk/d(r^2) * (x_d - x'_d)^2 * (-2 / ls_d^2).
        grad[:dim] = -((w * dkernel).ravel() @ sq_diff) * inv_ls2
        grad[dim] = 0.5 * np.sum(w * kernel)
        grad[dim + 1] = 0.5 * np.trace(w) * noise
        log_prior, prior_grad = 0.0, []
        for part, prior in (
            (theta[:dim], _LOG_LS_PRIOR),
            (theta[dim : dim + 1], _LOG_SIGNAL_PRIOR),
            (theta[dim + 1 :], _LOG_NOISE_PRIOR),
        ):
            value, gradient = _log_normal_prior(part, prior)
            log_prior += value
            prior_grad.append(gradient)
        return -(log_lik + log_prior), -(grad + np.concatenate(prior_grad))

    def fit(self, x: np.ndarray, y: np.ndarray) -> "GaussianProcess":
        """Fits the kernel hyperparameters and conditions on the data.

        Args:
            x: Float array of shape `(n, D)`, inputs in `[0, 1]`.
            y: Float array of shape `(n,)`, finite targets.

        Returns:
            The fitted process itself.
        """
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        dim = x.shape[1]
        self._y_mean, self._y_std = float(np.mean(y)), float(np.std(y)) or 1.0
        y_std = (y - self._y_mean) / self._y_std
        sq_diff = ((x[:, None, :] - x[None, :, :]) ** 2).reshape(-1, dim)
        # theta = log lengthscales, log signal variance, log noise variance.
        bounds = [_LOG_LS_BOUNDS] * dim + [_LOG_SIGNAL_BOUNDS, _LOG_NOISE_BOUNDS]
        start = np.array([_LOG_LS_PRIOR[0]] * dim + [_LOG_SIGNAL_PRIOR[0], _LOG_NOISE_PRIOR[0]])
        if self.theta is not None and len(self.theta) == dim + 2:
            # One more observation moves the optimum little: a warm start converges
            # in a few iterations where a cold one needs tens.
            start = self.theta
        result = scipy.optimize.minimize(
            self._neg_log_posterior,
            start,
            args=(sq_diff, y_std),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": self.maxiter},
        )
        self.theta = result.x
        return self.condition(x, y)

    def condition(self, x: np.ndarray, y: np.ndarray) -> "GaussianProcess":
        """Conditions on `(x, y)` with the current hyperparameters, without refitting.

        Args:
            x: Float array of shape `(n, D)`.
            y: Float array of shape `(n,)`, in the units of the fitted targets.

        Returns:
            The process itself.
        """
        self._x = np.asarray(x, dtype=float)
        y_std = (np.asarray(y, dtype=float) - self._y_mean) / self._y_std
        self._inv_ls2 = 1.0 / self.lengthscales**2
        kernel, _ = _matern52(self._sq_dist(self._x), self.signal_variance)
        cov = kernel + (self.noise_variance + _JITTER) * np.eye(len(y_std))
        chol = scipy.linalg.cholesky(cov, lower=True, check_finite=False)
        self._alpha = scipy.linalg.cho_solve((chol, True), y_std, check_finite=False)
        self._inverse = _cholesky_inverse(chol)
        return self

    def _sq_dist(self, xq: np.ndarray) -> np.ndarray:
        a, b = xq * np.sqrt(self._inv_ls2), self._x * np.sqrt(self._inv_ls2)
        r2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        return np.maximum(r2, 0.0)

    def predict(self, xq: np.ndarray, return_grad: bool = False):
        """Posterior mean and variance of the latent function (noise excluded).

        Args:
            xq: Float array of shape `(m, D)`.
            return_grad: Whether to also return the gradients with respect to `xq`.

        Returns:
            `(mean, variance)`, each of shape `(m,)`, in the original units; with
            `return_grad`, also their gradients, each of shape `(m, D)`.
        """
        xq = np.atleast_2d(np.asarray(xq, dtype=float))
        kernel, dkernel = _matern52(self._sq_dist(xq), self.signal_variance)
        solved = kernel @ self._inverse
        mean = kernel @ self._alpha
        variance = np.maximum(self.signal_variance - np.sum(kernel * solved, 1), 1e-12)
        scaled = (mean * self._y_std + self._y_mean, variance * self._y_std**2)
        if not return_grad:
            return scaled
        # dk(x, x_i)/dx = dk/d(r^2) * 2 (x - x_i) / ls^2.
        diff = xq[:, None, :] - self._x[None, :, :]
        dk = (2.0 * dkernel)[:, :, None] * diff * self._inv_ls2
        dmean = np.einsum("mnd,n->md", dk, self._alpha)
        dvariance = -2.0 * np.einsum("mnd,mn->md", dk, solved)
        return scaled + (dmean * self._y_std, dvariance * self._y_std**2)


def log_expected_improvement(
    mean: np.ndarray, variance: np.ndarray, best: float
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log of the expected improvement below `best`, finite where EI underflows.

    EI = sigma h(z) with z = (best - mean) / sigma and h(z) = z Phi(z) + phi(z).
    For z < -1, h(z) = phi(z) (1 + z Phi(z) / phi(z)) is evaluated with the
    scaled complementary error function (Phi / phi is a Mills ratio), so log EI
    stays accurate far below the smallest positive float.

    Args:
        mean: Posterior means, shape `(m,)`.
        variance: Posterior variances, shape `(m,)`, positive.
        best: The value to improve on (minimisation).

    Returns:
        `(log_ei, dmean, dvariance)`: log EI and its derivatives with respect
        to `mean` and `variance`, each of shape `(m,)`.

    Example:

    >>> log_ei, _, _ = log_expected_improvement(np.array([0.0, 30.0]), np.ones(2), 0.0)
    >>> np.round(log_ei, 3).tolist()
    [-0.919, -457.725]
    """
    sigma = np.sqrt(variance)
    z = (best - np.asarray(mean, dtype=float)) / sigma
    log_h = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    log_h[upper] = np.log(zu * scipy.special.ndtr(zu) + np.exp(-0.5 * zu * zu - 0.5 * _LOG_2PI))
    zl = z[~upper]
    mills = math.sqrt(math.pi / 2.0) * scipy.special.erfcx(-zl / math.sqrt(2.0))
    # 1 + z * mills ~ 1 / z^2 as z -> -inf; past |z| = 1e3 that asymptote is exact to 1e-6
    # while the subtraction starts to lose digits.
    tail = -2.0 * np.log(-zl)
    near = zl > -1e3
    tail[near] = np.log1p(zl[near] * mills[near])
    log_h[~upper] = -0.5 * zl * zl - 0.5 * _LOG_2PI + tail
    # h'(z) = Phi(z), so d log h / dz = Phi(z) / h(z).
    dlog_h = np.exp(scipy.special.log_ndtr(z) - log_h)
    dmean = -dlog_h / sigma
    dvariance = (1.0 - z * dlog_h) / (2.0 * variance)
    return np.log(sigma) + log_h, dmean, dvariance
