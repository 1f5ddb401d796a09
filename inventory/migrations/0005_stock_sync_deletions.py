"""A deleted stock item writes a sync deletion entry under its product's id (commerce 0005)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0005_sync_deletions"),
        ("inventory", "0004_purchase_order_numbers_per_store"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE TRIGGER sync_deletion AFTER DELETE ON inventory_stockitem "
            "FOR EACH ROW EXECUTE FUNCTION sync_record_deletion('stock');",
            "DROP TRIGGER IF EXISTS sync_deletion ON inventory_stockitem;",
        ),
    ]
