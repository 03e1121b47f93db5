"""A report's photo (multipart field ``media``): stored as the case's ``photo`` attachment with
its type detected from the content; other content, or a second file, is refused and nothing is
stored."""

from __future__ import annotations

import hashlib

from .conftest import CaseHarness
from .test_open311_api import REPORT, assert_open311_error

URL = "/open311/v2/musterstadt/requests.json"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_a_photo_is_stored_with_the_case(case: CaseHarness) -> None:
    response = await case.client.post(
        URL, data=REPORT, files={"media": ("../../schlagloch.png", PNG, "image/png")})
    assert response.status_code == 201, response.text
    number = response.json()[0]["service_request_id"]
    [row] = await case.rows(
        "SELECT a.kind, a.media_type, a.size, a.sha256, a.filename, b.content FROM attachments a "
        "JOIN cases c ON c.id = a.case_id JOIN attachment_blobs b ON b.key = a.storage_key "
        "WHERE c.number = :n", n=number)
    assert (row.kind, row.media_type, row.size) == ("photo", "image/png", len(PNG))
    assert row.sha256 == hashlib.sha256(PNG).hexdigest()
    assert row.filename == "schlagloch.png"
    assert bytes(row.content) == PNG


async def test_a_photo_of_the_wrong_type_or_a_second_file_stores_nothing(
        case: CaseHarness) -> None:
    text = await case.client.post(
        URL, data=REPORT, files={"media": ("note.png", b"just text, no image", "image/png")})
    assert_open311_error(text, 415)
    mislabelled = await case.client.post(
        URL, data=REPORT, files={"media": ("a.jpg", PNG, "image/jpeg")})
    assert_open311_error(mislabelled, 415)
    other_field = await case.client.post(
        URL, data=REPORT, files={"document": ("a.png", PNG, "image/png")})
    assert_open311_error(other_field, 400)
    two = await case.client.post(URL, data=REPORT, files=[
        ("media", ("a.png", PNG, "image/png")), ("media", ("b.png", PNG, "image/png"))])
    assert_open311_error(two, 400)
    assert await case.scalar("SELECT count(*) FROM cases") == 0
    assert await case.scalar("SELECT count(*) FROM attachments") == 0
    assert await case.scalar("SELECT count(*) FROM attachment_blobs") == 0
