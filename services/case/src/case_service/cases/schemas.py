"""HTTP models of cases: ``CaseCreate`` (a city system applying on a citizen's behalf),
``CaseRead`` (one case) and ``CaseList`` (a page of summaries)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from case_service.fees import FeeQuote
from case_service.workflow.schemas import ActionRead

__all__ = [
    "AttachmentMeta",
    "CaseCreate",
    "CaseList",
    "CaseRead",
    "CaseSummary",
    "HistoryEntry",
    "PaymentState",
]


_CASE = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"


class CaseCreate(BaseModel):
    """An application a city system (``case:write``) makes on a citizen's behalf."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "service_id": "44c8e3f4-7b5b-51b3-b4d2-7b1910b9ece8",  # the demo birth certificate
        "account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21",
        "data": {"given_name": "Erika", "family_name": "Mustermann",
                 "birth_date": "1990-04-01", "place_of_birth": "Musterstadt", "copies": 1,
                 "purpose": "passport", "delivery": "post", "confirmation": True},
        "locale": "de",
    }]})

    service_id: uuid.UUID
    account_id: uuid.UUID
    data: dict[str, Any]
    locale: Literal["de", "en"] = "de"


class PaymentState(BaseModel):
    """Where the case's fee stands: ``status`` ``requested`` (payment not yet answered),
    ``pending`` (the checkout page is ready: follow ``pay_url``), ``paid``, ``failed``,
    ``expired`` (``POST /cases/{id}/payment`` asks for a new one)."""

    status: str
    pay_url: str | None
    payment_id: uuid.UUID | None


class AttachmentMeta(BaseModel):
    id: uuid.UUID
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    download_url: str


class HistoryEntry(BaseModel):
    type: str
    status: str
    at: datetime
    detail: dict[str, Any]


class CaseSummary(BaseModel):
    """A case as lists show it (no form data)."""

    id: uuid.UUID
    number: str
    tenant: str
    department: str
    service_id: uuid.UUID
    status: str
    channel: str
    fee_amount: int
    currency: str
    submitted_at: datetime
    updated_at: datetime


class CaseRead(CaseSummary):
    """One case: its versions, fee quote, payment, and, for the applicant and the staff of its
    department, its form data."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": _CASE, "number": "MS-2026-000123", "tenant": "musterstadt",
        "department": "citizens-office", "service_id": "44c8e3f4-7b5b-51b3-b4d2-7b1910b9ece8",
        "status": "awaiting_payment", "channel": "online", "fee_amount": 2400, "currency": "EUR",
        "submitted_at": "2026-03-02T09:14:05Z", "updated_at": "2026-03-02T09:14:06Z",
        "account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21",
        "definition_id": "0d4b6f0e-2c1a-5b3d-8e9f-1a2b3c4d5e6f", "definition_version": 1,
        "parameters_version": 1,
        "fee": {"amount": 2400, "currency": "EUR", "due_now": 2400, "collect": "on_submission",
                "period": "once", "exempt": None,
                "lines": [{"label": {"de": "Geburtsurkunde", "en": "Birth certificate"},
                           "quantity": 2, "unit_amount": 1200, "amount": 2400}]},
        "payment": {"status": "pending",
                    "pay_url": f"https://case.musterstadt.example/cases/{_CASE}/pay",
                    "payment_id": "9b2e7c4a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"},
        "data": {"given_name": "Erika", "family_name": "Mustermann",
                 "birth_date": "1990-04-01", "place_of_birth": "Musterstadt", "copies": 2,
                 "purpose": "passport", "delivery": "post", "confirmation": True},
        "attachments": [],
        "history": [{"type": "submitted", "status": "awaiting_payment",
                     "at": "2026-03-02T09:14:05Z",
                     "detail": {"channel": "online", "definition_version": 1,
                                "parameters_version": 1}},
                    {"type": "payment_requested", "status": "awaiting_payment",
                     "at": "2026-03-02T09:14:05Z",
                     "detail": {"amount": 2400, "currency": "EUR", "attempt": 1}}],
        "retain_until": "2036-03-02", "version": 2, "assignee": None,
        "due_at": "2026-03-09T09:14:05Z", "state_deadline": None, "decision": None,
        "decided_at": None, "outcome": None, "refund_status": None,
        "actions": [{"action": "withdraw", "label": "Zurückziehen", "public_note": False,
                     "information_request": False}],
    }]})

    account_id: uuid.UUID | None
    definition_id: uuid.UUID
    definition_version: int
    parameters_version: int
    fee: FeeQuote
    payment: PaymentState | None
    data: dict[str, Any] | None
    attachments: list[AttachmentMeta]
    history: list[HistoryEntry]
    retain_until: date
    version: int
    """Also the ``ETag``; changes take it as ``If-Match``."""
    assignee: str | None = None
    """The staff member working the case (account id)."""
    due_at: datetime | None = None
    """The target date of the decision."""
    state_deadline: datetime | None = None
    """The deadline of the current state (e.g. the answer to a request for information)."""
    decision: str | None = None
    decided_at: datetime | None = None
    outcome: dict[str, Any] | None = None
    refund_status: str | None = None
    actions: list[ActionRead] = []
    """What the caller may do now (``POST /cases/{id}/actions/{action}``)."""


class CaseList(BaseModel):
    items: Annotated[list[CaseSummary], Field(max_length=100)]
    next_cursor: str | None
