"""The registry of personal data held outside the privacy app's sight.

An app whose table holds rows about one customer (precomputed recommendations, predictions, experiment
exposures, ...) registers it here from its `ready()`, with how to export those rows, whether they must go when
the customer withdraws personalization consent, whether rows of the customer's anonymous browsing sessions are
theirs too, and whether the retention purge removes old rows. Export, erasure, consent withdrawal and retention
read this registry, so the privacy layer imports nothing from the apps above it and a new holder cannot be
forgotten by one of the paths.
Per-customer cache entries register in `privacy.cache` the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Model

if TYPE_CHECKING:
    from retailsite.commerce.models import Customer


@dataclass(frozen=True)
class PersonalDataHolder:
    model: type[Model]
    export_name: str  # the export's CSV file: <export_name>.csv
    export_description: str  # one line in the export's README
    export_columns: tuple[str, ...]
    export_rows: Callable[[Customer], list[dict[str, Any]]]
    customer_field: str = "customer"
    # Derived from behaviour for personalization: dropped at once when personalization consent is withdrawn.
    purge_without_consent: bool = False
    # Rows of an anonymous visitor (customer empty) whose session id, in this column, is one of the customer's
    # browsing sessions are the customer's too (as their anonymous events are): export shows them (export_rows's
    # job) and erasure deletes them.
    session_field: str | None = None
    # A time column: rows older than the store's `event_retention_days` by it go with the raw events' purge.
    retention_field: str | None = None


_HOLDERS: dict[str, PersonalDataHolder] = {}


def register_personal_data_holder(holder: PersonalDataHolder) -> None:
    _HOLDERS[holder.export_name] = holder


def personal_data_holders() -> list[PersonalDataHolder]:
    return list(_HOLDERS.values())
