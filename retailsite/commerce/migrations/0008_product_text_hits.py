"""Full-text search through the GIN index under row-level security.

`@@` is not leakproof, so PostgreSQL may not use it in an index scan of a table whose row-level security policy has
to be checked first: every search read the store's whole catalog. `commerce_product_text_hits` (search.py) runs as
the platform role and checks the store itself; SEARCH_SQL calls it for the full-text part.
"""

from django.db import migrations

from retailsite.commerce.search import TEXT_HITS_FUNCTION, TEXT_HITS_SQL, text_hits_secure


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(TEXT_HITS_SQL)
        text_hits_secure(cursor.cursor)


def uninstall(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP FUNCTION IF EXISTS {TEXT_HITS_FUNCTION}")


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0007_imp2_search_document_lookups"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
