"""An order is stamped once per transaction however many of its lines the transaction writes.

Before this, every statement that wrote order lines restamped all their orders (0003), so an import that had just
inserted its orders updated every one of them again (twice: it writes lines with and without prices in two
statements), and each of those updates also queued an audit entry. Most of the orders import's database time went
there (docs/bench-import.md).

Now the row trigger remembers, per store and for the rest of the transaction, the first stamp it took under that
store's sync lock (`sync.first_seq_<tenant id>`, a transaction-local setting), and the lines' statement trigger
restamps only orders whose stamp is older. Why that loses no change: a stamp at or above that first one was taken
while this transaction held the store's sync lock (shared), which it keeps until it commits. Either this
transaction took it, or another one that committed meanwhile; no sync read of the store can run until this
transaction commits (it takes the lock exclusively), so every reader that has not seen this transaction's lines has
a cursor below that first stamp and will list the order, with its lines as they are when read. Rolling back to a
savepoint undoes the setting with the stamps and locks taken after it, so a stale setting never survives.
"""

from django.db import migrations

STAMP_ONCE_SQL = """
-- The first stamp this transaction took under the store's sync lock; with none, a value above every stamp.
CREATE OR REPLACE FUNCTION sync_first_stamp(p_tenant_id bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('sync.first_seq_' || p_tenant_id, true), '')::bigint,
                  9223372036854775807)
$$;
CREATE OR REPLACE FUNCTION sync_touch_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  given timestamptz := NEW.updated_at;
  first_seq_setting text;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.change_seq IS NOT DISTINCT FROM OLD.change_seq THEN
    NEW.updated_at := OLD.updated_at;
    IF NEW IS NOT DISTINCT FROM OLD THEN
      RETURN NEW;
    END IF;
    -- The ORM sets updated_at itself (auto_now): keep its value, so what it returns is what is stored.
    NEW.updated_at := CASE WHEN given IS DISTINCT FROM OLD.updated_at THEN given ELSE now() END;
  ELSIF TG_OP = 'INSERT' THEN
    NEW.updated_at := coalesce(given, now());
  ELSE
    NEW.updated_at := greatest(now(), OLD.updated_at);  -- touched through change_seq (an order's lines changed)
  END IF;
  PERFORM pg_advisory_xact_lock_shared(1937337955, (NEW.tenant_id % 2147483648)::int);
  NEW.change_seq := nextval('sync_change_seq');
  first_seq_setting := 'sync.first_seq_' || NEW.tenant_id;
  IF coalesce(current_setting(first_seq_setting, true), '') = '' THEN
    PERFORM set_config(first_seq_setting, NEW.change_seq::text, true);
  END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION sync_touch_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE commerce_order SET change_seq = -1
     WHERE id IN (SELECT DISTINCT order_id FROM sync_old_lines) AND change_seq < sync_first_stamp(tenant_id);
  ELSE
    UPDATE commerce_order SET change_seq = -1
     WHERE id IN (SELECT DISTINCT order_id FROM sync_new_lines) AND change_seq < sync_first_stamp(tenant_id);
  END IF;
  RETURN NULL;
END $$;
"""

# 0003's functions, as they were.
RESTORE_SQL = """
CREATE OR REPLACE FUNCTION sync_touch_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  given timestamptz := NEW.updated_at;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.change_seq IS NOT DISTINCT FROM OLD.change_seq THEN
    NEW.updated_at := OLD.updated_at;
    IF NEW IS NOT DISTINCT FROM OLD THEN
      RETURN NEW;
    END IF;
    NEW.updated_at := CASE WHEN given IS DISTINCT FROM OLD.updated_at THEN given ELSE now() END;
  ELSIF TG_OP = 'INSERT' THEN
    NEW.updated_at := coalesce(given, now());
  ELSE
    NEW.updated_at := greatest(now(), OLD.updated_at);
  END IF;
  PERFORM pg_advisory_xact_lock_shared(1937337955, (NEW.tenant_id % 2147483648)::int);
  NEW.change_seq := nextval('sync_change_seq');
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION sync_touch_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE commerce_order SET change_seq = -1 WHERE id IN (SELECT DISTINCT order_id FROM sync_old_lines);
  ELSE
    UPDATE commerce_order SET change_seq = -1 WHERE id IN (SELECT DISTINCT order_id FROM sync_new_lines);
  END IF;
  RETURN NULL;
END $$;
DROP FUNCTION IF EXISTS sync_first_stamp(bigint);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0005_sync_deletions"),
    ]

    operations = [
        migrations.RunSQL(STAMP_ONCE_SQL, RESTORE_SQL),
    ]
