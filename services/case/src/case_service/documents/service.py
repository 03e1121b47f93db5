"""Decision documents. STUB: the documents helper replaces these bodies; the signatures are the
contract the workflow calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.events import DocumentRef
from case_service.cases.models import Case
from case_service.documents.models import CaseDocument
from case_service.settings import CaseSettings

__all__ = ["create_decision_document", "document_ref"]


async def create_decision_document(session: AsyncSession, case: Case, *, actor: str,
                                   now: datetime, settings: CaseSettings) -> CaseDocument | None:
    """Render the decision document (Bescheid) of ``case`` (already ``decision``/``outcome``/
    ``decided_at`` set, status the decision state) from the newest template of its service
    for its tenant (else the library's default) in the case's locale, store it with the case
    and return it; None when the service has no decision template."""
    return None


def document_ref(document: CaseDocument, settings: CaseSettings, now: datetime) -> DocumentRef:
    """The event's reference to ``document`` with a signed ``download_url`` valid for
    ``settings.document_link_days`` from ``now``."""
    raise NotImplementedError
