"""The hand-off delivery worker: a process of its own (docs/handoff.md).

    python -m handoff.worker

Started by `make run` (scripts/run), by Compose (service `handoff-worker`) and by
Kubernetes (deploy/kubernetes/handoff-worker.yaml). The action server only records
hand-offs in the outbox (handoff/outbox.py); this process sends them: every
POLL_SECONDS it sends the rows that are due (new ones, failed ones whose backoff is over,
ones claimed by a process that died). Several workers may share one outbox: a row is
claimed by one of them. SIGTERM or Ctrl-C stops it between two rounds.

Same environment as the action server (HANDOFF_*, DB_*). With no transport configured
it has nothing to send and only waits to be stopped, so that every deployment can run it.
"""
import logging
import os
import signal
import sys
import threading
from typing import Mapping, Optional

from handoff import outbox as handoff_outbox

logger = logging.getLogger("handoff.worker")

# How soon a new hand-off is sent; the action server waits for the first try to tell
# the user whether it went through.
POLL_SECONDS = 1.0


def serve(box: handoff_outbox.Outbox, stop: threading.Event,
          poll: float = POLL_SECONDS) -> None:
    """Sends due rows until `stop` is set."""
    while not stop.is_set():
        try:
            box.deliver_due()
        except Exception:  # noqa: BLE001 - outlive a database hiccup; the next round retries
            logger.exception("The hand-off outbox could not be read; trying again shortly.")
        stop.wait(poll)


def main(env: Optional[Mapping[str, str]] = None) -> int:
    env = os.environ if env is None else env
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    problems = handoff_outbox.configuration_problems(env)
    for problem in problems:
        logger.error("%s (see docs/handoff.md)", problem)
    if problems:
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    names = handoff_outbox.transports(env)
    if not names:
        logger.info("No hand-off transport configured (HANDOFF_WEBHOOK_URL, HANDOFF_SMTP_*): "
                    "nothing to send.")
        stop.wait()
        return 0
    url = handoff_outbox.database_url(env)
    logger.info("Sending hand-offs by %s from the outbox in %s.", " and ".join(names),
                url.render_as_string(hide_password=True))
    serve(handoff_outbox.Outbox(url, env), stop)
    logger.info("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
