"""What the forecasting app holds about one customer, registered with the privacy layer (see
`retailsite.privacy.holders`): the customer-model predictions."""

from __future__ import annotations

from typing import Any

from retailsite.commerce.models import Customer
from retailsite.privacy.holders import PersonalDataHolder, register_personal_data_holder

from .models import CustomerPrediction


def customer_predictions_export(customer: Customer) -> list[dict[str, Any]]:
    return [
        {
            "computed_at": row["run__created_at"].isoformat() if row["run__created_at"] else None,
            "expected_spend": row["expected_spend"],
            "churn_probability": row["churn_probability"],
            "next_category": row["next_category"],
            "next_category_probability": row["next_category_probability"],
            "segment": row["segment"],
        }
        for row in CustomerPrediction.objects.filter(customer=customer)
        .order_by("-run__created_at")
        .values(
            "run__created_at",
            "expected_spend",
            "churn_probability",
            "next_category",
            "next_category_probability",
            "segment",
        )
    ]


def register() -> None:
    register_personal_data_holder(
        PersonalDataHolder(
            model=CustomerPrediction,
            export_name="predictions",
            export_description="what our models predict about you (expected spend, churn, segment)",
            export_columns=(
                "computed_at",
                "expected_spend",
                "churn_probability",
                "next_category",
                "next_category_probability",
                "segment",
            ),
            export_rows=customer_predictions_export,
        )
    )
