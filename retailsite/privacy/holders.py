"""The registry of personal data held outside the privacy app's sight.

An app whose table holds rows about one customer (precomputed recommendations, predictions, ...) registers
it here from its `ready()`, with how to export those rows and whether they must go when the customer
withdraws personalization consent. Export, erasure and consent withdrawal read this registry, so the privacy
layer imports nothing from the apps above it and a new holder cannot be forgotten by one of the paths.
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


_HOLDERS: dict[str, PersonalDataHolder] = {}


def register_personal_data_holder(holder: PersonalDataHolder) -> None:
    _HOLDERS[holder.export_name] = holder


def personal_data_holders() -> list[PersonalDataHolder]:
    return list(_HOLDERS.values())
