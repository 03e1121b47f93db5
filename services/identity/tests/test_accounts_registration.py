"""Citizen registration and e-mail verification through the API, with their outbox effects."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

REGISTRATIONS = "/tenants/musterstadt/registrations"
PASSWORD = "Lange-genug-und-geheim-7"


def _body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "email": "Erika.Neu@Example.ORG",
        "password": PASSWORD,
        "given_name": "Erika",
        "family_name": "Neu",
        "locale": "de",
    }
    body.update(overrides)
    return body


def _token_from(url: str) -> str:
    fragment = urlsplit(url).fragment
    assert fragment.startswith("token=")
    return fragment.removeprefix("token=")


async def test_registration_creates_an_unverified_account_and_asks_for_verification(
    identity,  # type: ignore[no-untyped-def]
) -> None:
    response = await identity.client.post(REGISTRATIONS, json=_body())

    assert response.status_code == 202, response.text
    # normalised, lower-case
    assert response.json() == {"tenant": "musterstadt", "email": "erika.neu@example.org"}

    registered = await identity.outbox("city.identity.account.registered.v1")
    assert len(registered) == 1
    account = {"id": registered[0].data["account_id"]}
    me = (await identity.client.get("/me", headers=identity.bearer(account["id"]))).json()
    assert (me["email_verified"], me["kind"], me["status"]) == (False, "citizen", "active")
    assert registered[0].topic == "identity.accounts"
    assert registered[0].key == account["id"]
    assert registered[0].attributes["tenant"] == "musterstadt"
    assert registered[0].attributes["source"] == "/identity"
    assert registered[0].data == {
        "account_id": account["id"], "tenant": "musterstadt", "kind": "citizen",
        "email": "erika.neu@example.org", "locale": "de",
    }

    [command] = await identity.outbox("city.notification.request.v1")
    assert command.topic == "notification.requests"
    assert command.data["template"] == "account-email-verification"
    assert command.data["legally_required"] is True
    assert command.data["recipient"] == {
        "account_id": account["id"], "email": "erika.neu@example.org"
    }
    assert command.data["locale"] == "de"
    uuid.UUID(command.data["request_id"])
    token = _token_from(command.data["params"]["verification_url"])

    async with identity.engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT token_hash, expires_at FROM email_verifications"
        ))).one()
        stored_hash = (await conn.execute(text(
            "SELECT password_hash FROM accounts"
        ))).scalar_one()
    # only the token's sha256 is stored, valid for 24 h
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash
    remaining = row.expires_at - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < remaining <= timedelta(hours=24)
    assert stored_hash.startswith("$argon2id$")


async def _register(identity) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = await identity.client.post(REGISTRATIONS, json=_body())
    assert response.status_code == 202, response.text
    [registered] = await identity.outbox("city.identity.account.registered.v1")
    return {"id": registered.data["account_id"]}


async def test_the_verification_token_verifies_once(identity) -> None:  # type: ignore[no-untyped-def]
    account = await _register(identity)
    [command] = await identity.outbox("city.notification.request.v1")
    token = _token_from(command.data["params"]["verification_url"])
    citizen = identity.bearer(account["id"])

    first = await identity.client.post("/email-verifications", json={"token": token})
    again = await identity.client.post("/email-verifications", json={"token": token})

    assert first.status_code == 204, first.text
    assert again.status_code == 422
    assert again.json()["code"] == "invalid_verification_token"
    me = (await identity.client.get("/me", headers=citizen)).json()
    assert me["email_verified"] is True
    [updated] = await identity.outbox("city.identity.account.updated.v1")
    assert updated.data["changed"] == ["email_verified"]
    assert updated.data["email_verified"] is True


async def test_an_expired_or_unknown_token_does_not_verify(identity) -> None:  # type: ignore[no-untyped-def]
    account = await _register(identity)
    [command] = await identity.outbox("city.notification.request.v1")
    token = _token_from(command.data["params"]["verification_url"])
    async with identity.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE email_verifications SET expires_at = now() - interval '1 second'"
        ))

    expired = await identity.client.post("/email-verifications", json={"token": token})
    unknown = await identity.client.post("/email-verifications", json={"token": "x" * 43})

    assert expired.status_code == unknown.status_code == 422
    assert expired.json()["code"] == unknown.json()["code"] == "invalid_verification_token"
    me = (await identity.client.get("/me", headers=identity.bearer(account["id"]))).json()
    assert me["email_verified"] is False


async def test_an_e_mail_address_is_registered_once_per_tenant_without_telling_anyone(
    identity,  # type: ignore[no-untyped-def]
) -> None:
    """Issue 11, hole 8: registering a taken address answers exactly like a new one, so
    registration cannot be used to find out who has an account."""
    fresh = await identity.client.post(REGISTRATIONS, json=_body(email="neu@example.org"))
    first = await identity.client.post(REGISTRATIONS, json=_body())
    same_other_case = await identity.client.post(
        REGISTRATIONS, json=_body(email="ERIKA.NEU@example.org")
    )
    other_tenant = await identity.client.post(
        "/tenants/beispielhausen/registrations", json=_body()
    )

    assert first.status_code == same_other_case.status_code == fresh.status_code == 202
    assert same_other_case.json() == first.json()
    assert same_other_case.headers.keys() == first.headers.keys()
    assert other_tenant.status_code == 202  # tenants are separate municipalities
    assert len(await identity.outbox("city.identity.account.registered.v1")) == 3
    assert len(await identity.outbox("city.notification.request.v1")) == 3
    async with identity.engine.connect() as conn:
        count = (await conn.execute(text(
            "SELECT count(*) FROM accounts WHERE email = 'erika.neu@example.org'"))).scalar()
    assert count == 2


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("kurz-9", "at least 10"),
        ("x" * 1025, "at most 1024"),
        ("ERIKA.NEU-mag-Kuchen", "e-mail"),
    ],
)
async def test_weak_passwords_are_refused(identity, password: str, rule: str) -> None:  # type: ignore[no-untyped-def]
    response = await identity.client.post(REGISTRATIONS, json=_body(password=password))

    assert response.status_code == 422
    assert response.json()["code"] == "weak_password"
    assert rule in response.json()["detail"]
    assert password not in response.text
    assert await identity.outbox() == []


async def test_registration_in_an_unknown_tenant_is_404(identity) -> None:  # type: ignore[no-untyped-def]
    response = await identity.client.post("/tenants/atlantis/registrations", json=_body())

    assert response.status_code == 404
    assert response.json()["code"] == "tenant_not_found"


async def test_registration_with_an_idempotency_key_runs_once(identity) -> None:  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": str(uuid.uuid4())}

    first = await identity.client.post(REGISTRATIONS, json=_body(), headers=headers)
    replay = await identity.client.post(REGISTRATIONS, json=_body(), headers=headers)

    assert first.status_code == replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert len(await identity.outbox("city.identity.account.registered.v1")) == 1


async def test_concurrent_registrations_of_one_address_create_one_account(identity) -> None:  # type: ignore[no-untyped-def]
    responses = await asyncio.gather(*[
        identity.client.post(REGISTRATIONS, json=_body(email=email))
        for email in ["erika.neu@example.org", "Erika.Neu@example.org"] * 3
    ])

    assert [r.status_code for r in responses] == [202] * 6
    assert len(await identity.outbox("city.identity.account.registered.v1")) == 1
    async with identity.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM accounts"))).scalar()
    assert count == 1


async def test_a_token_submitted_many_times_at_once_verifies_once(identity) -> None:  # type: ignore[no-untyped-def]
    await identity.client.post(REGISTRATIONS, json=_body())
    [command] = await identity.outbox("city.notification.request.v1")
    token = _token_from(command.data["params"]["verification_url"])

    responses = await asyncio.gather(*[
        identity.client.post("/email-verifications", json={"token": token}) for _ in range(8)
    ])

    assert sorted(r.status_code for r in responses) == [204] + [422] * 7
    assert len(await identity.outbox("city.identity.account.updated.v1")) == 1
