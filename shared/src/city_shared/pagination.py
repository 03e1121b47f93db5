"""Opaque keyset cursors for lists ordered newest first on ``(timestamp, id)``.

A cursor is the unpadded base64url of ``<timestamp ISO 8601>|<uuid>``. It is opaque to clients
(they pass ``next_cursor`` back unchanged) but carries no secret: decoding one reveals nothing
the page did not show, and a forged one only moves the position inside the caller's own,
already filtered, query. Anything not produced by :meth:`Cursor.encode` is a 422
``invalid_cursor``. The query itself (``WHERE (ts, id) < (:ts, :id)``) stays in the repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final, TypeVar

from fastapi import Query

from city_shared.encoding import b64url_decode, b64url_encode
from city_shared.errors import ValidationFailed

__all__ = ["CURSOR_MAX_LENGTH", "Cursor", "CursorQuery", "InvalidCursor", "next_page"]

#: The longest cursor accepted; :meth:`Cursor.encode` writes about 90 characters.
CURSOR_MAX_LENGTH: Final = 200

T = TypeVar("T")


class InvalidCursor(ValidationFailed):
    """422: the pagination cursor was not handed out by this API (or was altered)."""

    code = "invalid_cursor"
    title = "Invalid cursor"

    def __init__(self) -> None:
        super().__init__("The cursor is not one this API handed out; pass next_cursor unchanged.")


@dataclass(frozen=True)
class Cursor:
    """The position after the last item of a page: its timestamp (timezone-aware) and id."""

    at: datetime
    id: uuid.UUID

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a cursor's timestamp must be timezone-aware")

    def encode(self) -> str:
        """The opaque string handed to the client as ``next_cursor``."""
        return b64url_encode(f"{self.at.isoformat()}|{self.id}".encode("ascii"))

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """The cursor :meth:`encode` wrote as ``value``.

        :raises InvalidCursor: (422 ``invalid_cursor``) anything else: empty, too long, not
            base64url, not ``<aware timestamp>|<uuid>``.
        """
        if not value or len(value) > CURSOR_MAX_LENGTH:
            raise InvalidCursor()
        try:
            stamp, bar, ident = b64url_decode(value).decode("ascii").partition("|")
            if not bar:
                raise ValueError("no separator")
            at = datetime.fromisoformat(stamp)
            return cls(at, uuid.UUID(ident))
        except (ValueError, UnicodeDecodeError):
            raise InvalidCursor() from None

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        """:meth:`decode` of an optional query parameter; None stays None."""
        return None if value is None else cls.decode(value)


#: The ``cursor`` query parameter of a list route.
CursorQuery = Annotated[
    str | None,
    Query(max_length=CURSOR_MAX_LENGTH, description="`next_cursor` of the previous page."),
]


def next_page(rows: Sequence[T], limit: int,
              position: Callable[[T], Cursor]) -> tuple[list[T], str | None]:
    """Split ``rows`` (fetched with ``LIMIT limit + 1``) into the page to show and the
    ``next_cursor`` (None on the last page). ``position`` gives a row's cursor."""
    page = list(rows[:limit])
    more = len(rows) > limit and bool(page)
    return page, position(page[-1]).encode() if more else None
