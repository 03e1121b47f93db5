"""The events the cases slice publishes on ``case.cases`` (source ``/case``, subject and record
key = the case id, extensions ``tenant`` and ``department`` on every event). No form data and no
personal data beyond ids.

- ``city.case.case.submitted.v1``: a case was opened (from a draft, a city system, the intake or
  Open311); ``status`` is ``awaiting_payment`` when a fee is due now, else ``submitted``.
- ``city.case.case.paid.v1``: the fee was paid; the case is ``submitted``.
- ``city.case.case.payment_failed.v1``: the payment failed, was cancelled or expired
  (``reason``); the case stays ``awaiting_payment`` and the applicant may pay again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from city_shared.envelope import Event, new_event

if TYPE_CHECKING:
    from case_service.cases.models import Case

__all__ = [
    "PAID",
    "PAYMENT_FAILED",
    "SOURCE",
    "SUBMITTED",
    "CaseEventData",
    "CasePaidData",
    "CasePaymentFailedData",
    "CaseSubmittedData",
    "case_event",
]

SOURCE: Final = "/case"
SUBMITTED: Final = "city.case.case.submitted.v1"
PAID: Final = "city.case.case.paid.v1"
PAYMENT_FAILED: Final = "city.case.case.payment_failed.v1"

_CASE_EXAMPLE: Final[JsonDict] = {
    "case_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
    "tenant": "musterstadt",
    "department": "citizens-office",
    "number": "MS-2026-000123",
    "service_id": "0b1c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e",
    "status": "awaiting_payment",
    "fee_amount": 1200,
    "currency": "EUR",
    "account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21",
}


class CaseEventData(BaseModel):
    """What every case event carries."""

    case_id: uuid.UUID
    tenant: str
    department: str
    number: str
    service_id: uuid.UUID
    status: str
    fee_amount: int
    """Due with the submission, in minor units (0: nothing to pay now)."""
    currency: str
    account_id: uuid.UUID | None


class CaseSubmittedData(CaseEventData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE,
        "leika_key": "urn:de:fim:leika:leistung:99115003000000",
        "definition_version": 1,
        "parameters_version": 1,
        "channel": "online",
        "submitted_at": "2026-06-01T10:15:00Z",
    }]})

    leika_key: str
    definition_version: int
    parameters_version: int
    channel: str
    """``online``, ``partner``, ``intake`` or ``open311``."""
    submitted_at: datetime


class CasePaidData(CaseEventData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE,
        "status": "submitted",
        "payment_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c52",
    }]})

    payment_id: uuid.UUID


class CasePaymentFailedData(CaseEventData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE,
        "payment_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c52",
        "payment_status": "expired",
        "reason": "expired",
    }]})

    payment_id: uuid.UUID
    payment_status: str
    """``failed``, ``cancelled`` or ``expired``."""
    reason: str | None


_MODELS: Final[dict[str, type[CaseEventData]]] = {
    SUBMITTED: CaseSubmittedData, PAID: CasePaidData, PAYMENT_FAILED: CasePaymentFailedData,
}


def case_event(type_: str, case: Case, *, caused_by: Event | None = None,
               **extra: object) -> Event:
    """The event ``type_`` about ``case`` in its current state (the case records it, see
    :class:`~case_service.cases.models.Case`); ``extra``: the members of the type's model
    beyond :class:`CaseEventData`."""
    common: dict[str, object] = {
        "case_id": case.id, "tenant": case.tenant, "department": case.department,
        "number": case.number, "service_id": case.service_id, "status": case.status,
        "fee_amount": case.fee_amount, "currency": case.currency,
        "account_id": case.account_id, **extra,
    }
    model = _MODELS[type_]
    return new_event(type=type_, source=SOURCE, subject=str(case.id), tenant=case.tenant,
                     department=case.department, data=model.model_validate(common),
                     caused_by=caused_by, correlation_id=case.correlation_id)
