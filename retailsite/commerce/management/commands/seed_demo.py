"""manage.py seed_demo [--tenant demo] [--customers N] [--products N] [--days N] [--seed S] [--end-date D]
[--with-staff]

Creates the demo tenant if missing, generates a realistic store (retailsite.commerce.demo) and loads it
through the one import path, `import_store_data`, exactly as a store's own CSV files would be loaded; then runs
the demo steps the apps registered (`retailsite.commerce.demo_steps`: a running experiment, the widget's key).
Running it again for the same tenant and seed changes nothing: the import is an upsert by external ids,
and the end of the history defaults to the end of the data already loaded.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max
from django.utils import timezone

from retailsite.commerce.demo import (
    DEFAULT_CUSTOMERS,
    DEFAULT_DAYS,
    DEFAULT_PRODUCTS,
    DEFAULT_SEED,
    generate_store,
    write_csvs,
)
from retailsite.commerce.demo_steps import demo_steps_run
from retailsite.commerce.importers import ImportFailed, import_store_data, kind_names
from retailsite.commerce.management.commands.import_data import ProgressDisplay
from retailsite.commerce.models import Customer, Event, Follow, Order, OrderLine, Product
from retailsite.encryption.crypto import encryption_keys_require
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Role, Tenant
from retailsite.tenancy.services import TenantError, membership_set, tenant_create

DEMO_TENANT_NAME = "Demo Store"
DEMO_STAFF = (("demo-owner", Role.OWNER), ("demo-analyst", Role.ANALYST))
DEMO_PASSWORD = "demo-password-123"  # a published demo login, for the demo store only
# The generator's files; "stock" is inventory's import kind, loaded when that app has registered it.
IMPORTED_KINDS = ("customers", "products", "orders", "events", "social", "stock")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError
    return value


class Command(BaseCommand):
    help = "Create or refresh a realistic demo store (customers, catalog, orders, events, social graph)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="demo", metavar="SLUG", help="store slug (default: demo)")
        parser.add_argument("--customers", type=_positive, default=DEFAULT_CUSTOMERS)
        parser.add_argument("--products", type=_positive, default=DEFAULT_PRODUCTS)
        parser.add_argument("--days", type=_positive, default=DEFAULT_DAYS, help="days of history")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--end-date",
            type=date.fromisoformat,
            default=None,
            metavar="YYYY-MM-DD",
            help="last day of history (default: the last order day already loaded for this tenant, else yesterday)",
        )
        parser.add_argument(
            "--with-staff",
            action="store_true",
            help=f"create staff logins {', '.join(name for name, _ in DEMO_STAFF)} (password {DEMO_PASSWORD})",
        )
        parser.add_argument("--no-progress", action="store_true", help="do not show progress")
        parser.add_argument(
            "--write-csv",
            metavar="DIR",
            default=None,
            help="only write the store as import_data CSV files into DIR (nothing is imported)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 7:
            raise CommandError("--days must be at least 7")
        if options["write_csv"]:
            self._write_csv(options)
            return
        try:
            encryption_keys_require()
        except ImproperlyConfigured as error:
            raise CommandError(f"{error} (docs/privacy.md, 'Keys'); nothing was written.") from None
        tenant = self._tenant(options["tenant"])
        end_date, reused = self._end_date(tenant, options["end_date"])
        self.stdout.write(
            f"Generating {options['customers']:,} customers, {options['products']:,} products and "
            f"{options['days']} days of history ending {end_date.isoformat()}"
            f"{' (the end of the data already loaded)' if reused else ''}, seed {options['seed']} ..."
        )
        started = time.perf_counter()
        store = generate_store(
            customers=options["customers"],
            products=options["products"],
            days=options["days"],
            seed=options["seed"],
            end_date=end_date,
        )
        generated = store.summary()
        self.stdout.write(
            f"  generated in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in generated.items())
        )

        show_progress = not options["no_progress"] and options["verbosity"] > 0
        display = ProgressDisplay(sys.stderr, interactive=sys.stderr.isatty()) if show_progress else None
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="seed-demo-") as directory:
            paths = write_csvs(store, directory)
            self.stdout.write(f"Importing into {tenant.slug!r} through import_store_data ...")
            try:
                installed = set(kind_names())
                report = import_store_data(
                    tenant=tenant,
                    files={kind: paths[kind] for kind in IMPORTED_KINDS if kind in installed},
                    progress=display,
                )
            except ImportFailed as failure:
                self.stderr.write(failure.describe())
                raise CommandError(f"The demo store could not be imported: {failure.summary()}") from None
            finally:
                if display is not None:
                    display.close()
        for line in report.summary_lines():
            self.stdout.write(f"  {line}")
        self.stdout.write(f"  imported in {time.perf_counter() - started:.1f} s")

        # What the apps add to the store (a running experiment, the widget's key), registered in their ready().
        for line in demo_steps_run(tenant=tenant, seed=options["seed"]):
            self.stdout.write(f"  {line}")

        if options["with_staff"]:
            for username, role in DEMO_STAFF:
                self._staff_user(tenant, username, role)
                self.stdout.write(f"  staff login {username} / {DEMO_PASSWORD} ({role})")
        self._summary(tenant)

    def _write_csv(self, options: dict[str, Any]) -> None:
        end_date = options["end_date"] or timezone.now().date() - timedelta(days=1)
        store = generate_store(
            customers=options["customers"],
            products=options["products"],
            days=options["days"],
            seed=options["seed"],
            end_date=end_date,
        )
        try:
            paths = write_csvs(store, options["write_csv"])
        except OSError as error:
            raise CommandError(f"Cannot write the CSV files into {options['write_csv']}: {error}") from None
        for kind in IMPORTED_KINDS:
            self.stdout.write(f"  {paths[kind]}")
        flags = " ".join(f"--{kind} {paths[kind]}" for kind in IMPORTED_KINDS)
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(IMPORTED_KINDS)} files. Load them with:"))
        self.stdout.write(f"  ./manage import_data --tenant SLUG {flags}")

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is not None:
            return tenant
        try:
            tenant = tenant_create(slug=slug, name=DEMO_TENANT_NAME)
        except TenantError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Created tenant {tenant.slug} ({tenant.name}).")
        return tenant

    def _end_date(self, tenant: Tenant, requested: date | None) -> tuple[date, bool]:
        """The requested end date; else the last order day already stored (the generator always puts an order
        on its final day, so a re-run regenerates the same store); else yesterday."""
        if requested is not None:
            return requested, False
        with tenant_context(tenant):
            last_order = Order.objects.aggregate(last=Max("ordered_at"))["last"]
        if last_order is not None:
            return last_order.astimezone(UTC).date(), True
        return timezone.now().date() - timedelta(days=1), False

    def _staff_user(self, tenant: Tenant, username: str, role: str) -> None:
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.is_staff = True
        user.is_active = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        membership_set(tenant=tenant, user=user, role=role)

    def _summary(self, tenant: Tenant) -> None:
        with tenant_context(tenant):
            counts = {
                "customers": Customer.objects.count(),
                "products": Product.objects.count(),
                "orders": Order.objects.count(),
                "order lines": OrderLine.objects.count(),
                "events": Event.objects.count(),
                "follows": Follow.objects.count(),
            }
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo store {tenant.slug!r} ({tenant.name}) now holds "
                + ", ".join(f"{value:,} {name}" for name, value in counts.items())
                + "."
            )
        )
