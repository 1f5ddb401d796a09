"""The data-subject export file: one zip with the whole record as JSON, each table as CSV, and a README."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import asdict
from typing import Any

from django.utils import timezone

from retailsite.csv_safety import spreadsheet_safe

from .holders import personal_data_holders
from .selectors import CustomerData

README_HEAD = """\
This archive holds the personal data {store} keeps about you, as of {when} (UTC).

customer.json          everything below in one file
profile.csv            your profile and your consent choices
orders.csv             one row per product line of each of your orders
events.csv             what you viewed, added to your cart or wishlist, bought or rated; with the events of
                       the same browsing sessions recorded before you signed in (signed_in = no)
follows.csv            the shoppers you follow and those who follow you
"""
README_TAIL = """\
other.csv              any other record that refers to you (one row per record)
"""


def _csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    buffer = io.StringIO()
    columns = columns or sorted({key for row in rows for key in row})
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                key: spreadsheet_safe(json.dumps(value) if isinstance(value, dict | list) else value)
                for key, value in row.items()
            }
        )
    return buffer.getvalue()


def customer_export_archive(*, data: CustomerData, store: str) -> bytes:
    now = timezone.now()
    fields = asdict(data)
    held = fields.pop("held")
    document = {"store": store, "exported_at": now.isoformat(), **fields, **held}
    holders = personal_data_holders()
    readme = (
        README_HEAD
        + "".join(f"{holder.export_name + '.csv':<23}{holder.export_description}\n" for holder in holders)
        + README_TAIL
    )
    order_lines = [
        {"order_id": order["order_id"], "ordered_at": order["ordered_at"], "channel": order["channel"], **line}
        for order in data.orders
        for line in order["lines"]
    ]
    follows = [{"direction": "you follow", **row} for row in data.following] + [
        {"direction": "follows you", **row} for row in data.followers
    ]
    other = [{"table": table, "record": row} for table, rows in data.other_records.items() for row in rows]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme.format(store=store, when=now.strftime("%Y-%m-%d %H:%M")))
        archive.writestr("customer.json", json.dumps(document, ensure_ascii=False, indent=2))
        archive.writestr("profile.csv", _csv([{**data.profile, **data.consent}], [*data.profile, *data.consent]))
        archive.writestr(
            "orders.csv",
            _csv(
                order_lines,
                ["order_id", "ordered_at", "channel", "product_id", "product_name", "quantity", "unit_price"],
            ),
        )
        archive.writestr(
            "events.csv",
            _csv(
                [{**row, "signed_in": "yes"} for row in data.events]
                + [{**row, "signed_in": "no"} for row in data.session_events],
                ["occurred_at", "event_type", "product_id", "product_name", "value", "session_id", "signed_in"],
            ),
        )
        archive.writestr("follows.csv", _csv(follows, ["direction", "customer_id", "since"]))
        for holder in holders:
            archive.writestr(
                f"{holder.export_name}.csv", _csv(data.held.get(holder.export_name, []), list(holder.export_columns))
            )
        archive.writestr("other.csv", _csv(other, ["table", "record"]))
    return buffer.getvalue()
