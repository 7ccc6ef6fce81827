"""Searches spread over processes and machines: the chief that notices dead workers, a launcher,
and multi-worker clusters kept in step inside a trial."""

from keras_hpt.distribute.cluster import Cluster, patch_keras_for_multi_worker
from keras_hpt.distribute.launcher import free_port, is_chief, launch, visible_devices

__all__ = [
    "Cluster",
    "free_port",
    "is_chief",
    "launch",
    "patch_keras_for_multi_worker",
    "visible_devices",
]
