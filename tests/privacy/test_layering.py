"""The privacy layer sits below the apps that hold personal data: they register with it, it imports none of them."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

from recommendations.models import CustomerRecommendations
from retailsite.privacy.cache import customer_cache_namespaces
from retailsite.privacy.holders import personal_data_holders

ABOVE = ("recommendations", "forecasting", "inventory")


def test_the_privacy_package_imports_nothing_from_the_apps_above_it() -> None:
    offenders = []
    for path in sorted((Path(settings.BASE_DIR) / "retailsite" / "privacy").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [f"{path.name}: {name}" for name in names if name.startswith(ABOVE)]
    assert offenders == []


def test_the_apps_register_what_they_hold_and_cache_about_a_customer() -> None:
    holders = {holder.export_name: holder for holder in personal_data_holders()}
    assert {"recommendations", "predictions"} <= set(holders)
    assert holders["recommendations"].model is CustomerRecommendations
    assert holders["recommendations"].purge_without_consent
    assert "storefront:home" in {namespace.name for namespace in customer_cache_namespaces()}
