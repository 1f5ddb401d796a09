"""The demo store's weekly forecasts, checked the way issue 14 asks: products with 11+ months of their own sales get
their own model (at most 5% a new-product one), and the store total and every category are served a model at least
as good as the seasonal naive in their own backtest (the staff page says which and why when the naive wins).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/retailsite_demo .venv/bin/python -m bench.bench_forecasting_demo

Seeds the demo store (``manage.py seed_demo --tenant SLUG``, default size: 2,000 customers, 300 products, 365 days
of history) into the database of DATABASE_URL unless it is there already, runs ``manage.py train --tenant SLUG
--only forecasts`` (weekly forecasts, the default), and reads the serving run: routes of the products with 11+
months of their own sales, the served method of the store total and every category against the seasonal naive in
the same backtest, and how often the store's global model won a product's backtest. Writes
docs/bench-forecasting-demo.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from statistics import median

import django

REPO = Path(__file__).resolve().parent.parent
DOC_PATH = REPO / "docs" / "bench-forecasting-demo.md"
OWN_SALES_DAYS = 335  # 11 months
TARGET_NEW_PRODUCT_SHARE = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", default="demo", metavar="SLUG")
    parser.add_argument("--no-doc", action="store_true", help=f"do not write {DOC_PATH.relative_to(REPO)}")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retailsite.settings.base")
    django.setup()
    from django.core.management import call_command
    from django.db.models import Min

    from bench.machine import cpu_model
    from forecasting.models import ForecastRun, RunStatus, SeriesForecast
    from retailsite.commerce.models import OrderLine
    from retailsite.tenancy.context import tenant_context
    from retailsite.tenancy.models import Tenant

    if not Tenant.objects.filter(slug=args.tenant).exists():
        print(f"seeding the demo store {args.tenant!r} ...", file=sys.stderr, flush=True)
        call_command("seed_demo", "--tenant", args.tenant, "--no-progress", stdout=io.StringIO())
    tenant = Tenant.objects.get(slug=args.tenant)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    call_command("train", "--tenant", args.tenant, "--only", "forecasts", stdout=io.StringIO(), stderr=io.StringIO())
    seconds = time.perf_counter() - started
    with tenant_context(tenant):
        run = ForecastRun.objects.filter(status=RunStatus.SUCCEEDED).latest("created_at")
        rows = list(SeriesForecast.objects.filter(run=run).select_related("category"))
        first_sale = dict(
            OrderLine.objects.values("product_id")
            .annotate(first=Min("order__ordered_at"))
            .values_list("product_id", "first")
        )
    cutoff = run.data_cutoff
    products = [r for r in rows if r.level == "product"]
    seasoned = [
        r
        for r in products
        if r.product_id in first_sale and (cutoff - first_sale[r.product_id].date()).days >= OWN_SALES_DAYS
    ]
    new_product = [r for r in seasoned if r.route == "new_product"]
    share = len(new_product) / max(len(seasoned), 1)
    aggregates = sorted(
        (r for r in rows if r.level in ("total", "category")),
        key=lambda r: (r.level != "total", r.category.path if r.category else ""),
    )
    worse = [
        r
        for r in aggregates
        if r.backtest.get("mase") is not None
        and (r.backtest.get("baseline") or {}).get("mase") is not None
        and r.backtest["mase"] > r.backtest["baseline"]["mase"] + 1e-9
    ]
    compared = [r for r in products if r.backtest.get("global")]
    served = [r for r in products if r.method.startswith("global_gbm")]
    product_mase = [r.mase for r in products if r.mase is not None]
    naive_mase = [r.backtest["baseline"]["mase"] for r in products if (r.backtest.get("baseline") or {}).get("mase")]

    def figure(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    table = [
        "| series | served method | backtest MASE | seasonal naive MASE | why |",
        "|---|---|---:|---:|---|",
    ]
    for r in aggregates:
        name = "store total" if r.level == "total" else f"category {r.category.path}"
        table.append(
            f"| {name} | `{r.method}` | {figure(r.backtest.get('mase'))} | "
            f"{figure((r.backtest.get('baseline') or {}).get('mase'))} | {r.backtest.get('why', '')} |"
        )
    routes = Counter(r.route for r in seasoned)
    lines = [
        "# Demo store: weekly forecasts",
        "",
        f"Store: `seed_demo --tenant {args.tenant}` (default size), {len(products)} active products, "
        f"{sum(1 for r in rows if r.level == 'category')} categories; weekly forecasts {run.horizon} weeks ahead, "
        f"history to {cutoff.isoformat()} ({run.details.get('history_periods')} weeks). "
        f"`train --only forecasts` took {seconds:.0f} s (load average {load:.1f} at the start).",
        "",
        f"- Products with 11+ months of their own sales: {len(seasoned)}; routes "
        + ", ".join(f"{name} {count}" for name, count in sorted(routes.items()))
        + f". New-product model: {len(new_product)} ({share:.1%}; target <= {TARGET_NEW_PRODUCT_SHARE:.0%}): "
        f"**{'met' if share <= TARGET_NEW_PRODUCT_SHARE else 'not met'}**.",
        f"- Store total and categories served worse than the seasonal naive in their own backtest: {len(worse)} of "
        f"{len(aggregates)}: **{'met' if not worse else 'not met'}**.",
        f"- Store's global model: compared with the local models on {len(compared)} products' backtests, served on "
        f"{len(served)}. Product backtests: median MASE {figure(median(product_mase) if product_mase else None)} vs "
        f"seasonal naive {figure(median(naive_mase) if naive_mase else None)}.",
        "",
        *table,
        "",
        f"Machine: {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}; "
        f"{dt.date.today().isoformat()}.",
        "",
        "Reproduce: `DATABASE_URL=postgres://... .venv/bin/python -m bench.bench_forecasting_demo` (seeds the demo "
        "store when the tenant is missing).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_doc:
        DOC_PATH.write_text(text, encoding="utf-8")
        print(f"Wrote {DOC_PATH.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
