"""API scopes: what a credential may do, and how a staff role maps onto them.

An API key carries an explicit list of scopes chosen when it is created. A staff user
using the browsable API gets scopes derived from their membership role, through the same
capability table as the admin (`retailsite.tenancy.permissions`), so the two never drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from retailsite.tenancy.models import Membership
from retailsite.tenancy.permissions import Capability, membership_can


class Scope(StrEnum):
    RECOMMENDATIONS_READ = "recommendations:read"
    EVENTS_WRITE = "events:write"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    FORECASTS_READ = "forecasts:read"
    INVENTORY_READ = "inventory:read"
    INVENTORY_WRITE = "inventory:write"
    EXPERIMENTS_READ = "experiments:read"
    EXPERIMENTS_WRITE = "experiments:write"
    IMPORTS_READ = "imports:read"
    IMPORTS_WRITE = "imports:write"


ALL_SCOPES: tuple[str, ...] = tuple(scope.value for scope in Scope)
# Scopes that expose or change customers' personal data (e-mail, name, phone, address).
PERSONAL_DATA_SCOPES: frozenset[str] = frozenset({Scope.CUSTOMERS_READ, Scope.CUSTOMERS_WRITE})
READ_SCOPES: frozenset[str] = frozenset(scope for scope in ALL_SCOPES if scope.endswith(":read"))
WRITE_SCOPES: frozenset[str] = frozenset(ALL_SCOPES) - READ_SCOPES


class UnknownScope(ValueError):
    """A scope name that does not exist; the message lists the valid ones."""


def parse_scopes(values: Iterable[str]) -> list[str]:
    """Clean, de-duplicated scopes in the canonical order; unknown names are refused."""
    wanted = {value.strip() for value in values if value.strip()}
    unknown = sorted(wanted - set(ALL_SCOPES))
    if unknown:
        raise UnknownScope(f"unknown scope(s) {', '.join(unknown)}; valid scopes are: {', '.join(ALL_SCOPES)}")
    if not wanted:
        raise UnknownScope(f"give at least one scope; valid scopes are: {', '.join(ALL_SCOPES)}")
    return [scope for scope in ALL_SCOPES if scope in wanted]


def scopes_for_membership(membership: Membership | None) -> frozenset[str]:
    """The scopes a staff member's role grants in the browsable API.

    Every role that may view gets the read scopes; roles that may change data get the
    write scopes; the customer scopes additionally need the personal-data capability.
    """
    granted: set[str] = set()
    may_see_personal = membership_can(membership, Capability.VIEW_PERSONAL_DATA)
    if membership_can(membership, Capability.VIEW):
        granted |= READ_SCOPES - PERSONAL_DATA_SCOPES
    if membership_can(membership, Capability.CHANGE):
        granted |= WRITE_SCOPES - PERSONAL_DATA_SCOPES
    if may_see_personal:
        granted.add(Scope.CUSTOMERS_READ)
        if membership_can(membership, Capability.CHANGE):
            granted.add(Scope.CUSTOMERS_WRITE)
    return frozenset(granted)
