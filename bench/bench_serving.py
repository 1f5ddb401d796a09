"""Benchmark of serving under load (issue 4, item 3), on the real stack: PostgreSQL, Redis, gunicorn, wrk.

    make bench-serving                      # or: .venv/bin/python -m bench.bench_serving
    .venv/bin/python -m bench.bench_serving --keep-db          # keep the database for the next run
    .venv/bin/python -m bench.bench_serving --reuse-db         # reuse the kept store (migrated and retrained)
    .venv/bin/python -m bench.bench_serving --customers 5000 --products 2000 --duration 10   # a quick look

1. Builds a fresh PostgreSQL database (`retailsite_bench_serving`, as postgres@127.0.0.1 unless
   BENCH_SERVING_ADMIN_URL says otherwise) the production way: `create_db_roles`, `migrate` as
   retail_owner, then `seed_demo --tenant bench --customers 50000 --products 20000 --days 365 --seed 1`,
   `train --only recommendations` and `apikey create` as retail_app (row-level security on).
   It then runs VACUUM (ANALYZE), as autovacuum would in production (the local server may have it off).
2. Starts gunicorn (production settings via bench/serving_settings.py, which only moves STATIC_ROOT;
   as retail_app; Redis database 9 for cache and throttling) with 2 x cores + 1 sync workers, the
   same server for every endpoint.
3. Drives it with wrk (32 connections, 30 s per endpoint, 3 rounds), in pairs, trivial endpoint first:
   - GET /api/v1/recommendations/customers/<random customer>/?k=10&max_price=<median price>
     against GET /api/v1/whoami/ with the same API key;
   - the storefront home page /s/bench/ of a random signed-in shopper against the platform
     home page / (a small template page: one query, the base layout) with the same session cookies;
   - product pages (a random active product; the same 20 products), category pages and search pages
     (a word of the catalog's names) of a random anonymous visitor (their session exists) against /;
   - the API's item lists against whoami: similar items and bought together of a random product, trending,
     a batch of 10 random customers, a re-rank of 20 random products;
   - POST /api/v1/events/ (one view) and /api/v1/events/batch/ (500 views, new event ids) against whoami.
4. Replays each endpoint in-process to count queries and profile where the time goes.
5. Prints a markdown table, the ratios against the targets (p99 at most 1.5x the trivial endpoint's,
   throughput at least 70% of it for API reads and 50% for storefront pages, zero errors; the event batch
   endpoint at least 2,000 events/s), the web workers' resident memory after start (≤ 120 MB) and the time of
   `manage.py help` (< 1 s), the machine and the command; writes docs/bench-serving.md.

BENCH_SERVING_DATABASE, BENCH_SERVING_REDIS_URL and BENCH_SERVING_PORT choose the database, the Redis database
and the port (for several people benchmarking on one machine).

gunicorn is stopped at the end, also on failure or Ctrl-C. Needs `wrk` (Debian: `apt-get install -y wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.machine import cpu_model
from bench.serving_load import LoadResult, Target, run_wrk, write_script, wrk_path
from bench.serving_stack import (
    CpuMeter,
    StackConfig,
    api_key_create,
    autovacuum_setting,
    build_store,
    collect_static,
    database_exists,
    drop_database,
    flush_redis,
    load_secrets,
    new_secrets,
    save_secrets,
    server_environment,
    vacuum_analyze,
    wait_until_idle,
)
from bench.stack import Gunicorn, anonymous_sessions, get, log, manage

REPO = Path(__file__).resolve().parent.parent
TENANT = "bench"
P99_RATIO_TARGET = 1.5
THROUGHPUT_RATIO_TARGET = 0.70  # API reads
PAGE_THROUGHPUT_RATIO_TARGET = 0.50  # storefront pages
EVENTS_PER_SECOND_TARGET = 2000  # the event endpoint, in batches
BATCH_CUSTOMERS = 10  # customers per batch request
RERANK_ITEMS = 20  # products per re-rank request
EVENT_BATCH_SIZE = 500
WARM_PRODUCTS = 20
RSS_TARGET_MB = 120
HELP_SECONDS_TARGET = 1.0
# One key drives all the API load; the per-key limit (1200/min by default) would answer 429 within a second.
BENCH_RATE_LIMIT = "100000000/min"


@dataclass(frozen=True)
class Pair:
    name: str
    trivial: Target
    measured: Target
    # "api" (throughput ≥ 70% of the floor), "page" (≥ 50%), "events" (events/s target, latency reported only)
    kind: str = "api"

    @property
    def throughput_target(self) -> float:
        return PAGE_THROUGHPUT_RATIO_TARGET if self.kind == "page" else THROUGHPUT_RATIO_TARGET


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=int, default=30, help="seconds of load per endpoint and round (30)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of unmeasured load per endpoint first (5)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured rounds (3); each pair's ratios are the median over the rounds"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    cores = len(os.sched_getaffinity(0))
    parser.add_argument("--workers", type=int, default=2 * cores + 1, help="gunicorn workers (2 x cores + 1)")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4, help="threads per worker with --worker-class gthread")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_SERVING_PORT", "18765")))
    parser.add_argument("--shoppers", type=int, default=2000, help="signed-in shopper sessions to rotate through")
    parser.add_argument(
        "--profile-requests",
        type=int,
        default=200,
        help="in-process requests per endpoint for query counts and profiles (0: skip)",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the database in place for --reuse-db")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="reuse a database kept by --keep-db if it was built with the same data options",
    )
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/bench-serving.md")
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="no server and no load: only the in-process replay (CPU ms and queries per request), "
        "a quick check while developing; use with --reuse-db --keep-db",
    )
    parser.add_argument(
        "--only",
        help="only the pairs whose name starts with one of these comma-separated prefixes (case-insensitive), "
        "e.g. 'api', 'pages: search', 'pages: storefront home,api: events'",
    )
    parser.add_argument("--cprofile", action="store_true", help="with --profile-only: print where the CPU goes")
    parser.add_argument(
        "--cold-home",
        action="store_true",
        help="with --profile-only: every storefront home request misses the kept sections, "
        "as a shopper's first visit does",
    )
    return parser.parse_args()


def data_parameters(args: argparse.Namespace) -> dict[str, int]:
    return {"customers": args.customers, "products": args.products, "days": args.days, "seed": args.seed}


# -- preparation (in this process, as the application role) ----------------------------------------


@dataclass
class StoreFacts:
    customer_ids: list[str]
    shopper_cookies: list[str]
    visitor_cookies: list[str]  # anonymous visitors in the middle of a visit (their session already exists)
    max_price: str
    customers: int
    consenting: int
    precomputed_lists: int
    products: int
    active_products: int
    active_version: int | None
    orders: int
    events: int
    product_pks: list[int]
    product_external_ids: list[str]
    category_ids: list[int]
    search_words: list[str]


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def store_facts(*, shoppers: int, seed: int) -> StoreFacts:
    """Customer ids to ask for, signed-in shopper sessions, and the price filter (the median price)."""
    from importlib import import_module

    from django.conf import settings
    from django.db import transaction
    from django.test import RequestFactory

    from recommendations.models import CustomerRecommendations
    from recommendations.selectors import active_version_id
    from retailsite.commerce.models import Customer, Event, Order, Product
    from retailsite.storefront.shopper import shopper_for_request, shopper_sign_in
    from retailsite.tenancy.context import tenant_context
    from retailsite.tenancy.models import Tenant

    tenant = Tenant.objects.get(slug=TENANT)
    rng = random.Random(seed)
    with tenant_context(tenant):
        customer_rows = list(
            Customer.objects.order_by("pk").values_list("pk", "external_id", "personalization_consent")
        )
        prices = sorted(Product.objects.filter(active=True).values_list("price", flat=True))
        version_id = active_version_id()
        lists = CustomerRecommendations.objects.filter(model_version_id=version_id).count() if version_id else 0
        facts = dict(products=Product.objects.count(), orders=Order.objects.count(), events=Event.objects.count())
        active = list(Product.objects.filter(active=True).order_by("pk").values_list("pk", "external_id", "name"))
        category_ids = sorted(
            {cid for cid in Product.objects.filter(active=True).values_list("category_id", flat=True) if cid}
        )
        words = sorted({word.lower() for _, _, name in active for word in name.split() if word.isalpha()})
        chosen = Customer.objects.in_bulk(
            [row[0] for row in rng.sample(customer_rows, min(shoppers, len(customer_rows)))]
        )
        session_store = import_module(settings.SESSION_ENGINE).SessionStore
        cookies = []
        with transaction.atomic():
            for customer in chosen.values():
                # The storefront's own sign-in, on a synthetic request: exactly what a shopper's session holds.
                request = RequestFactory().get(f"/s/{tenant.slug}/")
                request.session = session_store()
                request.tenant = tenant
                shopper_sign_in(request, customer)
                shopper_for_request(request)
                request.session.save()
                cookies.append(f"{settings.SESSION_COOKIE_NAME}={request.session.session_key}")
    visitors = [cookie for cookie, _ in anonymous_sessions(tenant, shoppers)]  # anonymous visitors, as first seen
    return StoreFacts(
        customer_ids=[row[1] for row in customer_rows],
        shopper_cookies=cookies,
        visitor_cookies=visitors,
        max_price=str(prices[len(prices) // 2]) if prices else "100",
        customers=len(customer_rows),
        consenting=sum(1 for row in customer_rows if row[2]),
        precomputed_lists=lists,
        active_products=len(prices),
        active_version=version_id,
        product_pks=[row[0] for row in active],
        product_external_ids=[row[1] for row in active],
        category_ids=category_ids,
        search_words=words,
        **facts,
    )


def targets(facts: StoreFacts, api_key: str) -> list[Pair]:
    authorization = f"Bearer {api_key}"
    recommendations = [
        f"/api/v1/recommendations/customers/{cid}/?k=10&max_price={facts.max_price}" for cid in facts.customer_ids
    ]
    return [
        Pair(
            "API: personalized recommendations vs whoami",
            Target("whoami", "GET /api/v1/whoami/", ["/api/v1/whoami/"], authorization=authorization),
            Target(
                "recommendations",
                f"GET /api/v1/recommendations/customers/<id>/?k=10&max_price={facts.max_price}",
                recommendations,
                authorization=authorization,
            ),
        ),
        Pair(
            "Pages: storefront home vs platform home",
            Target("platform-home", "GET / (platform home page)", ["/"], cookies=facts.shopper_cookies),
            Target(
                "store-home", f"GET /s/{TENANT}/ (signed-in shopper)", [f"/s/{TENANT}/"], cookies=facts.shopper_cookies
            ),
            kind="page",
        ),
        *api_list_pairs(facts, authorization),
        *page_pairs(facts),
        *event_pairs(facts, authorization),
    ]


def api_list_pairs(facts: StoreFacts, authorization: str) -> list[Pair]:
    """The API's item lists (similar, bought together, trending, batch, re-rank) against whoami, one pair each.

    Random active products and customers per request (fixed seed); the batch asks for BATCH_CUSTOMERS customers,
    the re-rank orders RERANK_ITEMS random products for a random customer.
    """
    rng = random.Random(13)
    whoami = Target("whoami", "GET /api/v1/whoami/", ["/api/v1/whoami/"], authorization=authorization)
    products = facts.product_external_ids
    similar = [f"/api/v1/recommendations/products/{pid}/similar/?k=10" for pid in products]
    together = [f"/api/v1/recommendations/products/{pid}/bought-together/?k=10" for pid in products]
    batches = [
        json.dumps({"customer_ids": rng.sample(facts.customer_ids, BATCH_CUSTOMERS), "k": 10}) for _ in range(200)
    ]
    reranks = [
        json.dumps({"customer_id": rng.choice(facts.customer_ids), "product_ids": rng.sample(products, RERANK_ITEMS)})
        for _ in range(200)
    ]

    def api(
        key: str,
        label: str,
        paths: list[str],
        method: str = "GET",
        bodies: list[str] | None = None,
        lists_per_request: int = 0,
    ) -> Target:
        return Target(
            key,
            label,
            paths,
            authorization=authorization,
            method=method,
            bodies=bodies or [],
            lists_per_request=lists_per_request,
        )

    return [
        Pair(
            "API: similar items vs whoami",
            whoami,
            api("similar", "GET /api/v1/recommendations/products/<random>/similar/?k=10", similar),
        ),
        Pair(
            "API: bought together vs whoami",
            whoami,
            api("bought-together", "GET /api/v1/recommendations/products/<random>/bought-together/?k=10", together),
        ),
        Pair(
            "API: trending vs whoami",
            whoami,
            api("trending", "GET /api/v1/recommendations/trending/?k=10", ["/api/v1/recommendations/trending/?k=10"]),
        ),
        Pair(
            f"API: batch of {BATCH_CUSTOMERS} customers vs whoami",
            whoami,
            api(
                "batch",
                f"POST /api/v1/recommendations/batch/ ({BATCH_CUSTOMERS} random customers, k=10)",
                ["/api/v1/recommendations/batch/"],
                method="POST",
                bodies=batches,
                lists_per_request=BATCH_CUSTOMERS,
            ),
        ),
        Pair(
            f"API: re-rank of {RERANK_ITEMS} products vs whoami",
            whoami,
            api(
                "rerank",
                f"POST /api/v1/recommendations/rerank/ ({RERANK_ITEMS} random products, a random customer)",
                ["/api/v1/recommendations/rerank/"],
                method="POST",
                bodies=reranks,
            ),
        ),
    ]


def page_pairs(facts: StoreFacts) -> list[Pair]:
    """Anonymous visitors (a random one of the visitor sessions per request) on product, category and search pages.

    Each request carries the session cookie of an anonymous visitor whose first page view already created their
    session (as a browser does for the rest of a visit); the floor gets the same cookies.
    """
    rng = random.Random(7)
    cookies = facts.visitor_cookies
    floor = Target("platform-home-anonymous", "GET / (anonymous visitor)", ["/"], cookies=cookies)
    product_paths = [f"/s/{TENANT}/p/{pk}/" for pk in facts.product_pks]
    warm = rng.sample(product_paths, min(WARM_PRODUCTS, len(product_paths)))
    categories = [f"/s/{TENANT}/c/{cid}/" for cid in facts.category_ids]
    # Percent-encoded as a browser sends it (gunicorn answers 400 to raw non-ASCII bytes in the request line).
    searches = [f"/s/{TENANT}/search/?{urlencode({'q': word})}" for word in facts.search_words]

    def page(key: str, label: str, paths: list[str]) -> Target:
        return Target(key, f"GET /s/{TENANT}/{label} (anonymous visitor)", paths, cookies=cookies)

    return [
        Pair(
            "Pages: product page, random product vs platform home",
            floor,
            page("product-random", f"p/<random of {len(product_paths):,} active products>/", product_paths),
            kind="page",
        ),
        Pair(
            f"Pages: product page, the same {len(warm)} products vs platform home",
            floor,
            page("product-warm", f"p/<one of {len(warm)} products>/", warm),
            kind="page",
        ),
        Pair(
            "Pages: category page vs platform home",
            floor,
            page("category", f"c/<random of {len(categories):,} categories>/", categories),
            kind="page",
        ),
        Pair(
            "Pages: search page vs platform home",
            floor,
            page("search", f"search/?q=<one of {len(searches):,} catalog words>", searches),
            kind="page",
        ),
    ]


def event_pairs(facts: StoreFacts, authorization: str) -> list[Pair]:
    """The event endpoints: one view per request, and batches of EVENT_BATCH_SIZE; every event id is new."""
    rng = random.Random(11)
    whoami = Target("whoami", "GET /api/v1/whoami/", ["/api/v1/whoami/"], authorization=authorization)

    def event(index: int) -> dict[str, str]:
        return {
            "event_id": f"bench-__UNIQUE__-{index}",
            "customer_id": rng.choice(facts.customer_ids),
            "product_id": rng.choice(facts.product_external_ids),
            "event_type": "view",
        }

    singles = [json.dumps(event(0)) for _ in range(500)]
    batches = [json.dumps({"events": [event(i) for i in range(EVENT_BATCH_SIZE)]}) for _ in range(100)]
    return [
        Pair(
            "API: one event per request vs whoami",
            whoami,
            Target(
                "event-single",
                "POST /api/v1/events/ (one view)",
                ["/api/v1/events/"],
                authorization=authorization,
                method="POST",
                bodies=singles,
                events_per_request=1,
            ),
            kind="events",
        ),
        Pair(
            f"API: {EVENT_BATCH_SIZE} events per request vs whoami",
            whoami,
            Target(
                "event-batch",
                f"POST /api/v1/events/batch/ ({EVENT_BATCH_SIZE} views)",
                ["/api/v1/events/batch/"],
                authorization=authorization,
                method="POST",
                bodies=batches,
                events_per_request=EVENT_BATCH_SIZE,
            ),
            kind="events",
        ),
    ]


def check_endpoints(base_url: str, pairs: list[Pair]) -> None:
    """One request to each endpoint before the load: a broken endpoint stops the benchmark here."""
    import urllib.error
    import urllib.request

    for pair in pairs:
        for target in (pair.trivial, pair.measured):
            headers = {"Authorization": target.authorization} if target.authorization else {}
            if target.cookies:
                headers["Cookie"] = target.cookies[0]
            if target.method == "GET":
                status, body = get(base_url + target.paths[0], headers)
            else:
                data = target.bodies[0].replace("__UNIQUE__", f"check-{time.time_ns()}").encode()
                request = urllib.request.Request(
                    base_url + target.paths[0],
                    data=data,
                    method=target.method,
                    headers={**headers, "Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, body = response.status, response.read()
                except urllib.error.HTTPError as error:
                    status, body = error.code, error.read()
            if not 200 <= status < 300:
                raise RuntimeError(f"{target.label} answered {status}: {body[:800]!r}")
            log(f"   {target.label}: {status}, {len(body):,} bytes")


# -- the load --------------------------------------------------------------------------------


def measured_run(
    server: Gunicorn,
    config: StackConfig,
    target: Target,
    *,
    script: Path,
    directory: Path,
    args: argparse.Namespace,
    seconds: int,
) -> LoadResult:
    with CpuMeter(server, config) as meter:
        result = run_wrk(
            base_url=server.base_url,
            target=target,
            script=script,
            directory=directory,
            seconds=seconds,
            connections=args.connections,
            threads=args.wrk_threads,
        )
    if result.requests:
        python, postgres = meter.seconds("python"), meter.seconds("postgres")
        result.python_cpu_ms_per_request = 1000 * python / result.requests
        result.postgres_cpu_ms_per_request = 1000 * postgres / result.requests
        result.server_cpu_ms_per_request = 1000 * (python + postgres) / result.requests
    return result


def worker_rss_mb(server: Gunicorn) -> list[float]:
    """Resident memory of each gunicorn worker (VmRSS), in MB."""
    sizes = []
    for pid in server.worker_pids():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def manage_help_seconds(env: dict[str, str], repeats: int = 5) -> list[float]:
    """Wall time of `manage.py help` (a new interpreter each time, the server's settings)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(REPO / "manage.py"), "help"], env=env, cwd=REPO, capture_output=True, check=True
        )
        times.append(time.perf_counter() - started)
    return times


def result_key(pair_index: int, target: Target) -> str:
    return f"{pair_index}:{target.key}"


def drive(
    server: Gunicorn, config: StackConfig, pairs: list[Pair], args: argparse.Namespace, directory: Path
) -> list[dict[str, LoadResult]]:
    script = write_script(directory)
    if args.warmup:
        log(f"== warm-up: {args.warmup} s per endpoint (not measured)")
        for pair in pairs:
            for target in (pair.trivial, pair.measured):
                run_wrk(
                    base_url=server.base_url,
                    target=target,
                    script=script,
                    directory=directory,
                    seconds=args.warmup,
                    connections=args.connections,
                    threads=args.wrk_threads,
                )
                wait_until_idle(server, config)
    rounds: list[dict[str, LoadResult]] = []
    for number in range(1, args.rounds + 1):
        results: dict[str, LoadResult] = {}
        for index, pair in enumerate(pairs):
            for target in (pair.trivial, pair.measured):
                log(
                    f"== round {number}/{args.rounds}: {target.label}, {args.connections} connections, "
                    f"{args.duration} s"
                )
                result = measured_run(
                    server, config, target, script=script, directory=directory, args=args, seconds=args.duration
                )
                log(
                    f"   {result.throughput:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                    f"{result.non_2xx} non-2xx, {result.socket_errors} socket errors, "
                    f"server CPU {result.server_cpu_ms_per_request or 0:.1f} ms/request"
                )
                results[result_key(index, target)] = result  # a floor is measured again beside each pair
                settled = wait_until_idle(server, config)  # nothing of this run spills into the next one
                if settled >= 1.0:
                    log(f"   the server finished the requests left in flight {settled:.1f} s after the load stopped")
        rounds.append(results)
    return rounds


# -- report ----------------------------------------------------------------------------------


def machine() -> str:
    cpu = cpu_model()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    import redis
    from django.conf import settings

    redis_version = redis.Redis.from_url(settings.REDIS_URL).info().get("redis_version", "?")
    return (
        f"nproc = {os.cpu_count()} ({len(os.sched_getaffinity(0))} usable; {cpu}), code {code_version()}, Python "
        f"{platform.python_version()}, PostgreSQL {pg_version}, Redis {redis_version}, "
        f"{platform.system()} {platform.release()}"
    )


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' with uncommitted changes' if dirty else ''}"


def non_2xx_text(result: LoadResult) -> str:
    """The count of non-2xx answers, with the statuses when there are any."""
    if not result.non_2xx:
        return "0"
    detail = ", ".join(f"{status}: {n:,}" for status, n in sorted(result.statuses.items()) if not 200 <= status < 300)
    return f"{result.non_2xx:,} ({detail})"


def render(
    *,
    args: argparse.Namespace,
    pairs: list[Pair],
    rounds: list[dict[str, LoadResult]],
    facts: StoreFacts,
    build_note: str,
    where: str,
    load: tuple[float, float],
    profiles: list,
    verdicts: list[str],
    static_problem: str,
    autovacuum: str,
    startup: dict[str, list[float]],
) -> str:
    from bench.serving_profile import render_profile

    lines = ["# Serving benchmark", ""]
    lines += [
        f"The real stack: gunicorn ({args.workers} {args.worker_class} workers"
        + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
        + ", `retailsite.settings.production` via `bench/serving_settings.py`, which only moves STATIC_ROOT into "
        "the benchmark's cache; as the application role `retail_app` under row-level security), "
        "PostgreSQL and Redis on the same machine, driven by wrk with "
        f"{args.connections} connections for {args.duration} s per endpoint"
        + (f" in each of {args.rounds} rounds" if args.rounds > 1 else "")
        + f" after {args.warmup} s of warm-up. Each pair runs back to back on the same server, trivial endpoint "
        "first; after every run the next waits until the server has finished the requests left in flight (its "
        "workers and their PostgreSQL backends idle), so no run's tail is measured as the next one's. Store: "
        f"{facts.customers:,} customers ({facts.consenting:,} with personalization consent), {facts.products:,} "
        f"products ({facts.active_products:,} active), {facts.orders:,} orders, {facts.events:,} events; "
        f"active model version {facts.active_version} with {facts.precomputed_lists:,} precomputed customer lists.",
        "",
        f"- The API pair asks for a random customer of all {len(facts.customer_ids):,} per request "
        f"(`k=10&max_price={facts.max_price}`, the median active price, so about half the list is filtered out); "
        "whoami uses the same API key. The per-key rate limit is lifted for the run "
        f"(`API_RATE_LIMIT={BENCH_RATE_LIMIT}`): its counter still runs, but one key at this rate would get 429s.",
        f"- The page pair sends the session cookie of a random one of {len(facts.shopper_cookies):,} signed-in "
        "shoppers per request, to both pages. The platform home page `/` is the trivial template page (the base "
        "layout and a list of stores: one query); there is no smaller template page.",
        f"- The product, category and search pairs send the session cookie of a random one of "
        f"{len(facts.visitor_cookies):,} anonymous visitors whose first page view already created their session "
        "(the rest of a visit; a first view also writes the session row), to both pages. Product pages: a random "
        f"active product of {len(facts.product_pks):,}, or one of the same {WARM_PRODUCTS}; each view is recorded "
        "(buffered in Redis; no Celery worker runs during the benchmark, so the flush to PostgreSQL is not part of "
        "the figures). Category pages: a random category of the active products. Search: one of the words of the "
        "product names. Storefront pages' throughput target is 50% of the floor's, API reads' 70%.",
        f"- The event pairs POST one view per request, or {EVENT_BATCH_SIZE} per request to the batch endpoint, each "
        "with an `event_id` never sent before (so every event is stored, none skipped as a duplicate), against "
        "whoami with the same key; both are committed to PostgreSQL before the 201. Their figure is events per "
        f"second (target ≥ {EVENTS_PER_SECOND_TARGET:,} in batches) and zero errors; the latency ratio is reported "
        "only.",
        "- What a recommendations request does: one prepared round trip to PostgreSQL reads the customer and "
        "their consent, their precomputed list, what they bought (also since training) and the live state "
        "(active, price, category) of the list's products; names and category paths come from a per-process "
        "catalog snapshot checked against the store's catalog version every few seconds, the active model "
        "version and the running experiment from a per-process copy at most 2 seconds old. The server runs with "
        "`DATABASE_PREPARE_THRESHOLD` set (prepared statements allowed: no transaction pooler in between); "
        "each of those statements keeps its generic plan, so PostgreSQL plans it once per connection.",
        "- What a storefront home page does: the session, the store (its row kept in-process for 5 seconds), "
        "and one prepared round trip for the shopper (the fields the page shows) with their activity stamp "
        "(their latest event, order and follow, and the latest order of anyone they follow); the four "
        "sections, rendered, are kept per shopper for up to 30 minutes and used only while the model version,"
        " catalog version, consent and activity stamp are unchanged. A shopper's first visit (and the first "
        "after a purchase or follow) computes them with one more prepared round trip (their "
        "purchases, recent views and carts, precomputed list, what the people they follow bought, and the "
        "neighbour lists of the viewed and bought products, which then stay in the process for that model "
        "version); trending and popular lists and the products' live state are kept per process too, and a "
        "card's markup per product. The first visit after a view or add-to-cart keeps the other sections and "
        'computes "because you viewed" alone (one small read of the shopper\'s recent products). With '
        f"{len(facts.shopper_cookies):,} shoppers, most first visits fall in the warm-up and round 1; the event "
        "pairs give every shopper new views, so in later rounds about one home request in four is such a "
        "first visit after a view. The in-process profile below runs after the load, so it sees mostly kept "
        "sections.",
        "",
        "| endpoint | requests | req/s | p50 ms | p99 ms | max ms | non-2xx | socket errors | "
        "server CPU ms/request (Python + PostgreSQL) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for number, results in enumerate(rounds, start=1):
        for index, pair in enumerate(pairs):
            for target in (pair.trivial, pair.measured):
                r = results[result_key(index, target)]
                cpu = (
                    f"{r.server_cpu_ms_per_request:.1f} ({r.python_cpu_ms_per_request:.1f} + "
                    f"{r.postgres_cpu_ms_per_request:.1f})"
                    if r.server_cpu_ms_per_request is not None
                    else "?"
                )
                label = target.label + (f" — round {number}" if len(rounds) > 1 else "")
                lines.append(
                    f"| {label} | {r.requests:,} | {r.throughput:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
                    f"{r.max_ms:.0f} | {non_2xx_text(r)} | {r.socket_errors:,} | {cpu} |"
                )
    lines += [
        "",
        "| pair | p99 ratio (target ≤ 1.5) | throughput ratio (target) | errors (target 0) | "
        "server CPU ratio | targets |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += verdicts
    rss_start, rss_end, help_times = startup["rss_start"], startup["rss_end"], startup["help"]
    rss_met = bool(rss_start) and max(rss_start) <= RSS_TARGET_MB
    help_median = statistics.median(help_times)
    lines += [
        "",
        "| start-up | figure | target | |",
        "|---|---:|---:|---|",
        f"| web worker resident memory after start (max of {len(rss_start)} workers) | "
        f"{max(rss_start, default=0):.0f} MB | ≤ {RSS_TARGET_MB} MB | {'**met**' if rss_met else '**NOT met**'} |",
        f"| web worker resident memory after the load (max) | {max(rss_end, default=0):.0f} MB | — | |",
        f"| `manage.py help` wall time (median of {len(help_times)}) | {help_median:.2f} s | "
        f"< {HELP_SECONDS_TARGET:.0f} s | {'**met**' if help_median < HELP_SECONDS_TARGET else '**NOT met**'} |",
    ]
    lines += [
        "",
        "Latency is what wrk measures from the client (queueing in gunicorn's backlog included): with "
        f"{args.connections} connections and {args.workers} workers most of p50 is waiting for a free worker, so "
        "latency and throughput ratios follow the per-request cost. The server CPU column is that cost, read "
        "from /proc for the gunicorn workers and the PostgreSQL backends serving them (Redis, shared with "
        "other users of the machine, is left out); it does not depend on what else the machine runs, "
        "unlike the wall-clock columns. "
        f"Load average (1 min) during the run: {load[0]:.1f} at the start, {load[1]:.1f} at the end.",
        "",
    ]
    if static_problem:
        lines += [
            "Static files: `collectstatic` under `retailsite.settings.production` fails on this checkout "
            f'("{static_problem}"), so a production deployment cannot start as is. The server ran with '
            "`bench/serving_settings.py`: production settings with the same hashed manifest storage, except that "
            "JavaScript source-map comments are not rewritten. Pages resolve static names through the manifest "
            "exactly as in production.",
            "",
        ]
    lines += [
        "The database is vacuumed and analyzed after it is built, before the load (this PostgreSQL server runs "
        f"with autovacuum {autovacuum}; in production autovacuum keeps the planner statistics). Without "
        "statistics the planner picks the tenant_id index over primary keys for look-ups by id, which made "
        "every list here several times slower.",
        "",
    ]
    lines += [
        f"Building the store (`seed_demo` loads through the importer, `train` runs the recommender "
        f"training): {build_note}",
        "",
    ]
    if profiles:
        lines += [
            "## Where the time goes",
            "",
            "Each endpoint replayed in-process through Django's test client (whole middleware stack, no "
            "network, one request at a time), same settings, role and data:",
            "",
            "| endpoint | Python CPU ms/request | queries/request | wall ms (median) |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {p.label} | {p.cpu_ms_per_request:.1f} | {p.queries_per_request:.1f} | {p.median_ms:.1f} |"
            for p in profiles
        ]
        lines.append("")
        for profile in profiles:
            lines += render_profile(profile)
    lines += [f"Machine: {where}.", "", f"Reproduce: `{command_line(args)}`", ""]
    return "\n".join(lines)


def command_line(args: argparse.Namespace) -> str:
    defaults = {
        "customers": 50_000,
        "products": 20_000,
        "days": 365,
        "seed": 1,
        "duration": 30,
        "warmup": 5,
        "rounds": 3,
        "connections": 32,
        "wrk_threads": 2,
        "workers": 2 * len(os.sched_getaffinity(0)) + 1,
        "worker_class": "sync",
        "threads": 4,
        "shoppers": 2000,
        "profile_requests": 200,
    }
    extra = [
        f"--{name.replace('_', '-')} {getattr(args, name)}"
        for name, value in defaults.items()
        if getattr(args, name) != value
    ]
    return f"make bench-serving BENCH_ARGS='{' '.join(extra)}'" if extra else "make bench-serving"


def _ratio(measured: float, floor: float) -> float:
    """measured / floor; a floor that answered nothing (an overloaded machine) makes no ratio: NaN, not met."""
    return measured / floor if floor else float("nan")


def verdict_rows(pairs: list[Pair], rounds: list[dict[str, LoadResult]]) -> tuple[list[str], bool]:
    rows: list[str] = []
    all_met = True
    for index, pair in enumerate(pairs):
        t, m = result_key(index, pair.trivial), result_key(index, pair.measured)
        p99_ratio = statistics.median(_ratio(r[m].p99_ms, r[t].p99_ms) for r in rounds)
        throughput_ratio = statistics.median(_ratio(r[m].throughput, r[t].throughput) for r in rounds)
        errors = sum(r[key].errors for r in rounds for key in (t, m))
        cpu_ratios = [
            r[m].server_cpu_ms_per_request / r[t].server_cpu_ms_per_request
            for r in rounds
            if r[m].server_cpu_ms_per_request and r[t].server_cpu_ms_per_request
        ]
        cpu = f"{statistics.median(cpu_ratios):.2f}x" if cpu_ratios else "?"
        if pair.kind == "events":
            per_request = pair.measured.events_per_request
            events_per_second = statistics.median(r[m].throughput * per_request for r in rounds)
            checks = [("errors", errors == 0)]
            if per_request > 1:
                checks.append(
                    (f"≥ {EVENTS_PER_SECOND_TARGET:,} events/s", events_per_second >= EVENTS_PER_SECOND_TARGET)
                )
            target_text = f"{events_per_second:,.0f} events/s"
        else:
            checks = [
                ("p99", p99_ratio <= P99_RATIO_TARGET),
                (f"throughput ≥ {pair.throughput_target:.0%}", throughput_ratio >= pair.throughput_target),
                ("errors", errors == 0),
            ]
            target_text = f"≥ {pair.throughput_target:.0%}"
            if pair.measured.lists_per_request:
                # Judged per request like every API read; what a partner gets out of it is lists per second.
                lists_per_second = statistics.median(r[m].throughput * pair.measured.lists_per_request for r in rounds)
                target_text += f"; {lists_per_second:,.0f} customer lists/s"
        met = all(ok for _, ok in checks)
        all_met &= met
        misses = [what for what, ok in checks if not ok]
        rows.append(
            f"| {pair.name} | {p99_ratio:.2f}x | {throughput_ratio:.0%} ({target_text}) | {errors:,} | {cpu} | "
            + ("**met**" if met else f"**NOT met** ({', '.join(misses)})")
            + " |"
        )
    return rows, all_met


def _make_home_sections_cold() -> None:
    """Every home page request looks its sections up under a key never used before: a first visit each time."""
    import itertools

    from retailsite.storefront import sections

    counter = itertools.count()
    original = sections.customer_cache_key

    def cold_key(namespace: str, tenant_id: int, **kw: Any) -> str:
        key = original(namespace, tenant_id, **kw)
        return f"{key}:cold{next(counter)}" if namespace == sections.HOME_CACHE_NAMESPACE else key

    sections.customer_cache_key = cold_key


def print_quick_profiles(pairs: list[Pair], args: argparse.Namespace) -> None:
    """The in-process replay alone, as a table of Python and PostgreSQL CPU and queries per request."""
    from bench.serving_profile import profile_endpoint

    if args.cold_home:
        _make_home_sections_cold()
    rows = []
    for pair in pairs:
        if pair.measured.method != "GET":
            continue  # the in-process replay sends GETs only
        profiles = []
        for target in (pair.trivial, pair.measured):
            log(f"== profiling {target.label} in-process ({args.profile_requests} requests)")
            profiles.append(
                profile_endpoint(
                    key=target.key,
                    label=target.label,
                    paths=target.paths,
                    cookies=target.cookies,
                    authorization=target.authorization,
                    requests=args.profile_requests,
                    seed=args.seed,
                    with_cprofile=args.cprofile and target is pair.measured,
                )
            )
            if args.cprofile and target is pair.measured:
                from bench.serving_profile import render_profile

                print("\n".join(render_profile(profiles[-1])))
        for p in profiles:
            rows.append(
                f"| {p.label} | {p.cpu_ms_per_request:.2f} | {p.postgres_cpu_ms_per_request:.2f} | "
                f"{p.queries_per_request:.1f} | {p.median_ms:.1f} |"
            )
        total = [p.cpu_ms_per_request + p.postgres_cpu_ms_per_request for p in profiles]
        rows.append(f"| **{pair.name}: CPU ratio** | | | | **{total[1] / total[0]:.2f}x** |")
    print(
        "\n".join(
            [
                "| endpoint | Python CPU ms | PostgreSQL CPU ms | queries | wall ms (median) |",
                "|---|---:|---:|---:|---:|",
                *rows,
            ]
        )
    )
    print(
        f"\nReproduce: .venv/bin/python -m bench.bench_serving --reuse-db --keep-db --profile-only "
        f"--profile-requests {args.profile_requests} --shoppers {args.shoppers}"
    )


# -- main ------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    if wrk_path() is None:
        log("wrk is not installed. On Debian/Ubuntu: apt-get update && apt-get install -y wrk")
        return 2
    config = StackConfig(
        admin_url=os.environ.get("BENCH_SERVING_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        database=os.environ.get("BENCH_SERVING_DATABASE", "retailsite_bench_serving"),
        redis_url=os.environ.get("BENCH_SERVING_REDIS_URL", "redis://127.0.0.1:6379/9"),
    )
    keys = load_secrets(config)
    # Only a database whose build finished (its timings are recorded) is reused.
    reuse = (
        args.reuse_db
        and keys is not None
        and keys.get("data") == data_parameters(args)
        and "build" in keys
        and database_exists(config)
    )
    if args.reuse_db and not reuse:
        log("No kept database built with these options: building a fresh one.")
    if not reuse:
        keys = new_secrets(data_parameters(args))
        save_secrets(config, keys)
    env = server_environment(config, keys, rate_limit=BENCH_RATE_LIMIT)
    server: Gunicorn | None = None
    try:
        if not reuse:
            build = build_store(
                config,
                env,
                customers=args.customers,
                products=args.products,
                days=args.days,
                seed=args.seed,
                tenant=TENANT,
            )
            log("== VACUUM (ANALYZE): planner statistics, as autovacuum keeps them in production")
            build["vacuum analyze"] = vacuum_analyze(config)
            keys.update(build=build, built_at=time.strftime("%Y-%m-%d %H:%M"))
            save_secrets(config, keys)
        else:
            log(f"== reusing database {config.database}, built {keys.get('built_at', '?')}")
            # The kept store follows the code: roles and migrations brought up to date, the recommender retrained
            # (the served lists are the current code's); the seeded data is what is reused.
            log("== create_db_roles, migrate (as the owner), train --only recommendations (as the app role)")
            manage(["create_db_roles"], env, database_url=config.database_url(None))
            manage(["migrate", "--verbosity", "0"], env, database_url=config.database_url(config.owner_role))
            manage(
                ["train", "--tenant", TENANT, "--only", "recommendations"],
                env,
                database_url=config.database_url(config.app_role),
            )
            log("== VACUUM (ANALYZE): planner statistics, as autovacuum keeps them in production")
            vacuum_analyze(config)
        build_note = (
            (
                "Built in this run: "
                if not reuse
                else f"Database reused (--reuse-db), built {keys.get('built_at', '?')} with the same options: "
            )
            + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in keys["build"].items())
            + "."
        )
        autovacuum = autovacuum_setting(config)
        log("== collectstatic (production settings use the manifest of hashed static files)")
        static_problem = collect_static(env)
        api_key = api_key_create(config, env, tenant=TENANT)
        flush_redis(config.redis_url)
        setup_django(env)
        log(f"== preparing requests: customer ids, {args.shoppers:,} signed-in shopper sessions")
        facts = store_facts(shoppers=args.shoppers, seed=args.seed)
        if not facts.active_version:
            raise RuntimeError("The store has no active recommendation model; training did not activate one.")
        pairs = targets(facts, api_key)
        if args.only:
            prefixes = tuple(part.strip().lower() for part in args.only.split(",") if part.strip())
            pairs = [pair for pair in pairs if pair.name.lower().startswith(prefixes)]
        from django.db import connections

        connections.close_all()
        if args.profile_only:
            print_quick_profiles(pairs, args)
            return 0

        with tempfile.TemporaryDirectory(prefix="retailsite-bench-serving-") as tmp:
            directory = Path(tmp)
            log(f"== gunicorn: {args.workers} {args.worker_class} workers on 127.0.0.1:{args.port}")
            server = Gunicorn.start(
                env,
                port=args.port,
                workers=args.workers,
                worker_class=args.worker_class,
                threads=args.threads,
                log_path=directory / "gunicorn.log",
            )
            startup = {"rss_start": worker_rss_mb(server)}
            check_endpoints(server.base_url, pairs)
            load_start = os.getloadavg()[0]
            rounds = drive(server, config, pairs, args, directory)
            startup["rss_end"] = worker_rss_mb(server)
            server.stop()
            server_log = (directory / "gunicorn.log").read_text()
            if "Traceback" in server_log or "[CRITICAL]" in server_log:
                log("gunicorn logged errors:\n" + server_log[-4000:])
        load_end = os.getloadavg()[0]
        log("== manage.py help, 5 times")
        startup["help"] = manage_help_seconds(env)

        profiles = []
        if args.profile_requests:
            from bench.serving_profile import profile_endpoint

            seen: set[str] = set()
            for pair in pairs:
                for target in (pair.trivial, pair.measured):
                    if target.method != "GET" or target.key in seen:
                        continue  # the in-process replay sends GETs; each floor once
                    seen.add(target.key)
                    log(f"== profiling {target.label} in-process ({args.profile_requests} requests)")
                    profiles.append(
                        profile_endpoint(
                            key=target.key,
                            label=target.label,
                            paths=target.paths,
                            cookies=target.cookies,
                            authorization=target.authorization,
                            requests=args.profile_requests,
                            seed=args.seed,
                            with_cprofile=target is pair.measured,
                        )
                    )
        verdicts, all_met = verdict_rows(pairs, rounds)
        text = render(
            args=args,
            pairs=pairs,
            rounds=rounds,
            facts=facts,
            where=machine(),
            load=(load_start, load_end),
            profiles=profiles,
            verdicts=verdicts,
            static_problem=static_problem,
            autovacuum=autovacuum,
            build_note=build_note,
            startup=startup,
        )
        print(text)
        if not args.no_doc:
            (REPO / "docs" / "bench-serving.md").write_text(text)
            log("Wrote docs/bench-serving.md")
        log("All targets met." if all_met else "Targets NOT met: see the table.")
        return 0
    finally:
        if server is not None:
            server.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep_db:
            try:
                drop_database(config)
                log(f"Dropped {config.database} (keep it with --keep-db).")
            except Exception as error:
                log(f"could not drop {config.database}: {error}")


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # runs the clean-up in main(): gunicorn stopped, database dropped


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.perf_counter()
    code = main()
    log(f"bench-serving finished in {time.perf_counter() - started:.0f} s")
    sys.exit(code)
