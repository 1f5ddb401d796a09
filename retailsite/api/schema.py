"""OpenAPI additions: the API-key security scheme and the shared error responses of every operation.

The error responses are added by a drf-spectacular postprocessing hook rather than on each
view, so every endpoint — including those other apps add later — documents the same
error shape and status codes, and schema-driven tests can hold the API to them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Machine-readable: invalid, parse_error, "
                    "not_authenticated, authentication_failed, missing_scope, permission_denied, not_found, "
                    "method_not_allowed, not_acceptable, unsupported_media_type, conflict, throttled, "
                    "server_error.",
                },
                "message": {"type": "string", "description": "For people; may change."},
                "fields": {
                    "type": "object",
                    "description": "Field path (e.g. items[3].lines[0].product_id) to its messages; {} if none.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}
ERRORS_EVERY_OPERATION = {
    "400": "Invalid input (field errors) or malformed JSON.",
    "401": "No credential, or an invalid or revoked one.",
    "403": "The credential lacks the scope this operation needs.",
    "404": "No such object in this store (another store's objects are never visible).",
    "405": "Method not allowed on this path.",
    "406": "Cannot produce the requested response format.",
    "415": "The request body is not JSON.",
    "429": "Rate limit exceeded; retry after the number of seconds in Retry-After.",
}
ERRORS_WRITE_OPERATION = {"409": "Conflicts with stored data (id already taken, object still referenced)."}
ERRORS_SYNC_OPERATION = {
    "410": "The sync cursor is older than the deletions kept for partners; start again with updated_after.",
    "503": "Writes to the store are still in progress; retry this sync page after Retry-After seconds.",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "retailsite.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "rsk_<prefix>_<secret>",
            "description": "A store's API key: `Authorization: Bearer rsk_...` (or the X-API-Key header).",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "retailsite.api.authentication.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "A signed-in staff user's session (browsable API); writes need the CSRF token.",
        }


def _error_response(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds until the limit resets."}
        }
    return response


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: the Error component and the error responses on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = dict(ERRORS_EVERY_OPERATION)
            if method in WRITE_METHODS:
                errors.update(ERRORS_WRITE_OPERATION)
            if any(parameter.get("name") == "cursor" for parameter in operation.get("parameters", [])):
                errors.update(ERRORS_SYNC_OPERATION)
            for code, description in errors.items():
                operation["responses"].setdefault(
                    code, _error_response(description, retry_after=code in ("429", "503"))
                )
    return result
