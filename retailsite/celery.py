"""The Celery application. Tasks live in each app's tasks.py and take ids, never instances."""

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retailsite.settings.base")

logger = logging.getLogger(__name__)


def _survive_restore_on_a_released_connection() -> None:
    """Keep the worker alive when the broker goes away while it holds unacknowledged messages.

    On a lost Redis connection, kombu (5.6/5.7) closes the consumer's channel and restores the messages it holds
    unacknowledged (prefetched, counting down, running). By then the transport has released its connection, so
    kombu's Redis channel cannot build a client (`'NoneType' object has no attribute 'hostname'`) and the error
    stops the worker ("Unrecoverable error"). The messages are still in the broker's unacked hash and come back
    through kombu's visibility-timeout restore, so skipping the restore here loses nothing; the worker then
    reconnects as it does for any broker outage. `make test-faults` (scenario b, Redis restart) covers it.
    """
    from kombu.transport import redis as kombu_redis

    original = kombu_redis.QoS.restore_unacked

    def restore_unacked(self: Any, client: Any = None) -> Any:
        if client is None and getattr(self.channel.connection, "client", None) is None:
            logger.warning(
                "broker connection released: %d unacknowledged message(s) come back by visibility timeout",
                len(self._delivered),
            )
            return None
        return original(self, client)

    kombu_redis.QoS.restore_unacked = restore_unacked  # type: ignore[method-assign]


@worker_init.connect
def _patch_the_consumer(**kwargs: Any) -> None:
    # Only a worker consumes (and so holds unacknowledged messages); web processes and beat only publish, and do not
    # pay for importing kombu's Redis transport at start-up.
    _survive_restore_on_a_released_connection()


app = Celery("retailsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
