"""Parts of a case for other departments (the shared folder): opening them when a case enters
a state that names them, opening a sequence's next part, cancelling the unanswered ones when
the case ends. The workflow calls these with the case row already locked."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases import events
from case_service.cases.models import Case
from case_service.catalogue.models import ServiceParameters
from case_service.parts import repository
from case_service.parts.models import CasePart
from case_service.process.spec import PartSpec, ProcessSpec
from case_service.topics import CASES
from case_service.workflow.audit import SYSTEM, audit

__all__ = ["all_answered", "cancel_open", "on_state_entered", "open_next", "part_spec",
           "record_requested"]


async def on_state_entered(session: AsyncSession, case: Case, process: ProcessSpec,
                           state: str, now: datetime) -> list[CasePart]:
    """Open the parts ``state`` names, once per case: a key the case has a part of already
    (an earlier visit of the state) is not opened again. Each is asked of the department the
    case's parameters name (``part_departments[key]``, else the case's department). Parallel:
    all ``open``, due ``due_days`` from ``now``; sequence: the first ``open`` (unless an
    earlier part of the state is still unanswered), the rest ``waiting`` without a due date.
    Records ``case.part.requested`` (``part_status`` says which), a history row and an audit
    entry for each. Returns the new parts.

    The caller holds the case row lock, so the existing keys read here cannot change before
    the insert (the unique (case_id, key) constraint is the last guard)."""
    spec = process.states.get(state)
    if spec is None or not spec.parts:
        return []
    existing = await repository.of_case(session, case.id)
    known = {p.key for p in existing}
    todo = [(position, p) for position, p in enumerate(spec.parts) if p.key not in known]
    if not todo:
        return []
    parameters = await session.get(ServiceParameters, case.parameters_id)
    departments = dict(parameters.part_departments or {}) if parameters is not None else {}
    sequence = spec.parts_mode == "sequence"
    busy = sequence and any(p.step == state and p.status in repository.UNANSWERED
                            for p in existing)
    opened: list[CasePart] = []
    for position, part_spec_ in todo:
        opens = not (sequence and (busy or opened))
        part = CasePart(
            id=uuid.uuid4(), case_id=case.id, tenant=case.tenant,
            department=departments.get(part_spec_.key, case.department), key=part_spec_.key,
            step=state, position=position, status="open" if opens else "waiting", version=1,
            opened_at=now if opens else None,
            due_at=now + timedelta(days=part_spec_.due_days) if opens else None)
        session.add(part)
        opened.append(part)
        record_requested(session, case, part, now)
    await session.flush()
    return opened


def record_requested(session: AsyncSession, case: Case, part: CasePart, now: datetime) -> None:
    """The event ``case.part.requested`` (CloudEvents ``department``: the asked one), a
    history row ``part_requested`` and an audit entry of ``part`` as it is now."""
    case.record(CASES, events.case_event(
        events.PART_REQUESTED, case, department=part.department, part_id=part.id, key=part.key,
        part_department=part.department, part_status=part.status, due_at=part.due_at))
    session.add(case.history("part_requested", now, **_detail(part)))
    audit(session, case, actor=SYSTEM, action="part_requested", before=None,
          after=_detail(part), at=now)


def _detail(part: CasePart) -> dict[str, object]:
    detail: dict[str, object] = {"part_id": str(part.id), "key": part.key,
                                 "department": part.department, "part_status": part.status}
    if part.due_at is not None:
        detail["due_at"] = part.due_at.isoformat()
    return detail


def part_spec(process: ProcessSpec, part: CasePart) -> PartSpec | None:
    """The process's spec of ``part`` (its state's part of the same key), if still there."""
    state = process.states.get(part.step)
    return next((p for p in state.parts if p.key == part.key), None) if state else None


async def open_next(session: AsyncSession, case: Case, process: ProcessSpec, answered: CasePart,
                    now: datetime) -> CasePart | None:
    """In a sequence, open the part after ``answered`` (the first ``waiting`` part of its
    state), due ``due_days`` from ``now``, and record its request. None when no part waits.
    The caller holds the case row lock."""
    part = await repository.next_waiting(session, case.id, answered.step)
    if part is None:
        return None
    spec = part_spec(process, part)
    part.status = "open"
    part.opened_at = now
    part.due_at = now + timedelta(days=spec.due_days if spec is not None else 10)
    part.version += 1
    record_requested(session, case, part, now)
    return part


async def all_answered(session: AsyncSession, case: Case) -> bool:
    """True when no part of ``case`` is ``waiting`` or ``open``."""
    return await repository.unanswered_count(session, case.id) == 0


async def cancel_open(session: AsyncSession, case: Case, now: datetime) -> None:
    """The case reached a final state: its ``waiting`` and ``open`` parts become ``cancelled``
    (their version grows, so a stale answer gets 412). The caller holds the case row lock."""
    cancelled: list[CasePart] = []
    for part in await repository.of_case(session, case.id, for_update=True):
        if part.status in repository.UNANSWERED:
            part.status = "cancelled"
            part.version += 1
            cancelled.append(part)
    if cancelled:
        audit(session, case, actor=SYSTEM, action="parts_cancelled", before=None,
              after={"parts": _ids(cancelled), "part_status": "cancelled"}, at=now)


def _ids(parts: Iterable[CasePart]) -> list[str]:
    return [str(p.id) for p in parts]
