"""Fixtures shared by the tests: tiny data sets and models."""

import keras
import pytest


@pytest.fixture(scope="session")
def digits():
    """A few hundred standardised samples of sklearn's bundled digits."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")[:256]
    return x, y[:256].astype("int32")


def make_classifier(learning_rate=0.01, optimizer="sgd", jit_compile="auto", **compile_kwargs):
    """A small dense classifier for 64 features and 10 classes, compiled."""
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)]
    )
    optimizers = {
        "sgd": lambda: keras.optimizers.SGD(learning_rate, momentum=0.9),
        "adam": lambda: keras.optimizers.Adam(learning_rate),
        "adamw": lambda: keras.optimizers.AdamW(learning_rate),
    }
    model.compile(
        optimizer=optimizers[optimizer](),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
        **compile_kwargs,
    )
    return model
