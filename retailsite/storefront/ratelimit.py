"""Sign-in throttling for shoppers, per store.

- e-mail + IP: `MAX_FAILURES_PER_ACCOUNT` failures lock that pair for `LOCKOUT_SECONDS` (one guesser);
- IP across e-mails: `MAX_FAILURES_PER_IP` lock the address (password spraying);
- e-mail from anywhere: after `SLOW_AFTER_FAILURES_PER_EMAIL` failures in the window, the e-mail gets one
  attempt per `SLOW_SLOT_SECONDS`, from all addresses together (many addresses guessing one account). This
  slows the attack to a crawl but never locks the shopper out: an attempt gets through every slot, and a
  browser the shopper signed in from before (a signed, per-store cookie naming the e-mail's keyed hash) is not
  slowed at all.

Counters are atomic (`cache.add` + `incr`, `safe_cache.cache_count`) and live in the cache; an outage degrades
to no throttling rather than to errors. Keys hold hashes, never the e-mail address itself. Every refusal says
the same thing whether or not the e-mail has an account.
"""

from __future__ import annotations

import hashlib
from enum import Enum

from django.core import signing
from django.http import HttpRequest, HttpResponse

from retailsite.safe_cache import cache_add, cache_count, cache_delete, cache_get

MAX_FAILURES_PER_ACCOUNT = 5  # per store, e-mail and IP
MAX_FAILURES_PER_IP = 50  # per store and IP, across e-mails (password spraying)
LOCKOUT_SECONDS = 15 * 60
SLOW_AFTER_FAILURES_PER_EMAIL = 10  # per store and e-mail, across addresses
SLOW_SLOT_SECONDS = 60
# Sign-ups refused because the e-mail has an account, per store and address: past this, the address may not try
# more sign-ups for LOCKOUT_SECONDS (the answer cannot hide whether an e-mail has an account without a
# confirmation e-mail, so the rate of asking is what is limited).
MAX_TAKEN_SIGN_UPS_PER_IP = 10
KNOWN_BROWSER_DAYS = 365


class SignInRefusal(Enum):
    LOCKED = "Too many failed attempts. Please wait 15 minutes and try again."
    SLOWED = "Too many attempts on this account recently. Please wait a minute and try again."


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _email(email: str) -> str:
    return email.strip().lower()


def _account_key(tenant_id: int, email: str, ip: str) -> str:
    return f"storefront:signin:{tenant_id}:account:{_digest(_email(email), ip)}"


def _ip_key(tenant_id: int, ip: str) -> str:
    return f"storefront:signin:{tenant_id}:ip:{_digest(ip)}"


def _email_key(tenant_id: int, email: str) -> str:
    return f"storefront:signin:{tenant_id}:email:{_digest(_email(email))}"


def _count(key: str) -> int:
    value = cache_get(key, 0)
    return value if isinstance(value, int) else 0


def _cookie_name(tenant_id: int) -> str:
    return f"rs_known_{tenant_id}"


def _cookie_salt(tenant_id: int) -> str:
    return f"storefront.known-browser.{tenant_id}"


def is_known_browser(request: HttpRequest, *, tenant_id: int, email: str) -> bool:
    """Whether this browser signed in to this e-mail's account in this store before (signed cookie)."""
    value = request.COOKIES.get(_cookie_name(tenant_id), "")
    if not value:
        return False
    try:
        known = signing.loads(value, salt=_cookie_salt(tenant_id), max_age=KNOWN_BROWSER_DAYS * 86400)
    except signing.BadSignature:
        return False
    return known == _digest("known", _email(email))


def remember_browser(response: HttpResponse, *, tenant_id: int, email: str, secure: bool) -> None:
    response.set_cookie(
        _cookie_name(tenant_id),
        signing.dumps(_digest("known", _email(email)), salt=_cookie_salt(tenant_id)),
        max_age=KNOWN_BROWSER_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def sign_in_refusal(*, tenant_id: int, email: str, ip: str, known_browser: bool) -> SignInRefusal | None:
    """Why this attempt may not even be checked, or None. Takes the e-mail's slot when it is slowed."""
    if (
        _count(_account_key(tenant_id, email, ip)) >= MAX_FAILURES_PER_ACCOUNT
        or _count(_ip_key(tenant_id, ip)) >= MAX_FAILURES_PER_IP
    ):
        return SignInRefusal.LOCKED
    if known_browser or _count(_email_key(tenant_id, email)) < SLOW_AFTER_FAILURES_PER_EMAIL:
        return None
    slot = f"{_email_key(tenant_id, email)}:slot"
    return None if cache_add(slot, 1, timeout=SLOW_SLOT_SECONDS) else SignInRefusal.SLOWED


def sign_in_failed(*, tenant_id: int, email: str, ip: str) -> None:
    for key in (_account_key(tenant_id, email, ip), _ip_key(tenant_id, ip), _email_key(tenant_id, email)):
        cache_count(key, timeout=LOCKOUT_SECONDS)


def sign_in_succeeded(*, tenant_id: int, email: str, ip: str) -> None:
    cache_delete(_account_key(tenant_id, email, ip))


def _sign_up_key(tenant_id: int, ip: str) -> str:
    return f"storefront:signup:{tenant_id}:taken:{_digest(ip)}"


def sign_up_refused(*, tenant_id: int, ip: str) -> bool:
    return _count(_sign_up_key(tenant_id, ip)) >= MAX_TAKEN_SIGN_UPS_PER_IP


def sign_up_email_taken(*, tenant_id: int, ip: str) -> None:
    cache_count(_sign_up_key(tenant_id, ip), timeout=LOCKOUT_SECONDS)
