"""ORM models of the intake (migration 0004): destinations with their encryption keys, the
submissions senders announce, upload and submit, their encrypted attachments and the event
log a sender polls. Transport states live here, apart from the case's processing states."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from case_service.db import Base

__all__ = ["TRANSPORT_STATUSES", "Destination", "Submission", "SubmissionAttachment",
           "SubmissionEvent"]

TRANSPORT_STATUSES: Final = ("incomplete", "submitted", "accepted", "rejected")
"""``incomplete`` (announced, uploads under way) -> ``submitted`` (payload in, being processed)
-> ``accepted`` (a case exists) or ``rejected`` (with a reason code, no case)."""


class Destination(Base):
    """Where senders deliver applications: one department of one tenant, the services (LeiKa
    keys) it accepts and the RSA key pair payloads are encrypted to."""

    __tablename__ = "intake_destinations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63))
    services: Mapped[list[str]] = mapped_column(JSONB, default=list)
    """LeiKa keys (``urn:de:fim:leika:leistung:...``) this destination accepts."""
    encryption_kid: Mapped[str] = mapped_column(String(100))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """Published: ``kty RSA``, ``use enc``, ``alg RSA-OAEP-256``, ``kid``."""
    private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    """The private JWK as a compact JWE (``dir`` + ``A256GCM``) under the key-encryption key."""
    signing_kid: Mapped[str] = mapped_column(String(100))
    signing_public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """Published: verifies the event log's SETs (``use sig``, ``alg PS512``)."""
    signing_private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class Submission(Base):
    """One delivery by one sender (a machine client) to one destination."""

    __tablename__ = "intake_submissions"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    destination_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("intake_destinations.id"))
    client_id: Mapped[str] = mapped_column(String(100))
    transport_case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), default=uuid.uuid4)
    """FIT-Connect's ``caseId``: the transport case whose event log the sender polls (not the
    case management case, see ``case_id``)."""
    service_identifier: Mapped[str] = mapped_column(String(64))
    service_name: Mapped[str] = mapped_column(String(255))
    announced_attachments: Mapped[list[str]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(16), default="incomplete")
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cases.id", ondelete="SET NULL"))
    """The case created when the submission was accepted."""
    reject_reason: Mapped[str | None] = mapped_column(String(48))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class SubmissionAttachment(Base):
    """An uploaded attachment, still encrypted (compact JWE); deleted once processed."""

    __tablename__ = "intake_attachments"

    submission_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("intake_submissions.id", ondelete="CASCADE"),
        primary_key=True)
    attachment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())


class SubmissionEvent(Base):
    """One entry of a transport case's event log (FIT-Connect event names, no personal data),
    kept as issued: a signed SET."""

    __tablename__ = "intake_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("intake_submissions.id", ondelete="CASCADE"))
    transport_case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(48))
    """``create-submission``, ``submit-submission``, ``accept-submission``,
    ``reject-submission``."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """Reason codes and problem pointers; never form values."""
    token: Mapped[str] = mapped_column(Text)
    """The event as a Security Event Token (RFC 8417), signed with the destination's key."""
