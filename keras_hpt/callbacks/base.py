"""What every keras_hpt callback shares: a config made of its constructor arguments."""

import keras

from keras_hpt._config import constructor_config, from_constructor_config


class Callback(keras.callbacks.Callback):
    """A Keras callback whose `get_config()` returns its constructor arguments.

    Subclasses store each constructor argument under its own name and keep
    runtime state (counters, best values, histories) out of the config,
    resetting it in `on_train_begin` so one instance can serve many `fit` calls.
    """

    def get_config(self) -> dict:
        return constructor_config(self)

    @classmethod
    def from_config(cls, config: dict):
        return from_constructor_config(cls, config)
