"""The workers of one `MultiWorkerMirroredStrategy` cluster, kept in step through a search.

Under `tf.distribute.MultiWorkerMirroredStrategy` every worker of the cluster
runs the same script and trains the same model, a slice of each batch each.
They must agree on everything a search decides: which trial comes next, from
which checkpoint it starts, and when it stops. The cluster's chief (the
worker whose `should_checkpoint` is true) alone talks to the oracle; what it
decides reaches the other workers through the strategy's own collectives
(an all-reduce in which only the chief's first replica contributes), so no
shared file system and no other channel is needed.
"""

import json
from typing import Optional

import numpy as np

try:
    import tensorflow as tf
except ImportError:  # Other backends have no tf.distribute strategies.
    tf = None


def in_multi_worker_mode(strategy) -> bool:
    """Whether `strategy` spans several workers (a `MultiWorkerMirroredStrategy` cluster)."""
    extended = getattr(strategy, "extended", None)
    check = getattr(extended, "_in_multi_worker_mode", None)
    return bool(check()) if callable(check) else False


class Cluster:
    """Broadcasts the chief's decisions to every worker of a multi-worker strategy.

    Every method is a collective: all workers must call it, in the same
    order, or they wait for each other forever.

    Args:
        strategy: A `tf.distribute` strategy in multi-worker mode.

    Example:

    >>> strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    >>> Cluster.of(strategy) is None  # one worker: nothing to keep in step
    True
    """

    def __init__(self, strategy):
        self.strategy = strategy
        self.is_chief = bool(strategy.extended.should_checkpoint)

    @classmethod
    def of(cls, strategy) -> Optional["Cluster"]:
        """A `Cluster` for `strategy` if it spans several workers, else `None`."""
        return cls(strategy) if in_multi_worker_mode(strategy) else None

    @property
    def task_id(self) -> int:
        """This worker's index in the cluster."""
        resolver = getattr(self.strategy, "cluster_resolver", None)
        return int(getattr(resolver, "task_id", 0) or 0)

    def _broadcast_tensor(self, value):
        """The chief's `value` (a tensor), on every worker; the others' values are ignored."""

        def contribute():
            context = tf.distribute.get_replica_context()
            first = tf.equal(context.replica_id_in_sync_group, 0)
            return tf.where(first, value, tf.zeros_like(value))

        per_replica = self.strategy.run(contribute)
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def broadcast_int(self, value: int) -> int:
        """The chief's integer, on every worker."""
        return int(self._broadcast_tensor(tf.constant(int(value), tf.int64)).numpy())

    def broadcast_json(self, value=None):
        """The chief's JSON-serialisable `value`, on every worker (theirs is ignored)."""
        data = json.dumps(value).encode("utf-8") if self.is_chief else b""
        length = self.broadcast_int(len(data))
        if not self.is_chief:
            data = bytes(length)
        codes = tf.constant(np.frombuffer(data, np.uint8).astype(np.int32))
        received = self._broadcast_tensor(codes).numpy().astype(np.uint8).tobytes()
        return json.loads(received.decode("utf-8"))

    def broadcast_variables(self, variables) -> None:
        """Gives every worker the chief's values of `variables` (Keras or tf variables)."""
        for variable in variables:
            value = tf.convert_to_tensor(variable.value if hasattr(variable, "value") else variable)
            if value.dtype == tf.bool:
                variable.assign(tf.cast(self._broadcast_tensor(tf.cast(value, tf.int32)), tf.bool))
            else:
                variable.assign(self._broadcast_tensor(value))


def _first_local(strategy, value):
    """This worker's first replica's part of a distributed value; anything else as it is."""
    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.experimental_local_results(value)[0]
    return value


def patch_keras_for_multi_worker() -> None:
    """Makes Keras 3's `fit` and `evaluate` work under `MultiWorkerMirroredStrategy`.

    Two bugs of Keras 3's TensorFlow trainer (3.15 at least; reported as
    tensorflow/tensorflow#72388) stop `fit` in a multi-worker cluster: the
    first batch's structure is reduced in one `strategy.reduce` call, which
    the strategy rejects ("Attempt to convert a value (PerReplica...)"), and
    every scalar log is averaged over axis 0 ("Invalid reduction dimension 0
    for input with 0 dimensions"). This patch builds the model from the first
    local replica's batch (only its shapes matter) and averages scalar logs
    over replicas without an axis. It changes nothing for other strategies,
    and applying it twice is harmless. Tuners of this package apply it when
    their `distribution_strategy` spans several workers.

    Example:

    >>> patch_keras_for_multi_worker()
    """
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer.reduce_per_replica, "_keras_hpt_patched", False):
        return
    reduce_per_replica = trainer.reduce_per_replica
    maybe_symbolic_build = trainer.TensorFlowTrainer._maybe_symbolic_build

    def reduce_logs(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not in_multi_worker_mode(strategy):
            return reduce_per_replica(values, strategy, reduction)

        def reduce(value):
            local = _first_local(strategy, value)
            if getattr(local, "shape", None) is not None and local.shape.rank == 0:
                return strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
            return reduce_per_replica(value, strategy, reduction)

        return tf.nest.map_structure(reduce, values)

    def build(model, iterator=None, data_batch=None):
        strategy = model._distribute_strategy
        if iterator is None or not in_multi_worker_mode(strategy):
            return maybe_symbolic_build(model, iterator=iterator, data_batch=data_batch)

        for _, _, batches in iterator:
            data_batch = tf.nest.map_structure(lambda v: _first_local(strategy, v), next(batches))
            break
        return maybe_symbolic_build(model, data_batch=data_batch)

    reduce_logs._keras_hpt_patched = True
    trainer.reduce_per_replica = reduce_logs
    trainer.TensorFlowTrainer._maybe_symbolic_build = build
