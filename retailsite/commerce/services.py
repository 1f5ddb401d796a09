"""The one write path of commerce data: products and categories, customers, orders and behavioural events.

Every caller writes through here: the partner API (single objects and bulk upserts), the storefront
(sign-up, consent, checkout, events it records), the admin and the importer's row path. Every function
runs as the current tenant (the tenant-scoped managers and row-level security see to that) and does its
writes in one `transaction.atomic()` block, so a refusal (retailsite.errors.InvalidInput or Conflict, or
the storefront's own refusals) leaves nothing behind; what can only be checked against the database —
unknown ids, duplicates — is checked for the whole call before the first write.

Semantics match `import_data` where they overlap: objects are upserted by external id, an order's lines
are replaced by the ones given, a line without a unit price keeps the price it had (or takes the
product's price), and an event without an id is identified by the same content hash the importer uses,
so re-sending it — or importing it — stores it once. Behaviour of shoppers who withdrew personalization
consent is not recorded.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from retailsite.buffered_writes import FLUSH_BATCH, customers_still_consenting
from retailsite.errors import Conflict, InvalidInput
from retailsite.tenancy.context import require_tenant_id, tenant_context

from . import selectors
from .catalog_version import catalog_changed
from .importers.kinds.events import event_dedupe_key
from .importers.kinds.products import category_path
from .models import (
    CUSTOMER_FIELDS,
    PRODUCT_FIELDS,
    Category,
    Customer,
    Event,
    EventType,
    Order,
    OrderLine,
    Product,
)
from .signals import personalization_withdrawn

ModelT = TypeVar("ModelT", bound=Model)

MAX_LINE_QUANTITY = 99
WEB_CHANNEL = "web"


class EmailAlreadyRegistered(ValueError):
    """A customer of this store already uses the e-mail address."""


class CheckoutRefused(ValueError):
    """The cart cannot be turned into an order (empty, unavailable product, bad quantity)."""


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
    wanted = [item["external_id"] for item in items]
    existing = {row.external_id: row for row in model._default_manager.filter(external_id__in=wanted)}  # type: ignore[attr-defined]
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
            model._default_manager.bulk_create(new, batch_size=500)
        if changed:
            model._default_manager.bulk_update(changed, fields=list(fields), batch_size=200)
    created = [r.external_id for r in new]  # type: ignore[attr-defined]
    updated = [r.external_id for r in changed]  # type: ignore[attr-defined]
    return UpsertResult(created=created, updated=updated), rows


# -- catalog ---------------------------------------------------------------------------------


class _CategoryResolver:
    """Category paths to rows, creating missing levels (parents first), remembered per request."""

    def __init__(self) -> None:
        self._known: dict[str, Category] = {}

    def resolve(self, names: list[str] | None) -> Category | None:
        parent: Category | None = None
        names = names or []
        for depth in range(1, len(names) + 1):
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
    if selectors.product_get_by_external_id(data["external_id"]) is not None:
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


def product_save(*, product: Product) -> Product:
    """Save a product edited in place (the admin's form has set its fields)."""
    with transaction.atomic():
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
    if selectors.customer_get_by_external_id(data["external_id"]) is not None:
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
    if withdrawn:
        personalization_withdrawn.send(sender=Customer, customers=withdrawn)  # privacy purges what they hold


def customer_update(*, customer: Customer, data: Mapping[str, Any]) -> Customer:
    with transaction.atomic():
        _apply_customer(customer, data)
        customer.save()
        _purge_if_consent_withdrawn([customer], [data])
    return customer


def customer_save(*, customer: Customer, changed_fields: Sequence[str]) -> Customer:
    """Save a customer edited in place (the admin's form has set its fields); a withdrawn
    personalization consent drops their precomputed lists, as on every other path."""
    with transaction.atomic():
        customer.save()
        if "personalization_consent" in changed_fields:
            _purge_if_consent_withdrawn([customer], [{"personalization_consent": customer.personalization_consent}])
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
    customers = selectors.customer_pks_by_external_id(customer_ids)
    products = selectors.product_pks_by_external_id(product_ids)
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
    return _OrderReferences(
        customers=customers, products=products, prices=selectors.product_prices_by_external_id(product_ids)
    )


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
    _replace_order_lines({with_lines[d["external_id"]]: d["lines"] for d in orders if "lines" in d}, refs)
    return UpsertResult(created=[o.external_id for o in new], updated=[o.external_id for o in changed])


def _replace_order_lines(wanted: Mapping[int, Sequence[Mapping[str, Any]]], refs: _OrderReferences) -> None:
    """Make each order's lines exactly the given ones (by order pk); a line without a unit price keeps the price it
    had, or takes the product's price when it is new."""
    tenant_id = require_tenant_id()
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


def order_create(*, data: Mapping[str, Any]) -> Order:
    """A new order with its lines; unknown customer or product ids are refused with field errors."""
    if selectors.order_get_by_external_id(data["external_id"]) is not None:
        raise Conflict(
            f"Order {data['external_id']!r} already exists; change it with PUT or PATCH, or use the bulk upsert."
        )
    refs = _order_references([data], path="", batch=False)
    try:
        with transaction.atomic():
            _write_orders([data], refs, existing={})
    except IntegrityError:
        raise _unique_violation(f"Order {data['external_id']!r}") from None
    return _written_order(data["external_id"])


def order_update(*, order: Order, data: Mapping[str, Any]) -> Order:
    """Change the given fields; `lines`, when given, replace the order's lines."""
    refs = _order_references([data], path="", batch=False)
    with transaction.atomic():
        _write_orders([{**data, "external_id": order.external_id}], refs, existing={order.external_id: order})
    return _written_order(order.external_id)


def _written_order(external_id: str) -> Order:
    """The order just written, with its lines (as the selectors load it)."""
    order = selectors.order_get_by_external_id(external_id)
    if order is None:  # pragma: no cover - written in this transaction
        raise LookupError(f"order {external_id!r} was not written")
    return order


def order_lines_check(*, lines: Sequence[Mapping[str, Any]]) -> None:
    """Refuse (InvalidInput, paths `lines[i].product_id`) the lines `order_save` would refuse: an unknown product,
    a product on two lines. For forms, which must show a refusal before anything is saved."""
    _order_references([{"lines": lines}], path="", batch=False)


def order_save(*, order: Order, lines: Sequence[Mapping[str, Any]] | None) -> Order:
    """Save an order edited in place (the admin's form has set its fields) and, unless `lines` is None, make its
    lines exactly these (`product_external_id`, `quantity`, `unit_price` or None) by the rules of every other path:
    lines not given are removed, a line without a unit price keeps its price or takes the product's, and refusals
    (order_lines_check) come before any write."""
    refs = _order_references([{"lines": lines or ()}], path="", batch=False)
    with transaction.atomic():
        order.save()
        if lines is not None:
            _replace_order_lines({order.pk: lines}, refs)
    return order


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
    customers = selectors.customer_pks_by_external_id(
        e["customer_external_id"] for e in events if e.get("customer_external_id")
    )
    products = selectors.product_pks_by_external_id(e["product_external_id"] for e in events)
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


@dataclass(frozen=True)
class RecordedEvent:
    """An event the storefront recorded, waiting in its buffer (JSON values only): ids resolved, identity
    (`dedupe_key`, from `event_identity`) fixed when it happened."""

    tenant_id: int
    customer_id: int | None
    session_id: str
    product_id: int
    event_type: str
    occurred_at: str  # ISO 8601, UTC
    recommendation_id: str
    dedupe_key: str


def events_write_recorded(events: Sequence[RecordedEvent]) -> int:
    """Store recorded events (any stores'), each once: the storefront buffer's flush (`storefront/event_buffer.py`).
    Events of products deleted meanwhile, or of customers erased or without personalization consent by now, are
    dropped (the consent check share-locks the customers, so an erasure under way waits and then deletes them).

    Returns how many rows were new.
    """
    by_tenant: dict[int, list[RecordedEvent]] = defaultdict(list)
    for event in events:
        by_tenant[event.tenant_id].append(event)
    created = 0
    for tenant_id, recorded in by_tenant.items():
        with tenant_context(tenant_id), transaction.atomic():
            products = set(Product.objects.filter(pk__in={e.product_id for e in recorded}).values_list("pk", flat=True))
            customers = customers_still_consenting(e.customer_id for e in recorded if e.customer_id is not None)
            unique = {event.dedupe_key: event for event in recorded}.values()
            rows = [
                Event(
                    tenant_id=tenant_id,
                    customer_id=e.customer_id,
                    session_id=e.session_id,
                    product_id=e.product_id,
                    event_type=e.event_type,
                    occurred_at=datetime.fromisoformat(e.occurred_at),
                    recommendation_id=e.recommendation_id,
                    dedupe_key=e.dedupe_key,
                )
                for e in unique
                if e.product_id in products
                and (e.customer_id is None or e.customer_id in customers)
                and (e.customer_id is not None or e.session_id)
            ]
            created += len(Event.objects.bulk_create(rows, batch_size=FLUSH_BATCH, ignore_conflicts=True))
    return created


# -- shopper accounts --------------------------------------------------------------------------


def customer_sign_up(*, email: str, password: str, name: str = "", marketing_consent: bool = False) -> Customer:
    """Create a shopper account in the current store.

    Raises EmailAlreadyRegistered when the address is taken in this store — including by a
    customer imported without a password: claiming that history needs a verified e-mail, which
    this flow does not have. Raises django ValidationError when the password is too weak.
    """
    require_tenant_id()
    email = selectors.normalized_email(email)
    validate_password(password)
    if selectors.customer_get_by_email(email) is not None:
        raise EmailAlreadyRegistered(email)
    with transaction.atomic():
        return Customer.objects.create(
            external_id=f"web-{secrets.token_hex(8)}",
            email=email,
            name=name.strip(),
            password=make_password(password),
            signed_up_at=timezone.now(),
            personalization_consent=True,
            marketing_consent=marketing_consent,
        )


def customer_check_credentials(*, email: str, password: str) -> Customer | None:
    """The current store's customer if the e-mail and password match, else None.

    A miss hashes the password anyway, so an unknown address costs as long as a wrong password.
    """
    customer = selectors.customer_get_by_email(email)
    if customer is None or not customer.password:
        make_password(password)
        return None
    return customer if check_password(password, customer.password) else None


# -- checkout ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartLine:
    """One line of a cart: the product's database id, how many, and the recommendation that led to it."""

    product_id: int
    quantity: int
    recommendation_id: str = ""


def _purchase_dedupe_key(order_external_id: str, product_external_id: str) -> str:
    # One purchase event per order line: placing the same order again can never count twice.
    return hashlib.sha256(f"storefront-purchase\x1f{order_external_id}\x1f{product_external_id}".encode()).hexdigest()


def order_place(
    *, customer: Customer, lines: Sequence[CartLine], session_id: str = "", channel: str = WEB_CHANNEL
) -> Order:
    """Turn a cart into a real order of the current store, at the products' current prices.

    Writes the order, one line per product (quantities of repeated products are added up) and,
    when the customer consents to personalization, one purchase event per line carrying the
    recommendation id that led to it (conversion attribution). Raises CheckoutRefused when the
    cart is empty, a quantity is out of range, or a product is unknown or no longer sold.
    """
    tenant_id = require_tenant_id()
    quantities: dict[int, int] = {}
    attribution: dict[int, str] = {}
    for line in lines:
        if line.quantity < 1:
            raise CheckoutRefused("Every quantity must be at least 1.")
        quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
        if line.recommendation_id and line.product_id not in attribution:
            attribution[line.product_id] = line.recommendation_id
    if not quantities:
        raise CheckoutRefused("Your cart is empty.")
    if any(quantity > MAX_LINE_QUANTITY for quantity in quantities.values()):
        raise CheckoutRefused(f"At most {MAX_LINE_QUANTITY} of one product per order.")
    with transaction.atomic():
        products = {p.pk: p for p in Product.objects.select_for_update().filter(pk__in=list(quantities))}
        unavailable = [pid for pid in quantities if pid not in products or not products[pid].active]
        if unavailable:
            names = ", ".join(products[pid].name for pid in unavailable if pid in products) or "a product"
            raise CheckoutRefused(f"No longer available: {names}. Remove it from your cart to continue.")
        now = timezone.now()
        order = Order.objects.create(
            external_id=f"{channel}-{now:%Y%m%d}-{secrets.token_hex(5).upper()}",
            customer=customer,
            ordered_at=now,
            channel=channel,
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    tenant_id=tenant_id, order=order, product_id=pid, quantity=quantity, unit_price=products[pid].price
                )
                for pid, quantity in quantities.items()
            ]
        )
        if customer.personalization_consent:
            Event.objects.bulk_create(
                [
                    Event(
                        tenant_id=tenant_id,
                        customer=customer,
                        session_id=session_id,
                        product_id=pid,
                        event_type=EventType.PURCHASE,
                        occurred_at=now,
                        dedupe_key=_purchase_dedupe_key(order.external_id, products[pid].external_id),
                        recommendation_id=attribution.get(pid, "")[:64],
                    )
                    for pid, quantity in quantities.items()
                ]
            )
    return order
