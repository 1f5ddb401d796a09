"""Every admin view and every staff page refuses another store's staff and the roles below the one it needs.

Enumerated, not listed by hand: the admin's pages come from the admin registry and the URL configuration (each
registered model's list, add, change, delete and history pages and its actions, and the site-wide admin URLs), the
staff pages from every URL pattern under /staff/. A newly registered model fails
`test_every_admin_model_has_a_row_in_the_fixture` until `world` creates one of its rows, a new admin URL fails
`test_every_admin_url_is_exercised`, a new staff URL with a parameter fails until STAFF_URL_ARGUMENTS can fill it in.

What a role may do is the role map (`tenancy.permissions.ROLE_CAPABILITIES`); what the tests observe is what staff
would notice, from outside:
- *nothing was written*: the store's audit log (filled by database triggers on every write) gains no
  create/update/delete entry;
- *no personal data shown*: none of the customer's e-mail, name, phone or address is in the page;
- *another store's object*: not found (the admin redirects to its index, staff pages answer 404), and never shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.http import HttpResponse
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from browser.services import publishable_key_create
from experiments.models import Experiment
from experiments.services import ArmSpec, experiment_create
from forecasting.models import CustomerPrediction, ForecastRun, SeriesForecast, SeriesLevel
from inventory.models import ReorderPlanLine
from inventory.planning import reorder_plan_create
from inventory.services import purchase_orders_create_from_plan_lines, receipt_record, shipment_create
from retailsite.api.models import ApiKey
from retailsite.commerce.models import Category, Customer, Product
from retailsite.privacy.models import AuditLogEntry, ErasureRecord
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.middleware import SESSION_TENANT_KEY
from retailsite.tenancy.models import (
    Invitation,
    Membership,
    Role,
    Tenant,
    TenantDomain,
    TenantOwnedModel,
    TrainingRun,
)
from retailsite.tenancy.permissions import ROLE_CAPABILITIES, Capability
from retailsite.tenancy.services import invitation_create
from tests.api.conftest import issue_key, walk_url_patterns
from tests.builders.inventory import forecast_run, stocked_product
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    ErasureRecordFactory,
    ImportJobFactory,
    MembershipFactory,
    ProductFactory,
    SeriesForecastFactory,
    TenantDomainFactory,
    TenantFactory,
    TrainingRunFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

from .conftest import audit_entries
from .test_erasure import EMAIL, NAME, build_subject

pytestmark = pytest.mark.django_db

ROLES = [Role.OWNER, Role.MANAGER, Role.ANALYST, Role.VIEWER]
PHONE = "+33 4 76 00 00"
ADDRESS = "5 rue du Sujet"
PERSONAL_VALUES = (EMAIL, NAME, PHONE, ADDRESS, "ines.subject")
MARKER = "ALPHAONLY"  # in the names of this store's products and categories, for pages that list them
WRITE_ACTIONS = ("create", "update", "delete")

# What each admin needs beyond VIEW to be seen, and beyond CHANGE to be written, per the role map's own words:
# the audit log needs the audit capability, erasure records the export one (data-subject requests), predictions
# about a person the personal-data one; members, domains, API keys and the store's settings are managing members.
# Django's users and groups are platform accounts: superusers only (None).
VIEW_NEEDS: dict[type[Model], Capability | None] = {
    AuditLogEntry: Capability.VIEW_AUDIT_LOG,
    ErasureRecord: Capability.EXPORT_PERSONAL_DATA,
    CustomerPrediction: Capability.VIEW_PERSONAL_DATA,
    ApiKey: Capability.MANAGE_MEMBERS,
    Invitation: Capability.MANAGE_MEMBERS,
    User: None,
    Group: None,
}
WRITE_NEEDS: dict[type[Model], Capability | None] = {
    Membership: Capability.MANAGE_MEMBERS,
    Invitation: Capability.MANAGE_MEMBERS,
    TenantDomain: Capability.MANAGE_MEMBERS,
    ApiKey: Capability.MANAGE_MEMBERS,
    Tenant: Capability.MANAGE_MEMBERS,
    User: None,
    Group: None,
}
# Admin URLs that are not a model's: what the tests below do with each.
SITE_URLS = {
    "index",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "jsi18n",
    "app_list",
    "autocomplete",
    "view_on_site",
    "auth_user_password_change",
}


def view_needs(model: type[Model]) -> Capability | None:
    return VIEW_NEEDS.get(model, Capability.VIEW)


def write_needs(model: type[Model]) -> Capability | None:
    return WRITE_NEEDS.get(model, Capability.CHANGE)


def role_has(role: str, capability: Capability | None) -> bool:
    return capability is not None and capability in ROLE_CAPABILITIES[role]


# -- the store under test, with a row behind every admin page -----------------------------------------------------


@dataclass
class World:
    tenant: Tenant
    other: Tenant
    rows: dict[type[Model], list[int]]  # every registered model -> pks of this store's rows
    product: Product
    category: Category


def _forecast_series(tenant: Tenant, run: ForecastRun, category: Category) -> None:
    """The category and store-total series beside the run's product series (and their seasonal naive baseline)."""
    with tenant_context(tenant):
        for series in SeriesForecast.objects.filter(run=run):
            series.baseline_p50 = series.p50
            series.save(update_fields=["baseline_p50"])
        for level, extra in ((SeriesLevel.CATEGORY, {"category": category}), (SeriesLevel.TOTAL, {})):
            SeriesForecastFactory(
                run=run,
                level=level,
                method="test",
                periods=["2030-01-07"],
                p10=[1.0],
                p50=[2.0],
                p90=[3.0],
                baseline_p50=[2.0],
                **extra,
            )


def build_world() -> World:
    subject = build_subject(slug="alpha")
    tenant = subject.tenant
    other = TenantFactory(slug="beta")  # a store of its own, with its own customer and product
    CustomerFactory(tenant=other, external_id="BETA-1", email="someone@beta.example", name="Beta Shopper")
    ProductFactory(tenant=other, external_id="BETA-KETTLE", name="Beta kettle")
    product, _ = stocked_product(tenant, f"{MARKER}-KETTLE", supplier="Acme", on_hand=0, lead_time_days=7)
    with tenant_context(tenant):
        Product.objects.filter(tenant=tenant).update(name=f"{MARKER} product")
        category = CategoryFactory(tenant=tenant, name=f"{MARKER} Kitchen", path=f"{MARKER} Kitchen")
        Product.objects.filter(pk=product.pk).update(category=category)
    run = forecast_run(tenant, {product: (8, 10, 13)})
    _forecast_series(tenant, run, category)
    with tenant_context(tenant):
        plan = reorder_plan_create(tenant=tenant)
        lines = ReorderPlanLine.objects.filter(plan=plan, order_quantity__gt=0).select_related("plan", "product")
        result = purchase_orders_create_from_plan_lines(lines=lines, user=None)
        order_line = result.purchase_orders[0].lines.first()
        shipment_create(
            product=product, quantity=2, expected_arrival=dt.date(2030, 1, 1), purchase_order_line=order_line
        )
        receipt_record(product=product, quantity=1, purchase_order_line=order_line)
        TrainingRunFactory(tenant=tenant, step="recommendations", status=TrainingRun.Status.SUCCEEDED)
        TenantDomainFactory(tenant=tenant, domain="alpha-roles.example", verified_at=timezone.now())
        ErasureRecordFactory(tenant=tenant, customer=subject.friend, pseudonym="erased-0000", removed={"events": 1})
        MembershipFactory(tenant=tenant, user=UserFactory(), role=Role.VIEWER)
        invitation_create(invitee="future.colleague@example.com", role=Role.ANALYST)
        experiment_create(name=f"{MARKER} test", arms=[ArmSpec("a", 50, True), ArmSpec("b", 50)])
        endpoint = WebhookEndpointFactory(
            tenant=tenant, url="https://93.184.216.34/hook", secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        )
        WebhookDeliveryFactory(
            endpoint=endpoint,
            message_id="msg_1",
            event_type="import.finished",
            payload={},
            next_attempt_at=dt.datetime.now(dt.UTC),
        )
        ImportJobFactory(tenant=tenant, files={"products": {"name": "p.csv", "path": "imports/x/p.csv"}})
        publishable_key_create(name="site", allowed_origins=["https://alpha.example"])
    issue_key(tenant, ["catalog:read"])
    Group.objects.create(name="alpha-group")
    audit_entries(tenant)  # seal: the log has entries too
    rows: dict[type[Model], list[int]] = {}
    with tenant_context(tenant):
        for model in admin.site._registry:
            if issubclass(model, TenantOwnedModel) or model is AuditLogEntry or model is ErasureRecord:
                rows[model] = list(model._base_manager.filter(tenant=tenant).values_list("pk", flat=True))
    rows[Tenant] = [tenant.pk]
    rows[User] = _member_user_ids(tenant)
    rows[Group] = list(Group.objects.values_list("pk", flat=True))
    return World(tenant=tenant, other=other, rows=rows, product=product, category=category)


def _member_user_ids(tenant: Tenant) -> list[int]:
    with tenant_context(tenant):
        return list(Membership.objects.values_list("user_id", flat=True))


@pytest.fixture
def world() -> World:
    return build_world()


def staff(tenant: Tenant | None, role: str | None = None) -> Client:
    """A signed-in staff member with `role` in `tenant` (no membership at all when role is None)."""
    client = Client()
    user = MembershipFactory(tenant=tenant, role=role).user if role else UserFactory(is_staff=True)
    client.force_login(user)
    if tenant is not None and role:
        session = client.session
        session[SESSION_TENANT_KEY] = tenant.pk
        session.save()
    return client


def writes(tenant: Tenant) -> int:
    return sum(len(audit_entries(tenant, action=action)) for action in WRITE_ACTIONS)


def shows_personal_data(response: HttpResponse) -> list[str]:
    body = response.content.decode(errors="replace") if not response.streaming else ""
    return [value for value in PERSONAL_VALUES if value in body]


# -- the admin, enumerated ----------------------------------------------------------------------------------------


def registered() -> list[tuple[type[Model], admin.ModelAdmin]]:
    return list(admin.site._registry.items())


def model_id(item: Any) -> str:
    return item[0]._meta.label if isinstance(item, tuple) else str(item)


def admin_url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def action_names(model_admin: admin.ModelAdmin) -> list[str]:
    """Every action the admin class declares, plus the site-wide ones (delete_selected)."""
    names = [name for name, _ in admin.site.actions]
    for action in model_admin.actions or ():
        names.append(action if isinstance(action, str) else action.__name__)
    return list(dict.fromkeys(names))


def object_pages(model: type[Model], pk: int) -> Iterator[str]:
    for view in ("change", "history", "delete"):
        yield admin_url(model, view, pk)


def test_every_admin_model_has_a_row_in_the_fixture(world: World) -> None:
    empty = [model._meta.label for model, _ in registered() if not world.rows.get(model)]
    assert not empty, f"build_world() must create a row of: {empty}"


def test_every_admin_url_is_exercised() -> None:
    model_urls = {
        f"{model._meta.app_label}_{model._meta.model_name}_{view}"
        for model, _ in registered()
        for view in ("changelist", "add", "change", "delete", "history")
    }
    names = {
        pattern.name
        for route, _, pattern in walk_url_patterns(get_resolver().url_patterns)
        if route.startswith("admin/") and pattern.name
    }
    unexercised = names - model_urls - SITE_URLS
    assert not unexercised, f"teach this module what to check on: {sorted(unexercised)}"


@pytest.mark.parametrize("item", registered(), ids=model_id)
def test_another_stores_owner_never_reaches_this_stores_rows(world: World, item: Any) -> None:
    model, model_admin = item
    intruder = staff(world.other, Role.OWNER)
    pks = world.rows[model]
    listing = intruder.get(admin_url(model, "changelist"))
    assert listing.status_code in (200, 403)
    for pk in pks:
        assert admin_url(model, "change", pk) not in listing.content.decode()
    assert not shows_personal_data(listing)
    before = writes(world.tenant)
    for pk in pks[:5]:
        for url in object_pages(model, pk):
            response = intruder.get(url)
            # Django's admin answers a missing object with a redirect to its index ("does not exist").
            assert response.status_code in (302, 403, 404), url
            assert response.status_code != 302 or response["Location"] != url
            assert not shows_personal_data(response)
        intruder.post(admin_url(model, "change", pk), {"name": "hijacked", "role": Role.OWNER})
        intruder.post(admin_url(model, "delete", pk), {"post": "yes"})
    for action in action_names(model_admin):
        response = intruder.post(
            admin_url(model, "changelist"),
            {
                "action": action,
                ACTION_CHECKBOX_NAME: [str(pk) for pk in pks],
                "index": "0",
                "confirm": "yes",
                "post": "yes",
            },
        )
        assert response.get("Content-Type", "") != "application/zip", action
    assert writes(world.tenant) == before


# One test per admin, the roles in a loop (the world is costly to build): each assertion names the role.


@pytest.mark.parametrize("item", registered(), ids=model_id)
def test_a_role_without_the_view_capability_is_refused_every_page(world: World, item: Any) -> None:
    model, _ = item
    pk = world.rows[model][0]
    for role in ROLES:
        client = staff(world.tenant, role)
        statuses = tuple(
            client.get(url).status_code
            for url in (admin_url(model, "changelist"), admin_url(model, "change", pk), admin_url(model, "history", pk))
        )
        if role_has(role, view_needs(model)):
            assert statuses == (200, 200, 200), role
        else:
            assert statuses == (403, 403, 403), role
            assert f'href="{admin_url(model, "changelist")}"' not in client.get("/admin/").content.decode(), role


@pytest.mark.parametrize("item", registered(), ids=model_id)
def test_a_role_without_the_write_capability_writes_nothing(world: World, item: Any) -> None:
    model, model_admin = item
    pks = world.rows[model]
    refused = [role for role in ROLES if not role_has(role, write_needs(model))]
    assert Role.VIEWER in refused  # viewers only read, whatever the model
    clients = {role: staff(world.tenant, role) for role in refused}  # their memberships are writes: before counting
    before = writes(world.tenant)
    for role, client in clients.items():
        assert client.get(admin_url(model, "add")).status_code == 403, role
        assert client.post(admin_url(model, "add"), {"name": "new", "external_id": "NEW-1"}).status_code == 403, role
        for pk in pks[:5]:
            changed = client.post(admin_url(model, "change", pk), {"name": "changed", "role": Role.OWNER})
            assert changed.status_code == 403, role
            assert client.get(admin_url(model, "delete", pk)).status_code == 403, role
            assert client.post(admin_url(model, "delete", pk), {"post": "yes"}).status_code == 403, role
        listing = client.get(admin_url(model, "changelist")).content.decode()
        for action in action_names(model_admin):
            assert f'<option value="{action}"' not in listing, f"{action} is offered to {role}"
            response = client.post(
                admin_url(model, "changelist"),
                {
                    "action": action,
                    ACTION_CHECKBOX_NAME: [str(pk) for pk in pks],
                    "index": "0",
                    "confirm": "yes",
                    "post": "yes",
                },
            )
            assert response.get("Content-Type", "") != "application/zip", (role, action)
    assert writes(world.tenant) == before


@pytest.mark.parametrize("item", registered(), ids=model_id)
def test_a_role_without_the_personal_data_capability_sees_no_personal_value(world: World, item: Any) -> None:
    model, _ = item
    pages = [admin_url(model, "changelist")]
    for pk in world.rows[model][:20]:
        pages += list(object_pages(model, pk))
    for role in [r for r in ROLES if not role_has(r, Capability.VIEW_PERSONAL_DATA)]:
        client = staff(world.tenant, role)
        for url in pages:
            assert not shows_personal_data(client.get(url)), (role, url)

        # Searching for the e-mail address finds exactly what a search for an address nobody has finds (the page
        # repeats the search term itself, so only the rows are compared): a search is not a side channel.
        def rows_found(term: str, client: Client = client) -> set[int]:
            page = client.get(admin_url(model, "changelist"), {"q": term}).content.decode()
            return {pk for pk in world.rows[model] if admin_url(model, "change", pk) in page}

        assert rows_found(EMAIL) == rows_found("nobody@nowhere.invalid"), role


def test_the_personal_data_scan_sees_what_a_manager_is_shown(world: World) -> None:
    """The probe of the test above is not blind: the same pages show the values to a manager."""
    client = staff(world.tenant, Role.MANAGER)
    (customer_pk,) = [
        pk for pk in world.rows[Customer] if client.get(admin_url(Customer, "change", pk)).content.decode().count(EMAIL)
    ]
    assert shows_personal_data(client.get(admin_url(Customer, "change", customer_pk))) == list(PERSONAL_VALUES)
    found = client.get(f"{admin_url(Customer, 'changelist')}?q={EMAIL}").content.decode()
    assert admin_url(Customer, "change", customer_pk) in found


def test_the_write_probe_sees_a_write(world: World) -> None:
    """The audit-log oracle of the tests above is not blind: an owner's delete is one more write entry."""
    client = staff(world.tenant, Role.OWNER)
    before = writes(world.tenant)
    pk = world.rows[TenantDomain][0]
    assert client.post(admin_url(TenantDomain, "delete", pk), {"post": "yes"}).status_code == 302
    assert writes(world.tenant) == before + 1


def test_a_staff_member_without_a_membership_is_refused_every_model(world: World) -> None:
    client = staff(None)
    for model, _ in registered():
        assert client.get(admin_url(model, "changelist")).status_code == 403, model._meta.label
        assert client.get(admin_url(model, "change", world.rows[model][0])).status_code in (302, 403)


def test_site_wide_admin_pages_show_another_store_nothing(world: World) -> None:
    intruder = staff(world.other, Role.OWNER)
    for app_label in sorted({model._meta.app_label for model, _ in registered()}):
        response = intruder.get(reverse("admin:app_list", args=[app_label]))
        assert response.status_code in (200, 404)
        assert MARKER not in response.content.decode() and not shows_personal_data(response)
    assert MARKER not in intruder.get(reverse("admin:index")).content.decode()
    # The admin's "view on site" shortcut and the autocomplete endpoint do not reach another store's rows.
    for model in (Customer, Product):
        content_type = ContentType.objects.get_for_model(model)
        for pk in world.rows[model]:
            assert intruder.get(reverse("admin:view_on_site", args=[content_type.pk, pk])).status_code == 404
    search = intruder.get(
        reverse("admin:autocomplete"),
        {"app_label": "commerce", "model_name": "order", "field_name": "customer", "term": ""},
    )
    assert search.status_code in (200, 403)
    if search.status_code == 200:  # the intruder's own store's customers, none of ours
        found = {int(result["id"]) for result in search.json()["results"]}
        assert found and not found & set(world.rows[Customer])
    # Choosing the other store in the switcher is refused: the admin stays on the member's own store.
    intruder.post(reverse("staff-switch-store"), {"tenant_id": str(world.tenant.pk)})
    assert MARKER not in intruder.get(admin_url(Product, "changelist")).content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_no_store_role_sets_a_staff_users_password(world: World, role: str) -> None:
    """Staff accounts are platform accounts: not even a store's owner resets a colleague's password."""
    colleague = User.objects.get(pk=world.rows[User][0])
    before = colleague.password
    client = staff(world.tenant, role)
    url = reverse("admin:auth_user_password_change", args=[colleague.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"password1": "Taken over 2026!", "password2": "Taken over 2026!"}).status_code == 403
    colleague.refresh_from_db()
    assert colleague.password == before


# -- staff pages, from the URL configuration ----------------------------------------------------------------------


# Staff pages about the signed-in user rather than a store (their invitations to stores): any staff user, member of
# a store or not, sees their own; tests/tenancy/test_invitations.py covers them.
USER_STAFF_PAGES = {"staff/invitations/", "staff/invitations/<str:token>/"}


def staff_routes() -> list[tuple[str, Any]]:
    return [
        (route, pattern)
        for route, _, pattern in walk_url_patterns(get_resolver().url_patterns)
        if route.startswith("staff/") and route not in USER_STAFF_PAGES
    ]


# What goes in each path parameter of a staff page: an object of the store under test.
STAFF_URL_ARGUMENTS = {
    "product_pk": lambda world: world.product.pk,
    "category_pk": lambda world: world.category.pk,
    "experiment_pk": lambda world: world.rows[Experiment][0],
}
POST_ONLY_STAFF_PAGES = {
    "staff/switch-store/",
    "staff/experiments/<int:experiment_pk>/promote/",
}  # exercised in test_site_wide_admin_pages_show_another_store_nothing


def staff_url(route: str, pattern: Any, world: World) -> str:
    converters = getattr(pattern.pattern, "converters", {})
    missing = set(converters) - set(STAFF_URL_ARGUMENTS)
    assert not missing, f"add to STAFF_URL_ARGUMENTS: {missing} (for {route})"
    path = "/" + route
    for name in converters:
        path = path.replace(f"<int:{name}>", str(STAFF_URL_ARGUMENTS[name](world)))
    assert "<" not in path, path
    return path


def staff_pages(world: World) -> list[str]:
    return [staff_url(route, pattern, world) for route, pattern in staff_routes() if route not in POST_ONLY_STAFF_PAGES]


def test_the_url_conf_has_the_forecasting_and_inventory_staff_pages(world: World) -> None:
    pages = staff_pages(world)
    assert "/staff/forecasts/" in pages and "/staff/inventory/plan/" in pages
    assert f"/staff/inventory/{world.product.pk}/" in pages


@pytest.mark.parametrize("role", ROLES)
def test_every_role_of_the_store_sees_every_staff_page(world: World, role: str) -> None:
    client = staff(world.tenant, role)
    for url in staff_pages(world):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not shows_personal_data(response), url  # aggregates and models only, for every role


def test_staff_pages_refuse_staff_without_a_membership_and_send_visitors_to_sign_in(world: World) -> None:
    member_of_nothing = staff(None)
    for url in staff_pages(world):
        assert member_of_nothing.get(url).status_code == 403, url
        response = Client().get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_staff_pages_show_another_store_none_of_this_stores_data(world: World) -> None:
    intruder = staff(world.other, Role.OWNER)
    for route, pattern in staff_routes():
        if route in POST_ONLY_STAFF_PAGES:
            continue
        url = staff_url(route, pattern, world)
        response = intruder.get(url)
        if getattr(pattern.pattern, "converters", {}):
            assert response.status_code == 404, url  # another store's product or category does not exist
        else:
            assert response.status_code in (200, 404), url  # the intruder's own store's page (or "no run yet")
        assert MARKER not in response.content.decode(), url
        assert not shows_personal_data(response), url


# -- exports ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_personal_data_exports_follow_the_role(world: World, role: str) -> None:
    """Every way staff can export a customer's data from the web (the admin action, the API with a staff session)
    works for the roles with the export capability and for no one else; management commands (`customer export`)
    run on the server, as the operator, and have no web route."""
    allowed = role_has(role, Capability.EXPORT_PERSONAL_DATA)
    client = staff(world.tenant, role)
    customer = next(c for c in _customers(world) if c.email == EMAIL)
    action = client.post(
        admin_url(Customer, "changelist"),
        {"action": "export_personal_data", ACTION_CHECKBOX_NAME: [str(customer.pk)], "index": "0"},
    )
    assert (action.get("Content-Type") == "application/zip") is allowed
    api = client.get(f"/api/v1/customers/{customer.external_id}/export/")
    assert (api.status_code == 200 and api["Content-Type"] == "application/zip") is allowed
    assert len(audit_entries(world.tenant, action="export")) == (2 if allowed else 0)
    intruder = staff(world.other, role)
    assert intruder.get(f"/api/v1/customers/{customer.external_id}/export/").status_code in (403, 404)
    assert len(audit_entries(world.tenant, action="export")) == (2 if allowed else 0)


def test_no_web_route_runs_a_management_command() -> None:
    views = {
        getattr(pattern.callback, "__module__", "") for _, _, pattern in walk_url_patterns(get_resolver().url_patterns)
    }
    assert not [module for module in views if ".management." in module]


def _customers(world: World) -> list[Customer]:
    with tenant_context(world.tenant):
        return list(Customer.objects.order_by("pk"))
