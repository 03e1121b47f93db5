"""Use cases of the Open311 view: the public-report services a tenant offers today, one
service's definition, a new report (a case of the ``open311`` channel) and the public view of
reports. May flush, never commits.

Decisions: ``service_code`` is the library service's slug; ``service_request_id`` is the case
number (``MS-2026-000123``). A report is ``closed`` when its case status is one of
:data:`CLOSED_STATUSES`, else ``open``. Reports never show the reporter's contact data.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final, cast, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.service import open_case
from case_service.catalogue.models import ServiceDefinition
from case_service.catalogue.resolution import Effective, resolve
from case_service.open311 import ratelimit, repository
from case_service.open311.attributes import attributes_of
from case_service.open311.errors import (
    InvalidParameter,
    JurisdictionNotFound,
    NotACitizen,
    RequestNotFound,
    ServiceCodeNotFound,
)
from case_service.open311.photos import Upload, receive_photo
from case_service.open311.schemas import (
    AttributeRead,
    AttributeValueRead,
    RequestCreatedRead,
    ServiceDefinitionRead,
    ServiceRead,
    ServiceRequestRead,
)
from case_service.open311.submission import ReportForm, form_data
from case_service.settings import CaseSettings
from city_shared.auth import AcrLevel, Principal
from city_shared.errors import InsufficientAssurance, NotAuthenticated, NotFound
from city_shared.journey import capture
from city_shared.slugs import is_slug

__all__ = [
    "CLOSED_STATUSES",
    "DEFAULT_DAYS",
    "MAX_IDS",
    "MAX_REQUESTS",
    "definition_view",
    "find_reports",
    "get_report",
    "offered_service",
    "offered_services",
    "report_notice",
    "reports_per_window",
    "service_view",
    "submit_report",
]

CLOSED_STATUSES: Final = frozenset({"closed", "decided", "rejected", "withdrawn", "completed"})
DEFAULT_DAYS: Final = 90
MAX_REQUESTS: Final = 1000
MAX_IDS: Final = 100
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")


def _text(names: object, locale: str) -> str:
    if not isinstance(names, dict):
        return ""
    value = names.get(locale) or names.get("de") or next(iter(names.values()), "")
    return value if isinstance(value, str) else ""


async def offered_services(session: AsyncSession, tenant: str, today: date) -> list[Effective]:
    """The public-report services ``tenant`` offers on ``today``, by service code.

    :raises JurisdictionNotFound: (404) ``tenant`` has no services at all.
    """
    if not is_slug(tenant) or not await repository.tenant_has_parameters(session, tenant):
        raise JurisdictionNotFound()
    offered = []
    for service in await repository.services_with_parameters(session, tenant):
        try:
            effective = await resolve(session, tenant=tenant, service_id=service.id, on=today)
        except NotFound:  # not offered on this date, or a gap between parameter sets
            continue
        if effective.definition.public_report:
            offered.append(effective)
    return offered


async def offered_service(session: AsyncSession, tenant: str, code: str,
                          today: date) -> Effective:
    """The public-report service ``code`` as ``tenant`` offers it on ``today``.

    :raises ServiceCodeNotFound: (404) no such service, not a public report, or not offered
        in ``tenant`` on ``today``.
    """
    if not is_slug(tenant) or _CODE.fullmatch(code) is None:
        raise ServiceCodeNotFound()
    service = await repository.service_by_slug(session, code)
    if service is None:
        raise ServiceCodeNotFound()
    try:
        effective = await resolve(session, tenant=tenant, service_id=service.id, on=today)
    except NotFound:
        raise ServiceCodeNotFound() from None
    if not effective.definition.public_report:
        raise ServiceCodeNotFound()
    return effective


def service_view(effective: Effective, locale: str) -> ServiceRead:
    definition = effective.definition
    return ServiceRead(
        service_code=effective.service.slug, service_name=_text(definition.names, locale),
        description=_text(definition.descriptions, locale),
        metadata=bool(attributes_of(definition.form_schema, locale)), type="realtime",
        keywords=",".join(k for k in definition.keywords if isinstance(k, str)),
        group=effective.department)


def definition_view(effective: Effective, locale: str) -> ServiceDefinitionRead:
    return ServiceDefinitionRead(
        service_code=effective.service.slug,
        attributes=[AttributeRead(
            variable=True, code=a.code, datatype=a.datatype, required=a.required,
            datatype_description=a.datatype_description, order=a.order,
            description=a.description,
            values=[AttributeValueRead(key=k, name=n) for k, n in a.values],
        ) for a in attributes_of(effective.definition.form_schema, locale)])


def reports_per_window(settings: CaseSettings) -> int:
    """How many reports one client address may make per window (an hour):
    ``open311_reports_per_hour``."""
    return settings.open311_reports_per_hour


def _reporter(principal: Principal | None, tenant: str,
              effective: Effective) -> tuple[uuid.UUID | None, str]:
    if principal is None:
        if not effective.definition.anonymous:
            raise NotAuthenticated("This service takes reports from signed-in citizens only.")
        return None, "anonymous"
    if principal.kind != "citizen" or principal.tenant != tenant:
        raise NotACitizen("Reports are made anonymously or by a citizen of this city.")
    level = effective.effective_trust_level
    if level in get_args(AcrLevel) and not principal.meets(cast(AcrLevel, level)):
        raise InsufficientAssurance(level)
    try:
        account_id = uuid.UUID(principal.sub)
    except ValueError:
        raise NotACitizen("The token names no citizen account.") from None
    return account_id, f"citizen:{principal.sub}"


async def submit_report(
    session: AsyncSession, *, tenant: str, report: ReportForm, photo: Upload | None,
    principal: Principal | None, client_address: str, locale: str, now: datetime,
    settings: CaseSettings,
) -> list[RequestCreatedRead]:
    """Open a case of the ``open311`` channel from ``report``: anonymous (the definition must
    allow it) or of the calling citizen; counted against ``client_address``'s rate limit;
    ``photo`` stored as the service's photo attachment. Personal data stays in the case's data.
    The answer's ``service_request_id`` is the case number.

    :raises ServiceCodeNotFound: (404). :raises NotAuthenticated: (401) anonymous where the
        service does not allow it. :raises NotACitizen: (403) another kind of token or tenant.
    :raises TooManyReports: (429). :raises AttributeInvalid, FormInvalid: (400/422) bad data.
    """
    effective = await offered_service(session, tenant, report.service_code, now.date())
    account_id, submitted_by = _reporter(principal, tenant, effective)
    await ratelimit.admit_report(session, address=client_address, now=now,
                                 limit=reports_per_window(settings))
    definition = effective.definition
    data = form_data(report, definition.form_schema, locale)
    attachments = [] if photo is None else [
        await receive_photo(session, photo, tenant=tenant, definition=definition,
                            settings=settings)]
    case = await open_case(
        session, effective=effective, definition=definition, data=data, verified={},
        account_id=account_id, submitted_by=submitted_by, channel=repository.CHANNEL,
        locale=locale, attachments=attachments, draft_id=None, journey=capture(), now=now,
        settings=settings)
    return [RequestCreatedRead(
        service_request_id=case.number, service_notice=report_notice(definition, locale),
        account_id=None if account_id is None else str(account_id))]


def _add_working_days(start: datetime, days: int) -> datetime:
    result = start
    while days > 0:
        result += timedelta(days=1)
        if result.weekday() < 5:
            days -= 1
    return result


def report_notice(definition: ServiceDefinition, locale: str) -> str:
    """The ``service_notice`` of a new report: when it is expected to be dealt with."""
    days = definition.processing_days
    if locale == "en":
        return f"Thank you for your report. It is usually dealt with within {days} working days."
    return f"Danke für Ihre Meldung. Sie wird in der Regel in {days} Arbeitstagen bearbeitet."


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def report_view(report: repository.Report, locale: str) -> ServiceRequestRead:
    """The public view of a report: never the reporter's e-mail, names or phone."""
    case, data = report.case, report.case.data
    return ServiceRequestRead(
        service_request_id=case.number,
        status="closed" if case.status in CLOSED_STATUSES else "open", status_notes=None,
        service_name=_text(report.definition.names, locale), service_code=report.service.slug,
        description=_str(data.get("description")), agency_responsible=case.department,
        service_notice=None, requested_datetime=case.submitted_at.replace(microsecond=0),
        updated_datetime=case.updated_at.replace(microsecond=0),
        expected_datetime=_add_working_days(case.submitted_at.replace(microsecond=0),
                                            report.definition.processing_days),
        address=_str(data.get("address_string")), address_id=None, zipcode=None,
        lat=_float(data.get("lat")), long=_float(data.get("long")),
        media_url=_str(data.get("media_url")))


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _statuses(raw: str | None) -> bool | None:
    if raw is None or not raw.strip():
        return None
    wanted = {part.strip().lower() for part in raw.split(",") if part.strip()}
    if not wanted <= {"open", "closed"}:
        raise InvalidParameter("'status' must be open, closed or both.")
    return None if len(wanted) != 1 else wanted == {"closed"}


def _numbers(raw: str) -> list[str]:
    numbers = [part.strip() for part in raw.split(",") if part.strip()]
    if len(numbers) > MAX_IDS:
        raise InvalidParameter(f"At most {MAX_IDS} service_request_id values at once.")
    return [n for n in numbers if _NUMBER.fullmatch(n)]


async def find_reports(
    session: AsyncSession, tenant: str, *, ids: str | None, service_code: str | None,
    start: datetime | None, end: datetime | None, status: str | None, now: datetime,
    locale: str,
) -> list[ServiceRequestRead]:
    """``GET requests.json``: ``ids`` (comma list of case numbers) wins over the other filters;
    otherwise the reports submitted in ``[start, end]`` (default: the :data:`DEFAULT_DAYS`
    days before ``end`` or now), of ``service_code``, ``status`` open/closed; newest first, at
    most :data:`MAX_REQUESTS`. An unknown ``service_code`` finds nothing.

    :raises JurisdictionNotFound: (404). :raises InvalidParameter: (400) a bad status, too
        many ids, ``end`` before ``start``.
    """
    if not is_slug(tenant) or not await repository.tenant_has_parameters(session, tenant):
        raise JurisdictionNotFound()
    for value in (ids, service_code, status):
        if value is not None and "\x00" in value:
            raise InvalidParameter("A value contains a character that cannot be stored (NUL).")
    start, end = _aware(start), _aware(end)
    closed = _statuses(status)
    numbers: Sequence[str] | None = _numbers(ids) if ids and ids.strip() else None
    if start is None:
        start = (end or now) - timedelta(days=DEFAULT_DAYS)
    if end is not None and end < start:
        raise InvalidParameter("'end_date' lies before 'start_date'.")
    service_id = None
    if service_code:
        service = await repository.service_by_slug(session, service_code) \
            if _CODE.fullmatch(service_code) else None
        if service is None:
            return []
        service_id = service.id
    reports = await repository.find_reports(session, tenant, repository.ReportFilter(
        numbers=numbers, service_id=service_id, start=start, end=end, closed=closed,
        closed_statuses=CLOSED_STATUSES, limit=MAX_REQUESTS))
    return [report_view(report, locale) for report in reports]


async def get_report(session: AsyncSession, tenant: str, number: str,
                     locale: str) -> ServiceRequestRead:
    """``GET requests/{id}.json``. :raises RequestNotFound: (404) no such report in ``tenant``."""
    if not is_slug(tenant) or _NUMBER.fullmatch(number) is None:
        raise RequestNotFound()
    report = await repository.report_by_number(session, tenant, number)
    if report is None:
        raise RequestNotFound()
    return report_view(report, locale)
