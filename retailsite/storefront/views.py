"""Storefront pages. The tenant comes from the path or mapped domain (TenantMiddleware); the shopper
from the session (`shopper.py`). Views stay thin: they validate input with forms and call the
serving API, the selectors and the services.

Bad input never reaches the database unchecked and always ends in a 4xx page: malformed forms
400, unknown or another store's products 404, wrong method 405, missing CSRF token 403.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from recommendations.serving import serving_request
from retailsite.commerce.catalog_snapshot import catalog_snapshot
from retailsite.commerce.models import EventType
from retailsite.commerce.services import (
    CheckoutRefused,
    EmailAlreadyRegistered,
    customer_check_credentials,
    customer_sign_up,
    order_place,
)
from retailsite.memo import BoundedMemo
from retailsite.privacy.services import customer_consent_set
from retailsite.tenancy.context import Actor, current_actor, set_actor_for_request
from retailsite.tenancy.middleware import audit_client_ip

from . import selectors
from .cart import SessionCart
from .category_page import category_place, category_popular_order
from .forms import CartAddForm, CartUpdateForm, ConsentForm, SearchForm, SignInForm, SignUpForm
from .links import safe_next_url, store_url
from .page_shell import render_storefront_page
from .product_page import product_page_parts
from .ratelimit import (
    is_known_browser,
    remember_browser,
    sign_in_failed,
    sign_in_refusal,
    sign_in_succeeded,
    sign_up_email_taken,
    sign_up_refused,
)
from .sections import (
    PERSONALIZATION_OFF_NOTE,
    RERANK_POOL,
    cards_html,
    home_sections_html,
    ranked_cards,
)
from .services import clean_recommendation_id, shopper_event_record
from .shopper import (
    Shopper,
    anonymous_personalization_set,
    session_customer_id,
    shopper_for_request,
    shopper_sign_in,
    shopper_sign_out,
)

CATEGORY_PAGE_SIZE = 24
SEARCH_RESULTS = 48

StorefrontView = Callable[..., HttpResponse]


def storefront_view(view: StorefrontView | None = None, *, with_activity: bool = False) -> Any:
    """Resolve the shopper for every storefront view; the `store` slug was already used by the middleware.

    `@storefront_view(with_activity=True)` also reads the shopper's activity stamp with the customer.
    """
    if view is None:
        return lambda wrapped: storefront_view(wrapped, with_activity=with_activity)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, store: str | None = None, **kwargs: Any) -> HttpResponse:
        # What a signed-in shopper's requests write (orders, consent, erasure) is attributed to them in the
        # audit log; set before the customer is read, so the database gets the actor with the first query.
        # TenantMiddleware restores the previous actor when the request ends.
        previous = current_actor()
        customer_id = session_customer_id(request)
        if customer_id is not None:
            set_actor_for_request(
                Actor(
                    "shopper",
                    str(customer_id),
                    getattr(request, "request_id", ""),
                    audit_client_ip(_client_ip(request)),
                )
            )
        if request.method not in ("GET", "HEAD"):
            return _with_shopper(view, request, customer_id, previous, with_activity, args, kwargs)
        # A page's reads in one transaction: the store is set on the connection once, one commit at the end.
        # TenantMiddleware has already opened it; no savepoint inside it (two round trips that protect nothing:
        # an error in a page's reads fails the page).
        with transaction.atomic(savepoint=False):
            return _with_shopper(view, request, customer_id, previous, with_activity, args, kwargs)

    return wrapper


def _with_shopper(
    view: StorefrontView,
    request: HttpRequest,
    customer_id: int | None,
    previous: Actor | None,
    with_activity: bool,
    args: tuple,
    kwargs: dict[str, Any],
) -> HttpResponse:
    shopper = shopper_for_request(request, with_activity=with_activity)
    if customer_id is not None and shopper.customer is None and previous is not None:
        set_actor_for_request(previous)  # nobody by that id (erased): not a shopper after all
    return view(request, shopper, *args, **kwargs)


def _page(
    request: HttpRequest, shopper: Shopper, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a storefront page with what the shared layout needs (store, shopper, cart, navigation); the layout
    itself is kept per store and kind of shopper (`page_shell`)."""
    cart_count = SessionCart(request).item_count()
    name = shopper.customer.name if shopper.customer is not None else ""
    on_search = request.resolver_match is not None and request.resolver_match.url_name == "search"
    layout = {
        "tenant": shopper.tenant,
        "shopper": shopper,
        "cart_count": cart_count,
        "cart_count_plural": "" if cart_count == 1 else "s",
        "nav_html": _nav_html(request),
        "search_query": (request.GET.get("q") or "") if on_search else "",
        "greeting": f"Hi, {name}" if name else "Hi",
        "personalization_off_note": PERSONALIZATION_OFF_NOTE,
    }
    return HttpResponse(render_storefront_page(request, template, {**layout, **(context or {})}), status=status)


# The category navigation is the same on every page of a store until its catalog changes: rendered
# once per catalog snapshot (and URL layout) instead of on every page.
_nav_html_memo: BoundedMemo[tuple, str] = BoundedMemo(max_entries=1000)


def _nav_html(request: HttpRequest) -> str:
    snapshot = catalog_snapshot()
    key = (request.tenant.pk, getattr(request, "urlconf", None), id(snapshot), snapshot.loaded_at)  # type: ignore[attr-defined]
    html = _nav_html_memo.get_or_compute(
        key,
        lambda: render_to_string(
            "storefront/_nav.html", {"nav_categories": selectors.top_categories()}, request=request
        ),
    )
    return mark_safe(html)  # our own template's output


def _problem(request: HttpRequest, shopper: Shopper, status: int, title: str, message: str) -> HttpResponse:
    return _page(request, shopper, "storefront/problem.html", {"title": title, "message": message}, status=status)


def _not_found(request: HttpRequest, shopper: Shopper, what: str = "page") -> HttpResponse:
    return _problem(request, shopper, 404, "Not found", f"We could not find that {what} in this store.")


def _bad_request(request: HttpRequest, shopper: Shopper, form: Any = None) -> HttpResponse:
    detail = ""
    if form is not None:
        detail = " ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
    return _problem(
        request, shopper, 400, "That request was not valid", f"Please go back and try again. {detail}".strip()
    )


def _sign_in_redirect(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(store_url(request, "storefront:sign-in", query={"next": request.get_full_path()}))


# -- browsing -----------------------------------------------------------------------------------


@require_GET
@storefront_view(with_activity=True)
def store_home(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    return _page(request, shopper, "storefront/home.html", {"sections_html": home_sections_html(request, shopper)})


@require_GET
@storefront_view
def category_detail(request: HttpRequest, shopper: Shopper, category_id: int) -> HttpResponse:
    place = category_place(category_id=category_id)
    if place is None:
        return _not_found(request, shopper, "category")
    with serving_request():  # the popular order and the re-ranking share one read of the model version
        order = category_popular_order(category_id=category_id)
        page = Paginator(order, CATEGORY_PAGE_SIZE).get_page(request.GET.get("page"))
        start = page.start_index() - 1 if order else 0
        # The shopper's model re-orders the most popular RERANK_POOL products; later pages keep the popular order.
        pool = order[:RERANK_POOL] if start < RERANK_POOL else list(page.object_list)
        shown = slice(start, start + CATEGORY_PAGE_SIZE) if start < RERANK_POOL else None
        cards = ranked_cards(request, shopper, pool, fallback_reason=f"In {place.category.name}", keep=shown)
    return _page(
        request,
        shopper,
        "storefront/category.html",
        {
            "category": place.category,
            "ancestors": place.ancestors,
            "children": place.children,
            "page": page,
            "cards_html": cards_html(cards, shopper.tenant.currency),
        },
    )


@require_GET
@storefront_view
def product_detail(request: HttpRequest, shopper: Shopper, product_id: int) -> HttpResponse:
    parts = product_page_parts(request, shopper, product_id)
    if parts is None:
        return _not_found(request, shopper, "product")
    recommendation_id = clean_recommendation_id(request.GET.get("rid"))
    shopper_event_record(
        shopper=shopper,
        product_id=parts.product_id,
        product_external_id=parts.external_id,
        event_type=EventType.VIEW,
        recommendation_id=recommendation_id,
    )
    return _page(
        request,
        shopper,
        "storefront/product.html",
        {
            "parts": parts,
            "rid": recommendation_id,  # the add-to-cart form (CartAddForm's fields) carries it on
        },
    )


@require_GET
@storefront_view
def search(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    form = SearchForm(request.GET)
    if not form.is_valid():
        return _bad_request(request, shopper, form)
    text = form.cleaned_data["q"]
    cards = []
    if text:
        matches = selectors.product_search(
            text=text, limit=SEARCH_RESULTS, language=shopper.tenant.setting("search_language")
        )
        cards = ranked_cards(
            request, shopper, [pid for pid, _ in matches], text_rank=dict(matches), fallback_reason=f"Matches “{text}”"
        )
    return _page(
        request,
        shopper,
        "storefront/search.html",
        {"query": text, "cards": cards, "cards_html": cards_html(cards, shopper.tenant.currency)},
    )


# -- cart and checkout ----------------------------------------------------------------------------


@require_GET
@storefront_view
def cart_detail(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    cart = SessionCart(request)
    rows = cart.rows()
    return _page(request, shopper, "storefront/cart.html", {"rows": rows, "total": cart.total(rows)})


@require_POST
@storefront_view
def cart_add(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    form = CartAddForm(request.POST)
    if not form.is_valid():
        return _bad_request(request, shopper, form)
    product = selectors.product_get_active(product_id=form.cleaned_data["product"])
    if product is None:
        return _not_found(request, shopper, "product")
    recommendation_id = clean_recommendation_id(form.cleaned_data["rid"])
    SessionCart(request).add(product, form.cleaned_data["quantity"], recommendation_id)
    shopper_event_record(
        shopper=shopper,
        product_id=product.pk,
        product_external_id=product.external_id,
        event_type=EventType.CART,
        recommendation_id=recommendation_id,
    )
    messages.success(request, f"Added {product.name} to your cart.")
    return HttpResponseRedirect(store_url(request, "storefront:cart"))


@require_POST
@storefront_view
def cart_update(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    form = CartUpdateForm(request.POST)
    if not form.is_valid():
        return _bad_request(request, shopper, form)
    cart = SessionCart(request)
    if form.cleaned_data["product"] not in cart.product_ids():
        return _not_found(request, shopper, "product in your cart")
    cart.set_quantity(form.cleaned_data["product"], form.cleaned_data["quantity"])
    messages.success(request, "Your cart was updated.")
    return HttpResponseRedirect(store_url(request, "storefront:cart"))


@require_http_methods(["GET", "POST"])
@storefront_view
def checkout(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    cart = SessionCart(request)
    rows = cart.rows()
    if not rows:
        messages.info(request, "Your cart is empty.")
        return HttpResponseRedirect(store_url(request, "storefront:cart"))
    context = {"rows": rows, "total": cart.total(rows), "next": store_url(request, "storefront:checkout")}
    if request.method == "GET":
        return _page(request, shopper, "storefront/checkout.html", context)
    if shopper.customer is None:
        return _sign_in_redirect(request)
    try:
        order = order_place(customer=shopper.customer, lines=cart.lines(), session_id=shopper.visitor_id)
    except CheckoutRefused as refusal:
        return _page(request, shopper, "storefront/checkout.html", {**context, "error": str(refusal)}, status=409)
    cart.clear()
    return HttpResponseRedirect(store_url(request, "storefront:order", order_id=order.external_id))


@require_GET
@storefront_view
def order_detail(request: HttpRequest, shopper: Shopper, order_id: str) -> HttpResponse:
    if shopper.customer is None:
        return _sign_in_redirect(request)
    order = selectors.customer_order_get(customer=shopper.customer, order_external_id=order_id)
    if order is None:
        return _not_found(request, shopper, "order")
    lines: list[dict[str, Any]] = [
        {
            "product": line.product,
            "unit_price": line.unit_price,
            "quantity": line.quantity,
            "subtotal": line.unit_price * line.quantity,
        }
        for line in order.lines.all()
    ]
    total = sum((line["subtotal"] for line in lines), start=Decimal("0"))
    return _page(request, shopper, "storefront/order.html", {"order": order, "lines": lines, "total": total})


# -- shopper accounts -----------------------------------------------------------------------------


def _client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a client can write any forwarded header it likes.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@require_http_methods(["GET", "POST"])
@storefront_view
def sign_in(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    home = store_url(request, "storefront:home")
    if request.method == "GET":
        form = SignInForm(initial={"next": request.GET.get("next", "")})
        return _page(request, shopper, "storefront/sign_in.html", {"form": form})
    form = SignInForm(request.POST)
    if not form.is_valid():
        return _page(request, shopper, "storefront/sign_in.html", {"form": form}, status=400)
    email, ip, tenant_id = form.cleaned_data["email"], _client_ip(request), shopper.tenant.pk
    known = is_known_browser(request, tenant_id=tenant_id, email=email)
    refusal = sign_in_refusal(tenant_id=tenant_id, email=email, ip=ip, known_browser=known)
    if refusal is not None:
        form.add_error(None, refusal.value)
        return _page(request, shopper, "storefront/sign_in.html", {"form": form}, status=429)
    customer = customer_check_credentials(email=email, password=form.cleaned_data["password"])
    if customer is None:
        sign_in_failed(tenant_id=tenant_id, email=email, ip=ip)
        form.add_error(None, "That e-mail and password do not match an account in this store.")
        return _page(request, shopper, "storefront/sign_in.html", {"form": form}, status=400)
    sign_in_succeeded(tenant_id=tenant_id, email=email, ip=ip)
    shopper_sign_in(request, customer)
    messages.success(request, f"Welcome back{', ' + customer.name if customer.name else ''}.")
    response = HttpResponseRedirect(safe_next_url(request, form.cleaned_data["next"], home))
    remember_browser(response, tenant_id=tenant_id, email=email, secure=request.is_secure())
    return response


@require_http_methods(["GET", "POST"])
@storefront_view
def sign_up(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    home = store_url(request, "storefront:home")
    if request.method == "GET":
        form = SignUpForm(initial={"next": request.GET.get("next", "")})
        return _page(request, shopper, "storefront/sign_up.html", {"form": form})
    form = SignUpForm(request.POST)
    tenant_id, ip = shopper.tenant.pk, _client_ip(request)
    if sign_up_refused(tenant_id=tenant_id, ip=ip):
        form.add_error(None, "Too many sign-up attempts from your network. Please wait 15 minutes and try again.")
        return _page(request, shopper, "storefront/sign_up.html", {"form": form}, status=429)
    if form.is_valid():
        try:
            customer = customer_sign_up(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                name=form.cleaned_data["name"],
                marketing_consent=form.cleaned_data["marketing_consent"],
            )
        except EmailAlreadyRegistered:
            sign_up_email_taken(tenant_id=tenant_id, ip=ip)
            form.add_error(
                "email", "We could not create an account with this e-mail. If you have one here, sign in instead."
            )
        except ValidationError as weak:
            form.add_error("password", weak)
        else:
            shopper_sign_in(request, customer)
            messages.success(request, "Your account is ready.")
            return HttpResponseRedirect(safe_next_url(request, form.cleaned_data["next"], home))
    return _page(request, shopper, "storefront/sign_up.html", {"form": form}, status=400)


@require_POST
@storefront_view
def sign_out(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    shopper_sign_out(request)
    messages.info(request, "You are signed out.")
    return HttpResponseRedirect(store_url(request, "storefront:home"))


# -- privacy centre -------------------------------------------------------------------------------


def _privacy_function(name: str) -> Callable[..., Any] | None:
    """A data-subject function of the privacy app if it exists yet (export and erasure come with it)."""
    module = importlib.import_module("retailsite.privacy.services")
    function = getattr(module, name, None)
    return function if callable(function) else None


@require_http_methods(["GET", "POST"])
@storefront_view
def privacy_centre(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    customer = shopper.customer
    if request.method == "POST":
        form = ConsentForm(request.POST)
        if not form.is_valid():
            return _bad_request(request, shopper, form)
        personalization = form.cleaned_data["personalization"]
        if customer is not None:
            customer_consent_set(
                customer=customer, personalization=personalization, marketing=form.cleaned_data["marketing"]
            )
        else:
            anonymous_personalization_set(request, personalization)
        messages.success(request, "Your privacy choices were saved.")
        return HttpResponseRedirect(store_url(request, "storefront:privacy"))
    form = ConsentForm(
        initial={"personalization": shopper.personalized, "marketing": bool(customer and customer.marketing_consent)}
    )
    return _page(
        request,
        shopper,
        "storefront/privacy.html",
        {
            "form": form,
            "event_count": selectors.shopper_event_count(
                customer_id=shopper.customer_id, visitor_id=shopper.visitor_id
            ),
        },
    )


@require_GET
@storefront_view
def privacy_export(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    if shopper.customer is None:
        return _sign_in_redirect(request)
    export = _privacy_function("customer_export_zip")
    if export is None:
        return _page(
            request, shopper, "storefront/privacy_action.html", {"title": "Download my data", "coming_soon": True}
        )
    response = HttpResponse(export(shopper.customer), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{shopper.tenant.slug}-my-data.zip"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@storefront_view
def privacy_erase(request: HttpRequest, shopper: Shopper) -> HttpResponse:
    if shopper.customer is None:
        return _sign_in_redirect(request)
    erase = _privacy_function("customer_erase")
    if erase is None:
        return _page(
            request, shopper, "storefront/privacy_action.html", {"title": "Delete my account", "coming_soon": True}
        )
    if request.method == "GET":
        return _page(
            request, shopper, "storefront/privacy_action.html", {"title": "Delete my account", "confirm_erase": True}
        )
    record = erase(shopper.customer)
    SessionCart(request).clear()
    shopper_sign_out(request)
    retrain = (
        " The store's recommendations are being retrained without your data; until then, no list shows "
        "anything about you."
        if getattr(record, "retrain_queued", False)
        else ""
    )
    messages.success(request, "Your account and the data held about you were deleted." + retrain)
    return HttpResponseRedirect(store_url(request, "storefront:home"))
