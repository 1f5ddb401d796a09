from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "retailsite.commerce"
    label = "commerce"
    verbose_name = "Commerce"
