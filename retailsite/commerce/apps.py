from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "retailsite.commerce"
    label = "commerce"
    verbose_name = "Commerce"

    def ready(self) -> None:
        from .catalog_version import connect_catalog_signals

        connect_catalog_signals()
