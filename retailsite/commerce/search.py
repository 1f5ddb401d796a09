"""The catalog's full-text search document: how it is built and kept current, and how it is searched.

`commerce_product.search_document` is written by PostgreSQL itself (migration 0003): a row trigger rebuilds it on
every insert and on changes of name, brand, description or category — so the importer's COPY path, the API, the
admin and the demo all keep it current without calling anything — and a trigger on `commerce_category` rewrites the
documents of a renamed category's products. The text-search configuration is the store's `search_language` tenant
setting (PostgreSQL's built-in configurations); when it changes, `product_search_documents_rebuild` rewrites the
store's documents (connected to the tenant's save in CommerceConfig.ready()).

Search (`product_search`) is one statement: ranked full-text matches on the GIN index, topped up with trigram
matches on the name (typos, partly typed words) from the pg_trgm index. Row-level security lets no index use the
text-match operator (it is not leakproof), so under it every search read the whole catalog; the full-text part is
therefore `commerce_product_text_hits`, a SECURITY DEFINER function owned by the platform role that reads only the
transaction's store (the `app.tenant_id` row-level security checks) through the index. A text's matches are kept in
the shared cache under the store's catalog version (`catalog_version.py`: bumped by every write of products or
categories), so a text searched again reads one cache entry until the catalog changes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import connection

from retailsite.safe_cache import cache_get, cache_set
from retailsite.tenancy.context import require_tenant_id

from .catalog_snapshot import CATALOG_MAX_AGE_SECONDS, catalog_snapshot

# PostgreSQL's built-in text-search configurations (pg_ts_config of a plain 15.x server); `simple` does no stemming.
SEARCH_LANGUAGES = (
    "simple",
    "arabic",
    "armenian",
    "basque",
    "catalan",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hindi",
    "hungarian",
    "indonesian",
    "irish",
    "italian",
    "lithuanian",
    "nepali",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "serbian",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
    "yiddish",
)
DEFAULT_SEARCH_LANGUAGE = "english"  # also the fallback in commerce_search_config() below
MAX_SEARCH_QUERY_LENGTH = 200
# Trigram-only matches rank below every full-text match: their rank is their name similarity times this.
TRIGRAM_MATCH_WEIGHT = 0.01
# pg_trgm word similarity of the text to (a part of) the name: one swapped letter in a six-letter word is ~0.57.
TRIGRAM_MIN_SIMILARITY = 0.5
# A text's matches are kept in the shared cache under the catalog version; the time limit bounds what it holds and,
# as for the catalog snapshot's names, how long a write that bypassed the version goes unseen.
SEARCH_RESULTS_SECONDS = CATALOG_MAX_AGE_SECONDS
SEARCH_RESULTS_FORMAT = 1  # bump when what a kept entry holds changes

# Installed by migrations 0003 and 0007 (as the owner; SECURITY INVOKER, so row-level security applies inside).
# The look-ups are PL/pgSQL so that their plans are kept for the session: a SQL function with a sub-select is not
# inlined, and called from the row trigger it was planned again for every row (most of a products import's time).
INSTALL_SQL = f"""
CREATE OR REPLACE FUNCTION commerce_search_config(p_tenant_id bigint) RETURNS regconfig
LANGUAGE plpgsql STABLE AS $$
DECLARE
    language text;
BEGIN
    SELECT t.settings ->> 'search_language' INTO language FROM tenancy_tenant t WHERE t.id = p_tenant_id;
    RETURN coalesce(language, '{DEFAULT_SEARCH_LANGUAGE}')::regconfig;
END
$$;

CREATE OR REPLACE FUNCTION commerce_product_search_document(
    p_config regconfig, p_name text, p_brand text, p_category_path text, p_description text
) RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
    SELECT setweight(to_tsvector(p_config, coalesce(p_name, '')), 'A')
        || setweight(to_tsvector(p_config, coalesce(p_brand, '')), 'B')
        || setweight(to_tsvector(p_config, coalesce(p_category_path, '')), 'B')
        || setweight(to_tsvector(p_config, coalesce(p_description, '')), 'C')
$$;

CREATE OR REPLACE FUNCTION commerce_product_search_document_set() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    category_path text;
BEGIN
    SELECT c.path INTO category_path FROM commerce_category c WHERE c.id = NEW.category_id;
    NEW.search_document := commerce_product_search_document(
        commerce_search_config(NEW.tenant_id), NEW.name, NEW.brand, category_path, NEW.description
    );
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS commerce_product_search_document ON commerce_product;
CREATE TRIGGER commerce_product_search_document
    BEFORE INSERT OR UPDATE OF name, brand, description, category_id ON commerce_product
    FOR EACH ROW EXECUTE FUNCTION commerce_product_search_document_set();

CREATE OR REPLACE FUNCTION commerce_category_search_documents_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE commerce_product p
       SET search_document = commerce_product_search_document(
           commerce_search_config(p.tenant_id), p.name, p.brand, NEW.path, p.description)
     WHERE p.tenant_id = NEW.tenant_id AND p.category_id = NEW.id;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS commerce_category_search_documents ON commerce_category;
CREATE TRIGGER commerce_category_search_documents
    AFTER UPDATE OF path ON commerce_category
    FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path)
    EXECUTE FUNCTION commerce_category_search_documents_set();
"""

UNINSTALL_SQL = """
DROP TRIGGER IF EXISTS commerce_category_search_documents ON commerce_category;
DROP TRIGGER IF EXISTS commerce_product_search_document ON commerce_product;
DROP FUNCTION IF EXISTS commerce_category_search_documents_set();
DROP FUNCTION IF EXISTS commerce_product_search_document_set();
DROP FUNCTION IF EXISTS commerce_product_search_document(regconfig, text, text, text, text);
DROP FUNCTION IF EXISTS commerce_search_config(bigint);
"""

# Every product's document (of the stores the current scope may see), e.g. after the language changed.
REBUILD_SQL = """
UPDATE commerce_product p
   SET search_document = commerce_product_search_document(
       commerce_search_config(p.tenant_id), p.name, p.brand,
       (SELECT c.path FROM commerce_category c WHERE c.id = p.category_id), p.description)
"""


def product_search_documents_rebuild() -> int:
    """Rewrite the current store's search documents (its language changed); returns how many."""
    tenant_id = require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute(REBUILD_SQL + " WHERE p.tenant_id = %s", [tenant_id])
        return cursor.rowcount


# One statement, one round trip: full-text hits by rank (GIN index); only when there are none (a typo, a partly
# typed word), the names nearest to the text by word similarity (a nearest-neighbour scan of the GiST trigram
# index) that are similar enough. Trigram matches never override the query's own exclusions ("kettle -copper"),
# and a query of stop words only ("and") finds nothing rather than every name that contains it.
SEARCH_SQL = """
WITH q AS (SELECT websearch_to_tsquery(%(config)s::regconfig, %(text)s) AS query),
text_hits AS (
    SELECT h.product_id AS id, h.text_rank AS rank
      FROM commerce_product_text_hits(%(config)s::regconfig, %(text)s, %(limit)s) h)
SELECT id, rank FROM text_hits
UNION ALL
SELECT near.id, %(trigram_weight)s * near.similarity
  FROM (SELECT p.id, word_similarity(%(text)s, p.name) AS similarity
          FROM commerce_product p
         WHERE p.tenant_id = %(tenant)s AND p.active AND NOT EXISTS (SELECT 1 FROM text_hits)
           AND (SELECT numnode(q.query) FROM q) > 0
         ORDER BY %(text)s <<-> p.name LIMIT %(limit)s) near
 WHERE near.similarity >= %(min_similarity)s
"""


# The full-text matches of the transaction's store, best first. Row-level security would keep the GIN index out of
# use (PostgreSQL may not evaluate `@@`, which is not leakproof, before the policy's check), so every search would
# read every product of the store: this function runs as the platform role (BYPASSRLS) and applies the same check
# itself — the store is the one `app.tenant_id` names, as for the policy; with none, no rows. PL/pgSQL: its plan is
# kept for the session. Installed by migration 0008, given to the platform role by `text_hits_secure`.
TEXT_HITS_FUNCTION = "commerce_product_text_hits(regconfig, text, integer)"
TEXT_HITS_SQL = """
CREATE OR REPLACE FUNCTION commerce_product_text_hits(p_config regconfig, p_text text, p_limit integer)
RETURNS TABLE (product_id bigint, text_rank real)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    v_tenant bigint := NULLIF(current_setting('app.tenant_id', true), '')::bigint;
    v_query tsquery := websearch_to_tsquery(p_config, p_text);
BEGIN
    IF v_tenant IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT p.id, ts_rank(p.search_document, v_query)
      FROM commerce_product p
     WHERE p.tenant_id = v_tenant AND p.active AND p.search_document @@ v_query
     ORDER BY 2 DESC, p.id
     LIMIT p_limit;
END
$fn$;
"""


def text_hits_secure(raw_cursor: Any) -> None:
    """Give the text-hits function to the platform role, which reads the catalog for it (once the roles exist; until
    then it runs as its creator, under row-level security unless that is a superuser, and is as correct)."""
    from psycopg import sql

    from retailsite.tenancy.rls import _role_exists, give_function_to_platform_role

    platform = settings.DB_PLATFORM_ROLE
    if _role_exists(raw_cursor, platform):
        raw_cursor.execute(sql.SQL("GRANT SELECT ON commerce_product TO {}").format(sql.Identifier(platform)))
        give_function_to_platform_role(raw_cursor, TEXT_HITS_FUNCTION)


def _store_language(tenant_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT commerce_search_config(%s)::text", [tenant_id])
        return str(cursor.fetchone()[0])


def product_search(*, text: str, limit: int = 100, language: str | None = None) -> list[tuple[int, float]]:
    """Active products of the current store matching the text, best first, as (product id, rank).

    Full-text matches (stemmed in the store's language; `websearch` syntax: quotes, `or`, `-word`) by rank; when
    there are none, products whose name is close to the text (a typo, a partly typed word) by similarity.
    `language`: the store's `search_language` if the caller has it (one look-up less), else read here.
    """
    text = " ".join(text.split())[:MAX_SEARCH_QUERY_LENGTH]
    if not text:
        return []
    tenant_id = require_tenant_id()
    if language not in SEARCH_LANGUAGES:
        language = _store_language(tenant_id)
    # The matches depend on the catalog only: kept under the store's catalog version, which every write of
    # products or categories bumps (a search document changes only with one), as the catalog snapshot is; and
    # under this process's own catalog writes not yet committed (its local generation), which it sees at once.
    snapshot = catalog_snapshot()
    key = None
    if snapshot.token is not None:  # without the version (cache down) nothing could invalidate an entry
        digest = hashlib.sha256(f"{language}\n{limit}\n{text}".encode()).hexdigest()[:32]
        version = f"{snapshot.token}:{snapshot.generation}"
        key = f"commerce:search:{SEARCH_RESULTS_FORMAT}:{tenant_id}:{version}:{digest}"
        kept = cache_get(key)
        if isinstance(kept, list):
            return kept
    found = _product_search(tenant_id, text, limit, language)
    if key is not None:
        cache_set(key, found, SEARCH_RESULTS_SECONDS)
    return found


def _product_search(tenant_id: int, text: str, limit: int, language: str) -> list[tuple[int, float]]:
    params: dict[str, Any] = {
        "config": language,
        "tenant": tenant_id,
        "text": text,
        "limit": limit,
        "trigram_weight": TRIGRAM_MATCH_WEIGHT,
        "min_similarity": TRIGRAM_MIN_SIMILARITY,
    }
    with connection.cursor() as cursor:
        cursor.execute(SEARCH_SQL, params)
        rows = cursor.fetchall()
    found: list[tuple[int, float]] = []
    seen: set[int] = set()
    for pk, rank in rows:
        if pk not in seen and len(found) < limit:
            seen.add(pk)
            found.append((pk, float(rank)))
    return found
