"""The inventory app: stock, suppliers, reorder plans, purchase orders and receipts (engine in inventory.engine)."""

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    label = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from retailsite.commerce.live_state import register_unavailable_when
        from retailsite.privacy.triggers import statement_level_table_register
        from retailsite.tenancy.training_steps import register_training_step

        from .importers import register_stock_import_kind
        from .models import StockItem
        from .selectors import OUT_OF_STOCK_SQL
        from .services import stock_changed
        from .steps import INVENTORY_STEP
        from .tenant_settings import register as register_tenant_settings

        # `import_data --stock FILE`: the importer offers one flag per registered kind.
        register_stock_import_kind()
        # Chained after "forecasts" (its step lists then=("inventory",)); also `train --only inventory`.
        register_training_step(INVENTORY_STEP)
        register_tenant_settings()
        # A plan writes one line per product: one audit entry per statement, not per row.
        statement_level_table_register("inventory_reorderplanline")
        # Recommendations leave out products the store tracks and has none of (read live with every list).
        register_unavailable_when("inventory-out-of-stock", OUT_OF_STOCK_SQL)
        # A stock row written one by one (admin, receipts) can make a product unavailable: cached pages reload.
        post_save.connect(stock_changed, sender=StockItem, dispatch_uid="inventory-stock-changed-save")
        post_delete.connect(stock_changed, sender=StockItem, dispatch_uid="inventory-stock-changed-delete")
