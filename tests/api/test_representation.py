"""`representation` (the API's output, with an output serializer's fields bound once per process) gives exactly
what DRF's `serializer_class(instance).data` gives — DRF itself is the oracle — for the recommendation lists, for
dictionaries, for missing and null values, and for serializers it does not plan (which go through DRF)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
from rest_framework import serializers

from recommendations.api import BatchOutputSerializer, ListOutputSerializer
from recommendations.serving import ServedItem, ServedList
from retailsite.api import representation as module
from retailsite.api.representation import representation


def _item(product_id: int, *, price: str, category_path: str = "Home > Kitchen", reason: str = "") -> ServedItem:
    return ServedItem(
        product_id=product_id,
        external_id=f"P-{product_id}",
        name=f"Kettle «{product_id}» & <co>",
        price=Decimal(price),
        category_id=3 if category_path else None,
        category_path=category_path,
        score=1 / (1 + product_id),
        reason=reason or f"Because you viewed Mug {product_id}",
        reason_kind="because_viewed",
    )


SERVED = ServedList(
    recommendation_id="v7-0123456789abcdef",
    model_version_id=7,
    surface="for_you",
    items=[_item(1, price="12.5"), _item(2, price="0.10", category_path=""), _item(3, price="1234567.999")],
)


def drf(serializer_class: type[serializers.Serializer], instance: object) -> object:
    return serializer_class(instance, context={}).data


def test_a_recommendation_list_is_written_as_drf_writes_it() -> None:
    ours = representation(ListOutputSerializer, SERVED, {})
    assert ours == drf(ListOutputSerializer, SERVED)
    assert json.dumps(ours) == json.dumps(drf(ListOutputSerializer, SERVED))  # same keys, same order
    assert ours["items"][0]["price"] == "12.50" and ours["items"][0]["category"] == "Home > Kitchen"
    assert module._plans[ListOutputSerializer] is not None  # the plan was compared above, not DRF with itself


def test_no_model_version_and_an_empty_list() -> None:
    empty = ServedList(recommendation_id="v0-0123456789abcdef", model_version_id=None, surface="trending")
    assert representation(ListOutputSerializer, empty, {}) == drf(ListOutputSerializer, empty)
    assert representation(ListOutputSerializer, empty, {})["model_version"] is None


def test_a_batch_of_dictionaries() -> None:
    results = {"results": [{"customer_id": "C-1", **vars(SERVED)}, {"customer_id": "C-2", **vars(SERVED)}]}
    assert representation(BatchOutputSerializer, results, {}) == drf(BatchOutputSerializer, results)


class _Optional(serializers.Serializer):
    code = serializers.CharField()
    note = serializers.CharField(required=False)
    count = serializers.IntegerField(allow_null=True)
    ratio = serializers.FloatField(source="inner.ratio")
    flag = serializers.BooleanField()
    amount = serializers.DecimalField(max_digits=6, decimal_places=1, coerce_to_string=False)


def test_missing_null_nested_and_dotted_values() -> None:
    assert module._plan(_Optional()) is not None
    for instance in (
        {"code": 5, "count": None, "inner": {"ratio": "0.25"}, "flag": 1, "amount": Decimal("2.25")},
        {"code": "x", "note": "kept", "count": "7", "inner": {"ratio": 2}, "flag": False, "amount": 3},
        SimpleNamespace(code="y", note=None, count=1, inner=SimpleNamespace(ratio=1.5), flag=True, amount=0),
        SimpleNamespace(code=lambda: "called", count=lambda: 3, inner={"ratio": 1}, flag=0, amount=Decimal("9.99")),
    ):
        assert representation(_Optional, instance, {}) == drf(_Optional, instance)


class _WithDate(serializers.Serializer):
    name = serializers.CharField()
    at = serializers.DateTimeField()


class _Custom(serializers.Serializer):
    name = serializers.CharField()

    def to_representation(self, instance: object) -> dict:
        return {"shouted": str(instance.name).upper()}  # type: ignore[attr-defined]


def test_a_missing_required_value_fails_as_in_drf() -> None:
    instance = {"count": 1, "inner": {"ratio": 1}, "flag": True, "amount": 1}  # no "code"
    for write in (lambda: representation(_Optional, instance, {}), lambda: drf(_Optional, instance)):
        with pytest.raises(KeyError, match="code"):
            write()


def test_serializers_it_does_not_plan_go_through_drf() -> None:
    at = SimpleNamespace(name="n", at=dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC))
    assert representation(_WithDate, at, {}) == drf(_WithDate, at)
    assert representation(_Custom, SimpleNamespace(name="quiet"), {}) == {"shouted": "QUIET"}
    assert module._plans[_WithDate] is None and module._plans[_Custom] is None
