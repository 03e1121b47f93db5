"""Answering a part: the asked department's clerk or manager gives its result; in a sequence
the next part opens; once no part is left unanswered the case takes its ``parts.answered``
automatic transition.

Locking order: the case row first, then its parts. Two departments answering the last two
parts at once are serialised on the case row, so the second sees the first's answer and
exactly one of them moves the case on."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases import events
from case_service.cases.repository import lock as lock_case
from case_service.parts import repository
from case_service.parts.access import require_answerer
from case_service.parts.errors import (
    PartNotFound,
    PartNotOpen,
    PartVersionMismatch,
    PreconditionRequired,
)
from case_service.parts.models import CasePart
from case_service.parts.schemas import PartAnswerCreate
from case_service.parts.service import all_answered, open_next
from case_service.parts.views import visible_part
from case_service.settings import CaseSettings
from case_service.topics import CASES
from case_service.workflow.actors import actor_of
from case_service.workflow.audit import audit
from case_service.workflow.automatic import take_automatic
from case_service.workflow.process_of import process_of
from city_shared.auth import Principal

__all__ = ["PARTS_ANSWERED", "answer_part", "if_match_version"]

PARTS_ANSWERED = "parts.answered"


def if_match_version(header: str | None) -> frozenset[str]:
    """The entity tags ``If-Match`` names (``"3"``; a weak ``W/"3"`` names none, so it fails
    safe with 412). :raises PreconditionRequired: (428) no header."""
    if header is None or not header.strip():
        raise PreconditionRequired()
    tags = {tag.strip() for tag in header.split(",")}
    return frozenset(t[1:-1] if len(t) >= 2 and t[0] == t[-1] == '"' else
                     ("*" if t == "*" else "") for t in tags)


async def answer_part(session: AsyncSession, principal: Principal, part_id: uuid.UUID,
                      body: PartAnswerCreate, *, if_match: str | None, now: datetime,
                      settings: CaseSettings | None = None) -> CasePart:
    """Answer the open part ``part_id`` for its department. Locks the case, then the part;
    records ``case.part.answered``, a history row ``part_answered`` and an audit entry; the
    case's version grows (a decision read before the answer gets 412). In a sequence the
    next waiting part opens (``case.part.requested``). When no part is waiting or open
    anymore, the case takes the ``parts.answered`` automatic transition of its current state,
    if the process has one.

    :raises PartNotFound: (404) also another department's or tenant's part.
    :raises Forbidden: (403) citizens, clients, staff without a role; a reader who is no clerk
        or manager of the asked department.
    :raises PreconditionRequired: (428) no ``If-Match``.
    :raises PartVersionMismatch: (412) ``If-Match`` is not the part's current version.
    :raises PartNotOpen: (409) the part is waiting, answered or cancelled.
    """
    found = await visible_part(session, principal, part_id)
    require_answerer(principal, found.department)
    wanted = if_match_version(if_match)
    case = await lock_case(session, found.tenant, found.case_id)
    part = await repository.lock(session, found.id)
    if case is None or part is None:
        raise PartNotFound()
    if "*" not in wanted and str(part.version) not in wanted:
        raise PartVersionMismatch(part.version)
    if part.status != "open":
        raise PartNotOpen(part.status)
    part.status = "answered"
    part.answer = body.model_dump(mode="json")
    part.answered_by = principal.sub
    part.answered_at = now
    part.version += 1
    case.record(CASES, events.case_event(
        events.PART_ANSWERED, case, department=part.department, part_id=part.id,
        key=part.key, part_department=part.department, part_status=part.status,
        due_at=part.due_at, result=body.result))
    detail = {"part_id": str(part.id), "key": part.key, "department": part.department,
              "result": body.result}
    session.add(case.history("part_answered", now, **detail))
    audit(session, case, actor=actor_of(principal), action="answer_part",
          before={"part_id": str(part.id), "part_status": "open",
                  "part_version": part.version - 1, "version": case.version},
          after={**detail, "part_status": part.status, "part_version": part.version,
                 "version": case.version + 1}, at=now)
    await open_next(session, case, await process_of(session, case), part, now)
    # Decided under the case row lock: a concurrent answer of the case's other part waits
    # for this transaction, so it sees this answer and exactly one of them moves the case.
    done = await all_answered(session, case)
    case.touch(now)
    if done:
        await take_automatic(session, case, PARTS_ANSWERED, now=now, caused_by=None,
                             settings=settings)
    return part
