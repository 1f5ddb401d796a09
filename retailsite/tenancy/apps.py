from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenancyConfig(AppConfig):
    name = "retailsite.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from . import rls, signals, tenant_settings  # noqa: F401  (registers the core tenant settings, cache signals)

        # Runs after every migrate: every table with a tenant_id column gets RLS, so a new
        # tenant model cannot be forgotten.
        post_migrate.connect(rls.post_migrate_apply_rls, sender=self)
