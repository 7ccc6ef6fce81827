"""`keras-hpt launch`: the chief and the workers of one search, started on this machine.

keras-tuner's chief/worker mode runs the same script in every process and
tells them apart by environment variables. The launcher sets them, gives
each worker its own GPUs, streams every process's output with a prefix, and
exits with the chief's status: the search failed if the chief failed.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from typing import Optional, Sequence

from keras_hpt._validation import check_number

#: A worker started with this variable set to N ends itself after N trials with
#: `RECYCLE_EXIT_CODE`, and the launcher starts it again: the memory TensorFlow
#: keeps from every model it traced goes back to the system with the process.
TRIALS_PER_PROCESS_VARIABLE = "KERAS_HPT_TRIALS_PER_PROCESS"
RECYCLE_EXIT_CODE = 75


def is_chief() -> bool:
    """Whether this process should do what follows a search (report, save, retrain).

    True in a search that is not distributed, and in the chief of one;
    false in its workers, whose connection to the chief ends with the search.
    """
    from keras_tuner.src.distribute import utils

    return not utils.has_chief_oracle() or utils.is_chief_oracle()


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at `address` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def visible_devices() -> list:
    """The GPU ids this process may hand out: `CUDA_VISIBLE_DEVICES`, else `nvidia-smi`'s."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d for d in listed.split(",") if d.strip()]
    try:
        output = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in output.splitlines() if line.strip()]


def _stream(process, prefix: str, out, lock):
    for line in iter(process.stdout.readline, ""):
        with lock:
            out.write(f"[{prefix}] {line}")
            out.flush()
    process.stdout.close()


def launch(
    script: str,
    args: Sequence[str] = (),
    workers: int = 2,
    devices_per_worker: Optional[int] = None,
    address: str = "127.0.0.1",
    port: Optional[int] = None,
    out=None,
    grace_seconds: float = 60.0,
    recycle_after: Optional[int] = None,
) -> int:
    """Runs `script` as the chief and `workers` workers of one keras-tuner search.

    The chief serves the oracle on `address:port` (loopback by default:
    keras-tuner's gRPC channel has no authentication). With
    `devices_per_worker`, worker `i` sees GPUs `i*k` to `i*k+k-1` of the
    visible ones through `CUDA_VISIBLE_DEVICES`, and the chief none; without
    it, workers train on the CPU and each gets its share of the cores as
    TensorFlow's intra-op threads (unless `TF_NUM_INTRAOP_THREADS` is set).

    Args:
        script: The Python script that builds a tuner and calls `search`.
        args: Its command-line arguments.
        workers: Number of worker processes.
        devices_per_worker: GPUs per worker, or `None` to leave devices alone.
        address: Where the chief listens.
        port: Its port; `None` picks a free one.
        out: Where the prefixed output goes (default: standard output).
        grace_seconds: How long workers may run on after the chief has ended,
            and the chief after the last worker has ended, before they are
            stopped.
        recycle_after: Restart each worker process after this many trials,
            or `None` never to. TensorFlow keeps part of every model a
            process has trained (about 4 MB per small model with Keras 3.15),
            so a long search grows; a fresh process starts from nothing. The
            worker keeps its name, and continued trials find their
            checkpoints on disk as before.

    Returns:
        The exit status: the chief's, or 1 if every worker ended while the
        chief still waited for trials.

    Example:

    >>> keras_hpt.distribute.free_port() > 0
    True
    """
    workers = check_number("workers", workers, low=0, low_open=True, integer=True)
    check_number("recycle_after", recycle_after, low=0, low_open=True, integer=True,
                 allow_none=True)
    devices_per_worker = check_number("devices_per_worker", devices_per_worker, low=0,
                                      low_open=True, integer=True, allow_none=True)
    if not os.path.isfile(script):
        raise ValueError(f"`script` must be a Python file. Received: script={script!r}")
    devices = visible_devices() if devices_per_worker else []
    if devices_per_worker and len(devices) < workers * devices_per_worker:
        raise ValueError(
            f"`devices_per_worker` asks for {workers * devices_per_worker} GPUs for {workers} "
            f"workers, but {len(devices)} are visible ({devices}). Received: "
            f"devices_per_worker={devices_per_worker}"
        )
    out = out or sys.stdout
    port = port or free_port(address)
    common = dict(os.environ, KERASTUNER_ORACLE_IP=address, KERASTUNER_ORACLE_PORT=str(port),
                  PYTHONUNBUFFERED="1")
    roles = [("chief", {"KERASTUNER_TUNER_ID": "chief"})]
    # Workers that train on CPUs share the cores: each TensorFlow takes its share
    # instead of a thread per core, which oversubscribes them (unless set already).
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for i in range(workers):
        env = {"KERASTUNER_TUNER_ID": f"tuner{i}"}
        if recycle_after is not None:
            env[TRIALS_PER_PROCESS_VARIABLE] = str(recycle_after)
        if not devices_per_worker:
            for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
                env[name] = os.environ.get(name, threads)
        if devices_per_worker:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(
                devices[i * devices_per_worker:(i + 1) * devices_per_worker])
        roles.append((f"tuner{i}", env))
    if devices_per_worker:
        roles[0][1]["CUDA_VISIBLE_DEVICES"] = ""
    lock, processes, streams = threading.Lock(), {}, []
    environments = {name: {**common, **env} for name, env in roles}

    def start(name):
        processes[name] = subprocess.Popen(
            [sys.executable, script, *args], env=environments[name], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        stream = threading.Thread(target=_stream, args=(processes[name], name, out, lock),
                                  daemon=True)
        stream.start()
        streams.append(stream)

    for name, _ in roles:
        start(name)
    status = _supervise(processes, start, grace_seconds, out, lock)
    for stream in streams:
        stream.join(timeout=5)
    return status


def _supervise(processes: dict, start, grace_seconds: float, out, lock) -> int:
    chief = processes["chief"]
    names = [name for name in processes if name != "chief"]
    workers_gone_at = None
    try:
        while chief.poll() is None:
            for name in names:
                if processes[name].poll() == RECYCLE_EXIT_CODE:
                    with lock:
                        out.write(f"[launch] {name} ended to free its memory: starting it "
                                  "again.\n")
                    start(name)
            workers = [processes[name] for name in names]
            if all(w.poll() is not None for w in workers):
                workers_gone_at = workers_gone_at or time.monotonic()
                if time.monotonic() - workers_gone_at > grace_seconds:
                    with lock:
                        out.write("[launch] every worker has ended but the chief still waits "
                                  "for trials: stopping it.\n")
                    chief.terminate()
                    chief.wait(timeout=30)
                    return 1
            time.sleep(0.2)
        deadline = time.monotonic() + grace_seconds
        for worker in (processes[name] for name in names):
            try:
                worker.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.terminate()
        failed = [name for name, p in processes.items()
                  if name != "chief" and p.returncode not in (0, RECYCLE_EXIT_CODE)]
        if failed:
            with lock:
                out.write(f"[launch] workers that did not end cleanly: {', '.join(failed)}\n")
        return chief.returncode
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
