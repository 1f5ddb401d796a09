"""Content-Security-Policy on every response: scripts, styles, images and fonts from this site only.

No 'unsafe-inline' and no 'unsafe-eval' anywhere: an injected <script> or inline handler does not
run. The storefront and the Django admin load all their JavaScript from files (the admin's
data-carrying <script> tags have a src). The two inline <style> blocks of third-party pages that
are otherwise unchanged — Django admin's change list without actions and the Swagger UI page —
are allowed by their SHA-256 hashes, computed from the installed templates at start-up.

Settings (read when the middleware is created):
- CONTENT_SECURITY_POLICY: {directive: [sources]} merged over the defaults below;
- CONTENT_SECURITY_POLICY_REPORT_ONLY: True to send Content-Security-Policy-Report-Only instead.
A view that sets its own header keeps it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

logger = logging.getLogger(__name__)

DEFAULT_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
INLINE_STYLE_TEMPLATES = ("admin/change_list.html", "drf_spectacular/swagger_ui.html")
FORBIDDEN_SCRIPT_SOURCES = {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"}


def inline_style_hashes(template_names: tuple[str, ...] = INLINE_STYLE_TEMPLATES) -> list[str]:
    """'sha256-…' sources for the literal <style> blocks of these templates (none has a template tag
    inside its block, so the rendered text is the template text)."""
    hashes = []
    for name in template_names:
        try:
            source = get_template(name).template.source  # type: ignore[attr-defined]
        except (TemplateDoesNotExist, AttributeError):
            continue
        for block in re.findall(r"<style>(.*?)</style>", source, flags=re.DOTALL):
            if "{%" in block or "{{" in block:
                continue
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    return hashes


def build_policy(overrides: dict[str, list[str]] | None = None) -> str:
    policy = {directive: list(sources) for directive, sources in DEFAULT_POLICY.items()}
    policy["style-src"] += inline_style_hashes()
    for directive, sources in (overrides or {}).items():
        policy[directive] = list(sources)
    unsafe = FORBIDDEN_SCRIPT_SOURCES & set(policy.get("script-src", policy["default-src"]))
    if unsafe:
        raise ImproperlyConfigured(f"CONTENT_SECURITY_POLICY script-src must not allow {', '.join(sorted(unsafe))}")
    return "; ".join(f"{directive} {' '.join(sources)}" for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = build_policy(getattr(settings, "CONTENT_SECURITY_POLICY", None))
        self.header = (
            "Content-Security-Policy-Report-Only"
            if getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", False)
            else "Content-Security-Policy"
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header not in response:
            response[self.header] = self.policy
        return response
