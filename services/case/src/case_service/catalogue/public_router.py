"""Routes of the public catalogue (no token): the services a tenant offers today, one service
as in force today, and a fee preview. Labels and texts follow ``?lang=`` or
``Accept-Language`` (de/en, default de)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

from case_service.catalogue import public
from case_service.catalogue.public_schemas import (
    FeePreviewCreate,
    FeePreviewRead,
    PublicServiceDetail,
    PublicServiceList,
)
from case_service.drafts.dependencies import pick_locale
from case_service.forms import Locale
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.pagination import Cursor, CursorQuery
from city_shared.slugs import SlugPath

__all__ = ["router"]

router = APIRouter(prefix="/public/{tenant}/services", tags=["public"])
Lang = Annotated[Literal["de", "en"] | None, Query(description="Overrides Accept-Language.")]
AcceptLanguage = Annotated[str | None, Header(max_length=500)]


def _locale(lang: str | None, accept_language: str | None, response: Response) -> Locale:
    locale: Locale = "en" if lang == "en" else "de" if lang == "de" else pick_locale(
        accept_language)
    response.headers["Content-Language"] = locale
    response.headers["Vary"] = "Accept-Language"
    return locale


@router.get("", summary="Services offered today", responses=problem_responses(422))
async def list_services(
    tenant: SlugPath, session: SessionDep, response: Response,
    q: Annotated[str | None, Query(max_length=100, description=(
        "Words in the names, descriptions or keywords (de or en), case-insensitive."))] = None,
    leika_key: Annotated[str | None, Query(max_length=64)] = None,
    cursor: CursorQuery = None, limit: Annotated[int, Query(ge=1, le=100)] = 20,
    lang: Lang = None, accept_language: AcceptLanguage = None,
) -> PublicServiceList:
    """The tenant's offered services (an unknown tenant: an empty list); 422
    ``invalid_cursor``."""
    return await public.list_offered(
        session, tenant, on=public.today(), q=q.strip() if q else None, leika_key=leika_key,
        cursor=Cursor.parse(cursor), limit=limit,
        locale=_locale(lang, accept_language, response))


@router.get("/{service_id}", summary="A service as offered today",
            responses=problem_responses(404))
async def get_service(tenant: SlugPath, service_id: uuid.UUID, session: SessionDep,
                      response: Response, lang: Lang = None,
                      accept_language: AcceptLanguage = None) -> PublicServiceDetail:
    """404 ``service_not_found`` (unknown tenant or service, never offered),
    ``service_not_offered``, ``no_parameters_on`` (not today)."""
    return await public.detail(session, tenant, service_id, on=public.today(),
                               locale=_locale(lang, accept_language, response))


@router.post("/{service_id}/fee-preview", summary="Preview the fee for form data",
             responses=problem_responses(404, 422))
async def fee_preview(tenant: SlugPath, service_id: uuid.UUID, data: FeePreviewCreate,
                      session: SessionDep, response: Response, lang: Lang = None,
                      accept_language: AcceptLanguage = None) -> FeePreviewRead:
    """Nothing is stored. 422 ``fee_not_computable`` (with ``pointer`` into the fee rule) when
    the data lacks what the fee needs or is beyond the limits."""
    return await public.fee_preview(session, tenant, service_id, on=public.today(),
                                    data=data.data,
                                    locale=_locale(lang, accept_language, response))
