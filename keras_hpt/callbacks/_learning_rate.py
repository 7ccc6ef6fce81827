"""Reading the learning rate an optimizer trains with, for logging."""

import keras

from keras_hpt._scalars import optimizer_step, to_float

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


def optimizers_of(model) -> list:
    """The model's optimizers: the inner ones of a multi-optimizer wrapper."""
    optimizer = model.optimizer
    return list(getattr(optimizer, "optimizers", None) or [optimizer])


def last_learning_rate(optimizer) -> float:
    """The learning rate of the optimizer's latest step (of step 0 before any).

    For a float learning rate that is its current value. For a schedule it is
    the schedule at `iterations - 1`: the public `learning_rate` property would
    give the rate of the next step instead.
    """
    held = getattr(optimizer, "_learning_rate", None)
    if isinstance(held, LearningRateSchedule):
        return to_float(held(max(optimizer_step(optimizer) - 1, 0)))
    return to_float(optimizer.learning_rate)


def current_learning_rates(model) -> dict:
    """`{"learning_rate": value}`, or one key per optimizer of a wrapper."""
    optimizers = optimizers_of(model)
    if len(optimizers) == 1:
        return {"learning_rate": last_learning_rate(optimizers[0])}
    return {f"learning_rate_{opt.name}": last_learning_rate(opt) for opt in optimizers}
