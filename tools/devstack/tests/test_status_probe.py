"""`devstack status` says what a readiness answer reports as stuck, not only its status code."""

from __future__ import annotations

import httpx

from devstack.control import _probe


def _client(status: int, body: object) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(status, json=body)))


def test_an_api_with_stalled_sagas_says_which_and_how_many() -> None:
    with _client(200, {"status": "ok", "database": "up",
                       "stalled_sagas": {"awaiting_checkout": 3, "past_hold": 0}}) as client:
        assert _probe(client, "http://x/readyz") == "200 (STALLED awaiting_checkout: 3)"


def test_a_worker_waiting_for_the_database_says_so() -> None:
    with _client(503, {"status": "unavailable", "waiting_for": {"consumer": "database"},
                       "consumer_assigned": False}) as client:
        assert _probe(client, "http://x/readyz") == (
            "503 (consumer waits for database) (no partitions assigned)")


def test_a_healthy_answer_is_just_its_status() -> None:
    with _client(200, {"status": "ok", "stalled_sagas": {"awaiting_checkout": 0},
                       "waiting_for": {}, "consumer_assigned": True}) as client:
        assert _probe(client, "http://x/readyz") == "200"


def test_an_unreachable_process_says_so() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        assert _probe(client, "http://x/readyz") == "unreachable (ConnectError)"
