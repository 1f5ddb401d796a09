"""The shopping cart, kept in the session per store: product id -> quantity and the recommendation id
that led to the product (carried into the purchase event at checkout, for attribution)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpRequest

from retailsite.commerce.models import Product
from retailsite.commerce.services import MAX_LINE_QUANTITY, CartLine


def _cart_key(tenant_id: int) -> str:
    return f"cart:{tenant_id}"


@dataclass(frozen=True)
class CartRow:
    product: Product
    quantity: int
    recommendation_id: str

    @property
    def subtotal(self) -> Decimal:
        return self.product.price * self.quantity


class SessionCart:
    """Read and change the current store's cart in the session."""

    def __init__(self, request: HttpRequest) -> None:
        self._session = request.session
        self._key = _cart_key(request.tenant.pk)  # type: ignore[attr-defined]
        raw = self._session.get(self._key)
        self._entries: dict[str, dict] = raw if isinstance(raw, dict) else {}

    def _save(self) -> None:
        self._session[self._key] = self._entries
        self._session.modified = True

    def add(self, product: Product, quantity: int, recommendation_id: str = "") -> int:
        """Add to the product's quantity (capped); returns the new quantity."""
        entry = self._entries.get(str(product.pk), {"q": 0, "r": ""})
        entry["q"] = min(MAX_LINE_QUANTITY, int(entry.get("q", 0)) + quantity)
        entry["r"] = entry.get("r") or recommendation_id
        self._entries[str(product.pk)] = entry
        self._save()
        return entry["q"]

    def set_quantity(self, product_id: int, quantity: int) -> None:
        """Set a line's quantity; 0 removes it."""
        if quantity <= 0:
            self._entries.pop(str(product_id), None)
        elif str(product_id) in self._entries:
            self._entries[str(product_id)]["q"] = min(MAX_LINE_QUANTITY, quantity)
        self._save()

    def clear(self) -> None:
        self._entries = {}
        self._session.pop(self._key, None)

    def item_count(self) -> int:
        return sum(int(entry.get("q", 0)) for entry in self._entries.values())

    def product_ids(self) -> list[int]:
        return [int(pid) for pid in self._entries]

    def rows(self) -> list[CartRow]:
        """The cart's lines with their products of this store (lines of vanished products are dropped)."""
        products = Product.objects.select_related("category").in_bulk(self.product_ids())
        rows = []
        for pid, entry in self._entries.items():
            product = products.get(int(pid))
            if product is not None:
                rows.append(CartRow(product, int(entry.get("q", 0)), str(entry.get("r") or "")))
        return rows

    def lines(self) -> list[CartLine]:
        return [
            CartLine(int(pid), int(entry.get("q", 0)), str(entry.get("r") or ""))
            for pid, entry in self._entries.items()
        ]

    @staticmethod
    def total(rows: list[CartRow]) -> Decimal:
        return sum((row.subtotal for row in rows), Decimal("0"))
