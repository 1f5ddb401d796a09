"""Temporary files holding validated rows between the check pass and the write pass.

Validation streams each good row, already normalized (UTC times, parsed numbers), into a
spool in PostgreSQL's CSV COPY format, so memory stays flat however large the input and
the write pass can COPY the bytes straight into a staging table. Values are written with
str() (True, 9.99, 2024-03-01 08:30:00+00:00), which PostgreSQL reads back as typed. An
empty unquoted field means NULL; text columns are COALESCEd back to '' when written.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

COPY_CHUNK = 1 << 20

# How a staging column's text turns back into a Python value (for the non-PostgreSQL path).
_DECODERS: dict[str, Callable[[str], Any]] = {
    "text": str,
    "bigint": int,
    "integer": int,
    "numeric": Decimal,
    "double precision": float,
    "timestamptz": datetime.fromisoformat,
    "boolean": lambda text: text in ("True", "t", "true"),
    "jsonb": str,
}


class Spool:
    """An append-then-read temporary CSV file of staged rows with fixed, typed columns."""

    _FLUSH_EVERY = 10_000  # rows buffered in memory between writes to the file

    def __init__(self, columns: Sequence[tuple[str, str]]) -> None:
        self.columns = tuple(columns)
        self.rows = 0
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the spool
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def write(self, row: Sequence[Any]) -> None:
        """Append one row: None is NULL (text columns read it back as ''), other values as str()."""
        self._writer.writerow(row)
        self.rows += 1
        if self.rows % self._FLUSH_EVERY == 0:
            self._flush()

    def _flush(self) -> None:
        if self._buffer.tell():
            self._file.write(self._buffer.getvalue().encode("utf-8"))
            self._buffer.seek(0)
            self._buffer.truncate()

    def chunks(self) -> Iterator[bytes]:
        """The spooled bytes, for COPY ... FROM STDIN WITH (FORMAT csv)."""
        self._flush()
        self._file.seek(0)
        while chunk := self._file.read(COPY_CHUNK):
            yield chunk

    def decoded_rows(self) -> Iterator[dict[str, Any]]:
        """The spooled rows as dicts of Python values (NULL -> None, empty text -> '')."""
        self._flush()
        self._file.seek(0)
        wrapper = io.TextIOWrapper(self._file, encoding="utf-8", newline="")
        decoders = [(name, _DECODERS[kind], kind == "text") for name, kind in self.columns]
        try:
            for cells in csv.reader(wrapper):
                yield {
                    name: (cell if is_text else (decode(cell) if cell != "" else None))
                    for (name, decode, is_text), cell in zip(decoders, cells, strict=True)
                }
        finally:
            wrapper.detach()  # keep the underlying file open for the spool

    def close(self) -> None:
        self._file.close()
