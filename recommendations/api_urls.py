"""Recommendation endpoints, included under /api/v1/ by retailsite/api/urls.py."""

from django.urls import path

from . import api

urlpatterns = [
    path(
        "recommendations/customers/<str:customer_id>/",
        api.CustomerRecommendationsApi.as_view(),
        name="recommendations-customer",
    ),
    path("recommendations/batch/", api.BatchRecommendationsApi.as_view(), name="recommendations-batch"),
    path(
        "recommendations/products/<str:product_id>/similar/",
        api.SimilarItemsApi.as_view(),
        name="recommendations-similar",
    ),
    path(
        "recommendations/products/<str:product_id>/bought-together/",
        api.BoughtTogetherApi.as_view(),
        name="recommendations-bought-together",
    ),
    path("recommendations/trending/", api.TrendingApi.as_view(), name="recommendations-trending"),
    path("recommendations/rerank/", api.RerankApi.as_view(), name="recommendations-rerank"),
]
