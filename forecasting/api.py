"""Partner API of forecasting: demand forecasts (scope forecasts:read) and customer insights (scope customers:read).

    GET /api/v1/forecasts/?product_id=SKU | ?category_id=12 | ?level=total   [&price_change=-0.1]
    GET /api/v1/customers/<customer_id>/insights

Both read the latest succeeded run only. The store comes from the credential; another store's product, category
or customer is simply not found (404).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from retailsite.api.scopes import Scope
from retailsite.api.serializers import PlainTextField
from retailsite.api.views.base import TenantApiView, TenantListApiView, found
from retailsite.commerce.selectors import product_get_by_external_id

from . import selectors
from .models import SeriesForecast, SeriesLevel

FORECAST_TAG = "forecasts"
CUSTOMER_TAG = "customers"
MIN_PRICE_CHANGE = -0.9
MAX_PRICE_CHANGE = 2.0
MAX_DATABASE_ID = 2**63 - 1  # bigint: a larger id is a 400, not a database error


class ForecastQuerySerializer(serializers.Serializer):
    product_id = PlainTextField(
        required=False, max_length=100, help_text="a product's external id: that product's forecast"
    )
    category_id = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DATABASE_ID,
        help_text="a category's id: its forecast (level=category, the default "
        "with category_id) or its products' (level=product)",
    )
    level = serializers.ChoiceField(
        choices=SeriesLevel.choices, required=False, help_text="product (default), category or total"
    )
    price_change = serializers.FloatField(
        required=False,
        min_value=MIN_PRICE_CHANGE,
        max_value=MAX_PRICE_CHANGE,
        help_text="adds a what-if: demand if the price changes by this fraction "
        "(-0.1 = 10% cheaper), from the estimated price elasticity",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        product, category, level = attrs.get("product_id"), attrs.get("category_id"), attrs.get("level")
        if product and category:
            raise serializers.ValidationError("Give product_id or category_id, not both.")
        if product and level not in (None, SeriesLevel.PRODUCT):
            raise serializers.ValidationError({"level": ["product_id selects a product forecast (level=product)."]})
        if level == SeriesLevel.TOTAL and category:
            raise serializers.ValidationError({"level": ["The store total takes no category_id."]})
        if level is None:
            attrs["level"] = SeriesLevel.CATEGORY if category else SeriesLevel.PRODUCT
        return attrs


class ForecastPeriodSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    p10 = serializers.FloatField()
    p50 = serializers.FloatField()
    p90 = serializers.FloatField()
    baseline = serializers.FloatField(help_text="seasonal naive forecast, for comparison")


class BacktestFiguresSerializer(serializers.Serializer):
    mase = serializers.FloatField(allow_null=True)
    wape = serializers.FloatField(allow_null=True)
    rmse = serializers.FloatField(allow_null=True)
    pinball = serializers.FloatField(allow_null=True, help_text="mean pinball loss over P10, P50 and P90")
    coverage = serializers.FloatField(allow_null=True, help_text="share of actuals within P10-P90")
    n_windows = serializers.IntegerField(allow_null=True)


class BacktestSerializer(BacktestFiguresSerializer):
    baseline = BacktestFiguresSerializer(allow_null=True, help_text="the seasonal naive on the same windows")


class WhatIfSerializer(serializers.Serializer):
    price_change = serializers.FloatField()
    elasticity = serializers.FloatField()
    demand_multiplier = serializers.FloatField(source="multiplier")
    periods = serializers.SerializerMethodField()

    @extend_schema_field(ForecastPeriodSerializer(many=True))
    def get_periods(self, what_if: selectors.PriceWhatIf) -> list[dict[str, Any]]:
        return [
            {"period_start": start, "p10": p10, "p50": p50, "p90": p90}
            for start, p10, p50, p90 in zip(what_if.periods, what_if.p10, what_if.p50, what_if.p90, strict=True)
        ]


class ForecastOutputSerializer(serializers.Serializer):
    level = serializers.CharField()
    product_id = serializers.CharField(source="product.external_id", allow_null=True, default=None)
    category_id = serializers.IntegerField(allow_null=True)
    category = serializers.CharField(source="category.path", allow_null=True, default=None)
    frequency = serializers.CharField(source="run.frequency", help_text="D (day), W (week from Monday), M (month)")
    method = serializers.CharField()
    route = serializers.CharField(help_text="regular, intermittent, new_product, short_history or no_demand")
    demand_class = serializers.CharField(help_text="smooth, erratic, intermittent, lumpy or no_demand")
    periods = serializers.SerializerMethodField()
    backtest = serializers.SerializerMethodField()
    elasticity = serializers.FloatField(allow_null=True, help_text="% change of demand per 1% change of price")
    what_if = serializers.SerializerMethodField()
    run_id = serializers.IntegerField()
    data_cutoff = serializers.DateField(
        source="run.data_cutoff", allow_null=True, help_text="last day of the history used"
    )

    @extend_schema_field(ForecastPeriodSerializer(many=True))
    def get_periods(self, series: SeriesForecast) -> list[dict[str, Any]]:
        return [
            {"period_start": start, "p10": p10, "p50": p50, "p90": p90, "baseline": baseline}
            for start, p10, p50, p90, baseline in zip(
                series.periods, series.p10, series.p50, series.p90, series.baseline_p50, strict=True
            )
        ]

    @extend_schema_field(BacktestSerializer(allow_null=True))
    def get_backtest(self, series: SeriesForecast) -> dict[str, Any] | None:
        backtest = series.backtest or {}
        if not backtest:
            return None
        figures = ("mase", "wape", "rmse", "pinball", "coverage", "n_windows")
        baseline = backtest.get("baseline") or None
        return {
            **{name: backtest.get(name) for name in figures},
            "baseline": {name: baseline.get(name) for name in figures} if baseline else None,
        }

    @extend_schema_field(WhatIfSerializer(allow_null=True))
    def get_what_if(self, series: SeriesForecast) -> dict[str, Any] | None:
        price_change = self.context.get("price_change")
        if price_change is None:
            return None
        what_if = selectors.forecast_what_if(series=series, price_change=price_change)
        return WhatIfSerializer(what_if).data if what_if is not None else None


class ForecastListApi(TenantListApiView):
    scope_map = {"GET": Scope.FORECASTS_READ}

    @extend_schema(
        tags=[FORECAST_TAG],
        summary="Demand forecasts of the latest run (P10/P50/P90 per period)",
        parameters=[ForecastQuerySerializer],
        responses=ForecastOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = self.validated_query(ForecastQuerySerializer)
        category = None
        if "category_id" in query:
            category = found(selectors.category_get(pk=query["category_id"]), "category", str(query["category_id"]))
        if "product_id" in query:
            product = found(product_get_by_external_id(query["product_id"]), "product", query["product_id"])
            rows = selectors.forecast_list(level=SeriesLevel.PRODUCT).filter(product=product)
        elif query["level"] == SeriesLevel.CATEGORY and category is not None:
            rows = selectors.forecast_list(level=SeriesLevel.CATEGORY).filter(category=category)
        else:
            rows = selectors.forecast_list(level=query["level"], category=category)
        self.price_change = query.get("price_change")
        return self.paginated(rows, ForecastOutputSerializer)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "price_change": getattr(self, "price_change", None)}


class CustomerInsightsOutputSerializer(serializers.Serializer):
    customer_id = serializers.CharField(source="customer.external_id")
    available = serializers.SerializerMethodField()
    reason = serializers.CharField(help_text="why there are no insights (empty when available)")
    computed_at = serializers.DateTimeField(source="run.created_at", allow_null=True, default=None)
    model_run_id = serializers.IntegerField(source="run.pk", allow_null=True, default=None)
    expected_spend_90d = serializers.FloatField(source="prediction.expected_spend", allow_null=True, default=None)
    churn_probability = serializers.FloatField(
        source="prediction.churn_probability",
        allow_null=True,
        default=None,
        help_text="calibrated probability of no purchase in the next 90 days",
    )
    next_category = serializers.CharField(source="prediction.next_category", allow_null=True, default=None)
    next_category_probability = serializers.FloatField(
        source="prediction.next_category_probability", allow_null=True, default=None
    )
    segment = serializers.CharField(source="prediction.segment", allow_null=True, default=None)
    segment_description = serializers.CharField()

    def get_available(self, insights: selectors.CustomerInsights) -> bool:
        return insights.prediction is not None


class CustomerInsightsApi(TenantApiView):
    scope_map = {"GET": Scope.CUSTOMERS_READ}

    @extend_schema(
        tags=[CUSTOMER_TAG],
        summary="A customer's predicted spend, churn risk, next category and segment",
        parameters=[OpenApiParameter("customer_id", str, OpenApiParameter.PATH, description="external id")],
        responses=CustomerInsightsOutputSerializer,
    )
    def get(self, request: Request, customer_id: str) -> Response:
        insights = found(selectors.customer_insights_get(customer_id=customer_id), "customer", customer_id)
        return self.output(CustomerInsightsOutputSerializer, insights)
