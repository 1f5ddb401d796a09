"""Collectors read at scrape time (e.g. from the database), registered by the apps that own the data.

An app names its collector by dotted path in AppConfig.ready() (recommendations registers its model age), as
training steps name their function: registering imports nothing, so a manage.py command does not load
prometheus_client; `/metrics` imports each collector when it is scraped. This module imports no app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.module_loading import import_string

_paths: list[str] = []


def register_scrape_time_collector(path: str) -> None:
    """Add the collector class (or factory) at `path`, built fresh for every scrape (idempotent per path)."""
    if path not in _paths:
        _paths.append(path)


def scrape_time_collectors() -> list[Callable[[], Any]]:
    """The registered factories, imported now."""
    return [import_string(path) for path in _paths]
