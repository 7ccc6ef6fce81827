"""Running a snippet under `tf.distribute.MirroredStrategy` on two logical CPUs.

Logical devices must be configured before TensorFlow initialises, so each
snippet runs in a fresh interpreter; it prints one JSON line with its results.
"""

import json
import os
import subprocess
import sys
import textwrap

PRELUDE = """
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
import keras
import numpy as np
from sklearn.datasets import load_digits
keras.utils.set_random_seed(0)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")[:256]
y = y[:256].astype("int32")
"""


def run_under_mirrored_strategy(snippet: str, timeout: int = 240) -> dict:
    """Runs `snippet` after PRELUDE (which defines `strategy`, `x`, `y`); returns `result`.

    The snippet must assign a JSON-serialisable dict to `result`.
    """
    code = PRELUDE + textwrap.dedent(snippet) + "\nprint('RESULT ' + json.dumps(result))\n"
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=timeout, env=env)
    assert completed.returncode == 0, completed.stderr[-4000:]
    line = [ln for ln in completed.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])
