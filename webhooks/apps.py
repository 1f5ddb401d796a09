from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    label = "webhooks"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
