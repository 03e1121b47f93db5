"""Incomplete intake submissions are removed a day after they were announced, with their
uploaded ciphertexts; younger and finished ones stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from case_service.intake.cleanup import remove_incomplete
from case_service.intake.seed import demo_destination_id, seed_destinations
from city_shared.unit_of_work import unit_of_work

PARKING = "urn:de:fim:leika:leistung:99108001001000"
DEST = demo_destination_id("musterstadt")


async def _announce(case: Any, attachment: uuid.UUID) -> str:
    headers = case.client_headers("case:intake", client_id="online-service-a")
    created = await case.client.post("/intake/v1/submissions", headers=headers, json={
        "destinationId": str(DEST), "serviceType": {"identifier": PARKING, "name": "x"},
        "announcedAttachments": [str(attachment)]})
    assert created.status_code == 201, created.text
    submission: str = created.json()["submissionId"]
    uploaded = await case.client.put(
        f"/intake/v1/submissions/{submission}/attachments/{attachment}",
        content=b"eyJhbGciOiJSU0EifQ.a.b.c.d",
        headers={**headers, "Content-Type": "application/jose"})
    assert uploaded.status_code == 204, uploaded.text
    return submission


async def test_incomplete_submissions_older_than_a_day_are_removed(case: Any) -> None:
    await seed_destinations(case.engine, case.settings, key_bits=2048)
    stale, fresh, finished = [await _announce(case, uuid.uuid4()) for _ in range(3)]
    await case.execute("UPDATE intake_submissions SET created_at = now() - interval '25 hours' "
                       "WHERE id IN (:a, :b)", a=uuid.UUID(stale), b=uuid.UUID(finished))
    await case.execute("UPDATE intake_submissions SET status = 'rejected', "
                       "reject_reason = 'decryption_failed' WHERE id = :id",
                       id=uuid.UUID(finished))

    async with unit_of_work(case.sessions) as session:
        removed = await remove_incomplete(session, datetime.now(UTC))

    assert removed == 1
    left = {str(r.id) for r in await case.rows("SELECT id FROM intake_submissions")}
    assert left == {fresh, finished}
    uploads = {str(r.submission_id) for r in await case.rows(
        "SELECT submission_id FROM intake_attachments")}
    assert stale not in uploads
    assert fresh in uploads
    headers = case.client_headers("case:intake", client_id="online-service-a")
    gone = await case.client.get(f"/intake/v1/submissions/{stale}", headers=headers)
    assert gone.status_code == 404
