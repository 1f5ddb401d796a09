"""Base ModelAdmin for tenant-owned models.

The queryset comes from the tenant-scoped manager, so staff see only the store selected
in their session (TenantMiddleware); a platform superuser with no store selected sees
every store. Permissions come from the membership role, not Django's per-model perms.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.filters import SimpleListFilter
from django.db.models import Model, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

from .context import current_tenant_id
from .permissions import Capability, membership_can

PERSONAL_FIELDS: frozenset[str] = frozenset({"email", "name", "phone", "address"})
# Never a filter, whatever the role: a prefix lookup on them reads them back one character at a time.
NEVER_FILTERED_FIELDS: frozenset[str] = frozenset({"password", "email_hash", "secret_hash"})


def request_can(request: HttpRequest, capability: Capability) -> bool:
    if request.user.is_active and request.user.is_superuser:
        return True
    return request.user.is_active and membership_can(getattr(request, "membership", None), capability)


class TenantScopedAdmin(admin.ModelAdmin):
    """Fields listed in `personal_fields` are hidden from roles that may not see personal data."""

    personal_fields: tuple[str, ...] = ()

    def _in_platform_scope(self, request: HttpRequest) -> bool:
        return current_tenant_id() is None

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Django looks an object up before asking for permission: staff of no store get "not found" (a
        # redirect to the index), not the tenant manager's fail-closed error page.
        if current_tenant_id() is None and not request.user.is_superuser:
            return self.model._base_manager.none()
        return super().get_queryset(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.VIEW)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request_can(request, Capability.VIEW)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A new row needs a store: platform-scope superusers pick one first.
        return request_can(request, Capability.CHANGE) and not self._in_platform_scope(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request_can(request, Capability.CHANGE)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request_can(request, Capability.CHANGE)

    def _hidden_fields(self, request: HttpRequest) -> set[str]:
        if request_can(request, Capability.VIEW_PERSONAL_DATA):
            return set()
        return set(self.personal_fields)

    def get_list_display(self, request: HttpRequest) -> Any:
        hidden = self._hidden_fields(request)
        columns = [c for c in super().get_list_display(request) if c not in hidden]
        if request.user.is_superuser and self._in_platform_scope(request):
            columns.append("tenant")
        return columns

    def get_list_filter(self, request: HttpRequest) -> Any:
        hidden = self._hidden_fields(request)
        return [f for f in super().get_list_filter(request) if _filter_path(f).split(LOOKUP_SEP)[0] not in hidden]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Only the declared filters (list_filter, date_hierarchy), never a password or blind index, and no
        personal field for a role without the personal-data right (Django allows any local field)."""
        parts = lookup.split(LOOKUP_SEP)
        if any(part in NEVER_FILTERED_FIELDS for part in parts):
            return False
        if request is None or any(part in self._hidden_fields(request) for part in parts):
            return False
        declared = [_filter_path(item) for item in self.get_list_filter(request)]
        if self.date_hierarchy:
            declared.append(self.date_hierarchy)
        if not any(lookup == path or lookup.startswith(path + LOOKUP_SEP) for path in declared if path):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request: HttpRequest) -> Any:
        hidden = self._hidden_fields(request)
        return [f for f in super().get_search_fields(request) if f.split("__")[0].lstrip("=^@") not in hidden]

    def get_exclude(self, request: HttpRequest, obj: Model | None = None) -> Any:
        return [*(super().get_exclude(request, obj) or ()), *self._hidden_fields(request)]

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        hidden = self._hidden_fields(request)
        return [f for f in super().get_fields(request, obj) if f not in hidden]

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any) -> Any:
        return _same_store_form(super().get_form(request, obj, change=change, **kwargs))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and getattr(obj, "tenant_id", None) is None:
            obj.tenant_id = current_tenant_id()
        super().save_model(request, obj, form, change)


def _same_store_form(form_class: Any, store_id: int | None = None) -> Any:
    """The form, refusing a reference to another store's row (a platform superuser sees every store's rows in the
    choices and raw-id look-ups; a store's own staff never do). `store_id`: an inline row's store, its parent's."""

    class SameStoreForm(form_class):
        def clean(self) -> dict[str, Any]:
            cleaned = super().clean()
            tenant_id = getattr(self.instance, "tenant_id", None) or store_id or current_tenant_id()
            for name, value in list(cleaned.items()):
                other = getattr(value, "tenant_id", None) if isinstance(value, Model) else None
                if tenant_id is not None and other is not None and other != tenant_id:
                    self.add_error(name, "This record belongs to another store; a store's rows refer to its own only.")
            return cleaned

    SameStoreForm.__name__ = form_class.__name__
    return SameStoreForm


def _filter_path(item: Any) -> str:
    """The query-string path a list_filter entry filters on ("plan__status", a SimpleListFilter's parameter)."""
    if isinstance(item, type) and issubclass(item, SimpleListFilter):
        return item.parameter_name or ""
    if isinstance(item, tuple | list):
        return str(item[0])
    return str(item)


class TenantScopedInline(admin.TabularInline):
    def get_formset(self, request: HttpRequest, obj: Model | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = _same_store_form(formset.form, getattr(obj, "tenant_id", None))
        return formset

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request_can(request, Capability.VIEW)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request_can(request, Capability.CHANGE)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request_can(request, Capability.CHANGE)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request_can(request, Capability.CHANGE)
