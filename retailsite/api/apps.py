from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "retailsite.api"
    label = "api"
