"""Privacy operations: audit entries for reads, data-subject export and erasure, retention,
and re-encryption under a new key.

One way in for each:
- `audit_record_read` / `audit_record_reads`: the app's own audit entries (reads of personal
  data, exports, erasures); writes are recorded by the database triggers (`triggers.py`).
- `customer_export_zip(customer)` and `customer_erase(customer)`: called by the storefront's
  privacy centre, the admin actions, the API and `manage.py customer`.
- `personal_data_purge_expired(tenant=...)`: the retention rule (events, registered holders' old rows, the sync
  feed's deletion entries), run by the beat task.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from retailsite.commerce.models import Customer, Event, Order, SyncDeletion
from retailsite.encryption.crypto import rotate
from retailsite.tenancy.context import (
    Actor,
    acting_as,
    current_actor,
    platform_context,
    require_tenant_id,
    tenant_context,
)
from retailsite.tenancy.models import Tenant

from .cache import customer_cache_invalidate
from .exports import customer_export_archive
from .holders import personal_data_holders
from .models import AuditAction, ErasureRecord
from .selectors import customer_data_collect, customer_relations, customer_session_ids

logger = logging.getLogger(__name__)

ENCRYPTED_CUSTOMER_FIELDS = ("email", "name", "phone", "address")
CUSTOMER_TABLE = Customer._meta.db_table
# Kept after erasure: orders (anonymized, for accounting) and the erasure's own record.
KEPT_ON_ERASURE: frozenset[tuple[type[models.Model], str]] = frozenset(
    {(Order, "customer"), (ErasureRecord, "customer")}
)
# Customer columns that survive erasure unchanged (no personal data in them).
CUSTOMER_COLUMNS_KEPT = frozenset({"id", "tenant", "created_at"})
PURGE_BATCH = 10_000


# -- audit entries recorded by the application ---------------------------------------------------


def _object_type(object_type: str | type[models.Model]) -> str:
    return object_type if isinstance(object_type, str) else object_type._meta.db_table


def audit_record_reads(
    *,
    object_type: str | type[models.Model],
    object_ids: Iterable[int | str],
    action: str = AuditAction.READ,
    tenant_id: int | None = None,
) -> None:
    """Record that personal data of these objects was read (or exported, or erased) in the current
    store (or in `tenant_id`, for platform-scope pages that show several stores).

    The entry joins the store's chain when the transaction commits, like the triggers' entries;
    a rolled-back request leaves none. Only ids are recorded, never values."""
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}; use one of {', '.join(AuditAction.values)}")
    tenant_id = require_tenant_id() if tenant_id is None else tenant_id
    table = _object_type(object_type)
    ids = [str(object_id) for object_id in object_ids]
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT privacy_audit_enqueue(%s, %s, %s, object_id, '[]'::jsonb, 1) "
            "FROM unnest(%s::text[]) WITH ORDINALITY AS ids(object_id, n) ORDER BY n",
            [tenant_id, str(action), table, ids],
        )


def audit_record_read(
    *, object_type: str | type[models.Model], object_id: int | str, action: str = AuditAction.READ
) -> None:
    """Record one read of personal data (admin change page, API detail, export, erasure)."""
    audit_record_reads(object_type=object_type, object_ids=[object_id], action=action)


def customer_export_zip(customer: Customer) -> bytes:
    """Everything held about `customer` as a zip (customer.json plus one CSV per table); audited."""
    with tenant_context(customer.tenant_id), transaction.atomic():
        data = customer_data_collect(customer=customer)
        store = Tenant.objects.filter(pk=customer.tenant_id).values_list("name", flat=True).first() or ""
        audit_record_read(object_type=Customer, object_id=customer.pk, action=AuditAction.EXPORT)
    return customer_export_archive(data=data, store=store)


# -- erasure -------------------------------------------------------------------------------------


def customer_erase(customer: Customer) -> ErasureRecord:
    """Erase a customer (the storefront's "delete my account"); see `customer_erasure_perform`."""
    return customer_erasure_perform(customer=customer)


def customer_erasure_perform(*, customer: Customer) -> ErasureRecord:
    """Remove a customer's personal data, in one transaction:

    - events (and the anonymous events of the same browsing sessions), follows in both
      directions, precomputed recommendations, predictions and any other row pointing at the
      customer are deleted; orders are kept for accounting, pointing at the anonymized record;
    - every personal column of the record is cleared, consent withdrawn, the external id
      replaced by a random pseudonym, the password removed; Django admin history shows the
      pseudonym instead of the old id;
    - cached per-customer results are purged when the transaction commits, and a retrain is
      queued so the next model no longer knows the customer.
    """
    tenant_id = customer.tenant_id
    with tenant_context(tenant_id), transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        removed: dict[str, int] = {}
        sessions = customer_session_ids(customer=locked)
        if sessions:
            _count(removed, Event.objects.filter(customer__isnull=True, session_id__in=sessions).delete())
            for holder in personal_data_holders():
                if holder.session_field:
                    anonymous = {f"{holder.customer_field}__isnull": True, f"{holder.session_field}__in": sessions}
                    _count(removed, holder.model._base_manager.filter(**anonymous).delete())
        for model, field_name in customer_relations():
            if (model, field_name) not in KEPT_ON_ERASURE:
                _count(removed, model._base_manager.filter(**{field_name: locked}).delete())
        pseudonym = f"erased-{secrets.token_hex(8)}"
        Customer.objects.filter(pk=locked.pk).update(**_anonymized_values(pseudonym))
        # Admin history names objects by str(customer), i.e. the old external id.
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Customer), object_id=str(locked.pk)
        ).update(object_repr=pseudonym)
        actor = current_actor()
        record = ErasureRecord.objects.create(
            customer=locked,
            pseudonym=pseudonym,
            requested_by=actor.as_setting() if actor else "",
            removed={**removed, "orders kept (anonymized)": Order.objects.filter(customer=locked).count()},
            retrain_queued=_queue_retrain(tenant_id),
        )
        audit_record_read(object_type=Customer, object_id=locked.pk, action=AuditAction.ERASE)
        # Purge now, so nothing cached is served from this moment, and again at commit, in case a
        # concurrent request re-cached the old rows before this transaction made them disappear.
        customer_id = locked.pk
        customer_cache_invalidate(tenant_id, customer_id, visitor_ids=sessions)
        transaction.on_commit(lambda: customer_cache_invalidate(tenant_id, customer_id, visitor_ids=sessions))
    return record


def _count(removed: dict[str, int], result: tuple[int, dict[str, int]]) -> None:
    for label, count in result[1].items():
        if count:
            removed[label] = removed.get(label, 0) + count


def _anonymized_values(pseudonym: str) -> dict[str, Any]:
    """A value for every Customer column that may hold personal data: empty, null or default."""
    values: dict[str, Any] = {}
    for field in Customer._meta.concrete_fields:
        if field.name in CUSTOMER_COLUMNS_KEPT:
            continue
        if field.null:
            values[field.name] = None
        elif isinstance(field, models.CharField | models.TextField):
            values[field.name] = ""
        elif field.has_default():
            values[field.name] = field.get_default()
    values.update(external_id=pseudonym, personalization_consent=False, marketing_consent=False)
    return values


def _queue_retrain(tenant_id: int) -> bool:
    """Queue every step whose model learns from customers (`retrain_on_erasure`); whether there was one."""
    from retailsite.tenancy.tasks import enqueue_training
    from retailsite.tenancy.training_steps import training_steps

    steps = [step for step in training_steps() if step.retrain_on_erasure]
    for step in steps:
        # After the commit, and never waited for: the erasure stands whatever happens to the retrain.
        enqueue_training(tenant_id=tenant_id, step_name=step.name, trigger="erasure", background=True)
    return bool(steps)


def customer_consent_set(*, customer: Customer, personalization: bool, marketing: bool) -> Customer:
    """The one way to record a customer's consent choices (storefront privacy centre, staff): saves them and,
    when personalization consent is withdrawn, purges what was derived for personalization at once."""
    with tenant_context(customer.tenant_id), transaction.atomic():
        customer.personalization_consent = personalization
        customer.marketing_consent = marketing
        customer.save(update_fields=["personalization_consent", "marketing_consent"])
        if not personalization:
            customers_personalization_purge(customers=[customer])
    return customer


def customers_personalization_purge(*, customers: Iterable[Customer]) -> int:
    """The one purge for customers without personalization consent (whatever path changed it: the privacy
    centre, the admin, the API, a bulk import): every registered holder's rows marked `purge_without_consent`
    (the precomputed lists) are deleted, and the customers' cache entries invalidated, now and at commit.
    Customers of one store at a time; returns the rows deleted."""
    customers = list(customers)
    if not customers:
        return 0
    tenant_id = customers[0].tenant_id
    if any(customer.tenant_id != tenant_id for customer in customers):
        raise ValueError("customers of one store at a time")
    customer_ids = [customer.pk for customer in customers]
    deleted = 0
    with tenant_context(tenant_id), transaction.atomic():
        for holder in personal_data_holders():
            if holder.purge_without_consent:
                rows = holder.model._base_manager.filter(**{f"{holder.customer_field}_id__in": customer_ids})
                deleted += rows.delete()[0]

        def invalidate_cached() -> None:
            for customer_id in customer_ids:
                customer_cache_invalidate(tenant_id, customer_id)

        # Now, so this request serves nothing cached, and again at commit, in case a concurrent request re-cached
        # from the rows this transaction has not yet made disappear (as erasure does).
        invalidate_cached()
        transaction.on_commit(invalidate_cached)
    return deleted


def personalization_withdrawn_receiver(sender: object, *, customers: Iterable[Customer], **kwargs: object) -> None:
    customers_personalization_purge(customers=customers)


def customers_imported_receiver(sender: object, *, tenant_id: int, **kwargs: object) -> None:
    withheld_consent_purge(tenant_id=tenant_id)


def withheld_consent_purge(*, tenant_id: int) -> int:
    """`customers_personalization_purge` for every customer of the store without personalization consent who
    still has purgeable rows. For writes that change consent in bulk without knowing who changed (the CSV
    import): set-based, and a no-op when nothing is stale, since training never writes lists for such customers."""
    with tenant_context(tenant_id), transaction.atomic():
        stale: set[int] = set()
        for holder in personal_data_holders():
            if holder.purge_without_consent:
                stale.update(
                    holder.model._base_manager.filter(
                        tenant_id=tenant_id, **{f"{holder.customer_field}__personalization_consent": False}
                    )
                    .values_list(f"{holder.customer_field}_id", flat=True)
                    .distinct()
                )
        if not stale:
            return 0
        return customers_personalization_purge(customers=Customer.objects.filter(pk__in=stale))


# -- retention -----------------------------------------------------------------------------------


def personal_data_purge_expired(
    *, tenant: Tenant, now: dt.datetime | None = None, batch_size: int = PURGE_BATCH
) -> dict[str, int]:
    """The retention rule: delete the store's raw events older than its `event_retention_days` (0 keeps them
    all), the rows of every registered holder with a `retention_field` older than the same cutoff (experiment
    exposures), and the sync feed's deletion entries older than `sync_deletion_retention_days`.

    Works in batches, each in its own short transaction (one audit entry per batch), so a large purge neither
    holds locks for long nor undoes everything if interrupted; safe to rerun. Returns the rows purged per kind."""
    now = now or timezone.now()
    purged: dict[str, int] = {}
    days = int(tenant.setting("event_retention_days"))
    with tenant_context(tenant):
        if days > 0:
            cutoff = now - dt.timedelta(days=days)
            purged["events"] = _purge_older(Event.objects.all(), "occurred_at", cutoff, "events", batch_size)
            for holder in personal_data_holders():
                if holder.retention_field:
                    purged[holder.export_name] = _purge_older(
                        holder.model._base_manager.all(),
                        holder.retention_field,
                        cutoff,
                        holder.export_name,
                        batch_size,
                    )
        cutoff = now - dt.timedelta(days=int(tenant.setting("sync_deletion_retention_days")))
        purged["sync deletions"] = _purge_older(
            SyncDeletion.objects.all(), "deleted_at", cutoff, "sync-deletions", batch_size
        )
    return purged


def _purge_older(rows: QuerySet, time_field: str, cutoff: dt.datetime, what: str, batch_size: int) -> int:
    purged = 0
    with acting_as(Actor("system", f"retention:{what}")):
        while True:
            with transaction.atomic():
                batch = list(
                    rows.filter(**{f"{time_field}__lt": cutoff})
                    .order_by(time_field)
                    .values_list("id", flat=True)[:batch_size]
                )
                if batch:
                    rows.filter(id__in=batch).delete()
            purged += len(batch)
            if len(batch) < batch_size:
                return purged


# -- key rotation --------------------------------------------------------------------------------


def encryption_keys_rotate(*, batch_size: int = 2000, progress: Callable[[str, int], None] | None = None) -> int:
    """Re-encrypt every customer's personal fields under the newest key, store by store,
    each store in one transaction. Returns the number of rows rewritten."""
    with platform_context():
        tenants = list(Tenant.objects.all())
    table = Customer._meta.db_table
    columns = ", ".join(ENCRYPTED_CUSTOMER_FIELDS)
    assignments = ", ".join(f"{field} = %s" for field in ENCRYPTED_CUSTOMER_FIELDS)
    rewritten = 0
    for tenant in tenants:
        with tenant_context(tenant), transaction.atomic(), connection.cursor() as cursor:
            # Raw SQL reads the stored tokens as they are; rotation never sees clear text it doesn't need.
            cursor.execute(f"SELECT id, {columns} FROM {table}")
            pending = [(*[rotate(value or "") for value in row[1:]], row[0]) for row in cursor.fetchall()]
            for start in range(0, len(pending), batch_size):
                cursor.executemany(
                    f"UPDATE {table} SET {assignments} WHERE id = %s", pending[start : start + batch_size]
                )
        rewritten += len(pending)
        if progress:
            progress(tenant.slug, len(pending))
    return rewritten
