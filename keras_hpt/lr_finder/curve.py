"""The loss-against-learning-rate curve: zero-lag smoothing and the suggestion rules.

Every rule works on the smoothed curve against log10(learning rate), with
the first tenth and the last few points trimmed (fastai and Lightning trim
the same way: the start is noisy, the end is diverging).
"""

from typing import Optional, Tuple

import numpy as np

RULES = ("steepest", "minimum", "valley")


def rolling_median(values: np.ndarray, width: int = 5) -> np.ndarray:
    """Centred running median; the window shrinks at the ends."""
    half = width // 2
    return np.array(
        [np.median(values[max(0, i - half):i + half + 1]) for i in range(len(values))]
    )


def local_linear(x: np.ndarray, y: np.ndarray, half_width: int = 7) -> np.ndarray:
    """Triangular-weighted local linear regression of `y` on `x`, evaluated at each `x`.

    Centred, so it does not lag the curve the way a causal moving average does.
    """
    smoothed = np.empty_like(y, dtype=np.float64)
    offsets = np.arange(-half_width, half_width + 1)
    weights_all = 1.0 - np.abs(offsets) / (half_width + 1)
    for i in range(len(y)):
        window = offsets + i
        keep = (window >= 0) & (window < len(y))
        xs, ys, ws = x[window[keep]], y[window[keep]], weights_all[keep]
        if len(xs) < 3 or np.ptp(xs) == 0:
            smoothed[i] = np.average(ys, weights=ws)
            continue
        slope, intercept = np.polyfit(xs - x[i], ys, 1, w=np.sqrt(ws))
        smoothed[i] = intercept
    return smoothed


def smooth(learning_rates: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """Median of 5, then local linear regression in log10(learning rate)."""
    if len(losses) == 0:
        return np.array([])
    return local_linear(np.log10(learning_rates), rolling_median(losses))


def usable_range(count: int) -> Tuple[int, int]:
    """Indices `[start, stop)` the rules look at: a tenth trimmed in front, 5 at the end."""
    start = count // 10
    stop = count - min(5, max(0, count - start - 3))
    return start, max(stop, start)


def steepest(log_lrs: np.ndarray, smoothed: np.ndarray) -> Optional[int]:
    """Index of the steepest descent of the loss against log10(learning rate)."""
    if len(smoothed) < 3:
        return None
    slopes = np.gradient(smoothed, log_lrs)
    return int(np.argmin(slopes))


def minimum(smoothed: np.ndarray) -> Optional[int]:
    """Index of the lowest smoothed loss (the rule then divides its rate by 10)."""
    return int(np.argmin(smoothed)) if len(smoothed) else None


def valley(smoothed: np.ndarray) -> Optional[int]:
    """fastai's valley: a point a little past the start of the longest descent.

    The longest strictly decreasing subsequence of the curve marks the valley;
    the rule returns the index a third plus a sixth of the way along it.
    """
    n = len(smoothed)
    if n < 3:
        return None
    lengths = np.ones(n, dtype=int)
    for i in range(1, n):
        earlier = smoothed[:i] > smoothed[i]
        if earlier.any():
            lengths[i] = lengths[:i][earlier].max() + 1
    end = int(np.argmax(lengths))
    start = end - lengths[end] + 1
    span = (end - start) / 3
    return int(start + int(span) + int(span / 2))


def smoothing_noise_factor(half_width: int = 7) -> float:
    """How much `local_linear` shrinks independent noise at the centre of its window.

    The standard deviation of a weighted mean of independent values is
    `sqrt(sum(w^2)) / sum(w)` times theirs (the local line's intercept, with
    its symmetric window, is that mean).
    """
    offsets = np.arange(-half_width, half_width + 1)
    weights = 1.0 - np.abs(offsets) / (half_width + 1)
    return float(np.sqrt(np.sum(weights ** 2)) / np.sum(weights))


def is_flat(smoothed: np.ndarray, raw: np.ndarray, relative: float = 0.02,
            noise_multiple: float = 6.0) -> bool:
    """Whether the smoothed curve never falls clearly: by `relative` of its level and beyond noise.

    The drop is judged against the noise of the smoothed curve, not of single
    batches: the robust spread (scaled median absolute deviation) of the raw
    losses around the curve, shrunk by what the smoothing averages out
    (`smoothing_noise_factor`). On small noisy batches a single batch's loss
    varies far more than a curve averaged over a dozen of them, which still
    falls clearly where the model learns. On pure noise, the drop from the
    first point to the lowest of a 100-point curve exceeds 6 times that noise
    in about 1 % of curves (simulated), hence the default `noise_multiple`.
    """
    if len(smoothed) < 2:
        return True
    drop = smoothed[0] - smoothed.min()
    residuals = raw - smoothed
    noise = 1.4826 * float(np.median(np.abs(residuals - np.median(residuals))))
    threshold = noise_multiple * noise * smoothing_noise_factor()
    return drop < max(relative * abs(smoothed[0]), threshold)
