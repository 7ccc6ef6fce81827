"""What `keras-hpt tune` leaves in its output folder: the model, the trials, the plots."""

import json
import os
from typing import List

from keras_hpt.pipeline.tune import TuneResult


def result_dict(result: TuneResult) -> dict:
    """The result's facts as JSON-ready values."""
    values = {k: v for k, v in result.hyperparameters.values.items() if not k.startswith("tuner/")}
    return {
        "task": result.task,
        "objective": result.objective.name,
        "classes": None if result.classes is None else [
            c.item() if hasattr(c, "item") else c for c in result.classes],
        "ensemble": result.ensemble,
        "validation_score": result.validation_score,
        "best_trial_score": result.best_trial_score,
        "temperature": result.temperature,
        "best_hyperparameters": values,
        "suggested_learning_rate": None if result.range_test is None
        else result.range_test.suggested_lr,
        "epochs_trained": result.epochs_trained,
        "trials": len(result.tuner.oracle.trials),
        "seconds": round(result.seconds, 2),
        "notes": result.notes,
    }


def write_outputs(result: TuneResult, output: str) -> List[str]:
    """Writes `model.keras`, `result.json`, `summary.md`, the trials and (with matplotlib) plots.

    Args:
        result: What `tune` returned.
        output: The folder, created if needed.

    Returns:
        The names of the files written.
    """
    from keras_hpt import reporting

    os.makedirs(output, exist_ok=True)
    result.save(os.path.join(output, "model.keras"))
    with open(os.path.join(output, "result.json"), "w") as file:
        json.dump(result_dict(result), file, indent=1)
    with open(os.path.join(output, "summary.md"), "w") as file:
        file.write(result.summary() + "\n")
    written = ["model.keras", "result.json", "summary.md"]
    for name in ("trials.csv", "trials.json"):
        reporting.write_trials(result.tuner, os.path.join(output, name))
        written.append(name)
    plots = (("history.png", reporting.plot_history),
             ("learning_curves.png", reporting.plot_learning_curves),
             ("hyperparameters.png", reporting.plot_hyperparameters))
    try:
        for name, plot in plots:
            plot(result.tuner, path=os.path.join(output, name))
            written.append(name)
        if result.range_test is not None:
            import matplotlib.pyplot as plt

            figure = result.range_test.plot()
            figure.savefig(os.path.join(output, "lr_finder.png"), dpi=120)
            plt.close(figure)
            written.append("lr_finder.png")
    except ImportError as error:
        written.append(f"(no plots: {error})")
    return written
