"""F5: guessing one shopper's password from many addresses is slowed to a crawl, and the shopper is not locked out."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.test import Client

from retailsite.safe_cache import cache_count
from retailsite.storefront.ratelimit import MAX_FAILURES_PER_ACCOUNT, SLOW_AFTER_FAILURES_PER_EMAIL

from .conftest import SHOPPER_PASSWORD, Shop

pytestmark = pytest.mark.django_db


def attempt(client: Client, shop: Shop, *, password: str, ip: str):  # type: ignore[no-untyped-def]
    return client.post(
        shop.url("account/sign-in/"), {"email": shop.shopper_email, "password": password}, REMOTE_ADDR=ip
    )


def test_many_addresses_guessing_one_account_are_slowed_and_the_shoppers_browser_still_signs_in(shop: Shop) -> None:
    shoppers_browser = Client()
    assert attempt(shoppers_browser, shop, password=SHOPPER_PASSWORD, ip="198.51.100.7").status_code == 302
    shoppers_browser.post(shop.url("account/sign-out/"))

    attacker = Client()
    answers = [attempt(attacker, shop, password=f"guess-{n}", ip=f"203.0.113.{n % 30}").status_code for n in range(120)]
    checked = answers.count(400)  # wrong password, actually checked
    assert MAX_FAILURES_PER_ACCOUNT * 30 > 120  # no single address reaches its own limit
    assert checked <= SLOW_AFTER_FAILURES_PER_EMAIL + 1, answers
    assert answers.count(429) == 120 - checked
    refused = attempt(attacker, shop, password=SHOPPER_PASSWORD, ip="203.0.113.99")
    assert refused.status_code == 429 and "wait a minute" in refused.content.decode()

    # The shopper's own browser is not slowed: the right password works at once.
    assert attempt(shoppers_browser, shop, password=SHOPPER_PASSWORD, ip="198.51.100.8").status_code == 302


def test_a_cookie_for_another_email_or_forged_does_not_skip_the_slowdown(shop: Shop) -> None:
    attacker = Client()
    for n in range(SLOW_AFTER_FAILURES_PER_EMAIL + 1):
        attempt(attacker, shop, password=f"guess-{n}", ip=f"203.0.113.{n}")
    attacker.cookies[f"rs_known_{shop.tenant.pk}"] = "forged:value"
    assert attempt(attacker, shop, password="another-guess", ip="203.0.113.50").status_code == 429


def test_a_new_browser_gets_an_attempt_once_the_slot_frees(shop: Shop) -> None:
    attacker = Client()
    for n in range(SLOW_AFTER_FAILURES_PER_EMAIL):
        assert attempt(attacker, shop, password=f"guess-{n}", ip=f"203.0.113.{n}").status_code == 400
    new_browser = Client()
    # The first attempt after the threshold takes the slot: the shopper, typing the right password, gets in.
    assert attempt(new_browser, shop, password=SHOPPER_PASSWORD, ip="198.51.100.9").status_code == 302


def test_counters_lose_no_count_under_concurrency() -> None:
    key = "test:concurrent-counter"
    cache.delete(key)

    def count() -> None:
        for _ in range(25):
            cache_count(key, timeout=60)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get(key) == 200
