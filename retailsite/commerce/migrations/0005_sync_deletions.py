"""The sync feed's deletion entries: a row deleted, or its external id changed (erasure replaces a customer's with
a pseudonym), writes one entry with the old id, stamped from the same sequence as the rows' changes and under the
same shared sync lock (0003_sync_updated_at_change_seq), so the feed lists changes and deletions in one order.
A customer's new id also changes how their orders are shown: the orders are stamped as changed."""

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models

RECORD_DELETION_SQL = """
CREATE OR REPLACE FUNCTION sync_record_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  gone text;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.external_id IS NOT DISTINCT FROM OLD.external_id THEN
      RETURN NULL;
    END IF;
    gone := OLD.external_id;
  ELSIF TG_ARGV[0] = 'stock' THEN
    SELECT external_id INTO gone FROM commerce_product WHERE id = OLD.product_id;
  ELSE
    gone := OLD.external_id;
  END IF;
  IF gone IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock_shared(1937337955, (OLD.tenant_id % 2147483648)::int);
  INSERT INTO commerce_syncdeletion (tenant_id, kind, external_id, deleted_at, change_seq)
  VALUES (OLD.tenant_id, TG_ARGV[0], gone, now(), nextval('sync_change_seq'));
  IF TG_OP = 'UPDATE' AND TG_ARGV[0] = 'customer' THEN
    UPDATE commerce_order SET change_seq = -1 WHERE tenant_id = NEW.tenant_id AND customer_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sync_deletion AFTER DELETE ON commerce_customer
  FOR EACH ROW EXECUTE FUNCTION sync_record_deletion('customer');
CREATE TRIGGER sync_deletion_renamed AFTER UPDATE OF external_id ON commerce_customer
  FOR EACH ROW EXECUTE FUNCTION sync_record_deletion('customer');
CREATE TRIGGER sync_deletion AFTER DELETE ON commerce_product
  FOR EACH ROW EXECUTE FUNCTION sync_record_deletion('product');
CREATE TRIGGER sync_deletion_renamed AFTER UPDATE OF external_id ON commerce_product
  FOR EACH ROW EXECUTE FUNCTION sync_record_deletion('product');
CREATE TRIGGER sync_deletion AFTER DELETE ON commerce_order
  FOR EACH ROW EXECUTE FUNCTION sync_record_deletion('order');
CREATE TRIGGER sync_deletion_renamed AFTER UPDATE OF external_id ON commerce_order
  FOR EACH ROW EXECUTE FUNCTION sync_record_deletion('order');
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS sync_deletion ON commerce_customer;
DROP TRIGGER IF EXISTS sync_deletion_renamed ON commerce_customer;
DROP TRIGGER IF EXISTS sync_deletion ON commerce_product;
DROP TRIGGER IF EXISTS sync_deletion_renamed ON commerce_product;
DROP TRIGGER IF EXISTS sync_deletion ON commerce_order;
DROP TRIGGER IF EXISTS sync_deletion_renamed ON commerce_order;
DROP FUNCTION IF EXISTS sync_record_deletion();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0004_merge_search_document_and_sync"),
        ("tenancy", "0002_training_run"),
    ]

    operations = [
        migrations.CreateModel(
            name="SyncDeletion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("customer", "Customer"), ("product", "Product"), ("order", "Order"), ("stock", "Stock")],
                        max_length=10,
                    ),
                ),
                ("external_id", models.CharField(max_length=100)),
                ("deleted_at", models.DateTimeField()),
                ("change_seq", models.BigIntegerField()),
                (
                    "tenant",
                    models.ForeignKey(
                        editable=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenancy.tenant",
                    ),
                ),
            ],
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("all_objects", django.db.models.manager.Manager()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["tenant", "kind", "change_seq"], name="syncdeletion_tenant_feed_idx"),
                    models.Index(fields=["tenant", "deleted_at"], name="syncdeletion_tenant_time_idx"),
                ],
            },
        ),
        migrations.RunSQL(RECORD_DELETION_SQL, DROP_SQL),
    ]
