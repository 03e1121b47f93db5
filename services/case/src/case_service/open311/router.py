"""The Open311 GeoReport v2 API of public reports under ``/open311/v2/{tenant}/`` (JSON only; no
token needed). Errors answer in the GeoReport v2 shape ``[{"code", "description"}]`` with the
HTTP status as ``code`` (see :mod:`case_service.open311.responses`); ``.xml`` and other
formats are 404. ``api_key`` and ``jurisdiction_id`` are accepted and ignored.

``POST requests.json`` takes ``application/x-www-form-urlencoded`` or ``multipart/form-data``
(with at most one file, ``media``, the report's photo); it is rate-limited per client address
(the address the ASGI server reports: behind a proxy, the server's own forwarded-header handling
decides, e.g. uvicorn's ``--forwarded-allow-ips``; ``X-Forwarded-For`` is never read here).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request, status
from starlette.datastructures import UploadFile

from case_service.open311 import service
from case_service.open311.errors import FormatNotSupported, InvalidParameter
from case_service.open311.photos import Upload
from case_service.open311.responses import Open311Route
from case_service.open311.schemas import (
    Open311ErrorRead,
    RequestCreatedRead,
    ServiceDefinitionRead,
    ServiceRead,
    ServiceRequestRead,
    Timestamp,
)
from case_service.open311.submission import read_form
from case_service.settings import CaseSettings
from city_shared.auth import MaybePrincipal
from city_shared.dependencies import SessionDep

__all__ = ["REPORT_ROUTE", "body_limits", "router"]

router = APIRouter(prefix="/open311/v2/{tenant}", tags=["open311"], route_class=Open311Route)

MAX_FORM_FIELDS: Final = 100
REPORT_ROUTE: Final = "/open311/v2/{tenant}/requests.{fmt}"
#: Room for the text fields and multipart framing beside the photo.
_FORM_OVERHEAD: Final = 256 * 1024
_CHUNK = 64 * 1024


_TEXT: Final = {"type": "string", "maxLength": 10_000}
_REPORT_FIELDS: Final[dict[str, object]] = {
    "service_code": {"type": "string", "minLength": 1, "maxLength": 63},
    "lat": {"type": "number", "minimum": -90, "maximum": 90},
    "long": {"type": "number", "minimum": -180, "maximum": 180},
    **{name: _TEXT for name in ("address_string", "description", "email", "first_name",
                                "last_name", "phone", "media_url", "api_key", "jurisdiction_id",
                                "device_id", "account_id", "address_id")},
}
_REPORT_BODY: Final = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["service_code"], "properties": _REPORT_FIELDS,
        "additionalProperties": {"type": "string"},
        "description": "Plus attribute[code]=value (attribute[code][]=value per choice of a "
                       "multivaluelist)."}},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["service_code"],
        "properties": {**_REPORT_FIELDS, "media": {"type": "string", "format": "binary"}},
        "additionalProperties": {"type": "string"}}},
}}}


def body_limits(settings: CaseSettings) -> dict[str, int]:
    """The shared body limit's per-route entry of ``POST requests.json`` (``create_service_app(
    ..., body_limits=...)``): a photo up to the attachment limit plus the form's text."""
    return {REPORT_ROUTE: settings.attachment_max_bytes + _FORM_OVERHEAD}


def _errors(*statuses: int) -> dict[int | str, dict[str, object]]:
    return {code: {"model": list[Open311ErrorRead],
                   "description": "GeoReport v2 error list"} for code in statuses}


def _json_only(fmt: str) -> None:
    if fmt != "json":
        raise FormatNotSupported()


def _locale(request: Request) -> str:
    language = request.headers.get("Accept-Language", "")
    return "en" if language.strip().lower().startswith("en") else "de"


def _settings(request: Request) -> CaseSettings:
    settings = request.app.state.settings
    assert isinstance(settings, CaseSettings)
    return settings


@router.get("/services.{fmt}", summary="Public-report services offered today",
            responses=_errors(404))
async def list_services(tenant: str, fmt: str, request: Request,
                        session: SessionDep) -> list[ServiceRead]:
    """``service_code`` is the library service's slug; ``group`` the responsible department;
    ``metadata`` true when ``services/{service_code}.json`` lists attributes."""
    _json_only(fmt)
    locale = _locale(request)
    offered = await service.offered_services(session, tenant, datetime.now(UTC).date())
    return [service.service_view(effective, locale) for effective in offered]


@router.get("/services/{service_code}.{fmt}", summary="A service's attributes",
            responses=_errors(404))
async def service_definition(tenant: str, service_code: str, fmt: str, request: Request,
                             session: SessionDep) -> ServiceDefinitionRead:
    """The form's fields beyond the standard Open311 ones, as attributes."""
    _json_only(fmt)
    effective = await service.offered_service(session, tenant, service_code,
                                              datetime.now(UTC).date())
    return service.definition_view(effective, _locale(request))


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_CHUNK):
        yield chunk


@router.post("/requests.{fmt}", status_code=status.HTTP_201_CREATED,
             summary="Report an issue (anonymous where the service allows it)",
             responses=_errors(400, 401, 403, 404, 413, 415, 429), openapi_extra=_REPORT_BODY)
async def create_request(tenant: str, fmt: str, request: Request, session: SessionDep,
                         principal: MaybePrincipal) -> list[RequestCreatedRead]:
    """Form fields per GeoReport v2: ``service_code``; ``lat`` + ``long`` or
    ``address_string``; ``description``; ``attribute[code]``; ``email``, ``first_name``,
    ``last_name``, ``phone`` (kept in the case only, never shown); a ``media`` file. 201 with
    ``service_request_id`` = the case number; 429 with ``Retry-After`` when this address made
    too many reports."""
    _json_only(fmt)
    form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    try:
        texts: list[tuple[str, str]] = []
        media: UploadFile | None = None
        for name, value in form.multi_items():
            if isinstance(value, str):
                texts.append((name, value))
            elif name == "media" and media is None:
                media = value
            else:
                raise InvalidParameter("The only file a report takes is 'media'.")
        photo = None if media is None else Upload(
            chunks=_chunks(media), filename=media.filename, content_type=media.content_type)
        report = read_form(texts)
        return await service.submit_report(
            session, tenant=tenant, report=report, photo=photo, principal=principal,
            client_address=request.client.host if request.client else "unknown",
            locale=_locale(request), now=datetime.now(UTC), settings=_settings(request))
    finally:
        await form.close()


@router.get("/requests.{fmt}", summary="Reports, newest first (no personal data)",
            responses=_errors(400, 404))
async def list_requests(
    tenant: str, fmt: str, request: Request, session: SessionDep,
    service_request_id: Annotated[str | None, Query(max_length=4000)] = None,
    service_code: Annotated[str | None, Query(max_length=100)] = None,
    start_date: Timestamp | None = None, end_date: Timestamp | None = None,
    status_: Annotated[str | None, Query(alias="status", max_length=20)] = None,
) -> list[ServiceRequestRead]:
    """``service_request_id`` (comma list of case numbers) wins over the other filters; by
    default the reports of the last 90 days, at most 1000."""
    _json_only(fmt)
    return await service.find_reports(
        session, tenant, ids=service_request_id, service_code=service_code, start=start_date,
        end=end_date, status=status_, now=datetime.now(UTC), locale=_locale(request))


@router.get("/requests/{service_request_id}.{fmt}", summary="One report (no personal data)",
            responses=_errors(404))
async def get_request(tenant: str, service_request_id: str, fmt: str, request: Request,
                      session: SessionDep) -> list[ServiceRequestRead]:
    """A list of one, as GeoReport v2 answers it."""
    _json_only(fmt)
    return [await service.get_report(session, tenant, service_request_id, _locale(request))]
