"""The deadline job: a reminder once before, and the process's ``deadline.expired`` automatic
transition after a state's deadline (a request for information's answer). Several workers may
sweep at once: each round locks its cases ``FOR UPDATE SKIP LOCKED``."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from case_service.cases import events
from case_service.cases.models import Case
from case_service.settings import CaseSettings
from case_service.topics import CASES
from case_service.workflow.audit import SYSTEM, audit, snapshot
from case_service.workflow.automatic import take_automatic
from case_service.workflow.models import InformationRequest
from case_service.workflow.process_of import process_of
from case_service.workflow.states import open_request
from city_shared.sweeps import run_sweep

__all__ = ["BATCH_SIZE", "expire_deadlines", "remind", "run_deadlines", "sweep_deadlines"]

BATCH_SIZE: Final = 100
_MAX_REMIND_DAYS: Final = 60
"""The longest ``remind_days_before`` a process may set (see DeadlineSpec)."""


async def remind(session: AsyncSession, *, now: datetime, settings: CaseSettings | None = None,
                 limit: int = BATCH_SIZE) -> int:
    """Send ``information_reminder`` once for each open request whose deadline is at most the
    state's ``remind_days_before`` days away (0: never); returns how many were sent."""
    rows = (await session.execute(
        select(Case, InformationRequest).join(InformationRequest,
                                              InformationRequest.case_id == Case.id)
        .where(InformationRequest.status == "open", InformationRequest.reminded_at.is_(None),
               InformationRequest.deadline > now,
               InformationRequest.deadline <= now + timedelta(days=_MAX_REMIND_DAYS))
        .order_by(InformationRequest.deadline).limit(limit * 10)
        .with_for_update(of=Case, skip_locked=True))).all()
    sent = 0
    for case, request in rows:
        if sent >= limit:
            break
        state = (await process_of(session, case)).states.get(case.status)
        days = state.deadline.remind_days_before if state and state.deadline else 0
        if days <= 0 or now < request.deadline - timedelta(days=days):
            continue
        request.reminded_at = now
        case.record(CASES, events.case_event(
            events.INFORMATION_REMINDER, case, request_id=request.id, deadline=request.deadline,
            case_url=None if settings is None else f"{settings.base_url}/cases/{case.id}"))
        session.add(case.history("information_reminder", now, request_id=str(request.id),
                                 deadline=request.deadline.isoformat()))
        audit(session, case, actor=SYSTEM, action="information_reminder", before=None,
              after={**snapshot(case), "request_id": str(request.id)}, at=now)
        sent += 1
    return sent


async def expire_deadlines(session: AsyncSession, *, now: datetime,
                           settings: CaseSettings | None = None,
                           limit: int = BATCH_SIZE) -> int:
    """For each case whose ``state_deadline`` has passed: its open request becomes
    ``expired`` and the case takes its state's ``deadline.expired`` automatic transition (if
    the process has none, it stays and its ``state_deadline`` is cleared, so the deadline is
    acted on once). Returns how many cases were handled."""
    cases = (await session.scalars(
        select(Case).where(Case.state_deadline.is_not(None), Case.state_deadline <= now)
        .order_by(Case.state_deadline).limit(limit)
        .with_for_update(skip_locked=True))).all()
    for case in cases:
        request = await open_request(session, case)
        if request is not None:
            request.status = "expired"
            request.closed_at = now
            session.add(case.history("information_expired", now, request_id=str(request.id)))
            audit(session, case, actor=SYSTEM, action="information_expired", before=None,
                  after={**snapshot(case), "request_id": str(request.id)}, at=now)
        if not await take_automatic(session, case, "deadline.expired", now=now,
                                    settings=settings):
            case.state_deadline = None
            case.touch(now)
    return len(cases)


async def sweep_deadlines(session: AsyncSession, now: datetime, *,
                          settings: CaseSettings | None = None,
                          limit: int = BATCH_SIZE) -> int:
    """One round at ``now`` (the job's batch; tests call it with their own ``now``):
    reminders, then expiries. Never commits; returns how many it handled."""
    handled = await remind(session, now=now, settings=settings, limit=limit)
    handled += await expire_deadlines(session, now=now, settings=settings, limit=limit)
    await session.flush()
    return handled


async def run_deadlines(sessions: async_sessionmaker[AsyncSession], settings: CaseSettings,
                        stop: asyncio.Event) -> None:
    """Act on due deadlines until ``stop`` (a :func:`run_sweep` every
    ``settings.deadline_check_interval_seconds``)."""

    async def sweep(session: AsyncSession, now: datetime) -> int:
        return await sweep_deadlines(session, now, settings=settings)

    await run_sweep(sessions, sweep, stop, name="case deadlines",
                    interval=settings.deadline_check_interval_seconds, batch_size=BATCH_SIZE)
