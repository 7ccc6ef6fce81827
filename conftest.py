"""Test set-up shared by the tests and the docstring examples."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras_hpt  # noqa: E402


@pytest.fixture(autouse=True)
def _add_doctest_names(doctest_namespace):
    doctest_namespace.update(keras=keras, keras_hpt=keras_hpt, keras_tuner=keras_tuner, np=np)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Every test starts from the same seed and an empty Keras graph state."""
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()
