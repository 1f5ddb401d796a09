from django.apps import AppConfig


class BrowserConfig(AppConfig):
    name = "browser"
    label = "browser"
    verbose_name = "Browser integration"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from retailsite.commerce.demo_steps import DemoStep, register_demo_step

        from .selectors import cors_allowed_for_request

        # CORS only for a publishable key's own origins (django-cors-headers allows no origin by default).
        check_request_enabled.connect(cors_allowed_for_request, dispatch_uid="browser_cors_per_key")
        register_demo_step(DemoStep("widget", order=20, run="browser.demo.demo_widget_step"))
