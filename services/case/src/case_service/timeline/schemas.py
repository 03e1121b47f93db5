"""HTTP models of the citizen's timeline: what happened on a case, in the reader's language, and
what the applicant must do now. Nothing staff-internal fits in them (no notes of staff, no
assignee, no audit, no parts, no form data)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

__all__ = [
    "EntryKind",
    "Expected",
    "ExpectedAction",
    "InformationAsked",
    "Locale",
    "PaymentEvent",
    "PaymentStep",
    "Timeline",
    "TimelineEntry",
]

Locale: TypeAlias = Literal["de", "en"]
EntryKind: TypeAlias = Literal["status", "note", "information_request", "document", "payment"]
PaymentStep: TypeAlias = Literal["requested", "paid", "failed", "refund_requested", "refunded",
                                 "refund_failed"]
ExpectedAction: TypeAlias = Literal["pay", "answer", "none"]


class PaymentEvent(BaseModel):
    """A step of the fee: asked for, paid, failed (or expired), asked back, paid back (or the
    refund failed)."""

    step: PaymentStep
    amount: int | None = None
    """Minor units (cents), when the step names an amount."""
    currency: str | None = None


class InformationAsked(BaseModel):
    """What a request for information asks: the form fields to correct or add, the kinds of
    attachments to add, and whether (when) it was answered."""

    status: str
    """``open``, ``answered``, ``expired`` or ``cancelled``."""
    fields: list[str]
    attachment_kinds: list[str]
    answered_at: datetime | None = None


class TimelineEntry(BaseModel):
    """One entry: ``label`` is its headline in the requested language (for ``status`` the
    state's label from the case's process); ``text`` the public note (or what is asked)."""

    at: datetime
    kind: EntryKind
    status: str | None = None
    """The state the case entered (``status`` entries only)."""
    label: str
    text: str | None = None
    deadline: datetime | None = None
    document_url: str | None = None
    document_id: uuid.UUID | None = None
    filename: str | None = None
    payment: PaymentEvent | None = None
    information: InformationAsked | None = None


class Expected(BaseModel):
    """What the applicant must do now: ``pay`` the fee (``url``: the payment page, or the new
    payment to request with POST after a failed one), ``answer`` the open request for
    information (by ``deadline``: ``fields`` and ``attachment_kinds``; ``url`` the action to
    POST, ``attachments_url`` where to upload), or ``none``."""

    action: ExpectedAction
    label: str
    url: str | None = None
    method: Literal["GET", "POST"] | None = None
    deadline: datetime | None = None
    fields: list[str] | None = None
    attachment_kinds: list[str] | None = None
    attachments_url: str | None = None


class Timeline(BaseModel):
    """A case's timeline as its applicant (or its department's staff) reads it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
        "number": "MS-2026-000123",
        "status": "information_requested",
        "status_label": "Information requested",
        "locale": "en",
        "entries": [
            {"at": "2026-03-02T09:15:00+00:00", "kind": "status", "status": "awaiting_payment",
             "label": "Awaiting payment"},
            {"at": "2026-03-02T09:15:00+00:00", "kind": "payment", "label": "Fee requested",
             "payment": {"step": "requested", "amount": 3070, "currency": "EUR"}},
            {"at": "2026-03-02T09:17:00+00:00", "kind": "payment", "label": "Fee paid",
             "payment": {"step": "paid"}},
            {"at": "2026-03-02T09:17:00+00:00", "kind": "status", "status": "submitted",
             "label": "Received"},
            {"at": "2026-03-03T08:00:00+00:00", "kind": "status", "status": "in_review",
             "label": "In review"},
            {"at": "2026-03-03T08:30:00+00:00", "kind": "status",
             "status": "information_requested", "label": "Information requested",
             "text": "Please add your vehicle registration certificate.",
             "deadline": "2026-03-17T22:59:59+00:00"},
            {"at": "2026-03-03T08:30:00+00:00", "kind": "information_request",
             "label": "Request for information",
             "text": "Please add your vehicle registration certificate.",
             "deadline": "2026-03-17T22:59:59+00:00",
             "information": {"status": "open", "fields": ["vehicle_registration"],
                             "attachment_kinds": ["registration_certificate"],
                             "answered_at": None}},
        ],
        "expected": {
            "action": "answer", "label": "Please answer the request for information",
            "url": "https://city.example/cases/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f/actions/"
                   "provide_information",
            "method": "POST", "deadline": "2026-03-17T22:59:59+00:00",
            "fields": ["vehicle_registration"],
            "attachment_kinds": ["registration_certificate"],
            "attachments_url": "https://city.example/cases/"
                               "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f/attachments"},
    }]})

    case_id: uuid.UUID
    number: str
    status: str
    status_label: str
    locale: Locale
    entries: list[TimelineEntry]
    expected: Expected
