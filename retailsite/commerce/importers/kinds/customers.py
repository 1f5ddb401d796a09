"""customers.csv: `customer_id` and optional personal data, demographics and consents.

Personal fields (e-mail, name, phone, address) are encrypted at rest by the privacy
layer. The PostgreSQL path encrypts them in Python before they reach the database and
reuses a customer's stored token when the value has not changed, so a repeated import
still compares equal (IS DISTINCT FROM) and rewrites nothing. The e-mail's blind index
(`email_hash`) is kept in step with the e-mail.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection

from retailsite.commerce.models import CUSTOMER_FIELDS, Customer, Gender
from retailsite.encryption.crypto import blind_index
from retailsite.encryption.fields import EncryptedTextField

from ..csvsource import ColumnSpec
from ..fields import (
    FieldError,
    column_max_length,
    parse_birth_year,
    parse_bool,
    parse_datetime,
    parse_identifier,
    parse_text,
    show,
)
from ..ids import batched
from ..pg import Assign, PgSession, table
from ..registry import INVALID, KindCounts, KindImporter, register_entity_ids, register_kind
from ..spool import Spool

# The staging table's type of each column that is not text.
_STAGE_TYPES = {
    "birth_year": "integer",
    "signed_up_at": "timestamptz",
    "personalization_consent": "boolean",
    "marketing_consent": "boolean",
}
# Plain text columns, stored '' when empty.
_TEXT_COLUMNS = tuple(column for column in CUSTOMER_FIELDS if column not in _STAGE_TYPES)
# Sane limits for columns whose model field has none (encrypted text).
_FALLBACK_LENGTHS = {"email": 254, "name": 200, "phone": 50, "address": 500}
_GENDERS = {
    "f": Gender.FEMALE,
    "female": Gender.FEMALE,
    "w": Gender.FEMALE,
    "woman": Gender.FEMALE,
    "m": Gender.MALE,
    "male": Gender.MALE,
    "man": Gender.MALE,
    "x": Gender.OTHER,
    "other": Gender.OTHER,
    "nonbinary": Gender.OTHER,
    "non-binary": Gender.OTHER,
    "": Gender.UNKNOWN,
    "u": Gender.UNKNOWN,
    "unknown": Gender.UNKNOWN,
}
_TOKEN_BATCH = 2_000


def _max_length(field: str) -> int:
    return column_max_length(Customer, field, _FALLBACK_LENGTHS.get(field))


def encrypted_columns() -> list[str]:
    return [field.name for field in Customer._meta.concrete_fields if isinstance(field, EncryptedTextField)]


def parse_gender(value: str) -> str:
    gender = _GENDERS.get(value.strip().lower())
    if gender is None:
        raise FieldError(f"gender must be F, M, X or empty (also female/male/other); got {show(value.strip())}")
    return str(gender)


def parse_country(value: str) -> str:
    text = value.strip().upper()
    if text and not (len(text) == 2 and text.isascii() and text.isalpha()):
        raise FieldError(f"country must be a two-letter ISO 3166 code such as FR; got {show(value.strip())}")
    return text


def parse_email(value: str) -> str:
    text = parse_text(value, max_length=_max_length("email"))
    if text:
        try:
            validate_email(text)
        except ValidationError:
            raise FieldError(f"not a valid e-mail address: {show(text)}") from None
    return text


def _text_parser(limit: int) -> Callable[[str], str]:
    return lambda text: parse_text(text, max_length=limit)


def parse_consent(value: str, *, column: str) -> bool:
    if not value.strip():
        raise FieldError(f"{column} is empty; give true or false, or leave the column out")
    return parse_bool(value, what=column)


@register_kind
class CustomersImporter(KindImporter):
    name = "customers"
    position = 10
    # The columns are the customer's fields (one list, retailsite.commerce.models.CUSTOMER_FIELDS), staged in order.
    columns = ColumnSpec(required=("customer_id",), optional=CUSTOMER_FIELDS)
    stage_columns = (
        ("line_no", "bigint"),
        ("external_id", "text"),
        *((column, _STAGE_TYPES.get(column, "text")) for column in CUSTOMER_FIELDS),
        ("email_hash", "text"),
    )

    def prepare(self) -> None:
        self.first_line: dict[str, int] = {}
        self.id_length = column_max_length(Customer, "external_id")
        self.text_parsers = {
            column: _text_parser(_max_length(column)) for column in ("name", "phone", "address", "city")
        }
        self.has_email = self.source.has("email")

    def parse_row(self, line: int, cells: list[str]) -> list[Any] | None:
        before = self.run.errors.total
        external_id = self.parsed(
            line,
            "customer_id",
            lambda t: parse_identifier(t, max_length=self.id_length, what="customer_id"),
            cells[self.source.index["customer_id"]],
        )
        if external_id is not INVALID:
            earlier = self.first_line.setdefault(external_id, line)
            if earlier != line:
                self.fail(line, "customer_id", f"customer {show(external_id)} already appears on line {earlier}")
        values: dict[str, Any] = {}
        for column in self.columns.optional:
            text = self.cell(cells, column)
            if text is None:
                values[column] = None
            elif column == "email":
                values[column] = self.parsed(line, column, parse_email, text)
            elif column in self.text_parsers:
                values[column] = self.parsed(line, column, self.text_parsers[column], text)
            elif column == "birth_year":
                values[column] = self.parsed(line, column, parse_birth_year, text) if text.strip() else None
            elif column == "gender":
                values[column] = self.parsed(line, column, parse_gender, text)
            elif column == "country":
                values[column] = self.parsed(line, column, parse_country, text)
            elif column == "signed_up_at":
                values[column] = (
                    self.parsed(line, column, partial(parse_datetime, default_zone=self.run.zone), text)
                    if text.strip()
                    else None
                )
            else:
                values[column] = self.parsed(line, column, partial(parse_consent, column=column), text)
        if self.run.errors.total != before:
            return None
        email_hash = blind_index(values["email"]) if self.has_email else None
        return [line, external_id, *(values[column] for column in self.columns.optional), email_hash]

    def finish_validation(self) -> None:
        self.run.publish_ids("customer", self.first_line)

    def _present(self) -> list[str]:
        present = [column for column in self.columns.optional if self.source.has(column)]
        return [*present, "email_hash"] if self.has_email else present

    # -- PostgreSQL ----------------------------------------------------------------------------

    def write_postgresql(self, db: PgSession) -> KindCounts:
        protected = [column for column in encrypted_columns() if column in self._present()]
        spool = self._encrypted_spool(db, protected) if protected else self.spool
        try:
            db.stage("import_customers", spool, phase="writing customers")
        finally:
            if spool is not self.spool:
                spool.close()
        present = set(self._present())
        assignments = [db.tenant(), Assign("external_id", "s.external_id", update=False)]
        for column in present:
            expression = f"COALESCE(s.{column}, '')" if column in (*_TEXT_COLUMNS, "email_hash") else f"s.{column}"
            assignments.append(Assign(column, expression))
        # Columns not in the file: new rows get the model default, existing rows keep their value.
        created, updated = db.upsert(
            target=Customer, assignments=assignments, source="import_customers s", conflict=("tenant_id", "external_id")
        )
        return KindCounts(
            rows_read=self.rows_read, created=created, updated=updated, unchanged=self.spool.rows - created - updated
        )

    def _encrypted_spool(self, db: PgSession, protected: list[str]) -> Spool:
        """The staged rows with personal values replaced by tokens (a stored token when unchanged)."""
        fields = {column: cast(EncryptedTextField, Customer._meta.get_field(column)) for column in protected}
        encrypted = Spool(self.stage_columns)
        for batch in batched(self.spool.decoded_rows(), _TOKEN_BATCH):
            stored = self._stored_tokens(db, [row["external_id"] for row in batch], protected)
            for row in batch:
                tokens = stored.get(row["external_id"], {})
                for column, field in fields.items():
                    value = row[column]
                    token = tokens.get(column)
                    if token is not None and field.from_db_value(token, None, connection) == value:
                        row[column] = token
                    else:
                        row[column] = field.get_db_prep_save(value, connection)
                encrypted.write([row[name] for name, _ in self.stage_columns])
        return encrypted

    @staticmethod
    def _stored_tokens(db: PgSession, external_ids: list[str], protected: list[str]) -> dict[str, dict[str, str]]:
        """The stored tokens of these customers, each found through the (tenant, external_id) index."""
        columns = ", ".join(f"k.{column}" for column in protected)
        rows = db.fetchall(
            f"SELECT s.external_id, {columns} FROM unnest(%s::text[]) AS s(external_id) "
            f"CROSS JOIN LATERAL (SELECT * FROM {table(Customer)} m "
            "WHERE m.tenant_id = %s AND m.external_id = s.external_id LIMIT 1) k",
            [external_ids, db.tenant_id],
        )
        return {row[0]: dict(zip(protected, row[1:], strict=True)) for row in rows}


register_entity_ids("customer", lambda: list(Customer.objects.values_list("external_id", flat=True)))
