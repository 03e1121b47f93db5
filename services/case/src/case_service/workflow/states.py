"""Entering a state of the process: the one place a case's status changes after submission
(manual transitions, automatic ones, deadlines). Records the event the citizen and other
services see, the history row of the timeline and the audit entry; opens parts, sets the
state's deadline, closes what a final state ends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases import events, refunds
from case_service.cases.models import Case, CaseHistory
from case_service.documents import service as documents
from case_service.parts import service as parts
from case_service.process.spec import FINAL_KINDS, ProcessSpec
from case_service.settings import CaseSettings
from case_service.topics import CASES
from case_service.workflow.audit import audit, snapshot
from case_service.workflow.dates import end_of_day, local_day
from case_service.workflow.models import InformationRequest
from case_service.workflow.process_of import service_name, status_label
from city_shared.envelope import Event

__all__ = ["Step", "enter_state", "open_request"]

_DEFAULT_DEADLINE_DAYS = 14


@dataclass
class Step:
    """Who moves the case where, and what goes with it."""

    to: str
    action: str
    actor: str
    actor_kind: str
    """``staff``, ``applicant`` or ``system`` (the event's ``actor_kind``)."""
    public_note: str | None = None
    note_ids: dict[str, str] = field(default_factory=dict)
    """``public_note_id`` / ``internal_note_id`` of the notes written with the step."""
    event_type: str = events.STATUS_CHANGED
    """For a state that is no decision and no withdrawal."""
    event_extra: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    """Ids and dates for the history row (no personal data)."""
    deadline: datetime | None = None
    """The new state's deadline, when the step sets its own."""
    outcome: dict[str, Any] | None = None
    refund: bool = False
    caused_by: Event | None = None


async def open_request(session: AsyncSession, case: Case) -> InformationRequest | None:
    """The case's open request for information, row locked (the case is locked already)."""
    request: InformationRequest | None = await session.scalar(
        select(InformationRequest).where(InformationRequest.case_id == case.id,
                                         InformationRequest.status == "open")
        .with_for_update())
    return request


def _state_deadline(process: ProcessSpec, to: str, now: datetime) -> datetime | None:
    spec = process.states[to].deadline
    if spec is None:
        return None
    return end_of_day(local_day(now) + timedelta(days=spec.days or _DEFAULT_DEADLINE_DAYS))


async def enter_state(session: AsyncSession, case: Case, process: ProcessSpec, step: Step, *,
                      now: datetime, settings: CaseSettings | None) -> CaseHistory:
    """Move the (row-locked) ``case`` into ``step.to`` and record everything that goes with
    it (see the module). A decision state sets ``decision``/``decided_at``/``outcome`` and,
    with ``settings``, creates the decision document; a withdrawal with ``step.refund`` asks
    for the paid fee back; a final state cancels open parts and requests; any other state opens
    its parts. Returns the history row (already added)."""
    before = snapshot(case, "state_deadline")
    previous = case.status
    target = process.states[step.to]
    case.status = step.to
    case.touch(now)
    case.state_deadline = step.deadline or _state_deadline(process, step.to, now)
    final = target.kind in FINAL_KINDS
    if target.kind != "applicant":
        request = await open_request(session, case)
        if request is not None:
            request.status = "cancelled"
            request.closed_at = now
    if final:
        case.state_deadline = None
        await parts.cancel_open(session, case, now)
    data: dict[str, Any] = {
        "previous_status": previous, "action": step.action, "actor_kind": step.actor_kind,
        "public_note": step.public_note, "service_name": await service_name(session, case),
        "status_label": status_label(process, case),
        "case_url": None if settings is None else f"{settings.base_url}/cases/{case.id}",
    }
    detail: dict[str, Any] = {"from": previous, **step.detail}
    if "public_note_id" in step.note_ids:
        detail["note_id"] = step.note_ids["public_note_id"]
    after: dict[str, Any] = {}
    if target.kind == "decision":
        event_type = events.DECIDED
        case.decision = target.decision
        case.decided_at = now
        case.outcome = step.outcome
        data.update(decision=case.decision, decided_at=now, outcome=step.outcome, documents=[])
        after.update(decision=case.decision)
        document = None if settings is None else await documents.create_decision_document(
            session, case, actor=step.actor, now=now, settings=settings)
        if document is not None and settings is not None:
            data["documents"] = [documents.document_ref(document, settings, now)]
            detail["document_id"] = str(document.id)
            after["document_id"] = str(document.id)
    elif target.kind == "withdrawn":
        event_type = events.WITHDRAWN
        amount = await refunds.refund_fee(session, case, reason="withdrawn",
                                          now=now) if step.refund else 0
        data["refund_amount"] = amount
        detail["refund_amount"] = amount
        after.update(refund_amount=amount, refund_status=case.refund_status)
    else:
        event_type = step.event_type
        data.update(step.event_extra)
    case.record(CASES, events.case_event(event_type, case, caused_by=step.caused_by, **data))
    row = case.history(step.action, now, **detail)
    session.add(row)
    audit(session, case, actor=step.actor, action=step.action, before=before,
          after={**snapshot(case, "state_deadline"), **after, **_ids(step.detail),
                 **step.note_ids}, at=now)
    if not final:
        await parts.on_state_entered(session, case, process, step.to, now)
    return row


def _ids(detail: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in detail.items() if k.endswith("_id") or k == "deadline"}
