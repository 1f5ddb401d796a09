"""Registry of per-tenant settings: every key has a type, a default, a validator and help.

Apps register their settings (retrain schedule, forecast horizon, budget, retention, ...)
in a `tenant_settings` module; `manage.py tenant set` and the admin validate through here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Tenant


class TenantSettingError(ValueError):
    """A bad tenant setting key or value; the message lists what is valid."""


@dataclass(frozen=True)
class TenantSetting:
    key: str
    kind: str  # "int", "float", "bool", "choice", "str", "time", "weights"
    default: Any
    help: str
    choices: Sequence[str] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    group: str = "general"
    extra_check: Callable[[Any], None] | None = field(default=None, compare=False)

    def describe(self) -> str:
        if self.kind == "choice":
            allowed = "one of " + ", ".join(self.choices)
        elif self.kind in ("int", "float"):
            bounds = []
            if self.minimum is not None:
                bounds.append(f">= {self.minimum:g}")
            if self.maximum is not None:
                bounds.append(f"<= {self.maximum:g}")
            allowed = f"{'an integer' if self.kind == 'int' else 'a number'} {' and '.join(bounds)}".strip()
        elif self.kind == "bool":
            allowed = "true or false"
        elif self.kind == "time":
            allowed = "a time HH:MM (24h, tenant's time zone)"
        elif self.kind == "weights":
            allowed = "comma-separated name:number pairs"
        else:
            allowed = "text"
        return f"{self.key} ({allowed}; default {format_value(self.default)}): {self.help}"

    def parse(self, raw: Any) -> Any:
        """Turn a raw value (text from the command line, or JSON) into a checked value."""
        value = self._coerce(raw)
        if self.kind in ("int", "float"):
            if self.minimum is not None and value < self.minimum:
                raise TenantSettingError(f"{self.key} must be >= {self.minimum:g}, got {value}")
            if self.maximum is not None and value > self.maximum:
                raise TenantSettingError(f"{self.key} must be <= {self.maximum:g}, got {value}")
        if self.extra_check is not None:
            self.extra_check(value)
        return value

    def _coerce(self, raw: Any) -> Any:
        text = raw.strip() if isinstance(raw, str) else raw
        try:
            if self.kind == "int":
                if isinstance(text, bool) or (isinstance(text, float) and not text.is_integer()):
                    raise ValueError
                return int(text)
            if self.kind == "float":
                if isinstance(text, bool):
                    raise ValueError
                number = float(text)
                if number != number or number in (float("inf"), float("-inf")):
                    raise ValueError
                return number
            if self.kind == "bool":
                if isinstance(text, bool):
                    return text
                lowered = str(text).lower()
                if lowered in ("true", "yes", "on", "1"):
                    return True
                if lowered in ("false", "no", "off", "0"):
                    return False
                raise ValueError
            if self.kind == "choice":
                if text not in self.choices:
                    raise ValueError
                return text
            if self.kind == "time":
                if not isinstance(text, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
                    raise ValueError
                return text
            if self.kind == "weights":
                return _parse_weights(text, self.choices)
            if self.pattern and not re.fullmatch(self.pattern, str(text)):
                raise ValueError
            return str(text)
        except (TypeError, ValueError):
            raise TenantSettingError(f"Invalid value {raw!r} for {self.describe()}") from None


def _parse_weights(text: Any, names: Sequence[str]) -> dict[str, float]:
    if isinstance(text, dict):
        pairs = list(text.items())
    else:
        pairs = []
        for part in str(text).split(","):
            name, sep, number = part.partition(":")
            if not sep:
                raise ValueError
            pairs.append((name.strip(), number))
    weights = {}
    for name, number in pairs:
        if names and name not in names:
            raise ValueError
        weight = float(number)
        if weight < 0:
            raise ValueError
        weights[name] = weight
    return weights


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ",".join(f"{k}:{v:g}" for k, v in value.items())
    return str(value)


_REGISTRY: dict[str, TenantSetting] = {}


def register_setting(setting: TenantSetting) -> TenantSetting:
    # Re-registration with an identical definition is harmless (module reloads in tests).
    existing = _REGISTRY.get(setting.key)
    if existing is not None and existing != setting:
        raise RuntimeError(f"Tenant setting {setting.key!r} is registered twice with different definitions")
    _REGISTRY[setting.key] = setting
    return setting


def registered_settings() -> dict[str, TenantSetting]:
    return dict(sorted(_REGISTRY.items()))


def lookup_setting(key: str) -> TenantSetting:
    try:
        return _REGISTRY[key]
    except KeyError:
        valid = ", ".join(sorted(_REGISTRY))
        raise TenantSettingError(f"Unknown tenant setting {key!r}. Valid settings: {valid}") from None


def get_setting_value(tenant: Tenant, key: str) -> Any:
    setting = lookup_setting(key)
    return tenant.settings.get(key, setting.default)


def parse_assignments(assignments: Sequence[str]) -> dict[str, Any]:
    """Parse `KEY=VALUE` pairs; every error is collected so the user sees them all at once."""
    parsed: dict[str, Any] = {}
    errors: list[str] = []
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key.strip():
            errors.append(f"{assignment!r} is not KEY=VALUE")
            continue
        try:
            parsed[key.strip()] = lookup_setting(key.strip()).parse(raw)
        except TenantSettingError as error:
            errors.append(str(error))
    if errors:
        raise TenantSettingError("\n".join(errors))
    return parsed
