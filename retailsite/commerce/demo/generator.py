"""A realistic synthetic store, generated with vectorized numpy from a seed.

What is planted (and what the recommendation, forecasting and inventory work can measure on it):

- a two-level category tree with brands, readable names and descriptions assembled from word lists;
- customers with demographics and a latent taste cluster (mildly linked to age, gender and region) that
  decides which categories they buy from; within a category each cluster has its own item preferences;
- Zipf-like popularity of items within categories and of categories overall;
- weekly seasonality (weekends busiest), yearly seasonality with holiday peaks, and category seasonality
  (garden in spring, camping in summer, toys at Christmas, fitness in January);
- consumables bought again at a regular interval per product; intermittent slow movers bought in bulk;
  new products launched in the last month; discontinued products;
- prices that change over time (promotions, permanent changes) with a demand response per product
  (demand ~ (price / base price) ** -elasticity), so elasticity can be estimated;
- baskets with planted "frequently bought together" pairs;
- views and cart events before online purchases, browsing sessions without purchase, anonymous sessions,
  wishlists and ratings (higher for items that suit the customer's taste);
- a social graph with homophily (people mostly follow people of their own taste cluster) and a little
  social influence (some purchases copy what a followed customer bought earlier);
- a few customers without personalization consent; stock rows for inventory planning.

The same arguments give byte-identical CSVs. Each stage draws from its own random stream, so a change
in one stage does not reshuffle the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from domain.events import EVENT_TYPES

from .tables import Coded, DemoStore, DemoTruth, Table
from .vocabulary import (
    CITIES,
    COLORS,
    DEPARTMENTS,
    EMAIL_DOMAINS,
    FEMALE_FIRST_NAMES,
    LAST_NAMES,
    MALE_FIRST_NAMES,
    MATERIAL_PRICE,
    NEUTRAL_FIRST_NAMES,
    SUBCATEGORIES,
    SUPPLIERS,
    TASTE_CLUSTERS,
)

DEFAULT_CUSTOMERS = 2_000
DEFAULT_PRODUCTS = 300
DEFAULT_DAYS = 365
DEFAULT_SEED = 42

SECONDS_PER_DAY = 86_400
CHANNELS = ("web", "app", "store")
VIEW, CART, WISHLIST, PURCHASE, RATING = range(len(EVENT_TYPES))  # positions in EVENT_TYPES

# Relative order volume Monday..Sunday: weekends are the busiest days.
WEEKDAY_FACTORS = np.array([0.92, 0.88, 0.9, 0.95, 1.05, 1.22, 1.18])
# Relative activity per hour of day (UTC is used as the store's local time).
ONLINE_HOURS = np.array(
    [
        0.3,
        0.2,
        0.1,
        0.1,
        0.1,
        0.2,
        0.5,
        0.9,
        1.2,
        1.4,
        1.5,
        1.6,
        1.8,
        1.7,
        1.5,
        1.5,
        1.6,
        1.8,
        2.2,
        2.6,
        2.8,
        2.5,
        1.8,
        0.9,
    ]
)
STORE_HOURS = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0.8, 1.2, 1.5, 1.8, 1.6, 1.4, 1.4, 1.6, 1.9, 1.7, 1.1, 0, 0, 0, 0])
# Demand responds to price as (price / base price) ** -elasticity, capped so that rejection sampling stays cheap.
MAX_PRICE_RESPONSE = 3.0

_STAGES = (
    "catalog",
    "prices",
    "customers",
    "social",
    "sampler",
    "orders",
    "influence",
    "bundles",
    "repeats",
    "events",
    "stock",
)


def generate_store(
    *, customers: int, products: int, days: int, seed: int, end_date: date, activity: float = 1.0
) -> DemoStore:
    """Generate a store with `customers` and `products` and `days` of history ending on `end_date` (inclusive).

    `activity` scales purchases, browsing and anonymous traffic (1.0: about 6 order lines and 35 events per
    customer and year). The final day always has at least one order, so the window can be read back from data.
    """
    if customers < 1 or products < 1:
        raise ValueError("a demo store needs at least one customer and one product")
    if days < 7:
        raise ValueError("a demo store needs at least 7 days of history")
    if activity <= 0:
        raise ValueError("activity must be positive")
    streams = np.random.SeedSequence(seed).spawn(len(_STAGES))
    rng = {name: np.random.default_rng(stream) for name, stream in zip(_STAGES, streams, strict=True)}

    calendar = _Calendar.build(end_date=end_date, days=days)
    catalog = _build_catalog(rng["catalog"], products, calendar)
    weekly_price, regular_price = _price_schedule(rng["prices"], catalog, calendar)
    catalog.table.columns["price"] = regular_price[:, -1]  # today's regular (not promotional) price
    people = _build_customers(rng["customers"], customers, calendar, catalog, activity)
    follows = _build_social(rng["social"], people)
    sampler = _ProductSampler.build(rng["sampler"], catalog, weekly_price, calendar)
    basket = _build_orders(rng, calendar, catalog, people, follows, sampler)
    orders_table, line_days = basket.finish(calendar, catalog, weekly_price)
    events_table = _build_events(rng["events"], calendar, catalog, people, sampler, basket, activity)
    stock_table = _build_stock(rng["stock"], calendar, catalog, regular_price, orders_table, line_days)

    truth = DemoTruth(
        start_date=calendar.start,
        end_date=calendar.end,
        category_paths=tuple(sub.path for sub in SUBCATEGORIES),
        cluster_names=tuple(cluster.name for cluster in TASTE_CLUSTERS),
        cluster_categories=tuple(cluster.core for cluster in TASTE_CLUSTERS),
        customer_cluster=people.cluster,
        customer_region=people.region,
        product_category=catalog.subcategory,
        product_popularity=catalog.popularity,
        product_elasticity=catalog.elasticity,
        product_base_price=catalog.base_price,
        product_launch_day=catalog.launch_day,
        product_end_day=catalog.end_day,
        product_repurchase_days=catalog.repurchase_days,
        product_lumpy=catalog.lumpy,
        weekly_price=weekly_price,
        bundles=basket.bundles,
    )
    return DemoStore(
        customers=people.table,
        products=catalog.table,
        orders=orders_table,
        events=events_table,
        social=_social_table(follows, people),
        stock=stock_table,
        truth=truth,
    )


# --------------------------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class _Calendar:
    start: date
    end: date
    days: int
    day_start: np.ndarray  # unix seconds of each day's midnight (UTC)
    day_of_year: np.ndarray
    weekday: np.ndarray  # 0 = Monday
    volume: np.ndarray  # relative order volume per day (weekly, yearly and holiday effects)
    season: np.ndarray  # (days, subcategories) multiplicative category seasonality, yearly mean 1

    @property
    def weeks(self) -> int:
        return (self.days + 6) // 7

    @property
    def end_seconds(self) -> int:
        return int(self.day_start[-1]) + SECONDS_PER_DAY

    @classmethod
    def build(cls, *, end_date: date, days: int) -> _Calendar:
        start = end_date - timedelta(days=days - 1)
        epoch = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
        day_start = int(epoch) + SECONDS_PER_DAY * np.arange(days, dtype=np.int64)
        dates = np.arange(np.datetime64(start.isoformat()), np.datetime64(start.isoformat()) + days)
        years = dates.astype("datetime64[Y]")
        day_of_year = (dates - years).astype(int) + 1
        weekday = (dates.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        yearly = 1.0 + 0.12 * np.cos(2 * np.pi * (day_of_year - 350) / 365.25)
        volume = WEEKDAY_FACTORS[weekday] * yearly * _holiday_factors(start, days)
        season = np.empty((days, len(SUBCATEGORIES)))
        departments = {department.name: department for department in DEPARTMENTS}
        grid = np.arange(1, 366)
        for index, sub in enumerate(SUBCATEGORIES):
            department = departments[sub.department]
            peak = department.season_peak_day if sub.season_peak_day is None else sub.season_peak_day
            strength = department.season_strength if sub.season_strength is None else sub.season_strength
            norm = np.exp(strength * np.cos(2 * np.pi * (grid - peak) / 365.25)).mean()
            season[:, index] = np.exp(strength * np.cos(2 * np.pi * (day_of_year - peak) / 365.25)) / norm
        return cls(
            start=start,
            end=end_date,
            days=days,
            day_start=day_start,
            day_of_year=day_of_year,
            weekday=weekday,
            volume=volume,
            season=season,
        )


def _holiday_factors(start: date, days: int) -> np.ndarray:
    factors = np.ones(days)

    def bump(day: date, factor: float) -> None:
        index = (day - start).days
        if 0 <= index < days:
            factors[index] *= factor

    for year in range(start.year, (start + timedelta(days=days)).year + 1):
        november_first = date(year, 11, 1)
        thanksgiving = november_first + timedelta(days=(3 - november_first.weekday()) % 7 + 21)
        black_friday = thanksgiving + timedelta(days=1)
        for offset, factor in ((0, 1.9), (1, 1.35), (2, 1.25), (3, 1.6), (-1, 0.7)):
            bump(black_friday + timedelta(days=offset), factor)
        for day_of_month in range(1, 23):
            bump(date(year, 12, day_of_month), 1.18)
        for day_of_month, factor in ((24, 0.8), (25, 0.35), (26, 1.15), (31, 0.8)):
            bump(date(year, 12, day_of_month), factor)
        bump(date(year, 1, 1), 0.5)
    return factors


# ---------------------------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class _Catalog:
    table: Table
    subcategory: np.ndarray  # products are sorted by subcategory
    department: np.ndarray
    brand: np.ndarray  # index into the department's brand list, made global
    brand_names: tuple[str, ...]
    popularity: np.ndarray
    base_price: np.ndarray
    cost: np.ndarray
    elasticity: np.ndarray
    launch_day: np.ndarray
    end_day: np.ndarray
    repurchase_days: np.ndarray
    lumpy: np.ndarray
    subcategory_start: np.ndarray  # (subcategories + 1,) row offsets
    ids: np.ndarray

    @property
    def size(self) -> int:
        return len(self.subcategory)

    def has_products(self) -> np.ndarray:
        return np.diff(self.subcategory_start) > 0


def numbered_ids(prefix: str, count: int, *, width: int) -> np.ndarray:
    """`prefix` + 1..count zero-padded to `width` digits (more when needed), e.g. P00001; built without a loop."""
    width = max(width, len(str(count)))
    digits = (np.arange(1, count + 1)[:, None] // 10 ** np.arange(width - 1, -1, -1)[None, :]) % 10
    matrix = np.hstack(
        [
            np.full((count, len(prefix)), 0, dtype=np.uint8) + np.frombuffer(prefix.encode(), np.uint8),
            (digits + ord("0")).astype(np.uint8),
        ]
    )
    return np.ascontiguousarray(matrix).view(f"S{matrix.shape[1]}").ravel().astype(str)


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` in proportion to `weights` (largest remainder), at least one each when possible."""
    if total >= len(weights):
        counts = np.ones(len(weights), dtype=np.int64)
        rest = total - len(weights)
    else:
        counts = np.zeros(len(weights), dtype=np.int64)
        rest = total
    exact = weights / weights.sum() * rest
    counts += np.floor(exact).astype(np.int64)
    remainder = total - counts.sum()
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    counts[order[:remainder]] += 1
    return counts


def _charm_price(price: np.ndarray) -> np.ndarray:
    """Round to a shelf price ending in .99 (0.99 at least)."""
    return np.maximum(np.round(price) - 0.01, 0.99).round(2)


def _build_catalog(rng: np.random.Generator, n_products: int, calendar: _Calendar) -> _Catalog:
    subcategories = SUBCATEGORIES
    department_index = {department.name: index for index, department in enumerate(DEPARTMENTS)}
    counts = _allocate(n_products, np.array([sub.catalog_weight for sub in subcategories]))
    subcategory = np.repeat(np.arange(len(subcategories)), counts)
    subcategory_start = np.concatenate([[0], np.cumsum(counts)])
    department = np.array([department_index[subcategories[s].department] for s in subcategory], dtype=np.int64)
    n = n_products

    # Zipf within each category: a random rank per product, weight 1 / rank, with some noise.
    rank = np.empty(n)
    for s in range(len(subcategories)):
        lo, hi = subcategory_start[s], subcategory_start[s + 1]
        rank[lo:hi] = rng.permutation(hi - lo) + 1
    popularity = rank**-1.05 * rng.lognormal(0.0, 0.25, n)
    lumpy = rng.random(n) < 0.04
    popularity[lumpy] *= 0.08  # intermittent slow movers: rare orders, bought in bulk

    # Brands per department, with Zipf-like brand shares and a price tier per brand.
    brand_names: list[str] = []
    brand_offset = []
    for dep in DEPARTMENTS:
        brand_offset.append(len(brand_names))
        brand_names.extend(dep.brands)
    brand_tier = rng.lognormal(0.0, 0.15, len(brand_names))
    brand = np.empty(n, dtype=np.int64)
    for d, dep in enumerate(DEPARTMENTS):
        rows = np.flatnonzero(department == d)
        shares = 1.0 / np.arange(1, len(dep.brands) + 1) ** 0.8
        brand[rows] = brand_offset[d] + rng.choice(len(dep.brands), size=rows.size, p=shares / shares.sum())

    # Each product is one noun of its subcategory in one of the materials (formats, sizes) that fit that noun, and
    # for packaged goods one pack size. Its price is the noun's typical price for that material and pack, moved
    # by brand tier and a little noise within a band (0.85x-1.25x), so a laptop never costs less than a mouse
    # and a hardcover never less than the paperback of a similar title.
    noun = np.empty(n, dtype=np.int64)
    material = rng.integers(0, 1 << 30, n)
    variant = rng.integers(0, 1 << 30, n)
    typical_price = np.empty(n)
    for s, sub in enumerate(subcategories):
        lo, hi = subcategory_start[s], subcategory_start[s + 1]
        noun[lo:hi] = rng.integers(0, len(sub.nouns), hi - lo)
        for i in range(lo, hi):
            kind = sub.nouns[noun[i]]
            material[i] %= len(kind.materials)
            variant[i] = variant[i] % len(kind.variants) if kind.variants else -1
            pack_factor = kind.variants[variant[i]][1] if kind.variants else 1.0
            typical_price[i] = kind.price * MATERIAL_PRICE.get(kind.materials[material[i]], 1.0) * pack_factor
    spread = np.clip(brand_tier[brand] * rng.lognormal(0.0, 0.1, n), 0.85, 1.25)
    base_price = _charm_price(typical_price * spread)
    cost = (base_price * rng.uniform(0.42, 0.68, n)).round(2)
    elasticity = np.array([dep.elasticity for dep in DEPARTMENTS])[department] * rng.lognormal(0.0, 0.2, n)
    repurchase_days = np.array([sub.repurchase_days for sub in subcategories])[subcategory]

    # Launches: most products predate the window; some launch during it, some in its last month.
    days = calendar.days
    launch_day = np.full(n, -1, dtype=np.int64)
    draw = rng.random(n)
    recent = draw < 0.05
    launch_day[recent] = days - rng.integers(1, min(30, days - 1) + 1, recent.sum())
    during = (draw >= 0.05) & (draw < 0.12)
    if days > 60:
        launch_day[during] = rng.integers(30, days - 30, during.sum())
    end_day = np.full(n, days, dtype=np.int64)
    discontinued = (~recent) & (rng.random(n) < 0.03)
    end_day[discontinued] = rng.integers(int(days * 0.4), int(days * 0.9) + 1, discontinued.sum())
    end_day = np.maximum(end_day, launch_day + 7)
    active = end_day >= days

    names, descriptions, tags = _product_texts(rng, subcategory, noun, material, variant, brand, brand_names)
    ids = numbered_ids("P", n, width=5)
    table = Table(
        {
            "product_id": ids,
            "name": np.array(names, dtype=object),
            "description": np.array(descriptions, dtype=object),
            "category": np.array([subcategories[s].path for s in subcategory], dtype=object),
            "brand": np.array(brand_names, dtype=object)[brand],
            "tags": _object_array(tags),
            "price": base_price.copy(),  # replaced by the current regular price once prices are known
            "cost": cost,
            "active": active,
        }
    )
    return _Catalog(
        table=table,
        subcategory=subcategory,
        department=department,
        brand=brand,
        brand_names=tuple(brand_names),
        popularity=popularity,
        base_price=base_price,
        cost=cost,
        elasticity=elasticity,
        launch_day=launch_day,
        end_day=end_day,
        repurchase_days=repurchase_days,
        lumpy=lumpy,
        subcategory_start=subcategory_start,
        ids=ids,
    )


def _object_array(items: list) -> np.ndarray:
    """A 1-D object array (element by element, so that lists of equal length stay list elements)."""
    array = np.empty(len(items), dtype=object)
    for index, item in enumerate(items):
        array[index] = item
    return array


# Subcategories whose products come in colours (named "..., Sage").
COLORED = frozenset({"Bedding", "Decor", "Bath", "Women", "Men", "Shoes", "Accessories"})


def _product_texts(
    rng: np.random.Generator,
    subcategory: np.ndarray,
    noun: np.ndarray,
    material: np.ndarray,
    variant: np.ndarray,
    brand: np.ndarray,
    brand_names: list[str],
) -> tuple[list[str], list[str], list[list[str]]]:
    departments = {department.name: department for department in DEPARTMENTS}
    n = len(subcategory)
    picks = rng.integers(0, 1 << 30, size=(n, 8))  # one row of choices per product, drawn at once
    names, descriptions, tags = [], [], []
    seen: dict[str, int] = {}
    for i in range(n):
        sub = SUBCATEGORIES[subcategory[i]]
        dep = departments[sub.department]
        kind = sub.nouns[noun[i]]
        pick = picks[i]
        adjectives = kind.adjectives or sub.adjectives or dep.adjectives
        adjective = adjectives[pick[0] % len(adjectives)]
        material_word = kind.materials[material[i]]
        brand_name = brand_names[brand[i]]
        variant_word = kind.variants[variant[i]][0] if variant[i] >= 0 else ""
        name = sub.name_template.format(
            brand=brand_name, adj=adjective, material=material_word, noun=kind.name, variant=variant_word
        )
        color = None
        if sub.name in COLORED and pick[3] % 2 == 0:
            color = COLORS[pick[4] % len(COLORS)]
            name = f"{name}, {color}"
        copies = seen.get(name, 0)
        seen[name] = copies + 1
        if copies:
            name = f"{name} {_edition(copies + 1)}"
        names.append(name)

        first, second = (sub.features[(pick[5] + k) % len(sub.features)] for k in (0, 1 + pick[6] % 2))
        if sub.department == "Books":
            opening = f"A {sub.name.lower().rstrip('s')} title from {brand_name}, in {material_word.lower()}."
        elif sub.department == "Electronics":
            opening = f"The {material_word} {kind.name} {adjective} from {brand_name}."
        else:
            opening = f"The {adjective.lower()} {material_word.lower()} {kind.name.lower()} from {brand_name}."
        closing = dep.uses[pick[7] % len(dep.uses)]
        descriptions.append(f"{opening} It offers {first} and {second}. {closing}")
        product_tags = [sub.tags[pick[5] % len(sub.tags)], sub.tags[(pick[5] + 1) % len(sub.tags)]]
        product_tags.append(material_word.lower())
        if color:
            product_tags.append(color.lower())
        if dep.season_strength >= 0.7:
            product_tags.append("seasonal")
        tags.append(product_tags)
    return names, descriptions, tags


def _edition(number: int) -> str:
    roman = {2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII", 8: "VIII", 9: "IX", 10: "X"}
    return roman.get(number, f"No. {number}")


def _price_schedule(rng: np.random.Generator, catalog: _Catalog, calendar: _Calendar) -> tuple[np.ndarray, np.ndarray]:
    """Weekly shelf prices (with promotions) and regular prices (without), both (products, weeks)."""
    n, weeks = catalog.size, calendar.weeks
    week = np.arange(weeks)
    regular = np.repeat(catalog.base_price[:, None], weeks, axis=1)
    changed = rng.random(n) < 0.35
    change_week = rng.integers(1, max(weeks, 2), n)
    change = np.where(rng.random(n) < 0.8, rng.uniform(1.03, 1.12, n), rng.uniform(0.8, 0.95, n))
    factor = np.where(changed[:, None] & (week[None, :] >= change_week[:, None]), change[:, None], 1.0)
    regular = _charm_price(regular * factor)

    discount = np.zeros((n, weeks))
    promotions = rng.poisson(weeks / 26.0, n)  # about two promotions a year per product
    product = np.repeat(np.arange(n), promotions)
    start = rng.integers(0, weeks, product.size)
    depth = rng.uniform(0.1, 0.3, product.size)
    two_weeks = rng.random(product.size) < 0.4
    np.maximum.at(discount, (product, start), depth)
    np.maximum.at(discount, (product[two_weeks], np.minimum(start[two_weeks] + 1, weeks - 1)), depth[two_weeks])
    # Black Friday week: most electronics and some other products are discounted.
    electronics = np.array([dep.name == "Electronics" for dep in DEPARTMENTS])[catalog.department]
    for year in range(calendar.start.year, calendar.end.year + 1):
        november_first = date(year, 11, 1)
        black_friday = november_first + timedelta(days=(3 - november_first.weekday()) % 7 + 22)
        index = (black_friday - calendar.start).days
        if 0 <= index < calendar.days:
            chosen = np.where(electronics, rng.random(n) < 0.6, rng.random(n) < 0.15)
            discount[chosen, index // 7] = np.maximum(discount[chosen, index // 7], rng.uniform(0.15, 0.3))
    shelf = np.where(discount > 0, _charm_price(regular * (1 - discount)), regular)
    return shelf, regular


# -------------------------------------------------------------------------------------------- customers


@dataclass(frozen=True)
class _People:
    table: Table
    cluster: np.ndarray
    region: np.ndarray
    taste: np.ndarray  # (customers, subcategories), rows sum to 1
    cluster_taste: np.ndarray  # (clusters, subcategories): the clusters' average taste
    core: np.ndarray  # (clusters, subcategories) bool
    signed_up_at: np.ndarray  # unix seconds
    active_from: np.ndarray  # first day index they can buy
    active_until: np.ndarray  # day index from which they no longer buy (churned) or `days`
    orders_per_year: np.ndarray
    preferred_channel: np.ndarray
    repurchase_pace: np.ndarray  # multiplies consumables' repurchase intervals
    ids: np.ndarray

    @property
    def size(self) -> int:
        return len(self.cluster)


def _build_customers(
    rng: np.random.Generator, n: int, calendar: _Calendar, catalog: _Catalog, activity: float
) -> _People:
    days = calendar.days
    # Sign-up: most customers predate the window; newcomers arrive at a growing rate.
    existing = rng.random(n) < 0.7
    growth = 1.0
    u = rng.random(n)
    newcomer_day = (-1 + np.sqrt(1 + 2 * growth * (1 + growth / 2) * u)) / growth * days
    signup_day = np.where(existing, -rng.uniform(1, 3 * 365, n), newcomer_day)
    order = np.argsort(signup_day, kind="stable")  # customer ids follow sign-up order
    signup_day = signup_day[order]
    signup_seconds = (calendar.day_start[0] + np.floor(signup_day * SECONDS_PER_DAY)).astype(np.int64)
    active_from = np.clip(np.floor(signup_day), 0, days - 1).astype(np.int64)
    active_until = np.minimum(days, active_from + np.ceil(rng.exponential(600.0, n))).astype(np.int64)

    gender = rng.choice(np.array(["F", "M", "X", ""]), size=n, p=[0.5, 0.45, 0.02, 0.03])
    age = np.clip(np.round(rng.normal(42, 14, n)), 18, 85).astype(np.int64)
    birth_year = calendar.end.year - age
    birth_known = rng.random(n) >= 0.04
    city_weights = np.array([city[3] for city in CITIES])
    city = rng.choice(len(CITIES), size=n, p=city_weights / city_weights.sum())
    region = np.array([c[2] for c in CITIES])[city]

    # Taste cluster: a softmax over base logits plus mild demographic effects (Gumbel-max sampling).
    features = {
        "young": age < 30,
        "family": (age >= 28) & (age < 45),
        "senior": age >= 55,
        "F": gender == "F",
        "M": gender == "M",
    }
    logits = np.zeros((n, len(TASTE_CLUSTERS)))
    for k, cluster in enumerate(TASTE_CLUSTERS):
        logits[:, k] = cluster.base_logit
        for key, effect in cluster.demographic_logits:
            logits[:, k] += effect * features.get(key, region == key)
    cluster_of = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)

    taste, core = _tastes(rng, cluster_of, catalog)
    cluster_taste = np.vstack(
        [
            taste[cluster_of == k].mean(axis=0) if (cluster_of == k).any() else core[k] / max(core[k].sum(), 1)
            for k in range(len(TASTE_CLUSTERS))
        ]
    )
    cluster_factor = np.array([cluster.orders_per_year_factor for cluster in TASTE_CLUSTERS])[cluster_of]
    orders_per_year = rng.gamma(1.3, 4.2 / 1.3, n) * cluster_factor * activity
    preferred_channel = rng.choice(3, size=n, p=[0.55, 0.3, 0.15])
    consent = rng.random(n) >= 0.03
    if n >= 20 and consent.all():
        consent[rng.integers(n)] = False

    ids = numbered_ids("C", n, width=6)
    names, emails, phones = _people_texts(rng, gender, ids)
    table = Table(
        {
            "customer_id": ids,
            "email": np.array(emails, dtype=object),
            "name": np.array(names, dtype=object),
            "phone": np.array(phones, dtype=object),
            "birth_year": _object_array(
                [
                    int(year) if known else None
                    for year, known in zip(birth_year.tolist(), birth_known.tolist(), strict=True)
                ]
            ),
            "gender": gender,
            "city": np.array([c[0] for c in CITIES])[city],
            "country": np.array([c[1] for c in CITIES])[city],
            "signed_up_at": signup_seconds.astype("datetime64[s]"),
            "personalization_consent": consent,
        }
    )
    return _People(
        table=table,
        cluster=cluster_of,
        region=region,
        taste=taste,
        cluster_taste=cluster_taste,
        core=core,
        signed_up_at=signup_seconds,
        active_from=active_from,
        active_until=active_until,
        orders_per_year=orders_per_year,
        preferred_channel=preferred_channel,
        repurchase_pace=rng.lognormal(0.0, 0.2, n),
        ids=ids,
    )


def _tastes(rng: np.random.Generator, cluster_of: np.ndarray, catalog: _Catalog) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer weights over subcategories: mostly their cluster's core, a little of a second cluster and of
    the overall (Zipf-like) category popularity."""
    n, n_sub, n_clusters = len(cluster_of), len(SUBCATEGORIES), len(TASTE_CLUSTERS)
    path_index = {sub.path: index for index, sub in enumerate(SUBCATEGORIES)}
    available = catalog.has_products()
    core = np.zeros((n_clusters, n_sub), dtype=bool)
    for k, cluster in enumerate(TASTE_CLUSTERS):
        core[k, [path_index[path] for path in cluster.core]] = True
    core &= available[None, :]
    weights = np.array([sub.catalog_weight for sub in SUBCATEGORIES])
    overall = weights * (rng.permutation(n_sub) + 1.0) ** -0.8 * available
    overall /= overall.sum()

    def core_mix(clusters: np.ndarray) -> np.ndarray:
        mix = rng.gamma(1.5, 1.0, (len(clusters), n_sub)) * core[clusters]
        total = mix.sum(axis=1, keepdims=True)
        return np.where(total > 0, mix / np.where(total > 0, total, 1), overall[None, :])

    primary = core_mix(cluster_of)
    second_cluster = (cluster_of + rng.integers(1, n_clusters, n)) % n_clusters
    has_second = rng.random(n) < 0.3
    secondary = core_mix(second_cluster)
    taste = (
        0.74 * primary
        + np.where(has_second[:, None], 0.12 * secondary, 0.0)
        + np.where(has_second[:, None], 0.14, 0.26) * overall[None, :]
    )
    return taste / taste.sum(axis=1, keepdims=True), core


def _people_texts(
    rng: np.random.Generator, gender: np.ndarray, ids: np.ndarray
) -> tuple[list[str], list[str], list[str]]:
    n = len(gender)
    picks = rng.integers(0, 1 << 30, size=(n, 4))
    names, emails, phones = [], [], []
    for i in range(n):
        pick = picks[i]
        pool = {"F": FEMALE_FIRST_NAMES, "M": MALE_FIRST_NAMES}.get(
            gender[i], (FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, NEUTRAL_FIRST_NAMES)[pick[3] % 3]
        )
        first = pool[pick[0] % len(pool)]
        last = LAST_NAMES[pick[1] % len(LAST_NAMES)]
        names.append(f"{first} {last}")
        number = int(ids[i][1:])
        emails.append(f"{first.lower()}.{last.lower()}.{number}@{EMAIL_DOMAINS[pick[2] % len(EMAIL_DOMAINS)]}")
        phones.append(f"+1-555-{(pick[2] >> 8) % 900 + 100:03d}-{number % 10000:04d}")
    return names, emails, phones


# ----------------------------------------------------------------------------------------------- social


@dataclass(frozen=True)
class _Follows:
    follower: np.ndarray  # sorted by follower, then followee
    followee: np.ndarray
    offsets: np.ndarray  # (customers + 1,) rows of each follower


def _build_social(rng: np.random.Generator, people: _People) -> _Follows:
    n = people.size
    out_degree = np.where(rng.random(n) < 0.35, 0, 1 + rng.negative_binomial(1, 0.28, n))
    out_degree = np.minimum(out_degree, min(60, n - 1))
    follower = np.repeat(np.arange(n), out_degree)
    # Some customers are followed a lot (influencers); active shoppers a little more.
    influence = rng.lognormal(0.0, 1.0, n) * np.sqrt(people.orders_per_year + 0.1)
    same_cluster = rng.random(follower.size) < 0.8  # homophily: most ties stay within a taste cluster
    followee = np.empty(follower.size, dtype=np.int64)
    by_cluster = np.argsort(people.cluster, kind="stable")
    followee[same_cluster] = _sample_grouped(
        rng, people.cluster[by_cluster], influence[by_cluster], people.cluster[follower[same_cluster]]
    )
    followee[same_cluster] = by_cluster[followee[same_cluster]]
    everyone = np.cumsum(influence) / influence.sum()
    followee[~same_cluster] = np.minimum(
        np.searchsorted(everyone, rng.random((~same_cluster).sum()), side="right"), n - 1
    )
    keep = follower != followee
    pairs = np.unique(follower[keep] * n + followee[keep])
    follower, followee = pairs // n, pairs % n
    offsets = np.searchsorted(follower, np.arange(n + 1))
    return _Follows(follower=follower, followee=followee, offsets=offsets)


def _sample_grouped(
    rng: np.random.Generator, group_of_item: np.ndarray, weight: np.ndarray, group_wanted: np.ndarray
) -> np.ndarray:
    """For each entry of `group_wanted`, draw an item of that group with probability ∝ weight.

    Items must be sorted by group; the group must have items. Returns item positions.
    """
    cdf = _grouped_cdf(group_of_item, weight)
    return np.searchsorted(cdf, group_wanted + _unit_draws(rng, len(group_wanted)), side="right")


def _unit_draws(rng: np.random.Generator, size: int) -> np.ndarray:
    """Uniform draws in [0, 1) kept clear of 1, so that `group + u` never rounds up into the next group."""
    return rng.random(size) * (1 - 1e-9)


def _grouped_cdf(group_of_item: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """group + the within-group cumulative share, increasing over items sorted by group: one searchsorted
    of `group + u` (u uniform in [0, 1)) then draws an item of that group."""
    cumulative = np.cumsum(weight)
    starts = np.searchsorted(group_of_item, group_of_item, side="left")
    ends = np.searchsorted(group_of_item, group_of_item, side="right") - 1
    before = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0.0)
    total = cumulative[ends] - before
    share = np.where(total > 0, (cumulative - before) / np.where(total > 0, total, 1), 1.0)
    return group_of_item + share


def _social_table(follows: _Follows, people: _People) -> Table:
    return Table(
        {"customer_id": Coded(follows.follower, people.ids), "follows_id": Coded(follows.followee, people.ids)}
    )


# ------------------------------------------------------------------------------------- choosing products


@dataclass(frozen=True)
class _ProductSampler:
    """Draws products for shoppers: a category from taste x season x the category's demand this week, then an
    item from the cluster's preferences, thinned by availability and the demand response to the week's price.

    The category's weekly demand is the cluster's preference-weighted response of its items, so a promotion (or a
    launch) adds sales rather than only shifting them within the category: an item's expected sales are
    proportional to its price response, which keeps the planted elasticity measurable.
    """

    cluster_cdf: np.ndarray  # (clusters, products) grouped CDFs over subcategories
    category_demand: np.ndarray  # (clusters, subcategories, weeks)
    price_response: np.ndarray  # (products, weeks) = min((price / base price) ** -elasticity, MAX_PRICE_RESPONSE)
    max_response: float
    launch_day: np.ndarray
    end_day: np.ndarray
    season: np.ndarray
    subcategory: np.ndarray

    @classmethod
    def build(
        cls, rng: np.random.Generator, catalog: _Catalog, weekly_price: np.ndarray, calendar: _Calendar
    ) -> _ProductSampler:
        median = np.array(
            [
                np.median(catalog.base_price[catalog.subcategory == s]) if count else 1.0
                for s, count in enumerate(np.diff(catalog.subcategory_start))
            ]
        )
        relative_price = catalog.base_price / median[catalog.subcategory]
        response = np.minimum(
            (weekly_price / catalog.base_price[:, None]) ** -catalog.elasticity[:, None], MAX_PRICE_RESPONSE
        )
        mid_week = np.arange(calendar.weeks) * 7 + 3
        selling = (catalog.launch_day[:, None] <= mid_week[None, :]) & (mid_week[None, :] < catalog.end_day[:, None])
        starts, ends = catalog.subcategory_start[:-1], catalog.subcategory_start[1:]
        cdfs, demand = [], []
        for cluster in TASTE_CLUSTERS:
            # Each cluster likes some items of a category more than others: the signal CF models learn.
            tilt = np.exp(0.8 * rng.normal(size=catalog.size))
            weight = catalog.popularity * tilt * relative_price**-cluster.price_sensitivity
            cdfs.append(_grouped_cdf(catalog.subcategory, weight))
            weighted = np.vstack([np.zeros((1, calendar.weeks)), np.cumsum(weight[:, None] * response * selling, 0)])
            total = np.concatenate([[0.0], np.cumsum(weight)])
            norm = total[ends] - total[starts]
            demand.append((weighted[ends] - weighted[starts]) / np.where(norm > 0, norm, 1)[:, None])
        return cls(
            cluster_cdf=np.vstack(cdfs),
            category_demand=np.stack(demand),
            price_response=response,
            max_response=float(response.max()),
            launch_day=catalog.launch_day,
            end_day=catalog.end_day,
            season=calendar.season,
            subcategory=catalog.subcategory,
        )

    def choose(
        self, rng: np.random.Generator, taste: np.ndarray, taste_row: np.ndarray, cluster: np.ndarray, day: np.ndarray
    ) -> np.ndarray:
        """One product per entry (-1 if none could be drawn)."""
        subcategory = self.choose_subcategory(rng, taste, taste_row, cluster, day)
        return self.choose_in_subcategory(rng, cluster, subcategory, day)

    def choose_subcategory(
        self, rng: np.random.Generator, taste: np.ndarray, taste_row: np.ndarray, cluster: np.ndarray, day: np.ndarray
    ) -> np.ndarray:
        result = np.empty(len(day), dtype=np.int64)
        chunk = 100_000
        for lo in range(0, len(day), chunk):
            hi = min(lo + chunk, len(day))
            weight = (
                taste[taste_row[lo:hi]]
                * self.season[day[lo:hi]]
                * self.category_demand[cluster[lo:hi], :, day[lo:hi] // 7]
            )
            cumulative = np.cumsum(weight, axis=1)
            target = rng.random(hi - lo) * cumulative[:, -1]
            result[lo:hi] = np.minimum((cumulative <= target[:, None]).sum(axis=1), weight.shape[1] - 1)
        return result

    def choose_in_subcategory(
        self, rng: np.random.Generator, cluster: np.ndarray, subcategory: np.ndarray, day: np.ndarray
    ) -> np.ndarray:
        product = np.full(len(day), -1, dtype=np.int64)
        pending = np.arange(len(day))
        for _ in range(80):  # rejection rounds; each accepts about half of what is left
            if pending.size == 0:
                break
            drawn = np.empty(pending.size, dtype=np.int64)
            for k in np.unique(cluster[pending]):
                rows = np.flatnonzero(cluster[pending] == k)
                target = subcategory[pending[rows]] + _unit_draws(rng, rows.size)
                drawn[rows] = np.searchsorted(self.cluster_cdf[k], target, side="right")
            drawn = np.minimum(drawn, len(self.subcategory) - 1)
            when = day[pending]
            available = (self.launch_day[drawn] <= when) & (when < self.end_day[drawn])
            accept = available & (rng.random(pending.size) * self.max_response < self.price_response[drawn, when // 7])
            product[pending[accept]] = drawn[accept]
            pending = pending[~accept]
        return product


def _sample_days(rng: np.random.Generator, intensity: np.ndarray, first: np.ndarray, until: np.ndarray) -> np.ndarray:
    """A day in [first, until) per entry, with probability ∝ intensity."""
    cumulative = np.concatenate([[0.0], np.cumsum(intensity)])
    target = cumulative[first] + rng.random(len(first)) * (cumulative[until] - cumulative[first])
    return np.clip(np.searchsorted(cumulative, target, side="right") - 1, first, until - 1)


def _customer_visits(
    rng: np.random.Generator, calendar: _Calendar, people: _People, per_year: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Visits (orders or browsing sessions) at `per_year` per customer inside their active window; the days follow
    the store's volume and the season of the customer's cluster's favourite categories. Returns (customer, day)."""
    n_clusters = len(TASTE_CLUSTERS)
    intensity = calendar.volume[None, :] * (people.cluster_taste @ calendar.season.T)
    cumulative = np.concatenate([np.zeros((n_clusters, 1)), np.cumsum(intensity, axis=1)], axis=1)
    window = cumulative[people.cluster, people.active_until] - cumulative[people.cluster, people.active_from]
    customer = np.repeat(np.arange(people.size), rng.poisson(per_year / 365.0 * window))
    day = np.empty(customer.size, dtype=np.int64)
    for k in range(n_clusters):
        rows = np.flatnonzero(people.cluster[customer] == k)
        day[rows] = _sample_days(
            rng, intensity[k], people.active_from[customer[rows]], people.active_until[customer[rows]]
        )
    return customer, day


def _after_sign_up(seconds: np.ndarray, customer: np.ndarray, people: _People, calendar: _Calendar) -> np.ndarray:
    """Times moved to at least five minutes after the customer signed up (still inside the window)."""
    return np.minimum(np.maximum(seconds, people.signed_up_at[customer] + 300), calendar.end_seconds - 1)


def _time_of_day(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    hours = np.where(
        channel == 2,
        rng.choice(24, size=len(channel), p=STORE_HOURS / STORE_HOURS.sum()),
        rng.choice(24, size=len(channel), p=ONLINE_HOURS / ONLINE_HOURS.sum()),
    )
    return hours * 3600 + rng.integers(0, 3600, len(channel))


# ----------------------------------------------------------------------------------------------- orders


@dataclass
class _Basket:
    """Orders (one entry per order) and their lines, before ids are assigned."""

    order_customer: np.ndarray
    order_day: np.ndarray
    order_seconds: np.ndarray
    order_channel: np.ndarray
    line_order: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray
    bundles: np.ndarray
    people: _People

    def finish(self, calendar: _Calendar, catalog: _Catalog, weekly_price: np.ndarray) -> tuple[Table, np.ndarray]:
        """Merge repeated products in an order, number orders by time; the orders table and each line's day."""
        # Orders whose every line fell through (nothing on sale in the chosen categories) are dropped.
        has_lines = np.bincount(self.line_order, minlength=self.order_day.size) > 0
        renumber = np.cumsum(has_lines) - 1
        self.line_order = renumber[self.line_order]
        self.order_customer, self.order_day, self.order_seconds, self.order_channel = (
            self.order_customer[has_lines],
            self.order_day[has_lines],
            self.order_seconds[has_lines],
            self.order_channel[has_lines],
        )
        n_products = catalog.size
        key = self.line_order.astype(np.int64) * n_products + self.line_product
        unique_key, inverse = np.unique(key, return_inverse=True)
        quantity = np.bincount(inverse, weights=self.line_quantity).astype(np.int64)
        line_order, line_product = unique_key // n_products, unique_key % n_products

        if self.order_day.size and self.order_day.max() < calendar.days - 1:
            last = int(np.argmax(self.order_seconds))  # the final day always has an order
            shift = (calendar.days - 1 - self.order_day[last]) * SECONDS_PER_DAY
            self.order_day[last] += shift // SECONDS_PER_DAY
            self.order_seconds[last] += shift
        chronological = np.lexsort((np.arange(self.order_seconds.size), self.order_seconds))
        rank = np.empty_like(chronological)
        rank[chronological] = np.arange(chronological.size)
        self.line_order = rank[line_order]
        self.line_product, self.line_quantity = line_product, quantity
        self.order_customer = self.order_customer[chronological]
        self.order_day = self.order_day[chronological]
        self.order_seconds = self.order_seconds[chronological]
        self.order_channel = self.order_channel[chronological]
        by_order = np.lexsort((self.line_product, self.line_order))
        self.line_order, self.line_product, self.line_quantity = (
            self.line_order[by_order],
            self.line_product[by_order],
            self.line_quantity[by_order],
        )

        order_ids = numbered_ids("O", self.order_day.size, width=7)
        day = self.order_day[self.line_order]
        table = Table(
            {
                "order_id": Coded(self.line_order, order_ids),
                "customer_id": Coded(self.order_customer[self.line_order], self.people.ids),
                "product_id": Coded(self.line_product, catalog.ids),
                "quantity": self.line_quantity,
                "ordered_at": self.order_seconds[self.line_order].astype("datetime64[s]"),
                "unit_price": weekly_price[self.line_product, day // 7],
                "channel": Coded(self.order_channel[self.line_order], np.array(CHANNELS)),
            }
        )
        return table, day


def _build_orders(
    rng: dict[str, np.random.Generator],
    calendar: _Calendar,
    catalog: _Catalog,
    people: _People,
    follows: _Follows,
    sampler: _ProductSampler,
) -> _Basket:
    orders_rng = rng["orders"]
    customer, day = _customer_visits(orders_rng, calendar, people, people.orders_per_year)
    channel = np.where(
        orders_rng.random(customer.size) < 0.8,
        people.preferred_channel[customer],
        orders_rng.choice(3, size=customer.size, p=[0.55, 0.3, 0.15]),
    )
    seconds = _after_sign_up(calendar.day_start[day] + _time_of_day(orders_rng, channel), customer, people, calendar)
    day = (seconds - calendar.day_start[0]) // SECONDS_PER_DAY

    lines_per_order = 1 + np.minimum(orders_rng.poisson(0.55, customer.size), 5)
    line_order = np.repeat(np.arange(customer.size), lines_per_order)
    line_customer, line_day = customer[line_order], day[line_order]
    line_product = sampler.choose(orders_rng, people.taste, line_customer, people.cluster[line_customer], line_day)
    keep = line_product >= 0
    line_order, line_customer, line_day, line_product = (
        line_order[keep],
        line_customer[keep],
        line_day[keep],
        line_product[keep],
    )

    line_product = _social_influence(rng["influence"], follows, line_customer, line_day, line_product, catalog)
    bundles = _plant_bundles(rng["bundles"], catalog)
    line_order, line_product = _add_bundle_lines(rng["bundles"], bundles, catalog, line_order, line_product, day)
    quantity = _quantities(orders_rng, catalog, line_product)

    repeat = _repeat_purchases(
        rng["repeats"], calendar, catalog, people, customer[line_order], day[line_order], line_product, quantity
    )
    repeat_customer, repeat_day, repeat_product, repeat_quantity = repeat
    repeat_channel = people.preferred_channel[repeat_customer]
    repeat_seconds = calendar.day_start[repeat_day] + _time_of_day(rng["repeats"], repeat_channel)
    first_repeat = customer.size
    return _Basket(
        order_customer=np.concatenate([customer, repeat_customer]),
        order_day=np.concatenate([day, repeat_day]),
        order_seconds=np.concatenate([seconds, repeat_seconds]),
        order_channel=np.concatenate([channel, repeat_channel]),
        line_order=np.concatenate([line_order, first_repeat + np.arange(repeat_customer.size)]),
        line_product=np.concatenate([line_product, repeat_product]),
        line_quantity=np.concatenate([quantity, repeat_quantity]),
        bundles=bundles,
        people=people,
    )


def _social_influence(
    rng: np.random.Generator,
    follows: _Follows,
    line_customer: np.ndarray,
    line_day: np.ndarray,
    line_product: np.ndarray,
    catalog: _Catalog,
) -> np.ndarray:
    """About 8% of lines copy a product that a followed customer bought earlier."""
    product = line_product.copy()
    degree = np.diff(follows.offsets)[line_customer]
    candidates = np.flatnonzero((degree > 0) & (rng.random(line_customer.size) < 0.08))
    if candidates.size == 0:
        return product
    chosen_followee = follows.followee[
        follows.offsets[line_customer[candidates]] + (rng.random(candidates.size) * degree[candidates]).astype(np.int64)
    ]
    by_customer = np.argsort(line_customer, kind="stable")
    line_offsets = np.searchsorted(line_customer[by_customer], np.arange(len(follows.offsets)))
    their_count = line_offsets[chosen_followee + 1] - line_offsets[chosen_followee]
    has_lines = their_count > 0
    candidates, chosen_followee, their_count = candidates[has_lines], chosen_followee[has_lines], their_count[has_lines]
    their_line = by_customer[
        line_offsets[chosen_followee] + (rng.random(candidates.size) * their_count).astype(np.int64)
    ]
    copied = line_product[their_line]
    earlier = (line_day[their_line] < line_day[candidates]) & (line_day[candidates] < catalog.end_day[copied])
    product[candidates[earlier]] = copied[earlier]
    return product


def _plant_bundles(rng: np.random.Generator, catalog: _Catalog) -> np.ndarray:
    """Pairs (anchor, complement) bought together: e.g. an espresso machine and coffee beans."""
    path_index = {sub.path: index for index, sub in enumerate(SUBCATEGORIES)}
    complement_of = np.array([path_index[sub.complement] for sub in SUBCATEGORIES])
    sizes = np.diff(catalog.subcategory_start)
    target = complement_of[catalog.subcategory]
    eligible = (sizes[target] > 1) | ((sizes[target] == 1) & (target != catalog.subcategory))
    eligible &= ~catalog.lumpy
    candidates = np.flatnonzero(eligible)
    n_bundles = min(candidates.size, max(1, round(catalog.size * 0.04)))
    if n_bundles == 0:
        return np.empty((0, 2), dtype=np.int64)
    weight = catalog.popularity[candidates]
    anchors = np.sort(rng.choice(candidates, size=n_bundles, replace=False, p=weight / weight.sum()))
    complements = np.empty(n_bundles, dtype=np.int64)
    for index, anchor in enumerate(anchors):
        s = target[anchor]
        options = np.arange(catalog.subcategory_start[s], catalog.subcategory_start[s + 1])
        options = options[(options != anchor) & ~catalog.lumpy[options]]
        if options.size == 0:
            options = np.array(
                [o for o in range(catalog.subcategory_start[s], catalog.subcategory_start[s + 1]) if o != anchor]
            )
        complements[index] = rng.choice(options)
    return np.column_stack([anchors, complements])


def _add_bundle_lines(
    rng: np.random.Generator,
    bundles: np.ndarray,
    catalog: _Catalog,
    line_order: np.ndarray,
    line_product: np.ndarray,
    order_day: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    if bundles.size == 0:
        return line_order, line_product
    bundle_of = np.full(catalog.size, -1, dtype=np.int64)
    bundle_of[bundles[:, 0]] = np.arange(len(bundles))
    anchor_lines = np.flatnonzero((bundle_of[line_product] >= 0) & (rng.random(line_product.size) < 0.45))
    complement = bundles[bundle_of[line_product[anchor_lines]], 1]
    day = order_day[line_order[anchor_lines]]
    sells = (catalog.launch_day[complement] <= day) & (day < catalog.end_day[complement])
    return (
        np.concatenate([line_order, line_order[anchor_lines[sells]]]),
        np.concatenate([line_product, complement[sells]]),
    )


def _quantities(rng: np.random.Generator, catalog: _Catalog, product: np.ndarray) -> np.ndarray:
    quantity = 1 + (rng.random(product.size) < 0.05)
    consumable = catalog.repurchase_days[product] > 0
    quantity = np.where(consumable, 1 + np.minimum(rng.poisson(0.35, product.size), 4), quantity)
    bulk = 2 + rng.geometric(0.22, product.size)
    return np.where(catalog.lumpy[product], bulk, quantity).astype(np.int64)


def _repeat_purchases(
    rng: np.random.Generator,
    calendar: _Calendar,
    catalog: _Catalog,
    people: _People,
    customer: np.ndarray,
    day: np.ndarray,
    product: np.ndarray,
    quantity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Consumables are bought again about every `repurchase_days` (per customer pace), in chains that stop at
    random, at churn, or when the product is discontinued."""
    starts = np.flatnonzero(
        (catalog.repurchase_days[product] > 0) & ~catalog.lumpy[product] & (rng.random(product.size) < 0.55)
    )
    chain_customer, chain_product, chain_quantity = customer[starts], product[starts], quantity[starts]
    current = day[starts].astype(np.float64)
    found: list[tuple[np.ndarray, ...]] = []
    while chain_customer.size:
        gap = (
            catalog.repurchase_days[chain_product]
            * people.repurchase_pace[chain_customer]
            * rng.gamma(8.0, 1 / 8.0, chain_customer.size)
        )
        current = current + np.maximum(gap, 1.0)
        next_day = np.floor(current).astype(np.int64)
        alive = (next_day < people.active_until[chain_customer]) & (next_day < catalog.end_day[chain_product])
        found.append((chain_customer[alive], next_day[alive], chain_product[alive], chain_quantity[alive]))
        go_on = alive & (rng.random(chain_customer.size) < 0.8)
        chain_customer, chain_product, chain_quantity, current = (
            chain_customer[go_on],
            chain_product[go_on],
            chain_quantity[go_on],
            current[go_on],
        )
    if not found:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty, empty
    parts = list(zip(*found, strict=True))
    return tuple(np.concatenate(part).astype(np.int64) for part in parts)  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------- events


def _build_events(
    rng: np.random.Generator,
    calendar: _Calendar,
    catalog: _Catalog,
    people: _People,
    sampler: _ProductSampler,
    basket: _Basket,
    activity: float,
) -> Table:
    parts: list[dict[str, np.ndarray]] = []
    next_session = 0

    # Online orders: views, then cart, then the purchase, in one session; some wishlists before, ratings after.
    online_order = basket.order_channel != 2
    session_of_order = np.full(basket.order_day.size, -1, dtype=np.int64)
    session_of_order[online_order] = next_session + np.arange(online_order.sum())
    next_session += int(online_order.sum())
    lines = np.flatnonzero(online_order[basket.line_order])
    order = basket.line_order[lines]
    customer, product = basket.order_customer[order], basket.line_product[lines]
    bought_at = basket.order_seconds[order]
    session = session_of_order[order]

    views = 1 + rng.poisson(0.6, lines.size)
    view_line = np.repeat(np.arange(lines.size), views)
    # Views happen up to an hour before the purchase, but not before the customer signed up (orders come at
    # least five minutes after sign-up).
    room = bought_at - people.signed_up_at[customer] - 30
    view_lead = np.minimum(rng.integers(60, 3600, view_line.size), room[view_line])
    parts.append(
        _events(customer[view_line], session[view_line], product[view_line], VIEW, bought_at[view_line] - view_lead)
    )
    carted = rng.random(lines.size) < 0.9
    parts.append(
        _events(
            customer[carted],
            session[carted],
            product[carted],
            CART,
            bought_at[carted] - rng.integers(15, 55, carted.sum()),
        )
    )
    parts.append(_events(customer, session, product, PURCHASE, bought_at))
    wished = rng.random(lines.size) < 0.05
    parts.append(
        _events(
            customer[wished],
            np.full(wished.sum(), -1),
            product[wished],
            WISHLIST,
            bought_at[wished] - rng.integers(SECONDS_PER_DAY, 20 * SECONDS_PER_DAY, wished.sum()),
        )
    )
    rated = rng.random(lines.size) < 0.12
    fits_taste = people.core[people.cluster[customer[rated]], catalog.subcategory[product[rated]]]
    stars = np.clip(np.round(rng.normal(np.where(fits_taste, 4.3, 3.5), 0.9)), 1, 5)
    parts.append(
        _events(
            customer[rated],
            np.full(rated.sum(), -1),
            product[rated],
            RATING,
            bought_at[rated] + rng.integers(2 * SECONDS_PER_DAY, 25 * SECONDS_PER_DAY, rated.sum()),
            value=stars,
        )
    )

    # Browsing without buying: known customers, about 1.4 sessions per order, in their active window.
    browser, browse_day = _customer_visits(rng, calendar, people, 1.4 * people.orders_per_year)
    parts.extend(
        _browsing(
            rng,
            calendar,
            sampler,
            people.taste,
            browser,
            people.cluster[browser],
            browser,
            browse_day,
            next_session,
            views_mean=1.4,
            cart_rate=0.15,
            wishlist_rate=0.04,
            not_before=people.signed_up_at[browser],
        )
    )
    next_session += browser.size

    # Anonymous visitors: a taste cluster each (drawn like the customers'), no customer id.
    anonymous = rng.poisson(1.5 * people.size * calendar.days / 365.0 * activity)
    cluster_share = np.bincount(people.cluster, minlength=len(TASTE_CLUSTERS)) / people.size
    visitor_cluster = rng.choice(len(TASTE_CLUSTERS), size=anonymous, p=cluster_share)
    visit_day = _sample_days(
        rng, calendar.volume, np.zeros(anonymous, dtype=np.int64), np.full(anonymous, calendar.days)
    )
    parts.extend(
        _browsing(
            rng,
            calendar,
            sampler,
            people.cluster_taste,
            visitor_cluster,
            visitor_cluster,
            np.full(anonymous, -1),
            visit_day,
            next_session,
            views_mean=1.1,
            cart_rate=0.08,
            wishlist_rate=0.0,
        )
    )

    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    inside = (columns["seconds"] >= calendar.day_start[0]) & (columns["seconds"] < calendar.end_seconds)
    known = columns["customer"] >= 0
    inside[known] &= columns["seconds"][known] >= people.signed_up_at[columns["customer"][known]]
    columns = {name: values[inside] for name, values in columns.items()}
    value_key = np.nan_to_num(columns["value"], nan=-1.0)
    ordering = np.lexsort(
        (value_key, columns["type"], columns["product"], columns["session"], columns["customer"], columns["seconds"])
    )
    columns = {name: values[ordering] for name, values in columns.items()}
    same_as_previous = np.ones(ordering.size, dtype=bool)
    same_as_previous[0:1] = False
    for name in ("seconds", "customer", "session", "product", "type"):
        same_as_previous[1:] &= columns[name][1:] == columns[name][:-1]
    same_as_previous[1:] &= value_key[ordering][1:] == value_key[ordering][:-1]
    columns = {name: values[~same_as_previous] for name, values in columns.items()}

    # Session ids numbered in order of first appearance.
    session = columns["session"]
    has_session = session >= 0
    unique_sessions, first_seen = np.unique(session[has_session], return_index=True)
    rank = np.empty(unique_sessions.size, dtype=np.int64)
    rank[np.argsort(first_seen, kind="stable")] = np.arange(unique_sessions.size)
    session_code = np.full(session.size, -1, dtype=np.int64)
    session_code[has_session] = rank[np.searchsorted(unique_sessions, session[has_session])]
    session_ids = numbered_ids("s", unique_sessions.size, width=7)
    return Table(
        {
            "customer_id": Coded(columns["customer"], people.ids),
            "session_id": Coded(session_code, session_ids),
            "product_id": Coded(columns["product"], catalog.ids),
            "event_type": Coded(columns["type"], np.array(EVENT_TYPES)),
            "occurred_at": columns["seconds"].astype("datetime64[s]"),
            "value": columns["value"],
        }
    )


def _events(
    customer: np.ndarray,
    session: np.ndarray,
    product: np.ndarray,
    event_type: int,
    seconds: np.ndarray,
    value: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    size = len(product)
    return {
        "customer": customer.astype(np.int64),
        "session": session.astype(np.int64),
        "product": product.astype(np.int64),
        "type": np.full(size, event_type, dtype=np.int64),
        "seconds": seconds.astype(np.int64),
        "value": np.full(size, np.nan) if value is None else value,
    }


def _browsing(
    rng: np.random.Generator,
    calendar: _Calendar,
    sampler: _ProductSampler,
    taste: np.ndarray,
    taste_row: np.ndarray,
    cluster: np.ndarray,
    customer: np.ndarray,
    day: np.ndarray,
    first_session: int,
    *,
    views_mean: float,
    cart_rate: float,
    wishlist_rate: float,
    not_before: np.ndarray | None = None,
) -> list[dict[str, np.ndarray]]:
    sessions = day.size
    if sessions == 0:
        return []
    session = first_session + np.arange(sessions)
    start = calendar.day_start[day] + _time_of_day(rng, np.zeros(sessions, dtype=np.int64))
    if not_before is not None:
        start = np.maximum(start, not_before + 60)
    views = 1 + rng.poisson(views_mean, sessions)
    view_session = np.repeat(np.arange(sessions), views)
    product = sampler.choose(rng, taste, taste_row[view_session], cluster[view_session], day[view_session])
    step = rng.integers(20, 240, view_session.size)
    first_view = np.concatenate([[0], np.cumsum(views)[:-1]])
    elapsed = np.cumsum(step) - np.repeat(np.cumsum(step)[first_view] - step[first_view], views)
    seconds = start[view_session] + elapsed
    keep = product >= 0
    parts = [_events(customer[view_session][keep], session[view_session][keep], product[keep], VIEW, seconds[keep])]
    # An abandoned cart or a wishlist adds the session's first viewed product.
    first_product, first_seconds = product[first_view], seconds[first_view]
    carted = (rng.random(sessions) < cart_rate) & (first_product >= 0)
    parts.append(
        _events(
            customer[carted],
            session[carted],
            first_product[carted],
            CART,
            first_seconds[carted] + rng.integers(10, 120, carted.sum()),
        )
    )
    wished = (rng.random(sessions) < wishlist_rate) & (first_product >= 0) & (customer >= 0)
    parts.append(
        _events(
            customer[wished],
            session[wished],
            first_product[wished],
            WISHLIST,
            first_seconds[wished] + rng.integers(10, 120, wished.sum()),
        )
    )
    return parts


# ------------------------------------------------------------------------------------------------ stock


def _build_stock(
    rng: np.random.Generator,
    calendar: _Calendar,
    catalog: _Catalog,
    regular_price: np.ndarray,
    orders: Table,
    line_day: np.ndarray,
) -> Table:
    n = catalog.size
    product = orders.codes("product_id")
    quantity = orders.column("quantity")
    recent = line_day >= calendar.days - 56
    daily_demand = np.bincount(product[recent], weights=quantity[recent], minlength=n) / min(56, calendar.days)
    revenue = np.bincount(product, weights=quantity * orders.column("unit_price"), minlength=n)

    supplier_of_brand = rng.integers(0, len(SUPPLIERS), len(catalog.brand_names))
    supplier_lead = rng.choice(np.array([3, 5, 7, 10, 14, 21]), size=len(SUPPLIERS))
    supplier_spread = rng.uniform(0.1, 0.35, len(SUPPLIERS))
    supplier_order_cost = rng.uniform(20, 120, len(SUPPLIERS)).round(2)
    supplier = supplier_of_brand[catalog.brand]

    cover_days = rng.uniform(0, 45, n)
    on_hand = np.round(daily_demand * cover_days).astype(np.int64)
    on_hand[rng.random(n) < 0.07] = 0  # some products are out of stock today
    on_order = np.where(rng.random(n) < 0.25, np.round(daily_demand * rng.uniform(7, 28, n)), 0).astype(np.int64)
    price = regular_price[:, -1]
    food = np.isin(np.array([SUBCATEGORIES[s].department for s in catalog.subcategory]), ("Grocery", "Pets")) & (
        catalog.repurchase_days > 0
    )
    pack_size = np.where(
        food, rng.choice(np.array([6, 12]), n), np.where(price < 15, rng.choice(np.array([1, 2, 4]), n), 1)
    )
    min_order = np.where(
        price < 10,
        rng.choice(np.array([6, 12, 24]), n),
        np.where(price < 100, rng.choice(np.array([1, 2, 5, 10]), n), 1),
    )
    min_order = np.ceil(np.maximum(min_order, pack_size) / pack_size).astype(np.int64) * pack_size
    volume = np.array([sub.unit_volume_liters for sub in SUBCATEGORIES])[catalog.subcategory]
    unit_volume = (volume * rng.lognormal(0.0, 0.3, n)).round(3)

    share = np.zeros(n)
    by_revenue = np.argsort(-revenue, kind="stable")
    share[by_revenue] = np.cumsum(revenue[by_revenue]) / max(revenue.sum(), 1e-9)
    service_level = np.where(share <= 0.8, 0.98, np.where(share <= 0.95, 0.95, 0.9))  # ABC classes
    return Table(
        {
            "product_id": catalog.ids,
            "on_hand": on_hand,
            "on_order": on_order,
            "lead_time_days": supplier_lead[supplier].astype(np.int64),
            "lead_time_std_days": (supplier_lead[supplier] * supplier_spread[supplier]).round(1),
            "supplier": np.array(SUPPLIERS, dtype=object)[supplier],
            "min_order_qty": min_order,
            "pack_size": pack_size.astype(np.int64),
            "order_cost": supplier_order_cost[supplier],
            "unit_volume": unit_volume,
            "holding_cost_rate": rng.uniform(0.18, 0.3, n).round(3),
            "stockout_cost": (price - catalog.cost + 0.1 * price).round(2),
            "service_level": service_level,
        }
    )
