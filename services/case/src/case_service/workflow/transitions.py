"""Taking an action of the process on a case (``POST /cases/{id}/actions/{action}``): the
checks in a fixed order (visible, ``If-Match`` under the row lock, role, from-state, parts,
public note), the notes written with it, a request for information or the applicant's answer,
then :func:`~case_service.workflow.states.enter_state`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases import events
from case_service.cases.models import Case
from case_service.parts import service as parts
from case_service.process.spec import Actor, ProcessSpec, Transition
from case_service.settings import CaseSettings
from case_service.workflow import information
from case_service.workflow.actors import actor_kind, actor_of, roles_for
from case_service.workflow.errors import (
    ActionNotAllowed,
    ActionNotFound,
    PartsOpen,
    PublicNoteRequired,
)
from case_service.workflow.guard import locked_case
from case_service.workflow.models import CaseNote
from case_service.workflow.process_of import process_of, transitions_named
from case_service.workflow.schemas import ActionCreate, ActionRead
from case_service.workflow.states import Step, enter_state
from city_shared.auth import Principal
from city_shared.errors import InvalidTransition
from city_shared.visibility import Visibility

__all__ = ["available_actions", "choose", "take_action"]


def choose(process: ProcessSpec, case: Case, action: str,
           roles: frozenset[Actor]) -> Transition:
    """The transition ``action`` the holder of ``roles`` takes from the case's status.

    :raises ActionNotFound: (404) the process has no such action.
    :raises ActionNotAllowed: (403) none of its transitions is for ``roles``.
    :raises InvalidTransition: (409 ``invalid_transition``) not from the current status.
    """
    named = transitions_named(process, action)
    if not named:
        raise ActionNotFound("The case's process has no such action.")
    mine = [t for t in named if roles.intersection(t.roles)]
    if not mine:
        raise ActionNotAllowed("You may not take this action on this case.")
    for transition in mine:
        if case.status in transition.from_:
            return transition
    raise InvalidTransition(case.status, action, noun="case")


def available_actions(process: ProcessSpec, case: Case,
                      principal: Principal) -> list[ActionRead]:
    """The actions ``principal`` may take on ``case`` now (by role and status; parts and
    versions are checked when taken), each once, in the process's order."""
    roles = roles_for(principal, case)
    seen: dict[str, ActionRead] = {}
    for t in process.transitions:
        if t.action in seen or not roles.intersection(t.roles) or case.status not in t.from_:
            continue
        seen[t.action] = ActionRead(
            action=t.action, label=t.label.en if case.locale == "en" else t.label.de,
            public_note=t.public_note, information_request=t.information_request)
    return list(seen.values())


def _notes(session: AsyncSession, case: Case, body: ActionCreate, author: str,
           now: datetime) -> dict[str, str]:
    ids: dict[str, str] = {}
    for visibility, text in (("public", body.public_note), ("internal", body.internal_note)):
        if text:
            note = CaseNote(id=uuid.uuid4(), case_id=case.id, tenant=case.tenant,
                            visibility=visibility, author=author, text=text, created_at=now)
            session.add(note)
            ids[f"{visibility}_note_id"] = str(note.id)
    return ids


async def take_action(session: AsyncSession, principal: Principal, v: Visibility,
                      case_id: uuid.UUID, action: str, body: ActionCreate, *,
                      if_match: str | None, settings: CaseSettings, now: datetime) -> Case:
    """``principal`` takes ``action`` on the case (see the module); returns the case.

    :raises CaseNotFound: (404). :raises PreconditionRequired: (428).
    :raises CaseVersionMismatch: (412). :raises ActionNotFound: (404).
    :raises ActionNotAllowed: (403). :raises InvalidTransition: (409).
    :raises PartsOpen: (409). :raises PublicNoteRequired: (422). Requests and answers:
        ``unknown_fields``, ``unknown_attachment_kind``, ``invalid_deadline``,
        ``fields_not_requested``, ``form_invalid``, ``attachments_missing`` (422),
        ``no_information_requested`` (409).
    """
    case = await locked_case(session, v, case_id, if_match)
    process = await process_of(session, case)
    roles = roles_for(principal, case)
    transition = choose(process, case, action, roles)
    if transition.requires_parts_answered and not await parts.all_answered(session, case):
        raise PartsOpen("Parts of other departments are not answered yet.")
    if transition.public_note and not body.public_note:
        raise PublicNoteRequired("This action needs a note for the applicant.")
    actor = actor_of(principal)
    source = process.states.get(case.status)
    target = process.states[transition.to]
    step = Step(to=transition.to, action=action, actor=actor, actor_kind=actor_kind(roles),
                public_note=body.public_note, outcome=body.outcome, refund=transition.refund)
    request = None
    if transition.information_request:
        request = await information.new_request(
            session, case, process, to=transition.to, spec=body.information,
            note=body.public_note or "", actor=actor, now=now)
        step.event_type = events.INFORMATION_REQUESTED
        step.event_extra = {"request_id": request.id, "fields": request.fields,
                            "attachment_kinds": request.attachment_kinds,
                            "deadline": request.deadline}
        step.detail = {"request_id": str(request.id), "deadline": request.deadline.isoformat()}
        step.deadline = request.deadline
    step.note_ids = _notes(session, case, body, actor, now)
    if (source is not None and source.kind == "applicant" and "applicant" in roles
            and target.kind not in ("decision", "withdrawn")):
        answered = await information.answer_request(
            session, case, data=body.data, note_id=step.note_ids.get("public_note_id"),
            now=now)
        step.event_type = events.INFORMATION_PROVIDED
        step.event_extra = {"request_id": answered.id}
        step.detail = {"request_id": str(answered.id)}
    await enter_state(session, case, process, step, now=now, settings=settings)
    if request is not None:
        session.add(request)
    await session.flush()
    return case
