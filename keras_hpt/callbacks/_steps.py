"""Following the optimizer's step count without reading it from the device every batch."""

from keras_hpt._scalars import optimizer_step


class StepCounter:
    """Mixin for callbacks that need the global step at every batch.

    `optimizer.iterations` is read once per `fit` (so counting continues
    across `fit` calls and resumed training), then followed from the batch
    indices Keras passes, which are block ends under `steps_per_execution`.
    Call `_start_counting` in `on_train_begin`, `_count_epoch` in
    `on_epoch_begin` and `_count_batch` first thing in `on_train_batch_end`;
    `steps_done` is then the number of optimizer steps taken so far.
    """

    steps_done = 0

    def _start_counting(self):
        self.steps_done = optimizer_step(self.model.optimizer)
        self._epoch_start = self.steps_done

    def _count_epoch(self):
        self._epoch_start = self.steps_done

    def _count_batch(self, batch: int):
        self.steps_done = self._epoch_start + batch + 1
