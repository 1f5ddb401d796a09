"""Chart.js configurations for the staff pages and the admin (data only; templates/staff/chart.html draws them)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from .models import ReorderPlan, ReorderPlanLine
from .projection import StockProjection, project_stock

MAX_CHART_PERIODS = 104
BLUE, GREY, RED, ORANGE, GREEN = "#2563eb", "#64748b", "#dc2626", "#f59e0b", "#16a34a"


def line_projection(plan: ReorderPlan, line: ReorderPlanLine) -> tuple[list[str], StockProjection]:
    """Period labels and the projected stock of a plan line (P50 demand, arrivals, the plan's orders)."""
    demand = [float(v) for v in (line.demand_p50 or [line.mean_demand_per_period])]
    review = max(1, round(line.review_period))
    lead = max(0, round(line.lead_time_periods))
    # Show at least two order cycles, repeating the last forecast period beyond the horizon.
    wanted = min(max(len(demand), math.ceil(2 * (lead + review)) + 1), MAX_CHART_PERIODS)
    demand = demand + [demand[-1]] * (wanted - len(demand))
    projection = project_stock(
        on_hand=line.on_hand,
        scheduled_arrivals=line.scheduled_arrivals or [],
        demand=demand,
        first_order=line.order_quantity,
        lead_periods=lead,
        review_periods=review,
        reorder_point=line.reorder_point,
        order_up_to=line.order_up_to,
        pack_size=line.pack_size,
        min_order_qty=line.min_order_qty,
    )
    return _labels(plan, len(demand)), projection


def _labels(plan: ReorderPlan, count: int) -> list[str]:
    labels = [str(start) for start in (plan.periods or [])][:count]
    try:
        last = dt.date.fromisoformat(labels[-1][:10]) if labels else None
    except ValueError:
        last = None
    while len(labels) < count:
        if last is None:
            labels.append(f"period {len(labels) + 1}")
        else:
            last = last + dt.timedelta(days=plan.period_days)
            labels.append(last.isoformat())
    return labels


def projected_stock_chart(plan: ReorderPlan, line: ReorderPlanLine) -> dict[str, Any]:
    """On hand over the coming periods under the plan, with demand, arrivals and the reorder point."""
    labels, projection = line_projection(plan, line)
    count = len(labels)
    return {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "type": "line",
                    "label": "On hand (end of period)",
                    "data": projection.on_hand_end,
                    "borderColor": BLUE,
                    "backgroundColor": BLUE,
                    "stepped": True,
                    "order": 1,
                },
                {
                    "type": "line",
                    "label": "Inventory position",
                    "data": projection.position_end,
                    "borderColor": GREY,
                    "backgroundColor": GREY,
                    "borderDash": [4, 4],
                    "stepped": True,
                    "order": 2,
                },
                {
                    "type": "line",
                    "label": f"Reorder point ({line.reorder_point:,.1f})",
                    "data": [round(line.reorder_point, 3)] * count,
                    "borderColor": RED,
                    "backgroundColor": RED,
                    "borderDash": [8, 4],
                    "pointRadius": 0,
                    "order": 3,
                },
                {
                    "type": "bar",
                    "label": "Forecast demand (P50)",
                    "data": projection.demand,
                    "backgroundColor": ORANGE,
                    "order": 4,
                },
                {"type": "bar", "label": "Arrivals", "data": projection.arrivals, "backgroundColor": GREEN, "order": 5},
            ],
        },
        "options": {
            "interaction": {"mode": "index", "intersect": False},
            "scales": {"y": {"beginAtZero": True, "title": {"display": True, "text": "units"}}},
        },
    }


def plan_cost_chart(plan: ReorderPlan) -> dict[str, Any] | None:
    """Simulated cost split of the plan and of the naive rule, side by side (None when not simulated)."""
    figures = plan.simulation or {}
    if "plan" not in figures or "naive" not in figures:
        return None
    parts = (
        ("holding_cost", "Holding", BLUE),
        ("ordering_cost", "Ordering", GREY),
        ("shortage_cost", "Lost sales", RED),
    )
    return {
        "type": "bar",
        "data": {
            "labels": ["This plan", "Naive rule (order last period's sales)"],
            "datasets": [
                {
                    "label": label,
                    "backgroundColor": color,
                    "data": [
                        round(float(figures["plan"].get(key, 0.0)), 2),
                        round(float(figures["naive"].get(key, 0.0)), 2),
                    ],
                }
                for key, label, color in parts
            ],
        },
        "options": {
            "indexAxis": "y",
            "scales": {
                "x": {"stacked": True, "title": {"display": True, "text": "simulated cost"}},
                "y": {"stacked": True},
            },
        },
    }
