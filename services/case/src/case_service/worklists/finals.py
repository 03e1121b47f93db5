"""Which statuses are final (a decision or a withdrawal): the states of kind ``decision`` or
``withdrawn`` of the default process and of every process stored in the library, as an SQL
condition on ``cases.status`` (no extra round trip: PostgreSQL runs the library's part once
per statement, as a hashed subplan over the small definitions table); and the open statuses
as a list (one small read) where the worklist gives each status its own index range.

A status name is final if it is final in ANY process: the worklist and the reports cannot ask
each case's process (that would join every row to its definition), and the library's processes
reuse the default's names. A process naming a non-final state like another's final state
would be miscounted here; the library's validation is the place to forbid that.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, String, column, or_, text
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case
from case_service.process.default import DEFAULT_PROCESS
from case_service.process.spec import FINAL_KINDS

__all__ = ["DEFAULT_FINALS", "is_final", "is_open", "open_statuses"]

DEFAULT_FINALS: frozenset[str] = frozenset(
    name for name, state in DEFAULT_PROCESS.states.items() if state.kind in FINAL_KINDS)

_STORED_FINALS = text(
    "SELECT s.key FROM service_definitions d, jsonb_each(d.process -> 'states') s "
    "WHERE d.process IS NOT NULL AND s.value ->> 'kind' IN ('decision', 'withdrawn')",
).columns(column("key", String))


def is_final() -> ColumnElement[bool]:
    """True for a case in a final status (``cases.status`` is never NULL)."""
    return or_(Case.status.in_(sorted(DEFAULT_FINALS)), Case.status.in_(_STORED_FINALS))


def is_open() -> ColumnElement[bool]:
    """True for a case not in a final status."""
    return ~is_final()


_STORED_STATES = text(
    "SELECT DISTINCT s.key, s.value ->> 'kind' FROM service_definitions d, "
    "jsonb_each(d.process -> 'states') s WHERE d.process IS NOT NULL")


async def open_statuses(session: AsyncSession) -> list[str]:
    """Every open status of the default process and of the stored ones (one query over the
    small definitions table), for one index range per status; a name final in any process
    is not open."""
    stored = (await session.execute(_STORED_STATES)).all()
    names = set(DEFAULT_PROCESS.states) | {name for name, _ in stored}
    finals = DEFAULT_FINALS | {name for name, kind in stored if kind in FINAL_KINDS}
    return sorted(names - finals)
