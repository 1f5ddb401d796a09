"""manage.py import_data: summary, listed errors, exit status, unknown tenant."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from retailsite.commerce.management.commands.import_data import Command
from retailsite.commerce.models import Customer, Product
from retailsite.tenancy.context import tenant_context
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_data", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_prints_a_summary_per_kind(tmp_path: Path) -> None:
    tenant = TenantFactory(slug="shop")
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,name\nC1,Ann\nC2,Bob\n")
    products = tmp_path / "products.csv"
    products.write_text("product_id,name,price\nP1,Pan,9.50\n")

    out, _ = run("--tenant", "shop", "--customers", str(customers), "--products", str(products), "--no-progress")

    assert "customers: 2 rows read, 2 created, 0 updated, 0 unchanged" in out
    assert "products: 1 rows read, 1 created, 0 updated, 0 unchanged" in out
    with tenant_context(tenant):
        assert Customer.objects.count() == 2
        assert Product.objects.get().name == "Pan"

    again, _ = run("--tenant", "shop", "--customers", str(customers), "--no-progress")
    assert "customers: 2 rows read, 0 created, 0 updated, 2 unchanged" in again


def test_failed_import_lists_errors_and_raises(tmp_path: Path) -> None:
    tenant = TenantFactory(slug="shop")
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,birth_year\nC1,1990\nC2,1850\nC3,soon\n")

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="2 error"):
        call_command(
            "import_data", "--tenant", "shop", "--customers", str(customers), "--no-progress", stdout=out, stderr=err
        )

    assert f"{customers}:3: birth_year: birth year 1850 is out of range" in err.getvalue()
    assert f"{customers}:4: birth_year: birth year must be a whole number" in err.getvalue()
    with tenant_context(tenant):
        assert not Customer.objects.exists()


def test_unknown_tenant_is_refused(tmp_path: Path) -> None:
    TenantFactory(slug="real-shop")
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id\nC1\n")
    with pytest.raises(CommandError, match=r"No tenant 'ghost'.*real-shop"):
        run("--tenant", "ghost", "--customers", str(customers))


def test_command_without_files_is_refused() -> None:
    TenantFactory(slug="shop")
    with pytest.raises(CommandError, match="--customers FILE"):
        run("--tenant", "shop")


def test_exit_status_is_non_zero_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    TenantFactory(slug="shop")
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,product_id,quantity,ordered_at\nO1,C1,P1,1,2024-01-01\n")
    # run_from_argv closes every connection when it ends, which would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)

    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(
            ["manage.py", "import_data", "--tenant", "shop", "--orders", str(orders), "--no-progress"]
        )

    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"{orders}:2: customer_id: unknown customer 'C1'" in err
    assert f"{orders}:2: product_id: unknown product 'P1'" in err
    assert "nothing was imported" in err


def test_progress_is_shown_for_large_files_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    TenantFactory(slug="shop")
    large = tmp_path / "customers.csv"
    large.write_text("customer_id\n" + "".join(f"C{n}\n" for n in range(6000)))
    small = tmp_path / "products.csv"
    small.write_text("product_id,name\nP1,Pan\n")

    call_command(
        "import_data", "--tenant", "shop", "--customers", str(large), "--products", str(small), stdout=io.StringIO()
    )

    err = capsys.readouterr().err
    # Not a terminal: one line at the start and at every tenth of the file.
    assert "customers: 0/6,000 rows" in err
    assert "customers: 6,000/6,000 rows" in err
    assert "writing customers: 6,000/6,000 rows" in err
    assert "products:" not in err
