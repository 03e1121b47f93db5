"""Cases stalled in the payment saga, counted for the gauge ``city_stalled_sagas`` and the
detail of ``/readyz`` (see :mod:`city_shared.sagas`); nothing here changes a case.

- ``case_payment_unanswered``: awaiting payment, its payment requested but not created
  (``payment_status`` still ``requested``) ``payment_answer_stall_seconds`` after the request:
  payment never answered (its worker is down or the command was lost), so the citizen has no
  checkout page and cannot pay;
- ``case_payment_without_outcome``: awaiting payment, its payment created (``pending``) but
  without an outcome ``payment_outcome_stall_seconds`` after that: payment should have expired
  it long ago, so the citizen is stuck between paying and asking again.

The clock of both is ``updated_at``: set when the case asks for a payment (submission or a new
attempt) and again when payment answers with the payment it created.

Cases stalled inside the city:

- ``case_deadline_not_acted``: a state deadline (e.g. the applicant's answer to a request for
  information) passed more than :data:`DEADLINE_GRACE` ago and the case still has it: the
  worker's deadline job is not running, so the case waits for a step the process promised;
- ``case_part_overdue``: a part another department was asked for is still open past its due
  date: the case cannot be decided until that department answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case
from case_service.parts.models import CasePart
from case_service.settings import CaseSettings
from city_shared.sagas import StallCounter

__all__ = ["DEADLINE_GRACE", "DEADLINE_NOT_ACTED", "PART_OVERDUE", "UNANSWERED",
           "WITHOUT_OUTCOME", "stalled_case_queries", "stalled_cases"]

UNANSWERED = "case_payment_unanswered"
WITHOUT_OUTCOME = "case_payment_without_outcome"
DEADLINE_NOT_ACTED = "case_deadline_not_acted"
PART_OVERDUE = "case_part_overdue"
#: How long after a state deadline the deadline job has to act before the case counts as
#: stalled (many check intervals: a slow sweep is no stall).
DEADLINE_GRACE = timedelta(minutes=30)

_UNPAID = Case.status == "awaiting_payment"


def stalled_case_queries(settings: CaseSettings, now: datetime) -> dict[str, Select[Any]]:
    """The ``COUNT`` of each kind at ``now``, with the thresholds of ``settings``."""
    unanswered_after = timedelta(seconds=settings.payment_answer_stall_seconds)
    outcome_after = timedelta(seconds=settings.payment_outcome_stall_seconds)
    count = select(func.count()).select_from(Case)
    return {
        UNANSWERED: count.where(_UNPAID, Case.payment_status == "requested",
                                Case.updated_at < now - unanswered_after),
        WITHOUT_OUTCOME: count.where(_UNPAID, Case.payment_status == "pending",
                                     Case.updated_at < now - outcome_after),
        DEADLINE_NOT_ACTED: count.where(Case.state_deadline.is_not(None),
                                        Case.state_deadline < now - DEADLINE_GRACE),
        PART_OVERDUE: select(func.count()).select_from(CasePart).where(
            CasePart.status == "open", CasePart.due_at < now),
    }


def stalled_cases(settings: CaseSettings) -> StallCounter:
    """The case service's stall counter, with the thresholds of ``settings``."""

    async def count(session: AsyncSession) -> Mapping[str, int]:
        queries = stalled_case_queries(settings, datetime.now(UTC))
        return {kind: int(await session.scalar(query) or 0) for kind, query in queries.items()}

    return count
