"""Model versions are numbered per store (a new store's first model is v1), not by the table-wide id."""

from django.db import migrations, models

# The owning role runs migrations outside any tenant: with row-level security forced it would see no row (the
# platform scope is not a setting anyone can turn on), so it lifts FORCE here; `apply_rls` forces it again right
# after every migrate.
NUMBER_EXISTING = """
ALTER TABLE recommendations_modelversion NO FORCE ROW LEVEL SECURITY;
UPDATE recommendations_modelversion m SET number = r.n
FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY created_at, id) AS n
      FROM recommendations_modelversion) r
WHERE m.id = r.id;
"""


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="number",
            field=models.PositiveIntegerField(default=0, editable=False, help_text="per store: 1, 2, 3, …"),
        ),
        migrations.RunSQL(NUMBER_EXISTING, reverse_sql=migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="modelversion",
            constraint=models.UniqueConstraint(fields=["tenant", "number"], name="modelversion_number_per_tenant"),
        ),
    ]
