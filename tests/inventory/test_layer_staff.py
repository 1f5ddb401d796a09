"""Staff pages /staff/inventory/plan/ and /staff/inventory/<product_pk>/: a member sees the plan and a chart of the
projected stock (data only, no inline script), and only their store's. Who may open them is the one rule of every
staff page (tests/tenancy/test_staff_pages.py)."""

from __future__ import annotations

import json
import re

import pytest

from inventory.models import ReorderPlanLine
from inventory.planning import reorder_plan_create
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Role
from tests.builders.inventory import forecast_run, make_store, stocked_product
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def planned():
    store = make_store("alpha")
    kettle, _ = stocked_product(store, "KETTLE", on_hand=3, lead_time_days=14, pack_size=1)
    forecast_run(store, {kettle: (8, 10, 13)})
    with tenant_context(store):
        plan = reorder_plan_create(tenant=store)
    return store, plan, kettle


def chart_data(page: str, chart_id: str) -> dict:
    assert f'data-chart="{chart_id}"' in page
    found = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', page, re.S)
    assert found, "the chart's data must be a json_script block"
    return json.loads(found.group(1))


def test_a_member_sees_the_projected_stock_chart(client, planned) -> None:
    store, plan, kettle = planned
    client.force_login(MembershipFactory(tenant=store, role=Role.VIEWER).user)

    response = client.get(f"/staff/inventory/{kettle.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<canvas" in page and "chart.umd.min.js" in page
    config = chart_data(page, "projected-stock-chart")
    datasets = {dataset["label"].split(" (")[0]: dataset["data"] for dataset in config["data"]["datasets"]}
    with tenant_context(store):
        line = ReorderPlanLine.objects.get(plan=plan, product=kettle)
    # Start with 3 on hand, 10 a week of demand, the plan's order arriving after the 2-week lead time.
    on_hand = datasets["On hand"]
    assert on_hand[0] == pytest.approx(0.0) and datasets["Forecast demand"][0] == pytest.approx(10.0)
    assert datasets["Arrivals"][2] == pytest.approx(line.order_quantity)
    assert set(datasets["Reorder point"]) == {round(line.reorder_point, 3)}
    assert len(config["data"]["labels"]) == len(on_hand)
    # The figures say where s and S came from: the program, its horizon and the two costs it compared.
    assert "program over the next 12 reviews" in page
    assert f"{line.cost_with_order:.2f}" in page and f"{line.cost_without_order:.2f}" in page
    # Only external scripts: the page carries data, never inline code.
    assert not re.search(r"<script(?![^>]*(src=|application/json))", page)


def test_the_plan_page_lists_the_orders(client, planned) -> None:
    store, _, kettle = planned
    client.force_login(MembershipFactory(tenant=store, role=Role.ANALYST).user)
    page = client.get("/staff/inventory/plan/").content.decode()
    assert "KETTLE" in page and f"/staff/inventory/{kettle.pk}/" in page
    assert "Naive rule" in page and 'data-chart="plan-cost-chart"' in page


def test_a_member_of_another_store_cannot_see_this_stores_product(client, planned) -> None:
    _, _, kettle = planned
    other = make_store("beta")
    client.force_login(MembershipFactory(tenant=other, role=Role.OWNER).user)
    assert client.get(f"/staff/inventory/{kettle.pk}/").status_code == 404
    page = client.get("/staff/inventory/plan/").content.decode()
    assert "KETTLE" not in page and "no active reorder plan" in page


def test_the_admin_plan_line_page_shows_the_numbers_and_the_chart(client, planned) -> None:
    store, plan, kettle = planned
    client.force_login(MembershipFactory(tenant=store, role=Role.MANAGER).user)
    with tenant_context(store):
        line = ReorderPlanLine.objects.get(plan=plan, product=kettle)
    page = client.get(f"/admin/inventory/reorderplanline/{line.pk}/change/").content.decode()
    for label in (
        "Reorder point",
        "Order up to",
        "Safety stock",
        "Critical fractile",
        "Eoq",
        "Demand protection mean",
        "Expected fill rate",
        "Policy rule",
        "Cost with order",
    ):
        assert label in page, label
    chart_data(page, "projected-stock-chart")
    plan_page = client.get(f"/admin/inventory/reorderplan/{plan.pk}/change/").content.decode()
    assert "lines to order" in plan_page and "naive" in plan_page


def test_the_admin_plan_list_reads_as_money_and_words(client, planned) -> None:
    store, plan, _ = planned
    client.force_login(MembershipFactory(tenant=store, role=Role.MANAGER).user)
    page = client.get("/admin/inventory/reorderplan/").content.decode()
    assert "not_needed" not in page and "not needed (the suggested orders fit the limits)" in page
    assert f"{plan.order_value:,.2f}" in page and "unlimited" in page  # no budget set
    lines = client.get("/admin/inventory/reorderplanline/").content.decode()
    assert "expected fill rate (policy model)" in lines.lower()
