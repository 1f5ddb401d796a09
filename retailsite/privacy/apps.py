from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PrivacyConfig(AppConfig):
    name = "retailsite.privacy"
    label = "privacy"
    verbose_name = "Privacy and audit"

    def ready(self) -> None:
        from retailsite.tenancy import rls

        from . import triggers

        # The application role may insert and read audit rows, never change or remove them.
        for table in (triggers.AUDIT_TABLE,):
            if table not in rls.APPEND_ONLY_TABLES:
                rls.APPEND_ONLY_TABLES.append(table)
        # After every migrate: audit triggers on every tenant table, including ones added since.
        post_migrate.connect(
            triggers.post_migrate_install_audit_triggers, sender=self, dispatch_uid="privacy_install_audit_triggers"
        )
