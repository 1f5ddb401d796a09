import pytest

from retailsite.commerce.models import Customer
from retailsite.tenancy.context import tenant_context
from tests.factories import CustomerFactory, TenantFactory


@pytest.mark.django_db
def test_customer_visible_only_in_own_tenant() -> None:
    a, b = TenantFactory(), TenantFactory()
    CustomerFactory(tenant=a, external_id="A1")
    CustomerFactory(tenant=b, external_id="B1")
    with tenant_context(a):
        assert list(Customer.objects.values_list("external_id", flat=True)) == ["A1"]
