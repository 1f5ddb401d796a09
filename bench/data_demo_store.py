"""The demo store (the generator behind `seed_demo`) as engine inputs, without Django or a database.

Orders become purchase events (basket = order), the behavioural events of known customers (views, carts,
wishlists, ratings) follow them as in `recommendations.data_loading`; anonymous sessions and the generator's
own purchase events (the orders again) are left out. Products carry name, description, category path, brand
and tags; customers age band, gender and region; follows are the social graph.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import scipy.sparse as sp

from domain.age_bands import AGE_BAND_LABELS, age_band
from recommendations.engine.data import Catalog, CustomerInfo, EventLog, InteractionConfig, ItemText, TrainingData
from recommendations.engine.segments import encode_attributes
from retailsite.commerce.demo import DemoStore, generate_store
from retailsite.commerce.demo.tables import Coded
from retailsite.commerce.demo.vocabulary import CITIES

END_DATE = date(2026, 10, 31)


def _seconds(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[s]").astype(np.int64).astype(np.float64)


def _rows(column: Coded, ids: np.ndarray) -> np.ndarray:
    """Row numbers in the table whose id column is `ids` for a coded foreign key (-1 stays -1)."""
    position = {label: row for row, label in enumerate(ids.tolist())}
    lookup = np.array([position[label] for label in column.labels.tolist()] + [-1], dtype=np.int64)
    return lookup[np.where(column.codes < 0, len(lookup) - 1, column.codes)]


def demo_training_data(store: DemoStore, config: InteractionConfig | None = None) -> TrainingData:
    customer_ids = store.customers.column("customer_id")
    product_ids = store.products.column("product_id")
    n_users, n_items = len(customer_ids), len(product_ids)
    orders, events = store.orders, store.events
    line_users = _rows(orders.columns["customer_id"], customer_ids)  # type: ignore[arg-type]
    line_items = _rows(orders.columns["product_id"], product_ids)  # type: ignore[arg-type]
    event_users = _rows(events.columns["customer_id"], customer_ids)  # type: ignore[arg-type]
    event_items = _rows(events.columns["product_id"], product_ids)  # type: ignore[arg-type]
    event_types = events.column("event_type").astype(str)
    known = (event_users >= 0) & (event_types != "purchase")
    n_lines = len(line_users)
    log = EventLog(
        n_users=n_users,
        n_items=n_items,
        users=np.concatenate([line_users, event_users[known]]),
        items=np.concatenate([line_items, event_items[known]]),
        event_types=np.concatenate([np.full(n_lines, "purchase"), event_types[known]]),
        timestamps=np.concatenate(
            [_seconds(orders.column("ordered_at")), _seconds(events.column("occurred_at"))[known]]
        ),
        values=np.concatenate([np.full(n_lines, np.nan), events.column("value").astype(float)[known]]),
        baskets=np.concatenate([orders.codes("order_id"), np.full(int(known.sum()), -1)]),
    )
    paths = store.products.column("category").astype(str)
    categories = np.unique(paths, return_inverse=True)[1]
    catalog = Catalog(
        n_items=n_items,
        categories=categories,
        text=ItemText(
            names=store.products.column("name").tolist(),
            descriptions=store.products.column("description").tolist(),
            categories=paths.tolist(),
            brands=store.products.column("brand").tolist(),
            tags=[list(tags) for tags in store.products.column("tags")],
        ),
        prices=store.products.column("price").astype(float),
    )
    region_of = {city: region for city, _, region, _ in CITIES}
    bands = age_band(END_DATE.year - store.customers.column("birth_year").astype(float))
    attributes, _ = encode_attributes(
        {
            "age_band": [AGE_BAND_LABELS[b] if b >= 0 else "" for b in bands],
            "gender": store.customers.column("gender").astype(str).tolist(),
            "region": [region_of.get(city, "") for city in store.customers.column("city").astype(str).tolist()],
        }
    )
    followers = _rows(store.social.columns["customer_id"], customer_ids)  # type: ignore[arg-type]
    followees = _rows(store.social.columns["follows_id"], customer_ids)  # type: ignore[arg-type]
    follows = sp.csr_matrix(
        (np.ones(len(followers), dtype=np.float32), (followers, followees)), shape=(n_users, n_users)
    )
    customers = CustomerInfo(
        n_users, attributes=attributes, attribute_names=("age_band", "gender", "region"), follows=follows
    )
    return TrainingData(log, config or InteractionConfig(), catalog, customers)


def load_demo_store(customers: int, products: int, seed: int, days: int = 365) -> TrainingData:
    """A generated demo store as engine inputs (about 6 order lines and 35 events per customer and year)."""
    store = generate_store(customers=customers, products=products, days=days, seed=seed, end_date=END_DATE)
    return demo_training_data(store)
