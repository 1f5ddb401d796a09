"""The behavioural event types (a shopper viewed, carted, wished for, bought or rated a product).

The one list: the Event model's choices, the importer and API, the tenant's event weights, the demo
generator and the recommendation engine all take it from here (a new type is added once).
"""

from __future__ import annotations

EVENT_VIEW = "view"
EVENT_CART = "cart"
EVENT_WISHLIST = "wishlist"
EVENT_PURCHASE = "purchase"
EVENT_RATING = "rating"
EVENT_TYPES: tuple[str, ...] = (EVENT_VIEW, EVENT_CART, EVENT_WISHLIST, EVENT_PURCHASE, EVENT_RATING)
