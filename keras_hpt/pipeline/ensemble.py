"""Ensemble selection over a search's trials (Caruana et al., ICML 2004).

Starting from nothing, each round adds (with replacement) the trial whose
validation predictions, averaged in, lower the validation loss most; the
ensemble kept is the best prefix of those rounds, so it is never worse on
validation than the best single trial, which is always the first pick.
Weights are how often each trial was picked.
"""

from typing import Callable, Dict, List

import numpy as np

_EPSILON = 1e-7


def log_loss(probabilities: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of class probabilities (one column per class, or one for binary)."""
    p = np.clip(probabilities, _EPSILON, 1.0 - _EPSILON)
    if p.shape[1] == 1:
        t = y.reshape(-1)
        q = p[:, 0]
        return float(-np.mean(t * np.log(q) + (1.0 - t) * np.log(1.0 - q)))
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(y)), y.astype(int).reshape(-1)])))


def error_rate(probabilities: np.ndarray, y: np.ndarray) -> float:
    """Share of rows whose most likely class is not the label."""
    if probabilities.shape[1] == 1:
        predicted = (probabilities[:, 0] > 0.5).astype(int)
    else:
        predicted = np.argmax(probabilities, axis=1)
    return float(np.mean(predicted != y.astype(int).reshape(-1)))


def mean_squared_error(predictions: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error over every row and target."""
    return float(np.mean((predictions - y.reshape(predictions.shape)) ** 2))


def mean_absolute_error(predictions: np.ndarray, y: np.ndarray) -> float:
    """Mean absolute error over every row and target."""
    return float(np.mean(np.abs(predictions - y.reshape(predictions.shape))))


def select(predictions: List[np.ndarray], y: np.ndarray,
           loss: Callable[[np.ndarray, np.ndarray], float], size: int = 25) -> Dict[int, int]:
    """Caruana's greedy ensemble selection with replacement, trimmed to its best prefix.

    Args:
        predictions: Each candidate's validation predictions, all of one shape.
        y: The validation targets.
        loss: `loss(predictions, y)`, lower is better.
        size: Rounds of selection.

    Returns:
        `{candidate index: times picked}` of the best prefix.

    Example:

    >>> y = np.array([0.0, 1.0])
    >>> select([np.array([[0.5], [0.5]]), np.array([[-0.5], [1.5]])], y, mean_squared_error)
    {0: 1, 1: 1}
    """
    if not predictions:
        raise ValueError("`predictions` must hold at least one candidate. Received: []")
    total = np.zeros_like(predictions[0])
    picks, best_loss, best_length = [], np.inf, 0
    for round_ in range(1, size + 1):
        scores = [loss((total + candidate) / round_, y) for candidate in predictions]
        choice = int(np.argmin(scores))
        picks.append(choice)
        total = total + predictions[choice]
        if scores[choice] < best_loss - 1e-12:
            best_loss, best_length = scores[choice], round_
    counts: Dict[int, int] = {}
    for choice in picks[:best_length]:
        counts[choice] = counts.get(choice, 0) + 1
    return dict(sorted(counts.items()))


def blend(predictions: List[np.ndarray], counts: Dict[int, int]) -> np.ndarray:
    """The weighted average that `counts` (from `select`) describes."""
    total = sum(counts.values())
    return sum(predictions[i] * (n / total) for i, n in counts.items())
