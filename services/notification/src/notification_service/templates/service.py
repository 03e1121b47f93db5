"""Use cases of the templates slice: create a template, save a new version, delete, read,
preview, and :func:`render` for the deliveries slice. Flushes, never commits.

A save or delete that would break a rule using the template is refused (409
``template_in_use``, see :mod:`notification_service.rules.usage`). Every render (the cost
check at save, preview, send) runs in the bounded sandbox (:mod:`.limits`) in a worker thread
(:func:`render_in_thread`), so a hostile template never stalls the event loop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth import Principal
from city_shared.visibility import Visibility
from notification_service.access import check_manage
from notification_service.rules import usage
from notification_service.templates import repository
from notification_service.templates.checks import check_cost, stored, validate
from notification_service.templates.errors import (
    MissingPersonalisation,
    TemplateExists,
    TemplateNotFound,
    TemplateRenderFailed,
    TemplateTooExpensiveToRender,
)
from notification_service.templates.models import Template, TemplateVersion
from notification_service.templates.rendering import (
    Budget,
    RenderContext,
    RenderFailed,
    TooExpensive,
    render_text,
)
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
    "render_in_thread",
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
    :raises TemplateTooExpensive: a text exceeds the rendering limits whatever the params.
    :raises TemplateExists: the key is taken in that scope.
    :raises TemplateInUse: a department template would render a tenant-wide rule's messages
        of its department and lacks text for the rule's channels.
    """
    check_manage(principal, data.department)
    validate(data)
    await asyncio.to_thread(check_cost, data)
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
    session: AsyncSession, principal: Principal, scope: Visibility, template_id: uuid.UUID,
    data: TemplateUpdate,
) -> tuple[Template, TemplateVersion]:
    """Add the next version and make it current; earlier versions stay as they were.

    :raises TemplateTooExpensive: a text exceeds the rendering limits whatever the params.
    :raises TemplateInUse: the version lacks text for a channel a rule using it sends.
    """
    template = await repository.lock(session, scope.tenant, template_id)
    if template is None or not scope.sees_department(template.department):
        raise TemplateNotFound()
    check_manage(principal, template.department)
    validate(data)
    await asyncio.to_thread(check_cost, data)
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
    session: AsyncSession, principal: Principal, scope: Visibility, template_id: uuid.UUID,
) -> None:
    """Delete a template with all its versions (messages keep the key and version number).

    :raises TemplateInUse: some rule may render it; the error names them.
    """
    template = await repository.lock(session, scope.tenant, template_id)
    if template is None or not scope.sees_department(template.department):
        raise TemplateNotFound()
    check_manage(principal, template.department)
    await usage.check_template_delete(session, template)
    await session.delete(template)
    await session.flush()


async def list_templates(
    session: AsyncSession, scope: Visibility, department: str | None = None,
    key: str | None = None,
) -> list[tuple[Template, TemplateVersion]]:
    """The tenant's templates ``scope`` sees, each with its current version."""
    found = []
    for template in await repository.list_templates(session, scope.tenant, scope.departments,
                                                    department, key):
        version = await repository.get_version(session, template.id, template.current_version)
        if version is not None:
            found.append((template, version))
    return found


async def get_template(
    session: AsyncSession, scope: Visibility, template_id: uuid.UUID, version: int | None = None
) -> tuple[Template, TemplateVersion]:
    """A visible template with one version (default: the current one)."""
    template = await repository.get(session, scope.tenant, template_id)
    if template is None or not scope.sees_department(template.department):
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
    left out of the result. All parts share one budget of the limits (:mod:`.limits`).
    CPU-bound: async callers use :func:`render_in_thread`.

    :raises TemplateBroken: the stored version does not validate.
    :raises MissingPersonalisation: a required variable is not in ``params``.
    :raises TemplateRenderFailed: the sandbox refused or the params do not fit the texts.
    :raises TemplateTooExpensiveToRender: (a TemplateRenderFailed) a limit was exceeded.
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
    budget = Budget()

    def text(source: str, *, html: bool = False) -> str:
        return render_text(source, context, html=html, budget=budget)

    try:
        result = Rendered.model_validate({"locale": chosen})
        if part.email is not None and "email" in wanted:
            result.email = RenderedEmail(
                subject=" ".join(text(part.email.subject).split()),
                text=text(part.email.text),
                html=(text(part.email.html, html=True)
                      if part.email.html is not None else None))
        if part.sms is not None and "sms" in wanted:
            result.sms = RenderedSms(text=text(part.sms.text).strip())
        if part.inbox is not None and "inbox" in wanted:
            result.inbox = RenderedInbox(
                title=" ".join(text(part.inbox.title).split()),
                body=text(part.inbox.body))
    except TooExpensive as exc:
        raise TemplateTooExpensiveToRender(
            f"Rendering with these params exceeded the {exc.limit} limit.",
            extra={"limit": exc.limit}) from None
    except RenderFailed as exc:
        raise TemplateRenderFailed(
            f"The template failed with these params ({exc.kind}).",
            extra={"error_type": exc.kind}) from None
    return result


async def render_in_thread(
    version: TemplateVersion, locale: str, params: Mapping[str, object], *,
    channels: Sequence[str] | None = None, fallback_locale: str = "de",
) -> Rendered:
    """:func:`render` in a worker thread: the event loop keeps serving while it runs (at most
    about :data:`~.limits.TIME_BUDGET` seconds). Raises what :func:`render` raises."""
    return await asyncio.to_thread(render, version, locale, params, channels=channels,
                                   fallback_locale=fallback_locale)
