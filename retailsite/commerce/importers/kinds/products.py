"""products.csv: `product_id,name` and optional description, category path, brand, tags, price, cost, active.

A category is a path such as `Home > Kitchen`; every level becomes a Category row linked
to its parent. Tags are `;`-separated and stored as a list.
"""

from __future__ import annotations

import json
from typing import Any

from retailsite.commerce.models import PRODUCT_FIELDS, Category, Product

from ..csvsource import ColumnSpec
from ..fields import FieldError, column_max_length, parse_bool, parse_identifier, parse_money, parse_text, show
from ..pg import Assign, PgSession, table
from ..registry import INVALID, KindCounts, KindImporter, register_entity_ids, register_kind
from ..spool import Spool

CATEGORY_SEPARATOR = ">"
MAX_TAG_LENGTH = 100


def parse_category_path(value: str) -> list[str]:
    """'Home > Kitchen' -> ['Home', 'Kitchen'] (empty -> no category)."""
    text = parse_text(value, max_length=column_max_length(Category, "path"))
    if not text:
        return []
    names = [part.strip() for part in text.split(CATEGORY_SEPARATOR)]
    if any(not name for name in names):
        raise FieldError(f"category path {show(text)} has an empty level; write it like 'Home > Kitchen'")
    limit = column_max_length(Category, "name")
    for name in names:
        if len(name) > limit:
            raise FieldError(f"category name {show(name)} is longer than {limit} characters")
    path_limit = column_max_length(Category, "path")
    if len(category_path(names)) > path_limit:
        raise FieldError(
            f"category path {show(text)} is longer than {path_limit} characters once written "
            f"as {show(category_path(names))}"
        )
    return names


def category_path(names: list[str]) -> str:
    return f" {CATEGORY_SEPARATOR} ".join(names)


def parse_tags(value: str) -> list[str]:
    tags = [tag.strip() for tag in parse_text(value, max_length=None).split(";")]
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            raise FieldError(f"tag {show(tag)} is longer than {MAX_TAG_LENGTH} characters")
    return list(dict.fromkeys(tag for tag in tags if tag))


def parse_price(value: str) -> Any:
    if not value.strip():
        raise FieldError("price is empty; give a price such as 19.99, or leave the price column out")
    return parse_money(value, what="price")


def parse_optional_cost(value: str) -> Any:
    return parse_money(value, what="cost") if value.strip() else None


def parse_active(value: str) -> bool:
    if not value.strip():
        raise FieldError("active is empty; give true or false, or leave the column out")
    return parse_bool(value, what="active")


@register_kind
class ProductsImporter(KindImporter):
    name = "products"
    position = 20
    # The columns are the product's fields (one list, retailsite.commerce.models.PRODUCT_FIELDS); a name is required.
    columns = ColumnSpec(
        required=("product_id", "name"), optional=tuple(field for field in PRODUCT_FIELDS if field != "name")
    )
    stage_columns = (
        ("line_no", "bigint"),
        ("external_id", "text"),
        ("name", "text"),
        ("description", "text"),
        ("category_path", "text"),
        ("brand", "text"),
        ("tags", "jsonb"),
        ("price", "numeric"),
        ("cost", "numeric"),
        ("active", "boolean"),
    )
    category_columns = (("path", "text"), ("name", "text"), ("parent_path", "text"), ("depth", "integer"))
    # Model field each optional column fills (category -> the resolved category_id).
    targets = {column: "category_id" if column == "category" else column for column in columns.optional}

    def prepare(self) -> None:
        self.first_line: dict[str, int] = {}
        self.categories: dict[str, tuple[str, str | None, int]] = {}
        id_length = column_max_length(Product, "external_id")
        name_length = column_max_length(Product, "name")
        brand_length = column_max_length(Product, "brand")
        self.parsers = {
            "product_id": lambda t: parse_identifier(t, max_length=id_length, what="product_id"),
            "name": lambda t: parse_text(t, max_length=name_length, required=True, what="name"),
            "description": lambda t: parse_text(t, max_length=None),
            "category": parse_category_path,
            "brand": lambda t: parse_text(t, max_length=brand_length),
            "tags": parse_tags,
            "price": parse_price,
            "cost": parse_optional_cost,
            "active": parse_active,
        }

    def parse_row(self, line: int, cells: list[str]) -> list[Any] | None:
        before = self.run.errors.total
        values: dict[str, Any] = {}
        for column, parse in self.parsers.items():
            text = self.cell(cells, column)
            values[column] = None if text is None else self.parsed(line, column, parse, text)
        external_id = values["product_id"]
        if external_id is not INVALID:
            earlier = self.first_line.setdefault(external_id, line)
            if earlier != line:
                self.fail(line, "product_id", f"product {show(external_id)} already appears on line {earlier}")
        if self.run.errors.total != before:
            return None
        path = None
        if values["category"]:
            names = values["category"]
            path = category_path(names)
            for depth in range(1, len(names) + 1):
                level = category_path(names[:depth])
                if level not in self.categories:
                    parent = category_path(names[: depth - 1]) if depth > 1 else None
                    self.categories[level] = (names[depth - 1], parent, depth)
        tags = None if values["tags"] is None else json.dumps(values["tags"], ensure_ascii=False)
        return [
            line,
            external_id,
            values["name"],
            values["description"],
            path,
            values["brand"],
            tags,
            values["price"],
            values["cost"],
            values["active"],
        ]

    def finish_validation(self) -> None:
        self.run.publish_ids("product", self.first_line)
        self.category_spool = Spool(self.category_columns)
        for path, (name, parent, depth) in self.categories.items():
            self.category_spool.write([path, name, parent, depth])

    def close(self) -> None:
        super().close()
        if hasattr(self, "category_spool"):
            self.category_spool.close()

    def _present(self) -> list[str]:
        return [column for column in self.columns.optional if self.source.has(column)]

    def write_postgresql(self, db: PgSession) -> KindCounts:
        categories_created = self._write_categories_postgresql(db)
        db.stage("import_products", self.spool, phase="writing products")
        expressions = {
            "description": "COALESCE(s.description, '')",
            "category": "c.id",
            "brand": "COALESCE(s.brand, '')",
            "tags": "s.tags",
            "price": "s.price",
            "cost": "s.cost",
            "active": "s.active",
        }
        # Columns not in the file: new rows get the model default, existing rows keep their value.
        assignments = [
            db.tenant(),
            Assign("external_id", "s.external_id", update=False),
            Assign("name", "s.name"),
            *(Assign(self.targets[column], expressions[column]) for column in self._present()),
        ]
        db.key_table("import_category_keys", Category, "SELECT category_path FROM import_products", key="path")
        created, updated = db.upsert(
            target=Product,
            assignments=assignments,
            source="import_products s LEFT JOIN import_category_keys c ON c.path = s.category_path",
            conflict=("tenant_id", "external_id"),
        )
        return KindCounts(
            rows_read=self.rows_read,
            created=created,
            updated=updated,
            unchanged=self.spool.rows - created - updated,
            details={"categories_created": categories_created} if categories_created else {},
        )

    def _write_categories_postgresql(self, db: PgSession) -> int:
        if not self.categories:
            return 0
        db.stage("import_categories", self.category_spool)
        created = 0
        depth_max = max(depth for _, _, depth in self.categories.values())
        for depth in range(1, depth_max + 1):
            # Level by level, so each parent exists before its children look it up.
            level_created, _ = db.upsert(
                target=Category,
                assignments=[
                    db.tenant(),
                    Assign("name", "s.name", update=False),
                    Assign("path", "s.path", update=False),
                    Assign("parent_id", "p.id", update=False),
                ],
                # The parent was written by the previous level: look it up through the unique index.
                source=(
                    f"import_categories s LEFT JOIN LATERAL (SELECT id FROM {table(Category)} x "
                    "WHERE x.tenant_id = %s AND x.path = s.parent_path LIMIT 1) p ON true WHERE s.depth = %s"
                ),
                conflict=("tenant_id", "path"),
                source_params=[db.tenant_id, depth],
            )
            created += level_created
        return created


register_entity_ids("product", lambda: Product.objects.values_list("external_id", flat=True).iterator(10_000))
