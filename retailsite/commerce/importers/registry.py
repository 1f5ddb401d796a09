"""The registry of import kinds and the base class each kind implements.

A kind (customers, products, orders, events, social; later stock) is a KindImporter
subclass registered with `register_kind`. The service validates every given file in
dependency order — so a kind can check references against ids published by the kinds it
depends on — and then, when nothing is wrong, writes every kind in the same order in one
transaction. Adding a kind never needs an edit here:

    @register_kind
    class StockImporter(KindImporter):
        name = "stock"
        depends_on = ("products",)
        columns = ColumnSpec(required=("product_id", "on_hand"), optional=(...))
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, ClassVar

from .csvsource import ColumnSpec, CsvSource, count_data_lines
from .errors import ErrorLog
from .fields import FieldError

if TYPE_CHECKING:
    from retailsite.tenancy.models import Tenant

    from .pg import PgSession

ProgressCallback = Callable[[str, int, "int | None"], None]


@dataclass
class KindCounts:
    """What one kind's import did. Rows merged or repeated within the file count as unchanged."""

    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    details: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted

    def describe(self) -> str:
        text = (
            f"{self.rows_read:,} rows read, {self.created:,} created, {self.updated:,} updated, "
            f"{self.unchanged:,} unchanged"
        )
        if self.deleted:
            text += f", {self.deleted:,} deleted"
        if self.details:
            text += " (" + ", ".join(f"{key.replace('_', ' ')}: {value:,}" for key, value in self.details.items()) + ")"
        return text


@dataclass
class ImportReport:
    """Per-kind counts of one import run, in the order the kinds were written."""

    tenant_slug: str
    kinds: dict[str, KindCounts] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> KindCounts:
        return self.kinds[kind]

    @property
    def changed(self) -> int:
        return sum(counts.changed for counts in self.kinds.values())

    def summary_lines(self) -> list[str]:
        return [f"{kind}: {counts.describe()}" for kind, counts in self.kinds.items()]


class ImportRun:
    """State shared by the kinds of one run: tenant, its time zone, errors and known external ids."""

    def __init__(
        self,
        *,
        tenant: Tenant,
        zone: tzinfo,
        errors: ErrorLog,
        progress: ProgressCallback | None = None,
        stored_ids: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.tenant = tenant
        self.zone = zone
        self.errors = errors
        self.progress = progress
        self._new_ids: dict[str, set[str]] = {}
        # Ids already in the store, per entity; loaded from the database on first use unless given.
        self._known_ids: dict[str, set[str]] = {entity: set(ids) for entity, ids in (stored_ids or {}).items()}

    def publish_ids(self, entity: str, ids: Iterable[str]) -> None:
        """Ids this run's file adds for `entity` (e.g. "customer"), visible to later kinds."""
        self._new_ids.setdefault(entity, set()).update(ids)
        if entity in self._known_ids:
            self._known_ids[entity].update(ids)

    def known_ids(self, entity: str) -> set[str]:
        """External ids of `entity` in this run's files or already in the store."""
        if entity not in self._known_ids:
            loader = _ENTITY_LOADERS.get(entity)
            if loader is None:
                raise KeyError(f"no import kind provides {entity!r} ids")
            known = set(loader())
            known.update(self._new_ids.get(entity, ()))
            self._known_ids[entity] = known
        return self._known_ids[entity]

    def report_progress(self, phase: str, done: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)


class KindImporter:
    """One kind of input file: how to validate its rows and how to write them.

    Subclasses set the class attributes and implement `parse_row` (returns the staged row
    or None after logging errors with `self.fail`) and `write_postgresql`.
    """

    name: ClassVar[str]
    columns: ClassVar[ColumnSpec]
    depends_on: ClassVar[tuple[str, ...]] = ()
    # Among kinds whose dependencies are met, lower positions are validated and written first.
    position: ClassVar[int] = 100
    # Staging table columns (name, PostgreSQL type); the first is always the source line.
    stage_columns: ClassVar[tuple[tuple[str, str], ...]]

    def __init__(self, run: ImportRun, source: CsvSource) -> None:
        from .spool import Spool

        self.run = run
        self.source = source
        self.spool = Spool(self.stage_columns)
        self.rows_read = 0

    # -- validation --------------------------------------------------------------------------

    def validate(self) -> None:
        """Check every row, spooling the good ones; problems go to the run's error log."""
        total = count_data_lines(self.source.path) if self.source.path.is_file() else None
        self.run.report_progress(self.name, 0, total)

        def on_progress(done: int) -> None:
            self.run.report_progress(self.name, done, total)

        try:
            if not self.source.open():
                return
            self.prepare()
            errors = self.run.errors
            write = self.spool.write
            for line, cells in self.source.rows(on_progress):
                before = errors.total
                staged = self.parse_row(line, cells)
                if staged is not None:
                    write(staged)
                elif errors.total == before:  # a kind must say why it rejects a row
                    self.fail(line, "", "the row was rejected")
        finally:
            self.source.close()
        self.rows_read = self.source.rows_read
        self.finish_validation()

    def prepare(self) -> None:
        """Called once the header is known to be valid, before the first row (optional)."""

    def parse_row(self, line: int, cells: list[str]) -> list[Any] | None:
        raise NotImplementedError

    def finish_validation(self) -> None:
        """Called after the last row: publish ids, write secondary spools (optional)."""

    def fail(self, line: int, column: str, message: str) -> None:
        self.source.error(line, column, message)

    def cell(self, cells: list[str], column: str) -> str | None:
        """The raw cell of an optional column, or None when the header lacks it."""
        position = self.source.index.get(column)
        return None if position is None else cells[position]

    def parsed(self, line: int, column: str, parse: Callable[[str], Any], text: str) -> Any:
        """parse(text), or the INVALID marker after logging the FieldError for this cell."""
        try:
            return parse(text)
        except FieldError as error:
            self.fail(line, column, str(error))
            return INVALID

    # -- writing -----------------------------------------------------------------------------

    def write_postgresql(self, db: PgSession) -> KindCounts:
        raise NotImplementedError

    def close(self) -> None:
        self.spool.close()


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()

_KINDS: dict[str, type[KindImporter]] = {}
_ENTITY_LOADERS: dict[str, Callable[[], Iterable[str]]] = {}


def register_kind(kind: type[KindImporter]) -> type[KindImporter]:
    """Register (or replace, e.g. with a subclass) the importer of `kind.name`. Usable as a decorator."""
    for dependency in kind.depends_on:
        if dependency == kind.name:
            raise ValueError(f"import kind {kind.name!r} cannot depend on itself")
    _KINDS[kind.name] = kind
    return kind


def register_entity_ids(entity: str, loader: Callable[[], Iterable[str]]) -> None:
    """How to list the external ids of `entity` already stored for the current tenant."""
    _ENTITY_LOADERS[entity] = loader


def registered_kinds() -> list[type[KindImporter]]:
    """Every registered kind, each after the kinds it depends on; ties broken by `position`, then name."""
    for kind in _KINDS.values():
        for dependency in kind.depends_on:
            if dependency not in _KINDS:
                raise ValueError(f"import kind {kind.name!r} depends on {dependency!r}, which is not registered")
    ordered: list[type[KindImporter]] = []
    waiting = dict(_KINDS)
    while waiting:
        ready = [kind for kind in waiting.values() if all(dependency not in waiting for dependency in kind.depends_on)]
        if not ready:
            raise ValueError("import kinds depend on each other in a cycle: " + ", ".join(sorted(waiting)))
        chosen = min(ready, key=lambda kind: (kind.position, kind.name))
        ordered.append(chosen)
        del waiting[chosen.name]
    return ordered


def kind_names() -> list[str]:
    return [kind.name for kind in registered_kinds()]
