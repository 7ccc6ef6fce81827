"""Test functions with known optima, as keras-tuner search spaces, for oracle-only benchmarks.

Each problem is minimised. `space()` returns a fresh `keras_tuner.HyperParameters`
and `value(values)` the function at a dict of hyperparameter values.
"""

import math
from dataclasses import dataclass
from typing import Callable

import keras_tuner
import numpy as np

_HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_HARTMANN3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_HARTMANN3_P = 1e-4 * np.array(
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
)
_HARTMANN6_A = np.array([
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
])
_HARTMANN6_P = 1e-4 * np.array([
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
])
#: Offsets of the nominal categorical of `mixed`: not monotone in any order of the names.
CATEGORY_OFFSETS = {"a": 0.9, "b": 0.0, "c": 1.2, "d": 0.3, "e": 1.5, "f": 0.6}


def hartmann(x, a, p) -> float:
    x = np.asarray(x, dtype=float)
    return float(-np.sum(_HARTMANN_ALPHA * np.exp(-np.sum(a * (x - p) ** 2, axis=1))))


def branin(x1: float, x2: float) -> float:
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


@dataclass
class Problem:
    name: str
    space: Callable[[], keras_tuner.HyperParameters]
    value: Callable[[dict], float]
    optimum: float


def _branin_space():
    hp = keras_tuner.HyperParameters()
    hp.Float("x1", -5.0, 10.0)
    hp.Float("x2", 0.0, 15.0)
    return hp


def _unit_space(names):
    def space():
        hp = keras_tuner.HyperParameters()
        for name in names:
            hp.Float(name, 0.0, 1.0)
        return hp

    return space


def _mixed_space():
    hp = _unit_space(["x1", "x2", "x3"])()
    hp.Choice("category", list(CATEGORY_OFFSETS), ordered=False)
    hp.Int("k", 1, 5)
    return hp


PROBLEMS = {
    "branin": Problem(
        "branin", _branin_space, lambda v: branin(v["x1"], v["x2"]), 0.397887357729738
    ),
    "hartmann6": Problem(
        "hartmann6",
        _unit_space([f"x{i}" for i in range(1, 7)]),
        lambda v: hartmann([v[f"x{i}"] for i in range(1, 7)], _HARTMANN6_A, _HARTMANN6_P),
        -3.32236801141551,
    ),
    "mixed": Problem(
        "mixed",
        _mixed_space,
        lambda v: hartmann([v["x1"], v["x2"], v["x3"]], _HARTMANN3_A, _HARTMANN3_P)
        + CATEGORY_OFFSETS[v["category"]]
        + 0.1 * (v["k"] - 3) ** 2,
        -3.86278214782076,
    ),
}
