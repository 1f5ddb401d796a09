"""Streaming CSV reading with the checks every import kind shares.

The file is read as bytes, one physical line at a time, and decoded as UTF-8 (an initial
byte-order mark is accepted). A line that is not valid UTF-8 is decoded with
`surrogateescape`, so the bad bytes survive as lone surrogates and the error can name the
exact column they fall in. Header problems (empty file, duplicate, unknown or missing
columns) stop the file before any row is read; row problems (wrong number of fields, bad
encoding, malformed quoting) are reported with the row's first physical line number.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ErrorLog

_SURROGATE = re.compile("[\udc80-\udcff]")
_PROGRESS_EVERY = 20_000
_COUNT_CHUNK = 1 << 20


@dataclass(frozen=True)
class ColumnSpec:
    """The header a kind accepts: required columns, optional ones, and 'at least one of' groups."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    at_least_one_of: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def accepted(self) -> tuple[str, ...]:
        grouped = tuple(name for group in self.at_least_one_of for name in group)
        ordered = self.required + grouped + self.optional
        return tuple(dict.fromkeys(ordered))


def count_data_lines(path: Path) -> int:
    """Physical lines after the header: the row count unless quoted fields span lines."""
    newlines = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_COUNT_CHUNK):
            newlines += chunk.count(b"\n")
            last = chunk
    lines = newlines + (1 if last and not last.endswith(b"\n") else 0)
    return max(lines - 1, 0)


class CsvSource:
    """One input file: validates its header, then yields (line number, cells) for each good row."""

    def __init__(self, path: Path, *, name: str, spec: ColumnSpec, errors: ErrorLog) -> None:
        self.path = path
        self.name = name
        self.spec = spec
        self.errors = errors
        self.columns: list[str] = []
        self.index: dict[str, int] = {}
        self.rows_read = 0
        self._bad_encoding_lines: set[int] = set()
        self._handle: BinaryIO | None = None
        self._reader: Any = None

    def has(self, column: str) -> bool:
        return column in self.index

    def error(self, line: int, column: str, message: str) -> None:
        self.errors.add(self.name, line, column, message)

    def open(self) -> bool:
        """Open the file and check its header; False (with errors logged) if it cannot be read."""
        try:
            self._handle = self.path.open("rb")
        except OSError as error:
            self.error(0, "", f"cannot open the file: {error.strerror or error}")
            return False
        self._reader = csv.reader(self._decoded_lines(self._handle), strict=True)
        return self._read_header(self._reader)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def rows(self, on_progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, list[str]]]:
        """Yield every well-formed data row after the header; bad rows are logged and skipped."""
        reader = self._reader
        width = len(self.columns)
        end_of_previous = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                self.error(end_of_previous + 1, "", f"malformed CSV ({error}); check the quoting")
                end_of_previous = reader.line_num
                continue
            line = end_of_previous + 1
            last_line = reader.line_num
            end_of_previous = last_line
            if not cells:
                continue  # a blank line
            self.rows_read += 1
            if on_progress is not None and self.rows_read % _PROGRESS_EVERY == 0:
                on_progress(self.rows_read)
            if self._bad_encoding_lines and self._has_bad_encoding(line, last_line, cells):
                continue
            if len(cells) != width:
                self._wrong_width(line, cells)
                continue
            yield line, cells
        if on_progress is not None:
            on_progress(self.rows_read)

    # -- internals ---------------------------------------------------------------------------

    def _decoded_lines(self, handle: BinaryIO) -> Iterator[str]:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self._bad_encoding_lines.add(number)
                yield raw.decode("utf-8", "surrogateescape")

    def _read_header(self, reader: Any) -> bool:
        try:
            header = next(reader)
            while not header or all(not cell.strip() for cell in header):
                header = next(reader)
        except StopIteration:
            self.error(1, "", "the file is empty; expected a header row such as " + ",".join(self.spec.required))
            return False
        except csv.Error as error:
            self.error(1, "", f"malformed header row ({error})")
            return False
        header_line = reader.line_num
        if self._bad_encoding_lines:
            bad = next(iter(self._bad_encoding_lines))
            self.error(bad, "", "the header is not valid UTF-8; save the file as UTF-8")
            return False
        names = [cell.strip().lower() for cell in header]
        ok = True
        seen: dict[str, int] = {}
        accepted = self.spec.accepted
        for position, name in enumerate(names, start=1):
            if not name:
                self.error(header_line, f"column {position}", "the header has an empty column name")
                ok = False
            elif name in seen:
                self.error(header_line, name, f"duplicate column in the header (columns {seen[name]} and {position})")
                ok = False
            elif name not in accepted:
                self.error(header_line, name, "unknown column; accepted columns are " + ", ".join(accepted))
                ok = False
            seen.setdefault(name, position)
        for name in self.spec.required:
            if name not in seen:
                self.error(
                    header_line,
                    name,
                    "required column is missing from the header "
                    f"(found: {', '.join(n for n in names if n) or 'nothing'})",
                )
                ok = False
        for group in self.spec.at_least_one_of:
            if not any(name in seen for name in group):
                self.error(header_line, " or ".join(group), "the header needs at least one of these columns")
                ok = False
        if ok:
            self.columns = names
            self.index = {name: position for position, name in enumerate(names)}
        return ok

    def _has_bad_encoding(self, first_line: int, last_line: int, cells: list[str]) -> bool:
        if not any(number in self._bad_encoding_lines for number in range(first_line, last_line + 1)):
            return False
        for position, cell in enumerate(cells):
            match = _SURROGATE.search(cell)
            if match is not None:
                column = self.columns[position] if position < len(self.columns) else f"field {position + 1}"
                bad_byte = ord(match.group()) - 0xDC00
                self.error(first_line, column, f"not valid UTF-8 (byte 0x{bad_byte:02X}); save the file as UTF-8")
        return True

    def _wrong_width(self, line: int, cells: list[str]) -> None:
        width = len(self.columns)
        if len(cells) < width:
            column = self.columns[len(cells)]
            message = f"the row has {len(cells)} fields but the header has {width}; '{column}' and later are missing"
        else:
            column = f"field {width + 1}"
            message = f"the row has {len(cells)} fields but the header has {width} (an unquoted comma?)"
        self.error(line, column, message)
