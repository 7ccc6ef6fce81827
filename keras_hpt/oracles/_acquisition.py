"""The next point to try: log expected improvement of a GP, maximised over a mixed space.

`GPSuggester.suggest` fits a `GaussianProcess` to the observations, fantasises
the running trials at their posterior mean (a kriging believer, so parallel
workers spread out) and maximises log expected improvement in three stages:
scored quasi-random and local candidates, then from the best few, L-BFGS-B on
the continuous dimensions alternating with an exhaustive sweep of each
discrete dimension and each one-hot block. The best candidate whose
configuration is neither observed nor running wins.
"""

import contextlib
from typing import Optional, Set

import numpy as np
import scipy.optimize
import scipy.special
import scipy.stats

from keras_hpt._validation import check_choice, check_number
from keras_hpt.oracles._encoding import SpaceEncoder
from keras_hpt.oracles._gp import GaussianProcess, log_expected_improvement

try:
    import threadpoolctl
except ImportError:  # scikit-learn brings it; without it BLAS keeps its own thread count.
    threadpoolctl = None

# Perturbation sizes around the best observations, in units of the unit cube:
# one to leave the basin, one to move within it, one to polish.
_LOCAL_SCALES = (0.2, 0.05, 0.01)
# A search has stalled when its last `_STALL_WINDOW` trials all fell within
# `_STALL_RADIUS` of the best one (root-mean-square distance per dimension, in
# the unit cube) without improving it; the next suggestion then keeps
# `_ESCAPE_RADIUS` away from every known point.
_STALL_WINDOW = 4
_STALL_RADIUS = 0.02
_ESCAPE_RADIUS = 0.1


def _distance(points: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Each point's RMS-per-dimension distance to its nearest known point."""
    if len(known) == 0:
        return np.full(len(points), np.inf)
    squared = ((points[:, None, :] - known[None, :, :]) ** 2).mean(-1)
    return np.sqrt(squared.min(1))


def _stalled(x: np.ndarray, y: np.ndarray) -> bool:
    if len(y) <= _STALL_WINDOW:
        return False
    # Improvements smaller than a thousandth of the observed range do not count.
    first_near_best = int(np.argmax(y <= y.min() + 1e-3 * np.ptp(y)))
    if first_near_best >= len(y) - _STALL_WINDOW:
        return False  # the search is still improving
    best = int(np.argmin(y))
    recent = x[-_STALL_WINDOW:]
    return bool(np.all(_distance(recent, x[best:best + 1]) < _STALL_RADIUS))


def _warp(y: np.ndarray, method: str) -> np.ndarray:
    """A monotone transform of the objective that tames outliers and failures."""
    if method == "rank":
        ranks = scipy.stats.rankdata(y)
        return scipy.special.ndtri((ranks - 0.5) / len(y))
    if method == "none":
        return y
    # Values past Tukey's upper fence (diverged trials, failures reported as the
    # worst value) are compressed logarithmically, so one 1e6 does not squeeze all
    # the informative values together; Yeo-Johnson then evens out the skew.
    q25, q75 = np.percentile(y, [25, 75])
    iqr = (q75 - q25) or (np.ptp(y) or 1.0)
    fence = q75 + 1.5 * iqr
    y = np.where(y > fence, fence + iqr * np.log1p(np.maximum(y - fence, 0.0) / iqr), y)
    std = np.std(y)
    if std == 0:
        return y - np.mean(y)
    warped, _ = scipy.stats.yeojohnson((y - np.mean(y)) / std)
    return warped


class GPSuggester:
    """Proposes points to evaluate by Gaussian-process Bayesian optimisation.

    All points are encoded by `encoder` (see `SpaceEncoder`) and the objective is
    minimised: a caller that maximises passes `-y`. A failed trial should be
    passed as the worst finite objective observed so far; the output warping
    keeps such repeats of the worst value from flattening the model.

    Before `n_initial_points` trials exist (observed or running), and whenever
    fewer than two observations or no spread in them are available, the
    suggestion is a space-filling one: of a scrambled Sobol sample, the point
    farthest from every known point.

    Args:
        encoder: The `SpaceEncoder` of the search space.
        n_initial_points: Number of space-filling points before the model takes
            over. Defaults to `None`: `min(max(5, 2 * dim), 10)`.
        n_candidates: Quasi-random candidates scored per suggestion. Defaults to `512`.
        n_starts: Candidates refined by local search. Defaults to `4`.
        output_warping: `"power"` (outliers compressed past the upper fence
            `q75 + 1.5 IQR`, then Yeo-Johnson), `"rank"` (normal scores of the
            ranks) or `"none"` (standardisation only). Defaults to `"power"`.

    Example:

    >>> import keras_tuner
    >>> hp = keras_tuner.HyperParameters()
    >>> hp.Float("x", -2.0, 2.0)
    -2.0
    >>> encoder = SpaceEncoder(hp)
    >>> suggester, rng = GPSuggester(encoder), np.random.default_rng(0)
    >>> xs, ys = [], []
    >>> for _ in range(12):
    ...     x = suggester.suggest(np.array(xs), np.array(ys), rng=rng)
    ...     xs.append(x)
    ...     ys.append((encoder.decode(x)["x"] - 0.5) ** 2)
    >>> bool(min(ys) < 1e-3)
    True
    """

    def __init__(
        self,
        encoder: SpaceEncoder,
        n_initial_points: Optional[int] = None,
        n_candidates: int = 512,
        n_starts: int = 4,
        output_warping: str = "power",
    ):
        if n_initial_points is None:
            n_initial_points = min(max(5, 2 * encoder.dim), 10)
        self.n_initial_points = check_number(
            "n_initial_points", n_initial_points, low=1, integer=True
        )
        self.n_candidates = check_number("n_candidates", n_candidates, low=1, integer=True)
        self.n_starts = check_number("n_starts", n_starts, low=1, integer=True)
        check_choice("output_warping", output_warping, ("power", "rank", "none"))
        self.encoder = encoder
        self.output_warping = output_warping
        self.gp = GaussianProcess()
        # Matrices of a few hundred rows are slower on several BLAS threads than on
        # one, and much slower when a training process competes for the cores.
        self._threads = threadpoolctl.ThreadpoolController() if threadpoolctl else None

    def suggest(
        self,
        x_observed: np.ndarray,
        y_observed: np.ndarray,
        x_pending: Optional[np.ndarray] = None,
        *,
        rng: np.random.Generator,
    ) -> Optional[np.ndarray]:
        """Returns the encoding of the next configuration to evaluate.

        Args:
            x_observed: Float array of shape `(n, dim)`: `encoder.encode` of the
                finished trials' values.
            y_observed: Float array of shape `(n,)`, objective values to minimise.
                NaN and infinite values (failed trials) count as the worst finite one.
            x_pending: Float array of shape `(p, dim)`, the running trials, or `None`.
            rng: The `np.random.Generator` all randomness comes from.

        Returns:
            A canonical vector of shape `(dim,)` (pass it to `encoder.decode`),
            different from every observed and pending configuration; `None`
            when no such configuration could be found (a small discrete space
            that is exhausted).
        """
        limit = self._threads.limit(limits=1, user_api="blas") if self._threads else None
        with limit or contextlib.nullcontext():
            return self._suggest(x_observed, y_observed, x_pending, rng)

    def _suggest(self, x_observed, y_observed, x_pending, rng):
        dim = self.encoder.dim
        x_observed = np.asarray(x_observed, dtype=float).reshape(-1, dim)
        y_observed = np.asarray(y_observed, dtype=float).reshape(-1)
        finite = np.isfinite(y_observed)
        if not finite.all():
            worst = y_observed[finite].max() if finite.any() else 0.0
            y_observed = np.where(finite, y_observed, worst)
        x_pending = np.zeros((0, dim)) if x_pending is None else np.asarray(x_pending, float)
        x_pending = x_pending.reshape(-1, dim)
        known = np.concatenate([x_observed, x_pending])
        seen = {self.encoder.vector_key(row) for row in known}
        if dim == 0:
            return None if seen else np.zeros(0)
        if (
            len(known) < self.n_initial_points
            or len(y_observed) < 2
            or np.ptp(y_observed) == 0
        ):
            return self._space_filling(known, seen, rng)
        y = _warp(y_observed, self.output_warping)
        self.gp.fit(x_observed, y)
        best = float(np.min(y))
        if len(x_pending):
            believed = self.gp.predict(x_pending)[0]
            self.gp.condition(known, np.concatenate([y, believed]))
            # The believed values count as observed, incumbent included: otherwise a
            # pending point predicted to improve keeps its neighbourhood attractive.
            best = min(best, float(np.min(believed)))
        candidates, scores = self._maximize(x_observed, y, rng, best)
        if _stalled(x_observed, y_observed):
            # The model keeps asking for the incumbent's neighbourhood and learns
            # nothing there: take the best candidate away from every known point.
            far = _distance(candidates, known) >= _ESCAPE_RADIUS
            if far.any():
                candidates, scores = candidates[far], scores[far]
            else:
                return self._space_filling(known, seen, rng)
        for index in np.argsort(-scores):
            vector = self.encoder.canonical(candidates[index])
            if self.encoder.vector_key(vector) not in seen:
                return vector
        return self._space_filling(known, seen, rng)

    def _space_filling(self, known: np.ndarray, seen: Set[bytes], rng) -> Optional[np.ndarray]:
        sample = scipy.stats.qmc.Sobol(self.encoder.dim, seed=rng).random(256)
        sample = self.encoder.snap(sample)
        if len(known):
            distance = ((sample[:, None, :] - known[None, :, :]) ** 2).sum(-1).min(1)
        else:
            distance = np.zeros(len(sample))
        for index in np.argsort(-distance, kind="stable"):
            vector = self.encoder.canonical(sample[index])
            if self.encoder.vector_key(vector) not in seen:
                return vector
        return None

    def _score(self, x: np.ndarray, best: float) -> np.ndarray:
        return log_expected_improvement(*self.gp.predict(x), best)[0]

    def _local_candidates(self, x_observed: np.ndarray, y: np.ndarray, rng) -> np.ndarray:
        """Perturbations of the best observations: the optimum is usually near one."""
        enc = self.encoder
        n_best = min(5, len(y))
        per_point = max(self.n_candidates // (2 * n_best), 1)
        centres = np.repeat(x_observed[np.argsort(y)[:n_best]], per_point, axis=0)
        scales = rng.choice(_LOCAL_SCALES, size=(len(centres), 1))
        # Gaussian steps move continuous and ordinal dimensions; one-hot blocks only jump.
        ordinal = np.ones(enc.dim, dtype=bool)
        for group in enc.onehot_groups:
            ordinal[group] = False
        out = centres + scales * rng.normal(size=centres.shape) * ordinal
        # Each discrete variable is redrawn with probability 1 / (number of them).
        n_discrete = len(enc.discrete_dims) + len(enc.onehot_groups)
        for d, grid in enc.discrete_dims.items():
            redraw = rng.random(len(out)) < 1.0 / n_discrete
            out[redraw, d] = rng.choice(grid, size=int(redraw.sum()))
        for group in enc.onehot_groups:
            redraw = np.flatnonzero(rng.random(len(out)) < 1.0 / n_discrete)
            picks = rng.integers(len(group), size=len(redraw))
            out[np.ix_(redraw, group)] = np.eye(len(group))[picks]
        return out

    def _maximize(self, x_observed: np.ndarray, y: np.ndarray, rng, best: float):
        """Returns candidates and their log EI (over `best`), the refined ones included."""
        enc = self.encoder
        sobol = scipy.stats.qmc.Sobol(enc.dim, seed=rng).random(self.n_candidates)
        pool = enc.snap(np.concatenate([sobol, self._local_candidates(x_observed, y, rng)]))
        scores = self._score(pool, best)
        starts = np.argsort(-scores)[: self.n_starts]
        x, value = pool[starts].copy(), scores[starts].copy()
        for _ in range(2):
            previous = value.copy()
            x, value = self._improve_continuous(x, value, best)
            x, value = self._sweep_discrete(x, value, best)
            if np.all(value <= previous + 1e-9):
                break
        return np.concatenate([pool, x]), np.concatenate([scores, value])

    def _improve_continuous(self, x: np.ndarray, value: np.ndarray, best: float):
        dims = self.encoder.continuous_dims
        if len(dims) == 0:
            return x, value
        # Optimising x / lengthscale equalises the curvature across dimensions.
        scale = np.clip(self.gp.lengthscales[dims], 1e-2, 1.0)
        base = x.copy()

        def objective(z):
            trial = base.copy()
            trial[:, dims] = z.reshape(len(x), -1) * scale
            mean, variance, dmean, dvariance = self.gp.predict(trial, return_grad=True)
            log_ei, dlog_mean, dlog_variance = log_expected_improvement(mean, variance, best)
            grad = dlog_mean[:, None] * dmean + dlog_variance[:, None] * dvariance
            return -log_ei.sum(), -(grad[:, dims] * scale).ravel()

        result = scipy.optimize.minimize(
            objective,
            (x[:, dims] / scale).ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0 / s) for s in scale] * len(x),
            options={"maxiter": 50},
        )
        moved = base.copy()
        moved[:, dims] = result.x.reshape(len(x), -1) * scale
        moved = self.encoder.snap(moved)
        moved_value = self._score(moved, best)
        better = moved_value > value
        x[better], value[better] = moved[better], moved_value[better]
        return x, value

    def _sweep_discrete(self, x: np.ndarray, value: np.ndarray, best: float):
        """Tries every value of one discrete variable at a time, keeping the best."""
        enc = self.encoder
        options = [([d], grid[:, None]) for d, grid in enc.discrete_dims.items()]
        options += [(list(group), np.eye(len(group))) for group in enc.onehot_groups]
        for dims, choices in options:
            if len(choices) < 2:
                continue
            trial = np.repeat(x, len(choices), axis=0)
            trial[:, dims] = np.tile(choices, (len(x), 1))
            scores = self._score(trial, best).reshape(len(x), len(choices))
            pick = np.argmax(scores, axis=1)
            better = scores[np.arange(len(x)), pick] > value
            rows = np.flatnonzero(better)
            x[np.ix_(rows, dims)] = choices[pick[rows]]
            value[rows] = scores[rows, pick[rows]]
        return x, value


class SuggesterForSpace:
    """A `GPSuggester` for a search space that may grow: rebuilt only when it does.

    keras-tuner lets a hypermodel declare new hyperparameters in any trial; the
    suggester (and the Gaussian process it warm-starts) is kept otherwise.

    Args:
        **options: Passed to `GPSuggester` (`n_initial_points`, `output_warping`, ...).

    Example:

    >>> import keras_tuner
    >>> hp = keras_tuner.HyperParameters()
    >>> hp.Float("x", 0.0, 1.0)
    0.0
    >>> cache = SuggesterForSpace()
    >>> cache.get(hp) is cache.get(hp)
    True
    """

    def __init__(self, **options):
        self.options = options
        self._suggester = None
        self._size = None

    def get(self, hyperparameters) -> GPSuggester:
        """The suggester for `hyperparameters` (a `keras_tuner.HyperParameters`)."""
        size = len(hyperparameters.space)
        if self._suggester is None or size != self._size:
            self._suggester = GPSuggester(SpaceEncoder(hyperparameters), **self.options)
            self._size = size
        return self._suggester
