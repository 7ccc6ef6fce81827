"""Trials trained under tf.distribute.MirroredStrategy on two logical CPUs."""

from tests.distributed import run_under_mirrored_strategy


def test_asha_trials_train_and_continue_under_mirrored_strategy(tmp_path):
    result = run_under_mirrored_strategy(f"""
    import keras_hpt
    from keras_hpt.hypermodels import MLPHyperModel
    hypermodel = MLPHyperModel((64,), 10, num_layers=1, batch_size=32)
    tuner = keras_hpt.tuners.ASHA(hypermodel, hypermodel.objective, max_epochs=3, seed=1,
                                  epoch_budget=10, distribution_strategy=strategy,
                                  directory={str(tmp_path)!r})
    tuner.search(x, y, validation_split=0.25, verbose=0)
    trials = tuner.oracle.trials.values()
    children = [t for t in trials if "tuner/trial_id" in t.hyperparameters.values]
    steps = {{t.trial_id: [o.step for o in t.metrics.get_history("val_accuracy")]
              for t in trials}}
    model = tuner.get_best_models(1)[0]
    result = {{
        "statuses": sorted({{t.status for t in trials}}),
        "children": [[steps[c.hyperparameters.values["tuner/trial_id"]], steps[c.trial_id]]
                     for c in children],
        "replicas": model.distribute_strategy.num_replicas_in_sync,
        "epochs": tuner.epochs_trained,
    }}
    """)
    assert result["statuses"] == ["COMPLETED"]
    assert result["epochs"] == 10
    assert result["children"]
    for parent, child in result["children"]:
        assert parent == [0] and child == [1, 2]
    assert result["replicas"] == 2
