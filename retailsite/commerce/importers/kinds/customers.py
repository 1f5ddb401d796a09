"""customers.csv: `customer_id` and optional personal data, demographics and consents."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from retailsite.commerce.models import Customer, Gender

from ..csvsource import ColumnSpec
from ..fields import FieldError, parse_birth_year, parse_bool, parse_datetime, parse_identifier, parse_text, show
from ..generic import orm_upsert
from ..pg import Assign, PgSession
from ..registry import INVALID, KindCounts, KindImporter, register_entity_ids, register_kind

_TEXT_COLUMNS = ("email", "name", "phone", "address", "city")
_GENDERS = {
    "f": Gender.FEMALE, "female": Gender.FEMALE, "w": Gender.FEMALE, "woman": Gender.FEMALE,
    "m": Gender.MALE, "male": Gender.MALE, "man": Gender.MALE,
    "x": Gender.OTHER, "other": Gender.OTHER, "nonbinary": Gender.OTHER, "non-binary": Gender.OTHER,
    "": Gender.UNKNOWN, "u": Gender.UNKNOWN, "unknown": Gender.UNKNOWN,
}


def _max_length(field: str) -> int:
    return Customer._meta.get_field(field).max_length


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


def parse_consent(value: str, *, column: str) -> bool:
    if not value.strip():
        raise FieldError(f"{column} is empty; give true or false, or leave the column out")
    return parse_bool(value, what=column)


@register_kind
class CustomersImporter(KindImporter):
    name = "customers"
    columns = ColumnSpec(
        required=("customer_id",),
        optional=("email", "name", "phone", "address", "birth_year", "gender", "city", "country",
                  "signed_up_at", "personalization_consent", "marketing_consent"),
    )
    stage_columns = (
        ("line_no", "bigint"), ("external_id", "text"), ("email", "text"), ("name", "text"), ("phone", "text"),
        ("address", "text"), ("birth_year", "integer"), ("gender", "text"), ("city", "text"), ("country", "text"),
        ("signed_up_at", "timestamptz"), ("personalization_consent", "boolean"), ("marketing_consent", "boolean"),
    )

    def prepare(self) -> None:
        self.first_line: dict[str, int] = {}
        self.id_length = _max_length("external_id")
        self.text_parsers = {
            column: (lambda text, limit=_max_length(column): parse_text(text, max_length=limit))
            for column in ("name", "phone", "address", "city")
        }

    def parse_row(self, line: int, cells: list[str]) -> list[Any] | None:
        before = self.run.errors.total
        external_id = self.parsed(line, "customer_id",
                                  lambda t: parse_identifier(t, max_length=self.id_length, what="customer_id"),
                                  cells[self.source.index["customer_id"]])
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
                values[column] = (self.parsed(line, column, lambda t: parse_datetime(t, default_zone=self.run.zone),
                                              text) if text.strip() else None)
            else:
                values[column] = self.parsed(line, column, lambda t, c=column: parse_consent(t, column=c), text)
        if self.run.errors.total != before:
            return None
        return [line, external_id, *(values[column] for column in self.columns.optional)]

    def finish_validation(self) -> None:
        self.run.publish_ids("customer", self.first_line)

    def _present(self) -> list[str]:
        return [column for column in self.columns.optional if self.source.has(column)]

    def write_postgresql(self, db: PgSession) -> KindCounts:
        db.stage("import_customers", self.spool, phase="writing customers")
        present = set(self._present())
        assignments = [Assign("tenant_id", "%s", update=False), Assign("external_id", "s.external_id", update=False)]
        params: list[Any] = [db.tenant_id]
        for column in self.columns.optional:
            if column in present:
                expression = f"COALESCE(s.{column}, '')" if column in (*_TEXT_COLUMNS, "gender", "country") \
                    else f"s.{column}"
                assignments.append(Assign(column, expression))
            else:
                # Not in this file: new rows get the model default, existing rows keep their value.
                default = Customer._meta.get_field(column).get_default()
                assignments.append(Assign(column, "%s", update=False))
                params.append(default)
        assignments.append(Assign("created_at", "now()", update=False))
        created, updated = db.upsert(target=Customer, assignments=assignments, source="import_customers s",
                                     conflict=("tenant_id", "external_id"), params=params)
        return KindCounts(rows_read=self.rows_read, created=created, updated=updated,
                          unchanged=self.spool.rows - created - updated)

    def write_generic(self) -> KindCounts:
        present = self._present()
        rows = []
        for staged in self.spool.decoded_rows():
            row = {"external_id": staged["external_id"]}
            row.update({column: staged[column] for column in present})
            rows.append(row)
        created, updated, unchanged = orm_upsert(Customer, rows, key=("external_id",), update=present)
        return KindCounts(rows_read=self.rows_read, created=created, updated=updated, unchanged=unchanged)


register_entity_ids("customer", lambda: Customer.objects.values_list("external_id", flat=True).iterator(10_000))
