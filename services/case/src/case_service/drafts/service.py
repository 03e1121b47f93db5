"""Use cases of drafts: start one (prefilled from identity), change it by merge patch, delete it.
Services flush but never commit; the request's unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.access import draft_owner
from case_service.attachments.storage import BlobStorage
from case_service.catalogue.errors import ServiceNotFound
from case_service.catalogue.resolution import Effective, definition_by_id, resolve
from case_service.drafts import repository
from case_service.drafts.errors import (
    AccountNotAllowed,
    DraftNotFound,
    DraftSubmitted,
    DraftVersionMismatch,
)
from case_service.drafts.models import Draft
from case_service.drafts.schemas import DraftCreate
from case_service.drafts.views import PrefillState
from case_service.forms import (
    FieldError,
    FormInvalid,
    Locale,
    VerifiedAttribute,
    merge_patch,
    prefill,
    validate_form,
)
from case_service.settings import CaseSettings
from city_shared.auth import Principal
from city_shared.pagination import Cursor, next_page

__all__ = [
    "StartedDraft",
    "check_version",
    "delete_draft",
    "list_drafts",
    "open_draft",
    "start_draft",
    "touch",
    "update_draft",
]

AttributeSource = Callable[[], Awaitable[list[VerifiedAttribute] | None]]


@dataclass(frozen=True)
class StartedDraft:
    """A new draft and what starting it found out, for the view to show without reading or
    validating it again."""

    draft: Draft
    prefill: PrefillState
    effective: Effective
    """The service as offered today (its newest definition is the draft's)."""
    errors: list[FieldError]
    """The partial validation of ``draft.data`` in the caller's locale."""


async def start_draft(session: AsyncSession, body: DraftCreate, principal: Principal, *,
                      attributes: AttributeSource | None, settings: CaseSettings,
                      locale: Locale, now: datetime) -> StartedDraft:
    """A new draft of the service's newest definition (pinned for the draft's life) in the
    caller's tenant, prefilled from ``attributes`` (a citizen's verified identity; None for
    city systems) and then ``body.data``.

    :raises Forbidden: (403) staff, a client without ``case:write``.
    :raises ServiceNotFound: (404) unknown service, another tenant, not offered today.
    :raises AccountNotAllowed: (422) a citizen naming an ``account_id`` other than their own.
    :raises FormInvalid: (422 ``form_invalid``) ``body.data`` has wrong entries; nothing stored.
    """
    owner = draft_owner(principal)
    if body.tenant is not None and body.tenant != principal.tenant:
        raise ServiceNotFound()
    account_id = _account(principal, body.account_id)
    effective = await resolve(session, tenant=principal.tenant, service_id=body.service_id,
                              on=now.date())
    schema = effective.definition.form_schema
    state: PrefillState = "not_applicable"
    data: dict[str, object] = {}
    verified: dict[str, dict[str, str]] = {}
    if attributes is not None:
        found = await attributes()
        state = "unavailable" if found is None else "applied"
        if found:
            filled = prefill(schema, found)
            data, verified = dict(filled.data), dict(filled.verified)
    given: Mapping[str, object] = body.data or {}
    merged = merge_patch(data, given)
    errors = validate_form(schema, merged, locale=locale, partial=True)
    _refuse_errors_in(given, errors)
    draft = Draft(
        id=uuid.uuid4(), tenant=principal.tenant, service_id=effective.service.id,
        definition_id=effective.definition.id, owner=owner, account_id=account_id,
        data=merged, verified=_still_verified(verified, data, merged), locale=locale,
        version=1, created_at=now, updated_at=now,
        expires_at=now + timedelta(hours=settings.draft_ttl_hours),
    )
    session.add(draft)
    await session.flush()
    return StartedDraft(draft=draft, prefill=state, effective=effective, errors=errors)


async def open_draft(session: AsyncSession, principal: Principal, draft_id: uuid.UUID, *,
                     now: datetime, lock: bool = False, writable: bool = False) -> Draft:
    """The caller's live draft ``draft_id``.

    :raises Forbidden: (403) staff, a client without ``case:write``.
    :raises DraftNotFound: (404) none, another owner's or tenant's, expired.
    :raises DraftSubmitted: (409) ``writable`` asked and the draft became a case.
    """
    owner = draft_owner(principal)
    draft = await repository.owned_draft(session, draft_id, tenant=principal.tenant,
                                         owner=owner, now=now, lock=lock)
    if draft is None:
        raise DraftNotFound()
    if writable and draft.submitted_case_id is not None:
        raise DraftSubmitted()
    return draft


async def list_drafts(session: AsyncSession, principal: Principal, *, cursor: str | None,
                      limit: int, now: datetime) -> tuple[list[Draft], str | None]:
    """A page of the caller's live drafts, newest first, and the cursor of the next page.

    :raises Forbidden: (403) staff, a client without ``case:write``.
    :raises InvalidCursor: (422) a cursor this API did not hand out.
    """
    rows = await repository.owned_drafts(session, tenant=principal.tenant,
                                         owner=draft_owner(principal), now=now,
                                         after=Cursor.parse(cursor), limit=limit)
    return next_page(rows, limit, lambda d: Cursor(d.created_at, d.id))


def check_version(draft: Draft, if_match: str | None) -> None:
    """Compare an ``If-Match`` header (``"3"``, ``W/"3"``, ``*``; None: no check) with the
    draft's version.

    :raises DraftVersionMismatch: (412) any other value.
    """
    if if_match is None:
        return
    wanted = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    if "*" not in wanted and str(draft.version) not in wanted:
        raise DraftVersionMismatch(draft.version)


def touch(draft: Draft, settings: CaseSettings, now: datetime) -> None:
    """Record a change: next version, and the draft lives ``draft_ttl_hours`` from now."""
    draft.version += 1
    draft.updated_at = now
    draft.expires_at = now + timedelta(hours=settings.draft_ttl_hours)


async def update_draft(session: AsyncSession, principal: Principal, draft_id: uuid.UUID,
                       patch: Mapping[str, object], *, if_match: str | None,
                       settings: CaseSettings, locale: Locale, now: datetime) -> Draft:
    """Merge ``patch`` (RFC 7396: null removes) into the draft's data and save it. A changed
    entry loses its verified mark. Missing required entries are fine in a draft; any other
    error in the patched entries refuses the whole patch. Serialised per draft (row lock).

    :raises DraftNotFound: (404), :raises DraftSubmitted: (409),
    :raises DraftVersionMismatch: (412) ``if_match`` is not the current version,
    :raises FormInvalid: (422 ``form_invalid``, ``errors`` with pointers) nothing saved.
    """
    draft = await open_draft(session, principal, draft_id, now=now, lock=True, writable=True)
    check_version(draft, if_match)
    merged = merge_patch(draft.data, patch)
    definition = await definition_by_id(session, draft.definition_id)
    _refuse_errors_in(patch, validate_form(definition.form_schema, merged, locale=locale,
                                           partial=True))
    draft.verified = _still_verified(draft.verified, draft.data, merged)
    draft.data = merged
    touch(draft, settings, now)
    await session.flush()
    return draft


async def delete_draft(session: AsyncSession, principal: Principal, draft_id: uuid.UUID, *,
                       if_match: str | None, storage: BlobStorage, now: datetime) -> None:
    """Delete the caller's open draft with its attachments and their contents.

    :raises DraftNotFound: (404), :raises DraftSubmitted: (409), :raises DraftVersionMismatch:
        (412).
    """
    draft = await open_draft(session, principal, draft_id, now=now, lock=True, writable=True)
    check_version(draft, if_match)
    for key in await repository.storage_keys_of(session, [draft.id]):
        await storage.delete(session, key)
    await repository.delete_drafts(session, [draft.id])


def _account(principal: Principal, given: uuid.UUID | None) -> uuid.UUID | None:
    if principal.kind != "citizen":
        return given
    try:
        own = uuid.UUID(principal.sub)
    except ValueError:
        own = None
    if given is not None and given != own:
        raise AccountNotAllowed()
    return own


def _top(pointer: str) -> str:
    """The top-level member a JSON pointer starts with (``""`` for the whole document)."""
    first = pointer.split("/")[1] if pointer.startswith("/") else ""
    return first.replace("~1", "/").replace("~0", "~")


def _refuse_errors_in(given: Mapping[str, object], errors: list[FieldError]) -> None:
    """Refuse the errors the client's entries cause; earlier ones (e.g. a prefilled value the
    form does not accept) stay visible in ``errors`` of the draft without blocking."""
    own = [e for e in errors if e.pointer == "" or _top(e.pointer) in given]
    if own:
        raise FormInvalid(own)


def _still_verified(verified: Mapping[str, object], before: Mapping[str, object],
                    after: Mapping[str, object]) -> dict[str, object]:
    """The verified marks whose top-level entry is unchanged from ``before`` to ``after``."""
    return {pointer: mark for pointer, mark in verified.items()
            if _top(pointer) in after and after.get(_top(pointer)) == before.get(_top(pointer))}
