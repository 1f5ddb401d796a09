"""The search document's look-ups keep their plans: a products import spends a fraction of the time in its trigger.

0003's `commerce_search_config` was a SQL function with a sub-select, which PostgreSQL does not inline; called from
the row trigger, its body was parsed and planned again for every row written (about 100 µs a row, most of a
products import's database time: docs/bench-import.md). Now it and the trigger's category look-up are PL/pgSQL,
whose plans are kept for the session. What is stored and searched is unchanged; search.py's INSTALL_SQL (the
source of truth, idempotent) is applied again.
"""

from django.db import migrations

from retailsite.commerce.search import INSTALL_SQL

# 0003's functions, as they were.
RESTORE_SQL = """
CREATE OR REPLACE FUNCTION commerce_search_config(p_tenant_id bigint) RETURNS regconfig
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT t.settings ->> 'search_language' FROM tenancy_tenant t WHERE t.id = p_tenant_id),
        'english'
    )::regconfig
$$;

CREATE OR REPLACE FUNCTION commerce_product_search_document_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_document := commerce_product_search_document(
        commerce_search_config(NEW.tenant_id), NEW.name, NEW.brand,
        (SELECT c.path FROM commerce_category c WHERE c.id = NEW.category_id), NEW.description
    );
    RETURN NEW;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0006_imp_sync_stamp_orders_once"),
    ]

    operations = [
        migrations.RunSQL(INSTALL_SQL, RESTORE_SQL),
    ]
