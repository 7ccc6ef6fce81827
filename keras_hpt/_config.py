"""Configuration of keras_hpt objects: the constructor arguments, nothing else."""

import inspect

import keras


def _is_keras_object(value) -> bool:
    return hasattr(value, "get_config") and not isinstance(value, type)


def _is_serialized_object(value) -> bool:
    return isinstance(value, dict) and {"class_name", "config"} <= value.keys()


def constructor_config(obj) -> dict:
    """Returns `{argument: value}` for every argument of `type(obj).__init__`.

    Each argument must be stored on the object under its own name; runtime
    state (counters, best values, histories) is not part of the config.
    Arguments that are Keras objects themselves (a wrapped schedule, say) are
    serialized with `keras.saving.serialize_keras_object`.
    """
    parameters = inspect.signature(type(obj).__init__).parameters
    config = {}
    for name, parameter in parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        value = getattr(obj, name)
        if _is_keras_object(value):
            value = keras.saving.serialize_keras_object(value)
        config[name] = value
    return config


def _deserialize(value):
    """Deserializes Keras objects (and NumPy arrays) found in `value`, leaving the rest."""
    if _is_serialized_object(value):
        return keras.saving.deserialize_keras_object(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_deserialize(item) for item in value)
    return value


def from_constructor_config(cls, config: dict):
    """Rebuilds an object from `constructor_config`, deserializing nested objects."""
    return cls(**{name: _deserialize(value) for name, value in config.items()})
