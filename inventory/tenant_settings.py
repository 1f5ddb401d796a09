"""The per-tenant settings of reorder planning."""

from retailsite.tenancy.settings_registry import TenantSetting, register_setting

SETTINGS: tuple[TenantSetting, ...] = (
    TenantSetting(
        "inventory_budget",
        "float",
        0.0,
        "purchase budget per review cycle (0 = unlimited)",
        minimum=0,
        group="inventory",
    ),
    TenantSetting(
        "warehouse_capacity", "float", 0.0, "warehouse capacity by volume (0 = unlimited)", minimum=0, group="inventory"
    ),
    TenantSetting(
        "review_period_days", "int", 7, "days between reorder reviews", minimum=1, maximum=365, group="inventory"
    ),
    TenantSetting(
        "reorder_rule",
        "choice",
        "dynamic",
        "dynamic: reorder levels from a program over the next 12-52 reviews that follows the forecast; "
        "closed_form: from the demand over one lead time + review period",
        choices=("dynamic", "closed_form"),
        group="inventory",
    ),
    TenantSetting(
        "default_service_level",
        "float",
        0.95,
        "target service level when a product sets none",
        minimum=0.5,
        maximum=0.9999,
        group="inventory",
    ),
)


def register() -> None:
    for setting in SETTINGS:
        register_setting(setting)
