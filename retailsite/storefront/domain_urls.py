"""URL configuration for a store's own mapped domain: the storefront at the root."""

from django.urls import include, path

from retailsite import views

urlpatterns = [
    path("healthz", views.healthz),
    path("readyz", views.readyz),
    path("", include("retailsite.storefront.urls")),
]
