"""Caruana ensemble selection, checked against hand-computed choices."""

import numpy as np
import pytest

from keras_hpt.pipeline import ensemble


def test_selection_averages_two_opposite_errors_and_leaves_a_useless_one_out():
    y = np.zeros(4)
    high, low, far = np.full((4, 1), 1.0), np.full((4, 1), -1.2), np.full((4, 1), 5.0)
    # Round 1: `high` alone (MSE 1 < 1.44 < 25). Round 2: high + low averages to -0.1
    # (MSE 0.01), better than high twice (1) or high + far (9).
    counts = ensemble.select([high, low, far], y, ensemble.mean_squared_error, size=2)
    assert counts == {0: 1, 1: 1}
    blended = ensemble.blend([high, low, far], counts)
    assert ensemble.mean_squared_error(blended, y) == pytest.approx(0.01)


def test_the_first_pick_is_the_best_single_and_the_result_never_worse():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 50)
    candidates = [rng.dirichlet(np.ones(3), 50) for _ in range(5)]
    singles = [ensemble.log_loss(p, y) for p in candidates]
    counts = ensemble.select(candidates, y, ensemble.log_loss, size=1)
    assert counts == {int(np.argmin(singles)): 1}
    counts = ensemble.select(candidates, y, ensemble.log_loss)
    assert ensemble.log_loss(ensemble.blend(candidates, counts), y) <= min(singles)


def test_losses_match_their_definitions():
    y = np.array([0, 2])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert ensemble.log_loss(p, y) == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2)
    assert ensemble.log_loss(np.array([[0.9], [0.4]]), np.array([1.0, 0.0])) == pytest.approx(
        -(np.log(0.9) + np.log(0.6)) / 2)
    assert ensemble.error_rate(p, np.array([0, 1])) == 0.5
    assert ensemble.mean_absolute_error(np.array([[1.0], [3.0]]), np.array([0.0, 0.0])) == 2.0
