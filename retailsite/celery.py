"""The Celery application. Tasks live in each app's tasks.py and take ids, never instances.

Each tasks.py binds its tasks here (`from retailsite.celery import app`, `@app.task`): nothing imports this module at
start-up (see retailsite/__init__.py), so a task module that used `shared_task` would send to Celery's default app.
"""

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retailsite.settings.base")

logger = logging.getLogger(__name__)


def _survive_a_released_connection() -> None:
    """Keep the worker alive when the broker goes away while it holds unacknowledged messages.

    On a lost Redis connection, kombu (5.6/5.7) closes the consumer's channel and restores the messages it holds
    unacknowledged (prefetched, counting down, running). By then the transport has released its connection, so
    kombu's Redis channel cannot build a client (`'NoneType' object has no attribute 'hostname'`) and the error
    stops the worker ("Unrecoverable error"). A task that was running then and finishes afterwards meets the same
    released channel when it acknowledges (or rejects) its message (`... has no attribute 'client'`). In both cases
    the messages are still in the broker's unacked hash and come back through kombu's visibility-timeout restore,
    so skipping the call here loses nothing (a finished task runs once more: tasks are idempotent, and a retrain
    that already ran is skipped); the worker then reconnects as it does for any broker outage. `make test-faults`
    (scenarios b and b2, Redis restarts during traffic) covers it.
    """
    from kombu.transport import redis as kombu_redis

    qos = kombu_redis.QoS
    restore_unacked_, ack_, reject_ = qos.restore_unacked, qos.ack, qos.reject

    def released(self: Any) -> bool:
        return getattr(self.channel.connection, "client", None) is None

    def restore_unacked(self: Any, client: Any = None) -> Any:
        if client is None and released(self):
            logger.warning(
                "broker connection released: %d unacknowledged message(s) come back by visibility timeout",
                len(self._delivered),
            )
            return None
        return restore_unacked_(self, client)

    def ack(self: Any, delivery_tag: Any) -> Any:
        if released(self):
            logger.warning("broker connection released: a finished task's message comes back by visibility timeout")
            return None
        return ack_(self, delivery_tag)

    def reject(self: Any, delivery_tag: Any, requeue: bool = False) -> Any:
        if released(self):
            logger.warning("broker connection released: a rejected task's message comes back by visibility timeout")
            return None
        return reject_(self, delivery_tag, requeue=requeue)

    qos.restore_unacked = restore_unacked  # type: ignore[method-assign]
    qos.ack = ack  # type: ignore[method-assign]
    qos.reject = reject  # type: ignore[method-assign]


@worker_init.connect
def _patch_the_consumer(**kwargs: Any) -> None:
    # Only a worker consumes (and so holds unacknowledged messages); web processes and beat only publish, and do not
    # pay for importing kombu's Redis transport at start-up.
    _survive_a_released_connection()


app = Celery("retailsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
