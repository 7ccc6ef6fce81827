"""Searches spread over processes and machines: the chief that notices dead workers, a launcher."""

from keras_hpt.distribute.launcher import free_port, is_chief, launch, visible_devices

__all__ = ["free_port", "is_chief", "launch", "visible_devices"]
