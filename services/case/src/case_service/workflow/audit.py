"""The audit trail of cases: one append-only :class:`AuditEntry` per action on a case (who,
when, what, the small state before and after it). Never form data or note texts: notes are
referenced by id."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.workflow.models import AuditEntry

if TYPE_CHECKING:
    from case_service.cases.models import Case

__all__ = ["SYSTEM", "audit", "audit_entry", "snapshot"]

SYSTEM = "system"
"""The actor of what the service does by itself (payment answers, deadlines)."""


def snapshot(case: Case, *extra: str) -> dict[str, Any]:
    """The state of ``case`` an audit entry records: status, version, assignee and the
    attributes named in ``extra`` (dates as ISO strings)."""
    names = ("status", "version", "assignee", *extra)
    return {name: _json(getattr(case, name)) for name in names}


def _json(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def audit_entry(case: Case, *, actor: str, action: str, before: Mapping[str, Any] | None,
                after: Mapping[str, Any] | None, at: datetime | None = None) -> AuditEntry:
    """The entry (not yet added to a session) of ``action`` by ``actor`` on ``case``."""
    return AuditEntry(case_id=case.id, tenant=case.tenant, actor=actor[:100],
                      action=action[:64], at=at,
                      before=None if before is None else {k: _json(v) for k, v in before.items()},
                      after=None if after is None else {k: _json(v) for k, v in after.items()},
                      correlation_id=case.correlation_id)


def audit(session: AsyncSession, case: Case, *, actor: str, action: str,
          before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
          at: datetime | None = None) -> AuditEntry:
    """Add the audit entry of ``action`` by ``actor`` on ``case`` to ``session`` (written
    with the caller's unit of work; the database refuses to change it afterwards)."""
    entry = audit_entry(case, actor=actor, action=action, before=before, after=after, at=at)
    session.add(entry)
    return entry
