"""Revocation every service sees: logout (``/revoke``), a password change and a replayed
refresh token put the person's live access tokens on the revocation list
(``/.well-known/revoked-tokens.json``, read by every verifier) and publish
``account.tokens_revoked`` (issue 11, hole 7; ADR 0009)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from authlib.integrations.base_client.errors import OAuthError
from sqlalchemy import text

from identity_service.accounts.events import TOKENS_REVOKED

from .test_oauth_flow import EMAIL, ISSUER, code_flow, frontend


def jti(token: str) -> str:
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return str(claims["jti"])


async def revocation_list(harness: Any) -> set[str]:
    response = await harness.client.get("/.well-known/revoked-tokens.json")
    assert response.status_code == 200
    return set(response.json()["revoked"])


async def revocation_events(harness: Any) -> list[dict[str, Any]]:
    async with harness.engine.connect() as conn:
        query = text("SELECT data FROM outbox WHERE event_type = :t ORDER BY id")
        rows = (await conn.execute(query, {"t": TOKENS_REVOKED})).scalars().all()
    return list(rows)


async def test_a_password_change_revokes_every_live_access_token(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    account_id = await oauth.add_account(EMAIL)
    here = await code_flow(oauth, frontend(oauth))
    elsewhere = await code_flow(oauth, frontend(oauth))
    assert not {jti(here["access_token"]), jti(elsewhere["access_token"])} & (
        await revocation_list(oauth))

    changed = await oauth.client.post(
        "/me/password", headers={"Authorization": f"Bearer {here['access_token']}"},
        json={"current_password": "Richtig-langes-Passwort-1",
              "new_password": "Ein-ganz-neues-Passwort-2"})

    assert changed.status_code == 204, changed.text
    assert {jti(here["access_token"]), jti(elsewhere["access_token"])} <= (
        await revocation_list(oauth))
    [event] = await revocation_events(oauth)
    assert event["account_id"] == str(account_id)
    assert (event["reason"], event["revoked"]) == ("password_changed", "account")


async def test_logout_and_a_replayed_refresh_token_are_announced(oauth) -> None:  # type: ignore[no-untyped-def]
    await oauth.add_public_client()
    account_id = await oauth.add_account(EMAIL)
    client = frontend(oauth)
    session, stolen = await code_flow(oauth, client), await code_flow(oauth, client)

    logout = await oauth.client.post("/revoke", data={"client_id": "demo-frontend",
                                                      "token": session["refresh_token"]})
    await client.refresh_token(f"{ISSUER}/token", refresh_token=stolen["refresh_token"])
    with pytest.raises(OAuthError):
        await client.refresh_token(f"{ISSUER}/token", refresh_token=stolen["refresh_token"])

    assert logout.status_code == 200
    assert {jti(session["access_token"]), jti(stolen["access_token"])} <= (
        await revocation_list(oauth))
    events = await revocation_events(oauth)
    assert [(e["reason"], e["revoked"]) for e in events] == [
        ("revoked", "session"), ("refresh_token_reuse", "session")]
    assert {e["account_id"] for e in events} == {str(account_id)}
    assert all(e["session_id"] for e in events)
