"""Deployment checks (`manage.py check --deploy`) for what Django's own checks do not know about."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_deployment_secrets(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    if "*" in settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "ALLOWED_HOSTS contains '*': any Host header is accepted (host-header poisoning, and any name "
                "could reach a store mapped by domain).",
                hint="List the platform's host names and every mapped store domain.",
                id="retailsite.E001",
            )
        )
    for name in ("FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"):
        if not getattr(settings, name):
            errors.append(
                Error(
                    f"{name} is not set: personal data would be keyed from SECRET_KEY.",
                    hint="Set it in the environment (docs/privacy.md, 'Keys').",
                    id="retailsite.E002",
                )
            )
    return errors
