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
        {
            "DJANGO_SETTINGS_MODULE": "retailsite.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "shop.example.com",
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "BLIND_INDEX_KEY": secrets.token_hex(32),
            **overrides,
        }
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


def test_check_deploy_fails_on_a_wildcard_allowed_host() -> None:
    result = deploy_check(ALLOWED_HOSTS="*")
    assert result.returncode != 0
    assert "retailsite.E001" in result.stdout + result.stderr


def test_production_refuses_to_start_without_the_encryption_keys() -> None:
    result = deploy_check(FIELD_ENCRYPTION_KEYS="", BLIND_INDEX_KEY="")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY must be set" in result.stderr


def test_check_deploy_names_missing_keys_under_the_base_settings() -> None:
    # An operator who runs the base settings with DEBUG off still hears about the keys.
    result = deploy_check(DJANGO_SETTINGS_MODULE="retailsite.settings.base", FIELD_ENCRYPTION_KEYS="")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stdout + result.stderr


def test_debug_is_off_unless_set() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="retailsite.settings.base", SECRET_KEY="x" * 50)
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.stdout.strip() == "False", result.stderr


def test_the_wsgi_entry_point_defaults_to_the_production_settings() -> None:
    text = (Path(settings.BASE_DIR) / "retailsite" / "wsgi.py").read_text()
    assert '"retailsite.settings.production"' in text
