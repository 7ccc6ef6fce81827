"""SpaceEncoder: every hyperparameter type, conditional scopes, grids and keys."""

import math

import keras_tuner
import numpy as np
import pytest

from keras_hpt.oracles._encoding import SpaceEncoder


def _space(define):
    hp = keras_tuner.HyperParameters()
    define(hp)
    return hp


# (name, how to declare it, values to round-trip, hand-computed encoding of the first value)
CASES = [
    ("int", lambda hp: hp.Int("p", 1, 5), [3, 1, 5], [0.5]),
    ("int_step", lambda hp: hp.Int("p", 0, 100, step=25), [75, 0, 100], [0.75]),
    ("int_log", lambda hp: hp.Int("p", 1, 1000, sampling="log"), [10, 1, 999], [1 / 3]),
    ("int_log_step", lambda hp: hp.Int("p", 2, 64, step=2, sampling="log"), [8, 2, 64], [0.4]),
    ("float", lambda hp: hp.Float("p", -1.0, 3.0), [0.0, -1.0, 2.7], [0.25]),
    ("float_log", lambda hp: hp.Float("p", 1e-4, 1e-1, sampling="log"), [1e-2, 3e-4], [2 / 3]),
    (
        "float_reverse_log",
        lambda hp: hp.Float("p", 0.9, 0.999, sampling="reverse_log"),
        [0.99, 0.95],
        # 1 - log((max + min - v) / min) / log(max / min)
        [1 - math.log(0.909 / 0.9) / math.log(0.999 / 0.9)],
    ),
    ("float_step", lambda hp: hp.Float("p", 0.0, 1.0, step=0.25), [0.5, 0.0, 1.0], [0.5]),
    ("choice_ordered", lambda hp: hp.Choice("p", [64, 16, 32]), [32, 16, 64], [0.5]),
    ("choice_float", lambda hp: hp.Choice("p", [0.1, 0.2, 0.5, 1.0]), [0.5, 0.1], [2 / 3]),
    ("onehot", lambda hp: hp.Choice("p", ["relu", "tanh", "gelu"]), ["gelu", "relu"], [0, 0, 1]),
    ("boolean", lambda hp: hp.Boolean("p"), [True, False], [1.0]),
]


@pytest.mark.parametrize("name,define,values,expected", CASES, ids=[c[0] for c in CASES])
def test_round_trip_and_encoding_of_every_type(name, define, values, expected):
    encoder = SpaceEncoder(_space(define))
    np.testing.assert_allclose(encoder.encode({"p": values[0]}), expected, atol=1e-12)
    for value in values:
        vector = encoder.encode({"p": value})
        assert vector.shape == (encoder.dim,)
        assert np.all((vector >= 0.0) & (vector <= 1.0))
        decoded = encoder.decode(vector)["p"]
        assert type(decoded) is type(value)
        if isinstance(value, float):
            assert decoded == pytest.approx(value, rel=1e-12)
        else:
            assert decoded == value


def test_fixed_and_single_valued_hyperparameters_take_no_dimension():
    encoder = SpaceEncoder(
        _space(
            lambda hp: (
                hp.Fixed("f", "adam"),
                hp.Choice("c", ["only"]),
                hp.Int("i", 4, 4),
                hp.Float("x", 0.0, 1.0),
            )
        )
    )
    assert encoder.dim == 1
    assert encoder.decode(np.array([0.25])) == {"f": "adam", "c": "only", "i": 4, "x": 0.25}


@pytest.mark.parametrize(
    "define,u,expected",
    [
        (lambda hp: hp.Int("p", 1, 5), 0.6, 3),  # 1 + 0.6 * 4 = 3.4 rounds to 3
        (lambda hp: hp.Float("p", 0.0, 1.0, step=0.25), 0.6, 0.5),
        # 2 * 32^0.45 = 9.5: index log2(9.5 / 2) = 2.25 in the grid 2, 4, 8, ...
        (lambda hp: hp.Int("p", 2, 64, step=2, sampling="log"), 0.45, 8),
        (lambda hp: hp.Int("p", 1, 1000, sampling="log"), 0.5, 32),  # sqrt(1000) = 31.6
        (lambda hp: hp.Choice("p", [16, 32, 64, 128]), 0.6, 64),  # nearest of 0, 1/3, 2/3, 1
        (lambda hp: hp.Boolean("p"), 0.49, False),
    ],
)
def test_decode_snaps_to_the_nearest_allowed_value(define, u, expected):
    assert SpaceEncoder(_space(define)).decode(np.array([u]))["p"] == expected


def test_one_hot_decodes_to_the_largest_entry():
    encoder = SpaceEncoder(_space(lambda hp: hp.Choice("p", list("abcd"))))
    assert encoder.decode(np.array([0.2, 0.1, 0.9, 0.3])) == {"p": "c"}
    with pytest.raises(ValueError, match="`p` must be one of"):
        encoder.encode({"p": "e"})


def _conditional_space(hp):
    hp.Choice("model", ["linear", "mlp"])
    with hp.conditional_scope("model", ["mlp"]):
        hp.Int("units", 8, 64, step=8)
        hp.Choice("activation", ["relu", "tanh"])
    hp.Float("lr", 1e-4, 1e-1, sampling="log")


def test_conditional_scopes_fill_inactive_blocks_and_decode_only_active_values():
    encoder = SpaceEncoder(_space(_conditional_space))
    # model (2 one-hot) + units (1) + activation (2 one-hot) + lr (1)
    assert encoder.dim == 6
    linear = {"model": "linear", "units": 32, "activation": "tanh", "lr": 1e-3}
    vector = encoder.encode(linear)
    np.testing.assert_allclose(vector, [1, 0, 0.5, 0, 0, 1 / 3], atol=1e-12)
    assert encoder.decode(vector) == {"model": "linear", "lr": pytest.approx(1e-3)}
    # Stale values of inactive hyperparameters do not make a new configuration.
    assert encoder.key(linear) == encoder.key({"model": "linear", "lr": 1e-3, "units": 8})
    mlp = {"model": "mlp", "units": 24, "activation": "tanh", "lr": 1e-2}
    decoded = encoder.decode(encoder.encode(mlp))
    assert decoded == {**mlp, "lr": pytest.approx(1e-2)}
    # A vector whose parent says "linear" ignores whatever sits in the child blocks.
    assert "units" not in encoder.decode(np.array([0.9, 0.1, 0.8, 0.3, 0.7, 0.5]))


def test_dimension_kinds_and_grids():
    def define(hp):
        hp.Float("x", 0.0, 1.0)
        hp.Choice("cat", list("abcdef"))
        hp.Int("k", 1, 5)
        hp.Int("big", 1, 10_000)
        hp.Boolean("flag")

    encoder = SpaceEncoder(_space(define), max_grid_size=32)
    assert encoder.dim == 10
    # "big" has more values than max_grid_size: moved continuously, rounded on decode.
    np.testing.assert_array_equal(encoder.continuous_dims, [0, 8])
    assert sorted(encoder.discrete_dims) == [7, 9]
    np.testing.assert_allclose(encoder.discrete_dims[7], [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(encoder.discrete_dims[9], [0, 1])
    np.testing.assert_array_equal(encoder.onehot_groups[0], np.arange(1, 7))
    assert encoder.decode(np.full(10, 0.5123))["big"] == round(1 + 0.5123 * 9_999)


def test_snap_agrees_with_decode_then_encode_on_an_unconditional_space():
    def define(hp):
        hp.Float("x", 1e-3, 1.0, sampling="log")
        hp.Choice("cat", list("abc"))
        hp.Int("k", 1, 5)
        hp.Float("s", 0.0, 1.0, step=0.1)
        hp.Choice("w", [32, 64, 128])

    encoder = SpaceEncoder(_space(define))
    x = np.random.default_rng(0).random((50, encoder.dim))
    expected = np.array([encoder.encode(encoder.decode(row)) for row in x])
    np.testing.assert_allclose(encoder.snap(x), expected, atol=1e-12)


def test_keys_equal_for_round_off_and_distinct_for_real_differences():
    encoder = SpaceEncoder(_space(lambda hp: (hp.Float("lr", 1e-5, 1e-1, sampling="log"),)))
    assert encoder.key({"lr": 1e-3}) == encoder.key({"lr": 1e-3 * (1 + 1e-12)})
    assert encoder.key({"lr": 1e-3}) != encoder.key({"lr": 1.001e-3})
    assert {encoder.key({"lr": 1e-3}): 1}  # hashable
