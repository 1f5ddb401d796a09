"""Content-Security-Policy: on every response, no inline or eval'd script allowed, and the admin still
loads all its scripts from files."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from retailsite.privacy.middleware import build_policy
from retailsite.tenancy.models import Role
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)


def directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.fixture
def manager_client():
    tenant = TenantFactory(slug="csp")
    CustomerFactory(tenant=tenant, external_id="C-CSP")
    client = Client()
    client.force_login(MembershipFactory(tenant=tenant, role=Role.MANAGER).user)
    return client


def test_every_kind_of_page_carries_the_policy(manager_client) -> None:
    responses = [
        Client().get("/admin/login/"),
        Client().get("/s/csp/"),
        Client().get("/api/v1/whoami/"),
        manager_client.get("/admin/commerce/customer/"),
    ]
    for response in responses:
        header = response["Content-Security-Policy"]
        policy = directives(header)
        assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert "unsafe-inline" not in header and "unsafe-eval" not in header


def test_admin_pages_have_no_inline_scripts(manager_client) -> None:
    customer_id = manager_client.get("/admin/commerce/customer/").context["cl"].result_list[0].pk
    for url in (
        "/admin/",
        "/admin/commerce/customer/",
        f"/admin/commerce/customer/{customer_id}/change/",
        "/admin/commerce/customer/add/",
        "/admin/privacy/auditlogentry/",
    ):
        response = manager_client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert INLINE_SCRIPT.findall(page) == [], url
        assert not re.search(r"\son[a-z]+=\"", page), url  # no inline event handlers either


def test_the_admin_change_lists_inline_style_is_allowed_by_its_hash(manager_client) -> None:
    response = manager_client.get("/admin/privacy/auditlogentry/")  # read-only: no action bar, so the style
    (block,) = re.findall(r"<style>(.*?)</style>", response.content.decode(), flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in directives(response["Content-Security-Policy"])["style-src"]


def test_a_policy_allowing_inline_scripts_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="unsafe-inline"):
        build_policy({"script-src": ["'self'", "'unsafe-inline'"]})
    assert "img-src https://cdn.example" in build_policy({"img-src": ["https://cdn.example"]})
