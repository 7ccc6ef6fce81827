"""The chief of a keras-tuner chief/worker search, with dead workers noticed.

keras-tuner's chief serves the oracle over gRPC and exits once every worker
has been told the search is over. A worker that dies keeps its trial
"running" and its name registered forever, so that chief never exits.
This one asks the oracle, every second, to put back in the queue the trials
whose worker has been silent for `trial_timeout` seconds (an oracle of
this package set with one), so a surviving worker reruns them and the
chief exits when the search is done.

keras-tuner's gRPC channel has no authentication and no encryption: keep
the chief on loopback or inside a trusted network.
"""

import os
import time
from concurrent import futures

from keras_tuner.src.distribute import oracle_chief


def serve(oracle, poll_seconds: float = 1.0):
    """Serves `oracle` to the workers until the search is over.

    The address is keras-tuner's: `KERASTUNER_ORACLE_IP` and
    `KERASTUNER_ORACLE_PORT`.

    Args:
        oracle: The oracle of the search.
        poll_seconds: How often the oracle is checked for dead workers and for
            the end of the search.
    """
    import grpc
    from keras_tuner.src import protos

    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    # Every servicer call takes the oracle's lock, so threads only let a slow
    # suggestion overlap with other workers' cheap reports.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = oracle_chief.OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    server.add_insecure_port(address)
    server.start()
    expire = getattr(oracle, "expire_stale_trials", None)
    try:
        while True:
            time.sleep(poll_seconds)
            if expire is not None:
                expire()
            if servicer.stop_triggered and oracle_chief.exit_chief(oracle):
                break
    finally:
        server.stop(grace=1)
