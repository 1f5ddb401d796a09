"""Scope checks, declared on each view as a `scope_map` from HTTP method to the scope it needs (Sentry style).

    class ProductListApi(TenantApiView):
        scope_map = read_write("catalog")      # GET -> catalog:read, POST/PUT/PATCH/DELETE -> catalog:write

A method mapped to None needs only a valid credential, as does OPTIONS (it only describes
the endpoint). A method the view handles but the map omits is refused (fail closed); a
method the view does not handle falls through to 405.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .exceptions import MissingScope

READ_METHODS = ("GET", "HEAD", "OPTIONS")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def read_write(resource: str) -> dict[str, str]:
    """The usual map: reads need `<resource>:read`, writes `<resource>:write`."""
    return {**dict.fromkeys(READ_METHODS, f"{resource}:read"), **dict.fromkeys(WRITE_METHODS, f"{resource}:write")}


def scope_required(view: Any, method: str) -> tuple[bool, str | None]:
    """(declared, scope): whether the view's scope_map covers `method`, and the scope it needs."""
    scope_map: Mapping[str, str | None] = getattr(view, "scope_map", {}) or {}
    if method in scope_map:
        return True, scope_map[method]
    if method == "HEAD" and "GET" in scope_map:
        return True, scope_map["GET"]
    if method == "OPTIONS":
        return True, None  # describes the endpoint only; any valid credential may ask
    return False, None


class HasScope(BasePermission):
    """Requires an authenticated API principal holding the scope the view's scope_map names."""

    message = "This credential may not use this endpoint."

    def has_permission(self, request: Request, view: Any) -> bool:
        from .authentication import ApiPrincipal

        principal = request.auth
        if not isinstance(principal, ApiPrincipal):
            return False  # DRF answers 401 (not authenticated) since no authenticator succeeded
        method = (request.method or "").upper()
        if not hasattr(view, method.lower()) and method != "OPTIONS":
            return True  # let the view answer 405 Method Not Allowed
        declared, scope = scope_required(view, method)
        if not declared:
            return False
        if scope is not None and not principal.has_scope(scope):
            raise MissingScope(scope)
        return True
