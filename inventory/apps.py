"""The inventory app: stock, suppliers, reorder plans, purchase orders and receipts (engine in inventory.engine)."""

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    label = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from retailsite.privacy.triggers import STATEMENT_LEVEL_TABLES
        from retailsite.tenancy.training import register_training_step

        from .importers import register_stock_import_kind
        from .steps import INVENTORY_STEP

        # `import_data --stock FILE`: the importer offers one flag per registered kind.
        register_stock_import_kind()
        # Chained after "forecasts" (its step lists then=("inventory",)); also `train --only inventory`.
        register_training_step(INVENTORY_STEP)
        # A plan writes one line per product: one audit entry per statement, not per row.
        if "inventory_reorderplanline" not in STATEMENT_LEVEL_TABLES:
            STATEMENT_LEVEL_TABLES.append("inventory_reorderplanline")
