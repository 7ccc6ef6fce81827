"""Everything a learning-rate range test changes, captured and put back exactly."""

import keras
import numpy as np


def inner_optimizer(optimizer):
    """The optimizer that holds the learning rate (inside a `LossScaleOptimizer`, say)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


class TrainingState:
    """A copy of a model's variables, its optimizer's, its metrics' and its learning rate.

    Model variables include non-trainable ones and the dropout seed
    generators' states; optimizer variables include `iterations` and every
    slot. The learning-rate object itself (a variable or a schedule) is kept
    by reference and put back in place, and the compiled train function is
    dropped, since it may have been traced with another learning rate.
    """

    def __init__(self, model: keras.Model):
        self.model = model
        self.optimizer = inner_optimizer(model.optimizer)
        self.learning_rate = self.optimizer._learning_rate
        self._variables = self._all_variables()
        self._values = [np.array(keras.ops.convert_to_numpy(v)) for v in self._variables]
        self._stop_training = model.stop_training

    def _all_variables(self) -> list:
        variables = list(self.model.variables) + list(self.model.optimizer.variables)
        variables += [v for metric in self.model.metrics for v in metric.variables]
        unique, seen = [], set()
        for variable in variables:
            if id(variable) not in seen:
                seen.add(id(variable))
                unique.append(variable)
        return unique

    def set_learning_rate(self, learning_rate):
        """Replaces the learning-rate object (a schedule) until `restore`."""
        self.optimizer._learning_rate = learning_rate
        self.model.make_train_function(force=True)

    def restore(self):
        """Puts every captured value and the learning-rate object back."""
        self.optimizer._learning_rate = self.learning_rate
        for variable, value in zip(self._variables, self._values):
            variable.assign(value)
        self.model.stop_training = self._stop_training
        self.model.make_train_function(force=True)
