from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "retailsite.api"
    label = "api"
    verbose_name = "Partner API"

    def ready(self) -> None:
        from retailsite.privacy import triggers

        from . import schema  # noqa: F401 - registers the API-key security scheme with drf-spectacular
        from .sync import SYNC_COLUMNS, SYNC_KINDS

        # The sync's stamps are bookkeeping: the audit log neither lists them nor records a change of only them.
        for table in SYNC_KINDS:
            triggers.IGNORED_UPDATE_COLUMNS[table] = (*triggers.IGNORED_UPDATE_COLUMNS.get(table, ()), *SYNC_COLUMNS)
