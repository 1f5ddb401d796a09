from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "retailsite.privacy"
    label = "privacy"
