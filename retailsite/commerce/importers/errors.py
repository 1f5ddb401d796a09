"""Import problems: one entry per bad cell, capped list, and the exception that carries them."""

from __future__ import annotations

from typing import NamedTuple


class ImportIssue(NamedTuple):
    """One problem in an input file; `line` is 1-based (the header is line 1), 0 for the whole file."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class ImportFailed(Exception):
    """The import was refused and nothing was written. `errors` lists up to the reporting cap."""

    def __init__(
        self, errors: list[ImportIssue], *, total_errors: int | None = None, bad_lines: int | None = None
    ) -> None:
        self.errors = errors
        self.total_errors = len(errors) if total_errors is None else total_errors
        self.bad_lines = len({(e.file, e.line) for e in errors}) if bad_lines is None else bad_lines
        super().__init__(self.summary())

    @property
    def unlisted_errors(self) -> int:
        return self.total_errors - len(self.errors)

    def summary(self) -> str:
        lines = "line" if self.bad_lines == 1 else "lines"
        return f"import refused: {self.total_errors} error(s) on {self.bad_lines} {lines}; nothing was imported"

    def describe(self) -> str:
        """Every listed error on its own line, then how many more were not listed."""
        out = [str(error) for error in self.errors]
        if self.unlisted_errors:
            out.append(f"... and {self.unlisted_errors} more error(s) not listed")
        return "\n".join(out)


class ErrorLog:
    """Collects issues up to `limit` listed entries while still counting every one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.listed: list[ImportIssue] = []
        self.total = 0
        self._bad_lines: set[tuple[str, int]] = set()

    def add(self, file: str, line: int, column: str, message: str) -> None:
        self.total += 1
        self._bad_lines.add((file, line))
        if len(self.listed) < self.limit:
            self.listed.append(ImportIssue(file, line, column, message))

    def __bool__(self) -> bool:
        return self.total > 0

    @property
    def bad_lines(self) -> int:
        return len(self._bad_lines)

    def failure(self) -> ImportFailed:
        return ImportFailed(list(self.listed), total_errors=self.total, bad_lines=self.bad_lines)
