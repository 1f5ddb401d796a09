from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    label = "forecasting"

    def ready(self) -> None:
        from retailsite.privacy.triggers import statement_level_table_register
        from retailsite.tenancy.training_steps import register_training_step

        from . import personal_data, tenant_settings
        from .steps import FORECASTS_STEP

        personal_data.register()  # customer predictions, for export and erasure
        tenant_settings.register()
        # Forecasts and predictions are written a run at a time: one audit entry per statement, not per row.
        statement_level_table_register("forecasting_seriesforecast", "forecasting_customerprediction")

        register_training_step(FORECASTS_STEP)
