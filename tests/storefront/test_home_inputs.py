"""A signed-in shopper's first home page reads its personal inputs in one statement
(`serving.shopper_page_inputs`); what it reads must be what the separate look-ups read, with and
without prepared statements (DATABASE_PREPARE_THRESHOLD), so the sections do not change; the sections built
in the same request then read none of it again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations import serving
from recommendations.models import ProductNeighbours
from recommendations.selectors import active_version_id
from recommendations.serving import candidates
from recommendations.training import recommender_train
from retailsite.commerce.models import Customer, Product
from retailsite.storefront.selectors import purchased_product_ids_latest_first
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant
from tests.factories import EventFactory, FollowFactory, TenantFactory
from tests.recommendations.test_layer import build_two_cluster_store

pytestmark = pytest.mark.django_db


def record_views(tenant: Tenant, customer: Customer, viewed: list[Product], visitor_viewed: Product) -> None:
    """The customer's views a minute apart, the first the latest, and one view of visitor-1's 30 seconds ago."""
    now = timezone.now()
    for minutes, product in enumerate(viewed):
        EventFactory(tenant=tenant, customer=customer, product=product, occurred_at=now - dt.timedelta(minutes=minutes))
    EventFactory(
        tenant=tenant,
        customer=None,
        session_id="visitor-1",
        product=visitor_viewed,
        occurred_at=now - dt.timedelta(seconds=30),
    )


def test_one_statement_reads_what_the_separate_look_ups_read() -> None:
    tenant = TenantFactory()
    _cats, products, customers = build_two_cluster_store(tenant, customers_per_cluster=6)
    alice = customers["Alpha"][0]
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        for friend in customers["Beta"][:3]:
            FollowFactory(tenant=tenant, follower=alice, followee=friend)
        record_views(
            tenant, alice, [products["Beta"][2], products["Alpha"][5], products["Beta"][2]], products["Beta"][7]
        )
        version_id = active_version_id()
        assert version_id is not None
        expected_purchased = purchased_product_ids_latest_first(customer_id=alice.pk)
        expected_recent = candidates.read_recent_product_ids(customer_id=alice.pk, session_id="visitor-1")
        with serving.serving_request() as memo:
            expected_list = [c.product_id for c in candidates.precomputed_for_customer(memo, alice.pk)]
        expected_followed = [item.product_id for item in serving.popular_with_followed(customer_id=alice.pk).items]
        assert expected_recent[:3] == [products["Beta"][2].pk, products["Beta"][7].pk, products["Alpha"][5].pk]
        assert expected_purchased and expected_list and expected_followed

        connection.ensure_connection()
        previous = connection.connection.prepare_threshold
        try:
            for threshold in (None, 5):  # Django's ordinary cursor, then a prepared statement
                connection.connection.prepare_threshold = threshold
                candidates._version_data.clear()
                with serving.serving_request():
                    inputs = serving.shopper_page_inputs(customer_id=alice.pk, session_id="visitor-1")
                    assert inputs.purchased_latest_first == expected_purchased
                    assert inputs.recent == expected_recent
                    assert [c.product_id for c in inputs.precomputed or []] == expected_list
                    followed = serving.popular_with_followed(customer_id=alice.pk)
                    assert [item.product_id for item in followed.items] == expected_followed
                # The neighbour lists read with them are kept as the serving functions would read them.
                for pid, column in ((expected_recent[0], "similar"), (expected_purchased[0], "bought_together")):
                    stored = (
                        ProductNeighbours.objects.filter(model_version_id=version_id, product_id=pid)
                        .values_list(column, flat=True)
                        .first()
                        or {}
                    )
                    assert candidates._version_data[(tenant.pk, version_id, column, pid)] == stored
        finally:
            connection.connection.prepare_threshold = previous


@pytest.mark.parametrize(
    ("as_customer", "session_id"),
    [(True, "visitor-1"), (True, ""), (False, "visitor-1")],
    ids=["both", "customer", "visitor"],
)
def test_the_recent_statement_reads_what_the_separate_look_ups_read(as_customer: bool, session_id: str) -> None:
    """What the home page reads when only "because you viewed" is computed again: the shopper's recent products and
    their `similar` lists, in one statement, as the separate look-ups read them, so the section reads no list more."""
    tenant = TenantFactory()
    _cats, products, customers = build_two_cluster_store(tenant, customers_per_cluster=6)
    alice = customers["Alpha"][0]
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        viewed = [products["Beta"][2], products["Alpha"][5], products["Beta"][2], products["Beta"][9]]
        record_views(tenant, alice, viewed, products["Alpha"][7])
        customer_id = alice.pk if as_customer else None
        version_id = active_version_id()
        expected = candidates.read_recent_product_ids(customer_id=customer_id, session_id=session_id)
        assert expected  # each case has something recent

        candidates._version_data.clear()
        with serving.serving_request() as memo:
            assert serving.shopper_recent_inputs(customer_id=customer_id, session_id=session_id) == expected
            with CaptureQueriesContext(connection) as captured:
                kept = candidates.neighbour_lists(memo, expected, "similar")
            assert not captured.captured_queries, "the statement left neighbour lists to read"
        candidates._version_data.clear()
        with serving.serving_request() as memo:
            assert kept == candidates.neighbour_lists(memo, expected, "similar")
        assert version_id is not None and any(kept.values())


def test_the_sections_of_one_page_read_nothing_the_page_inputs_read() -> None:
    """The request's memo: after the one statement, a signed-in shopper's home sections (built as
    `home_sections_html` builds them) read nothing more once the process has the version's shared lists."""
    from django.test.utils import CaptureQueriesContext

    from retailsite.commerce.live_state import catalog_live_states

    tenant = TenantFactory()
    _cats, products, customers = build_two_cluster_store(tenant, customers_per_cluster=6)
    alice = customers["Alpha"][0]
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        FollowFactory(tenant=tenant, follower=alice, followee=customers["Beta"][0])
        EventFactory(tenant=tenant, customer=alice, product=products["Beta"][2])
        version_id = active_version_id()

        def page() -> list[list[int]]:
            filters = serving.Filters(k=8)
            with serving.serving_request(version_id=version_id), serving.serving_request(live=catalog_live_states()):
                inputs = serving.shopper_page_inputs(customer_id=alice.pk, session_id="visitor-1")
                latest = inputs.purchased_latest_first[0]
                lists = [
                    serving.because_viewed(customer_id=alice.pk, session_id="visitor-1", filters=filters),
                    serving.bought_together(product_id=latest, filters=filters),
                    serving.similar_items(product_id=latest, filters=filters),
                    serving.recommend_for_customer(customer_id=alice.pk, session_id="visitor-1", filters=filters),
                    serving.popular_with_followed(customer_id=alice.pk, filters=filters),
                    serving.trending(filters=filters),
                ]
            return [[item.product_id for item in served.items] for served in lists]

        first = page()  # the process reads the version's popular and trending lists once
        with CaptureQueriesContext(connection) as captured:
            again = page()
        assert again == first and all(first[0:1] + first[3:])
        assert len(captured.captured_queries) == 1, [q["sql"][:80] for q in captured.captured_queries]


def test_home_customer_reads_the_shown_fields_and_the_rest_on_access(django_assert_num_queries) -> None:
    from retailsite.storefront.selectors import customer_with_activity
    from tests.factories import CustomerFactory

    tenant = TenantFactory()
    with tenant_context(tenant):
        ana = CustomerFactory(
            tenant=tenant,
            name="Ana Díaz",
            email="ana@example.com",
            phone="+34 600 000 000",
            personalization_consent=False,
        )
        with django_assert_num_queries(1):
            customer = customer_with_activity(customer_id=ana.pk, visitor_id="v-1")
            assert customer is not None
            assert (customer.pk, customer.name, customer.personalization_consent) == (ana.pk, "Ana Díaz", False)
        # Contact details were not read (nor decrypted) for the page; code that needs them still gets them.
        with django_assert_num_queries(1):
            assert customer.email == "ana@example.com"
        assert customer.phone == "+34 600 000 000"
        other = TenantFactory()
    with tenant_context(other):
        assert customer_with_activity(customer_id=ana.pk, visitor_id="v-1") is None  # another store's id
