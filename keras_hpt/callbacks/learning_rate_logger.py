"""Recording the learning rate in the epoch logs."""

from keras_hpt._registration import register
from keras_hpt.callbacks._learning_rate import current_learning_rates
from keras_hpt.callbacks.base import Callback


@register
class LearningRateLogger(Callback):
    """Adds the optimizer's current learning rate to the logs at every epoch end.

    `History`, `CSVLogger`, `TensorBoard` and any callback after this one then
    see it as `logs["learning_rate"]` (one `learning_rate_<name>` per inner
    optimizer of a multi-optimizer wrapper). It works whether the optimizer
    holds a float or a `LearningRateSchedule`: the value logged is the rate
    the epoch's last training step used.

    Example:

    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> schedule = keras_hpt.schedules.StepDecay(0.1, step_size=4)
    >>> model.compile(keras.optimizers.SGD(schedule), "mse")
    >>> history = model.fit(np.ones((8, 4)), np.ones((8, 1)), batch_size=2, epochs=2,
    ...                     callbacks=[keras_hpt.callbacks.LearningRateLogger()], verbose=0)
    >>> [round(lr, 4) for lr in history.history["learning_rate"]]
    [0.1, 0.05]
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(current_learning_rates(self.model))
