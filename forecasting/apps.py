from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    label = "forecasting"

    def ready(self) -> None:
        from retailsite.tenancy.training_steps import register_training_step

        from . import personal_data
        from .steps import FORECASTS_STEP

        personal_data.register()  # customer predictions, for export and erasure

        register_training_step(FORECASTS_STEP)
