"""A submission as large as the schema allows (both JWEs at ``maxLength``) fits the body limit:
it reaches the intake (here: 404, no such submission) instead of 413; one character more is a
422. (Found by the OpenAPI fuzzer: the schema allowed 2 x 700 000 characters, the body limit is
1 MiB.)"""

from __future__ import annotations

import uuid

from case_service.intake.schemas import MAX_JWE_CHARS

from .conftest import CaseHarness


def jwe(length: int) -> str:
    """A string of ``length`` characters shaped like a compact JWE."""
    head = "eyJhbGciOiJSU0EtT0FFUC0yNTYifQ.a.b."
    return head + "c" * (length - len(head) - 2) + ".d"


async def put(case: CaseHarness, length: int) -> int:
    response = await case.client.put(
        f"/intake/v1/submissions/{uuid.uuid4()}",
        json={"encryptedMetadata": jwe(length), "encryptedData": jwe(length)},
        headers=dict(case.client_headers("case:intake", client_id="online-service-a")))
    return response.status_code


async def test_the_largest_submission_the_schema_allows_is_not_too_large(
        case: CaseHarness) -> None:
    assert await put(case, MAX_JWE_CHARS) == 404
    assert await put(case, MAX_JWE_CHARS + 1) == 422
