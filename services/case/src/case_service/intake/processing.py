"""Turning a submitted payload into a case, or into a rejection: decrypt metadata, data and
attachments with the destination's key, check the hashes the metadata declares, resolve the
service, validate the form, then open the case (channel ``intake``) with the attachments.

Never raises for the payload's content: every problem becomes an :class:`Outcome` with a reason
code from :data:`~case_service.intake.errors.REJECT_REASONS`, and no case or attachment is left
behind (case creation runs in a savepoint).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.models import Attachment
from case_service.attachments.storage import blob_storage
from case_service.attachments.upload import attachment_kind, check_media_type, sanitize_filename
from case_service.cases.models import Case
from case_service.cases.service import open_case
from case_service.catalogue.models import Service
from case_service.catalogue.resolution import Effective, resolve
from case_service.forms import validate_form
from case_service.intake.keys import DecryptionFailed, cipher_from_settings, decrypt_payload
from case_service.intake.metadata import Metadata, matches
from case_service.intake.models import Destination, Submission, SubmissionAttachment
from case_service.intake.schemas import MAX_JWE_CHARS
from case_service.settings import CaseSettings
from city_shared.errors import DomainError
from city_shared.journey import capture

__all__ = ["Outcome", "Rejected", "process"]


@dataclass
class Rejected(Exception):
    """Internal: stops processing with a reason code and, for form errors, pointers."""

    reason: str
    pointers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """The case opened, or why not."""

    case: Case | None
    reason: str | None = None
    pointers: tuple[str, ...] = ()


@dataclass(frozen=True)
class _File:
    meta_kind: str
    filename: str | None
    content: bytes


async def process(session: AsyncSession, *, submission: Submission, destination: Destination,
                  encrypted_metadata: str, encrypted_data: str,
                  uploads: Sequence[SubmissionAttachment], settings: CaseSettings,
                  now: datetime) -> Outcome:
    """Open the case of ``submission`` or say why it is rejected (see the module)."""
    try:
        metadata, data, files = _open_payload(destination, encrypted_metadata, encrypted_data,
                                              uploads, submission, settings)
        effective = await _effective(session, submission, destination, metadata, now)
        errors = validate_form(effective.definition.form_schema, data,
                               locale=metadata.locale, partial=False)
        if errors:
            raise Rejected("form_invalid", [error.pointer for error in errors])
        case = await _open(session, submission, effective, data, files, metadata.locale,
                           settings, now)
    except Rejected as rejected:
        return Outcome(None, rejected.reason, tuple(rejected.pointers))
    return Outcome(case)


def _open_payload(destination: Destination, encrypted_metadata: str, encrypted_data: str,
                  uploads: Sequence[SubmissionAttachment], submission: Submission,
                  settings: CaseSettings) -> tuple[Metadata, dict[str, Any], list[_File]]:
    key = cipher_from_settings(settings).private_key(destination.private_jwk_encrypted)
    try:
        kid = destination.encryption_kid
        metadata_bytes = decrypt_payload(encrypted_metadata, key, kid, max_bytes=MAX_JWE_CHARS)
        data_bytes = decrypt_payload(encrypted_data, key, kid, max_bytes=MAX_JWE_CHARS)
        plain = {upload.attachment_id: decrypt_payload(
                     upload.ciphertext, key, kid, max_bytes=settings.attachment_max_bytes)
                 for upload in uploads}
    except DecryptionFailed:
        raise Rejected("decryption_failed") from None
    try:
        metadata = Metadata.model_validate_json(metadata_bytes)
    except ValidationError:
        raise Rejected("metadata_invalid") from None
    service_type = metadata.public_service_type
    if service_type is not None and service_type.identifier != submission.service_identifier:
        raise Rejected("service_not_offered")
    declared = {item.attachment_id: item for item in metadata.content_structure.attachments}
    announced = {uuid.UUID(value) for value in submission.announced_attachments}
    if set(declared) != announced or len(declared) != len(metadata.content_structure.attachments):
        raise Rejected("attachments_mismatch")
    if not matches(metadata.content_structure.data.hash, data_bytes) or any(
            not matches(declared[attachment_id].hash, content)
            for attachment_id, content in plain.items()):
        raise Rejected("hash_mismatch")
    try:
        data = json.loads(data_bytes)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        raise Rejected("form_invalid", [""]) from None
    if not isinstance(data, dict):
        raise Rejected("form_invalid", [""])
    files = [_File(declared[attachment_id].kind, declared[attachment_id].filename, content)
             for attachment_id, content in plain.items()]
    return metadata, data, files


async def _effective(session: AsyncSession, submission: Submission, destination: Destination,
                     metadata: Metadata, now: datetime) -> Effective:
    if submission.service_identifier not in destination.services:
        raise Rejected("service_not_offered")
    service_id = await session.scalar(
        select(Service.id).where(Service.leika_key == submission.service_identifier))
    if service_id is None:
        raise Rejected("service_not_offered")
    try:
        effective = await resolve(session, tenant=destination.tenant, service_id=service_id,
                                  on=now.date())
    except DomainError:
        raise Rejected("service_not_offered") from None
    if effective.department != destination.department:
        raise Rejected("service_not_offered")
    return effective


async def _open(session: AsyncSession, submission: Submission, effective: Effective,
                data: dict[str, Any], files: Sequence[_File], locale: str,
                settings: CaseSettings, now: datetime) -> Case:
    definition = effective.definition
    attachments: list[tuple[Attachment, bytes]] = []
    for file in files:
        try:
            kind = attachment_kind(definition.attachments, file.meta_kind)
            if len(file.content) > kind.limit(settings.attachment_max_bytes):
                raise Rejected("attachment_invalid")
            media_type = check_media_type(file.content, declared=None, allowed=kind.media_types)
        except DomainError:
            raise Rejected("attachment_invalid") from None
        attachment_id = uuid.uuid4()
        attachments.append((Attachment(
            id=attachment_id, tenant=submission.tenant, kind=kind.kind,
            filename=sanitize_filename(file.filename), media_type=media_type,
            size=len(file.content), sha256=hashlib.sha256(file.content).hexdigest(),
            storage_key=f"case/{attachment_id}"), file.content))
    storage = blob_storage(settings)
    try:
        async with session.begin_nested():
            case = await open_case(
                session, effective=effective, definition=definition, data=data, verified={},
                account_id=None, submitted_by=f"client:{submission.client_id}",
                channel="intake", locale=locale, attachments=[a for a, _ in attachments],
                draft_id=None, journey=capture(), now=now, settings=settings)
            for attachment, content in attachments:
                session.add(attachment)
                await storage.put(session, attachment.storage_key, content)
            await session.flush()
    except DomainError as exc:
        raise Rejected("form_invalid" if exc.code == "form_invalid" else "case_not_opened",
                       ) from None
    return case
