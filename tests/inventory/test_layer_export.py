"""`export_reorder_plan` writes the active plan as CSV with the exact documented header, one row per product."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory.planning import reorder_plan_create
from retailsite.tenancy.context import tenant_context
from tests.builders.inventory import forecast_run, make_store, stocked_product

pytestmark = pytest.mark.django_db

HEADER = "product_id,on_hand,on_order,reorder_point,order_up_to,order_quantity,expected_fill_rate"


def test_export_writes_the_exact_header_and_the_plan_numbers(tmp_path: Path) -> None:
    store = make_store(slug="shop")
    # Demand known exactly: 10 a week, 1 week lead time + 1 week review -> reorder point 20.
    kettle, _ = stocked_product(store, "KETTLE", on_hand=5, on_order=2, lead_time_days=7, pack_size=1)
    pan, _ = stocked_product(store, "PAN", on_hand=400, lead_time_days=7)
    forecast_run(store, {kettle: (10, 10, 10), pan: (3, 4, 6)})
    with tenant_context(store):
        plan = reorder_plan_create(tenant=store)
    output = tmp_path / "plan.csv"

    out = io.StringIO()
    call_command("export_reorder_plan", "--tenant", "shop", "--output", str(output), stdout=out)

    text = output.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER
    rows = {row["product_id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"KETTLE", "PAN"}
    kettle_row = rows["KETTLE"]
    assert (kettle_row["on_hand"], kettle_row["on_order"]) == ("5", "2")
    assert float(kettle_row["reorder_point"]) == pytest.approx(20.0, abs=0.1)
    order = int(kettle_row["order_quantity"])
    assert order == math.ceil(float(kettle_row["order_up_to"]) - 7 - 1e-6)  # S - position, rounded up to units
    assert 0.99 <= float(kettle_row["expected_fill_rate"]) <= 1.0
    assert rows["PAN"]["order_quantity"] == "0"
    assert f"plan {plan.pk}" in out.getvalue()


def test_export_without_an_active_plan_is_refused(tmp_path: Path) -> None:
    make_store(slug="shop")
    with pytest.raises(CommandError, match="no active reorder plan"):
        call_command("export_reorder_plan", "--tenant", "shop", "--output", str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()
