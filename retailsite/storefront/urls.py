"""Storefront URLs, mounted at `/s/<slug>/` (retailsite.urls) and at the root of mapped domains (domain_urls)."""

from django.urls import path

from . import views

app_name = "storefront"

urlpatterns = [
    path("", views.store_home, name="home"),
    path("c/<int:category_id>/", views.category_detail, name="category"),
    path("p/<int:product_id>/", views.product_detail, name="product"),
    path("search/", views.search, name="search"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart-add"),
    path("cart/update/", views.cart_update, name="cart-update"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<str:order_id>/", views.order_detail, name="order"),
    path("account/sign-in/", views.sign_in, name="sign-in"),
    path("account/sign-up/", views.sign_up, name="sign-up"),
    path("account/sign-out/", views.sign_out, name="sign-out"),
    path("privacy/", views.privacy_centre, name="privacy"),
    path("privacy/export/", views.privacy_export, name="privacy-export"),
    path("privacy/erase/", views.privacy_erase, name="privacy-erase"),
]
