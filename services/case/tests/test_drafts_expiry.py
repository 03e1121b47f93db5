"""Expiry: a draft not changed for ``draft_ttl_hours`` is "not found" at once and deleted by the
worker's job with its attachments and their contents; live drafts are left alone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from case_service.attachments.storage import DatabaseBlobStorage
from case_service.drafts.expiry import delete_expired_drafts, expire_drafts
from case_service.jobs import JOBS
from city_shared.unit_of_work import unit_of_work

PDF = b"%PDF-1.7\n" + b"1" * 500


async def _draft_with_attachment(case: Any, headers: dict[str, str]) -> str:
    service_id = await case.scalar("SELECT id FROM services WHERE slug = 'bewohnerparkausweis'")
    draft = await case.client.post("/drafts", json={"service_id": str(service_id)},
                                   headers=headers)
    draft_id = str(draft.json()["id"])
    upload = await case.client.post(
        f"/drafts/{draft_id}/attachments", params={"kind": "proof_of_residence"}, content=PDF,
        headers={**headers, "Content-Type": "application/pdf"})
    assert upload.status_code == 201, upload.text
    return draft_id


async def _expire(case: Any, draft_id: str) -> None:
    await case.execute("UPDATE drafts SET expires_at = now() - interval '1 second' "
                       "WHERE id = :id", id=uuid.UUID(draft_id))


async def test_an_expired_draft_is_not_found_at_once(case: Any) -> None:
    draft_id = await _draft_with_attachment(case, case.citizen_headers())
    await _expire(case, draft_id)

    read = await case.client.get(f"/drafts/{draft_id}", headers=case.citizen_headers())
    patched = await case.client.patch(f"/drafts/{draft_id}", json={"data": {}},
                                      headers=case.citizen_headers())
    listed = await case.client.get("/drafts", headers=case.citizen_headers())

    assert read.status_code == 404
    assert patched.status_code == 404
    assert listed.json()["items"] == []


async def test_the_job_deletes_expired_drafts_with_attachments_and_contents(case: Any) -> None:
    expired = await _draft_with_attachment(case, case.citizen_headers())
    live = await _draft_with_attachment(case, case.citizen_headers(case.MAX))
    await _expire(case, expired)

    async with unit_of_work(case.sessions) as session:
        deleted = await delete_expired_drafts(session, now=datetime.now(UTC),
                                              storage=DatabaseBlobStorage())

    assert deleted == 1
    assert [str(r.id) for r in await case.rows("SELECT id FROM drafts")] == [live]
    assert await case.scalar("SELECT count(*) FROM attachments") == 1
    assert await case.scalar("SELECT count(*) FROM attachment_blobs") == 1
    assert await case.scalar(
        "SELECT count(*) FROM attachments a JOIN attachment_blobs b ON b.key = a.storage_key "
        "WHERE a.draft_id = :id", id=uuid.UUID(live)) == 1


async def test_the_worker_runs_the_job_until_stopped(case: Any) -> None:
    expired = await _draft_with_attachment(case, case.citizen_headers())
    await _expire(case, expired)
    stop = asyncio.Event()

    assert expire_drafts in JOBS
    job = asyncio.create_task(expire_drafts(case.sessions, case.settings, stop))
    for _ in range(100):
        if await case.scalar("SELECT count(*) FROM drafts") == 0:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(job, timeout=5)

    assert await case.scalar("SELECT count(*) FROM drafts") == 0
    assert await case.scalar("SELECT count(*) FROM attachment_blobs") == 0


async def test_each_change_pushes_expiry_back(case: Any) -> None:
    draft_id = await _draft_with_attachment(case, case.citizen_headers())
    await case.execute("UPDATE drafts SET expires_at = now() + interval '1 minute' "
                       "WHERE id = :id", id=uuid.UUID(draft_id))

    await case.client.patch(f"/drafts/{draft_id}", json={"data": {"locality": "Ort"}},
                            headers=case.citizen_headers())

    hours = await case.scalar("SELECT extract(epoch FROM expires_at - now()) / 3600 FROM drafts")
    assert hours > case.settings.draft_ttl_hours - 1
