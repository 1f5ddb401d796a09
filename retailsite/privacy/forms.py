"""The staff sign-in form with brute-force lock-out (installed as the admin site's login form)."""

from __future__ import annotations

import math
from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from .lockout import staff_login_failed, staff_login_locked_for, staff_login_succeeded


class LockoutAdminAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": "Too many failed sign-in attempts. Try again in %(minutes)d minute(s).",
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        ip = self.request.META.get("REMOTE_ADDR", "") if self.request is not None else ""
        remaining = staff_login_locked_for(username=username, ip=ip)
        if remaining:
            # Locked: the password is not even checked, so guessing during a lock tells nothing.
            raise ValidationError(
                self.error_messages["locked"], code="locked", params={"minutes": math.ceil(remaining / 60)}
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            staff_login_failed(username=username, ip=ip)
            raise
        staff_login_succeeded(username=username, ip=ip)
        return cleaned
