"""Searches whose trials train under MultiWorkerMirroredStrategy: two processes on loopback."""

from tests.distributed import run_multi_worker

# Every worker records, at the end of every epoch, the epoch, a checksum of the
# model's trainable weights and the validation accuracy: in step, the two records
# are identical. (Batch normalisation's moving statistics are per worker under
# this strategy, as in Keras, so they are left out.)
SEARCH = """
import keras_hpt
from keras_hpt.hypermodels import MLPHyperModel

class Record(keras.callbacks.Callback):
    log = []

    def on_epoch_end(self, epoch, logs=None):
        weights = self.model.trainable_weights
        total = sum(float(np.sum(keras.ops.convert_to_numpy(v))) for v in weights)
        Record.log.append([epoch, round(total, 4), round(float(logs["val_accuracy"]), 4)])

hypermodel = MLPHyperModel((64,), 10, num_layers=1, batch_size=32)
# Only the chief's budget can end this search: the other worker's is out of reach,
# so it stops because the chief's decisions reach it.
tuner = keras_hpt.tuners.ASHA(hypermodel, hypermodel.objective, max_epochs=3, seed=1,
                              epoch_budget=10 if task == 0 else 1000,
                              distribution_strategy=strategy, directory={directory!r},
                              project_name="search")
tuner.search(x, y, validation_split=0.25, callbacks=[Record()], verbose=0)
trials = tuner.oracle.trials.values()
result = {{
    "log": Record.log,
    "epochs": tuner.epochs_trained,
    "trials": len(trials),
    "continued": sorted(t.trial_id for t in trials if "tuner/trial_id" in t.hyperparameters.values
                        and t.status == "COMPLETED"),
    "directory": tuner.project_dir,
    "replicas": strategy.num_replicas_in_sync,
}}
"""


def test_workers_train_the_chiefs_trials_in_step(tmp_path):
    chief, worker = run_multi_worker(SEARCH.format(directory=str(tmp_path)))
    assert chief["replicas"] == worker["replicas"] == 2
    # The chief's epoch budget ended the search on both workers at the same epoch.
    assert chief["epochs"] == worker["epochs"] == 10
    assert len(chief["log"]) == 10
    # Same trials, same epochs, same weights: continued trials started from the
    # chief's checkpoint on both workers (the other worker has no file of it).
    assert worker["log"] == chief["log"]
    assert chief["continued"], "ASHA promoted no trial in 10 epochs"
    # Only the chief knows the trials; the other worker wrote elsewhere.
    assert chief["trials"] >= 5 and worker["trials"] == 0
    assert chief["directory"].startswith(str(tmp_path))
    assert not worker["directory"].startswith(str(tmp_path))


CALLBACKS = """
import keras_hpt
from keras_hpt.distribute.cluster import patch_keras_for_multi_worker

patch_keras_for_multi_worker()
keras.utils.set_random_seed(task)  # different seeds: the strategy must align the workers
with strategy.scope():
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
monitor = keras_hpt.callbacks.ValidationMonitor((x[192:], y[192:]), every_n_steps=2,
                                                early_stopping_rounds=6, min_delta=0.2,
                                                restore_best_weights=True)
stopping = keras_hpt.callbacks.EarlyStopping(monitor="loss", patience=2)
history = model.fit(x[:192], y[:192], batch_size=32, epochs=30, verbose=0,
                    callbacks=[monitor, stopping])
weights = [round(float(np.sum(keras.ops.convert_to_numpy(v))), 4)
           for v in model.trainable_weights]
# The range test reads the loss of every step: the same on both workers, so the
# same curve, the same stop and the same suggestion.
found = keras_hpt.lr_find(model, x[:192], y[:192], batch_size=32, num_steps=30,
                          min_lr=1e-4, max_lr=10.0, confirm=False)
result = {
    "lr_find": [len(found.learning_rates), found.suggested_lr,
                [round(float(v), 5) for v in found.losses]],
    "epochs": len(history.history["loss"]),
    "loss": [round(v, 5) for v in history.history["loss"]],
    "monitor": [monitor.stop_reason, monitor.stopped_step, monitor.best_step],
    "stopping": stopping.stopped_epoch,
    "weights": weights,
}
"""


def test_callbacks_and_lr_find_take_the_same_decisions_on_every_worker():
    chief, worker = run_multi_worker(CALLBACKS)
    # The step-based monitor stopped the fit early, on both workers at the same step,
    # and restored the same best weights.
    assert chief["monitor"][0] == "no_improvement"
    assert chief["epochs"] < 30
    # The range test stopped when the loss exploded, at the same step on both.
    assert chief["lr_find"][0] < 30
    assert chief == worker
