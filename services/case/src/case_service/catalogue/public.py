"""Use cases of the public catalogue: the services a tenant offers today, one of them as in
force today (form, fee in words, documents, local texts) and a fee preview for form data.
Read only; no token needed, so nothing here reveals staff-only data (cost centres, shares)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.catalogue.fee_words import fee_in_words
from case_service.catalogue.models import Service, ServiceDefinition, ServiceParameters
from case_service.catalogue.public_schemas import (
    FeePreviewLine,
    FeePreviewRead,
    PublicAttachment,
    PublicForm,
    PublicFormFieldRead,
    PublicServiceDetail,
    PublicServiceList,
    PublicServiceRead,
    PublicStep,
)
from case_service.catalogue.resolution import Effective, resolve, stricter
from case_service.catalogue.schemas import LocalizedText, ShortText
from case_service.fees import Collect, FeeRule, Label, quote_fee
from case_service.forms import Locale, form_fields
from case_service.process.default import DEFAULT_PROCESS
from case_service.process.spec import ProcessSpec
from case_service.process.validation import steps
from city_shared.pagination import Cursor, next_page

__all__ = ["TIMEZONE", "detail", "fee_preview", "list_offered", "today"]

TIMEZONE: Final = ZoneInfo("Europe/Berlin")


def today() -> date:
    """The date in the cities' timezone (validity periods are local dates)."""
    return datetime.now(TIMEZONE).date()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _words(definition: ServiceDefinition, parameters: ServiceParameters,
           locale: Locale) -> list[str]:
    return fee_in_words(FeeRule.model_validate(definition.fee_rule), parameters.fee_values,
                        currency=parameters.currency, form=definition.form_schema,
                        locale=locale)


def _item(service: Service, definition: ServiceDefinition, parameters: ServiceParameters,
          locale: Locale) -> PublicServiceRead:
    return PublicServiceRead(
        id=service.id, leika_key=service.leika_key, slug=service.slug,
        names=ShortText.model_validate(definition.names),
        fee=_words(definition, parameters, locale),
        trust_level=stricter(definition.trust_level, parameters.trust_level),
    )


async def list_offered(session: AsyncSession, tenant: str, *, on: date, q: str | None,
                       leika_key: str | None, cursor: Cursor | None, limit: int,
                       locale: Locale) -> PublicServiceList:
    """The services ``tenant`` offers on ``on``, newest first; ``q`` matches names,
    descriptions and keywords (German and English, case-insensitive), ``leika_key`` exactly.
    An unknown tenant has an empty catalogue."""
    query = (
        select(Service, ServiceDefinition, ServiceParameters)
        .join(ServiceDefinition, (ServiceDefinition.service_id == Service.id)
              & (ServiceDefinition.version == Service.latest_version))
        .join(ServiceParameters, ServiceParameters.service_id == Service.id)
        .where(ServiceParameters.tenant == tenant, ServiceParameters.offered.is_(True),
               ServiceParameters.valid_from <= on,
               ServiceParameters.valid_to.is_(None) | (ServiceParameters.valid_to > on)))
    if leika_key is not None:
        query = query.where(Service.leika_key == leika_key)
    if q:
        pattern = _like(q)
        query = query.where(or_(*(
            column.ilike(pattern, escape="\\") for column in (
                ServiceDefinition.names["de"].astext, ServiceDefinition.names["en"].astext,
                ServiceDefinition.descriptions["de"].astext,
                ServiceDefinition.descriptions["en"].astext,
                cast(ServiceDefinition.keywords, String)))))
    if cursor is not None:
        query = query.where(tuple_(Service.created_at, Service.id) < (cursor.at, cursor.id))
    rows = (await session.execute(
        query.order_by(Service.created_at.desc(), Service.id.desc()).limit(limit + 1))).tuples()
    page, next_cursor = next_page(list(rows), limit, lambda r: Cursor(r[0].created_at, r[0].id))
    return PublicServiceList(items=[_item(s, d, p, locale) for s, d, p in page],
                             next_cursor=next_cursor)


def _localized(value: object, locale: Locale) -> str | None:
    if isinstance(value, dict):
        text = value.get(locale)
        return text if isinstance(text, str) else None
    return None


async def detail(session: AsyncSession, tenant: str, service_id: uuid.UUID, *, on: date,
                 locale: Locale) -> PublicServiceDetail:
    """The service as in force for ``tenant`` on ``on``.

    :raises ServiceNotFound, ServiceNotOffered, NoParametersOn: (404) see
        :func:`~case_service.catalogue.resolution.resolve`.
    """
    effective = await resolve(session, tenant=tenant, service_id=service_id, on=on)
    return _detail(effective, locale)


def _detail(effective: Effective, locale: Locale) -> PublicServiceDetail:
    service, definition, parameters = effective.service, effective.definition, effective.parameters
    item = _item(service, definition, parameters, locale)
    rule = FeeRule.model_validate(definition.fee_rule)
    texts = {name: text for name, value in parameters.texts.items()
             if (text := _localized(value, locale)) is not None}
    return PublicServiceDetail(
        **item.model_dump(), descriptions=LocalizedText.model_validate(definition.descriptions),
        locale=locale, definition_version=definition.version,
        form=PublicForm(schema=definition.form_schema, fields=[
            PublicFormFieldRead(name=f.name, label=f.label, help=f.help, required=f.required,
                          prefill=f.prefill)
            for f in form_fields(definition.form_schema, locale)]),
        collect=rule.collect, period=rule.period, currency=parameters.currency,
        attachments=[PublicAttachment(
            kind=a["kind"], label=_localized(a.get("label"), locale) or a["kind"],
            required=bool(a.get("required")), media_types=list(a.get("media_types", [])),
            max_bytes=int(a.get("max_bytes", 0))) for a in definition.attachments],
        texts=texts, department=parameters.department,
        processing_days=definition.processing_days, public_report=definition.public_report,
        anonymous=definition.anonymous, steps=_steps(definition, rule, locale))


def _steps(definition: ServiceDefinition, rule: FeeRule, locale: Locale) -> list[PublicStep]:
    process = (DEFAULT_PROCESS if definition.process is None
               else ProcessSpec.model_validate(definition.process))
    paid = rule.collect is Collect.ON_SUBMISSION and bool(rule.components)
    return [PublicStep(state=name, label=getattr(process.states[name].label, locale))
            for name in steps(process) if paid or process.states[name].kind != "payment"]


async def fee_preview(session: AsyncSession, tenant: str, service_id: uuid.UUID, *, on: date,
                      data: dict[str, object], locale: Locale) -> FeePreviewRead:
    """What the fee of the effective configuration comes to for ``data``; the data need not
    be complete, only what the fee rule reads.

    :raises ServiceNotFound, ServiceNotOffered, NoParametersOn: (404).
    :raises FeeNotComputable: (422 ``fee_not_computable``, with ``pointer`` into the rule)
        the data lacks what the rule needs, or has the wrong type, or is beyond the limits.
    """
    effective = await resolve(session, tenant=tenant, service_id=service_id, on=on)
    quote = quote_fee(FeeRule.model_validate(effective.definition.fee_rule),
                      effective.parameters.fee_values, data,
                      currency=effective.parameters.currency)

    def label(text: Label) -> str:
        return text.de if locale == "de" else text.en

    return FeePreviewRead(
        amount=quote.amount, currency=quote.currency, due_now=quote.due_now,
        collect=quote.collect, period=quote.period,
        exempt=label(quote.exempt) if quote.exempt is not None else None,
        breakdown=[FeePreviewLine(label=label(line.label), quantity=line.quantity,
                                  unit_amount=line.unit_amount, amount=line.amount)
                   for line in quote.lines])
