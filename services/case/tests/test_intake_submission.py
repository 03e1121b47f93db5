"""The FIT-Connect-shaped intake over HTTP, as an outside online service uses it: fetch the
destination's published key, encrypt metadata, data and an attachment with joserfc, announce,
upload, submit, poll the event log; and every way a delivery is refused or rejected."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
from joserfc import jwe, jws
from joserfc.jwk import RSAKey

from case_service.intake.seed import demo_destination_id, seed_destinations

PARKING = "urn:de:fim:leika:leistung:99108001001000"
DOG_TAX = "urn:de:fim:leika:leistung:99102013104000"  # the tax office's, not the destination's
SENDER = "online-service-a"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# About 200 kB, so the ciphertext is far beyond joserfc's default limit of 64 KiB.
LARGE_PDF = PDF + b"%" + bytes(range(256)) * 800 + b"\n%%EOF\n"
FORM = {"given_name": "Erika", "family_name": "Mustermann", "birth_date": "1964-08-12",
        "street_address": "Heidestraße 17", "postal_code": "51147", "locality": "Musterstadt",
        "vehicle_registration": "B-AB 1234", "vehicle_owner": "self",
        "valid_from": "2026-04-01"}
DEST = demo_destination_id("musterstadt")
ALGS = ["RSA-OAEP-256", "RSA-OAEP", "A256GCM"]


@pytest.fixture
async def intake(case: Any) -> Any:
    await seed_destinations(case.engine, case.settings, key_bits=2048)
    return case


def sender(case: Any, client_id: str = SENDER, tenant: str = "musterstadt",
           scope: str = "case:intake") -> dict[str, str]:
    return dict(case.client_headers(scope, client_id=client_id, tenant=tenant))


async def published_key(case: Any) -> RSAKey:
    """What a sender does: no token, read the destination, then its key by kid."""
    destination = (await case.client.get(f"/intake/v1/destinations/{DEST}")).json()
    assert PARKING in [s["identifier"] for s in destination["services"]]
    jwk = (await case.client.get(
        f"/intake/v1/destinations/{DEST}/keys/{destination['encryptionKid']}")).json()
    return RSAKey.import_key(jwk)


async def verification_key(case: Any) -> RSAKey:
    """The key that verifies the event log's SETs, also published by the destination."""
    destination = (await case.client.get(f"/intake/v1/destinations/{DEST}")).json()
    jwk = (await case.client.get(
        f"/intake/v1/destinations/{DEST}/keys/{destination['signingKid']}")).json()
    assert (jwk["use"], jwk["alg"]) == ("sig", "PS512")
    return RSAKey.import_key(jwk)


def encrypt(key: RSAKey, plaintext: bytes, alg: str = "RSA-OAEP-256") -> str:
    header = {"alg": alg, "enc": "A256GCM", "kid": key.kid}
    return jwe.encrypt_compact(header, plaintext, key, algorithms=ALGS)


def metadata(data: bytes, files: dict[uuid.UUID, bytes], *, kind: str = "proof_of_residence",
             ) -> bytes:
    return json.dumps({
        "contentStructure": {
            "data": {"hash": {"type": "sha256", "content": hashlib.sha256(data).hexdigest()},
                     "submissionSchema": {"schemaUri": "urn:demo:parking",
                                          "mimeType": "application/json"}},
            "attachments": [{"attachmentId": str(a), "purpose": "attachment", "kind": kind,
                             "filename": "meldebescheinigung.pdf", "mimeType": "application/pdf",
                             "hash": {"type": "sha512",
                                      "content": hashlib.sha512(content).hexdigest()}}
                            for a, content in files.items()]},
        "publicServiceType": {"identifier": PARKING, "name": "Bewohnerparkausweis"},
    }).encode()


async def announce(case: Any, attachments: list[uuid.UUID], headers: dict[str, str] | None = None,
                   destination: uuid.UUID = DEST, service: str = PARKING) -> Any:
    return await case.client.post("/intake/v1/submissions", headers=headers or sender(case),
                                  json={"destinationId": str(destination),
                                        "serviceType": {"identifier": service,
                                                        "name": "Bewohnerparkausweis"},
                                        "announcedAttachments": [str(a) for a in attachments]})


async def upload(case: Any, submission_id: str, attachment_id: uuid.UUID, token: str,
                 headers: dict[str, str] | None = None) -> Any:
    return await case.client.put(
        f"/intake/v1/submissions/{submission_id}/attachments/{attachment_id}",
        content=token.encode(),
        headers={**(headers or sender(case)), "Content-Type": "application/jose"})


async def submit(case: Any, submission_id: str, meta: str, data: str) -> Any:
    return await case.client.put(f"/intake/v1/submissions/{submission_id}",
                                 headers=sender(case),
                                 json={"encryptedMetadata": meta, "encryptedData": data})


async def deliver(case: Any, *, key: RSAKey, form: dict[str, Any] | None = None,
                  file: bytes = PDF, meta: bytes | None = None, raw: bytes | None = None,
                  data_jwe: str | None = None) -> tuple[dict[str, Any], Any]:
    """Announce, upload one attachment, submit; returns (announcement, submit response)."""
    attachment_id = uuid.uuid4()
    data = raw if raw is not None else json.dumps(form or FORM).encode()
    created = await announce(case, [attachment_id])
    assert created.status_code == 201, created.text
    announced = created.json()
    uploaded = await upload(case, announced["submissionId"], attachment_id, encrypt(key, file))
    assert uploaded.status_code == 204, uploaded.text
    meta = meta if meta is not None else metadata(data, {attachment_id: file})
    response = await submit(case, announced["submissionId"], encrypt(key, meta),
                            data_jwe or encrypt(key, data))
    return announced, response


async def events(case: Any, transport_case_id: str) -> list[dict[str, Any]]:
    response = await case.client.get(f"/intake/v1/cases/{transport_case_id}/events",
                                     headers=sender(case))
    assert response.status_code == 200, response.text
    log: list[dict[str, Any]] = response.json()["eventLog"]
    return log


async def test_a_sender_delivers_an_encrypted_application_that_becomes_a_case(intake: Any) -> None:
    key = await published_key(intake)
    announced, response = await deliver(intake, key=key, file=LARGE_PDF)

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"
    log = await events(intake, announced["caseId"])
    assert [e["name"] for e in log] == ["create-submission", "submit-submission",
                                        "accept-submission"]
    assert log[-1]["event"] == "https://schema.fitko.de/fit-connect/events/accept-submission"
    signing = await verification_key(intake)
    for entry in log:
        claims = json.loads(jws.deserialize_compact(entry["token"], signing,
                                                    algorithms=["PS512"]).payload)
        assert list(claims["events"]) == [entry["event"]]
        assert claims["sub"] == f"submission:{announced['submissionId']}"
        assert claims["txn"] == f"case:{announced['caseId']}"
    status = (await intake.client.get(f"/intake/v1/submissions/{announced['submissionId']}",
                                      headers=sender(intake))).json()
    case_id = status["acceptedCase"]["id"]
    assert status["acceptedCase"]["number"].startswith("MS-")
    row = (await intake.rows("SELECT channel, submitted_by, account_id, number, data "
                             "FROM cases WHERE id = :id", id=uuid.UUID(case_id)))[0]
    assert (row.channel, row.submitted_by, row.account_id) == ("intake", f"client:{SENDER}",
                                                               None)
    assert row.number == status["acceptedCase"]["number"]
    assert row.data["vehicle_registration"] == "B-AB 1234"
    stored = await intake.rows("SELECT kind, media_type, sha256 FROM attachments "
                               "WHERE case_id = :id", id=uuid.UUID(case_id))
    assert [(a.kind, a.media_type, a.sha256) for a in stored] == [
        ("proof_of_residence", "application/pdf", hashlib.sha256(LARGE_PDF).hexdigest())]
    assert await intake.scalar("SELECT count(*) FROM intake_attachments") == 0


def _tamper(token: str) -> str:
    parts = token.split(".")
    ciphertext = parts[3]
    parts[3] = ("A" if ciphertext[0] != "A" else "B") + ciphertext[1:]
    return ".".join(parts)


@pytest.mark.parametrize("fault", ["wrong_key", "other_alg", "tampered",
                                   "undeclared_attachment", "invalid_form", "bad_metadata",
                                   "other_service", "deep_nesting", "not_an_object"])
async def test_a_bad_delivery_is_rejected_with_a_reason_and_opens_no_case(
        intake: Any, fault: str) -> None:
    key = await published_key(intake)
    stranger = RSAKey.generate_key(2048, parameters={"kid": key.kid})
    form = {**FORM, "vehicle_registration": "not a plate"} if fault == "invalid_form" else FORM
    data = json.dumps(form).encode()
    kwargs: dict[str, Any] = {"form": form}
    if fault == "wrong_key":
        kwargs["data_jwe"] = encrypt(stranger, data)
    elif fault == "other_alg":
        kwargs["data_jwe"] = encrypt(key, data, alg="RSA-OAEP")
    elif fault == "tampered":
        kwargs["data_jwe"] = _tamper(encrypt(key, data))
    elif fault == "undeclared_attachment":
        kwargs["meta"] = metadata(data, {uuid.uuid4(): PDF})
    elif fault == "bad_metadata":
        kwargs["meta"] = b'{"contentStructure": "none"}'
    elif fault in {"deep_nesting", "not_an_object"}:
        kwargs["raw"] = b"[" * 100_000 if fault == "deep_nesting" else b'"text"'
    elif fault == "other_service":
        kwargs["meta"] = metadata(data, {}).replace(PARKING.encode(), DOG_TAX.encode())

    announced, response = await deliver(intake, key=key, **kwargs)

    expected = {"wrong_key": "decryption_failed", "other_alg": "decryption_failed",
                "tampered": "decryption_failed",
                "undeclared_attachment": "attachments_mismatch",
                "invalid_form": "form_invalid", "bad_metadata": "metadata_invalid",
                "other_service": "service_not_offered", "deep_nesting": "form_invalid",
                "not_an_object": "form_invalid"}[fault]
    assert response.status_code == 202, response.text
    assert (response.json()["status"], response.json()["rejectReason"]) == ("rejected", expected)
    log = await events(intake, announced["caseId"])
    assert [e["name"] for e in log][-1] == "reject-submission"
    assert log[-1]["problems"][0]["code"] == expected
    claims = json.loads(jws.deserialize_compact(log[-1]["token"], await verification_key(intake),
                                                algorithms=["PS512"]).payload)
    assert claims["events"][log[-1]["event"]]["problems"][0]["code"] == expected
    if fault == "invalid_form":
        assert log[-1]["problems"][0]["pointer"] == "/vehicle_registration"
    assert await intake.scalar("SELECT count(*) FROM cases") == 0
    assert await intake.scalar("SELECT count(*) FROM attachments") == 0


async def test_an_attachment_whose_hash_differs_is_rejected(intake: Any) -> None:
    key = await published_key(intake)
    attachment_id = uuid.uuid4()
    data = json.dumps(FORM).encode()
    announced = (await announce(intake, [attachment_id])).json()
    await upload(intake, announced["submissionId"], attachment_id, encrypt(key, PDF + b"x"))
    response = await submit(intake, announced["submissionId"],
                            encrypt(key, metadata(data, {attachment_id: PDF})),
                            encrypt(key, data))
    assert response.json()["rejectReason"] == "hash_mismatch"
    assert await intake.scalar("SELECT count(*) FROM cases") == 0


async def test_uploads_must_be_announced_and_complete_before_submit(intake: Any) -> None:
    key = await published_key(intake)
    announced_id, stray_id = uuid.uuid4(), uuid.uuid4()
    announced = (await announce(intake, [announced_id])).json()
    submission = announced["submissionId"]

    stray = await upload(intake, submission, stray_id, encrypt(key, PDF))
    assert (stray.status_code, stray.json()["code"]) == (422, "attachment_not_announced")
    data = json.dumps(FORM).encode()
    early = await submit(intake, submission, encrypt(key, metadata(data, {announced_id: PDF})),
                         encrypt(key, data))
    assert (early.status_code, early.json()["code"]) == (409, "attachments_not_uploaded")
    assert early.json()["missing_attachments"] == [str(announced_id)]
    plain = await intake.client.put(
        f"/intake/v1/submissions/{submission}/attachments/{announced_id}", content=PDF,
        headers={**sender(intake), "Content-Type": "application/pdf"})
    assert plain.status_code == 415

    assert (await upload(intake, submission, announced_id, encrypt(key, PDF))).status_code == 204
    done = await submit(intake, submission, encrypt(key, metadata(data, {announced_id: PDF})),
                        encrypt(key, data))
    assert done.json()["status"] == "accepted"
    again = await submit(intake, submission, encrypt(key, metadata(data, {announced_id: PDF})),
                         encrypt(key, data))
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    assert await intake.scalar("SELECT count(*) FROM cases") == 1


async def test_the_destination_and_its_key_are_public_and_hold_no_private_part(
        intake: Any) -> None:
    destination = await intake.client.get(f"/intake/v1/destinations/{DEST}")
    assert destination.status_code == 200
    kid = destination.json()["encryptionKid"]
    jwk = (await intake.client.get(f"/intake/v1/destinations/{DEST}/keys/{kid}")).json()
    assert (jwk["kty"], jwk["use"], jwk["alg"], jwk["kid"]) == ("RSA", "enc", "RSA-OAEP-256",
                                                                 kid)
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
    signing = (await intake.client.get(
        f"/intake/v1/destinations/{DEST}/keys/{destination.json()['signingKid']}")).json()
    assert (signing["use"], signing["alg"]) == ("sig", "PS512")
    assert not {"d", "p", "q"} & set(signing)
    stored = await intake.scalar("SELECT private_jwk_encrypted FROM intake_destinations "
                                 "WHERE id = :id", id=DEST)
    assert stored.count(".") == 4
    assert '"d"' not in stored
    unknown = await intake.client.get(f"/intake/v1/destinations/{DEST}/keys/other")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "key_not_found")


async def test_only_the_announcing_sender_of_the_tenant_reaches_a_submission(
        intake: Any) -> None:
    created = await intake.client.post("/intake/v1/submissions", json={
        "destinationId": str(DEST), "serviceType": {"identifier": PARKING, "name": "x"}})
    assert created.status_code == 401
    no_scope = await announce(intake, [], headers=sender(intake, scope="case:write"))
    assert (no_scope.status_code, no_scope.json()["code"]) == (403, "forbidden")
    citizen = await announce(intake, [], headers=intake.citizen_headers())
    assert citizen.status_code == 403
    foreign = await announce(intake, [], headers=sender(intake, tenant="beispielhausen"))
    assert (foreign.status_code, foreign.json()["code"]) == (404, "destination_not_found")
    refused = await announce(intake, [], service=DOG_TAX)
    assert (refused.status_code, refused.json()["code"]) == (422, "service_not_accepted")

    announced = (await announce(intake, [uuid.uuid4()])).json()
    other = sender(intake, client_id="online-service-b")
    for path in (f"/intake/v1/submissions/{announced['submissionId']}",
                 f"/intake/v1/cases/{announced['caseId']}/events"):
        assert (await intake.client.get(path, headers=other)).status_code == 404
        other_tenant = sender(intake, tenant="beispielhausen")
        assert (await intake.client.get(path, headers=other_tenant)).status_code == 404
        assert (await intake.client.get(path, headers=sender(intake))).status_code == 200
    stolen = await upload(intake, announced["submissionId"], uuid.uuid4(), "a.b.c.d.e",
                          headers=other)
    assert stolen.status_code == 404
