"""A new import kind plugs in through the registry: ordering, validation, writing and the command flag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from retailsite.commerce.importers import (
    INVALID,
    ColumnSpec,
    ImportFailed,
    KindCounts,
    KindImporter,
    import_store_data,
    register_kind,
    registered_kinds,
    registry,
)
from retailsite.commerce.importers.fields import parse_identifier
from retailsite.commerce.importers.pg import PgSession
from retailsite.commerce.management.commands.import_data import Command
from retailsite.commerce.models import Customer
from retailsite.tenancy.context import tenant_context
from tests.factories import TenantFactory


class VipImporter(KindImporter):
    """vip.csv (`customer_id`): opts the listed customers in to marketing."""

    name = "vip"
    position = 5  # would come first, but it depends on customers
    depends_on = ("customers",)
    columns = ColumnSpec(required=("customer_id",))
    stage_columns = (("line_no", "bigint"), ("external_id", "text"))

    def prepare(self) -> None:
        self.customers = self.run.known_ids("customer")

    def parse_row(self, line: int, cells: list[str]) -> list[Any] | None:
        customer = self.parsed(
            line, "customer_id", lambda t: parse_identifier(t, max_length=100), cells[self.source.index["customer_id"]]
        )
        if customer is not INVALID and customer not in self.customers:
            self.fail(line, "customer_id", f"unknown customer {customer!r}")
            return None
        return None if customer is INVALID else [line, customer]

    def write_postgresql(self, db: PgSession) -> KindCounts:
        db.stage("import_vip", self.spool)
        db.execute(
            "UPDATE commerce_customer c SET marketing_consent = true FROM import_vip v "
            "WHERE c.tenant_id = %s AND c.external_id = v.external_id AND NOT c.marketing_consent",
            [db.tenant_id],
        )
        updated = db.cursor.rowcount
        return KindCounts(rows_read=self.rows_read, updated=updated, unchanged=self.spool.rows - updated)


@pytest.fixture()
def vip_kind(monkeypatch: pytest.MonkeyPatch) -> type[KindImporter]:
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))  # restored after the test
    return register_kind(VipImporter)


def test_registered_kind_is_ordered_after_its_dependencies(vip_kind: type[KindImporter]) -> None:
    names = [kind.name for kind in registered_kinds()]
    core = ["customers", "vip", "products", "orders", "events", "social"]
    # Other apps may register kinds of their own (inventory adds stock); the core order holds.
    assert [name for name in names if name in core] == core


def test_unknown_dependency_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))

    class Orphan(VipImporter):
        name = "orphan"
        depends_on = ("warehouses",)

    register_kind(Orphan)
    with pytest.raises(ValueError, match="'warehouses', which is not registered"):
        registered_kinds()


def test_dependency_cycle_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))

    class Egg(VipImporter):
        name = "egg"
        depends_on = ("chicken",)

    class Chicken(VipImporter):
        name = "chicken"
        depends_on = ("egg",)

    register_kind(Egg)
    register_kind(Chicken)
    with pytest.raises(ValueError, match="cycle: chicken, egg"):
        registered_kinds()


def test_the_command_offers_a_flag_per_kind(vip_kind: type[KindImporter]) -> None:
    parser = Command().create_parser("manage.py", "import_data")
    options = parser.parse_args(["--tenant", "shop", "--vip", "vip.csv"])
    assert options.vip == Path("vip.csv")


@pytest.mark.django_db
def test_new_kind_is_validated_and_written_with_the_others(vip_kind: type[KindImporter], tmp_path: Path) -> None:
    tenant = TenantFactory()
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,marketing_consent\nC1,false\nC2,false\n")
    vip = tmp_path / "vip.csv"
    vip.write_text("customer_id\nC2\n")

    report = import_store_data(tenant=tenant, files={"vip": vip, "customers": customers})

    assert list(report.kinds) == ["customers", "vip"]
    assert report["vip"].updated == 1
    with tenant_context(tenant):
        assert dict(Customer.objects.values_list("external_id", "marketing_consent")) == {"C1": False, "C2": True}


@pytest.mark.django_db
def test_a_bad_row_of_the_new_kind_stops_the_whole_run(vip_kind: type[KindImporter], tmp_path: Path) -> None:
    tenant = TenantFactory()
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id\nC1\n")
    vip = tmp_path / "vip.csv"
    vip.write_text("customer_id\nC1\nC9\n")

    with pytest.raises(ImportFailed) as failure:
        import_store_data(tenant=tenant, files={"customers": customers, "vip": vip})

    assert [(e.file, e.line, e.column) for e in failure.value.errors] == [(str(vip), 3, "customer_id")]
    with tenant_context(tenant):
        assert not Customer.objects.exists()
