"""The demo store generator: deterministic, in the import formats, and with its planted structure measurable.

Pure numpy: no database. Every statistic is computed here from the generated rows with simple counting;
the generator's own code is never reused to compute expectations.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from retailsite.commerce.demo import DemoStore, generate_store, write_csvs

END = date(2025, 6, 29)
DAYS = 364


@pytest.fixture(scope="module")
def store() -> DemoStore:
    return generate_store(customers=1500, products=200, days=DAYS, seed=7, end_date=END)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _lines(store: DemoStore) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    orders = store.orders
    return (
        orders.codes("order_id"),
        orders.codes("customer_id"),
        orders.codes("product_id"),
        orders.column("quantity"),
    )


def _day_index(times: np.ndarray, start: date) -> np.ndarray:
    return (times.astype("datetime64[D]") - np.datetime64(start.isoformat())).astype(np.int64)


# ------------------------------------------------------------------------------------ determinism, formats


def test_same_seed_gives_byte_identical_csvs(tmp_path: Path) -> None:
    first = write_csvs(generate_store(customers=300, products=60, days=90, seed=11, end_date=END), tmp_path / "a")
    second = write_csvs(generate_store(customers=300, products=60, days=90, seed=11, end_date=END), tmp_path / "b")
    assert sorted(first) == sorted(second) == ["customers", "events", "orders", "products", "social", "stock"]
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name


def test_different_seeds_give_different_stores(tmp_path: Path) -> None:
    first = write_csvs(generate_store(customers=300, products=60, days=90, seed=11, end_date=END), tmp_path / "a")
    second = write_csvs(generate_store(customers=300, products=60, days=90, seed=12, end_date=END), tmp_path / "b")
    for name in ("customers", "products", "orders", "events", "social"):
        assert first[name].read_bytes() != second[name].read_bytes(), name


def test_csv_headers_are_exactly_the_import_formats(store: DemoStore, tmp_path: Path) -> None:
    expected = {
        "customers": "customer_id,email,name,phone,birth_year,gender,city,country,signed_up_at,personalization_consent",
        "products": "product_id,name,description,category,brand,tags,price,cost,active",
        "orders": "order_id,customer_id,product_id,quantity,ordered_at,unit_price,channel",
        "events": "customer_id,session_id,product_id,event_type,occurred_at,value",
        "social": "customer_id,follows_id",
        "stock": "product_id,on_hand,on_order,lead_time_days,lead_time_std_days,supplier,min_order_qty,pack_size,"
        "order_cost,unit_volume,holding_cost_rate,stockout_cost,service_level",
    }
    paths = write_csvs(store, tmp_path)
    for name, header in expected.items():
        with paths[name].open(encoding="utf-8") as handle:
            assert handle.readline().rstrip("\n") == header, name


def test_csv_rows_follow_the_import_rules(store: DemoStore, tmp_path: Path) -> None:
    paths = write_csvs(store, tmp_path)
    customers = _read(paths["customers"])
    products = _read(paths["products"])
    orders = _read(paths["orders"])
    events = _read(paths["events"])
    social = _read(paths["social"])
    customer_ids = {row["customer_id"] for row in customers}
    product_ids = {row["product_id"] for row in products}
    assert len(customer_ids) == len(customers) == 1500
    assert len(product_ids) == len(products) == 200

    start = datetime(2024, 7, 1).date()
    assert END - timedelta(days=DAYS - 1) == start
    for row in orders:
        assert row["customer_id"] in customer_ids and row["product_id"] in product_ids
        assert int(row["quantity"]) > 0 and float(row["unit_price"]) > 0
        assert start <= datetime.fromisoformat(row["ordered_at"]).date() <= END
        assert row["channel"] in {"web", "app", "store"}
    assert len({(row["order_id"], row["product_id"]) for row in orders}) == len(orders), "one line per product"
    assert max(datetime.fromisoformat(row["ordered_at"]).date() for row in orders) == END

    for row in events:
        assert row["customer_id"] or row["session_id"]
        assert row["customer_id"] == "" or row["customer_id"] in customer_ids
        assert row["product_id"] in product_ids
        assert start <= datetime.fromisoformat(row["occurred_at"]).date() <= END
        if row["event_type"] == "rating":
            assert 1 <= float(row["value"]) <= 5
        else:
            assert row["event_type"] in {"view", "cart", "wishlist", "purchase"} and row["value"] == ""
    assert len({tuple(row.values()) for row in events}) == len(events), "no duplicate events"

    for row in products:
        department, _, leaf = row["category"].partition(" > ")
        assert department and leaf and " > " not in leaf
        assert row["name"] and row["brand"] and len(row["description"]) > 40
        assert all(tag.strip() for tag in row["tags"].split(";"))
        assert float(row["cost"]) < float(row["price"])
        assert row["active"] in {"true", "false"}
    assert {row["category"].split(" > ")[0] for row in products} >= {"Home", "Garden", "Electronics", "Grocery"}

    for row in customers:
        assert "@example." in row["email"] and row["name"]
        assert row["gender"] in {"F", "M", "X", ""}
        assert row["birth_year"] == "" or 1935 <= int(row["birth_year"]) <= 2010
        assert row["city"] and len(row["country"]) == 2
        assert row["personalization_consent"] in {"true", "false"}
    pairs = [(row["customer_id"], row["follows_id"]) for row in social]
    assert len(set(pairs)) == len(pairs)
    assert all(a != b and a in customer_ids and b in customer_ids for a, b in pairs)


def test_stock_rows_are_consistent(store: DemoStore) -> None:
    stock = store.stock
    assert list(stock.column("product_id")) == list(store.products.column("product_id"))
    pack, minimum = stock.column("pack_size"), stock.column("min_order_qty")
    assert (pack >= 1).all() and (minimum % pack == 0).all()
    assert (stock.column("on_hand") >= 0).all() and (stock.column("on_order") >= 0).all()
    assert (stock.column("lead_time_days") > 0).all()
    assert ((stock.column("service_level") > 0.5) & (stock.column("service_level") < 1)).all()
    assert (stock.column("unit_volume") > 0).all() and (stock.column("stockout_cost") > 0).all()


# ---------------------------------------------------------------------------------------- planted structure


def test_customers_buy_mostly_within_their_taste_clusters_categories(store: DemoStore) -> None:
    truth = store.truth
    _, customer, product, _ = _lines(store)
    category = truth.product_category[product]
    core = np.zeros((len(truth.cluster_names), len(truth.category_paths)), dtype=bool)
    for cluster, paths in enumerate(truth.cluster_categories):
        core[cluster, [truth.category_paths.index(path) for path in paths]] = True
    in_core = core[truth.customer_cluster[customer], category]
    # Chance level: how often a line would fall in the cluster's categories if customers bought like everyone.
    overall_category_share = np.bincount(category, minlength=len(truth.category_paths)) / category.size
    chance = (core[truth.customer_cluster[customer]] * overall_category_share).sum(axis=1)
    assert in_core.mean() > 0.6
    assert in_core.mean() > 3 * chance.mean()


def test_followed_customers_share_more_categories_than_random_pairs(store: DemoStore) -> None:
    truth = store.truth
    _, customer, product, _ = _lines(store)
    bought = np.zeros((len(store.customers), len(truth.category_paths)), dtype=bool)
    bought[customer, truth.product_category[product]] = True

    def mean_jaccard(a: np.ndarray, b: np.ndarray) -> float:
        union = (bought[a] | bought[b]).sum(axis=1)
        both = (bought[a] & bought[b]).sum(axis=1)
        return float((both[union > 0] / union[union > 0]).mean())

    follower, followee = store.social.codes("customer_id"), store.social.codes("follows_id")
    rng = np.random.default_rng(0)
    random_a = rng.integers(0, len(store.customers), follower.size)
    random_b = rng.integers(0, len(store.customers), follower.size)
    assert len(store.social) > len(store.customers)
    assert mean_jaccard(follower, followee) > 2 * mean_jaccard(random_a, random_b)


def test_weekends_have_more_orders_than_midweek(store: DemoStore) -> None:
    order, *_ = _lines(store)
    _, first_line = np.unique(order, return_index=True)
    days = store.orders.column("ordered_at")[first_line].astype("datetime64[D]")
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    per_weekday = np.bincount(weekday, minlength=7)  # 52 of each weekday in 364 days
    assert per_weekday[5:7].mean() > 1.15 * per_weekday[1:3].mean()


def test_lower_prices_sell_more(store: DemoStore) -> None:
    truth = store.truth
    _, _, product, _ = _lines(store)
    week = _day_index(store.orders.column("ordered_at"), truth.start_date) // 7
    weeks = truth.weekly_price.shape[1]
    purchases = np.zeros((len(store.products), weeks))
    np.add.at(purchases, (product, week), 1)
    # The shelf price paid is the week's price, and prices move: many products sell at more than one price.
    assert np.allclose(store.orders.column("unit_price"), truth.weekly_price[product, week])
    distinct_prices = [np.unique(store.orders.column("unit_price")[product == p]).size for p in range(200)]
    assert np.mean(np.array(distinct_prices) > 1) > 0.5

    # Each durable product's purchases in weeks at <= 90% of its base price, against what it sells at its
    # base price in a week of the same store-wide volume (controls for popularity, seasonality and growth).
    store_volume = purchases.sum(axis=0) / purchases.sum(axis=0).mean()
    relative = truth.weekly_price / truth.product_base_price[:, None]
    durable_and_selling = (
        (truth.product_repurchase_days == 0)[:, None]
        & ((np.arange(weeks) * 7)[None, :] >= truth.product_launch_day[:, None])
        & ((np.arange(weeks) * 7 + 7)[None, :] <= truth.product_end_day[:, None])
    )
    discounted = durable_and_selling & (relative <= 0.9)
    regular = durable_and_selling & np.isclose(relative, 1.0, atol=0.01)
    per_volume = (purchases * regular).sum(axis=1) / np.maximum((store_volume * regular).sum(axis=1), 1e-9)
    expected = per_volume[:, None] * store_volume[None, :]
    compared = discounted & (regular.sum(axis=1) >= 10)[:, None]
    assert compared.sum() > 150
    assert purchases[compared].sum() > 1.18 * expected[compared].sum()


def test_bundles_are_bought_together_far_above_chance(store: DemoStore) -> None:
    order, _, product, _ = _lines(store)
    orders = order.max() + 1
    baskets = {(int(o), int(p)) for o, p in zip(order, product, strict=True)}
    support = np.bincount(product, minlength=len(store.products)) / orders
    lifts = []
    for anchor, complement in store.truth.bundles:
        together = len({o for o, p in baskets if p == anchor} & {o for o, p in baskets if p == complement})
        if support[anchor] > 0 and support[complement] > 0:
            lifts.append(together / orders / (support[anchor] * support[complement]))
    assert len(lifts) >= 5
    assert np.median(lifts) > 10


def test_consumables_are_bought_again(store: DemoStore) -> None:
    _, customer, product, _ = _lines(store)
    pairs, times_bought = np.unique(customer.astype(np.int64) * len(store.products) + product, return_counts=True)
    consumable = store.truth.product_repurchase_days[pairs % len(store.products)] > 0
    assert (times_bought[consumable] >= 2).mean() > 2 * (times_bought[~consumable] >= 2).mean()
    assert (times_bought[consumable] >= 3).mean() > 0.2


def test_garden_sells_in_spring_and_toys_before_christmas(store: DemoStore) -> None:
    truth = store.truth
    _, _, product, quantity = _lines(store)
    month = store.orders.column("ordered_at").astype("datetime64[M]").astype(np.int64) % 12 + 1
    path = np.array(truth.category_paths)[truth.product_category[product]]
    garden = np.char.startswith(path.astype(str), "Garden")
    spring, autumn = np.isin(month, [3, 4, 5]), np.isin(month, [9, 10, 11])
    assert garden[spring].mean() > 2 * garden[autumn].mean()
    toys = path == "Kids > Toys"
    assert quantity[toys & (month == 12)].sum() > 2 * quantity[toys & (month == 6)].sum()


def test_popularity_is_concentrated_and_the_tail_is_intermittent(store: DemoStore) -> None:
    truth = store.truth
    _, _, product, quantity = _lines(store)
    units = np.bincount(product, weights=quantity, minlength=len(store.products))
    lines = np.sort(np.bincount(product, minlength=len(store.products)))[::-1]
    assert lines[:20].sum() > 0.35 * lines.sum()  # top 10% of products
    week = _day_index(store.orders.column("ordered_at"), truth.start_date) // 7
    weeks_with_sales = np.array([np.unique(week[product == p]).size for p in range(len(store.products))])
    average_demand_interval = 52 / np.maximum(weeks_with_sales, 1)
    assert (average_demand_interval > 1.32).mean() > 0.3  # intermittent demand exists ...
    assert (average_demand_interval <= 1.32).sum() >= 5  # ... and so do regular sellers
    assert np.median(average_demand_interval[truth.product_lumpy]) > 4  # slow movers bought in bulk
    bulk = truth.product_lumpy[product]
    assert quantity[bulk].mean() > 3 * quantity[~bulk].mean()
    new = truth.product_launch_day >= DAYS - 30
    assert new.sum() >= 3
    assert units[new].mean() < 0.2 * units[~new & (truth.product_end_day >= DAYS)].mean()


def test_taste_clusters_correlate_mildly_with_demographics(store: DemoStore) -> None:
    truth = store.truth
    gender = store.customers.column("gender")
    birth_year = np.array([year or 0 for year in store.customers.column("birth_year")])
    beauty = truth.customer_cluster == truth.cluster_names.index("beauty and style")
    female_overall = (gender == "F").mean()
    assert female_overall + 0.15 < (gender[beauty] == "F").mean() < 0.97
    parents = truth.customer_cluster == truth.cluster_names.index("young parents")
    gardeners = truth.customer_cluster == truth.cluster_names.index("gardeners")
    known = birth_year > 0
    assert birth_year[parents & known].mean() > birth_year[gardeners & known].mean() + 3
    sizes = np.bincount(truth.customer_cluster, minlength=len(truth.cluster_names))
    assert sizes.min() > 0.03 * len(store.customers)  # every cluster is populated


def test_a_few_customers_have_not_consented_to_personalization(store: DemoStore) -> None:
    consent = store.customers.column("personalization_consent")
    assert 0 < (~consent).sum() < 0.1 * consent.size


def test_online_purchases_are_preceded_by_views_and_carts_and_some_sessions_are_anonymous(store: DemoStore) -> None:
    events = store.events
    customer, session = events.codes("customer_id"), events.codes("session_id")
    product, kind = events.codes("product_id"), events.column("event_type")
    seconds = events.column("occurred_at").astype(np.int64)
    first_seen: dict[tuple[int, int, int, str], int] = {}
    for c, s, p, k, t in zip(customer, session, product, kind, seconds, strict=True):
        first_seen.setdefault((int(c), int(s), int(p), str(k)), int(t))
    purchases = [(key, t) for key, t in first_seen.items() if key[3] == "purchase"]
    assert len(purchases) > 1000
    viewed_before = [first_seen.get((*key[:3], "view"), 1 << 62) < t for key, t in purchases]
    carted_before = [first_seen.get((*key[:3], "cart"), 1 << 62) < t for key, t in purchases]
    assert all(viewed_before)
    assert np.mean(carted_before) > 0.8
    anonymous = customer < 0
    assert anonymous.any() and (session[anonymous] >= 0).all()
    assert 0.02 < anonymous.mean() < 0.5
    # Browsing without buying: more viewed products than purchased ones.
    assert (kind == "view").sum() > 2 * (kind == "purchase").sum()
    assert {"wishlist", "rating"} <= set(kind.tolist())


def test_more_customers_and_more_activity_scale_the_counts(store: DemoStore) -> None:
    small = generate_store(customers=600, products=200, days=DAYS, seed=7, end_date=END)
    assert len(small.customers) == 600
    assert 1.8 < len(store.orders) / len(small.orders) < 3.3  # 2.5 times the customers
    busier = generate_store(customers=600, products=200, days=DAYS, seed=7, end_date=END, activity=2.0)
    assert 1.7 < len(busier.orders) / len(small.orders) < 2.3
    assert 1.7 < len(busier.events) / len(small.events) < 2.3


# ------------------------------------------------------------------------------------------ catalog coherence

# What a shopper would find absurd, written out by hand (not taken from the generator's word lists).
IMPLAUSIBLE_NAMES = ("Glass Rug", "Steel Shower Curtain", "Glass Chef's Knife", "Denim Laptop", "Leather Mug")
# (cheaper noun, dearer noun): every product of the first must cost less than any product of the second.
PRICE_ORDER = (
    ("Mouse", "Laptop"),
    ("Phone Case", "Smartphone"),
    ("USB Drive", "External SSD"),
    ("Trowel", "Garden Bench"),
    ("Mug", "Espresso Machine"),
    ("Sports Socks", "Tent"),
)


def test_product_names_pair_each_noun_with_a_material_that_fits_it() -> None:
    store = generate_store(customers=200, products=3000, days=60, seed=3, end_date=END)
    names = store.products.column("name").astype(str)
    for phrase in IMPLAUSIBLE_NAMES:
        assert not any(phrase in name for name in names), phrase
    # every rug is woven from a fibre, every chef's knife is steel
    rugs = [name for name in names if name.split(",")[0].endswith(" Rug")]
    knives = [name for name in names if "Chef's Knife" in name]
    assert rugs and all(any(f in name for f in ("Wool", "Jute", "Cotton")) for name in rugs)
    assert knives and all("Steel" in name for name in knives)


def test_prices_are_realistic_for_what_each_product_is() -> None:
    store = generate_store(customers=200, products=3000, days=60, seed=3, end_date=END)
    names = store.products.column("name").astype(str)
    prices = store.products.column("price").astype(float)
    assert prices.min() >= 0.99 and prices.max() < 3000

    def priced(noun: str) -> np.ndarray:
        return prices[np.array([f" {noun}" in f" {name.split(',')[0]}" for name in names])]

    for cheaper, dearer in PRICE_ORDER:
        low, high = priced(cheaper), priced(dearer)
        assert len(low) and len(high), (cheaper, dearer)
        assert low.max() < high.min(), (cheaper, dearer, low.max(), high.min())
    assert priced("Laptop").min() >= 400  # no $76.99 laptop
    # within each kind of book, a hardcover costs more than any paperback
    categories = store.products.column("category").astype(str)
    for category in ("Books > Fiction", "Books > Cookbooks", "Books > Travel Guides"):
        books = categories == category
        hard = prices[books & np.char.endswith(names, "(Hardcover)")]
        paper = prices[books & np.char.endswith(names, "(Paperback)")]
        assert len(hard) and len(paper), category
        assert paper.max() < hard.min(), category
