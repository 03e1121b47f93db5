"""Use cases of the intake: publish a destination and its key, announce a submission, upload
its encrypted attachments, submit it (processed at once: accepted as a case or rejected), read
its status and the transport case's event log. Never commits; flushes where ids are needed.

Senders are machine clients with ``case:intake`` of the destination's tenant; each sees only
the submissions it announced (anything else is "not found").
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.access import INTAKE_SCOPE
from case_service.intake import repository
from case_service.intake.errors import (
    AttachmentNotAnnounced,
    AttachmentsNotUploaded,
    DestinationNotFound,
    KeyNotFound,
    ServiceNotAccepted,
    SubmissionNotFound,
    TransportCaseNotFound,
)
from case_service.intake.events import EVENT_BASE, record_event
from case_service.intake.keys import cipher_from_settings
from case_service.intake.models import Destination, Submission, SubmissionAttachment
from case_service.intake.processing import Outcome, process
from case_service.intake.schemas import (
    AcceptedCase,
    DestinationRead,
    DestinationService,
    EventLog,
    EventLogEntry,
    Problem,
    PublicJwk,
    ServiceType,
    SubmissionCreate,
    SubmissionRead,
    SubmissionSubmit,
)
from case_service.settings import CaseSettings
from city_shared.auth import Principal
from city_shared.errors import Forbidden, InvalidTransition

__all__ = ["announce", "event_log", "read_destination", "read_key", "read_submission",
           "sender", "submit", "upload_attachment"]


def sender(principal: Principal) -> str:
    """The sender's client id. :raises Forbidden: (403) not a client with ``case:intake``."""
    if principal.kind == "client" and principal.has_scope(INTAKE_SCOPE):
        return principal.sub
    raise Forbidden(f"Submissions are delivered by machine clients with '{INTAKE_SCOPE}'.",
                    extra={"required_scope": INTAKE_SCOPE})


async def read_destination(session: AsyncSession, destination_id: uuid.UUID) -> DestinationRead:
    """Public. :raises DestinationNotFound: (404) no such active destination."""
    destination = await repository.destination(session, destination_id)
    if destination is None:
        raise DestinationNotFound()
    return DestinationRead(destination_id=destination.id, status=destination.status,
                           services=[DestinationService(identifier=s)
                                     for s in destination.services],
                           encryption_kid=destination.encryption_kid,
                           signing_kid=destination.signing_kid)


async def read_key(session: AsyncSession, destination_id: uuid.UUID, kid: str) -> PublicJwk:
    """Public: the destination's encryption or signing key ``kid`` as a JWK.

    :raises KeyNotFound: (404) no such destination or key."""
    destination = await repository.destination(session, destination_id)
    if destination is None:
        raise KeyNotFound()
    keys = {destination.encryption_kid: destination.public_jwk,
            destination.signing_kid: destination.signing_public_jwk}
    if kid not in keys:
        raise KeyNotFound()
    return PublicJwk.model_validate(keys[kid])


async def announce(session: AsyncSession, principal: Principal, body: SubmissionCreate,
                   settings: CaseSettings, now: datetime) -> Submission:
    """Create an ``incomplete`` submission and its transport case (event ``create-submission``).

    :raises DestinationNotFound: (404) no such destination in the sender's tenant.
    :raises ServiceNotAccepted: (422) the destination does not take this service type.
    """
    client_id = sender(principal)
    destination = await repository.destination(session, body.destination_id)
    if destination is None or destination.tenant != principal.tenant:
        raise DestinationNotFound()
    if body.service_type.identifier not in destination.services:
        raise ServiceNotAccepted("This destination does not accept that service type.",
                                 extra={"accepted": list(destination.services)})
    submission = Submission(
        id=uuid.uuid4(), tenant=destination.tenant, destination_id=destination.id,
        client_id=client_id, transport_case_id=uuid.uuid4(),
        service_identifier=body.service_type.identifier, service_name=body.service_type.name,
        announced_attachments=sorted({str(a) for a in body.announced_attachments}),
        status="incomplete", created_at=now, updated_at=now)
    session.add(submission)
    await session.flush()
    session.add(record_event(destination, cipher_from_settings(settings), submission,
                             "create-submission", now))
    await session.flush()
    return submission


async def _own(session: AsyncSession, principal: Principal, submission_id: uuid.UUID,
               *, lock: bool = False) -> Submission:
    submission = await repository.own_submission(
        session, tenant=principal.tenant, client_id=sender(principal),
        submission_id=submission_id, lock=lock)
    if submission is None:
        raise SubmissionNotFound()
    return submission


async def upload_attachment(session: AsyncSession, principal: Principal,
                            submission_id: uuid.UUID, attachment_id: uuid.UUID,
                            ciphertext: str, now: datetime) -> None:
    """Store (or replace) the encrypted attachment ``attachment_id``; it stays encrypted until
    the submission is processed.

    :raises SubmissionNotFound: (404).
    :raises AttachmentNotAnnounced: (422) ``attachment_id`` was not announced.
    :raises InvalidTransition: (409) the submission is no longer ``incomplete``.
    """
    submission = await _own(session, principal, submission_id, lock=True)
    if submission.status != "incomplete":
        raise InvalidTransition(submission.status, "incomplete", noun="submission")
    if str(attachment_id) not in submission.announced_attachments:
        raise AttachmentNotAnnounced("Only announced attachments can be uploaded.")
    existing = await session.get(SubmissionAttachment, (submission.id, attachment_id))
    if existing is None:
        session.add(SubmissionAttachment(submission_id=submission.id,
                                         attachment_id=attachment_id, ciphertext=ciphertext,
                                         uploaded_at=now))
    else:
        existing.ciphertext = ciphertext
        existing.uploaded_at = now
    submission.updated_at = now
    await session.flush()


async def submit(session: AsyncSession, principal: Principal, submission_id: uuid.UUID,
                 body: SubmissionSubmit, settings: CaseSettings, now: datetime) -> Submission:
    """Submit and process at once: ``submitted`` (event ``submit-submission``), then either
    ``accepted`` with a case of channel ``intake`` (``accept-submission``) or ``rejected``
    with a reason code and no case (``reject-submission``). The uploaded ciphertexts are
    deleted either way.

    :raises SubmissionNotFound: (404).
    :raises InvalidTransition: (409) already submitted.
    :raises AttachmentsNotUploaded: (409) an announced attachment was not uploaded.
    """
    submission = await _own(session, principal, submission_id, lock=True)
    if submission.status != "incomplete":
        raise InvalidTransition(submission.status, "submitted", noun="submission")
    uploads = await repository.attachments(session, submission.id)
    uploaded = {str(upload.attachment_id) for upload in uploads}
    missing = [a for a in submission.announced_attachments if a not in uploaded]
    if missing:
        raise AttachmentsNotUploaded(missing)
    submission.status = "submitted"
    submission.submitted_at = submission.updated_at = now
    destination = await session.get(Destination, submission.destination_id)
    assert destination is not None  # a foreign key
    cipher = cipher_from_settings(settings)
    session.add(record_event(destination, cipher, submission, "submit-submission", now))
    outcome = Outcome(None, "service_not_offered")
    if destination.status == "active":
        outcome = await process(
            session, submission=submission, destination=destination,
            encrypted_metadata=body.encrypted_metadata, encrypted_data=body.encrypted_data,
            uploads=uploads, settings=settings, now=now)
    outcome_case, reason = outcome.case, outcome.reason or "case_not_opened"
    if outcome_case is not None:
        submission.status = "accepted"
        submission.case_id = outcome_case.id
        session.add(record_event(destination, cipher, submission, "accept-submission", now,
                                 {"case_number": outcome_case.number}))
    else:
        submission.status = "rejected"
        submission.reject_reason = reason
        problems = [{"code": reason, "pointer": p} for p in outcome.pointers]
        session.add(record_event(destination, cipher, submission, "reject-submission", now,
                                 {"problems": problems or [{"code": reason}]}))
    await session.execute(delete(SubmissionAttachment)
                          .where(SubmissionAttachment.submission_id == submission.id))
    await session.flush()
    return submission


async def read_submission(session: AsyncSession, principal: Principal,
                          submission_id: uuid.UUID) -> SubmissionRead:
    """The submission's transport status (and its case once accepted).

    :raises SubmissionNotFound: (404)."""
    submission = await _own(session, principal, submission_id)
    accepted = None
    if submission.case_id is not None:
        number = await repository.case_number(session, submission.case_id)
        if number is not None:
            accepted = AcceptedCase(id=submission.case_id, number=number)
    return SubmissionRead(
        submission_id=submission.id, case_id=submission.transport_case_id,
        destination_id=submission.destination_id,
        service_type=ServiceType(identifier=submission.service_identifier,
                                 name=submission.service_name),
        announced_attachments=[uuid.UUID(a) for a in submission.announced_attachments],
        status=submission.status,
        reject_reason=submission.reject_reason, created_at=submission.created_at,
        submitted_at=submission.submitted_at, accepted_case=accepted)


async def event_log(session: AsyncSession, principal: Principal,
                    transport_case_id: uuid.UUID) -> EventLog:
    """The transport case's events, oldest first (only the sender's own submissions).

    :raises TransportCaseNotFound: (404)."""
    events = await repository.events_of_case(session, tenant=principal.tenant,
                                             client_id=sender(principal),
                                             transport_case_id=transport_case_id)
    if events is None:
        raise TransportCaseNotFound()
    return EventLog(event_log=[
        EventLogEntry(event=EVENT_BASE + event.name, name=event.name,
                      submission_id=event.submission_id, case_id=event.transport_case_id,
                      issued_at=event.at, token=event.token,
                      problems=[Problem.model_validate(p)
                                for p in event.detail.get("problems", [])])
        for event in events])
