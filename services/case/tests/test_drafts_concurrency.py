"""Changes to one draft serialise on its row lock: of concurrent patches guarded by the same
If-Match exactly one wins, and of concurrent uploads no more than the per-draft limit are kept.
The negative controls take the lock away and show the tests would catch its absence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from case_service.drafts import repository

PDF = b"%PDF-1.7\n" + b"2" * 500
ATTEMPTS = 12


async def _draft(case: Any) -> str:
    service_id = await case.scalar("SELECT id FROM services WHERE slug = 'bewohnerparkausweis'")
    response = await case.client.post("/drafts", json={"service_id": str(service_id)},
                                      headers=case.citizen_headers())
    return str(response.json()["id"])


async def _racing_patches(case: Any, draft_id: str) -> list[int]:
    async def patch(index: int) -> int:
        response = await case.client.patch(
            f"/drafts/{draft_id}", json={"data": {"locality": f"Ort {index}"}},
            headers={**case.citizen_headers(), "If-Match": '"1"'})
        return int(response.status_code)

    return list(await asyncio.gather(*(patch(i) for i in range(ATTEMPTS))))


def _without_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    original = repository.owned_draft

    async def unlocked(*args: Any, **kwargs: Any) -> Any:
        kwargs["lock"] = False
        result = await original(*args, **kwargs)
        await asyncio.sleep(0.05)  # widen the window a missing lock leaves open
        return result

    monkeypatch.setattr(repository, "owned_draft", unlocked)


async def test_one_of_concurrent_patches_with_one_version_wins(case: Any) -> None:
    draft_id = await _draft(case)

    statuses = await _racing_patches(case, draft_id)

    assert sorted(statuses) == [200] + [412] * (ATTEMPTS - 1)
    assert await case.scalar("SELECT version FROM drafts") == 2


async def test_negative_control_without_the_lock_several_win(
        case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    draft_id = await _draft(case)
    _without_lock(monkeypatch)

    statuses = await _racing_patches(case, draft_id)

    assert statuses.count(200) > 1


async def _racing_uploads(case: Any, draft_id: str) -> list[int]:
    async def upload() -> int:
        response = await case.client.post(
            f"/drafts/{draft_id}/attachments", params={"kind": "proof_of_residence"},
            content=PDF, headers={**case.citizen_headers(), "Content-Type": "application/pdf"})
        return int(response.status_code)

    return list(await asyncio.gather(*(upload() for _ in range(ATTEMPTS))))


async def test_concurrent_uploads_keep_to_the_limit(case_app: Any) -> None:
    async with case_app(attachments_per_draft=3) as case:
        from case_service.seed import seed_library

        await seed_library(case.engine)
        draft_id = await _draft(case)

        statuses = await _racing_uploads(case, draft_id)

        assert statuses.count(201) == 3
        assert statuses.count(409) == ATTEMPTS - 3
        assert await case.scalar("SELECT count(*) FROM attachments") == 3


async def test_negative_control_uploads_without_the_lock_pass_the_limit(
        case_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async with case_app(attachments_per_draft=3) as case:
        from case_service.seed import seed_library

        await seed_library(case.engine)
        draft_id = await _draft(case)
        _without_lock(monkeypatch)

        await _racing_uploads(case, draft_id)

        assert await case.scalar("SELECT count(*) FROM attachments") > 3
