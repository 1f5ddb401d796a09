"""The data-subject export file: one zip with the whole record as JSON, each table as CSV, and a README."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import asdict
from typing import Any

from django.utils import timezone

from .selectors import CustomerData

README = """\
This archive holds the personal data {store} keeps about you, as of {when} (UTC).

customer.json          everything below in one file
profile.csv            your profile and your consent choices
orders.csv             one row per product line of each of your orders
events.csv             what you viewed, added to your cart or wishlist, bought or rated
follows.csv            the shoppers you follow and those who follow you
recommendations.csv    the product suggestions computed for you, with their scores
predictions.csv        what our models predict about you (expected spend, churn, segment)
other.csv              any other record that refers to you (one row per record)
"""


def _csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    buffer = io.StringIO()
    columns = columns or sorted({key for row in rows for key in row})
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {key: json.dumps(value) if isinstance(value, dict | list) else value for key, value in row.items()}
        )
    return buffer.getvalue()


def customer_export_archive(*, data: CustomerData, store: str) -> bytes:
    now = timezone.now()
    document = {"store": store, "exported_at": now.isoformat(), **asdict(data)}
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
        archive.writestr("README.txt", README.format(store=store, when=now.strftime("%Y-%m-%d %H:%M")))
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
            _csv(data.events, ["occurred_at", "event_type", "product_id", "product_name", "value", "session_id"]),
        )
        archive.writestr("follows.csv", _csv(follows, ["direction", "customer_id", "since"]))
        archive.writestr(
            "recommendations.csv",
            _csv(
                data.recommendations,
                [
                    "model_version",
                    "model_status",
                    "computed_at",
                    "rank",
                    "product_id",
                    "product_name",
                    "score",
                    "reason",
                ],
            ),
        )
        archive.writestr(
            "predictions.csv",
            _csv(
                data.predictions,
                [
                    "computed_at",
                    "expected_spend",
                    "churn_probability",
                    "next_category",
                    "next_category_probability",
                    "segment",
                ],
            ),
        )
        archive.writestr("other.csv", _csv(other, ["table", "record"]))
    return buffer.getvalue()
