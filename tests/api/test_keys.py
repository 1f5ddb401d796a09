"""API keys: stored as a digest only, shown once, revocable, last use recorded; the `apikey` command and the admin."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from retailsite.api import keys
from retailsite.api.models import ApiKey
from retailsite.api.scopes import ALL_SCOPES
from retailsite.api.services import api_key_revoke
from retailsite.tenancy.context import platform_context, tenant_context
from retailsite.tenancy.models import Role
from tests.api.conftest import assert_error, issue_key, key_client
from tests.factories import MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

KEY_FORMAT = re.compile(r"^rsk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$")


def _raw_rows() -> list[str]:
    """Every API key row as raw text, straight from the table (platform scope, as an auditor would)."""
    with platform_context(), connection.cursor() as cursor:
        cursor.execute("SELECT t::text FROM api_apikey t")
        return [row[0] for row in cursor.fetchall()]


# A random secret, and one whose last "_" leaves a one-letter tail that any stored row contains
# (splitting on "_" took that tail for the secret and failed now and then).
@pytest.mark.parametrize("forced_secret", [None, "A" * 41 + "_a"])
def test_the_key_is_stored_only_as_its_sha256_digest(store_a, monkeypatch, forced_secret) -> None:
    if forced_secret is not None:
        monkeypatch.setattr(keys.secrets, "token_urlsafe", lambda nbytes: forced_secret)
    raw_key = issue_key(store_a, ["catalog:read"])
    assert KEY_FORMAT.match(raw_key)
    _, secret = keys.key_parts(raw_key)
    assert len(secret) == 43
    rows = _raw_rows()
    assert len(rows) == 1
    assert raw_key not in rows[0] and secret not in rows[0]
    assert hashlib.sha256(raw_key.encode()).hexdigest() in rows[0]


def test_a_valid_key_authenticates_as_its_store_with_its_scopes(store_a) -> None:
    client = key_client(issue_key(store_a, ["orders:read", "catalog:read"]))
    body = client.get("/api/v1/whoami/").json()
    assert body["store"] == "alpha" and body["credential"] == "api_key"
    assert body["scopes"] == ["catalog:read", "orders:read"]


def test_the_x_api_key_header_works_too(store_a) -> None:
    client = APIClient()
    response = client.get("/api/v1/whoami/", HTTP_X_API_KEY=issue_key(store_a))
    assert response.status_code == 200 and response.json()["store"] == "alpha"


@pytest.mark.parametrize(
    "presented",
    [
        "Bearer rsk_000000000000_" + "A" * 43,  # well-formed, unknown
        "Bearer not-a-key",
        "Bearer ",
        "Bearer rsk_",
    ],
)
def test_unknown_or_malformed_keys_get_401(presented, store_a) -> None:
    issue_key(store_a)
    response = APIClient().get("/api/v1/whoami/", HTTP_AUTHORIZATION=presented)
    assert_error(response, 401, "authentication_failed")


def test_a_tampered_secret_gets_401(store_a) -> None:
    raw_key = issue_key(store_a)
    tampered = raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")
    assert_error(key_client(tampered).get("/api/v1/whoami/"), 401, "authentication_failed")


def test_no_credential_gets_401_with_a_bearer_challenge(store_a) -> None:
    response = APIClient().get("/api/v1/products/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_gets_401(store_a) -> None:
    raw_key = issue_key(store_a)
    client = key_client(raw_key)
    assert client.get("/api/v1/whoami/").status_code == 200
    with tenant_context(store_a):
        api_key_revoke(api_key=ApiKey.objects.get())
    assert_error(client.get("/api/v1/whoami/"), 401, "authentication_failed")


def test_a_key_of_a_deactivated_store_gets_401(store_a) -> None:
    client = key_client(issue_key(store_a))
    store_a.is_active = False
    store_a.save()
    assert_error(client.get("/api/v1/whoami/"), 401, "authentication_failed")


def test_last_used_is_recorded_at_most_once_a_minute(store_a) -> None:
    client = key_client(issue_key(store_a))
    with tenant_context(store_a):
        assert ApiKey.objects.get().last_used_at is None
    client.get("/api/v1/whoami/")
    with tenant_context(store_a):
        first = ApiKey.objects.get().last_used_at
    assert first is not None
    client.get("/api/v1/whoami/")
    with tenant_context(store_a):
        assert ApiKey.objects.get().last_used_at == first
        two_minutes_ago = timezone.now() - timedelta(minutes=2)
        ApiKey.objects.update(last_used_at=two_minutes_ago)
    client.get("/api/v1/whoami/")
    with tenant_context(store_a):
        assert ApiKey.objects.get().last_used_at > two_minutes_ago + timedelta(minutes=1)


# -- manage.py apikey ----------------------------------------------------------------------------


def _command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apikey", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_the_key_once_and_it_works(store_a) -> None:
    out, err = _command("create", "--tenant", "alpha", "--name", "Shop sync", "--scopes", "catalog:read,orders:write")
    printed = [line for line in out.splitlines() if KEY_FORMAT.match(line)]
    assert len(printed) == 1 and out.count("rsk_") == 1 and "rsk_" not in err
    raw_key = printed[0]
    body = key_client(raw_key).get("/api/v1/whoami/").json()
    assert body["store"] == "alpha" and body["scopes"] == ["catalog:read", "orders:write"]


def test_list_shows_keys_but_never_their_secrets(store_a) -> None:
    raw_key = issue_key(store_a, ["catalog:read"], name="Feed")
    out, _ = _command("list", "--tenant", "alpha")
    prefix, secret = raw_key[4:16], raw_key[17:]
    assert "Feed" in out and prefix in out and "catalog:read" in out
    assert secret not in out and raw_key not in out


def test_list_shows_only_the_given_stores_keys(store_a, store_b) -> None:
    issue_key(store_a, name="Alpha feed")
    issue_key(store_b, name="Beta feed")
    out, _ = _command("list", "--tenant", "beta")
    assert "Beta feed" in out and "Alpha feed" not in out


@pytest.mark.parametrize("by", ["prefix", "id", "key"])
def test_revoke_by_prefix_or_id(by, store_a) -> None:
    raw_key = issue_key(store_a)
    with tenant_context(store_a):
        key = ApiKey.objects.get()
    reference = {"prefix": key.prefix, "id": str(key.pk), "key": raw_key}[by]
    out, _ = _command("revoke", "--tenant", "alpha", reference)
    assert "Revoked" in out
    assert_error(key_client(raw_key).get("/api/v1/whoami/"), 401, "authentication_failed")


def test_revoke_cannot_reach_another_stores_key(store_a, store_b) -> None:
    raw_key = issue_key(store_b)
    with tenant_context(store_b):
        prefix = ApiKey.objects.get().prefix
    with pytest.raises(CommandError, match="no API key"):
        _command("revoke", "--tenant", "alpha", prefix)
    assert key_client(raw_key).get("/api/v1/whoami/").status_code == 200


def test_an_unknown_scope_is_refused_with_the_valid_ones(store_a) -> None:
    with pytest.raises(CommandError) as refused:
        _command("create", "--tenant", "alpha", "--name", "x", "--scopes", "catalog:read,catalog:delete")
    message = str(refused.value)
    assert "catalog:delete" in message
    assert all(scope in message for scope in ALL_SCOPES)
    with tenant_context(store_a):
        assert not ApiKey.objects.exists()


def test_an_unknown_store_is_refused() -> None:
    with pytest.raises(CommandError, match="No tenant 'nowhere'"):
        _command("list", "--tenant", "nowhere")


# -- admin -----------------------------------------------------------------------------------------


def _admin_client(role: str):
    tenant = TenantFactory(slug="alpha", name="Alpha")
    membership = MembershipFactory(tenant=tenant, user=UserFactory(username=f"{role}-user"), role=role)
    client = APIClient()
    client.force_login(membership.user)
    return tenant, client


def test_an_owner_creates_a_key_in_the_admin_and_sees_it_once() -> None:
    tenant, client = _admin_client(Role.OWNER)
    response = client.post(
        "/admin/api/apikey/add/", {"name": "Partner", "scopes": ["catalog:read"]}, follow=True, format="multipart"
    )
    assert response.status_code == 200
    shown = re.findall(r"rsk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", response.content.decode())
    assert len(set(shown)) == 1
    with tenant_context(tenant):
        key = ApiKey.objects.get()
    assert key.scopes == ["catalog:read"] and key.created_by is not None
    again = client.get(f"/admin/api/apikey/{key.pk}/change/").content.decode()
    assert shown[0] not in again and key.prefix in again
    assert key_client(shown[0]).get("/api/v1/whoami/").json()["store"] == "alpha"


def test_an_owner_revokes_keys_with_the_admin_action() -> None:
    tenant, client = _admin_client(Role.OWNER)
    raw_key = issue_key(tenant)
    with tenant_context(tenant):
        key = ApiKey.objects.get()
    client.post("/admin/api/apikey/", {"action": "revoke_selected", "_selected_action": [key.pk]}, format="multipart")
    assert_error(key_client(raw_key).get("/api/v1/whoami/"), 401, "authentication_failed")


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ANALYST, Role.VIEWER])
def test_other_roles_cannot_see_or_create_keys(role) -> None:
    tenant, client = _admin_client(role)
    issue_key(tenant)
    assert client.get("/admin/api/apikey/").status_code == 403
    assert (
        client.post("/admin/api/apikey/add/", {"name": "x", "scopes": ["catalog:read"]}, format="multipart").status_code
        == 403
    )
    with tenant_context(tenant):
        assert ApiKey.objects.count() == 1
