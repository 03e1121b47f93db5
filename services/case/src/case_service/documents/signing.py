"""Signed, time-limited download links of documents: an itsdangerous token over the document's
id, signed with ``document_link_key`` and stamped with the time it was issued."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Final

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from case_service.settings import CaseSettings

__all__ = ["SALT", "document_of", "sign"]

SALT: Final = "case-document"


def _serializer(settings: CaseSettings, issued_at: datetime | None = None,
                ) -> URLSafeTimedSerializer:
    if issued_at is None:
        signer: type[TimestampSigner] = TimestampSigner
    else:
        stamp = int(issued_at.timestamp())

        class _IssuedAt(TimestampSigner):
            def get_timestamp(self) -> int:
                return stamp

        signer = _IssuedAt
    return URLSafeTimedSerializer(settings.document_link_key.get_secret_value(), salt=SALT,
                                  signer=signer)


def sign(document_id: uuid.UUID, settings: CaseSettings, now: datetime) -> str:
    """A token for ``document_id`` issued at ``now``."""
    return str(_serializer(settings, now).dumps({"d": str(document_id)}))


def document_of(token: str, settings: CaseSettings, now: datetime) -> uuid.UUID | None:
    """The document ``token`` names if its signature holds and it was issued at most
    ``settings.document_link_days`` before ``now`` (and not after it); None otherwise, for
    whatever reason."""
    try:
        payload, issued = _serializer(settings).loads(token, return_timestamp=True)
        document_id = uuid.UUID(str(payload["d"]))
    except (BadData, KeyError, TypeError, ValueError):
        return None
    issued_at = issued if issued.tzinfo else issued.replace(tzinfo=UTC)
    if issued_at > now + timedelta(minutes=5):
        return None
    if now - issued_at > timedelta(days=settings.document_link_days):
        return None
    return document_id
