"""The one place that registers keras_hpt objects with Keras' serialization."""

import keras

PACKAGE = "keras_hpt"


def register(cls):
    """Registers `cls` so a saved `.keras` file loads it without `custom_objects`.

    Args:
        cls: A Keras object class (schedule, callback, layer).

    Returns:
        The class, registered as `"keras_hpt>ClassName"`.
    """
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)
