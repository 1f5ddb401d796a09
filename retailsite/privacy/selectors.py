"""Read side of the privacy app: everything held about one customer, and the audit trail of an object.

`customer_data_collect` is what a data-subject export contains. Other apps' tables about the
customer come from the registry of personal-data holders (`holders.py`); tables it does not know
at all but that point at the customer (another app's new model) are still included, as plain
rows, so an export never silently misses data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Model, QuerySet

from retailsite.commerce.models import CUSTOMER_FIELDS, Customer, Event, Follow, Order, OrderLine

from .holders import personal_data_holders
from .models import AuditLogEntry, ErasureRecord

CONSENT_FIELDS = ("personalization_consent", "marketing_consent")
# Every field of the customer record (the one list the services and imports write), consents shown apart.
PROFILE_FIELDS = ("external_id", *(name for name in CUSTOMER_FIELDS if name not in CONSENT_FIELDS), "created_at")
# Relations to Customer that the export shows in their own sections (besides the registered holders').
KNOWN_RELATIONS = {
    (Order, "customer"),
    (Event, "customer"),
    (Follow, "follower"),
    (Follow, "followee"),
    (ErasureRecord, "customer"),
}
EVENT_FIELDS = ("occurred_at", "event_type", "product__external_id", "product__name", "value", "session_id")


def _plain(value: Any) -> Any:
    """JSON- and CSV-friendly values: ISO times, decimals as strings."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@dataclass
class CustomerData:
    """Everything the store holds about one customer, as plain values (tables as lists of dicts)."""

    profile: dict[str, Any]
    consent: dict[str, bool]
    orders: list[dict[str, Any]] = field(default_factory=list)  # each with "lines"
    events: list[dict[str, Any]] = field(default_factory=list)
    following: list[dict[str, Any]] = field(default_factory=list)
    followers: list[dict[str, Any]] = field(default_factory=list)
    # Anonymous events of the customer's browsing sessions: erasure deletes them as the customer's.
    session_events: list[dict[str, Any]] = field(default_factory=list)
    held: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per registered holder's export_name
    other_records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def customer_relations() -> list[tuple[type[Model], str]]:
    """(model, field name) of every foreign key to Customer, from the installed models (including
    those declared with related_name="+", which Django hides from `related_objects`)."""
    return [
        (rel.related_model, rel.field.name)  # type: ignore[misc,union-attr]
        for rel in Customer._meta.get_fields(include_hidden=True)
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
    ]


def _scoped(model: type[Model]) -> QuerySet:
    return model.objects.all() if hasattr(model, "objects") else model._base_manager.all()


def customer_data_collect(*, customer: Customer) -> CustomerData:
    """Run in the customer's store (tenant context); a few queries, none per row."""
    data = CustomerData(
        profile={name: _plain(getattr(customer, name)) for name in PROFILE_FIELDS},
        consent={name: bool(getattr(customer, name)) for name in CONSENT_FIELDS},
    )
    orders = list(Order.objects.filter(customer=customer).order_by("ordered_at", "id"))
    lines_by_order: dict[int, list[dict[str, Any]]] = {}
    for line in (
        OrderLine.objects.filter(order__customer=customer)
        .values("order_id", "product__external_id", "product__name", "quantity", "unit_price")
        .order_by("order_id", "id")
    ):
        lines_by_order.setdefault(line["order_id"], []).append(
            {
                "product_id": line["product__external_id"],
                "product_name": line["product__name"],
                "quantity": line["quantity"],
                "unit_price": _plain(line["unit_price"]),
            }
        )
    data.orders = [
        {
            "order_id": order.external_id,
            "ordered_at": _plain(order.ordered_at),
            "channel": order.channel,
            "lines": lines_by_order.get(order.pk, []),
        }
        for order in orders
    ]
    data.events = [
        _event(row)
        for row in Event.objects.filter(customer=customer).order_by("occurred_at", "id").values(*EVENT_FIELDS)
    ]
    sessions = customer_session_ids(customer=customer)
    data.session_events = [
        _event(row)
        for row in Event.objects.filter(customer__isnull=True, session_id__in=sessions)
        .order_by("occurred_at", "id")
        .values(*EVENT_FIELDS)
    ]
    data.following = [
        {"customer_id": row["followee__external_id"], "since": _plain(row["created_at"])}
        for row in Follow.objects.filter(follower=customer)
        .order_by("created_at")
        .values("followee__external_id", "created_at")
    ]
    data.followers = [
        {"customer_id": row["follower__external_id"], "since": _plain(row["created_at"])}
        for row in Follow.objects.filter(followee=customer)
        .order_by("created_at")
        .values("follower__external_id", "created_at")
    ]
    holders = personal_data_holders()
    for holder in holders:
        data.held[holder.export_name] = [
            {key: _plain(value) for key, value in row.items()} for row in holder.export_rows(customer)
        ]
    known = KNOWN_RELATIONS | {(holder.model, holder.customer_field) for holder in holders}
    for model, field_name in customer_relations():
        if (model, field_name) in known:
            continue
        rows = list(_scoped(model).filter(**{field_name: customer}).values())
        if rows:
            data.other_records[f"{model._meta.label}.{field_name}"] = [
                {key: _plain(value) for key, value in row.items()} for row in rows
            ]
    return data


def customer_session_ids(*, customer: Customer) -> set[str]:
    """The browsing sessions the customer's events were recorded in (their anonymous events there count as theirs)."""
    return set(
        Event.objects.filter(customer=customer).exclude(session_id="").values_list("session_id", flat=True).distinct()
    )


def _event(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "occurred_at": _plain(row["occurred_at"]),
        "event_type": row["event_type"],
        "product_id": row["product__external_id"],
        "product_name": row["product__name"],
        "value": row["value"],
        "session_id": row["session_id"],
    }


def audit_entries_for_object(*, object_type: str, object_id: int | str) -> QuerySet[AuditLogEntry]:
    """The audit trail of one object in the current store, newest first."""
    return AuditLogEntry.objects.filter(object_type=object_type, object_id=str(object_id)).order_by("-seq")
