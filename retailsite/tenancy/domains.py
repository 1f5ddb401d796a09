"""Custom domains of a store: which names may be mapped, and proving control of one (DNS TXT).

A store maps a domain in the admin; the storefront answers on it only once verified. To verify, the store
publishes the TXT record `_retailsite-challenge.<domain>` with the value `retailsite-verification=<token>`
and runs the admin's "Verify" action. The platform's own host names (`PLATFORM_HOSTS`), IP addresses and
`localhost` names can never be mapped, nor served as a store even if a row says so.
"""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings
from django.utils import timezone

from .models import TenantDomain

CHALLENGE_PREFIX = "_retailsite-challenge"
TXT_VALUE_PREFIX = "retailsite-verification="
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class DomainRefused(ValueError):
    """The name cannot be mapped to a store; the message says why (never which store has it)."""


def normalize_domain(raw: str) -> str:
    return raw.strip().lower().rstrip(".")


def is_platform_host(host: str) -> bool:
    """The platform's own names (and anything that is not a public DNS name) are never a store's."""
    name = normalize_domain(host.split(":")[0] if not host.startswith("[") else host)
    if name.startswith("[") or name in {"localhost", "testserver"} or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    platform = {normalize_domain(h).lstrip(".") for h in settings.PLATFORM_HOSTS if h and h != "*"}
    return any(name == host or name.endswith("." + host) for host in platform)


def domain_check(raw: str) -> str:
    """The normalized name if a store may map it; DomainRefused otherwise (uniqueness is checked by the caller)."""
    name = normalize_domain(raw)
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise DomainRefused(f"{raw!r} is not a domain name such as shop.example.com.")
    if is_platform_host(name):
        raise DomainRefused(f"{name} belongs to the platform itself and cannot be a store's domain.")
    return name


def challenge_record(domain: TenantDomain) -> tuple[str, str]:
    """(name, value) of the TXT record that proves control of the domain."""
    return f"{CHALLENGE_PREFIX}.{domain.domain}", f"{TXT_VALUE_PREFIX}{domain.verification_token}"


def dns_txt_values(name: str) -> list[str]:
    """The TXT strings published at `name` ([] if none, or the lookup failed)."""
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=5)
    except dns.exception.DNSException:
        return []
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def tenant_domain_verify(*, domain: TenantDomain) -> bool:
    """Check the domain's TXT record; mark it verified (served from now on) if it carries the token."""
    name, value = challenge_record(domain)
    if is_platform_host(domain.domain) or value not in dns_txt_values(name):
        return False
    domain.verified_at = timezone.now()
    domain.save(update_fields=["verified_at"])
    return True
