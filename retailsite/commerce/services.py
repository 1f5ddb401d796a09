"""Write-side commerce operations used by the storefront: shopper accounts, consent and checkout.

Every function runs as the current tenant (the tenant-scoped managers and row-level security
see to that) and does its writes in one `transaction.atomic()` block, so a refusal leaves
nothing behind. Behaviour of shoppers who withdrew personalization consent is not recorded.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from retailsite.privacy.crypto import blind_index
from retailsite.tenancy.context import require_tenant_id

from .models import Customer, Event, EventType, Order, OrderLine, Product

MAX_LINE_QUANTITY = 99
WEB_CHANNEL = "web"


class EmailAlreadyRegistered(ValueError):
    """A customer of this store already uses the e-mail address."""


class CheckoutRefused(ValueError):
    """The cart cannot be turned into an order (empty, unavailable product, bad quantity)."""


# -- shopper accounts --------------------------------------------------------------------------


def _normalized_email(email: str) -> str:
    return email.strip().lower()


def customer_get_by_email(*, email: str) -> Customer | None:
    """The current store's customer with this e-mail (looked up through its blind index)."""
    email_hash = blind_index(_normalized_email(email))
    if not email_hash:
        return None
    return Customer.objects.filter(email_hash=email_hash).order_by("pk").first()


def customer_sign_up(*, email: str, password: str, name: str = "", marketing_consent: bool = False) -> Customer:
    """Create a shopper account in the current store.

    Raises EmailAlreadyRegistered when the address is taken in this store — including by a
    customer imported without a password: claiming that history needs a verified e-mail, which
    this flow does not have. Raises django ValidationError when the password is too weak.
    """
    require_tenant_id()
    email = _normalized_email(email)
    validate_password(password)
    if customer_get_by_email(email=email) is not None:
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
    customer = customer_get_by_email(email=email)
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
