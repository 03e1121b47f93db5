"""The transport case's event log as FIT-Connect issues it: each event a Security Event Token
(RFC 8417, compact JWS ``PS512``, ``typ secevent+jwt``) signed with the destination's signing
key, ``sub`` = ``submission:<id>``, ``txn`` = ``case:<transport case id>``, ``events`` = one
event URI with its payload (``problems`` of a rejection). No personal data, no form values."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Final

from joserfc import jws

from case_service.intake.keys import SIGNING_ALG, KeyCipher
from case_service.intake.models import Destination, Submission, SubmissionEvent

__all__ = ["EVENT_BASE", "SET_SCHEMA", "record_event"]

EVENT_BASE: Final = "https://schema.fitko.de/fit-connect/events/"
SET_SCHEMA: Final = ("https://schema.fitko.de/fit-connect/set-payload/1.2.0/"
                     "set-payload.schema.json")


def record_event(destination: Destination, cipher: KeyCipher, submission: Submission,
                 name: str, now: datetime, detail: dict[str, Any] | None = None,
                 ) -> SubmissionEvent:
    """The event ``name`` of ``submission``, signed now; the caller adds it to the session."""
    detail = detail or {}
    payload = {
        "$schema": SET_SCHEMA, "jti": str(uuid.uuid4()), "iss": str(destination.id),
        "iat": int(now.timestamp()), "sub": f"submission:{submission.id}",
        "txn": f"case:{submission.transport_case_id}",
        "events": {EVENT_BASE + name: {"problems": detail["problems"]}
                   if "problems" in detail else {}},
    }
    header = {"alg": SIGNING_ALG, "typ": "secevent+jwt", "kid": destination.signing_kid}
    key = cipher.private_key(destination.signing_private_jwk_encrypted)
    token = jws.serialize_compact(header, json.dumps(payload, separators=(",", ":")), key,
                                  algorithms=[SIGNING_ALG])
    return SubmissionEvent(submission_id=submission.id,
                           transport_case_id=submission.transport_case_id, name=name, at=now,
                           detail=detail, token=token)
