"""Routes of the intake, shaped like FIT-Connect's Submission API under ``/intake/v1``: the
public destination and its key, announce, upload, submit, status and the event log. Each route
parses, runs one use case and responds; the request's unit of work commits (ADR 0011)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Request, Response, status

from case_service.attachments.upload import receive_upload
from case_service.intake import service
from case_service.intake.errors import MalformedJwe, UnsupportedUploadType
from case_service.intake.schemas import (
    JWE_PATTERN,
    DestinationRead,
    EventLog,
    PublicJwk,
    SubmissionCreate,
    SubmissionCreated,
    SubmissionRead,
    SubmissionSubmit,
)
from case_service.settings import CaseSettings
from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key

__all__ = ["ATTACHMENT_ROUTE", "PREFIX", "router", "upload_limit"]

PREFIX: Final = "/intake/v1"
ATTACHMENT_ROUTE: Final = PREFIX + "/submissions/{submission_id}/attachments/{attachment_id}"
_JWE = re.compile(JWE_PATTERN)
_KEY_CACHE: Final = "public, max-age=300"

router = APIRouter(prefix=PREFIX, tags=["intake"])


def _settings(request: Request) -> CaseSettings:
    settings = request.app.state.settings
    assert isinstance(settings, CaseSettings)
    return settings


SettingsDep = Annotated[CaseSettings, Depends(_settings)]


def upload_limit(settings: CaseSettings) -> int:
    """The largest attachment upload: base64url of the largest attachment plus the JWE's
    header and key (what ``create_app``'s ``body_limits`` should allow for
    :data:`ATTACHMENT_ROUTE`)."""
    return settings.attachment_max_bytes * 4 // 3 + 4096


@router.get("/destinations/{destination_id}", summary="A destination (public, no token)",
            responses=problem_responses(404, 422))
async def get_destination(destination_id: uuid.UUID, session: SessionDep) -> DestinationRead:
    """The services it accepts and the ``encryptionKid`` of the key to encrypt to."""
    return await service.read_destination(session, destination_id)


@router.get("/destinations/{destination_id}/keys/{kid}",
            summary="A destination's public key as JWK (public, no token)",
            responses=problem_responses(404, 422))
async def get_key(destination_id: uuid.UUID, kid: Annotated[str, Path(max_length=100)],
                  session: SessionDep, response: Response) -> PublicJwk:
    """``encryptionKid``: ``use enc``, ``alg RSA-OAEP-256`` (payloads use ``enc A256GCM``);
    ``signingKid``: ``use sig``, ``alg PS512`` (verifies the event log's SETs)."""
    response.headers["Cache-Control"] = _KEY_CACHE
    return await service.read_key(session, destination_id, kid)


@router.post("/submissions", status_code=status.HTTP_201_CREATED,
             summary="Announce a submission and its attachments",
             responses=problem_responses(401, 403, 404, 422),
             dependencies=[Depends(accept_idempotency_key)])
async def announce(body: SubmissionCreate, session: SessionDep,
                   principal: CurrentPrincipal, settings: SettingsDep) -> SubmissionCreated:
    """A machine client with ``case:intake`` of the destination's tenant. The submission is
    ``incomplete`` until submitted; unsubmitted ones are removed after a day."""
    submission = await service.announce(session, principal, body, settings, datetime.now(UTC))
    return SubmissionCreated(destination_id=submission.destination_id,
                             submission_id=submission.id,
                             case_id=submission.transport_case_id)


@router.put("/submissions/{submission_id}/attachments/{attachment_id}",
            status_code=status.HTTP_204_NO_CONTENT,
            summary="Upload an announced attachment (compact JWE, application/jose)",
            responses=problem_responses(401, 403, 404, 409, 413, 415, 422))
async def upload_attachment(submission_id: uuid.UUID, attachment_id: uuid.UUID,
                            request: Request, session: SessionDep,
                            principal: CurrentPrincipal, settings: SettingsDep) -> Response:
    """Uploading again replaces the attachment while the submission is ``incomplete``."""
    service.sender(principal)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/jose":
        raise UnsupportedUploadType("Attachments are uploaded as application/jose.")
    received = await receive_upload(request.stream(), max_bytes=upload_limit(settings))
    text = received.content.strip().decode("ascii", errors="replace")
    if not _JWE.fullmatch(text):
        raise MalformedJwe("The body is not a compact JWE.")
    await service.upload_attachment(session, principal, submission_id, attachment_id, text,
                                    datetime.now(UTC))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/submissions/{submission_id}", status_code=status.HTTP_202_ACCEPTED,
            summary="Submit: encrypted metadata and data; processed at once",
            responses=problem_responses(401, 403, 404, 409, 422))
async def submit(submission_id: uuid.UUID, body: SubmissionSubmit, session: SessionDep,
                 principal: CurrentPrincipal, settings: SettingsDep) -> SubmissionRead:
    """Answers the transport status: ``accepted`` (with the case) or ``rejected`` (with
    ``rejectReason``); the event log says the same. 409 while an announced attachment is
    missing or when already submitted."""
    await service.submit(session, principal, submission_id, body, settings, datetime.now(UTC))
    return await service.read_submission(session, principal, submission_id)


@router.get("/submissions/{submission_id}", summary="A submission's transport status",
            responses=problem_responses(401, 403, 404, 422))
async def get_submission(submission_id: uuid.UUID, session: SessionDep,
                         principal: CurrentPrincipal) -> SubmissionRead:
    return await service.read_submission(session, principal, submission_id)


@router.get("/cases/{case_id}/events", summary="The event log of a transport case",
            responses=problem_responses(401, 403, 404, 422))
async def get_events(case_id: uuid.UUID, session: SessionDep,
                     principal: CurrentPrincipal) -> EventLog:
    """FIT-Connect's event names (``create-submission``, ``submit-submission``,
    ``accept-submission``, ``reject-submission``), oldest first, each also as the signed
    SET it was issued as."""
    return await service.event_log(session, principal, case_id)
