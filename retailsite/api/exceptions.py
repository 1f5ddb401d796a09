"""One JSON error shape for every API failure (services raise retailsite.errors' InvalidInput and Conflict).

    {"error": {"code": "invalid", "message": "price: A valid number is required.",
               "fields": {"price": ["A valid number is required."]}}}

`code` is machine-readable (stable), `message` is for people, `fields` maps a field path
(`items[3].lines[0].product_id`) to its messages and is `{}` when no field is at fault.
Every error response also rolls back the request's transaction (TenantMiddleware runs each
request in one), so a refused request never leaves anything half-written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, connections
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response

from retailsite.errors import NON_FIELD_KEY, Conflict, InvalidInput, errors_summary

logger = logging.getLogger(__name__)

SERVER_ERROR_MESSAGE = "The server failed to handle this request. It has been logged; please retry later."
UNAVAILABLE_MESSAGE = "The service is briefly unavailable (its database did not answer); please retry in a few seconds."
RETRY_AFTER_SECONDS = 5


class MissingScope(exceptions.PermissionDenied):
    default_code = "missing_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This credential lacks the scope {scope!r} needed here.", code="missing_scope")
        self.scope = scope


def error_body(code: str, message: str, fields: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": dict(fields or {})}}


def flatten_errors(detail: Any, path: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"items[2].price": ["..."]}; errors of the whole object under non_field_errors."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if isinstance(key, int):
                child = f"{path}[{key}]"
            elif key == NON_FIELD_KEY:
                child = path
            else:
                child = f"{path}.{key}" if path else str(key)
            for child_path, messages in flatten_errors(value, child).items():
                flat.setdefault(child_path, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, Mapping | list) for item in detail):
            if detail:
                flat[path or NON_FIELD_KEY] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    for child_path, messages in flatten_errors(item, f"{path}[{index}]").items():
                        flat.setdefault(child_path, []).extend(messages)
    else:
        flat[path or NON_FIELD_KEY] = [str(detail)]
    return flat


def rollback_request_transaction() -> None:
    """Mark the open transaction (the middleware's request transaction) to roll back on exit."""
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            connection.set_rollback(True)


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception becomes the JSON error shape (never a traceback)."""
    rollback_request_transaction()
    if isinstance(exc, InvalidInput):
        return Response(
            error_body("invalid", errors_summary(exc.fields), exc.fields), status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, Conflict):
        return Response(error_body("conflict", str(exc)), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            error_body("conflict", "Other records still refer to this object, so it cannot be deleted."),
            status=status.HTTP_409_CONFLICT,
        )
    if database_unavailable(exc):
        return unavailable_response(as_json=True)  # type: ignore[return-value]
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(
                "payload_too_large",
                f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; send it in batches.",
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, RecursionError):  # the JSON parser on a document nested thousands of levels deep
        return Response(
            error_body("parse_error", "The JSON body is nested too deeply."), status=status.HTTP_400_BAD_REQUEST
        )
    # Imported here: rest_framework.views loads the authentication classes, which need services,
    # which need this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, dict(context))
    if response is None:
        view = context.get("view")
        logger.error("unhandled error in API view %s", type(view).__name__ if view else "?", exc_info=exc)
        return Response(error_body("server_error", SERVER_ERROR_MESSAGE), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        response.data = error_body("invalid", errors_summary(fields), fields)
        return response
    detail = getattr(exc, "detail", None)
    code = (
        detail.code
        if isinstance(detail, exceptions.ErrorDetail) and detail.code
        else getattr(exc, "default_code", "error")
    )
    message = str(detail) if isinstance(detail, str) else str(getattr(exc, "default_detail", "Request refused."))
    response.data = error_body(str(code), message)
    return response


def not_found(request: HttpRequest, unmatched: str = "") -> JsonResponse:
    """Any /api/ path no route matches: a JSON 404 (with a hint when only the trailing slash is missing)."""
    message = "No API endpoint at this address."
    if not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            message += f" Did you mean {request.path_info}/ (with a trailing slash)?"
    rollback_request_transaction()
    return JsonResponse(error_body("not_found", message), status=status.HTTP_404_NOT_FOUND)


def database_unavailable(exc: BaseException | None) -> bool:
    """The database connection failed (a restart, a failover, a network cut): nothing the client did wrong, and
    the same request will work again shortly — the connection is re-opened on the next request."""
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable_response(*, as_json: bool) -> HttpResponse | Response:
    logger.warning("database unavailable; answering 503", exc_info=sys.exc_info()[1] is not None)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if as_json:
        return Response(
            error_body("unavailable", UNAVAILABLE_MESSAGE), status=status.HTTP_503_SERVICE_UNAVAILABLE, headers=headers
        )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Back in a moment</title></head>'
        f"<body><h1>Back in a moment</h1><p>{UNAVAILABLE_MESSAGE}</p></body></html>"
    )
    return HttpResponse(page, status=503, headers=headers)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500 for the project: JSON for /api/ paths, Django's page elsewhere. No traceback either way.

    Django calls it while handling the exception, so sys.exc_info() names it: a lost database connection is a
    503 with Retry-After (a brief outage, retry), not a 500 (a bug)."""
    if database_unavailable(sys.exc_info()[1]):
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                error_body("unavailable", UNAVAILABLE_MESSAGE),
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return unavailable_response(as_json=False)
    if request.path_info.startswith("/api/"):
        return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    return defaults.server_error(request)
