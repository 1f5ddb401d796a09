"""The audit chain's canonical form, its hash, and the verifier.

Each store's entries form a chain: entry n carries `prev_hash` (the hash of entry n-1, or 64
zeros for the first) and `hash = sha256(prev_hash || canonical(entry))`, hex. The canonical
form is the JSON text of

    [tenant_id, seq, occurred_at, actor, action, object_type, object_id, changed_fields,
     row_count, request_id, client_ip]

with `occurred_at` as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC) — exactly what PostgreSQL's
`jsonb_build_array(...)::text` prints, which is how the sealing trigger computes it
(`triggers.py`). The verifier recomputes every hash here in Python, independently of the
database functions, so a changed trigger function cannot vouch for itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

GENESIS_HASH = "0" * 64
VERIFY_BATCH = 5000


def audit_timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_canonical(
    *,
    tenant_id: int,
    seq: int,
    occurred_at: dt.datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    changed_fields: Sequence[str],
    row_count: int,
    request_id: str,
    client_ip: str,
) -> str:
    values: list[Any] = [
        int(tenant_id),
        int(seq),
        audit_timestamp(occurred_at),
        actor,
        action,
        object_type,
        object_id,
        list(changed_fields),
        int(row_count),
        request_id,
        client_ip,
    ]
    # jsonb's text output: ", " between items, non-ASCII kept as is, the same escapes as json.dumps.
    return json.dumps(values, ensure_ascii=False, separators=(", ", ": "))


def audit_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    tenant_id: int
    entry_id: int
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"tenant {self.tenant_id}: entry id={self.entry_id} seq={self.seq}: {self.problem}"


@dataclass
class ChainReport:
    tenant_id: int
    entries: int = 0
    head_hash: str = GENESIS_HASH
    broken: BrokenLink | None = None
    hashes_at: dict[int, str] | None = None  # the hashes of the entries asked for (kept heads)

    @property
    def ok(self) -> bool:
        return self.broken is None


_COLUMNS = (
    "id, tenant_id, seq, occurred_at, actor, action, object_type, object_id, changed_fields, row_count, "
    "request_id, client_ip, prev_hash, hash"
)


def _entries(tenant_id: int) -> Iterator[tuple[Any, ...]]:
    """The store's entries in chain order, in batches (keyset pagination: flat memory)."""
    last_seq = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_COLUMNS} FROM privacy_auditlogentry WHERE tenant_id = %s AND seq > %s ORDER BY seq LIMIT %s",
                [tenant_id, last_seq, VERIFY_BATCH],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        yield from rows
        last_seq = rows[-1][2]


def audit_chain_verify(tenant_id: int, *, remember_seqs: frozenset[int] = frozenset()) -> ChainReport:
    """Walk one store's chain (the caller sets a context that can see it) and stop at the first
    broken link: a changed entry (its hash no longer matches its content), a removed or reordered
    entry (prev_hash differs from the previous entry's hash), or a gap in the sequence. The hashes
    of the entries at `remember_seqs` are kept in the report (to compare with heads kept elsewhere)."""
    report = ChainReport(tenant_id, hashes_at={})
    expected_seq, expected_prev = 1, GENESIS_HASH
    for (
        entry_id,
        row_tenant,
        seq,
        occurred_at,
        actor,
        action,
        object_type,
        object_id,
        changed_fields,
        row_count,
        request_id,
        client_ip,
        prev_hash,
        stored_hash,
    ) in _entries(tenant_id):
        fields = json.loads(changed_fields) if isinstance(changed_fields, str) else changed_fields
        problem = None
        if seq != expected_seq:
            problem = (
                f"sequence jumps from {expected_seq - 1} to {seq}: "
                f"{seq - expected_seq} entr{'y' if seq - expected_seq == 1 else 'ies'} missing"
            )
        elif prev_hash != expected_prev:
            problem = (
                f"prev_hash {prev_hash[:12]}… does not match the hash of entry seq={seq - 1} "
                f"({expected_prev[:12]}…): the link to the previous entry is broken"
            )
        else:
            canonical = audit_canonical(
                tenant_id=row_tenant,
                seq=seq,
                occurred_at=occurred_at,
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                changed_fields=fields or [],
                row_count=row_count,
                request_id=request_id,
                client_ip=client_ip,
            )
            recomputed = audit_hash(prev_hash, canonical)
            if recomputed != stored_hash:
                problem = (
                    f"stored hash {stored_hash[:12]}… does not match its content (recomputed "
                    f"{recomputed[:12]}…): the entry was changed after it was written"
                )
        if problem is not None:
            report.broken = BrokenLink(tenant_id, entry_id, seq, problem)
            return report
        report.entries += 1
        if seq in remember_seqs:
            report.hashes_at[seq] = stored_hash  # type: ignore[index]
        expected_seq, expected_prev = seq + 1, stored_hash
    report.head_hash = expected_prev
    return report


@dataclass(frozen=True)
class KeptHead:
    """A chain head written down elsewhere: the entry `seq` of store `tenant_id` had hash `hash`."""

    tenant_id: int
    seq: int
    hash: str

    def as_line(self) -> str:
        return json.dumps({"tenant_id": self.tenant_id, "seq": self.seq, "hash": self.hash})

    @classmethod
    def from_line(cls, line: str) -> KeptHead:
        data = json.loads(line)
        return cls(int(data["tenant_id"]), int(data["seq"]), str(data["hash"]))


def kept_head_problem(report: ChainReport, head: KeptHead) -> str | None:
    """Why the verified chain does not contain a head kept elsewhere, or None if it does."""
    if report.entries < head.seq:
        return (
            f"the kept head is entry seq={head.seq} but the chain now ends at seq={report.entries}: "
            f"{head.seq - report.entries} entries were removed from its end"
        )
    found = (report.hashes_at or {}).get(head.seq)
    if found != head.hash:
        return (
            f"entry seq={head.seq} has hash {str(found)[:12]}… but the kept head says {head.hash[:12]}…: "
            "the chain up to the kept head was rewritten"
        )
    return None


def audit_tenant_ids_with_entries() -> list[int]:
    """Stores that have a chain, including deleted ones (the caller is in platform scope)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tenant_id FROM privacy_auditlogentry ORDER BY tenant_id")
        return [row[0] for row in cursor.fetchall()]
