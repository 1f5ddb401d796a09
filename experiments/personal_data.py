"""What the experiments app holds about one customer, registered with the privacy layer (see
`retailsite.privacy.holders`): the exposures — which arm of which experiment they were shown, when, and how
many lists. Exported (with those of their anonymous browsing sessions), deleted on erasure, purged when
personalization consent is withdrawn (only shoppers with that consent are ever in an experiment; the results
then count them nowhere, neither exposed nor converted) and purged with the raw events after the store's
`event_retention_days` since the last exposure."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from retailsite.commerce.models import Customer
from retailsite.privacy.holders import PersonalDataHolder, register_personal_data_holder
from retailsite.privacy.selectors import customer_session_ids

from .models import Exposure


def customer_exposures_export(customer: Customer) -> list[dict[str, Any]]:
    """One row per experiment the customer (or one of their browsing sessions, before signing in) was shown."""
    sessions = customer_session_ids(customer=customer)
    exposures = (
        Exposure.objects.filter(Q(customer=customer) | Q(customer__isnull=True, session_id__in=sessions))
        .order_by("first_at", "id")
        .values("experiment_id", "experiment__name", "arm__key", "first_at", "last_at", "impressions", "customer_id")
    )
    return [
        {
            "experiment": row["experiment_id"],
            "experiment_name": row["experiment__name"],
            "arm": row["arm__key"],
            "first_shown_at": row["first_at"],
            "last_shown_at": row["last_at"],
            "lists_shown": row["impressions"],
            "signed_in": "yes" if row["customer_id"] else "no",
        }
        for row in exposures
    ]


def register() -> None:
    register_personal_data_holder(
        PersonalDataHolder(
            model=Exposure,
            export_name="experiments",
            export_description="the experiment groups your recommendations came from, and when you saw them",
            export_columns=(
                "experiment",
                "experiment_name",
                "arm",
                "first_shown_at",
                "last_shown_at",
                "lists_shown",
                "signed_in",
            ),
            export_rows=customer_exposures_export,
            purge_without_consent=True,
            session_field="session_id",
            retention_field="last_at",
        )
    )
