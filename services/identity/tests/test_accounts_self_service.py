"""``/me``: profile, e-mail change, password change, data export and erasure."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from city_shared.db import create_session_factory
from identity_service.accounts.config import LoginPolicy
from identity_service.accounts.errors import InvalidCredentials
from identity_service.accounts.login import authenticate_password

EMAIL = "erika.mustermann@example.org"
PASSWORD = "Richtig-langes-Passwort-1"
NEW_PASSWORD = "Ganz-neues-Passwort-2026"


async def _can_log_in(identity, password: str, email: str = EMAIL) -> bool:  # type: ignore[no-untyped-def]
    async with create_session_factory(identity.engine)() as session:
        try:
            await authenticate_password(
                session, tenant="musterstadt", email=email, password=password,
                now=datetime.now(UTC), policy=LoginPolicy(),
            )
        except InvalidCredentials:
            return False
        finally:
            await session.commit()
    return True


async def test_me_shows_my_account_to_citizens_and_staff(identity) -> None:  # type: ignore[no-untyped-def]
    citizen = await identity.add_account(EMAIL, given_name="Erika", family_name="Mustermann")
    staff = await identity.add_account(
        "kasse@example.org", kind="staff", roles={"museum": ["cashier"]}
    )

    mine = await identity.client.get("/me", headers=identity.bearer(citizen))
    theirs = await identity.client.get(
        "/me", headers=identity.bearer(staff, kind="staff", roles={"museum": ["cashier"]})
    )

    assert mine.status_code == 200
    assert mine.headers["cache-control"] == "no-store"
    assert mine.json()["email"] == EMAIL
    assert mine.json()["given_name"] == "Erika"
    assert mine.json()["email_verified"] is True
    assert theirs.json()["roles"] == {"museum": ["cashier"]}


async def test_me_needs_a_token_of_a_person(identity) -> None:  # type: ignore[no-untyped-def]
    anonymous = await identity.client.get("/me")
    client = await identity.client.get(
        "/me", headers=identity.bearer("city-erp", kind="client")
    )
    unknown = await identity.client.get("/me", headers=identity.bearer(uuid.uuid4()))
    not_a_uuid = await identity.client.get("/me", headers=identity.bearer("user-1"))

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert client.status_code == 403
    assert unknown.status_code == not_a_uuid.status_code == 404


async def test_another_tenants_token_does_not_reach_my_account(identity) -> None:  # type: ignore[no-untyped-def]
    citizen = await identity.add_account(EMAIL)

    response = await identity.client.get(
        "/me", headers=identity.bearer(citizen, tenant="beispielhausen")
    )

    assert response.status_code == 404


async def test_patch_me_changes_names_and_language_and_publishes_the_change(identity) -> None:  # type: ignore[no-untyped-def]
    citizen = await identity.add_account(EMAIL, given_name="Erika", family_name="Mustermann")

    response = await identity.client.patch(
        "/me", json={"family_name": "Musterfrau", "locale": "en"},
        headers=identity.bearer(citizen),
    )
    unchanged = await identity.client.patch(
        "/me", json={"family_name": "Musterfrau"}, headers=identity.bearer(citizen)
    )

    assert response.status_code == 200, response.text
    assert response.json()["family_name"] == "Musterfrau"
    assert response.json()["given_name"] == "Erika"
    assert response.json()["locale"] == "en"
    assert unchanged.status_code == 200
    [event] = await identity.outbox("city.identity.account.updated.v1")  # one, not two
    assert event.data["changed"] == ["family_name", "locale"]
    assert event.data["locale"] == "en"


async def test_a_new_e_mail_address_must_be_verified_again(identity) -> None:  # type: ignore[no-untyped-def]
    citizen = await identity.add_account(EMAIL)
    await identity.add_account("besetzt@example.org")
    # a pending link for the old address must not verify the new one
    async with identity.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO email_verifications (token_hash, account_id, expires_at)"
            " VALUES (:h, :a, now() + interval '1 hour')"
        ), {"h": "0" * 64, "a": citizen})

    taken = await identity.client.patch(
        "/me", json={"email": "Besetzt@example.org"}, headers=identity.bearer(citizen)
    )
    changed = await identity.client.patch(
        "/me", json={"email": "Erika.Neu@Example.org"}, headers=identity.bearer(citizen)
    )

    assert taken.status_code == 409
    assert taken.json()["code"] == "email_taken"
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "erika.neu@example.org"
    assert changed.json()["email_verified"] is False
    [event] = await identity.outbox("city.identity.account.updated.v1")
    assert event.data["changed"] == ["email"]
    [command] = await identity.outbox("city.notification.request.v1")
    assert command.data["recipient"]["email"] == "erika.neu@example.org"
    async with identity.engine.connect() as conn:
        hashes = (await conn.execute(text("SELECT token_hash FROM email_verifications"))).all()
    assert len(hashes) == 1
    assert hashes[0].token_hash != "0" * 64


async def _portal_session(identity, account_id) -> None:  # type: ignore[no-untyped-def]
    """A refresh token of ``account_id`` at the public client ``portal`` (registered here)."""
    async with identity.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO oauth_clients (client_id, tenant, name, kind, auth_method)"
            " VALUES ('portal', 'musterstadt', 'Portal', 'public', 'none')"
        ))
        await conn.execute(text(
            "INSERT INTO refresh_tokens (token_hash, family_id, client_id, account_id, scope,"
            " acr, auth_time, expires_at) VALUES (:h, :f, 'portal', :a, 'openid', 'basic',"
            " now(), now() + interval '1 day')"
        ), {"h": "r" * 64, "f": uuid.uuid4(), "a": account_id})


async def test_change_password(identity) -> None:  # type: ignore[no-untyped-def]
    citizen = await identity.add_account(EMAIL)
    await _portal_session(identity, citizen)  # a session of the citizen's elsewhere
    headers = identity.bearer(citizen)

    wrong = await identity.client.post("/me/password", headers=headers, json={
        "current_password": "Falsches-Passwort-42", "new_password": NEW_PASSWORD})
    weak = await identity.client.post("/me/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": "kurz"})
    done = await identity.client.post("/me/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert wrong.status_code == 403
    assert wrong.json()["code"] == "invalid_current_password"
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    assert done.status_code == 204, done.text
    assert await _can_log_in(identity, NEW_PASSWORD)
    assert not await _can_log_in(identity, PASSWORD)
    async with identity.engine.connect() as conn:
        revoked = (await conn.execute(text("SELECT revoked_at FROM refresh_tokens"))).scalar()
    assert revoked is not None


async def test_guessing_the_current_password_locks_the_account(identity) -> None:  # type: ignore[no-untyped-def]
    citizen = await identity.add_account(EMAIL)
    headers = identity.bearer(citizen)
    body = {"current_password": "Falsches-Passwort-42", "new_password": NEW_PASSWORD}

    answers = [await identity.client.post("/me/password", headers=headers, json=body)
               for _ in range(5)]
    with_right = await identity.client.post("/me/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert [a.status_code for a in answers] == [403, 403, 403, 403, 429]
    assert answers[-1].json()["code"] == "account_locked"
    assert 0 < int(answers[-1].headers["retry-after"]) <= 900
    assert with_right.status_code == 429


async def test_export_contains_my_data_and_nothing_of_others(identity) -> None:  # type: ignore[no-untyped-def]
    erika = await identity.add_account(EMAIL, given_name="Erika", family_name="Mustermann")
    await identity.add_account(
        "max.mustermann@example.org", given_name="Max", family_name="Mustermann"
    )
    async with identity.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO account_attributes (account_id, name, value, loa, source) VALUES"
            " (:a, 'birth_date', '1964-08-12', 'substantial', 'eid-sandbox')"
        ), {"a": erika})

    response = await identity.client.get("/me/export", headers=identity.bearer(erika))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["cache-control"] == "no-store"
    export = json.loads(response.content)
    assert export["account"]["id"] == str(erika)
    assert export["account"]["email"] == EMAIL
    assert export["account"]["given_name"] == "Erika"
    assert export["account"]["password_set"] is True
    assert [(a["name"], a["value"], a["loa"], a["source"]) for a in export["attributes"]] == [
        ("birth_date", "1964-08-12", "substantial", "eid-sandbox")
    ]
    assert export["roles"] == {}
    assert "max" not in response.text.lower()
    assert "argon2" not in response.text


async def test_delete_me_erases_my_personal_data_and_tells_everyone(identity) -> None:  # type: ignore[no-untyped-def]
    erika = await identity.add_account(EMAIL, given_name="Erika", family_name="Mustermann")
    other = await identity.add_account("max.mustermann@example.org", given_name="Max")
    await _portal_session(identity, erika)
    async with identity.engine.begin() as conn:
        for account in (erika, other):
            await conn.execute(text(
                "INSERT INTO account_attributes (account_id, name, value, loa, source) VALUES"
                " (:a, 'birth_date', '1964-08-12', 'substantial', 'eid-sandbox')"
            ), {"a": account})
        await conn.execute(text(
            "INSERT INTO email_verifications (token_hash, account_id, expires_at)"
            " VALUES (:h, :a, now() + interval '1 hour')"
        ), {"h": "0" * 64, "a": erika})
    headers = identity.bearer(erika)

    deleted = await identity.client.delete("/me", headers=headers)
    afterwards = await identity.client.get("/me", headers=headers)
    again = await identity.client.delete("/me", headers=headers)

    assert deleted.status_code == 204, deleted.text
    assert afterwards.status_code == 404
    assert again.status_code == 404
    async with identity.engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT email, given_name, family_name, password_hash, status, erased_at,"
            " email_verified_at, last_login_at FROM accounts WHERE id = :a"
        ), {"a": erika})).one()
        attributes = (await conn.execute(text(
            "SELECT account_id FROM account_attributes"
        ))).scalars().all()
        revoked = (await conn.execute(text("SELECT revoked_at FROM refresh_tokens"))).scalar()
        verifications = (await conn.execute(text(
            "SELECT count(*) FROM email_verifications"
        ))).scalar()
    assert (row.email, row.given_name, row.family_name, row.password_hash) == (
        None, None, None, None
    )
    assert row.status == "erased"
    assert row.erased_at is not None
    assert row.email_verified_at is None
    assert attributes == [other]  # only the other person's attributes remain
    assert revoked is not None
    assert verifications == 0
    [erased] = await identity.outbox("city.identity.account.erased.v1")
    assert erased.topic == "identity.accounts"
    assert erased.key == str(erika)
    assert erased.data == {"account_id": str(erika), "tenant": "musterstadt"}
    assert not await _can_log_in(identity, PASSWORD)
    # the address is free again
    registered = await identity.client.post("/tenants/musterstadt/registrations", json={
        "email": EMAIL, "password": NEW_PASSWORD})
    assert registered.status_code == 202
    assert len(await identity.outbox("city.identity.account.registered.v1")) == 1


async def test_staff_close_their_accounts_through_the_administration(identity) -> None:  # type: ignore[no-untyped-def]
    staff = await identity.add_account("kasse@example.org", kind="staff")

    response = await identity.client.delete("/me", headers=identity.bearer(staff, kind="staff"))

    assert response.status_code == 403


async def test_a_new_verification_link_can_be_requested(identity) -> None:  # type: ignore[no-untyped-def]
    unverified = await identity.add_account(EMAIL, verified=False)
    verified = await identity.add_account("max.mustermann@example.org")

    first = await identity.client.post(
        "/me/email-verifications", headers=identity.bearer(unverified)
    )
    nothing_to_do = await identity.client.post(
        "/me/email-verifications", headers=identity.bearer(verified)
    )

    assert first.status_code == nothing_to_do.status_code == 202
    [command] = await identity.outbox("city.notification.request.v1")
    assert command.data["recipient"]["account_id"] == str(unverified)
