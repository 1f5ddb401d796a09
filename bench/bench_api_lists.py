"""In-process cost of every serving endpoint: CPU milliseconds and queries per request, and where the CPU goes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME .venv/bin/python -m bench.bench_api_lists --build
    DATABASE_URL=... .venv/bin/python -m bench.bench_api_lists              # measure again on the built store
    DATABASE_URL=... .venv/bin/python -m bench.bench_api_lists --only trending,search --cprofile

`--build` migrates the database, seeds a store (`seed_demo --tenant bench`, sizes below) and trains its
recommender. The endpoints are those of `make bench-serving` (bench/bench_serving.py builds the list: the API's
lists against whoami, the storefront's pages against the platform home page, with the same random customers,
products, categories, search words, signed-in shoppers and anonymous visitors), each replayed through Django's
test client (no web server, no concurrency, bench/serving_profile.py) with prepared statements allowed
(DATABASE_PREPARE_THRESHOLD=5) as in production: a warm-up, then `--requests` calls. Printed per endpoint: the
Python CPU and the CPU of the PostgreSQL backend serving this process per request (both CPU clocks: robust to
other work on the machine), the SQL statements per request (Django's query log; BEGIN/COMMIT included where the
request runs in a transaction) and the median wall time; with `--cprofile`, where the Python CPU goes (cProfile
with a CPU-time clock). The event endpoints are left out (they write). Redis is used when REDIS_URL is set
(the cache and throttling of production), else the local-memory cache.
"""

from __future__ import annotations

import argparse
import os
import time

# The pairs of bench_serving not replayed here: they write events.
SKIPPED_KINDS = ("events",)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="store_true", help="migrate, seed and train first")
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200, help="measured requests per endpoint (200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shoppers", type=int, default=300, help="signed-in shopper and visitor sessions (300)")
    parser.add_argument(
        "--only", default="", help="comma-separated endpoint keys (e.g. trending,search,store-home); default all"
    )
    parser.add_argument("--cprofile", action="store_true", help="also print where the CPU goes, per endpoint")
    parser.add_argument(
        "--cold-home",
        action="store_true",
        help="every storefront home request misses the kept sections, as a shopper's first visit does",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retailsite.settings.base")
    os.environ.setdefault("DATABASE_PREPARE_THRESHOLD", "5")
    os.environ.setdefault("API_RATE_LIMIT", "100000000/min")
    os.environ.setdefault("DJANGO_DEBUG", "False")
    os.environ.setdefault("SECRET_KEY", "bench-api-lists-" + "x" * 40)
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtYXBpLWxpc3RzLWtleS0zMi1ieXRlcy1vayE=")
    os.environ.setdefault("BLIND_INDEX_KEY", "bench-blind-index-key")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.bench_serving import TENANT, _make_home_sections_cold, store_facts, targets
    from bench.serving_profile import profile_endpoint, render_profile
    from retailsite.api.services import api_key_create
    from retailsite.tenancy.context import tenant_context
    from retailsite.tenancy.models import Tenant

    if args.build:
        call_command("migrate", verbosity=0)
        call_command(
            "seed_demo",
            tenant=TENANT,
            customers=args.customers,
            products=args.products,
            days=180,
            seed=args.seed,
            no_progress=True,
        )
        call_command("train", tenant=TENANT, only="recommendations")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    tenant = Tenant.objects.get(slug=TENANT)
    with tenant_context(tenant):
        key = api_key_create(name=f"bench-api-lists-{int(time.time())}", scopes=["recommendations:read"]).raw_key
    facts = store_facts(shoppers=args.shoppers, seed=args.seed)
    if args.cold_home:
        _make_home_sections_cold()
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    chosen = []
    for pair in targets(facts, key):
        if pair.kind in SKIPPED_KINDS:
            continue
        for target in (pair.trivial, pair.measured):
            if (not only or target.key in only) and target.key not in {t.key for t in chosen}:
                chosen.append(target)
    rows, details = [], []
    for target in chosen:
        profile = profile_endpoint(
            key=target.key,
            label=target.label,
            paths=target.paths,
            cookies=target.cookies,
            authorization=target.authorization,
            requests=args.requests,
            seed=args.seed,
            with_cprofile=args.cprofile,
            method=target.method,
            bodies=target.bodies,
        )
        rows.append(
            f"| {target.key} | {profile.label} | {profile.cpu_ms_per_request:.2f} | "
            f"{profile.postgres_cpu_ms_per_request:.2f} | {profile.queries_per_request:.1f} | {profile.median_ms:.1f} |"
        )
        if args.cprofile:
            details += render_profile(profile)
    print("\n".join(details))
    print(
        f"\n{args.requests} requests per endpoint after a warm-up, in-process, prepared statements allowed; "
        f"store: {facts.customers:,} customers, {facts.active_products:,} active products\n"
    )
    print("| key | endpoint | Python CPU ms | PostgreSQL CPU ms | queries | wall ms (median) |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(
        f"\nReproduce: DATABASE_URL=... .venv/bin/python -m bench.bench_api_lists --requests {args.requests} "
        f"--shoppers {args.shoppers}" + (f" --only {args.only}" if args.only else "")
    )


if __name__ == "__main__":
    main()
