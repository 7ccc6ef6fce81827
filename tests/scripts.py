"""The opening of the search scripts that tests run in subprocesses: a tiny regression.

It defines `x`, `y` (64 samples of 4 features, the target their sum) and
`build(hp)`, a linear model trained by SGD at a log-scale learning rate.
"""

TINY_SEARCH_PRELUDE = """
import json, os, sys, time
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, numpy as np
import keras_hpt

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)

def build(hp):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")), loss="mse")
    return model
"""
