"""One submission submitted many times at once becomes exactly one case: the submit locks the
submission's row, so every other attempt finds it no longer ``incomplete`` (409). The negative
control drops the lock and shows the test would catch duplicate cases."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

import pytest
from joserfc import jwe
from joserfc.jwk import RSAKey

from case_service.intake import repository
from case_service.intake.seed import demo_destination_id, seed_destinations

PARKING = "urn:de:fim:leika:leistung:99108001001000"
DEST = demo_destination_id("musterstadt")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FORM = {"given_name": "Max", "family_name": "Mustermann", "birth_date": "1970-01-02",
        "street_address": "Hauptstraße 1", "postal_code": "51147", "locality": "Musterstadt",
        "vehicle_registration": "K-XY 42", "vehicle_owner": "self", "valid_from": "2026-04-01"}
ATTEMPTS = 10


def _encrypt(key: RSAKey, plaintext: bytes) -> str:
    return jwe.encrypt_compact({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": key.kid},
                               plaintext, key, algorithms=["RSA-OAEP-256", "A256GCM"])


async def _submit_at_once(case: Any) -> list[int]:
    await seed_destinations(case.engine, case.settings, key_bits=2048)
    headers = case.client_headers("case:intake", client_id="online-service-a")
    destination = (await case.client.get(f"/intake/v1/destinations/{DEST}")).json()
    key = RSAKey.import_key((await case.client.get(
        f"/intake/v1/destinations/{DEST}/keys/{destination['encryptionKid']}")).json())
    attachment = uuid.uuid4()
    announced = (await case.client.post("/intake/v1/submissions", headers=headers, json={
        "destinationId": str(DEST), "serviceType": {"identifier": PARKING, "name": "x"},
        "announcedAttachments": [str(attachment)]})).json()
    submission = announced["submissionId"]
    await case.client.put(f"/intake/v1/submissions/{submission}/attachments/{attachment}",
                          content=_encrypt(key, PDF).encode(),
                          headers={**headers, "Content-Type": "application/jose"})
    data = json.dumps(FORM).encode()
    meta = json.dumps({"contentStructure": {
        "data": {"hash": {"type": "sha256", "content": hashlib.sha256(data).hexdigest()}},
        "attachments": [{"attachmentId": str(attachment), "kind": "proof_of_residence",
                         "hash": {"type": "sha256",
                                  "content": hashlib.sha256(PDF).hexdigest()}}]}}).encode()
    body = {"encryptedMetadata": _encrypt(key, meta), "encryptedData": _encrypt(key, data)}
    responses = await asyncio.gather(*(
        case.client.put(f"/intake/v1/submissions/{submission}", headers=headers, json=body)
        for _ in range(ATTEMPTS)))
    return sorted(r.status_code for r in responses)


async def test_concurrent_submits_open_exactly_one_case(case: Any) -> None:
    statuses = await _submit_at_once(case)
    assert statuses == [202] + [409] * (ATTEMPTS - 1)
    assert await case.scalar("SELECT count(*) FROM cases") == 1
    events = await case.rows("SELECT name FROM intake_events WHERE name = 'accept-submission'")
    assert len(events) == 1


async def test_negative_control_without_the_row_lock_cases_are_duplicated(
        case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    unlocked = repository.own_submission

    async def without_lock(*args: Any, **kwargs: Any) -> Any:
        kwargs["lock"] = False
        return await unlocked(*args, **kwargs)

    monkeypatch.setattr(repository, "own_submission", without_lock)
    statuses = await _submit_at_once(case)
    assert statuses.count(202) > 1
    assert await case.scalar("SELECT count(*) FROM cases") > 1
