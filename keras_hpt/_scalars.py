"""Reading scalar tensors and variables on any backend and under any strategy."""

import keras
import numpy as np


def to_float(value) -> float:
    """A scalar tensor, variable (mirrored ones included) or number as a float."""
    if isinstance(value, (int, float)):
        return float(value)
    return float(np.asarray(keras.ops.convert_to_numpy(value)))


def optimizer_step(optimizer) -> int:
    """The optimizer's step count (`iterations`) as a Python int."""
    return int(to_float(optimizer.iterations))
