"""Every staff page outside the admin (/staff/..., from the production URL configuration) follows one access rule:
anonymous visitors go to the login page, staff without a membership are refused, and a platform superuser with no
store selected is asked to choose one — whichever app the page belongs to."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

# Not a page: the store switcher itself (a POST that changes the session).
NOT_PAGES = {"/staff/switch-store/"}
# A signed-in user's own pages, not a store's: the invitations addressed to them, which they answer before they
# have a membership (tests/tenancy/test_invitations.py). They keep only the first rule (sign in first).
PER_USER_PREFIX = "/staff/invitations/"


def _routes(patterns: list, prefix: str = "") -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.append(route)
    return found


def staff_urls() -> list[str]:
    """Every /staff/ route, its integer parameters filled with 1 (the rule is checked before any look-up)."""
    urls = {"/" + re.sub(r"<int:\w+>", "1", route) for route in _routes(get_resolver().url_patterns)}
    return sorted(url for url in urls if url.startswith("/staff/") and url not in NOT_PAGES)


def store_staff_urls() -> list[str]:
    return [url for url in staff_urls() if not url.startswith(PER_USER_PREFIX)]


def visit(client: Client, url: str):
    response = client.get(url)
    # POST-only actions (promote an arm) answer 405 to a GET before the access rule; ask them with a POST.
    return client.post(url) if response.status_code == 405 else response


def test_the_staff_pages_of_every_app_are_enumerated() -> None:
    prefixes = {url.split("/")[2] for url in staff_urls()}
    assert {"inventory", "experiments", "forecasts", "customer-models"} <= prefixes


@pytest.mark.parametrize("url", staff_urls())
def test_anonymous_visitors_are_sent_to_the_login_page(client, url) -> None:
    response = visit(client, url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", store_staff_urls())
def test_staff_without_a_membership_are_refused(client, url) -> None:
    TenantFactory(slug="alpha")
    client.force_login(UserFactory(username="outsider"))
    assert visit(client, url).status_code == 403


@pytest.mark.parametrize("url", store_staff_urls())
def test_a_superuser_without_a_selected_store_is_asked_to_choose_one(client, url) -> None:
    TenantFactory(slug="alpha")
    client.force_login(UserFactory(username="platform-admin", is_superuser=True))
    response = visit(client, url)
    assert response.status_code == 200
    assert "Choose a store with the store switcher" in response.content.decode()
