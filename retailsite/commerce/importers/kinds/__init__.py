"""The core import kinds, registered on import in dependency order."""

from . import customers, events, orders, products, social  # noqa: F401 - registration side effects
