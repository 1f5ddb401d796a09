"""What the recommendations app holds about one customer, registered with the privacy layer (see
`retailsite.privacy.holders`): the precomputed lists, exported per version and dropped when personalization
consent is withdrawn."""

from __future__ import annotations

import datetime as dt
from typing import Any

from retailsite.commerce.models import Customer, Product
from retailsite.privacy.holders import PersonalDataHolder, register_personal_data_holder

from .models import CustomerRecommendations


def customer_recommendations_export(customer: Customer) -> list[dict[str, Any]]:
    """One row per recommended product of every stored list of the customer, newest version first."""
    stored = list(
        CustomerRecommendations.objects.filter(customer=customer)
        .values("model_version_id", "model_version__status", "model_version__created_at", "items")
        .order_by("-model_version__created_at")
    )
    product_ids = {pid for row in stored for pid in (row["items"] or {}).get("p", [])}
    products = {
        pid: (external_id, name)
        for pid, external_id, name in Product.objects.filter(id__in=product_ids).values_list(
            "id", "external_id", "name"
        )
    }
    rows = []
    for row in stored:
        items = row["items"] or {}
        scores, kinds = items.get("s", []), items.get("k") or []
        created: dt.datetime | None = row["model_version__created_at"]
        for rank, pid in enumerate(items.get("p", []), start=1):
            rows.append(
                {
                    "model_version": row["model_version_id"],
                    "model_status": row["model_version__status"],
                    "computed_at": created.isoformat() if created else None,
                    "rank": rank,
                    "product_id": products.get(pid, ("", ""))[0],
                    "product_name": products.get(pid, ("", ""))[1],
                    "score": scores[rank - 1] if rank - 1 < len(scores) else None,
                    "reason": kinds[rank - 1] if rank - 1 < len(kinds) else "",
                }
            )
    return rows


def register() -> None:
    register_personal_data_holder(
        PersonalDataHolder(
            model=CustomerRecommendations,
            export_name="recommendations",
            export_description="the product suggestions computed for you, with their scores",
            export_columns=(
                "model_version",
                "model_status",
                "computed_at",
                "rank",
                "product_id",
                "product_name",
                "score",
                "reason",
            ),
            export_rows=customer_recommendations_export,
            purge_without_consent=True,
        )
    )
