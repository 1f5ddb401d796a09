from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    name = "retailsite.storefront"
    label = "storefront"
