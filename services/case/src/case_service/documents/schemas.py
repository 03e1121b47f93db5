"""HTTP models of documents: a template version to write and read, a document of a case."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from case_service.documents.models import CaseDocument, DocumentTemplate

__all__ = ["DocumentList", "DocumentRead", "DocumentTemplateCreate", "DocumentTemplateList",
           "DocumentTemplateRead", "TemplateTexts"]

_Text = Annotated[str, Field(max_length=10_000)]


class TemplateTexts(BaseModel):
    """One locale's texts, each a sandboxed Jinja2 template (see
    :mod:`case_service.documents.templates` for the variables and what is allowed)."""

    model_config = ConfigDict(extra="forbid")

    title: _Text
    subject: _Text
    body: Annotated[list[_Text], Field(min_length=1, max_length=40)]
    """The paragraphs; one that renders empty is left out."""
    closing: _Text = ""
    legal_remedy: _Text
    """The notice of legal remedies (Rechtsbehelfsbelehrung)."""


class TemplateContent(BaseModel):
    """German texts (required) and English ones (a case in English falls back to German
    without them)."""

    model_config = ConfigDict(extra="forbid")

    de: TemplateTexts
    en: TemplateTexts | None = None


class DocumentTemplateCreate(BaseModel):
    """A new version of a service's document template."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "decision", "content": {"de": {
            "title": "Bescheid",
            "subject": "Ihr Antrag auf {{ case.service }} vom {{ case.submitted_at }}",
            "body": ["Guten Tag {{ applicant.name }},",
                     "{% if case.approved %}Ihrem Antrag wird entsprochen.{% else %}Ihr Antrag "
                     "wird abgelehnt.{% endif %}"],
            "closing": "Mit freundlichen Grüßen\n{{ office.address }}",
            "legal_remedy": "Gegen diesen Bescheid kann innerhalb eines Monats Widerspruch "
                            "erhoben werden."}}}]})

    kind: Literal["decision"] = "decision"
    content: TemplateContent


class DocumentTemplateRead(BaseModel):
    """One immutable template version; ``tenant`` None is the library's default."""

    id: uuid.UUID
    tenant: str | None
    service_id: uuid.UUID
    kind: str
    version: int
    content: dict[str, Any]
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, row: DocumentTemplate) -> DocumentTemplateRead:
        return cls(id=row.id, tenant=row.tenant, service_id=row.service_id, kind=row.kind,
                   version=row.version, content=row.content, created_by=row.created_by,
                   created_at=row.created_at)


class DocumentTemplateList(BaseModel):
    """Template versions, newest first."""

    items: list[DocumentTemplateRead]


class DocumentRead(BaseModel):
    """A document of a case; ``download_url`` needs the caller's token."""

    id: uuid.UUID
    case_id: uuid.UUID
    kind: str
    locale: str
    filename: str
    media_type: str
    size: int
    sha256: str
    template_version: int | None
    created_at: datetime
    download_url: str

    @classmethod
    def of(cls, row: CaseDocument, base_url: str) -> DocumentRead:
        return cls(id=row.id, case_id=row.case_id, kind=row.kind, locale=row.locale,
                   filename=row.filename, media_type=row.media_type, size=row.size,
                   sha256=row.sha256, template_version=row.template_version,
                   created_at=row.created_at,
                   download_url=f"{base_url}/cases/{row.case_id}/documents/{row.id}")


class DocumentList(BaseModel):
    """A case's documents, oldest first."""

    items: list[DocumentRead]
