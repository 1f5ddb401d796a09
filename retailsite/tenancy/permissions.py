"""What each membership role may do. One table, used by the admin, staff pages, exports and the API."""

from __future__ import annotations

from enum import StrEnum

from .models import Membership, Role


class Capability(StrEnum):
    VIEW = "view"  # read tenant data (aggregates, catalog, models, forecasts)
    VIEW_PERSONAL_DATA = "view_personal_data"  # customer e-mail, name, phone, address
    CHANGE = "change"  # create, update, delete tenant data; approve plans; activate models
    EXPORT_PERSONAL_DATA = "export_personal_data"  # data-subject exports
    MANAGE_MEMBERS = "manage_members"  # add staff, change roles, API keys, tenant settings
    VIEW_AUDIT_LOG = "view_audit_log"


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.OWNER: frozenset(Capability),
    Role.MANAGER: frozenset(
        {
            Capability.VIEW,
            Capability.VIEW_PERSONAL_DATA,
            Capability.CHANGE,
            Capability.EXPORT_PERSONAL_DATA,
            Capability.VIEW_AUDIT_LOG,
        }
    ),
    # Analysts see aggregates and models, never personal-data fields.
    Role.ANALYST: frozenset({Capability.VIEW}),
    Role.VIEWER: frozenset({Capability.VIEW}),
}


def membership_can(membership: Membership | None, capability: Capability) -> bool:
    if membership is None:
        return False
    return capability in ROLE_CAPABILITIES.get(membership.role, frozenset())
