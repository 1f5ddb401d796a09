from django.apps import AppConfig

# The home page's per-shopper cache entries (retailsite/storefront/sections.py), registered with privacy.cache.
HOME_CACHE_NAMESPACE = "storefront:home"


class StorefrontConfig(AppConfig):
    name = "retailsite.storefront"
    label = "storefront"

    def ready(self) -> None:
        from retailsite.privacy.cache import CustomerCacheNamespace, register_customer_cache

        register_customer_cache(
            CustomerCacheNamespace(
                HOME_CACHE_NAMESPACE,
                "the home page's rendered recommendation sections (and the ids of the products the shopper bought), "
                "per signed-in shopper or anonymous visitor",
                per_visitor=True,
            )
        )
