"""The foundation's own per-tenant settings (privacy). Each app registers its own in its AppConfig.ready()
(`<app>/tenant_settings.py`); `manage.py tenant show SLUG` lists them all, grouped by the part that uses them.
"""

from .settings_registry import TenantSetting, register_setting

for _setting in (
    # Privacy
    TenantSetting(
        "event_retention_days",
        "int",
        730,
        "raw events older than this are purged (0 = keep)",
        minimum=0,
        maximum=36500,
        group="privacy",
    ),
    TenantSetting(
        "sync_deletion_retention_days",
        "int",
        30,
        "deleted and erased ids stay in the partner sync feed this long; older cursors must resync",
        minimum=7,  # a cursor expires a day early (retailsite/api/sync.py): a week leaves partners six days
        maximum=3650,
        group="privacy",
    ),
):
    register_setting(_setting)
