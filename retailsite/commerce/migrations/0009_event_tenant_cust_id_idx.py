"""A shopper's latest event in one index descent.

The storefront reads `max(id)` of the shopper's events on every page (their activity stamp). Through
(tenant, customer, occurred_at) that read every event of theirs from the table, so a page cost more the longer a
shopper's history. Built concurrently: events keep being written while it is built.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("commerce", "0008_product_text_hits"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(fields=["tenant", "customer", "id"], name="event_tenant_cust_id_idx"),
        ),
    ]
