"""Content-based recommendations from product text and attributes (TF-IDF), also for brand-new products.

Each field gets its own TF-IDF (words for name and description; whole values as tokens for category path
levels, brand and tags), is scaled by a field weight and the rows are L2-normalized. Similar items use the
exact TF-IDF cosine. Customers are scored against a dense item embedding (TruncatedSVD of the TF-IDF when
the vocabulary is large), with a profile = weighted mean of the embeddings of their history. A product without
any interaction still has text, so it gets scores here: this is the cold-start path for new products.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Self

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from recommendations.engine.base import LowRankScores, Recommender, ScoreParts, blas_threads, item_moments, top_n
from recommendations.engine.data import ItemText, TrainingData
from recommendations.engine.history import UserHistory
from recommendations.engine.reasons import ReasonArrays, ReasonKind

DEFAULT_FIELD_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"name": 2.0, "description": 1.0, "category": 1.5, "brand": 1.0, "tags": 1.5}
)


def _category_tokens(path: str) -> list[str]:
    """'Home > Kitchen' -> ['home', 'home > kitchen']: every level of the path, so siblings share the parent."""
    parts = [p.strip().lower() for p in (path or "").split(">") if p.strip()]
    return [" > ".join(parts[: i + 1]) for i in range(len(parts))]


def _value_token(value: str) -> list[str]:
    value = (value or "").strip().lower()
    return [value] if value else []


def _tag_tokens(tags: Sequence[str]) -> list[str]:
    return [t.strip().lower() for t in (tags or ()) if t and t.strip()]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def item_text_features(text: ItemText, field_weights: Mapping[str, float] = DEFAULT_FIELD_WEIGHTS) -> sp.csr_matrix:
    """Items x features TF-IDF matrix, fields weighted and rows L2-normalized (zero rows stay zero)."""
    n_items = len(text.names)
    columns: list[tuple[str, list]] = [("name", list(text.names))]
    if text.descriptions is not None:
        columns.append(("description", list(text.descriptions)))
    if text.categories is not None:
        columns.append(("category", [_category_tokens(c) for c in text.categories]))
    if text.brands is not None:
        columns.append(("brand", [_value_token(b) for b in text.brands]))
    if text.tags is not None:
        columns.append(("tags", [_tag_tokens(t) for t in text.tags]))
    blocks = []
    for field_name, values in columns:
        weight = field_weights.get(field_name, 1.0)
        if weight <= 0:
            continue
        if field_name in ("name", "description"):
            vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", token_pattern=r"(?u)\b\w\w+\b")
        else:
            vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
        try:
            block = vectorizer.fit_transform(values)
        except ValueError:  # empty vocabulary: the field is blank everywhere
            continue
        blocks.append(block * weight)
    if not blocks:
        return sp.csr_matrix((n_items, 0), dtype=np.float32)
    return sp.csr_matrix(normalize(sp.hstack(blocks).tocsr()), dtype=np.float32)


class ContentRecommender(Recommender):
    """TF-IDF content similarity; scores customers by their history's profile, new products included."""

    name = "content"
    # Fitted (scikit-learn's trailing underscore): TF-IDF features, their normalized embedding and its moments.
    features_: sp.csr_matrix
    embedding_: np.ndarray
    item_moments_: tuple[np.ndarray, np.ndarray]

    def __init__(
        self,
        n_components: int = 64,
        field_weights: Mapping[str, float] | None = None,
        random_state: int = 0,
        n_threads: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.field_weights = dict(field_weights or DEFAULT_FIELD_WEIGHTS)
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, data: TrainingData) -> Self:
        return self.refit(data, None)

    def refit(self, data: TrainingData, previous: Recommender | None = None) -> Self:
        """Fit; the text side (TF-IDF, embedding) is taken from `previous` when it was fitted on the very same
        catalog text with the same parameters: it depends on the products only, not on the interactions."""
        if data.catalog is None or data.catalog.text is None:
            raise ValueError("ContentRecommender needs data.catalog.text")
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        text = data.catalog.text
        if (
            isinstance(previous, ContentRecommender)
            and getattr(previous, "_text", None) is text
            and previous.get_params() == self.get_params()
        ):
            self.features_, self.embedding_ = previous.features_, previous.embedding_
            self.item_moments_ = previous.item_moments_
        else:
            with blas_threads(self.n_threads):
                self.features_ = item_text_features(text, self.field_weights)
                n_features = self.features_.shape[1]
                if n_features <= self.n_components or min(self.features_.shape) <= self.n_components + 1:
                    embedding = self.features_.toarray()
                else:
                    svd = TruncatedSVD(n_components=self.n_components, random_state=self.random_state)
                    embedding = svd.fit_transform(self.features_)
            self.embedding_ = np.asarray(normalize(embedding), dtype=np.float32)
            self.item_moments_ = item_moments(self.embedding_)
        self._text = text  # identity only, to recognize the same catalog in a later refit; never pickled
        self.user_items_ = sp.csr_matrix(normalize(data.matrix, norm="l1"), dtype=np.float32)
        self.history_: UserHistory = data.history
        return self

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_text", None)
        return state

    def user_profiles(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.user_items_[users] @ self.embedding_, dtype=np.float32)

    def score(self, users: np.ndarray) -> np.ndarray:
        with blas_threads(self.n_threads):
            return self.user_profiles(users) @ self.embedding_.T

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        return LowRankScores(self.user_profiles(users), self.embedding_, self.item_moments_)

    def score_items(self, items: Sequence[int], weights: Sequence[float] | None = None) -> np.ndarray:
        """Scores for a bag of items (a session or a cart), shape (n_items,)."""
        rows = np.asarray(items, dtype=np.int64)
        weight = np.ones(len(rows), np.float32) if weights is None else np.asarray(weights, np.float32)
        profile = (weight[:, None] * self.embedding_[rows]).sum(axis=0)
        return self.embedding_ @ profile

    def similar_items(self, items: Sequence[int], n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """For each item, the n items with the most similar text/attributes (exact TF-IDF cosine)."""
        rows = np.asarray(items, dtype=np.int64)
        sims = np.asarray((self.features_[rows] @ self.features_.T).toarray(), dtype=np.float32)
        sims[np.arange(len(rows)), rows] = -np.inf
        sims[sims <= 0] = -np.inf
        return top_n(sims, n)

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        embedding = self.embedding_

        def similarity(history: np.ndarray, targets: np.ndarray) -> np.ndarray:
            sims = np.einsum("phf,pf->ph", embedding[np.maximum(history, 0)], embedding[targets])
            return np.where(history >= 0, sims, 0.0)

        return self.history_.explain(users, items, similarity, anchored_kind=ReasonKind.SIMILAR_TO)
