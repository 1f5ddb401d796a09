"""Staff pages of inventory: the active reorder plan, and one product's projected stock under it (with a chart).

Mounted at /staff/inventory/; access as for every staff page (retailsite.tenancy.staff_pages.staff_page).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from retailsite.commerce.selectors import product_get_by_pk
from retailsite.tenancy.staff_pages import staff_context, staff_page

from . import selectors

# The charts (numpy, through the stock projection) are imported in the views that draw them: the URL conf names
# these views, and a web worker that never serves a staff chart goes without numpy.

LINES_PER_PAGE = 100


@staff_page
def plan_view(request: HttpRequest) -> HttpResponse:
    from .charts import plan_cost_chart

    plan = selectors.active_plan()
    latest = selectors.plan_list().first()
    page = None
    if plan is not None:
        to_order_only = request.GET.get("all") != "1"
        page = Paginator(selectors.plan_lines(plan, to_order_only=to_order_only), LINES_PER_PAGE).get_page(
            request.GET.get("page")
        )
    return render(
        request,
        "inventory/plan.html",
        staff_context(
            request,
            "Reorder plan",
            plan=plan,
            latest=latest,
            page=page,
            show_all=request.GET.get("all") == "1",
            cost_chart=plan_cost_chart(plan) if plan is not None else None,
        ),
    )


@staff_page
def product_view(request: HttpRequest, product_pk: int) -> HttpResponse:
    product = product_get_by_pk(product_pk)
    if product is None:
        raise Http404("No such product in this store.")
    plan = selectors.active_plan()
    line = selectors.plan_line_for_product(plan, product.pk) if plan is not None else None
    chart = rows = None
    if plan is not None and line is not None:
        from .charts import line_projection, projected_stock_chart

        chart = projected_stock_chart(plan, line)
        labels, projection = line_projection(plan, line)
        rows = list(
            zip(
                labels,
                projection.demand,
                projection.arrivals,
                projection.orders,
                projection.on_hand_end,
                projection.position_end,
                projection.lost_sales,
                strict=True,
            )
        )
    return render(
        request,
        "inventory/product.html",
        staff_context(
            request, f"Projected stock: {product.name}", product=product, plan=plan, line=line, chart=chart, rows=rows
        ),
    )
