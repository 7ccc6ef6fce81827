"""Temperature scaling (Guo et al., ICML 2017): one number that calibrates class probabilities.

A network picked for its validation loss is usually over-confident;
dividing its log-probabilities by a temperature above 1, fitted on the
validation rows, softens them without changing which class it ranks first.
Only softening is allowed: the validation rows also chose the network, and
where they hold (almost) no mistakes, sharpening would reward that luck
(seen on breast-cancer data: a fitted 0.33 raised the test log loss from
0.2 to 0.5).
"""

import keras
import numpy as np
from scipy.optimize import minimize_scalar

from keras_hpt._registration import register
from keras_hpt._validation import check_number

_EPSILON = 1e-7
#: The temperatures `fit_temperature` chooses from: softening by a factor 3 at most.
BOUNDS = (1.0, 3.0)


def scale(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Class probabilities (one column per class, or one column for binary) at `temperature`."""
    p = np.clip(probabilities, _EPSILON, 1.0 - _EPSILON)
    if p.shape[1] == 1:
        logits = (np.log(p) - np.log1p(-p)) / temperature
        return 1.0 / (1.0 + np.exp(-logits))
    logits = np.log(p) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, y: np.ndarray, loss) -> float:
    """The temperature in `BOUNDS` with the lowest `loss(scale(probabilities, t), y)`.

    Searched on a log scale (bounded Brent); 1.0 unless another is strictly better.
    """
    def objective(log_t):
        return loss(scale(probabilities, float(np.exp(log_t))), y)

    found = minimize_scalar(objective, bounds=tuple(np.log(BOUNDS)), method="bounded",
                            options={"xatol": 1e-3})
    best = float(np.exp(found.x))
    return best if objective(found.x) < objective(0.0) else 1.0


@register
class TemperatureScaling(keras.layers.Layer):
    """Rescales class probabilities by a temperature: softmax(log(p) / T), or sigmoid(logit(p) / T).

    `T > 1` softens over-confident probabilities, `T < 1` sharpens; the most
    likely class never changes.

    Args:
        temperature: A positive number.
        **kwargs: Passed to `keras.layers.Layer`.

    Example:

    >>> layer = keras_hpt.pipeline.TemperatureScaling(2.0)
    >>> np.round(keras.ops.convert_to_numpy(layer(np.array([[0.8, 0.2]]))), 4)
    array([[0.6667, 0.3333]], dtype=float32)
    """

    def __init__(self, temperature: float, **kwargs):
        super().__init__(**kwargs)
        self.temperature = check_number("temperature", temperature, low=0, low_open=True)

    def call(self, probabilities):
        p = keras.ops.clip(probabilities, _EPSILON, 1.0 - _EPSILON)
        if probabilities.shape[-1] == 1:
            logits = (keras.ops.log(p) - keras.ops.log1p(-p)) / self.temperature
            return keras.ops.sigmoid(logits)
        return keras.ops.softmax(keras.ops.log(p) / self.temperature, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(temperature=self.temperature)
        return config
