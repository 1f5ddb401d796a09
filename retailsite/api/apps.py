from django.apps import AppConfig

# Tables stamped by the sync triggers of `sync.py` (migrations commerce 0003, inventory 0003) and the stamp columns;
# here, not in sync.py, which loads Django REST framework: ready() runs for every manage.py command.
SYNC_TABLES = ("commerce_customer", "commerce_product", "commerce_order", "inventory_stockitem")
SYNC_COLUMNS = ("updated_at", "change_seq")


class ApiConfig(AppConfig):
    name = "retailsite.api"
    label = "api"
    verbose_name = "Partner API"

    def ready(self) -> None:
        from retailsite.privacy import triggers

        # The sync's stamps are bookkeeping: the audit log neither lists them nor records a change of only them.
        for table in SYNC_TABLES:
            triggers.IGNORED_UPDATE_COLUMNS[table] = (*triggers.IGNORED_UPDATE_COLUMNS.get(table, ()), *SYNC_COLUMNS)
