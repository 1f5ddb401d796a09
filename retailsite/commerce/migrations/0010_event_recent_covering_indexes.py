"""A shopper's and a session's latest events read from the index alone.

Storefront pages and the API's re-rank read a shopper's recent events (product, type, time, id). Through
(tenant, customer, occurred_at) and (tenant, session_id, occurred_at) each of those rows was fetched from the
table: tens of scattered pages per read, and more of them dirty right after events are written. The new indexes
carry those columns, so the read is index-only where the visibility map allows. They replace the two indexes of
the same keys. Built concurrently (events keep being written meanwhile); the old ones are dropped after.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("commerce", "0009_event_tenant_cust_id_idx"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(
                fields=["tenant", "customer", "occurred_at"],
                include=["event_type", "product", "id"],
                name="event_cust_recent_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(
                fields=["tenant", "session_id", "occurred_at"],
                include=["event_type", "product", "id"],
                name="event_session_recent_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="event", name="event_tenant_cust_idx"),
        RemoveIndexConcurrently(model_name="event", name="event_tenant_session_idx"),
    ]
