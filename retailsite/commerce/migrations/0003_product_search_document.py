"""The products' stored full-text document (GIN index) kept by triggers, and a trigram index on the name.

pg_trgm, btree_gin and btree_gist are trusted extensions: the owning role creates them without being a superuser.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.contrib.postgres.operations import BtreeGinExtension, BtreeGistExtension, TrigramExtension
from django.db import migrations, models

from retailsite.commerce.search import INSTALL_SQL, REBUILD_SQL, UNINSTALL_SQL

# Existing rows of every store. The migration runs as the owning role outside any tenant: with row-level security
# forced it would see no row (the platform scope is not a setting anyone can turn on), so the owner lifts FORCE for
# the two tables it reads and writes; `apply_rls` forces it again right after every migrate.
BACKFILL_SQL = (
    "ALTER TABLE commerce_product NO FORCE ROW LEVEL SECURITY;\n"
    "ALTER TABLE commerce_category NO FORCE ROW LEVEL SECURITY;\n" + REBUILD_SQL
)


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0002_encrypt_personal_data"),
        ("tenancy", "0002_training_run"),
    ]

    operations = [
        TrigramExtension(),
        BtreeGinExtension(),
        BtreeGistExtension(),
        migrations.AddField(
            model_name="product",
            name="search_document",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunSQL(INSTALL_SQL, UNINSTALL_SQL),
        migrations.RunSQL(BACKFILL_SQL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="product",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["tenant", "search_document"], name="product_tenant_search_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=django.contrib.postgres.indexes.GistIndex(
                models.F("tenant_id"),
                django.contrib.postgres.indexes.OpClass(models.F("name"), name="gist_trgm_ops"),
                name="product_tenant_name_trgm_idx",
            ),
        ),
    ]
