"""Staff sign-in lock-out: repeated failures lock the account for a while, even against the right password."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client

from retailsite.privacy.lockout import staff_login_failed, staff_login_locked_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN = "/admin/login/"


def attempt(password: str, *, username: str = "alice", ip: str = "198.51.100.20") -> Client:
    client = Client(REMOTE_ADDR=ip)
    client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return client


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def alice():
    return UserFactory(username="alice", is_superuser=True)


def test_five_failures_lock_the_account_even_for_the_right_password(alice) -> None:
    for _ in range(5):
        assert not signed_in(attempt("wrong password"))
    client = Client(REMOTE_ADDR="198.51.100.20")
    page = client.post(LOGIN, {"username": "alice", "password": PASSWORD}).content.decode()
    assert not signed_in(client)
    assert "Too many failed sign-in attempts. Try again in 15 minute(s)." in page


def test_four_failures_do_not_lock(alice) -> None:
    for _ in range(4):
        attempt("wrong password")
    assert signed_in(attempt(PASSWORD))


def test_the_lock_is_per_username_and_address(alice) -> None:
    UserFactory(username="bob")
    for _ in range(5):
        attempt("wrong password")
    assert signed_in(attempt(PASSWORD, ip="203.0.113.77"))  # alice from elsewhere
    assert signed_in(attempt(PASSWORD, username="bob"))  # someone else from the same address


def test_a_success_clears_earlier_failures(alice) -> None:
    for _ in range(4):
        attempt("wrong password")
    assert signed_in(attempt(PASSWORD))
    for _ in range(4):
        attempt("wrong password")
    assert signed_in(attempt(PASSWORD))


def test_many_addresses_against_one_username_lock_it_everywhere(alice) -> None:
    for n in range(20):
        attempt("wrong password", ip=f"192.0.2.{n}")
    assert not signed_in(attempt(PASSWORD, ip="203.0.113.99"))


def test_the_lock_expires() -> None:
    start = time.time()
    for _ in range(5):
        staff_login_failed(username="carol", ip="10.0.0.1", now=start)
    assert staff_login_locked_for(username="Carol ", ip="10.0.0.1", now=start + 60) == 14 * 60
    assert staff_login_locked_for(username="carol", ip="10.0.0.1", now=start + 15 * 60 + 1) == 0


def test_a_cache_outage_never_refuses_a_sign_in(alice, monkeypatch) -> None:
    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    for method in ("get", "set", "delete"):
        monkeypatch.setattr(cache, method, down)
    for _ in range(6):
        attempt("wrong password")
    assert signed_in(attempt(PASSWORD))
