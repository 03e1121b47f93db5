"""Receiving uploads without I/O: the size limit stops reading, the hash is of the content, the
media type comes from the content, file names lose their path and control characters."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from case_service.attachments.errors import (
    AttachmentTooLarge,
    AttachmentTypeNotAllowed,
    UnknownAttachmentKind,
)
from case_service.attachments.upload import (
    attachment_kind,
    check_media_type,
    receive_upload,
    sanitize_filename,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64


async def test_upload_is_hashed_while_streamed() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"abc"
        yield b"def"

    received = await receive_upload(chunks(), max_bytes=6)

    assert received.content == b"abcdef"
    assert received.size == 6
    assert received.sha256 == hashlib.sha256(b"abcdef").hexdigest()


async def test_reading_stops_at_the_chunk_that_passes_the_limit() -> None:
    read: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for index in range(1000):
            read.append(index)
            yield b"x" * 100

    with pytest.raises(AttachmentTooLarge) as caught:
        await receive_upload(endless(), max_bytes=250)

    assert len(read) == 3
    assert caught.value.status == 413
    assert caught.value.code == "attachment_too_large"


def test_content_decides_the_media_type() -> None:
    assert check_media_type(PNG, declared="image/png", allowed=["image/png"]) == "image/png"
    assert check_media_type(PDF, declared="application/pdf; x=y",
                            allowed=["application/pdf"]) == "application/pdf"
    with pytest.raises(AttachmentTypeNotAllowed) as mislabelled:
        check_media_type(PNG, declared="application/pdf", allowed=["application/pdf", "image/png"])
    assert mislabelled.value.status == 415
    with pytest.raises(AttachmentTypeNotAllowed):
        check_media_type(PNG, declared="image/png", allowed=["application/pdf"])
    with pytest.raises(AttachmentTypeNotAllowed):
        check_media_type(b"just text", declared="text/plain", allowed=["text/plain"])


def test_kinds_come_from_the_definition() -> None:
    specs = [{"kind": "proof", "required": True, "media_types": ["application/pdf"],
              "max_bytes": 5000}]
    proof = attachment_kind(specs, "proof")
    assert proof.media_types == ("application/pdf",)
    assert proof.required
    assert proof.limit(10_000) == 5000
    assert proof.limit(1000) == 1000
    with pytest.raises(UnknownAttachmentKind):
        attachment_kind(specs, "photo")


@pytest.mark.parametrize(("given", "stored"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\erika\\Meldebescheinigung.pdf", "Meldebescheinigung.pdf"),
    ("a\x00b\nc\u202e.pdf", "abc.pdf"),
    ("..", "attachment"),
    ("", "attachment"),
    (None, "attachment"),
])
def test_file_names_are_sanitised(given: str | None, stored: str) -> None:
    assert sanitize_filename(given) == stored


def test_long_file_names_keep_their_extension() -> None:
    name = sanitize_filename("ä" * 400 + ".pdf")
    assert len(name) == 255
    assert name.endswith(".pdf")
