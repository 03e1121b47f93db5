"""Use cases of a case's documents: render and store the decision document (Bescheid), the
reference events carry (a signed link), and reading documents by whoever may read the case or
by a valid signed link."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.storage import blob_storage
from case_service.cases import repository
from case_service.cases.errors import CaseNotFound
from case_service.cases.events import DocumentRef
from case_service.cases.models import Case
from case_service.catalogue.models import ServiceDefinition, ServiceParameters
from case_service.documents import rendering, signing, templates
from case_service.documents.errors import DocumentNotFound
from case_service.documents.models import CaseDocument
from case_service.documents.pdf import render_pdf
from case_service.documents.template_versions import template_for
from case_service.settings import CaseSettings
from city_shared.visibility import Visibility

__all__ = ["DECISION", "PDF", "create_decision_document", "document_content", "document_ref",
           "documents_of", "signed_document_content"]

logger = logging.getLogger(__name__)

DECISION = "decision"
PDF = "application/pdf"
_FILENAMES = {"de": "Bescheid-{number}.pdf", "en": "Decision-{number}.pdf"}


def storage_key(case_id: uuid.UUID, document_id: uuid.UUID) -> str:
    """Where a document's content lives in the blob storage."""
    return f"documents/{case_id}/{document_id}"


async def create_decision_document(session: AsyncSession, case: Case, *, actor: str,
                                   now: datetime, settings: CaseSettings) -> CaseDocument | None:
    """Render the decision document (Bescheid) of ``case`` (already ``decision``/``outcome``/
    ``decided_at`` set, status the decision state) from the newest template of its service
    for its tenant (else the library's default) in the case's locale, store it with the case
    and return it; None when the service has no decision template.

    :raises InvalidTemplate: (422) only for a template row that bypassed validation.

    Content and row are written in the caller's transaction (flushed, never committed); a
    rolled-back decision leaves no document behind (with the database store).
    """
    template = await template_for(session, case.tenant, case.service_id, DECISION)
    if template is None:
        return None
    definition = await session.get(ServiceDefinition, case.definition_id)
    parameters = await session.get(ServiceParameters, case.parameters_id)
    assert definition is not None  # foreign keys keep both
    assert parameters is not None
    context = rendering.context_of(case, definition, parameters, now)
    locale = context["locale"]
    texts_locale = locale if locale in template.content else "de"
    rendered = templates.render(template.content[texts_locale], context,
                                pointer=f"/content/{texts_locale}")
    # A few hundred milliseconds of CPU (font parsing and subsetting): off the event loop.
    content = await asyncio.to_thread(render_pdf, rendering.letter_of(case, context, now),
                                      rendered)
    document = CaseDocument(
        id=uuid.uuid4(), case_id=case.id, tenant=case.tenant, kind=DECISION, locale=locale,
        template_id=template.id, template_version=template.version,
        filename=_FILENAMES[locale].format(number=case.number), media_type=PDF,
        size=len(content), sha256=hashlib.sha256(content).hexdigest(), storage_key="",
        created_by=actor, created_at=now)
    document.storage_key = storage_key(case.id, document.id)
    await blob_storage(settings).put(session, document.storage_key, content)
    session.add(document)
    await session.flush()
    logger.info("decision document rendered", extra={
        "case_id": str(case.id), "document_id": str(document.id),
        "template_version": template.version, "size": document.size})
    return document


def signed_url(document: CaseDocument, settings: CaseSettings, now: datetime) -> str:
    """A download link of ``document`` that works without a token for
    ``settings.document_link_days`` from ``now``."""
    return f"{settings.base_url}/documents/signed/{signing.sign(document.id, settings, now)}"


def document_ref(document: CaseDocument, settings: CaseSettings, now: datetime) -> DocumentRef:
    """The event's reference to ``document`` with a signed ``download_url`` valid for
    ``settings.document_link_days`` from ``now``."""
    return DocumentRef(document_id=document.id, kind=document.kind, filename=document.filename,
                       media_type=document.media_type, size=document.size,
                       sha256=document.sha256, download_url=signed_url(document, settings, now))


async def _visible_case(session: AsyncSession, v: Visibility, case_id: uuid.UUID) -> Case:
    case = await repository.get_visible(session, v, case_id)
    if case is None:
        raise CaseNotFound()
    return case


async def documents_of(session: AsyncSession, v: Visibility,
                       case_id: uuid.UUID) -> Sequence[CaseDocument]:
    """The documents of a case ``v`` sees, oldest first.

    :raises CaseNotFound: (404) also for a case ``v`` does not see.
    """
    case = await _visible_case(session, v, case_id)
    return (await session.scalars(
        select(CaseDocument).where(CaseDocument.case_id == case.id)
        .order_by(CaseDocument.created_at, CaseDocument.id))).all()


async def _content(session: AsyncSession, document: CaseDocument | None,
                   settings: CaseSettings) -> tuple[CaseDocument, bytes]:
    if document is None:
        raise DocumentNotFound()
    content = await blob_storage(settings).get(session, document.storage_key)
    if content is None:
        raise DocumentNotFound()
    return document, content


async def document_content(session: AsyncSession, v: Visibility, case_id: uuid.UUID,
                           document_id: uuid.UUID,
                           settings: CaseSettings) -> tuple[CaseDocument, bytes]:
    """A document of a case ``v`` sees, and its content.

    :raises CaseNotFound: (404). :raises DocumentNotFound: (404) not a document of this case.
    """
    case = await _visible_case(session, v, case_id)
    document = await session.scalar(select(CaseDocument).where(
        CaseDocument.id == document_id, CaseDocument.case_id == case.id))
    return await _content(session, document, settings)


async def signed_document_content(session: AsyncSession, token: str, settings: CaseSettings,
                                  now: datetime) -> tuple[CaseDocument, bytes]:
    """The document a signed link names, and its content.

    :raises DocumentNotFound: (404) a bad, tampered or expired token, or a document that is
        gone (its case purged); the same answer for each.
    """
    document_id = signing.document_of(token, settings, now)
    if document_id is None:
        raise DocumentNotFound()
    return await _content(session, await session.get(CaseDocument, document_id), settings)
