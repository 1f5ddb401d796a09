"""Who is shopping: the signed-in customer of this store (if any), a per-store visitor id, and consent.

Everything lives in the Django session under keys that carry the store's id, so one browser
can be signed in to store A and anonymous in store B, and nothing of A is visible at B. The
customer id read from the session is looked up through the tenant-scoped manager, so an id
that belongs to another store simply finds nobody.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.http import HttpRequest

from retailsite.commerce.models import Customer
from retailsite.tenancy.models import Tenant

from .selectors import customer_with_activity, shopper_activity_stamp


def _customer_key(tenant_id: int) -> str:
    return f"shopper:{tenant_id}:customer"


def _visitor_key(tenant_id: int) -> str:
    return f"shopper:{tenant_id}:visitor"


def _anonymous_consent_key(tenant_id: int) -> str:
    return f"shopper:{tenant_id}:personalization"


@dataclass(frozen=True)
class Shopper:
    """The person behind a storefront request, as the recommendation and event code needs them."""

    tenant: Tenant
    customer: Customer | None
    # Anonymous behaviour is tied to this id (Event.session_id). It is a random value kept in the
    # session, not the session key itself: it survives the key change at sign-in, and events never
    # hold a credential that could take over the session.
    visitor_id: str
    personalized: bool
    # With `with_activity`: what the home page's cached sections are checked against (see selectors).
    activity: str | None = None

    @property
    def customer_id(self) -> int | None:
        return self.customer.pk if self.customer is not None else None

    @property
    def signed_in(self) -> bool:
        return self.customer is not None

    @property
    def serving_customer_id(self) -> int | None:
        """The id to give the recommenders: none at all without personalization consent."""
        return self.customer_id if self.personalized else None

    @property
    def serving_session_id(self) -> str:
        return self.visitor_id if self.personalized else ""


def session_customer_id(request: HttpRequest) -> int | None:
    """The id of the customer signed in to this store in the session (not checked against the database)."""
    return request.session.get(_customer_key(request.tenant.pk))  # type: ignore[attr-defined]


def shopper_for_request(request: HttpRequest, *, with_activity: bool = False) -> Shopper:
    """Resolve the shopper, creating the visitor id (and so the session) on the first visit."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    session = request.session
    visitor_id = session.get(_visitor_key(tenant.pk))
    if not visitor_id:
        visitor_id = f"v-{secrets.token_hex(12)}"
        session[_visitor_key(tenant.pk)] = visitor_id
    customer = None
    customer_pk = session.get(_customer_key(tenant.pk))
    activity = None
    if customer_pk is not None:
        if with_activity:
            customer = customer_with_activity(customer_id=customer_pk, visitor_id=visitor_id)
            activity = customer.activity if customer is not None else None  # type: ignore[attr-defined]
        else:
            customer = Customer.objects.filter(pk=customer_pk).first()
        if customer is None:  # erased, or not of this store: forget it
            session.pop(_customer_key(tenant.pk), None)
    if customer is not None:
        personalized = customer.personalization_consent
    else:
        personalized = bool(session.get(_anonymous_consent_key(tenant.pk), True))
    if with_activity and activity is None:
        activity = shopper_activity_stamp(customer_id=customer.pk if customer else None, visitor_id=visitor_id)
    return Shopper(
        tenant=tenant, customer=customer, visitor_id=visitor_id, personalized=personalized, activity=activity
    )


def shopper_sign_in(request: HttpRequest, customer: Customer) -> None:
    """Remember the customer for this store only; a new session key defeats session fixation."""
    tenant_id = request.tenant.pk  # type: ignore[attr-defined]
    request.session.cycle_key()
    request.session[_customer_key(tenant_id)] = customer.pk


def shopper_sign_out(request: HttpRequest) -> None:
    """Sign out of this store (other stores' sign-ins and the cart's session stay as they are)."""
    tenant_id = request.tenant.pk  # type: ignore[attr-defined]
    request.session.pop(_customer_key(tenant_id), None)
    request.session.cycle_key()


def anonymous_personalization_set(request: HttpRequest, enabled: bool) -> None:
    """An anonymous visitor's personalization choice, kept for this store in their session."""
    request.session[_anonymous_consent_key(request.tenant.pk)] = enabled  # type: ignore[attr-defined]
