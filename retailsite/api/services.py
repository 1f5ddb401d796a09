"""Write-side operations of the partner API: API keys, catalog, customers, orders and events.

Every function runs as the current tenant and inside its own `transaction.atomic()`, so a
refusal (InvalidInput, Conflict) leaves nothing behind. Input arrives already shaped and
typed by the API serializers (which reuse the CSV importer's cell parsers); what can only
be checked against the database — unknown ids, duplicates — is checked here, for the whole
request before the first write.

Semantics match `import_data` where they overlap: objects are upserted by external id,
an order's lines are replaced by the ones given, a line without a unit price keeps the
price it had (or takes the product's price), and an event without an id is identified by
the same content hash the importer uses, so re-sending it — or importing it — stores it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from retailsite.commerce.catalog_version import catalog_changed
from retailsite.commerce.importers.kinds.events import event_dedupe_key
from retailsite.commerce.importers.kinds.products import category_path
from retailsite.commerce.models import Category, Customer, Event, Order, OrderLine, Product
from retailsite.privacy.services import customers_personalization_purge
from retailsite.tenancy.context import require_tenant_id

from . import selectors
from .exceptions import Conflict, InvalidInput
from .keys import compose_key, generate_prefix, hash_key
from .models import ApiKey
from .scopes import parse_scopes

ModelT = TypeVar("ModelT", bound=Model)

# last_used_at is written at most this often per key (one UPDATE per minute, not per request).
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_KEY_NAME_LENGTH = ApiKey._meta.get_field("name").max_length

PRODUCT_FIELDS = ("name", "description", "category", "brand", "tags", "price", "cost", "active")
CUSTOMER_FIELDS = (
    "email",
    "name",
    "phone",
    "address",
    "birth_year",
    "gender",
    "city",
    "country",
    "signed_up_at",
    "personalization_consent",
    "marketing_consent",
)
ORDER_FIELDS = ("customer", "ordered_at", "channel")


# -- API keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedApiKey:
    """A newly created key. `raw_key` exists only here: show it once, it is not stored."""

    api_key: ApiKey
    raw_key: str


def api_key_create(*, name: str, scopes: Iterable[str], created_by: AbstractBaseUser | None = None) -> IssuedApiKey:
    """Issue a key for the current store. Raises UnknownScope (a ValueError) for bad scopes."""
    require_tenant_id()
    clean_scopes = parse_scopes(scopes)
    clean_name = name.strip()
    if not clean_name or len(clean_name) > MAX_KEY_NAME_LENGTH:
        raise ValueError(f"a key needs a name of 1 to {MAX_KEY_NAME_LENGTH} characters")
    prefix = generate_prefix()
    while selectors.api_key_prefix_in_use(prefix):  # 48 random bits: practically never loops
        prefix = generate_prefix()
    raw_key = compose_key(prefix)
    api_key = ApiKey.objects.create(
        name=clean_name, prefix=prefix, secret_hash=hash_key(raw_key), scopes=clean_scopes, created_by=created_by
    )
    return IssuedApiKey(api_key=api_key, raw_key=raw_key)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key for good (idempotent); requests with it are refused from now on."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_record_use(*, api_key: ApiKey, now: datetime | None = None) -> None:
    """Remember that the key was used, at most once per LAST_USED_RESOLUTION."""
    now = now or timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


# -- shared ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpsertResult:
    created: list[str]
    updated: list[str]


def _refuse_duplicates(items: Sequence[Mapping[str, Any]], *, key: str, field: str, path: str) -> None:
    first_seen: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        earlier = first_seen.setdefault(item[key], index)
        if earlier != index:
            errors[f"{path}[{index}].{field}"] = [f"{item[key]!r} already appears at {path}[{earlier}]."]
    if errors:
        raise InvalidInput(errors)


def _item_path(path: str, index: int | None) -> str:
    """Where an item's fields live in the request: '' for a single object, 'items[3].' in a batch."""
    return "" if index is None else f"{path}[{index}]."


def _unique_violation(what: str) -> Conflict:
    return Conflict(f"{what} was changed by another request at the same time; retry the request.")


def _upsert_by_external_id(
    model: type[ModelT],
    items: Sequence[Mapping[str, Any]],
    *,
    fields: Sequence[str],
    apply: Callable[[ModelT, Mapping[str, Any]], None],
    bulk: bool = True,
) -> tuple[UpsertResult, list[ModelT]]:
    """Create or fully replace `model` rows by external id. Returns the rows in input order.

    `bulk=False` saves row by row, for models whose save() must run (Customer keeps its
    e-mail blind index in step there).
    """
    tenant_id = require_tenant_id()
    existing = {row.external_id: row for row in model.objects.filter(external_id__in=[i["external_id"] for i in items])}
    rows: list[ModelT] = []
    new: list[ModelT] = []
    changed: list[ModelT] = []
    for item in items:
        row = existing.get(item["external_id"]) or model(tenant_id=tenant_id, external_id=item["external_id"])
        apply(row, item)
        (changed if row.pk else new).append(row)
        rows.append(row)
    if not bulk:
        for row in rows:
            row.save()
    else:
        if new:
            model.objects.bulk_create(new, batch_size=500)
        if changed:
            model.objects.bulk_update(changed, fields=list(fields), batch_size=200)
    return UpsertResult(created=[r.external_id for r in new], updated=[r.external_id for r in changed]), rows


# -- catalog ---------------------------------------------------------------------------------


class _CategoryResolver:
    """Category paths to rows, creating missing levels (parents first), remembered per request."""

    def __init__(self) -> None:
        self._known: dict[str, Category] = {}

    def resolve(self, names: list[str] | None) -> Category | None:
        parent: Category | None = None
        for depth in range(1, len(names or []) + 1):
            path = category_path(names[:depth])
            category = self._known.get(path)
            if category is None:
                category, _ = Category.objects.get_or_create(
                    path=path, defaults={"name": names[depth - 1], "parent": parent}
                )
                self._known[path] = category
            parent = category
        return parent


def _product_applier(categories: _CategoryResolver) -> Callable[[Product, Mapping[str, Any]], None]:
    def apply(product: Product, data: Mapping[str, Any]) -> None:
        for field in PRODUCT_FIELDS:
            if field not in data:
                continue
            if field == "category":
                product.category = categories.resolve(data["category"])
            else:
                setattr(product, field, data[field])

    return apply


def product_create(*, data: Mapping[str, Any]) -> Product:
    """A new product; Conflict if its product_id is taken."""
    if selectors.product_get(product_id=data["external_id"]) is not None:
        raise Conflict(
            f"Product {data['external_id']!r} already exists; change it with PUT or PATCH, or use the bulk upsert."
        )
    try:
        with transaction.atomic():
            _, rows = _upsert_by_external_id(
                Product, [data], fields=PRODUCT_FIELDS, apply=_product_applier(_CategoryResolver())
            )
    except IntegrityError:
        raise _unique_violation(f"Product {data['external_id']!r}") from None
    return rows[0]


def product_update(*, product: Product, data: Mapping[str, Any]) -> Product:
    """Change the given fields (PUT sends them all, PATCH some). The product_id never changes."""
    with transaction.atomic():
        _product_applier(_CategoryResolver())(product, data)
        product.save()
    return product


def product_delete(*, product: Product) -> None:
    """Delete a product; a product with order lines is refused (deactivate it instead)."""
    if product.order_lines.exists():
        raise Conflict(
            f"Product {product.external_id!r} appears in orders and cannot be deleted; set active to false instead."
        )
    with transaction.atomic():
        product.delete()


def product_bulk_upsert(*, items: Sequence[Mapping[str, Any]]) -> UpsertResult:
    """Create or replace up to 1,000 products in one all-or-nothing step."""
    _refuse_duplicates(items, key="external_id", field="product_id", path="items")
    try:
        with transaction.atomic():
            result, _ = _upsert_by_external_id(
                Product, items, fields=PRODUCT_FIELDS, apply=_product_applier(_CategoryResolver())
            )
            catalog_changed(require_tenant_id())  # bulk writes send no model signals
    except IntegrityError:
        raise _unique_violation("A product in this batch") from None
    return result


# -- customers -------------------------------------------------------------------------------


def _apply_customer(customer: Customer, data: Mapping[str, Any]) -> None:
    for field in CUSTOMER_FIELDS:
        if field in data:
            setattr(customer, field, data[field])


def customer_create(*, data: Mapping[str, Any]) -> Customer:
    if selectors.customer_get(customer_id=data["external_id"]) is not None:
        raise Conflict(
            f"Customer {data['external_id']!r} already exists; change it with PUT or PATCH, or use the bulk upsert."
        )
    try:
        with transaction.atomic():
            _, rows = _upsert_by_external_id(
                Customer, [data], fields=CUSTOMER_FIELDS, apply=_apply_customer, bulk=False
            )
    except IntegrityError:
        raise _unique_violation(f"Customer {data['external_id']!r}") from None
    return rows[0]


def _purge_if_consent_withdrawn(customers: Sequence[Customer], items: Sequence[Mapping[str, Any]]) -> None:
    """Customers whose personalization consent this request switches off lose their precomputed lists now."""
    withdrawn = [c for c, item in zip(customers, items, strict=True) if item.get("personalization_consent") is False]
    customers_personalization_purge(customers=withdrawn)


def customer_update(*, customer: Customer, data: Mapping[str, Any]) -> Customer:
    with transaction.atomic():
        _apply_customer(customer, data)
        customer.save()
        _purge_if_consent_withdrawn([customer], [data])
    return customer


def customer_delete(*, customer: Customer) -> None:
    """Delete a customer with their events and follows; their orders stay, without a customer."""
    with transaction.atomic():
        customer.delete()


def customer_bulk_upsert(*, items: Sequence[Mapping[str, Any]]) -> UpsertResult:
    _refuse_duplicates(items, key="external_id", field="customer_id", path="items")
    try:
        with transaction.atomic():
            result, rows = _upsert_by_external_id(
                Customer, items, fields=CUSTOMER_FIELDS, apply=_apply_customer, bulk=False
            )
            _purge_if_consent_withdrawn(rows, items)
    except IntegrityError:
        raise _unique_violation("A customer in this batch") from None
    return result


# -- orders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _OrderReferences:
    customers: dict[str, int]
    products: dict[str, int]
    prices: dict[str, Decimal]


def _order_references(orders: Sequence[Mapping[str, Any]], *, path: str, batch: bool) -> _OrderReferences:
    """Resolve every customer and product id of the orders, or refuse them all with field errors."""
    customer_ids = {o["customer_external_id"] for o in orders if o.get("customer_external_id")}
    product_ids = {line["product_external_id"] for o in orders for line in o.get("lines", ())}
    customers = selectors.customer_ids_existing(customer_ids)
    products = selectors.product_ids_existing(product_ids)
    errors: dict[str, list[str]] = {}
    for index, order in enumerate(orders):
        where = _item_path(path, index if batch else None)
        customer = order.get("customer_external_id")
        if customer and customer not in customers:
            errors[f"{where}customer_id"] = [f"Unknown customer {customer!r}."]
        first_line: dict[str, int] = {}
        for line_index, line in enumerate(order.get("lines", ())):
            product = line["product_external_id"]
            if product not in products:
                errors[f"{where}lines[{line_index}].product_id"] = [f"Unknown product {product!r}."]
            earlier = first_line.setdefault(product, line_index)
            if earlier != line_index:
                errors[f"{where}lines[{line_index}].product_id"] = [
                    f"Product {product!r} is already on line {earlier} of this order; give one line per product."
                ]
    if errors:
        raise InvalidInput(errors)
    return _OrderReferences(customers=customers, products=products, prices=selectors.product_prices(product_ids))


def _write_orders(
    orders: Sequence[Mapping[str, Any]], refs: _OrderReferences, existing: Mapping[str, Order]
) -> UpsertResult:
    """Upsert order headers, then make each order's lines exactly the given ones (when lines are given)."""
    tenant_id = require_tenant_id()
    new: list[Order] = []
    changed: list[Order] = []
    for data in orders:
        order = existing.get(data["external_id"]) or Order(tenant_id=tenant_id, external_id=data["external_id"])
        if "customer_external_id" in data:
            customer = data["customer_external_id"]
            order.customer_id = refs.customers[customer] if customer else None
        for field in ("ordered_at", "channel"):
            if field in data:
                setattr(order, field, data[field])
        (changed if order.pk else new).append(order)
    if new:
        Order.objects.bulk_create(new, batch_size=500)
    if changed:
        Order.objects.bulk_update(changed, fields=["customer_id", "ordered_at", "channel"], batch_size=200)
    with_lines = {o.external_id: o.pk for o in (*new, *changed)}
    wanted = {with_lines[d["external_id"]]: d["lines"] for d in orders if "lines" in d}
    old_lines = {(line.order_id, line.product_id): line for line in OrderLine.objects.filter(order_id__in=list(wanted))}
    keep: set[tuple[int, int]] = set()
    create: list[OrderLine] = []
    update: list[OrderLine] = []
    for order_pk, lines in wanted.items():
        for line in lines:
            product_pk = refs.products[line["product_external_id"]]
            keep.add((order_pk, product_pk))
            current = old_lines.get((order_pk, product_pk))
            price = line.get("unit_price")
            if current is None:
                price = price if price is not None else refs.prices[line["product_external_id"]]
                create.append(
                    OrderLine(
                        tenant_id=tenant_id,
                        order_id=order_pk,
                        product_id=product_pk,
                        quantity=line["quantity"],
                        unit_price=price,
                    )
                )
            else:
                current.quantity = line["quantity"]
                current.unit_price = price if price is not None else current.unit_price
                update.append(current)
    stale = [line.pk for key, line in old_lines.items() if key not in keep]
    if stale:
        OrderLine.objects.filter(pk__in=stale).delete()
    if update:
        OrderLine.objects.bulk_update(update, fields=["quantity", "unit_price"], batch_size=500)
    if create:
        OrderLine.objects.bulk_create(create, batch_size=500)
    return UpsertResult(created=[o.external_id for o in new], updated=[o.external_id for o in changed])


def order_create(*, data: Mapping[str, Any]) -> Order:
    """A new order with its lines; unknown customer or product ids are refused with field errors."""
    if selectors.order_get(order_id=data["external_id"]) is not None:
        raise Conflict(
            f"Order {data['external_id']!r} already exists; change it with PUT or PATCH, or use the bulk upsert."
        )
    refs = _order_references([data], path="", batch=False)
    try:
        with transaction.atomic():
            _write_orders([data], refs, existing={})
    except IntegrityError:
        raise _unique_violation(f"Order {data['external_id']!r}") from None
    return selectors.order_get(order_id=data["external_id"])


def order_update(*, order: Order, data: Mapping[str, Any]) -> Order:
    """Change the given fields; `lines`, when given, replace the order's lines."""
    refs = _order_references([data], path="", batch=False)
    with transaction.atomic():
        _write_orders([{**data, "external_id": order.external_id}], refs, existing={order.external_id: order})
    return selectors.order_get(order_id=order.external_id)


def order_delete(*, order: Order) -> None:
    with transaction.atomic():
        order.delete()


def order_bulk_upsert(*, items: Sequence[Mapping[str, Any]]) -> UpsertResult:
    """Create or replace up to 1,000 orders (each with its full list of lines), all or nothing."""
    _refuse_duplicates(items, key="external_id", field="order_id", path="items")
    refs = _order_references(items, path="items", batch=True)
    existing = {o.external_id: o for o in Order.objects.filter(external_id__in=[i["external_id"] for i in items])}
    try:
        with transaction.atomic():
            return _write_orders(items, refs, existing)
    except IntegrityError:
        raise _unique_violation("An order in this batch") from None


# -- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventIngestResult:
    received: int
    created: int

    @property
    def duplicates(self) -> int:
        return self.received - self.created


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def event_identity(event: Mapping[str, Any], *, idempotency_key: str | None, index: int) -> str:
    """The event's dedupe key: its event_id, else the batch's Idempotency-Key and position, else its content.

    The content hash is the importer's, so an event sent here and imported from CSV is one event.
    """
    if event.get("event_id"):
        return _digest("api-event-id", event["event_id"])
    if idempotency_key:
        return _digest("api-idempotency-key", idempotency_key, str(index))
    value = event.get("value")
    return event_dedupe_key(
        customer=event.get("customer_external_id") or "",
        session=event.get("session_id") or "",
        product=event["product_external_id"],
        event_type=event["event_type"],
        occurred_at_utc=event["occurred_at"].astimezone(UTC).isoformat(),
        value=value,
    )


def events_ingest(
    *, events: Sequence[Mapping[str, Any]], idempotency_key: str | None = None, path: str = "events", batch: bool = True
) -> EventIngestResult:
    """Store behavioural events once each; a retried call (same ids or Idempotency-Key) adds nothing.

    Unknown customer or product ids refuse the whole call with field errors.
    """
    now = timezone.now()
    events = [{**event, "occurred_at": event.get("occurred_at") or now} for event in events]
    customers = selectors.customer_ids_existing(
        e["customer_external_id"] for e in events if e.get("customer_external_id")
    )
    products = selectors.product_ids_existing(e["product_external_id"] for e in events)
    errors: dict[str, list[str]] = {}
    for index, event in enumerate(events):
        where = _item_path(path, index if batch else None)
        customer = event.get("customer_external_id")
        if customer and customer not in customers:
            errors[f"{where}customer_id"] = [f"Unknown customer {customer!r}."]
        if event["product_external_id"] not in products:
            errors[f"{where}product_id"] = [f"Unknown product {event['product_external_id']!r}."]
    if errors:
        raise InvalidInput(errors)
    tenant_id = require_tenant_id()
    by_key: dict[str, Event] = {}
    for index, event in enumerate(events):
        key = event_identity(event, idempotency_key=idempotency_key, index=index)
        if key in by_key:
            continue  # the same event twice in one call is stored once
        customer = event.get("customer_external_id")
        by_key[key] = Event(
            tenant_id=tenant_id,
            dedupe_key=key,
            customer_id=customers[customer] if customer else None,
            session_id=event.get("session_id") or "",
            product_id=products[event["product_external_id"]],
            event_type=event["event_type"],
            value=event.get("value"),
            occurred_at=event["occurred_at"],
            recommendation_id=event.get("recommendation_id") or "",
        )
    stored = set(Event.objects.filter(dedupe_key__in=list(by_key)).values_list("dedupe_key", flat=True))
    new = [event for key, event in by_key.items() if key not in stored]
    with transaction.atomic():
        # ignore_conflicts: a concurrent retry of the same call may have stored some meanwhile.
        Event.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    return EventIngestResult(received=len(events), created=len(new))
