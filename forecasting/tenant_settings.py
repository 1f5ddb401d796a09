"""The per-tenant settings of demand forecasts and customer predictions."""

from retailsite.tenancy.settings_registry import TenantSetting, register_setting

SETTINGS: tuple[TenantSetting, ...] = (
    TenantSetting(
        "forecast_frequency",
        "choice",
        "W",
        "demand forecast period: D (day), W (week), M (month)",
        choices=("D", "W", "M"),
        group="forecasting",
    ),
    TenantSetting(
        "forecast_horizon", "int", 12, "how many periods ahead to forecast", minimum=1, maximum=365, group="forecasting"
    ),
    TenantSetting("forecast_time", "time", "03:00", "when nightly forecasts and predictions run", group="forecasting"),
)


def register() -> None:
    for setting in SETTINGS:
        register_setting(setting)
