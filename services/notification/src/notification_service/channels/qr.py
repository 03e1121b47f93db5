"""QR code attachments of ticket confirmations: one PNG per ticket, made with segno from the
ticket's ``qr_payload`` (the signed payload ticketing put in the event). No I/O."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass

import segno

__all__ = ["Attachment", "ticket_attachments"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_MAX_TICKETS = 50
_MAX_PAYLOAD = 2000


@dataclass(frozen=True)
class Attachment:
    """A file attached to an e-mail; ``content_id`` lets the HTML show it (``cid:...``)."""

    filename: str
    content: bytes
    maintype: str
    subtype: str
    content_id: str


def _png(payload: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


def ticket_attachments(params: Mapping[str, object]) -> list[Attachment]:
    """``ticket-<code>.png`` for each entry of ``params["tickets"]`` that has a ``code`` and a
    ``qr_payload`` (tolerant: anything else is skipped). ``content_id`` is ``qr-<code>``."""
    tickets = params.get("tickets")
    if not isinstance(tickets, list):
        return []
    attachments: list[Attachment] = []
    for ticket in tickets[:_MAX_TICKETS]:
        if not isinstance(ticket, Mapping):
            continue
        code, payload = ticket.get("code"), ticket.get("qr_payload")
        if not isinstance(code, str) or not isinstance(payload, str) or not payload:
            continue
        if len(payload) > _MAX_PAYLOAD:
            continue
        safe = _UNSAFE.sub("-", code).strip("-")[:64] or "ticket"
        attachments.append(Attachment(f"ticket-{safe}.png", _png(payload), "image", "png",
                                      f"qr-{safe}"))
    return attachments
