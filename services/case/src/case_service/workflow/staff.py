"""Staff's work on a case beside the process: claim and assign it, write and read notes,
read the audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases import events, repository
from case_service.cases.errors import CaseNotFound
from case_service.cases.models import Case
from case_service.topics import CASES
from case_service.workflow.actors import actor_of, is_applicant, is_case_staff
from case_service.workflow.audit import audit, snapshot
from case_service.workflow.errors import NotCaseStaff
from case_service.workflow.guard import locked_case
from case_service.workflow.models import AuditEntry, CaseNote
from case_service.workflow.schemas import NoteCreate
from city_shared.auth import Principal
from city_shared.visibility import Visibility

__all__ = ["add_note", "assign", "audit_trail", "claim", "notes"]

_WORKERS = ("clerk", "manager")


def _assign(session: AsyncSession, case: Case, assignee: str | None, *, actor: str,
            action: str, now: datetime) -> None:
    before = snapshot(case)
    previous = case.assignee
    case.assignee = assignee
    case.touch(now)
    case.record(CASES, events.case_event(events.ASSIGNED, case, assignee=assignee,
                                         previous_assignee=previous))
    audit(session, case, actor=actor, action=action, before=before, after=snapshot(case),
          at=now)


async def claim(session: AsyncSession, principal: Principal, v: Visibility,
                case_id: uuid.UUID, *, if_match: str | None, now: datetime) -> Case:
    """A clerk or manager of the case's department takes it: ``assignee`` = their ``sub``.

    :raises CaseNotFound: (404). :raises PreconditionRequired: (428).
    :raises CaseVersionMismatch: (412). :raises NotCaseStaff: (403 ``action_not_allowed``).
    """
    case = await locked_case(session, v, case_id, if_match)
    if principal.kind != "staff" or not any(
            principal.has_role(case.department, role) for role in _WORKERS):
        raise NotCaseStaff("Only clerks and managers of the case's department claim it.")
    _assign(session, case, principal.sub, actor=actor_of(principal), action="claim", now=now)
    await session.flush()
    return case


async def assign(session: AsyncSession, principal: Principal, v: Visibility,
                 case_id: uuid.UUID, assignee: uuid.UUID | None, *, if_match: str | None,
                 now: datetime) -> Case:
    """A manager of the case's department gives it to ``assignee`` (None: nobody).

    :raises CaseNotFound: (404). :raises PreconditionRequired: (428).
    :raises CaseVersionMismatch: (412). :raises NotCaseStaff: (403) no manager.
    """
    case = await locked_case(session, v, case_id, if_match)
    if principal.kind != "staff" or not principal.has_role(case.department, "manager"):
        raise NotCaseStaff("Only managers of the case's department assign it.")
    _assign(session, case, None if assignee is None else str(assignee),
            actor=actor_of(principal), action="assign", now=now)
    await session.flush()
    return case


async def add_note(session: AsyncSession, principal: Principal, v: Visibility,
                   case_id: uuid.UUID, body: NoteCreate, *, now: datetime) -> CaseNote:
    """Staff of the case's department write a note (``public``: the applicant reads it).

    :raises CaseNotFound: (404). :raises NotCaseStaff: (403).
    """
    case = await repository.get_visible(session, v, case_id, for_update=True)
    if case is None:
        raise CaseNotFound()
    if not is_case_staff(principal, case):
        raise NotCaseStaff("Only staff of the case's department write notes.")
    actor = actor_of(principal)
    note = CaseNote(id=uuid.uuid4(), case_id=case.id, tenant=case.tenant,
                    visibility=body.visibility, author=actor, text=body.text, created_at=now)
    session.add(note)
    if body.visibility == "public":
        session.add(case.history("note", now, note_id=str(note.id)))
    audit(session, case, actor=actor, action="note_added", before=None,
          after={**snapshot(case), "note_id": str(note.id), "visibility": body.visibility},
          at=now)
    await session.flush()
    return note


async def notes(session: AsyncSession, principal: Principal, v: Visibility,
                case_id: uuid.UUID) -> Sequence[CaseNote]:
    """The case's notes, oldest first: all for staff of its department (and tenant admins),
    the public ones for the applicant (parts' notes are the parts slice's).

    :raises CaseNotFound: (404) not visible. :raises NotCaseStaff: (403) others who see it.
    """
    case = await repository.get_visible(session, v, case_id)
    if case is None:
        raise CaseNotFound()
    query = select(CaseNote).where(CaseNote.case_id == case.id, CaseNote.part_id.is_(None))
    if is_applicant(principal, case):
        query = query.where(CaseNote.visibility == "public")
    elif not (is_case_staff(principal, case)
              or (principal.kind == "staff" and principal.is_admin("tenant"))):
        raise NotCaseStaff("Notes are for the applicant and the case's department.")
    return (await session.scalars(query.order_by(CaseNote.created_at, CaseNote.id))).all()


async def audit_trail(session: AsyncSession, principal: Principal, v: Visibility,
                      case_id: uuid.UUID) -> Sequence[AuditEntry]:
    """The case's audit trail in order, for staff of its department and tenant admins.

    :raises CaseNotFound: (404) not visible. :raises NotCaseStaff: (403) the applicant, a
        machine client.
    """
    case = await repository.get_visible(session, v, case_id)
    if case is None:
        raise CaseNotFound()
    if not (is_case_staff(principal, case)
            or (principal.kind == "staff" and principal.is_admin("tenant"))):
        raise NotCaseStaff("The audit trail is for the case's department.")
    return (await session.scalars(select(AuditEntry).where(AuditEntry.case_id == case.id)
                                  .order_by(AuditEntry.id))).all()
