"""An offering change retried under the same ``Idempotency-Key`` but with another ``If-Match``
is another request: it is refused (422 ``idempotency_key_mismatch``), never answered with the
first request's 200, and an ``If-Match`` over the documented 1024 characters is never taken."""

from __future__ import annotations

from typing import Any


async def test_a_retry_with_another_if_match_is_not_a_replay(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    path = f"/offerings/{demo.exhibition}"
    etag = (await h.client.get(path, headers=h.manager_headers())).headers["ETag"]
    headers = {**h.manager_headers(), "Idempotency-Key": "rename-exhibition"}
    body = {"name": "Stadtgeschichte"}
    first = await h.client.patch(path, json=body, headers={**headers, "If-Match": etag})
    assert first.status_code == 200, first.text
    same = await h.client.patch(path, json=body, headers={**headers, "If-Match": etag})
    assert (same.status_code, same.headers.get("Idempotent-Replayed")) == (200, "true")

    for other in ('"999"', "0" * 1025):
        retried = await h.client.patch(path, json=body, headers={**headers, "If-Match": other})
        assert retried.status_code == 422, other[:10]
        assert retried.json()["code"] == "idempotency_key_mismatch"
        assert "Idempotent-Replayed" not in retried.headers

    fresh = await h.client.patch(path, json=body, headers={**h.manager_headers(),
                                                           "If-Match": "0" * 1025})
    assert (fresh.status_code, fresh.json()["code"]) == (422, "validation_error")
