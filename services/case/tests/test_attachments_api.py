"""Attachments of a draft through the API: streamed in with their SHA-256 recorded and given
back byte for byte; refused (and nothing stored) when too large, mislabelled, of a kind the
service does not ask for, or one too many."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 40
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 300


async def _draft(case: Any) -> str:
    service_id = await case.scalar("SELECT id FROM services WHERE slug = 'bewohnerparkausweis'")
    response = await case.client.post("/drafts", json={"service_id": str(service_id)},
                                      headers=case.citizen_headers())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _upload(case: Any, draft_id: str, content: bytes | AsyncIterator[bytes],
                  media_type: str = "application/pdf", kind: str = "proof_of_residence",
                  filename: str = "Meldebescheinigung.pdf") -> Any:
    return await case.client.post(
        f"/drafts/{draft_id}/attachments", params={"kind": kind, "filename": filename},
        content=content, headers={**case.citizen_headers(), "Content-Type": media_type})


async def _stored(case: Any) -> tuple[int, int]:
    return (await case.scalar("SELECT count(*) FROM attachments"),
            await case.scalar("SELECT count(*) FROM attachment_blobs"))


async def test_an_upload_is_recorded_with_its_hash_and_downloads_identically(case: Any) -> None:
    draft_id = await _draft(case)

    response = await _upload(case, draft_id, PDF, filename="../../Melde\x00bescheinigung.pdf")

    assert response.status_code == 201, response.text
    attachment = response.json()
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert attachment["size"] == len(PDF)
    assert attachment["media_type"] == "application/pdf"
    assert attachment["filename"] == "Meldebescheinigung.pdf"
    download = await case.client.get(f"/drafts/{draft_id}/attachments/{attachment['id']}",
                                     headers=case.citizen_headers())
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith(
        'attachment; filename="Meldebescheinigung.pdf"')
    assert download.headers["x-content-type-options"] == "nosniff"
    draft = await case.client.get(f"/drafts/{draft_id}", headers=case.citizen_headers())
    assert [a["id"] for a in draft.json()["attachments"]] == [attachment["id"]]
    assert draft.json()["version"] == 2


async def test_a_streamed_upload_without_length_is_accepted(case: Any) -> None:
    draft_id = await _draft(case)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(PDF), 1000):
            yield PDF[start:start + 1000]

    response = await _upload(case, draft_id, chunks())

    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(PDF).hexdigest()


@pytest.mark.parametrize("streamed", [False, True])
async def test_too_large_a_file_is_refused_and_nothing_stored(case_app: Any,
                                                             streamed: bool) -> None:
    async with case_app(attachment_max_bytes=4096) as case:
        from case_service.seed import seed_library

        await seed_library(case.engine)
        draft_id = await _draft(case)
        content = PDF + b"\x00" * 4096

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(content), 1024):
                yield content[start:start + 1024]

        response = await _upload(case, draft_id, chunks() if streamed else content)

        assert response.status_code == 413, response.text
        # The platform's body limit of the upload route is the same size, so whichever of it
        # and the route's own streaming check sees the excess first answers.
        assert response.json()["code"] in {"body_too_large", "attachment_too_large"}
        assert await _stored(case) == (0, 0)
        ok = await _upload(case, draft_id, content[:4096])
        assert ok.status_code == 201, ok.text


async def test_a_file_above_its_kinds_limit_is_refused_naming_that_limit(case: Any) -> None:
    """The proof of residence allows 5 MB, less than the service-wide 10 MiB upload limit."""
    draft_id = await _draft(case)
    content = PDF + b"\x00" * (5 * 1024 * 1024)

    response = await _upload(case, draft_id, content)

    assert response.status_code == 413, response.text
    assert response.json()["code"] == "attachment_too_large"
    assert response.json()["max_bytes"] < len(content) <= case.settings.attachment_max_bytes
    assert await _stored(case) == (0, 0)


@pytest.mark.parametrize(("content", "declared"), [
    (PNG, "application/pdf"),           # a PNG sent as a PDF
    (PDF, "image/png"),                 # a PDF sent as a PNG
    (b"plain text, no magic", "application/pdf"),
    (b"", "application/pdf"),
    (PDF, "application/octet-stream"),
])
async def test_mislabelled_or_unrecognised_content_is_refused(case: Any, content: bytes,
                                                             declared: str) -> None:
    draft_id = await _draft(case)

    response = await _upload(case, draft_id, content, media_type=declared)

    assert response.status_code == 415, response.text
    assert response.json()["code"] == "attachment_type_not_allowed"
    assert await _stored(case) == (0, 0)


async def test_a_type_the_kind_does_not_accept_is_refused(case: Any) -> None:
    draft_id = await _draft(case)
    gif = b"GIF89a" + b"\x00" * 100

    response = await _upload(case, draft_id, gif, media_type="image/gif")

    assert response.status_code == 415
    assert "image/gif" not in response.json()["allowed_media_types"]
    assert await _stored(case) == (0, 0)


async def test_a_kind_the_service_does_not_ask_for_is_refused(case: Any) -> None:
    draft_id = await _draft(case)

    response = await _upload(case, draft_id, PDF, kind="passport_photo")

    assert response.status_code == 422
    assert response.json()["code"] == "unknown_attachment_kind"
    assert response.json()["kinds"] == ["proof_of_residence", "vehicle_registration"]
    assert await _stored(case) == (0, 0)


async def test_one_attachment_too_many_is_refused(case_app: Any) -> None:
    async with case_app(attachments_per_draft=2) as case:
        from case_service.seed import seed_library

        await seed_library(case.engine)
        draft_id = await _draft(case)
        for _ in range(2):
            assert (await _upload(case, draft_id, PDF)).status_code == 201

        third = await _upload(case, draft_id, PDF)

        assert third.status_code == 409
        assert third.json()["code"] == "too_many_attachments"
        assert await _stored(case) == (2, 2)


async def test_a_removed_attachment_and_its_content_are_gone(case: Any) -> None:
    draft_id = await _draft(case)
    attachment = (await _upload(case, draft_id, PDF)).json()

    removed = await case.client.delete(f"/drafts/{draft_id}/attachments/{attachment['id']}",
                                       headers=case.citizen_headers())

    assert removed.status_code == 204
    assert await _stored(case) == (0, 0)
    gone = await case.client.get(f"/drafts/{draft_id}/attachments/{attachment['id']}",
                                 headers=case.citizen_headers())
    assert gone.status_code == 404


async def test_deleting_a_draft_deletes_its_attachments_and_contents(case: Any) -> None:
    draft_id = await _draft(case)
    await _upload(case, draft_id, PDF)

    deleted = await case.client.delete(f"/drafts/{draft_id}", headers=case.citizen_headers())

    assert deleted.status_code == 204
    assert await _stored(case) == (0, 0)
