"""A web worker and `manage.py help` start without the training stack, and `manage.py help` without what only
serving needs.

scikit-learn, implicit, pandas, pyarrow, scipy and statsforecast are imported only by the code that trains or
forecasts (training steps are registered by dotted path; the engines are imported where used); numpy only by that
and the staff pages' charts. A management
command that serves nothing also goes without numpy, Django REST framework's serializers, drf-spectacular's schema
machinery, prometheus_client, the Fernet cipher, Celery and kombu (each imported where it is used: the
engines, the API's URLs, /metrics, encryption, the modules that define tasks), and without the staff admin's
modules (and the services and importers their actions import): those load with the URL conf, or whatever else
reads the admin's registry first (retailsite/admin_site.py). Each check runs in a fresh interpreter, so what an
earlier test imported does not hide an import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
HEAVY_MODULES = ("sklearn", "implicit", "pandas", "pyarrow", "scipy", "statsforecast")
SERVING_ONLY_MODULES = (
    "numpy",
    "rest_framework.serializers",
    "drf_spectacular.plumbing",
    "prometheus_client",
    "cryptography.fernet",
    "celery.app.base",
    "kombu",
)
TASK_MODULES = (
    "retailsite.tenancy.tasks",
    "retailsite.storefront.tasks",
    "retailsite.privacy.tasks",
    "experiments.tasks",
    "imports.tasks",
    "webhooks.tasks",
)
ADMIN_MODULES = tuple(
    f"{app}.admin"
    for app in (
        "retailsite.tenancy",
        "retailsite.commerce",
        "retailsite.privacy",
        "retailsite.api",
        "recommendations",
        "inventory",
        "experiments",
        "webhooks",
        "imports",
        "browser",
        "forecasting",
    )
)

_REPORT = """
import json, sys
print("HEAVY=" + json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)))
"""

SERVING_WORKER = """
import django
django.setup()
from django.urls import get_resolver
import retailsite.wsgi  # the WSGI application: settings, apps, middleware
get_resolver().url_patterns  # the whole URL conf and every view module it names
"""

MANAGE_HELP = """
import contextlib, io
from django.core.management import execute_from_command_line
with contextlib.redirect_stdout(io.StringIO()):
    execute_from_command_line(["manage.py", "help"])
"""


def _imported_heavy_modules(code: str, settings_module: str, modules: tuple[str, ...] = HEAVY_MODULES) -> list[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "SECRET_KEY": "lean-start-up-test-" + "x" * 40,
        # Production settings refuse to start without the personal-data keys (any well-formed ones do here).
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "BLIND_INDEX_KEY": "lean-start-up-test-blind-index-key",
        "DJANGO_DEBUG": "False",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", code + _REPORT.format(heavy=modules)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("HEAVY="))
    return json.loads(line.removeprefix("HEAVY="))


@pytest.mark.parametrize("settings_module", ["retailsite.settings.test", "retailsite.settings.production"])
def test_the_url_conf_and_wsgi_app_do_not_import_training_libraries(settings_module: str) -> None:
    assert _imported_heavy_modules(SERVING_WORKER, settings_module) == []


@pytest.mark.parametrize("settings_module", ["retailsite.settings.test", "retailsite.settings.production"])
def test_a_web_worker_goes_without_numpy_until_a_staff_chart_or_training_needs_it(settings_module: str) -> None:
    # The URL conf names the staff chart views and every serving module (reasons and stored lists included): none
    # of them may pull numpy (about 25 MB per worker) in on a worker's first request.
    assert _imported_heavy_modules(SERVING_WORKER, settings_module, ("numpy",)) == []
    assert _imported_heavy_modules(SERVING_WORKER + "import inventory.charts\n", settings_module, ("numpy",)) == [
        "numpy"
    ]


def test_manage_py_help_does_not_import_training_libraries() -> None:
    assert _imported_heavy_modules(MANAGE_HELP, "retailsite.settings.test") == []


@pytest.mark.parametrize("settings_module", ["retailsite.settings.test", "retailsite.settings.production"])
def test_manage_py_help_does_not_import_what_only_serving_needs(settings_module: str) -> None:
    assert _imported_heavy_modules(MANAGE_HELP, settings_module, SERVING_ONLY_MODULES) == []


@pytest.mark.parametrize("module", TASK_MODULES)
def test_a_task_module_sends_its_tasks_to_the_projects_broker_whatever_was_imported_before(module: str) -> None:
    # Nothing imports the Celery app at start-up any more: a task bound to Celery's default app instead would be
    # sent to its default broker (amqp://localhost), and lost, by a process that imported only this module.
    code = f"""
import django
django.setup()
from celery import Task
from django.conf import settings
import {module} as tasks
found = [value for value in vars(tasks).values() if isinstance(value, Task)]
assert found, "no task in {module}"
for task in found:
    assert task.app.main == "retailsite", (task.name, task.app.main)
    assert task.app.conf.broker_url == settings.CELERY_BROKER_URL, (task.name, task.app.conf.broker_url)
"""
    assert _imported_heavy_modules(code, "retailsite.settings.production", ()) == []  # the asserts above held


def test_the_check_itself_sees_a_heavy_import() -> None:
    # The probe must be able to fail: a worker that did import the training code is reported.
    assert "sklearn" in _imported_heavy_modules(
        SERVING_WORKER + "import recommendations.training\n", "retailsite.settings.test"
    )
    assert "numpy" in _imported_heavy_modules(
        MANAGE_HELP + "import experiments.engine.stats\n", "retailsite.settings.test", SERVING_ONLY_MODULES
    )


def test_manage_py_help_does_not_import_the_admin_modules_and_a_web_worker_has_them_all() -> None:
    assert _imported_heavy_modules(MANAGE_HELP, "retailsite.settings.test", ADMIN_MODULES) == []
    # The URL conf reads the admin's registry: every app's admin module is loaded by then.
    assert _imported_heavy_modules(SERVING_WORKER, "retailsite.settings.production", ADMIN_MODULES) == sorted(
        ADMIN_MODULES
    )


def test_the_admin_registry_is_complete_when_first_read_without_the_url_conf(admin_client) -> None:
    # Checks or code reading the registry before any URL gets the whole admin, and the staff index lists it.
    code = """
import django
django.setup()
from django.contrib import admin
from retailsite.commerce.models import Customer, Product
assert Product in admin.site._registry, "products missing"
assert type(admin.site._registry[Customer]).__name__ == "PrivacyCustomerAdmin", "the privacy app's customer admin"
"""
    assert _imported_heavy_modules(code, "retailsite.settings.test", ()) == []  # the asserts above held
    page = admin_client.get("/admin/")
    assert page.status_code == 200
    assert "/admin/commerce/product/" in page.content.decode()
