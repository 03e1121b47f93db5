"""Which templates a rule renders, and which rules a template serves: the checks that keep a
rule and its template consistent when either is saved or a template is deleted.

A rule for department D renders D's own template of its key, else the tenant-wide one. A
tenant-wide rule renders the tenant-wide template, and, for the events of a department that
has its own template of that key and no own rule for the event type, that department's
template. A rule is checked against every template it may render; a template change against
every rule that may render it (enabled or not: enabling is no save that could be refused).

Rule saves share-lock the templates they check and template changes lock the template for
update, so the two never pass their checks concurrently and both commit. (Creating a
department template that shadows a tenant-wide one is not locked against a concurrent rule
save; the delivery still fails only its own message then.)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notification_service.rules.errors import (
    RuleTemplateBroken,
    RuleTemplateLacksChannel,
    RuleTemplateMissing,
)
from notification_service.rules.models import Rule
from notification_service.templates import repository as templates
from notification_service.templates.checks import missing_channels, stored
from notification_service.templates.errors import TemplateBroken, TemplateInUse
from notification_service.templates.models import Template
from notification_service.templates.schemas import TemplateContent

__all__ = ["check_rule", "check_template_change", "check_template_delete", "reach"]


def reach(rule_department: str | None, event_type: str,
          template_scopes: Collection[str | None],
          own_rules: Mapping[str, Collection[str]]) -> list[str | None]:
    """The template scopes (a department, or None: tenant-wide) a rule may render, given the
    scopes that have a template of its key and, per event type, the departments with a rule of
    their own. A scope not in ``template_scopes`` is a missing template."""
    if rule_department is not None:
        return [rule_department if rule_department in template_scopes else None]
    own = own_rules.get(event_type, ())
    return [None, *sorted(d for d in template_scopes if d is not None and d not in own)]


async def _templates(session: AsyncSession, tenant: str, key: str, *,
                     share_lock: bool = False) -> dict[str | None, Template]:
    query = select(Template).where(Template.tenant == tenant, Template.key == key)
    if share_lock:
        query = query.with_for_update(read=True)
    return {t.department: t for t in (await session.execute(query)).scalars()}


async def _own_rules(session: AsyncSession, tenant: str,
                     event_types: Collection[str]) -> dict[str, set[str]]:
    """Per event type, the departments that have a rule of their own for it."""
    rows = (await session.execute(
        select(Rule.event_type, Rule.department).where(
            Rule.tenant == tenant, Rule.department.is_not(None),
            Rule.event_type.in_(sorted(event_types)))
    )).all()
    own: dict[str, set[str]] = {}
    for event_type, department in rows:
        own.setdefault(event_type, set()).add(department)
    return own


async def check_rule(session: AsyncSession, tenant: str, department: str | None,
                     event_type: str, template_key: str, channels: Sequence[str]) -> None:
    """Check a rule about to be saved against every template it may render.

    :raises RuleTemplateMissing: a template it would render does not exist.
    :raises RuleTemplateBroken: its current version is stored broken.
    :raises RuleTemplateLacksChannel: it has no text for some channel of the rule.
    """
    found = await _templates(session, tenant, template_key, share_lock=True)
    own = await _own_rules(session, tenant, [event_type])
    lacking: set[str] = set()
    lacking_in: list[str] = []
    broken: list[str] = []
    for scope in reach(department, event_type, found.keys(), own):
        template = found.get(scope)
        version = (await templates.get_version(session, template.id, template.current_version)
                   if template is not None else None)
        if template is None or version is None:
            raise RuleTemplateMissing(template_key, department)
        try:
            content = stored(version).content
        except TemplateBroken:
            broken.append(str(template.id))
            continue
        missing = missing_channels(content, channels)
        if missing:
            lacking.update(missing)
            lacking_in.append(str(template.id))
    if broken:
        raise RuleTemplateBroken(broken)
    if lacking:
        raise RuleTemplateLacksChannel(sorted(lacking), lacking_in)


async def _rules_rendering(session: AsyncSession, tenant: str, key: str,
                           department: str | None, *, new: bool = False) -> list[Rule]:
    """The rules that may render the template ``(department, key)`` (``new``: as if it were
    created now)."""
    rules = (await session.execute(
        select(Rule).where(Rule.tenant == tenant, Rule.template_key == key).order_by(Rule.id)
    )).scalars().all()
    if not rules:
        return []
    scopes = set((await _templates(session, tenant, key)).keys()) | ({department} if new
                                                                    else set())
    own = await _own_rules(session, tenant, {r.event_type for r in rules})
    return [r for r in rules if department in reach(r.department, r.event_type, scopes, own)]


async def check_template_change(session: AsyncSession, tenant: str, key: str,
                                department: str | None, content: TemplateContent, *,
                                new: bool = False) -> None:
    """Check new content of the template ``(department, key)`` (``new``: a template about to
    be created) against the rules that would render it.

    :raises TemplateInUse: it lacks text for channels those rules send; names the rules.
    """
    breaking: list[Rule] = []
    channels: set[str] = set()
    for rule in await _rules_rendering(session, tenant, key, department, new=new):
        missing = missing_channels(content, rule.channels)
        if missing:
            breaking.append(rule)
            channels.update(missing)
    if breaking:
        raise TemplateInUse(
            f"Rules send {', '.join(sorted(channels))} with this template; keep the texts "
            "or change the rules first.",
            rules=[str(r.id) for r in breaking], channels=sorted(channels))


async def check_template_delete(session: AsyncSession, template: Template) -> None:
    """:raises TemplateInUse: some rule may render ``template``; names them all."""
    using = await _rules_rendering(session, template.tenant, template.key, template.department)
    if using:
        raise TemplateInUse("Rules use this template; change or delete them first.",
                            rules=[str(r.id) for r in using])
