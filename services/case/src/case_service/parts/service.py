"""Parts of a case for other departments (the shared folder). STUB: the parts helper replaces
these bodies; the signatures are the contract the workflow calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case
from case_service.parts.models import CasePart
from case_service.process.spec import ProcessSpec

__all__ = ["all_answered", "cancel_open", "on_state_entered"]


async def on_state_entered(session: AsyncSession, case: Case, process: ProcessSpec,
                           state: str, now: datetime) -> list[CasePart]:
    """Open the parts ``state`` names (once per case: a part key already on the case is not
    opened again), asked of the department the case's parameters name; records
    ``case.part.requested`` for each part opened now. Returns the new parts."""
    return []


async def all_answered(session: AsyncSession, case: Case) -> bool:
    """True when no part of ``case`` is ``waiting`` or ``open``."""
    return True


async def cancel_open(session: AsyncSession, case: Case, now: datetime) -> None:
    """The case reached a final state: its unanswered parts are ``cancelled``."""
    return None
