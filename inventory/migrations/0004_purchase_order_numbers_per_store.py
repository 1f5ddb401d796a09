# Purchase orders are numbered per store from now on (F8). Existing orders keep their numbers (PO-<id>, already
# printed on what went to suppliers); each store's counter starts after its highest existing number, so new
# numbers never collide with old ones and count only the store's own orders.
#
# Reading every store's orders needs the owner to pass row-level security for a moment: NO FORCE on the two
# tables (the owner, which runs migrations, then bypasses RLS), FORCE again in the same transaction. apply_rls
# after migrate sets ENABLE + FORCE on every tenant table in any case.

from django.db import migrations, models

FORWARD = r"""
ALTER TABLE inventory_purchaseorder NO FORCE ROW LEVEL SECURITY;
ALTER TABLE tenancy_tenantcounter NO FORCE ROW LEVEL SECURITY;
INSERT INTO tenancy_tenantcounter (tenant_id, name, value)
SELECT tenant_id, 'purchase_order', max(substring(number FROM '^PO-([0-9]{1,18})$')::bigint)
  FROM inventory_purchaseorder
 WHERE number ~ '^PO-[0-9]{1,18}$'
 GROUP BY tenant_id
ON CONFLICT (tenant_id, name) DO UPDATE SET value = GREATEST(tenancy_tenantcounter.value, EXCLUDED.value);
-- The inserts' deferred foreign-key checks must run before the table can be altered again.
DO $$
DECLARE constraint_name text;
BEGIN
    FOR constraint_name IN
        SELECT conname FROM pg_constraint WHERE conrelid = 'tenancy_tenantcounter'::regclass AND condeferrable
    LOOP
        EXECUTE format('SET CONSTRAINTS %I IMMEDIATE', constraint_name);
    END LOOP;
END $$;
ALTER TABLE tenancy_tenantcounter FORCE ROW LEVEL SECURITY;
ALTER TABLE inventory_purchaseorder FORCE ROW LEVEL SECURITY;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0003_stock_sync_change_seq'),
        ('tenancy', '0004_invitation_tenantcounter'),
    ]

    operations = [
        migrations.AlterField(
            model_name='purchaseorder',
            name='number',
            field=models.CharField(blank=True, help_text='PO-000123, counted per store (services.purchase_order_number)', max_length=30),
        ),
        migrations.RunSQL(FORWARD, migrations.RunSQL.noop),
    ]
