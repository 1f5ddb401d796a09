"""The staff admin's site, whose app modules (`<app>/admin.py`, and the services and forms their actions import)
load the first time anything reads its registry — the URL conf, the system checks, a test — rather than at every
start-up: `manage.py help` and the commands that never touch the admin go without them."""

from __future__ import annotations

import threading
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig

_discovery = threading.RLock()


class LazyAdminSite(admin.AdminSite):
    _discovered = False
    _discovering = False

    @property
    def _registry(self) -> dict[Any, Any]:
        if not self._discovered:
            # Re-entered by the same thread while the admin modules register; other threads wait for the end.
            with _discovery:
                if not self._discovered and not self._discovering:
                    self._discovering = True
                    try:
                        admin.autodiscover()
                    finally:
                        self._discovering = False
                    self._discovered = True
        return self.__dict__["_models"]

    @_registry.setter
    def _registry(self, models: dict[Any, Any]) -> None:
        self.__dict__["_models"] = models


class LazyAdminConfig(SimpleAdminConfig):
    """`django.contrib.admin` with the lazy site (SimpleAdminConfig: no autodiscovery in `ready()`)."""

    default_site = "retailsite.admin_site.LazyAdminSite"
