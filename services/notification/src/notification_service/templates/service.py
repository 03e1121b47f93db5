"""Use cases of the templates slice: create a template, save a new version, delete, read,
preview, and :func:`render` for the deliveries slice. Flushes, never commits.

A save or delete that would break a rule using the template is refused (409
``template_in_use``, see :mod:`notification_service.rules.usage`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth import Principal
from notification_service.access import StaffScope, check_manage
from notification_service.rules import usage
from notification_service.templates import repository
from notification_service.templates.checks import stored, validate
from notification_service.templates.errors import (
    MissingPersonalisation,
    TemplateExists,
    TemplateNotFound,
    TemplateRenderFailed,
)
from notification_service.templates.models import Template, TemplateVersion
from notification_service.templates.rendering import RenderContext, RenderFailed, render_text
from notification_service.templates.schemas import (
    LocaleContent,
    Rendered,
    RenderedEmail,
    RenderedInbox,
    RenderedSms,
    TemplateContent,
    TemplateCreate,
    TemplateUpdate,
)

__all__ = [
    "Found",
    "create_template",
    "delete_template",
    "find_for_sending",
    "get_template",
    "render",
    "save_version",
    "validate",
]


def _version(template: Template, number: int, data: TemplateUpdate,
             created_by: str) -> TemplateVersion:
    return TemplateVersion(
        template_id=template.id, version=number,
        variables=[v.model_dump() for v in data.variables],
        content=data.content.model_dump(mode="json", exclude_none=True),
        created_by=created_by,
    )


async def create_template(
    session: AsyncSession, principal: Principal, data: TemplateCreate
) -> tuple[Template, TemplateVersion]:
    """Create a template with version 1.

    :raises Forbidden: not a tenant admin, nor a manager of ``data.department``.
    :raises TemplateInvalid: see :func:`validate`.
    :raises TemplateExists: the key is taken in that scope.
    :raises TemplateInUse: a department template would render a tenant-wide rule's messages
        of its department and lacks text for the rule's channels.
    """
    check_manage(principal, data.department)
    validate(data)
    if await repository.find_by_key(session, principal.tenant, data.key, data.department,
                                    exact=True):
        raise TemplateExists("A template with this key exists in this scope.")
    await usage.check_template_change(session, principal.tenant, data.key, data.department,
                                      data.content, new=True)
    template = Template(id=uuid.uuid4(), tenant=principal.tenant, department=data.department,
                        key=data.key, description=data.description, current_version=1)
    session.add(template)
    try:
        await session.flush()
    except IntegrityError as exc:  # created concurrently
        raise TemplateExists("A template with this key exists in this scope.") from exc
    version = _version(template, 1, data, principal.sub)
    session.add(version)
    await session.flush()
    return template, version


async def save_version(
    session: AsyncSession, principal: Principal, scope: StaffScope, template_id: uuid.UUID,
    data: TemplateUpdate,
) -> tuple[Template, TemplateVersion]:
    """Add the next version and make it current; earlier versions stay as they were.

    :raises TemplateInUse: the version lacks text for a channel a rule using it sends.
    """
    template = await repository.lock(session, scope.tenant, template_id)
    if template is None or not scope.sees(template.department):
        raise TemplateNotFound()
    check_manage(principal, template.department)
    validate(data)
    await usage.check_template_change(session, template.tenant, template.key,
                                      template.department, data.content)
    template.current_version += 1
    template.description = data.description
    template.updated_at = datetime.now(UTC)
    version = _version(template, template.current_version, data, principal.sub)
    session.add(version)
    await session.flush()
    return template, version


async def delete_template(
    session: AsyncSession, principal: Principal, scope: StaffScope, template_id: uuid.UUID,
) -> None:
    """Delete a template with all its versions (messages keep the key and version number).

    :raises TemplateInUse: some rule may render it; the error names them.
    """
    template = await repository.lock(session, scope.tenant, template_id)
    if template is None or not scope.sees(template.department):
        raise TemplateNotFound()
    check_manage(principal, template.department)
    await usage.check_template_delete(session, template)
    await session.delete(template)
    await session.flush()


async def get_template(
    session: AsyncSession, scope: StaffScope, template_id: uuid.UUID, version: int | None = None
) -> tuple[Template, TemplateVersion]:
    """A visible template with one version (default: the current one)."""
    template = await repository.get(session, scope.tenant, template_id)
    if template is None or not scope.sees(template.department):
        raise TemplateNotFound()
    found = await repository.get_version(session, template.id,
                                         version or template.current_version)
    if found is None:
        raise TemplateNotFound("This template has no such version.")
    return template, found


@dataclass(frozen=True)
class Found:
    """The template version a message is rendered with."""

    template: Template
    version: TemplateVersion


async def find_for_sending(
    session: AsyncSession, tenant: str, key: str, department: str | None
) -> Found | None:
    """The current version of ``key`` for a department (its own template first, else the
    tenant-wide one), or None."""
    template = await repository.find_by_key(session, tenant, key, department)
    if template is None:
        return None
    version = await repository.get_version(session, template.id, template.current_version)
    return Found(template, version) if version is not None else None


def _pick_locale(content: TemplateContent, wanted: str, fallback: str) -> tuple[str, LocaleContent]:
    for locale in (wanted, fallback, "de", "en"):
        part: LocaleContent | None = getattr(content, locale, None)
        if part is not None:
            return locale, part
    raise AssertionError("a validated template has at least one locale")


def render(
    version: TemplateVersion, locale: str, params: Mapping[str, object], *,
    channels: Sequence[str] | None = None, fallback_locale: str = "de",
) -> Rendered:
    """Render ``version`` in ``locale`` (else the fallback, else any locale it has) for
    ``channels`` (default: every channel it has). A channel the locale has no text for is
    left out of the result.

    :raises TemplateBroken: the stored version does not validate.
    :raises MissingPersonalisation: a required variable is not in ``params``.
    :raises TemplateRenderFailed: the sandbox refused or the params do not fit the texts.
    """
    checked = stored(version, check_texts=False)
    variables = checked.variables
    missing = [v.name for v in variables if v.required and v.name not in params]
    if missing:
        raise MissingPersonalisation(missing)
    values = {**{v.name: None for v in variables if not v.required}, **params}
    chosen, part = _pick_locale(checked.content, locale, fallback_locale)
    context = RenderContext(values, chosen)
    wanted = set(channels) if channels is not None else {"email", "sms", "inbox"}
    try:
        result = Rendered.model_validate({"locale": chosen})
        if part.email is not None and "email" in wanted:
            result.email = RenderedEmail(
                subject=" ".join(render_text(part.email.subject, context).split()),
                text=render_text(part.email.text, context),
                html=(render_text(part.email.html, context, html=True)
                      if part.email.html is not None else None))
        if part.sms is not None and "sms" in wanted:
            result.sms = RenderedSms(text=render_text(part.sms.text, context).strip())
        if part.inbox is not None and "inbox" in wanted:
            result.inbox = RenderedInbox(
                title=" ".join(render_text(part.inbox.title, context).split()),
                body=render_text(part.inbox.body, context))
    except RenderFailed as exc:
        raise TemplateRenderFailed(
            f"The template failed with these params ({exc.kind}).",
            extra={"error_type": exc.kind}) from None
    return result
