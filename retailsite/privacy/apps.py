from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PrivacyConfig(AppConfig):
    name = "retailsite.privacy"
    label = "privacy"
    verbose_name = "Privacy and audit"

    def ready(self) -> None:
        from retailsite.commerce.signals import customers_imported, personalization_withdrawn
        from retailsite.tenancy import rls

        from . import checks, services, triggers  # noqa: F401  (checks registers the deployment checks)

        # The application role may read audit rows, never write, change or remove them (the database does).
        rls.RESTRICTED_TABLES.update(triggers.APP_ROLE_PRIVILEGES)
        # Consent withdrawn through a commerce write (API, import): the one purge, at once, in the same transaction.
        personalization_withdrawn.connect(
            services.personalization_withdrawn_receiver, dispatch_uid="privacy_personalization_withdrawn"
        )
        customers_imported.connect(services.customers_imported_receiver, dispatch_uid="privacy_customers_imported")
        # After every migrate: audit triggers on every tenant table, including ones added since.
        post_migrate.connect(
            triggers.post_migrate_install_audit_triggers, sender=self, dispatch_uid="privacy_install_audit_triggers"
        )
