"""CSV export of the serving forecast run: one row per product and period.

    product_id,period_start,p10,p50,p90,model

`product_id` is the product's external id, `period_start` the ISO date the period starts on (store time zone),
`model` the forecasting method the run chose for that product.
"""

from __future__ import annotations

import csv
from typing import TextIO

from retailsite.csv_safety import spreadsheet_safe

from .models import ForecastRun, SeriesForecast, SeriesLevel

EXPORT_HEADER = ("product_id", "period_start", "p10", "p50", "p90", "model")


def _quantity(value: float) -> str:
    return f"{float(value):.3f}"


def forecast_export_csv(*, run: ForecastRun, stream: TextIO) -> int:
    """Write ``run``'s product forecasts to ``stream`` (sorted by product id, then period); returns data rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    rows = (
        SeriesForecast.objects.filter(run=run, level=SeriesLevel.PRODUCT)
        .order_by("product__external_id", "id")
        .values_list("product__external_id", "periods", "p10", "p50", "p90", "method")
    )
    written = 0
    for external_id, periods, p10, p50, p90, method in rows.iterator(chunk_size=2000):
        for start, low, middle, high in zip(periods, p10, p50, p90, strict=True):
            writer.writerow(
                (spreadsheet_safe(external_id), start, _quantity(low), _quantity(middle), _quantity(high), method)
            )
            written += 1
    return written
