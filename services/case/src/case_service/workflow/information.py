"""Requests for information: staff ask the applicant for form fields and attachments by a
deadline; the applicant adds the asked attachments to the case and answers with the asked
fields, validated against the form as a whole. The case row is locked by the caller."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.errors import TooManyAttachments
from case_service.attachments.models import Attachment
from case_service.attachments.storage import BlobStorage
from case_service.attachments.upload import (
    attachment_kind,
    check_media_type,
    receive_upload,
    sanitize_filename,
)
from case_service.cases import repository
from case_service.cases.errors import AttachmentsMissing, CaseNotFound
from case_service.cases.models import Case
from case_service.cases.service import applicant_name, locale_of
from case_service.catalogue.models import ServiceDefinition
from case_service.catalogue.resolution import definition_by_id
from case_service.forms import merge_patch, require_valid
from case_service.process.spec import ProcessSpec
from case_service.settings import CaseSettings
from case_service.workflow.actors import actor_of, is_applicant
from case_service.workflow.audit import audit, snapshot
from case_service.workflow.dates import end_of_day, local_day
from case_service.workflow.errors import (
    ActionNotAllowed,
    AttachmentKindNotRequested,
    FieldsNotRequested,
    InvalidDeadline,
    InvalidFields,
    NoInformationRequested,
)
from case_service.workflow.models import InformationRequest
from case_service.workflow.schemas import InformationSpec
from case_service.workflow.states import open_request
from city_shared.auth import Principal
from city_shared.visibility import Visibility

__all__ = ["add_attachment", "answer_request", "new_request"]

_MAX_DAYS = 365


def _form_fields(definition: ServiceDefinition) -> set[str]:
    properties = definition.form_schema.get("properties")
    return set(properties) if isinstance(properties, Mapping) else set()


def _kinds(definition: ServiceDefinition) -> set[str]:
    return {str(spec["kind"]) for spec in definition.attachments
            if isinstance(spec, Mapping) and "kind" in spec}


async def new_request(session: AsyncSession, case: Case, process: ProcessSpec, *, to: str,
                      spec: InformationSpec | None, note: str, actor: str,
                      now: datetime) -> InformationRequest:
    """The request (not yet added) asking for ``spec``'s fields and attachment kinds until its
    deadline (default: the target state's deadline days, else 14), ending with that day in the
    city. An earlier open request of the case is cancelled (flushed).

    :raises InvalidFields: (422) a field the form lacks. :raises UnknownAttachmentKind: (422).
    :raises InvalidDeadline: (422) not between tomorrow and a year from today.
    """
    spec = spec or InformationSpec()
    definition = await definition_by_id(session, case.definition_id)
    unknown = sorted(set(spec.fields) - _form_fields(definition))
    if unknown:
        raise InvalidFields(unknown)
    for kind in spec.attachment_kinds:
        attachment_kind(definition.attachments, kind)
    today = local_day(now)
    if spec.deadline is not None:
        if not today < spec.deadline <= today + timedelta(days=_MAX_DAYS):
            raise InvalidDeadline("The deadline must lie between tomorrow and a year from "
                                  "today.")
        day = spec.deadline
    else:
        state = process.states[to].deadline
        day = today + timedelta(days=state.days if state is not None else 14)
    earlier = await open_request(session, case)
    if earlier is not None:
        earlier.status = "cancelled"
        earlier.closed_at = now
        await session.flush()
    return InformationRequest(
        id=uuid.uuid4(), case_id=case.id, tenant=case.tenant, status="open", note=note,
        fields=list(dict.fromkeys(spec.fields)),
        attachment_kinds=list(dict.fromkeys(spec.attachment_kinds)), deadline=end_of_day(day),
        requested_by=actor, requested_at=now)


async def answer_request(session: AsyncSession, case: Case, *, data: Mapping[str, Any] | None,
                         note_id: str | None, now: datetime) -> InformationRequest:
    """The applicant's answer to the case's open request: ``data`` changes only the
    requested fields (merge patch: null removes), the merged data must pass the form, and
    every requested attachment kind must have been added since the request. Updates the
    case's data and applicant name; the request is ``answered``.

    :raises NoInformationRequested: (409). :raises FieldsNotRequested: (422).
    :raises FormInvalid: (422 ``form_invalid``). :raises AttachmentsMissing: (422).
    """
    request = await open_request(session, case)
    if request is None:
        raise NoInformationRequested("No request for information is open on this case.")
    changes = dict(data or {})
    extra = sorted(set(changes) - set(request.fields))
    if extra:
        raise FieldsNotRequested(extra)
    definition = await definition_by_id(session, case.definition_id)
    merged = merge_patch(case.data, changes) if changes else case.data
    require_valid(definition.form_schema, merged, locale_of(case.locale), False)
    added = await _added_since(session, case, request.requested_at)
    missing = [k for k in request.attachment_kinds if k not in {a.kind for a in added}]
    if missing:
        raise AttachmentsMissing(missing)
    if changes:
        case.data = dict(merged)
        case.applicant_name = applicant_name(case.data)
    request.status = "answered"
    request.answered_at = now
    request.closed_at = now
    request.answer = {"data": changes, "attachments": [str(a.id) for a in added],
                      "note_id": note_id}
    return request


async def _added_since(session: AsyncSession, case: Case,
                       since: datetime) -> list[Attachment]:
    return list((await session.scalars(
        select(Attachment).where(Attachment.case_id == case.id, Attachment.created_at >= since)
        .order_by(Attachment.created_at, Attachment.id))).all())


async def add_attachment(session: AsyncSession, principal: Principal, v: Visibility,
                         case_id: uuid.UUID, *, kind: str, filename: str | None,
                         declared: str | None, chunks: AsyncIterator[bytes],
                         settings: CaseSettings, storage: BlobStorage,
                         now: datetime) -> Attachment:
    """The applicant adds an attachment of ``kind`` to the case while its open request for
    information asks for that kind. Checked before a byte is read and again under the case's
    row lock after reading; refused uploads store nothing.

    :raises CaseNotFound: (404). :raises ActionNotAllowed: (403) not the applicant.
    :raises NoInformationRequested: / :raises AttachmentKindNotRequested: (409).
    :raises TooManyAttachments: (409) ``attachments_per_draft`` added for this request.
    :raises AttachmentTooLarge: (413). :raises AttachmentTypeNotAllowed: (415).
    """
    case = await repository.get_visible(session, v, case_id)
    if case is None:
        raise CaseNotFound()
    if not is_applicant(principal, case):
        raise ActionNotAllowed("Only the applicant adds attachments to a case.")
    definition = await definition_by_id(session, case.definition_id)
    spec = attachment_kind(definition.attachments, kind)
    await _requested(session, case, kind)
    received = await receive_upload(chunks, max_bytes=spec.limit(settings.attachment_max_bytes))
    media_type = check_media_type(received.content, declared=declared or "",
                                  allowed=spec.media_types)
    case = await repository.lock(session, case.tenant, case.id)
    if case is None:
        raise CaseNotFound()
    request = await _requested(session, case, kind)
    count = await session.scalar(select(func.count()).select_from(Attachment).where(
        Attachment.case_id == case.id, Attachment.created_at >= request.requested_at))
    if (count or 0) >= settings.attachments_per_draft:
        raise TooManyAttachments(settings.attachments_per_draft)
    attachment_id = uuid.uuid4()
    attachment = Attachment(
        id=attachment_id, tenant=case.tenant, case_id=case.id, kind=spec.kind,
        filename=sanitize_filename(filename), media_type=media_type, size=received.size,
        sha256=received.sha256, storage_key=f"attachments/{attachment_id}", created_at=now)
    await storage.put(session, attachment.storage_key, received.content)
    session.add(attachment)
    audit(session, case, actor=actor_of(principal), action="attachment_added",
          before=None, after={**snapshot(case), "attachment_id": str(attachment_id),
                              "kind": spec.kind, "request_id": str(request.id)}, at=now)
    await session.flush()
    return attachment


async def _requested(session: AsyncSession, case: Case, kind: str) -> InformationRequest:
    request: InformationRequest | None = await session.scalar(
        select(InformationRequest).where(InformationRequest.case_id == case.id,
                                         InformationRequest.status == "open"))
    if request is None:
        raise NoInformationRequested("No request for information is open on this case.")
    if kind not in request.attachment_kinds:
        raise AttachmentKindNotRequested("The open request does not ask for this kind.",
                                         extra={"kinds": list(request.attachment_kinds)})
    return request
