"""End-to-end benchmark of the demand forecasting pipeline: 10,000 weekly products read from PostgreSQL, forecast,
and written back as a versioned run.

    .venv/bin/python -m bench.bench_forecasting_pipeline                   # 10,000 products, 3 years of weeks
    .venv/bin/python -m bench.bench_forecasting_pipeline --products 1000 --no-doc   # a quicker run

Creates a fresh PostgreSQL database (`retailsite_bench_forecasting`, as postgres@127.0.0.1 unless
BENCH_FORECASTING_ADMIN_URL says otherwise), migrates it, and seeds a synthetic store through the one import path
(`import_store_data`): a two-level category tree, products with weekly demand over three years — regular products
with trend, yearly seasonality and price promotions (with a price response), intermittent products, products
launched in the last months, discontinued products and never-sold ones — as one order line per product and week.

Then it runs `forecasting.forecast_runs.forecast_run_create` in a separate process, as the application role under
row-level security (as a Celery worker or `manage.py train` does): read and aggregate the order history in
PostgreSQL, forecast every product, category and the store total with the engine (rolling-origin backtests,
quantiles, elasticities), and bulk-write the run. It reports wall time per phase, CPU time (the pipeline process,
its engine worker processes and its PostgreSQL backend), and peak memory, then writes
docs/bench-forecasting-pipeline.md. Target (issue 5): 10,000 weekly products end to end in under 10 minutes on 2
cores.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread per process: the engine parallelizes over series with processes.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DB_NAME = "retailsite_bench_forecasting"
ADMIN_URL = os.environ.get("BENCH_FORECASTING_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TENANT_SLUG = "bench"
TARGET_SECONDS = 600.0
DEPARTMENTS = ("Home", "Garden", "Kitchen", "Sport", "Toys", "Books", "Beauty", "Tech", "Pets", "Food")
RANGES_PER_DEPARTMENT = 20
CUSTOMERS = 1_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000, help="products (default 10,000)")
    parser.add_argument("--weeks", type=int, default=156, help="weeks of history (default 156)")
    parser.add_argument("--horizon", type=int, default=12, help="forecast horizon in weeks (default 12)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeats", type=int, default=1, help="pipeline runs on the same store; median reported")
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/bench-forecasting-pipeline.md")
    parser.add_argument("--run-pipeline", action="store_true", help=argparse.SUPPRESS)  # the measured child
    return parser.parse_args()


# ---------------------------------------------------------------------------------------------------- data


def weekly_demand(products: int, weeks: int, seed: int) -> dict[str, np.ndarray]:
    """Units and average unit price per product and week, plus each product's kind, category and activity."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    week_of_year = t % 52
    december = np.exp(-0.5 * ((week_of_year - 50) / 1.5) ** 2)
    leaf = rng.integers(0, len(DEPARTMENTS) * RANGES_PER_DEPARTMENT, products)
    department_phase = rng.uniform(0, 2 * np.pi, len(DEPARTMENTS))
    kind = rng.choice(
        ["regular", "intermittent", "new", "discontinued", "never_sold"], products, p=[0.55, 0.33, 0.06, 0.04, 0.02]
    )
    base_price = np.round(np.exp(rng.uniform(np.log(3.0), np.log(120.0), products)), 2)
    elasticity = rng.uniform(0.8, 2.5, products)
    promo = rng.random((products, weeks)) < 0.08
    price = base_price[:, None] * np.where(promo, 0.8, 1.0)
    units = np.zeros((products, weeks))
    for p in range(products):
        if kind[p] == "never_sold":
            continue
        if kind[p] == "intermittent":
            orders = rng.random(weeks) < rng.uniform(0.05, 0.45)
            units[p] = orders * (1 + rng.poisson(rng.uniform(0.0, 5.0), weeks))
            continue
        level = float(np.exp(rng.uniform(np.log(6.0), np.log(300.0))))
        amplitude = rng.uniform(0.05, 0.45)
        phase = department_phase[leaf[p] // RANGES_PER_DEPARTMENT] + rng.normal(0, 0.3)
        growth = rng.uniform(-0.003, 0.005)
        expected = level * np.exp(growth * t) * (1 + amplitude * np.sin(2 * np.pi * t / 52 + phase))
        expected *= (1 + rng.uniform(0, 1) * december) * (price[p] / base_price[p]) ** -elasticity[p]
        units[p] = rng.poisson(expected * rng.gamma(25.0, 1 / 25.0, weeks))
        if kind[p] == "new":
            units[p, : weeks - int(rng.integers(1, 30))] = 0
        elif kind[p] == "discontinued":
            units[p, weeks - int(rng.integers(10, 40)) :] = 0
    return {"units": units, "price": price, "leaf": leaf, "kind": kind, "base_price": base_price}


def write_store(directory: Path, data: dict[str, np.ndarray], last_sunday: dt.date) -> dict[str, Path]:
    """The import CSVs: one order per day (noon UTC), one line per product and week on a random day of it."""
    rng = np.random.default_rng(0)
    units, price, leaf, kind = data["units"], data["price"], data["leaf"], data["kind"]
    products, weeks = units.shape
    first_monday = last_sunday - dt.timedelta(days=7 * weeks - 1)
    paths = {name: directory / f"{name}.csv" for name in ("customers", "products", "orders")}
    with paths["customers"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "gender", "birth_year", "city"])
        for n in range(CUSTOMERS):
            writer.writerow([f"C{n:05d}", "FMX"[n % 3], 1950 + n % 50, "Lyon"])
    with paths["products"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["product_id", "name", "category", "price", "active"])
        for p in range(products):
            department = DEPARTMENTS[leaf[p] // RANGES_PER_DEPARTMENT]
            writer.writerow(
                [
                    f"P{p:06d}",
                    f"{department} item {p}",
                    f"{department} > Range {leaf[p] % RANGES_PER_DEPARTMENT:02d}",
                    f"{data['base_price'][p]:.2f}",
                    "false" if kind[p] == "discontinued" else "true",
                ]
            )
    day_of_line = rng.integers(0, 7, units.shape)
    customer_of_day = rng.integers(0, CUSTOMERS, weeks * 7)
    product_index, week_index = np.nonzero(units > 0)
    days = week_index * 7 + day_of_line[product_index, week_index]
    order = np.argsort(days, kind="stable")
    with paths["orders"].open("w", newline="") as handle:
        handle.write("order_id,customer_id,product_id,quantity,ordered_at,unit_price\n")
        stamps = [f"{first_monday + dt.timedelta(days=int(d))}T12:00:00Z" for d in range(weeks * 7)]
        rows = []
        for i in order.tolist():
            p, w, d = int(product_index[i]), int(week_index[i]), int(days[i])
            rows.append(
                f"O{d:05d},C{customer_of_day[d]:05d},P{p:06d},{int(units[p, w])},{stamps[d]},{price[p, w]:.2f}\n"
            )
            if len(rows) >= 100_000:
                handle.writelines(rows)
                rows = []
        handle.writelines(rows)
    return paths


# ---------------------------------------------------------------------------------------------------- database


def create_database() -> None:
    from bench.stack import recreate_database

    recreate_database(ADMIN_URL, DB_NAME)


def drop_database() -> None:
    from django.db import connections

    from bench.stack import drop_database as drop

    connections.close_all()
    drop(ADMIN_URL, DB_NAME)


def database_url() -> str:
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{DB_NAME}"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retailsite.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "True")  # a development run: keys derived from the dev SECRET_KEY
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def seed(args: argparse.Namespace, directory: Path, last_sunday: dt.date) -> dict[str, int]:
    """Fresh database, migrated; roles and row-level security; the store imported as the application role."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections

    from retailsite.commerce.importers import import_store_data
    from retailsite.tenancy.rls import apply_rls, create_roles
    from retailsite.tenancy.services import tenant_create, tenant_settings_set

    connections.close_all()
    connection.settings_dict["SET_ROLE"] = ""
    create_database()
    call_command("migrate", verbosity=0)
    create_roles(
        owner_role=settings.DB_OWNER_ROLE,
        app_role=settings.DB_APP_ROLE,
        app_password=None,
        owner_password=None,
        database=connection.settings_dict["NAME"],
    )
    apply_rls()
    connection.settings_dict["SET_ROLE"] = settings.DB_APP_ROLE
    connection.close()

    log(f"Generating {args.products:,} products x {args.weeks} weeks ...")
    data = weekly_demand(args.products, args.weeks, args.seed)
    files = write_store(directory, data, last_sunday)
    tenant = tenant_create(slug=TENANT_SLUG, name="Forecasting benchmark", currency="EUR", timezone="Europe/Paris")
    tenant_settings_set(tenant=tenant, assignments=["forecast_frequency=W", f"forecast_horizon={args.horizon}"])
    last = [0.0]

    def progress(phase: str, done: int, total: int | None) -> None:
        if time.perf_counter() - last[0] > 10:
            last[0] = time.perf_counter()
            log(f"  {phase}: {done:,}" + (f"/{total:,}" if total else ""))

    started = time.perf_counter()
    log("Importing the store with import_store_data ...")
    report = import_store_data(tenant=tenant, files=files, progress=progress)
    log(f"  imported in {time.perf_counter() - started:.0f} s")
    kinds = dict(zip(*np.unique(data["kind"], return_counts=True), strict=True))
    return {"order_lines": int(report["orders"].rows_read), **{str(k): int(v) for k, v in kinds.items()}}


# ---------------------------------------------------------------------------------------------------- measuring


def postgres_backend_cpu(backend_pid: int) -> float | None:
    """CPU seconds of this connection's PostgreSQL backend and its parallel workers (local server, /proc)."""
    proc = Path("/proc")
    if not (proc / str(backend_pid)).exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if entry.name != str(backend_pid) and f"for PID {backend_pid}" not in cmdline:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def run_pipeline() -> None:
    """The measured child process: one forecast run, as the application role; prints a JSON line of figures."""
    os.environ["DATABASE_SET_ROLE"] = os.environ.get("DATABASE_APP_ROLE", "retail_app")
    setup_django()
    from django.db import connection

    from forecasting.forecast_runs import engine_processes, forecast_run_create
    from retailsite.tenancy.context import tenant_context
    from retailsite.tenancy.models import Tenant

    tenant = Tenant.objects.get(slug=TENANT_SLUG)
    marks: dict[str, float] = {}
    last = [0.0]

    def progress(message: str, done: int | None = None, total: int | None = None) -> None:
        now = time.perf_counter()
        marks.setdefault(message, now)
        if done is None or now - last[0] > 15 or done == total:
            last[0] = now
            log(f"  {message}" + (f": {done:,}/{total:,} series" if total else ""))

    with tenant_context(tenant):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        postgres_before = postgres_backend_cpu(backend) or 0.0
        started = time.perf_counter()
        run = forecast_run_create(tenant=tenant, progress=progress)
        seconds = time.perf_counter() - started
        postgres_after = postgres_backend_cpu(backend)
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "phases": run.details.get("seconds", {}),
                "routes": run.details.get("routes", {}),
                "global_model": run.details.get("global_model", {}),
                "n_series": run.n_series,
                "products": run.details.get("products"),
                "categories": run.details.get("categories"),
                "history_periods": run.details.get("history_periods"),
                "n_jobs": engine_processes(),
                "cpu_python": own.ru_utime + own.ru_stime,
                "cpu_workers": workers.ru_utime + workers.ru_stime,
                "cpu_postgres": None if postgres_after is None else postgres_after - postgres_before,
                "peak_rss_mb": own.ru_maxrss / 1024,
                "peak_worker_rss_mb": workers.ru_maxrss / 1024,
                "metrics": run.metrics.get("product", {}),
            }
        )
    )


def measured_run() -> dict:
    environment = {**os.environ, "DATABASE_URL": database_url()}
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_forecasting_pipeline", "--run-pipeline"],
        env=environment,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def machine() -> str:
    from bench.machine import cpu_model

    cpu = cpu_model()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores ({cpu}), Python {platform.python_version()}, PostgreSQL {version}"


def render(
    args: argparse.Namespace, store: dict[str, int], runs: list[dict], where: str, load: tuple[float, float]
) -> str:
    median = sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]
    phases = median["phases"]
    cpu_total = median["cpu_python"] + median["cpu_workers"] + (median["cpu_postgres"] or 0.0)
    verdict = "met" if median["seconds"] < TARGET_SECONDS else "NOT met"
    routes = median["routes"].get("product", {})
    forecast, baseline = median["metrics"].get("forecast", {}), median["metrics"].get("baseline", {})
    extra = [f"--products {args.products}"] if args.products != 10_000 else []
    extra += [f"--weeks {args.weeks}"] if args.weeks != 156 else []
    extra += [f"--repeats {args.repeats}"] if args.repeats != 1 else []
    command = " ".join([".venv/bin/python -m bench.bench_forecasting_pipeline", *extra])

    def figure(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    def cpu(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"

    lines = [
        "# Demand forecasting pipeline benchmark (end to end)",
        "",
        f"A synthetic store of {args.products:,} products ({store.get('regular', 0):,} regular seasonal with "
        f"price promotions, {store.get('intermittent', 0):,} intermittent, {store.get('new', 0):,} launched in the "
        f"last 30 weeks, {store.get('discontinued', 0):,} discontinued, {store.get('never_sold', 0):,} never sold) "
        f"in {len(DEPARTMENTS) * RANGES_PER_DEPARTMENT} categories under {len(DEPARTMENTS)} departments, "
        f"{args.weeks} weeks of history as {store['order_lines']:,} order lines, imported into a fresh PostgreSQL "
        "database. One run of `forecasting.forecast_runs.forecast_run_create` in its own process, as the application "
        "role under row-level security: read and aggregate the history per local week in PostgreSQL, forecast every "
        f"product, category and the store total {args.horizon} weeks ahead (rolling-origin backtests, P10/P50/P90, "
        "seasonal naive beside, elasticities), bulk-write the run.",
        "",
        "| phase | wall s |",
        "|---|---:|",
        f"| read and aggregate the order history (SQL) | {phases.get('read', 0):.1f} |",
        f"| fit the store's global model (gradient boosting, twice) | {phases.get('global_model', 0):.1f} |",
        f"| forecast {median['n_series']:,} series (engine, n_jobs={median['n_jobs']}) | "
        f"{phases.get('forecast', 0):.1f} |",
        f"| build and bulk-write the rows, activate the run | {phases.get('write', 0):.1f} |",
        f"| **end to end** | **{median['seconds']:.1f}** ({median['seconds'] / 60:.2f} min) |",
        "",
        "| resource | value |",
        "|---|---:|",
        f"| CPU s: pipeline process | {median['cpu_python']:.1f} |",
        f"| CPU s: engine worker processes | {median['cpu_workers']:.1f} |",
        f"| CPU s: PostgreSQL backend | {cpu(median['cpu_postgres'])} |",
        f"| CPU s: total | {cpu_total:.1f} |",
        f"| peak memory, pipeline process | {median['peak_rss_mb']:.0f} MB |",
        f"| peak memory, largest engine worker | {median['peak_worker_rss_mb']:.0f} MB |",
        "",
        f"Series: {median['products']:,} products (routes: "
        + ", ".join(f"{name} {count:,}" for name, count in sorted(routes.items()))
        + f"), {median['categories']} categories, 1 store total; {median['history_periods']} weeks of history. "
        f"Global model: compared with the local models on {median['global_model'].get('compared', 0):,} products' "
        f"backtests, served on {median['global_model'].get('served', 0):,} (where it erred less).",
        f"Product backtests (rolling origin, out of sample): median MASE {figure(forecast.get('median_mase'))} vs "
        f"seasonal naive {figure(baseline.get('median_mase'))}; P10-P90 coverage "
        f"{figure(forecast.get('interval_coverage'))}; actuals below P90 {figure(forecast.get('share_below_p90'))}.",
        "",
        f"Target: {args.products:,} weekly products end to end in under {TARGET_SECONDS / 60:.0f} minutes on 2 cores — "
        f"**{verdict}** by wall time"
        + (
            f" (median of {len(runs)} runs: " + ", ".join(f"{r['seconds']:.0f}" for r in runs) + " s)"
            if len(runs) > 1
            else ""
        )
        + ".",
        "",
        "Wall time depends on what else the machine runs; the CPU rows are the work the pipeline itself did "
        "(the engine's worker processes run two at a time beside the pipeline process, which waits for them). "
        f"Load average: {load[0]:.1f} at the start of the measured run, {load[1]:.1f} at its end.",
        "",
        f"Machine: {where}.",
        "",
        f"Reproduce: `{command}` (database `{DB_NAME}`, generated data in a temporary directory).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    if args.run_pipeline:
        run_pipeline()
        return
    directory = Path(tempfile.mkdtemp(prefix="retailsite-bench-forecasting-"))
    today = dt.date.today()
    last_sunday = today - dt.timedelta(days=today.weekday() + 1)
    try:
        setup_django()
        store = seed(args, directory, last_sunday)
        runs = []
        load_start = os.getloadavg()[0]
        for repeat in range(args.repeats):
            log(f"Pipeline run {repeat + 1} of {args.repeats} ...")
            runs.append(measured_run())
            log(f"  {runs[-1]['seconds']:.1f} s end to end; phases {runs[-1]['phases']}")
        text = render(args, store, runs, machine(), (load_start, os.getloadavg()[0]))
        print(text)
        if not args.no_doc:
            (REPO / "docs" / "bench-forecasting-pipeline.md").write_text(text)
            log("Wrote docs/bench-forecasting-pipeline.md")
        log(f"median {statistics.median(r['seconds'] for r in runs):.1f} s")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if not args.keep_db and "django" in sys.modules:
            try:
                drop_database()
            except Exception as error:
                log(f"could not drop {DB_NAME}: {error}")


if __name__ == "__main__":
    main()
