"""Opaque cursors for keyset pagination on ``(created_at, id)``, newest first.

A cursor is the base64url of ``<created_at ISO>|<id>``. It is opaque to clients (they pass it
back unchanged) but carries no secret: decoding one reveals nothing the page did not show, and
a forged one only moves the position of the caller's own, already filtered, query.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from payment_service.payments.errors import InvalidCursor

__all__ = ["Cursor"]

_MAX_LENGTH = 200


@dataclass(frozen=True)
class Cursor:
    """The position after the last item of a page."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        """The opaque string handed to the client."""
        raw = f"{self.created_at.isoformat()}|{self.id}".encode("ascii")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Parse a cursor from :meth:`encode`.

        :raises InvalidCursor: (422 ``invalid_cursor``) anything else.
        """
        if not value or len(value) > _MAX_LENGTH or not value.isascii():
            raise InvalidCursor()
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
            stamp, _, ident = raw.partition("|")
            created_at = datetime.fromisoformat(stamp)
            payment_id = uuid.UUID(ident)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise InvalidCursor() from None
        if created_at.tzinfo is None:
            raise InvalidCursor()
        return cls(created_at, payment_id)
