"""manage.py export_forecasts --tenant SLUG --output FILE: the serving run's product forecasts as CSV."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.builders.forecasting import stored_forecasts
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_the_export_has_the_exact_header_and_a_row_per_product_and_period(tmp_path: Path) -> None:
    tenant = TenantFactory(slug="alpha")
    stored_forecasts(tenant)
    stored_forecasts(TenantFactory(slug="beta"), scale=100.0)  # another store's forecasts stay out
    target = tmp_path / "forecasts.csv"
    out = io.StringIO()
    call_command("export_forecasts", "--tenant", "alpha", "--output", str(target), stdout=out)

    # The serving run only (not the older run, not the newer failed one), products only (no category, no total).
    assert target.read_text().splitlines() == [
        "product_id,period_start,p10,p50,p90,model",
        "P1,2025-03-03,5.000,10.000,15.000,weighted(ets+theta)",
        "P1,2025-03-10,6.000,12.000,18.000,weighted(ets+theta)",
        "P2,2025-03-03,2.000,4.000,6.000,weighted(ets+theta)",
        "P2,2025-03-10,2.000,4.000,6.000,weighted(ets+theta)",
    ]
    assert "Wrote 4 rows" in out.getvalue()


def test_a_store_without_a_run_or_an_unknown_store_is_refused(tmp_path: Path) -> None:
    TenantFactory(slug="empty")
    target = tmp_path / "forecasts.csv"
    with pytest.raises(CommandError, match="no succeeded forecast run"):
        call_command("export_forecasts", "--tenant", "empty", "--output", str(target))
    with pytest.raises(CommandError, match="No tenant 'ghost'"):
        call_command("export_forecasts", "--tenant", "ghost", "--output", str(target))
    assert not target.exists()


def test_a_product_id_that_looks_like_a_formula_is_written_as_text() -> None:
    from retailsite.csv_safety import spreadsheet_safe

    assert spreadsheet_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [spreadsheet_safe(v) for v in ("+1", "-2", "@A1", "\tx", "\rx")] == ["'+1", "'-2", "'@A1", "'\tx", "'\rx"]
    assert spreadsheet_safe("SKU-1") == "SKU-1" and spreadsheet_safe(3) == 3
