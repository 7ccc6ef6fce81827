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


PRINT_RESULT = "\nprint('RESULT ' + json.dumps(result))\n"


def _result(stdout: str) -> dict:
    """The `result` a snippet printed as its last `RESULT {json}` line."""
    line = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def run_under_mirrored_strategy(snippet: str, timeout: int = 240) -> dict:
    """Runs `snippet` after PRELUDE (which defines `strategy`, `x`, `y`); returns `result`.

    The snippet must assign a JSON-serialisable dict to `result`.
    """
    code = PRELUDE + textwrap.dedent(snippet) + PRINT_RESULT
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=timeout, env=env)
    assert completed.returncode == 0, completed.stderr[-4000:]
    return _result(completed.stdout)


MULTI_WORKER_PRELUDE = """
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import tensorflow as tf
import keras
import numpy as np
from sklearn.datasets import load_digits
keras.utils.set_random_seed(0)
strategy = tf.distribute.MultiWorkerMirroredStrategy()
task = strategy.cluster_resolver.task_id
x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")[:256]
y = y[:256].astype("int32")
"""


def run_multi_worker(snippet: str, workers: int = 2, timeout: int = 240) -> list:
    """Runs `snippet` in `workers` processes forming one `MultiWorkerMirroredStrategy` cluster.

    Each process gets its own `TF_CONFIG` (loopback ports) and runs
    MULTI_WORKER_PRELUDE (which defines `strategy`, `task`, `x`, `y`), then
    `snippet`, which must assign a JSON-serialisable dict to `result`.

    Returns:
        The `result` of every worker, in task order.
    """
    from keras_hpt.distribute import free_port

    code = MULTI_WORKER_PRELUDE + textwrap.dedent(snippet) + PRINT_RESULT
    addresses = [f"localhost:{free_port()}" for _ in range(workers)]
    processes = []
    for index in range(workers):
        config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CONFIG=json.dumps(config),
                   CUDA_VISIBLE_DEVICES="", TF_NUM_INTRAOP_THREADS="1")
        processes.append(subprocess.Popen([sys.executable, "-c", code], env=env, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=timeout)
            assert process.returncode == 0, stderr[-4000:]
            results.append(_result(stdout))
    finally:
        for process in processes:
            process.kill()
    return results
