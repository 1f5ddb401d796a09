"""`manage.py check --deploy` is clean under the production settings (secure cookies, HSTS, SSL redirect, ...):
item 1 of issue 7. The check runs in a fresh process, as an operator would run it, with real-looking secrets."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

MANAGE = Path(settings.BASE_DIR) / "manage.py"


def deploy_check(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "SECURE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="retailsite.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="shop.example.com",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        BLIND_INDEX_KEY=secrets.token_hex(32),
        **overrides,
    )
    return subprocess.run(
        [sys.executable, str(MANAGE), "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_under_production_settings() -> None:
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_would_report_a_missing_hsts_header() -> None:
    """The check above is not vacuous: switching HSTS off (a setting production reads) makes it fail."""
    result = deploy_check(SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr
