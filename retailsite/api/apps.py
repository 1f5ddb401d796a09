from django.apps import AppConfig

# Tables stamped by the sync triggers of `sync.py` (migrations commerce 0003 and 0005, inventory 0003 and 0005):
# the kind of their deletion entries and the field naming the deleted object's id in the feed; and the stamp
# columns. Here, not in sync.py, which loads Django REST framework: ready() runs for every manage.py command.
SYNC_KINDS = {
    "commerce_customer": ("customer", "customer_id"),
    "commerce_product": ("product", "product_id"),
    "commerce_order": ("order", "order_id"),
    "inventory_stockitem": ("stock", "product_id"),
}
SYNC_COLUMNS = ("updated_at", "change_seq")


class ApiConfig(AppConfig):
    name = "retailsite.api"
    label = "api"
    verbose_name = "Partner API"

    def ready(self) -> None:
        from retailsite.privacy import triggers

        # The sync's stamps are bookkeeping: the audit log neither lists them nor records a change of only them.
        for table in SYNC_KINDS:
            triggers.IGNORED_UPDATE_COLUMNS[table] = (*triggers.IGNORED_UPDATE_COLUMNS.get(table, ()), *SYNC_COLUMNS)
