"""The citizen's timeline of a case: its status changes (labelled from the case's process), the
public notes, the requests for information, the documents and the fee's payments, in order of
time, and what the applicant must do now.

Read-only. It reads only what the applicant may see: internal notes, notes on parts, the audit
trail, parts, the assignee and form data never reach it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases import repository
from case_service.cases.errors import CaseNotFound
from case_service.cases.models import Case, CaseHistory
from case_service.documents.models import CaseDocument
from case_service.process.spec import FINAL_KINDS, ProcessSpec
from case_service.settings import CaseSettings
from case_service.timeline.schemas import (
    Expected,
    InformationAsked,
    Locale,
    PaymentEvent,
    PaymentStep,
    Timeline,
    TimelineEntry,
)
from case_service.workflow.models import CaseNote, InformationRequest
from case_service.workflow.process_of import process_of
from city_shared.visibility import Visibility

__all__ = ["LABELS", "PAYMENT_STEPS", "read_timeline"]

PAYMENT_STEPS: Final[Mapping[str, PaymentStep]] = {
    "payment_requested": "requested",
    "paid": "paid",
    "payment_failed": "failed",
    "refund_requested": "refund_requested",
    "payment_refunded": "refund_requested",
    "refund_succeeded": "refunded",
    "refund_failed": "refund_failed",
}
"""History row types that are steps of the fee (other payment rows, e.g. ``payment_created``,
are technical and left out). ``payment_refunded``: a payment the case did not need (a second
or late one) is asked back."""

LABELS: Final[Mapping[str, Mapping[Locale, str]]] = {
    "payment.requested": {"de": "Gebühr angefordert", "en": "Fee requested"},
    "payment.paid": {"de": "Gebühr bezahlt", "en": "Fee paid"},
    "payment.failed": {"de": "Zahlung nicht erfolgt", "en": "Payment not completed"},
    "payment.refund_requested": {"de": "Erstattung veranlasst", "en": "Refund requested"},
    "payment.refunded": {"de": "Betrag erstattet", "en": "Amount refunded"},
    "payment.refund_failed": {"de": "Erstattung fehlgeschlagen", "en": "Refund failed"},
    "note.office": {"de": "Mitteilung der Behörde", "en": "Message from the office"},
    "note.applicant": {"de": "Ihre Mitteilung", "en": "Your message"},
    "information_request": {"de": "Nachforderung von Angaben",
                            "en": "Request for information"},
    "document.decision": {"de": "Bescheid", "en": "Decision notice"},
    "document.other": {"de": "Dokument", "en": "Document"},
    "expected.pay": {"de": "Bitte bezahlen Sie die Gebühr.", "en": "Please pay the fee."},
    "expected.pay_again": {"de": "Die Zahlung ist nicht erfolgt. Bitte zahlen Sie erneut.",
                           "en": "The payment did not go through. Please pay again."},
    "expected.answer": {"de": "Bitte reichen Sie die nachgeforderten Angaben nach.",
                        "en": "Please provide the information requested."},
    "expected.none": {"de": "Sie müssen derzeit nichts tun.",
                      "en": "There is nothing for you to do at the moment."},
    "expected.closed": {"de": "Das Verfahren ist abgeschlossen.",
                        "en": "This case is closed."},
}
"""Every headline of the timeline in German and English (state labels come from the
process)."""


def _state_label(process: ProcessSpec, status: str, locale: Locale) -> str:
    state = process.states.get(status)
    if state is None:
        return status
    return state.label.de if locale == "de" else state.label.en


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _history_entries(case: Case, history: Sequence[CaseHistory], process: ProcessSpec,
                     locale: Locale, notes: Mapping[uuid.UUID, CaseNote],
                     requests: Sequence[InformationRequest],
                     used_notes: set[uuid.UUID]) -> list[TimelineEntry]:
    """A ``status`` entry for every row whose status differs from the one before it (with the
    public note the row references, and the deadline of a request it opened), and a
    ``payment`` entry for every step of the fee."""
    by_id = {r.id: r for r in requests}
    entries: list[TimelineEntry] = []
    status: str | None = None
    for row in history:
        step = PAYMENT_STEPS.get(row.type)
        if step is not None:
            amount = row.detail.get("amount")
            currency = row.detail.get("currency", case.currency)
            known = isinstance(amount, int)
            entries.append(TimelineEntry(
                at=row.at, kind="payment", label=LABELS[f"payment.{step}"][locale],
                payment=PaymentEvent(step=step, amount=amount if known else None,
                                     currency=str(currency) if known else None)))
        if row.status == status:
            continue
        status = row.status
        note_id = _uuid(row.detail.get("note_id"))
        note = notes.get(note_id) if note_id is not None else None
        if note is not None and _by_applicant(note):
            note = None  # the applicant's own words get an entry of their own
        request = by_id.get(_uuid(row.detail.get("request_id")) or uuid.UUID(int=0)) or next(
            (r for r in requests if r.requested_at == row.at), None)
        if request is not None and request.requested_at != row.at:
            request = None  # the row answered or ended the request; it did not open it
        if note is not None:
            used_notes.add(note.id)
        text = note.text if note is not None else None
        if request is not None and text == request.note:
            text = None  # the request's own entry says it
        entries.append(TimelineEntry(
            at=row.at, kind="status", status=row.status,
            label=_state_label(process, row.status, locale), text=text,
            deadline=request.deadline if request is not None else None))
    return entries


def _request_entry(request: InformationRequest, locale: Locale) -> TimelineEntry:
    return TimelineEntry(
        at=request.requested_at, kind="information_request",
        label=LABELS["information_request"][locale], text=request.note,
        deadline=request.deadline,
        information=InformationAsked(status=request.status, fields=list(request.fields),
                                     attachment_kinds=list(request.attachment_kinds),
                                     answered_at=request.answered_at))


def _by_applicant(note: CaseNote) -> bool:
    return note.author.startswith(("citizen:", "client:"))


def _note_entry(note: CaseNote, locale: Locale) -> TimelineEntry:
    mine = _by_applicant(note)
    return TimelineEntry(at=note.created_at, kind="note",
                         label=LABELS["note.applicant" if mine else "note.office"][locale],
                         text=note.text)


def _document_entry(document: CaseDocument, base: str, locale: Locale) -> TimelineEntry:
    label = LABELS["document.decision" if document.kind == "decision" else "document.other"]
    return TimelineEntry(at=document.created_at, kind="document", label=label[locale],
                         document_id=document.id, filename=document.filename,
                         document_url=f"{base}/documents/{document.id}")


def _answer_action(process: ProcessSpec, status: str) -> str | None:
    """The applicant's transition out of ``status`` that answers (not a withdrawal)."""
    for transition in process.transitions:
        target = process.states.get(transition.to)
        if (status in transition.from_ and "applicant" in transition.roles
                and target is not None and target.kind not in FINAL_KINDS):
            return transition.action
    return None


def _expected(case: Case, process: ProcessSpec, open_request: InformationRequest | None,
              base: str, locale: Locale) -> Expected:
    state = process.states.get(case.status)
    kind = state.kind if state is not None else "work"
    if kind == "payment":
        if case.payment_status in ("failed", "expired"):
            return Expected(action="pay", label=LABELS["expected.pay_again"][locale],
                            url=f"{base}/payment", method="POST")
        return Expected(action="pay", label=LABELS["expected.pay"][locale],
                        url=f"{base}/pay", method="GET")
    if kind == "applicant":
        action = _answer_action(process, case.status)
        kinds = list(open_request.attachment_kinds) if open_request is not None else []
        return Expected(
            action="answer", label=LABELS["expected.answer"][locale],
            url=f"{base}/actions/{action}" if action is not None else None,
            method="POST" if action is not None else None,
            deadline=open_request.deadline if open_request is not None else case.state_deadline,
            fields=list(open_request.fields) if open_request is not None else [],
            attachment_kinds=kinds, attachments_url=f"{base}/attachments" if kinds else None)
    closed = kind in FINAL_KINDS
    return Expected(action="none", label=LABELS["expected.closed" if closed
                                                 else "expected.none"][locale])


async def read_timeline(session: AsyncSession, v: Visibility, case_id: uuid.UUID, *,
                        locale: Locale | None, settings: CaseSettings) -> Timeline:
    """The timeline of the case ``v`` sees, in ``locale`` (default: the case's own, German
    if that is neither ``de`` nor ``en``). Entries ordered by time; entries of one moment keep
    the order status/payment, request, note, document.

    :raises CaseNotFound: (404) no such case, or one ``v`` does not see.
    """
    case = await repository.get_visible(session, v, case_id)
    if case is None:
        raise CaseNotFound()
    lang: Locale = locale or ("en" if case.locale == "en" else "de")
    process = await process_of(session, case)
    base = f"{settings.base_url}/cases/{case.id}"
    history = await repository.history_of(session, case.id)
    notes = {n.id: n for n in (await session.scalars(
        select(CaseNote).where(CaseNote.case_id == case.id, CaseNote.visibility == "public",
                               CaseNote.part_id.is_(None))
        .order_by(CaseNote.created_at, CaseNote.id))).all()}
    requests = (await session.scalars(
        select(InformationRequest).where(InformationRequest.case_id == case.id)
        .order_by(InformationRequest.requested_at, InformationRequest.id))).all()
    documents = (await session.scalars(
        select(CaseDocument).where(CaseDocument.case_id == case.id)
        .order_by(CaseDocument.created_at, CaseDocument.id))).all()

    used: set[uuid.UUID] = set()
    entries = _history_entries(case, history, process, lang, notes, requests, used)
    entries += [_request_entry(r, lang) for r in requests]
    entries += [_note_entry(n, lang) for n in notes.values() if n.id not in used]
    entries += [_document_entry(d, base, lang) for d in documents]
    entries.sort(key=_at)  # stable: one moment keeps the order above
    open_request = next((r for r in requests if r.status == "open"), None)
    return Timeline(case_id=case.id, number=case.number, status=case.status,
                    status_label=_state_label(process, case.status, lang), locale=lang,
                    entries=entries,
                    expected=_expected(case, process, open_request, base, lang))


def _at(entry: TimelineEntry) -> datetime:
    return entry.at
