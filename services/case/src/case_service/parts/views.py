"""Reading parts: a page of the caller's departments' parts, one part with the minimal view of
its case, and an attachment of that case through the part."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.models import Attachment
from case_service.attachments.storage import blob_storage
from case_service.cases import repository as cases_repository
from case_service.cases.errors import AttachmentNotFound
from case_service.cases.models import Case
from case_service.cases.schemas import AttachmentMeta
from case_service.catalogue.models import ServiceDefinition
from case_service.parts import repository
from case_service.parts.access import part_visibility, require_department
from case_service.parts.errors import PartNotFound
from case_service.parts.models import CasePart
from case_service.parts.schemas import PartCase, PartDetail, PartList, PartRead
from case_service.parts.service import part_spec
from case_service.settings import CaseSettings
from case_service.workflow.process_of import process_of
from city_shared.auth import Principal
from city_shared.pagination import Cursor, next_page

__all__ = ["attachment_content", "list_parts", "read_part", "visible_part"]


def part_read(part: CasePart, case_number: str) -> dict[str, object]:
    """The :class:`PartRead` members of ``part``."""
    return {"id": part.id, "case_id": part.case_id, "case_number": case_number,
            "tenant": part.tenant, "department": part.department, "key": part.key,
            "step": part.step, "position": part.position, "status": part.status,
            "due_at": part.due_at, "opened_at": part.opened_at,
            "answered_at": part.answered_at, "answered_by": part.answered_by,
            "answer": part.answer, "version": part.version, "created_at": part.created_at}


async def list_parts(session: AsyncSession, principal: Principal, *, department: str | None,
                     status: str | None, cursor: str | None, limit: int) -> PartList:
    """A page of the parts asked of the caller's departments (or of ``department``, one of
    them), most urgent first (``due_at``, waiting parts last, then id).

    :raises Forbidden: (403) no staff role, or ``department`` is not the caller's.
    :raises InvalidCursor: (422).
    """
    v = part_visibility(principal)
    if department is not None:
        require_department(v, department)
    after = Cursor.parse(cursor)
    rows = await repository.list_visible(session, v, department=department, status=status,
                                         cursor=after, limit=limit)
    page, next_cursor = next_page(
        rows, limit, lambda p: Cursor(p.due_at or repository.NO_DUE_DATE, p.id))
    numbers = await _numbers(session, {p.case_id for p in page})
    return PartList(items=[PartRead.model_validate(part_read(p, numbers[p.case_id]))
                           for p in page], next_cursor=next_cursor)


async def _numbers(session: AsyncSession, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not case_ids:
        return {}
    rows = await session.execute(select(Case.id, Case.number).where(Case.id.in_(case_ids)))
    return {case_id: number for case_id, number in rows.tuples()}


async def visible_part(session: AsyncSession, principal: Principal,
                       part_id: uuid.UUID) -> CasePart:
    """:raises PartNotFound: (404) also for a part of another department or tenant.
    :raises Forbidden: (403) a citizen, a client, staff without a role."""
    part = await repository.get_visible(session, part_visibility(principal), part_id)
    if part is None:
        raise PartNotFound()
    return part


async def read_part(session: AsyncSession, principal: Principal, part_id: uuid.UUID,
                    settings: CaseSettings) -> PartDetail:
    """The part and what its department needs of the case to answer it (number, service,
    status, form data, attachments linked through the part)."""
    part = await visible_part(session, principal, part_id)
    return await detail(session, part, settings)


async def detail(session: AsyncSession, part: CasePart, settings: CaseSettings) -> PartDetail:
    """:class:`PartDetail` of ``part`` (whose reader was checked)."""
    case = await session.get(Case, part.case_id)
    assert case is not None  # a foreign key keeps it
    names = await session.scalar(select(ServiceDefinition.names).where(
        ServiceDefinition.id == case.definition_id))
    spec = part_spec(await process_of(session, case), part)
    base = f"{settings.base_url}/parts/{part.id}/attachments"
    attachments = [_meta(a, f"{base}/{a.id}")
                   for a in await cases_repository.attachments_of(session, case.id)]
    return PartDetail.model_validate({
        **part_read(part, case.number),
        "label": spec.label.model_dump() if spec is not None else None,
        "case": PartCase(id=case.id, number=case.number, service_id=case.service_id,
                         service_name=dict(names or {}), status=case.status,
                         submitted_at=case.submitted_at, data=case.data,
                         attachments=attachments)})


def _meta(a: Attachment, url: str) -> AttachmentMeta:
    return AttachmentMeta(id=a.id, kind=a.kind, filename=a.filename, media_type=a.media_type,
                          size=a.size, sha256=a.sha256, download_url=url)


async def attachment_content(session: AsyncSession, principal: Principal, part_id: uuid.UUID,
                             attachment_id: uuid.UUID,
                             settings: CaseSettings) -> tuple[AttachmentMeta, bytes]:
    """An attachment of the part's case and its content, for the part's readers.

    :raises PartNotFound: (404). :raises AttachmentNotFound: (404) not of this case.
    """
    part = await visible_part(session, principal, part_id)
    for a in await cases_repository.attachments_of(session, part.case_id):
        if a.id == attachment_id:
            content = await blob_storage(settings).get(session, a.storage_key)
            if content is None:
                break
            return _meta(a, ""), content
    raise AttachmentNotFound()
