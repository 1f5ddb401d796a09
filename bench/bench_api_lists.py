"""In-process cost of the recommendation API's item lists: queries and milliseconds per request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME .venv/bin/python -m bench.bench_api_lists --build
    DATABASE_URL=... .venv/bin/python -m bench.bench_api_lists            # measure again on the built store

`--build` migrates the database, seeds a store (`seed_demo --tenant bench`, sizes below) and trains its
recommender. Each endpoint is then called through Django's test client (no web server, no concurrency) with
prepared statements allowed (DATABASE_PREPARE_THRESHOLD=5) as in production: a warm-up, then `--requests`
calls on random customers and products (fixed seed). Printed: the median and 90th percentile of the wall time
and the SQL statements per request (Django's query log; each statement outside a transaction also pays a
BEGIN/COMMIT that the log does not show). Needs no Redis (local-memory cache when REDIS_URL is unset).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="store_true", help="migrate, seed and train first")
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retailsite.settings.base")
    os.environ.setdefault("DATABASE_PREPARE_THRESHOLD", "5")
    os.environ.setdefault("API_RATE_LIMIT", "1000000/min")
    os.environ.setdefault("DJANGO_DEBUG", "False")
    os.environ.setdefault("SECRET_KEY", "bench-api-lists-" + "x" * 40)
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtYXBpLWxpc3RzLWtleS0zMi1ieXRlcy1vayE=")
    os.environ.setdefault("BLIND_INDEX_KEY", "bench-blind-index-key")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from retailsite.api.services import api_key_create
    from retailsite.commerce.models import Customer, Product
    from retailsite.tenancy.context import tenant_context
    from retailsite.tenancy.models import Tenant

    settings.ALLOWED_HOSTS = ["*"]
    if args.build:
        call_command("migrate", verbosity=0)
        call_command(
            "seed_demo",
            tenant="bench",
            customers=args.customers,
            products=args.products,
            days=180,
            seed=args.seed,
            no_progress=True,
        )
        call_command("train", tenant="bench", only="recommendations")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    tenant = Tenant.objects.get(slug="bench")
    rng = random.Random(args.seed)
    with tenant_context(tenant):
        key = api_key_create(name=f"bench-api-lists-{int(time.time())}", scopes=["recommendations:read"]).raw_key
        customers = sorted(Customer.objects.values_list("external_id", flat=True))
        products = sorted(Product.objects.filter(active=True).values_list("external_id", flat=True))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def customer_get() -> tuple[str, str, dict]:
        return "get", f"/api/v1/recommendations/customers/{rng.choice(customers)}/?k=10", {}

    def similar_get() -> tuple[str, str, dict]:
        return "get", f"/api/v1/recommendations/products/{rng.choice(products)}/similar/?k=10", {}

    def together_get() -> tuple[str, str, dict]:
        return "get", f"/api/v1/recommendations/products/{rng.choice(products)}/bought-together/?k=10", {}

    def trending_get() -> tuple[str, str, dict]:
        return "get", "/api/v1/recommendations/trending/?k=10", {}

    def batch_post() -> tuple[str, str, dict]:
        return "post", "/api/v1/recommendations/batch/", {"customer_ids": rng.sample(customers, 20), "k": 10}

    def rerank_post() -> tuple[str, str, dict]:
        body = {"customer_id": rng.choice(customers), "product_ids": rng.sample(products, 50)}
        return "post", "/api/v1/recommendations/rerank/", body

    endpoints = {
        "customer recommendations (k=10)": customer_get,
        "similar items (k=10)": similar_get,
        "bought together (k=10)": together_get,
        "trending (k=10)": trending_get,
        "batch, 20 customers (k=10)": batch_post,
        "re-rank 50 products for a customer": rerank_post,
    }
    rows = []
    for name, make in endpoints.items():
        timings, queries = [], []
        for index in range(args.requests + 20):
            method, url, body = make()
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                if method == "get":
                    response = client.get(url)
                else:
                    response = client.post(url, body, content_type="application/json")
                elapsed = time.perf_counter() - started
            if response.status_code != 200:
                sys.exit(f"{name}: {url} answered {response.status_code}: {response.content[:300]!r}")
            if index >= 20:  # after the warm-up
                timings.append(elapsed * 1000)
                queries.append(len(captured.captured_queries))
        timings.sort()
        rows.append(
            (
                name,
                statistics.median(timings),
                timings[int(0.9 * (len(timings) - 1))],
                statistics.mean(queries),
                max(queries),
            )
        )
    print(f"\n{args.requests} requests per endpoint after 20 warm-up, in-process, prepared statements allowed\n")
    print("| endpoint | median ms | p90 ms | SQL statements / request (mean) | max |")
    print("|---|---:|---:|---:|---:|")
    for name, median, p90, mean_queries, max_queries in rows:
        print(f"| {name} | {median:.2f} | {p90:.2f} | {mean_queries:.1f} | {max_queries} |")
    print(f"\nReproduce: DATABASE_URL=... .venv/bin/python -m bench.bench_api_lists --requests {args.requests}")


if __name__ == "__main__":
    main()
