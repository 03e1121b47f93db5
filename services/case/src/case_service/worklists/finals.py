"""Which statuses are final (a decision or a withdrawal): the states of kind ``decision`` or
``withdrawn`` of the default process and of every process stored in the library.

A status name is final if it is final in ANY process: the worklist and the reports cannot ask
each case's process (that would join every row to its definition), and the library's processes
reuse the default's names. A process naming a non-final state like another's final state
would be miscounted here; the library's validation is the place to forbid that.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.process.default import DEFAULT_PROCESS
from case_service.process.spec import FINAL_KINDS

__all__ = ["DEFAULT_FINALS", "final_statuses"]

DEFAULT_FINALS: frozenset[str] = frozenset(
    name for name, state in DEFAULT_PROCESS.states.items() if state.kind in FINAL_KINDS)

_STORED_FINALS = text(
    "SELECT DISTINCT s.key FROM service_definitions d, jsonb_each(d.process -> 'states') s "
    "WHERE d.process IS NOT NULL AND s.value ->> 'kind' IN ('decision', 'withdrawn')")


async def final_statuses(session: AsyncSession) -> frozenset[str]:
    """The final statuses of the default process and of the library's stored processes (one
    query over the small definitions table)."""
    stored = (await session.scalars(_STORED_FINALS)).all()
    return DEFAULT_FINALS | frozenset(stored)
