"""social.csv: `customer_id,follows_id` — the first customer follows the second."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from retailsite.commerce.models import Customer, Follow

from ..csvsource import ColumnSpec
from ..fields import column_max_length, parse_identifier, show
from ..pg import Assign, PgSession
from ..registry import INVALID, KindCounts, KindImporter, register_kind


@register_kind
class SocialImporter(KindImporter):
    name = "social"
    position = 50
    depends_on = ("customers",)
    columns = ColumnSpec(required=("customer_id", "follows_id"))
    stage_columns = (("line_no", "bigint"), ("follower_ext", "text"), ("followee_ext", "text"))

    def prepare(self) -> None:
        self.id_length = column_max_length(Customer, "external_id")
        self.customers = self.run.known_ids("customer")

    def parse_row(self, line: int, cells: list[str]) -> list[Any] | None:
        before = self.run.errors.total
        ids = []
        for column in ("customer_id", "follows_id"):
            value = self.parsed(line, column, self._id_parser(column), cells[self.source.index[column]])
            if value is not INVALID and value not in self.customers:
                self.fail(
                    line,
                    column,
                    f"unknown customer {show(value)}: not in this import's customers file nor in the store",
                )
            ids.append(value)
        follower, followee = ids
        if follower is not INVALID and follower == followee:
            self.fail(line, "follows_id", f"customer {show(follower)} cannot follow themselves")
        if self.run.errors.total != before:
            return None
        return [line, follower, followee]

    def _id_parser(self, column: str) -> Callable[[str], str]:
        return lambda text: parse_identifier(text, max_length=self.id_length, what=column)

    def write_postgresql(self, db: PgSession) -> KindCounts:
        db.stage("import_social", self.spool, phase="writing social")
        db.key_table(
            "import_customer_keys",
            Customer,
            "SELECT follower_ext FROM import_social UNION SELECT followee_ext FROM import_social",
        )
        created, _ = db.upsert(
            target=Follow,
            assignments=[
                db.tenant(),
                Assign("follower_id", "a.id", update=False),
                Assign("followee_id", "b.id", update=False),
            ],
            source=(
                "(SELECT DISTINCT follower_ext, followee_ext FROM import_social) s "
                "JOIN import_customer_keys a ON a.external_id = s.follower_ext "
                "JOIN import_customer_keys b ON b.external_id = s.followee_ext"
            ),
            conflict=("tenant_id", "follower_id", "followee_id"),
        )
        return KindCounts(rows_read=self.rows_read, created=created, unchanged=self.spool.rows - created)
