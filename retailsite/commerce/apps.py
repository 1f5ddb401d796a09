from typing import Any

from django.apps import AppConfig
from django.db.models import Model
from django.db.models.signals import post_save, pre_save


class CommerceConfig(AppConfig):
    name = "retailsite.commerce"
    label = "commerce"
    verbose_name = "Commerce"

    def ready(self) -> None:
        from retailsite.tenancy.models import Tenant
        from retailsite.tenancy.settings_registry import TenantSetting, register_setting

        from .catalog_version import connect_catalog_signals
        from .search import DEFAULT_SEARCH_LANGUAGE, SEARCH_LANGUAGES

        connect_catalog_signals()
        register_setting(
            TenantSetting(
                "search_language",
                "choice",
                DEFAULT_SEARCH_LANGUAGE,
                "language of the catalog for storefront search (stemming, stop words); 'simple' for none",
                choices=SEARCH_LANGUAGES,
                group="storefront",
            )
        )
        pre_save.connect(_remember_search_language, sender=Tenant, dispatch_uid="commerce-search-language-pre")
        post_save.connect(_search_language_saved, sender=Tenant, dispatch_uid="commerce-search-language-post")


def _remember_search_language(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    if instance.pk is None:
        instance._search_language_before = None
        return
    before = sender._default_manager.filter(pk=instance.pk).values_list("settings", flat=True).first() or {}
    instance._search_language_before = before.get("search_language")


def _search_language_saved(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    if created or getattr(instance, "_search_language_before", None) == (instance.settings or {}).get(
        "search_language"
    ):
        return
    from retailsite.tenancy.context import tenant_context

    from .search import product_search_documents_rebuild

    with tenant_context(instance):
        product_search_documents_rebuild()
