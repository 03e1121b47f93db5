"""Queries of the intake; never commits. Every read of a submission is narrowed to the sender
(tenant and client id) that announced it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case
from case_service.intake.models import (
    Destination,
    Submission,
    SubmissionAttachment,
    SubmissionEvent,
)

__all__ = ["attachments", "case_number", "delete_stale_incomplete", "destination",
           "events_of_case", "own_submission"]


async def destination(session: AsyncSession, destination_id: uuid.UUID) -> Destination | None:
    """The active destination ``destination_id``, None if there is none."""
    found = await session.get(Destination, destination_id)
    return found if found is not None and found.status == "active" else None


async def own_submission(session: AsyncSession, *, tenant: str, client_id: str,
                         submission_id: uuid.UUID, lock: bool = False) -> Submission | None:
    """``submission_id`` if ``client_id`` of ``tenant`` announced it; row-locked if ``lock``."""
    query = select(Submission).where(Submission.id == submission_id,
                                     Submission.tenant == tenant,
                                     Submission.client_id == client_id)
    if lock:
        query = query.with_for_update()
    found: Submission | None = await session.scalar(query)
    return found


async def attachments(session: AsyncSession,
                      submission_id: uuid.UUID) -> list[SubmissionAttachment]:
    """The uploaded (still encrypted) attachments of ``submission_id``."""
    rows = await session.scalars(select(SubmissionAttachment)
                                 .where(SubmissionAttachment.submission_id == submission_id))
    return list(rows)


async def events_of_case(session: AsyncSession, *, tenant: str, client_id: str,
                         transport_case_id: uuid.UUID) -> list[SubmissionEvent] | None:
    """The event log of a transport case, oldest first; None if the sender has no submission
    in it."""
    own = await session.scalar(select(Submission.id).where(
        Submission.transport_case_id == transport_case_id, Submission.tenant == tenant,
        Submission.client_id == client_id).limit(1))
    if own is None:
        return None
    rows = await session.scalars(
        select(SubmissionEvent).join(Submission, Submission.id == SubmissionEvent.submission_id)
        .where(SubmissionEvent.transport_case_id == transport_case_id,
               Submission.tenant == tenant, Submission.client_id == client_id)
        .order_by(SubmissionEvent.id))
    return list(rows)


async def case_number(session: AsyncSession, case_id: uuid.UUID) -> str | None:
    number: str | None = await session.scalar(select(Case.number).where(Case.id == case_id))
    return number


async def delete_stale_incomplete(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` submissions still ``incomplete`` that were announced before
    ``before``, with their uploads and events (cascade); skips rows locked by a submit in
    progress. Returns how many."""
    stale = (select(Submission.id)
             .where(Submission.status == "incomplete", Submission.created_at < before)
             .order_by(Submission.created_at).limit(limit)
             .with_for_update(skip_locked=True))
    result = await session.execute(
        delete(Submission).where(Submission.id.in_(stale))
        .returning(Submission.id))
    return len(result.all())
