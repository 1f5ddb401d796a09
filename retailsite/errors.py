"""The refusals services raise, whoever calls them (API, admin, storefront, commands).

The API answers InvalidInput with 400 and Conflict with 409 (retailsite/api/exceptions.py); other callers
show the message. Either is raised before the first write, or inside the caller's atomic block.
"""

from __future__ import annotations

from collections.abc import Mapping

NON_FIELD_KEY = "non_field_errors"


class InvalidInput(Exception):
    """Input that is well-formed but refers to something wrong (unknown ids, duplicates).

    `fields` maps field paths (`items[3].lines[0].product_id`) to messages.
    """

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields = {path: list(messages) for path, messages in fields.items()}
        super().__init__(errors_summary(self.fields))


class Conflict(Exception):
    """The request clashes with the stored state (an id already taken, rows still referencing)."""


def errors_summary(fields: Mapping[str, list[str]]) -> str:
    """One line for people: the first field's first message, and how many more there are."""
    if not fields:
        return "Invalid input."
    path, messages = next(iter(fields.items()))
    first = messages[0] if messages else "invalid"
    text = first if path == NON_FIELD_KEY else f"{path}: {first}"
    others = sum(len(m) for m in fields.values()) - 1
    return f"{text} (and {others} more error{'s' if others != 1 else ''})" if others > 0 else text
