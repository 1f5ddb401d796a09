"""The audit log (append-only, hash-chained per store) and the record of each erasure.

`AuditLogEntry` rows are written by the database, never by the ORM: PostgreSQL triggers on
every tenant table (and `services.audit_record_read` for reads) queue an entry in
`AuditPending`, and a deferred trigger seals the queue at commit — it numbers each entry in
its store's chain and hashes it onto the previous one (see `triggers.py` and `audit.py`).
The application role may insert and read audit rows; UPDATE and DELETE are revoked.
"""

from __future__ import annotations

from django.db import models

from retailsite.commerce.models import Customer
from retailsite.tenancy.managers import TenantManager
from retailsite.tenancy.models import Tenant, TenantOwnedModel


class AuditAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    READ = "read", "Read personal data"
    EXPORT = "export", "Export personal data"
    ERASE = "erase", "Erase personal data"


class AuditLogEntry(models.Model):
    """One audited action. Never holds personal values: changed field names only."""

    # No database foreign key: the log outlives a deleted store, and deleting a store must not
    # try to delete its log (which the database refuses).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", editable=False
    )
    seq = models.BigIntegerField(help_text="position in the store's chain, from 1, without gaps")
    occurred_at = models.DateTimeField()
    actor = models.TextField(help_text='"user:<id>", "api_key:<prefix>", "system:<task>", "anonymous:", "db:<role>"')
    action = models.TextField(choices=AuditAction.choices)
    object_type = models.TextField(help_text="table name, e.g. commerce_customer")
    object_id = models.TextField(blank=True, help_text="primary key; empty for a statement-level entry")
    changed_fields = models.JSONField(default=list, blank=True, help_text="names only, never values")
    row_count = models.BigIntegerField(default=1, help_text="rows the statement touched (statement-level tables)")
    request_id = models.TextField(blank=True)
    client_ip = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = TenantManager()
    all_objects = models.Manager()  # noqa: DJ012 - unscoped, still bound by row-level security

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        ordering = ["-seq"]
        base_manager_name = "all_objects"
        constraints = [models.UniqueConstraint(fields=["tenant", "seq"], name="auditlog_tenant_seq_uniq")]
        indexes = [
            models.Index(fields=["tenant", "object_type", "object_id"], name="auditlog_tenant_object_idx"),
            models.Index(fields=["tenant", "occurred_at"], name="auditlog_tenant_time_idx"),
        ]

    def __str__(self) -> str:
        target = f"#{self.object_id}" if self.object_id else f" ({self.row_count} rows)"
        return f"#{self.seq} {self.action} {self.object_type}{target} by {self.actor}"


class AuditPending(models.Model):
    """Entries of the open transaction, waiting to be chained when it commits (UNLOGGED, always
    empty outside a transaction). Queuing instead of chaining at once keeps the per-store chain
    lock to the moment of commit, so a long import does not hold up the storefront's writes."""

    tenant_id = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    actor = models.TextField()
    action = models.TextField()
    object_type = models.TextField()
    object_id = models.TextField(blank=True)
    changed_fields = models.JSONField(default=list)
    row_count = models.BigIntegerField(default=1)
    request_id = models.TextField(blank=True)
    client_ip = models.TextField(blank=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"pending {self.action} {self.object_type}#{self.object_id}"


class ErasureRecord(TenantOwnedModel):
    """Proof that a customer was erased: when, by whom, what was removed. No personal values."""

    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the anonymized record that orders still point at",
    )
    pseudonym = models.CharField(max_length=40, help_text="the random id that replaced the external id")
    erased_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.TextField(blank=True, help_text="the actor, as in the audit log")
    removed = models.JSONField(default=dict, blank=True, help_text="rows deleted per table, orders kept")
    retrain_queued = models.BooleanField(default=False)

    class Meta:
        ordering = ["-erased_at"]
        indexes = [models.Index(fields=["tenant", "-erased_at"], name="erasure_tenant_time_idx")]

    def __str__(self) -> str:
        return f"erasure of {self.pseudonym} at {self.erased_at:%Y-%m-%d %H:%M}"
