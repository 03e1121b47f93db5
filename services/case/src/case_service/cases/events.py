"""The events the cases slice publishes on ``case.cases`` (source ``/case``, subject and record
key = the case id, extensions ``tenant`` and ``department`` on every event). No form data and no
personal data beyond ids.

- ``city.case.case.submitted.v1``: a case was opened (from a draft, a city system, the intake or
  Open311); ``status`` is ``awaiting_payment`` when a fee is due now, else ``submitted``.
- ``city.case.case.paid.v1``: the fee was paid; the case is ``submitted``.
- ``city.case.case.payment_failed.v1``: the payment failed, was cancelled or expired
  (``reason``); the case stays ``awaiting_payment`` and the applicant may pay again.
- ``city.case.case.payment_due.v1``: payment opened the checkout page; ``pay_url`` leads there
  (through the case service's ``/cases/{id}/pay``).
- ``city.case.case.assigned.v1``: the case was claimed or assigned (``assignee``: a staff
  account id, or None when released). Staff-internal: no ``recipient``.
- ``city.case.case.status_changed.v1``: a transition of the process that is none of the
  specific ones below (e.g. ``start_review``, the answer deadline passing).
- ``city.case.case.information_requested.v1``: staff ask the applicant for information
  (``note``: what is missing; ``fields``, ``attachment_kinds``, ``deadline``).
- ``city.case.case.information_reminder.v1``: the answer is due soon (``deadline``).
- ``city.case.case.information_provided.v1``: the applicant answered; back to review.
- ``city.case.case.decided.v1``: approved or rejected (``decision``, ``public_note`` the
  reason, ``outcome``, ``documents`` with a time-limited ``download_url`` each).
- ``city.case.case.withdrawn.v1``: the applicant withdrew the case (``refund_amount`` is paid
  back when it is positive).
- ``city.case.part.requested.v1`` / ``city.case.part.answered.v1``: a part was asked of
  another department / answered by it. The CloudEvents ``department`` extension is the asked
  department; ``data.department`` stays the case's responsible one. Staff-internal.

Every event of a case carries the case's correlation id and continues the trace it was
submitted in, whoever causes it. Citizen-facing events (:data:`CITIZEN_FACING`) carry
``recipient`` (the applicant's ``account_id`` and ``locale``) when the case has an account, so
notification's rules can reach them; the others carry none. ``service_name`` and
``status_label`` are in the case's locale.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from city_shared.envelope import Event, new_event

if TYPE_CHECKING:
    from case_service.cases.models import Case

__all__ = [
    "ASSIGNED",
    "CITIZEN_FACING",
    "DECIDED",
    "INFORMATION_PROVIDED",
    "INFORMATION_REMINDER",
    "INFORMATION_REQUESTED",
    "PAID",
    "PART_ANSWERED",
    "PART_REQUESTED",
    "PAYMENT_DUE",
    "PAYMENT_FAILED",
    "SOURCE",
    "STATUS_CHANGED",
    "SUBMITTED",
    "WITHDRAWN",
    "CaseEventData",
    "CasePaidData",
    "CasePaymentFailedData",
    "CaseSubmittedData",
    "DocumentRef",
    "Recipient",
    "case_event",
]

SOURCE: Final = "/case"
SUBMITTED: Final = "city.case.case.submitted.v1"
PAID: Final = "city.case.case.paid.v1"
PAYMENT_FAILED: Final = "city.case.case.payment_failed.v1"
PAYMENT_DUE: Final = "city.case.case.payment_due.v1"
ASSIGNED: Final = "city.case.case.assigned.v1"
STATUS_CHANGED: Final = "city.case.case.status_changed.v1"
INFORMATION_REQUESTED: Final = "city.case.case.information_requested.v1"
INFORMATION_REMINDER: Final = "city.case.case.information_reminder.v1"
INFORMATION_PROVIDED: Final = "city.case.case.information_provided.v1"
DECIDED: Final = "city.case.case.decided.v1"
WITHDRAWN: Final = "city.case.case.withdrawn.v1"
PART_REQUESTED: Final = "city.case.part.requested.v1"
PART_ANSWERED: Final = "city.case.part.answered.v1"
CITIZEN_FACING: Final = frozenset({
    SUBMITTED, PAID, PAYMENT_FAILED, PAYMENT_DUE, STATUS_CHANGED, INFORMATION_REQUESTED,
    INFORMATION_REMINDER, INFORMATION_PROVIDED, DECIDED, WITHDRAWN})

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
    "recipient": {"account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21", "locale": "de"},
    "service_name": "Geburtsurkunde",
    "status_label": "Zahlung ausstehend",
    "case_url": "https://case.musterstadt.example/cases/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
}


class Recipient(BaseModel):
    """Whom notification tells (its rules decide whether and how)."""

    account_id: uuid.UUID
    locale: str


class DocumentRef(BaseModel):
    """A document of the case, e.g. the decision as PDF. ``download_url`` works without a
    token until it expires (a signed link, for notification to attach the file); the applicant
    reads it any time at ``/cases/{case_id}/documents/{document_id}``."""

    document_id: uuid.UUID
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    download_url: str


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
    recipient: Recipient | None = None
    """Set on :data:`CITIZEN_FACING` events of a case with an account."""
    service_name: str | None = None
    status_label: str | None = None
    case_url: str | None = None
    """The case in the API (``/cases/{id}``), for links in messages."""


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


_EXAMPLE_AT: Final = "2026-06-03T09:00:00Z"


class CasePaymentDueData(CaseEventData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE, "payment_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c52",
        "pay_url": "https://case.musterstadt.example/cases/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
                   "/pay"}]})

    payment_id: uuid.UUID
    pay_url: str


class CaseAssignedData(CaseEventData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE, "status": "in_review", "recipient": None, "status_label": None,
        "assignee": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "previous_assignee": None}]})

    assignee: str | None
    previous_assignee: str | None


class CaseTransitionData(CaseEventData):
    """A transition: ``action`` taken by ``actor_kind`` from ``previous_status``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE, "status": "in_review", "previous_status": "submitted",
        "action": "start_review", "actor_kind": "staff", "public_note": None,
        "status_label": "In Bearbeitung"}]})

    previous_status: str
    action: str
    """The process's action, or the trigger of an automatic transition (``deadline.expired``)."""
    actor_kind: str
    """``staff``, ``applicant`` or ``system``."""
    public_note: str | None = None


class CaseInformationRequestedData(CaseTransitionData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE, "status": "information_requested", "previous_status": "in_review",
        "action": "request_information", "actor_kind": "staff",
        "public_note": "Bitte reichen Sie die Zulassungsbescheinigung Teil I nach.",
        "request_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "fields": ["vehicle_registration"], "attachment_kinds": ["vehicle_registration"],
        "deadline": "2026-06-17T22:00:00Z"}]})

    request_id: uuid.UUID
    fields: list[str]
    attachment_kinds: list[str]
    deadline: datetime


class CaseInformationReminderData(CaseEventData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE, "status": "information_requested",
        "request_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "deadline": "2026-06-17T22:00:00Z"}]})

    request_id: uuid.UUID
    deadline: datetime


class CaseInformationProvidedData(CaseTransitionData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE, "status": "in_review", "previous_status": "information_requested",
        "action": "provide_information", "actor_kind": "applicant", "public_note": None,
        "request_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}]})

    request_id: uuid.UUID


class CaseDecidedData(CaseTransitionData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE, "status": "approved", "previous_status": "in_review",
        "action": "approve", "actor_kind": "staff", "public_note": None, "decision": "approved",
        "decided_at": _EXAMPLE_AT,
        "outcome": {"permit_number": "BP-2026-0042", "valid_until": "2027-06-02"},
        "documents": [{
            "document_id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "kind": "decision",
            "filename": "Bescheid-MS-2026-000123.pdf", "media_type": "application/pdf",
            "size": 48213, "sha256": "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b99"
                                     "42dd4f1b",
            "download_url": "https://case.musterstadt.example/documents/signed/eyJk..."}]}]})

    decision: str
    """``approved`` or ``rejected``."""
    decided_at: datetime
    outcome: dict[str, Any] | None = None
    documents: list[DocumentRef] = []


class CaseWithdrawnData(CaseTransitionData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE, "status": "withdrawn", "previous_status": "submitted",
        "action": "withdraw", "actor_kind": "applicant", "public_note": None,
        "refund_amount": 1200}]})

    refund_amount: int
    """Paid back through payment (0: nothing was paid, or processing had started)."""


class CasePartData(CaseEventData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_CASE_EXAMPLE, "status": "in_review", "recipient": None, "status_label": None,
        "part_id": "0c9b8a7f-6e5d-4c3b-a291-8f7e6d5c4b3a", "key": "traffic_check",
        "part_department": "traffic", "part_status": "open",
        "due_at": "2026-06-13T09:00:00Z", "result": None}]})

    part_id: uuid.UUID
    key: str
    part_department: str
    part_status: str
    due_at: datetime | None = None
    result: str | None = None
    """The answer's result once answered (``agreed`` or ``objection``)."""


_MODELS: Final[dict[str, type[CaseEventData]]] = {
    SUBMITTED: CaseSubmittedData, PAID: CasePaidData, PAYMENT_FAILED: CasePaymentFailedData,
    PAYMENT_DUE: CasePaymentDueData, ASSIGNED: CaseAssignedData,
    STATUS_CHANGED: CaseTransitionData, INFORMATION_REQUESTED: CaseInformationRequestedData,
    INFORMATION_REMINDER: CaseInformationReminderData,
    INFORMATION_PROVIDED: CaseInformationProvidedData, DECIDED: CaseDecidedData,
    WITHDRAWN: CaseWithdrawnData, PART_REQUESTED: CasePartData, PART_ANSWERED: CasePartData,
}


def case_event(type_: str, case: Case, *, caused_by: Event | None = None,
               department: str | None = None, **extra: object) -> Event:
    """The event ``type_`` about ``case`` in its current state (the case records it, see
    :class:`~case_service.cases.models.Case`); ``extra``: the members of the type's model
    beyond :class:`CaseEventData` (and its optional ``service_name``, ``status_label``,
    ``case_url``). ``department``: the CloudEvents extension when it is not the case's (a
    part's events carry the asked department). ``recipient`` is filled in for
    :data:`CITIZEN_FACING` types."""
    recipient = None if type_ not in CITIZEN_FACING or case.account_id is None else {
        "account_id": case.account_id, "locale": case.locale}
    common: dict[str, object] = {
        "recipient": recipient,
        "case_id": case.id, "tenant": case.tenant, "department": case.department,
        "number": case.number, "service_id": case.service_id, "status": case.status,
        "fee_amount": case.fee_amount, "currency": case.currency,
        "account_id": case.account_id, **extra,
    }
    model = _MODELS[type_]
    event = new_event(type=type_, source=SOURCE, subject=str(case.id), tenant=case.tenant,
                      department=department or case.department,
                      data=model.model_validate(common),
                      caused_by=caused_by, correlation_id=case.correlation_id)
    return _in_case_trace(event, case.traceparent)


def _trace_id(traceparent: str | None) -> str | None:
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 else None


def _in_case_trace(event: Event, traceparent: str | None) -> Event:
    """``event`` continuing the trace the case was submitted in: a clerk's request, a part's
    answer or the deadline job start traces of their own, but a case's life is one journey, so
    its events (and what consumers do with them) join the submission's trace. The request that
    caused a step keeps its own trace, found by the event's time and ``causationid``."""
    if _trace_id(traceparent) is None or _trace_id(event.traceparent) == _trace_id(traceparent):
        return event
    return event.model_copy(update={"traceparent": traceparent})
