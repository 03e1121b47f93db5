"""HTTP models of the intake, named and shaped like FIT-Connect's Submission API (camelCase on
the wire): announce (``SubmissionCreate``), submit (``SubmissionSubmit``), status
(``SubmissionRead``), the event log and the destination with its key."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel

__all__ = [
    "JWE_PATTERN",
    "MAX_JWE_CHARS",
    "AcceptedCase",
    "DestinationRead",
    "DestinationService",
        "EventLog",
    "EventLogEntry",
    "Problem",
    "PublicJwk",
    "ServiceType",
    "SubmissionCreate",
    "SubmissionCreated",
    "SubmissionRead",
    "SubmissionSubmit",
]

#: Compact JWE: five base64url parts (header, encrypted key, iv, ciphertext, tag).
_PART: Final = r"[A-Za-z0-9_-]"
JWE_PATTERN: Final = rf"^{_PART}+\.{_PART}*\.{_PART}+\.{_PART}+\.{_PART}+$"
MAX_JWE_CHARS: Final = 500_000
"""Metadata and data each: both at this length still fit the platform's 1 MiB body limit, so a
submission the schema allows is never answered 413."""

# Documentation examples: the demo destination of musterstadt (``intake.seed``) and the
# parking permit of the demo library; the other ids are made up.
_DESTINATION: Final = "07299d6f-ba87-5095-9613-039d20ec3e1c"
_SUBMISSION: Final = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
_TRANSPORT_CASE: Final = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
_PARKING: Final[dict[str, JsonValue]] = {"identifier": "urn:de:fim:leika:leistung:99108001001000",
                   "name": "Bewohnerparkausweis"}
_JWE_EXAMPLE: Final = ("eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0.b3Bh.cXVl.Y2lwaGVy"
                       ".dGFn")


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              extra="forbid")


class ServiceType(_Camel):
    identifier: str = Field(pattern=r"^urn:de:fim:leika:leistung:[0-9]{14}$",
                            examples=["urn:de:fim:leika:leistung:99108001001000"])
    name: str = Field(min_length=1, max_length=255, examples=["Bewohnerparkausweis"])


class SubmissionCreate(_Camel):
    """Announce a submission: where to, which service, the attachments that will follow."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "destinationId": _DESTINATION, "serviceType": _PARKING, "announcedAttachments": []}]})

    destination_id: uuid.UUID
    service_type: ServiceType
    announced_attachments: list[uuid.UUID] = Field(default_factory=list, max_length=50)


class SubmissionCreated(_Camel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "destinationId": _DESTINATION, "submissionId": _SUBMISSION, "caseId": _TRANSPORT_CASE}]})

    destination_id: uuid.UUID
    submission_id: uuid.UUID
    case_id: uuid.UUID
    """The transport case (FIT-Connect's ``caseId``) whose event log the sender polls."""


class SubmissionSubmit(_Camel):
    """Both parts as compact JWE to the destination's key (``RSA-OAEP-256`` + ``A256GCM``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "encryptedMetadata": _JWE_EXAMPLE, "encryptedData": _JWE_EXAMPLE}]})

    encrypted_metadata: str = Field(max_length=MAX_JWE_CHARS, pattern=JWE_PATTERN)
    encrypted_data: str = Field(max_length=MAX_JWE_CHARS, pattern=JWE_PATTERN)


class AcceptedCase(_Camel):
    """The case management case an accepted submission became."""

    id: uuid.UUID
    number: str


class SubmissionRead(_Camel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "submissionId": _SUBMISSION, "caseId": _TRANSPORT_CASE, "destinationId": _DESTINATION,
        "serviceType": _PARKING, "announcedAttachments": [], "status": "accepted",
        "rejectReason": None, "createdAt": "2026-03-02T09:14:03Z",
        "submittedAt": "2026-03-02T09:14:05Z",
        "acceptedCase": {"id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
                         "number": "MS-2026-000123"}}]})

    submission_id: uuid.UUID
    case_id: uuid.UUID
    destination_id: uuid.UUID
    service_type: ServiceType
    announced_attachments: list[uuid.UUID]
    status: Literal["incomplete", "submitted", "accepted", "rejected"]
    reject_reason: str | None = None
    created_at: datetime
    submitted_at: datetime | None = None
    accepted_case: AcceptedCase | None = None


class Problem(_Camel):
    """Why a submission was rejected: a reason code and, for form errors, a JSON pointer."""

    code: str
    pointer: str | None = None


class EventLogEntry(_Camel):
    event: str
    """The event's URI, e.g. ``https://schema.fitko.de/fit-connect/events/accept-submission``."""
    name: Literal["create-submission", "submit-submission", "accept-submission",
                  "reject-submission"]
    submission_id: uuid.UUID
    case_id: uuid.UUID
    issued_at: datetime
    problems: list[Problem] = Field(default_factory=list)
    token: str
    """The same event as issued: a Security Event Token (compact JWS, ``PS512``) signed with
    the destination's signing key (``signingKid``), as FIT-Connect's event log holds them."""


class EventLog(_Camel):
    event_log: list[EventLogEntry]


class DestinationService(_Camel):
    identifier: str


class DestinationRead(_Camel):
    destination_id: uuid.UUID
    status: str
    services: list[DestinationService]
    encryption_kid: str
    signing_kid: str
    """Verifies the SETs of the event log."""


class PublicJwk(BaseModel):
    """One of the destination's public keys (RFC 7517 member names): the encryption key or the
    key that signs the event log."""

    kty: Literal["RSA"]
    kid: str
    n: str
    e: str
    alg: Literal["RSA-OAEP-256", "PS512"]
    use: Literal["enc", "sig"]
