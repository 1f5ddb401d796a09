"""A web worker and `manage.py help` start without the training stack.

scikit-learn, implicit, pandas, pyarrow, scipy.stats and statsforecast are imported only by the code that trains or
forecasts (training steps are registered by dotted path; the engines are imported where used). Each check runs in
a fresh interpreter, so what an earlier test imported does not hide an import.
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
HEAVY_MODULES = ("sklearn", "implicit", "pandas", "pyarrow", "scipy.stats", "statsforecast")

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


def _imported_heavy_modules(code: str, settings_module: str) -> list[str]:
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
        [sys.executable, "-c", code + _REPORT.format(heavy=HEAVY_MODULES)],
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


def test_manage_py_help_does_not_import_training_libraries() -> None:
    assert _imported_heavy_modules(MANAGE_HELP, "retailsite.settings.test") == []


def test_the_check_itself_sees_a_heavy_import() -> None:
    # The probe must be able to fail: a worker that did import the training code is reported.
    assert "sklearn" in _imported_heavy_modules(
        SERVING_WORKER + "import recommendations.training\n", "retailsite.settings.test"
    )
