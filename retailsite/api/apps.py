from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "retailsite.api"
    label = "api"
    verbose_name = "Partner API"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the API-key security scheme with drf-spectacular
