"""Every ORM model of the case service, imported once so that the metadata knows all tables
(foreign keys between slices resolve only then). The API, the worker and the seeds import this;
nothing else lives here."""

from case_service.attachments.models import Attachment, AttachmentBlob
from case_service.cases.models import Case, CaseHistory, CaseNumberCounter
from case_service.catalogue.models import Service, ServiceDefinition, ServiceParameters
from case_service.documents.models import CaseDocument, DocumentTemplate
from case_service.drafts.models import Draft
from case_service.intake import models as intake_models
from case_service.open311 import models as open311_models
from case_service.parts.models import CasePart
from case_service.workflow.models import AuditEntry, CaseNote, InformationRequest

__all__ = [
    "Attachment",
    "AttachmentBlob",
    "AuditEntry",
    "Case",
    "CaseDocument",
    "CaseHistory",
    "CaseNote",
    "CaseNumberCounter",
    "CasePart",
    "DocumentTemplate",
    "Draft",
    "InformationRequest",
    "Service",
    "ServiceDefinition",
    "ServiceParameters",
    "intake_models",
    "open311_models",
]
