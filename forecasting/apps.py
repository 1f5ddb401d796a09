from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    label = "forecasting"

    def ready(self) -> None:
        from retailsite.tenancy.training import register_training_step

        from .steps import FORECASTS_STEP

        register_training_step(FORECASTS_STEP)
