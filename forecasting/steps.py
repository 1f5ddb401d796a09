"""The forecasts training step, declared here (light) and run from `forecasting.training` (heavy)."""

from retailsite.tenancy.training_steps import TrainingStep

FORECASTS_STEP = TrainingStep(
    "forecasts",
    order=20,
    run="forecasting.training.run_forecasts_step",
    description="demand forecasts per product, category and store total; customer predictions",
    schedule_setting="forecast_time",
    then=("inventory",),
)
