"""Queries of the rules slice; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notification_service.rules.models import Rule

__all__ = ["find_exact", "get", "list_rules", "matching"]


async def get(session: AsyncSession, tenant: str, rule_id: uuid.UUID) -> Rule | None:
    return (await session.execute(
        select(Rule).where(Rule.tenant == tenant, Rule.id == rule_id)
    )).scalar_one_or_none()


async def find_exact(
    session: AsyncSession, tenant: str, department: str | None, event_type: str
) -> Rule | None:
    """The rule of exactly this scope and type."""
    condition = Rule.department.is_(None) if department is None else Rule.department == department
    return (await session.execute(
        select(Rule).where(Rule.tenant == tenant, Rule.event_type == event_type, condition)
    )).scalar_one_or_none()


async def matching(
    session: AsyncSession, tenant: str, department: str | None, event_type: str
) -> Rule | None:
    """The rule for an event: the department's own, else the tenant-wide one. A disabled
    department rule silences the tenant-wide one for that department."""
    if department is not None:
        own = await find_exact(session, tenant, department, event_type)
        if own is not None:
            return own if own.enabled else None
    rule = await find_exact(session, tenant, None, event_type)
    return rule if rule is not None and rule.enabled else None


async def list_rules(
    session: AsyncSession, tenant: str, departments: frozenset[str] | None,
    event_type: str | None = None,
) -> Sequence[Rule]:
    query = select(Rule).where(Rule.tenant == tenant)
    if departments is not None:
        query = query.where(Rule.department.is_(None) | Rule.department.in_(sorted(departments)))
    if event_type is not None:
        query = query.where(Rule.event_type == event_type)
    query = query.order_by(Rule.event_type, func.coalesce(Rule.department, ""))
    return (await session.execute(query)).scalars().all()
