"""A trial's training state on disk, so that a trial can continue where another stopped.

keras-tuner's Hyperband continues a promoted trial from its best epoch's
weights and a fresh optimizer. Here the checkpoint is the last epoch's
model variables (non-trainable ones included) and the optimizer's variables
(step count and slots), so training continues as if it had not stopped. The
learning rate is the one exception: it is not restored, so that a
continuation may change it (population-based training does).
"""

import os

import keras
import numpy as np


def _numpy(variable) -> np.ndarray:
    return np.array(keras.ops.convert_to_numpy(variable))


def optimizer_variables(model: keras.Model) -> list:
    """The optimizer variables a checkpoint holds (all but the learning rate), built if need be."""
    optimizer = model.optimizer
    if optimizer is None:
        return []
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    skip = {id(inner._learning_rate)} if isinstance(inner._learning_rate, keras.Variable) else set()
    return [v for v in optimizer.variables if id(v) not in skip]


def save_training_state(model: keras.Model, path: str, epoch: int) -> None:
    """Writes `model`'s variables and its optimizer's to `path` (an `.npz` file).

    The file is written beside `path` first and then moved into place, so a
    process killed while saving leaves the previous checkpoint intact.

    Args:
        model: A built, compiled model.
        path: Where to write.
        epoch: The number of epochs trained so far, stored with the state.
    """
    arrays = {"epoch": np.array(epoch)}
    for i, variable in enumerate(model.variables):
        arrays[f"model_{i}"] = _numpy(variable)
    for i, variable in enumerate(optimizer_variables(model)):
        arrays[f"optimizer_{i}"] = _numpy(variable)
    partial = f"{path}.partial.npz"
    np.savez(partial, **arrays)
    os.replace(partial, path)


def checkpoint_epoch(path: str):
    """The epoch stored in a checkpoint, or `None` when there is none."""
    if not os.path.exists(path):
        return None
    with np.load(path) as data:
        return int(data["epoch"])


def load_training_state(model: keras.Model, path: str) -> int:
    """Puts the state saved by `save_training_state` back into `model`.

    Args:
        model: A model built and compiled like the one that was saved.
        path: The checkpoint file.

    Returns:
        The number of epochs the saved model had trained.

    Raises:
        ValueError: if the checkpoint belongs to a model of another shape.
    """
    with np.load(path) as data:
        for prefix, variables in (
            ("model", list(model.variables)),
            ("optimizer", optimizer_variables(model)),
        ):
            saved = sorted(
                (k for k in data.files if k.startswith(prefix + "_")),
                key=lambda k: int(k.split("_")[1]),
            )
            if len(saved) != len(variables):
                raise ValueError(
                    f"The checkpoint {path} holds {len(saved)} {prefix} variables, but the "
                    f"model has {len(variables)}: it was saved from another architecture."
                )
            for key, variable in zip(saved, variables):
                value = data[key]
                if tuple(value.shape) != tuple(variable.shape):
                    raise ValueError(
                        f"The checkpoint {path} does not fit this model: {variable.path} has "
                        f"shape {tuple(variable.shape)}, the saved value {tuple(value.shape)}."
                    )
                variable.assign(value)
        return int(data["epoch"])
