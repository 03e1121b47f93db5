"""The submission metadata a sender encrypts beside the form data, shaped like FIT-Connect's
metadata schema (``contentStructure`` with hashes of the data and of every attachment,
``publicServiceType``), and the hash check it enables.

``kind`` on an attachment is this platform's extension: the service definition's attachment
kind (e.g. ``proof_of_residence``) the file answers.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["AttachmentMetadata", "ContentStructure", "DataMetadata", "Hash", "Metadata",
           "PublicServiceType", "SubmissionSchema", "matches"]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              frozen=True)


class Hash(_Camel):
    """A digest of the plaintext (before encryption), hex encoded."""

    type: Literal["sha256", "sha512"]
    content: str = Field(pattern=r"^[0-9a-f]{64}([0-9a-f]{64})?$")


class SubmissionSchema(_Camel):
    schema_uri: str = Field(max_length=500)
    mime_type: Literal["application/json"] = "application/json"


class DataMetadata(_Camel):
    hash: Hash
    submission_schema: SubmissionSchema | None = None


class AttachmentMetadata(_Camel):
    attachment_id: uuid.UUID
    hash: Hash
    purpose: Literal["form", "attachment", "report"] = "attachment"
    kind: str = Field(min_length=1, max_length=64)
    filename: str | None = Field(default=None, max_length=255)
    mime_type: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)


class ContentStructure(_Camel):
    data: DataMetadata
    attachments: list[AttachmentMetadata] = Field(default_factory=list, max_length=100)


class PublicServiceType(_Camel):
    identifier: str = Field(max_length=64)
    name: str | None = Field(default=None, max_length=255)


class Metadata(_Camel):
    """The decrypted ``encryptedMetadata``."""

    content_structure: ContentStructure
    public_service_type: PublicServiceType | None = None
    locale: Literal["de", "en"] = "de"


def matches(declared: Hash, content: bytes) -> bool:
    """True if ``content`` has the digest ``declared`` (compared in constant time)."""
    digest = (hashlib.sha256 if declared.type == "sha256" else hashlib.sha512)(content)
    return hmac.compare_digest(digest.hexdigest(), declared.content)
