"""Use cases of the rules slice: create, change, delete. Flushes, never commits.

A rule is saved only if every template it may render exists, is valid and has text for each
of its channels (:func:`notification_service.rules.usage.check_rule`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth import Principal
from city_shared.errors import Conflict, NotFound
from city_shared.visibility import Visibility
from notification_service.access import check_manage
from notification_service.rules import repository, usage
from notification_service.rules.models import Rule
from notification_service.rules.schemas import RuleCreate, RuleUpdate

__all__ = ["RuleExists", "RuleNotFound", "create_rule", "delete_rule", "get_rule",
           "update_rule"]


class RuleNotFound(NotFound):
    """404: no such rule, or the caller may not see it."""

    code = "rule_not_found"
    title = "Rule not found"


class RuleExists(Conflict):
    """409: the scope already has a rule for this event type."""

    code = "rule_exists"
    title = "Rule exists"


async def create_rule(session: AsyncSession, principal: Principal, data: RuleCreate) -> Rule:
    """A new rule.

    :raises Forbidden: not a tenant admin, nor a manager of ``data.department``.
    :raises RuleExists: the scope already has a rule for the event type.
    :raises RuleTemplateMissing, RuleTemplateBroken, RuleTemplateLacksChannel: see
        :func:`~notification_service.rules.usage.check_rule`.
    """
    check_manage(principal, data.department)
    if await repository.find_exact(session, principal.tenant, data.department, data.event_type):
        raise RuleExists("This scope already has a rule for this event type.")
    await usage.check_rule(session, principal.tenant, data.department, data.event_type,
                           data.template_key, data.channels)
    rule = Rule(id=uuid.uuid4(), tenant=principal.tenant, department=data.department,
                event_type=data.event_type, template_key=data.template_key,
                channels=list(data.channels), legally_required=data.legally_required,
                enabled=data.enabled)
    session.add(rule)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise RuleExists("This scope already has a rule for this event type.") from exc
    return rule


async def list_rules(session: AsyncSession, scope: Visibility,
                     event_type: str | None = None) -> list[Rule]:
    """The tenant-wide rules and those of the departments ``scope`` sees."""
    return list(await repository.list_rules(session, scope.tenant, scope.departments,
                                            event_type))


async def get_rule(session: AsyncSession, scope: Visibility, rule_id: uuid.UUID) -> Rule:
    rule = await repository.get(session, scope.tenant, rule_id)
    if rule is None or not scope.sees_department(rule.department):
        raise RuleNotFound()
    return rule


async def update_rule(
    session: AsyncSession, principal: Principal, scope: Visibility, rule_id: uuid.UUID,
    data: RuleUpdate,
) -> Rule:
    """Change what a rule sends; checked like :func:`create_rule`."""
    rule = await get_rule(session, scope, rule_id)
    check_manage(principal, rule.department)
    await usage.check_rule(session, rule.tenant, rule.department, rule.event_type,
                           data.template_key, data.channels)
    rule.template_key = data.template_key
    rule.channels = list(data.channels)
    rule.legally_required = data.legally_required
    rule.enabled = data.enabled
    rule.updated_at = datetime.now(UTC)
    await session.flush()
    return rule


async def delete_rule(
    session: AsyncSession, principal: Principal, scope: Visibility, rule_id: uuid.UUID
) -> None:
    rule = await get_rule(session, scope, rule_id)
    check_manage(principal, rule.department)
    await session.delete(rule)
    await session.flush()
