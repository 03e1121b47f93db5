"""The worklist's opaque keyset cursor: the position after a page's last case in the order
``due_at`` ascending (cases without a due date last), then id.

Like :class:`city_shared.pagination.Cursor` (unpadded base64url, 422 ``invalid_cursor`` for
anything else), but the due date may be missing: ``-|<uuid>``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from city_shared.encoding import b64url_decode, b64url_encode
from city_shared.pagination import CURSOR_MAX_LENGTH, InvalidCursor

__all__ = ["DueCursor"]

_NO_DATE = "-"


@dataclass(frozen=True)
class DueCursor:
    """After the case ``id`` due at ``due_at`` (None: among the cases without a due date)."""

    due_at: datetime | None
    id: uuid.UUID

    def encode(self) -> str:
        """The opaque string handed to the client as ``next_cursor``."""
        stamp = _NO_DATE if self.due_at is None else self.due_at.isoformat()
        return b64url_encode(f"{stamp}|{self.id}".encode("ascii"))

    @classmethod
    def parse(cls, value: str | None) -> DueCursor | None:
        """The cursor :meth:`encode` wrote as ``value`` (None stays None).

        :raises InvalidCursor: (422 ``invalid_cursor``) anything else.
        """
        if value is None:
            return None
        if not value or len(value) > CURSOR_MAX_LENGTH:
            raise InvalidCursor()
        try:
            stamp, bar, ident = b64url_decode(value).decode("ascii").partition("|")
            if not bar:
                raise ValueError("no separator")
            due_at = None if stamp == _NO_DATE else datetime.fromisoformat(stamp)
            if due_at is not None and due_at.tzinfo is None:
                raise ValueError("naive timestamp")
            return cls(due_at, uuid.UUID(ident))
        except (ValueError, UnicodeDecodeError):
            raise InvalidCursor() from None
