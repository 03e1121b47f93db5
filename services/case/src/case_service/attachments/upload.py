"""Receiving an uploaded file: streamed with a hard size limit and hashed on the way, its media
type detected from the content and checked against what the service's attachment kind allows.
Pure apart from reading the stream; the drafts, intake and Open311 routes all use it."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

import filetype  # type: ignore[import-untyped]

from case_service.attachments.errors import (
    AttachmentTooLarge,
    AttachmentTypeNotAllowed,
    UnknownAttachmentKind,
)

__all__ = [
    "MAX_FILENAME_CHARS",
    "AttachmentKind",
    "Received",
    "attachment_kind",
    "check_media_type",
    "receive_upload",
    "sanitize_filename",
    "sniff_media_type",
]

MAX_FILENAME_CHARS = 255
_DEFAULT_FILENAME = "attachment"


@dataclass(frozen=True, slots=True)
class Received:
    """An upload read completely: its bytes, their count and their SHA-256 (hex)."""

    content: bytes
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class AttachmentKind:
    """One kind of attachment a service definition asks for (an entry of
    ``ServiceDefinition.attachments``): ``media_types`` it accepts (empty: none) and its own
    size limit (None: only the service-wide one)."""

    kind: str
    required: bool
    media_types: tuple[str, ...]
    max_bytes: int | None

    def limit(self, service_max_bytes: int) -> int:
        """The size limit of this kind under the service-wide ``service_max_bytes``."""
        if self.max_bytes is None:
            return service_max_bytes
        return min(self.max_bytes, service_max_bytes)


def attachment_kind(specs: Sequence[Mapping[str, object]], kind: str) -> AttachmentKind:
    """The kind named ``kind`` among a definition's attachment ``specs`` (each
    ``{"kind", "required", "media_types", "max_bytes"}``).

    :raises UnknownAttachmentKind: (422) the definition asks for no such kind.
    """
    for spec in specs:
        if spec.get("kind") != kind:
            continue
        types = spec.get("media_types", spec.get("allowed_media_types", ()))
        max_bytes = spec.get("max_bytes")
        return AttachmentKind(
            kind=kind,
            required=spec.get("required") is True,
            media_types=tuple(_normalise(t) for t in types if isinstance(t, str))
            if isinstance(types, Sequence) and not isinstance(types, str) else (),
            max_bytes=max_bytes if isinstance(max_bytes, int) and max_bytes > 0 else None,
        )
    raise UnknownAttachmentKind(sorted(str(s.get("kind")) for s in specs))


async def receive_upload(chunks: AsyncIterator[bytes], *, max_bytes: int) -> Received:
    """Read ``chunks`` to the end, hashing as they arrive.

    Stops reading at the first chunk that passes ``max_bytes`` in total: the rest of the stream
    is never consumed and nothing is kept.

    :raises AttachmentTooLarge: (413 ``attachment_too_large``) more than ``max_bytes`` bytes.
    """
    digest = hashlib.sha256()
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise AttachmentTooLarge(max_bytes)
        digest.update(chunk)
        parts.append(chunk)
    return Received(content=b"".join(parts), size=size, sha256=digest.hexdigest())


def sniff_media_type(content: bytes) -> str | None:
    """The media type the content's magic bytes show (``filetype``), None if unrecognised."""
    guessed = filetype.guess_mime(content[:8192])
    return guessed if isinstance(guessed, str) else None


def check_media_type(content: bytes, *, declared: str | None, allowed: Sequence[str]) -> str:
    """The sniffed media type of ``content``, if ``allowed`` lists it and it is the one the
    client ``declared`` (its ``Content-Type``, parameters ignored; None: not checked).

    :raises AttachmentTypeNotAllowed: (415 ``attachment_type_not_allowed``) unrecognised
        content, a type not in ``allowed``, or content that is not what was declared.
    """
    allowed_types = [_normalise(t) for t in allowed]
    sniffed = sniff_media_type(content)
    if sniffed is None or sniffed not in allowed_types:
        raise AttachmentTypeNotAllowed("The file's content is not of an accepted type.",
                                       allowed=allowed_types, detected=sniffed)
    if declared is not None and _normalise(declared) != sniffed:
        raise AttachmentTypeNotAllowed("The file's content does not match its Content-Type.",
                                       allowed=allowed_types, detected=sniffed)
    return sniffed


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def sanitize_filename(name: str | None) -> str:
    """A display name safe to store and to send in ``Content-Disposition``: the last path part
    only, NFC, without control or format characters, leading dots and surrounding blanks, at
    most :data:`MAX_FILENAME_CHARS` characters (the extension kept); ``"attachment"`` if
    nothing is left."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(c for c in _CONTROL.sub("", text) if unicodedata.category(c)[0] != "C")
    text = text.strip().lstrip(".").strip()
    if len(text) > MAX_FILENAME_CHARS:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            text = stem[:MAX_FILENAME_CHARS - len(ext) - 1] + "." + ext
        else:
            text = text[:MAX_FILENAME_CHARS]
    return text or _DEFAULT_FILENAME


def _normalise(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()
