"""The client admin API: secrets shown once and rotatable, tenant admins confined to their
tenant, registration rules, exact redirect URIs after a change, disabling; and the demo seed's
clients, whose documented secrets work at the token endpoint."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from authlib.integrations.base_client import OAuthError
from joserfc.jwk import RSAKey

from identity_service.accounts.demo import DEMO_PASSWORD
from identity_service.clients import repository as client_repository
from identity_service.seed import seed

ISSUER = "http://127.0.0.1:8001"
MACHINE = {"name": "Parking system", "kind": "confidential", "auth_method": "client_secret_basic",
           "grant_types": ["client_credentials"], "allowed_scopes": ["payment:read"]}
FRONTEND = {"name": "Pool kiosk", "kind": "public", "auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": ["https://kiosk.musterstadt.example/callback"],
            "allowed_scopes": ["openid", "ticketing:write"]}


async def admin_of(
    oauth: Any, tenant: str = "musterstadt", level: str = "tenant"
) -> dict[str, str]:
    return dict(await oauth.mint(str(uuid.uuid4()), tenant=tenant, admin=level))


async def token_with(oauth: Any, client_id: str, secret: str) -> dict[str, Any]:
    client = oauth.oauth_client(client_id, secret)
    token: dict[str, Any] = await client.fetch_token(f"{ISSUER}/token",
                                                     grant_type="client_credentials")
    return token


async def test_the_secret_is_shown_once_and_works(oauth) -> None:  # type: ignore[no-untyped-def]
    admin = await admin_of(oauth)

    created = await oauth.client.post("/admin/clients", json=MACHINE, headers=admin)

    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    client_id, secret = body["client_id"], body["client_secret"]
    assert client_id.startswith("musterstadt-")
    assert len(secret) >= 43
    assert body["tenant"] == "musterstadt"
    shown = (await oauth.client.get(f"/admin/clients/{client_id}", headers=admin)).json()
    assert "client_secret" not in shown
    assert "secret_hash" not in shown
    assert secret not in (await oauth.client.get("/admin/clients", headers=admin)).text
    token = await token_with(oauth, client_id, secret)
    assert token["scope"] == "payment:read"


async def test_a_rotated_secret_replaces_the_old_one(oauth) -> None:  # type: ignore[no-untyped-def]
    admin = await admin_of(oauth)
    body = (await oauth.client.post("/admin/clients", json=MACHINE, headers=admin)).json()
    client_id, old = body["client_id"], body["client_secret"]

    rotated = await oauth.client.post(f"/admin/clients/{client_id}/secret", headers=admin)

    assert rotated.status_code == 200
    assert rotated.headers["cache-control"] == "no-store"
    new = rotated.json()["client_secret"]
    assert new != old
    with pytest.raises(OAuthError) as refused:
        await token_with(oauth, client_id, old)
    assert refused.value.error == "invalid_client"
    assert (await token_with(oauth, client_id, new))["access_token"]


async def test_a_tenant_admin_cannot_touch_another_tenants_clients(oauth) -> None:  # type: ignore[no-untyped-def]
    mine = await admin_of(oauth)
    theirs = await admin_of(oauth, "beispielhausen")
    platform = await admin_of(oauth, "beispielhausen", "platform")
    client_id = (await oauth.client.post("/admin/clients", json=MACHINE,
                                         headers=mine)).json()["client_id"]

    attempts = [
        await oauth.client.get(f"/admin/clients/{client_id}", headers=theirs),
        await oauth.client.patch(f"/admin/clients/{client_id}", headers=theirs,
                                 json={"allowed_scopes": ["payment:write"]}),
        await oauth.client.post(f"/admin/clients/{client_id}/secret", headers=theirs),
        await oauth.client.post(f"/admin/clients/{client_id}/disable", headers=theirs),
    ]
    listed = (await oauth.client.get("/admin/clients", headers=theirs)).json()
    foreign_create = await oauth.client.post("/admin/clients", headers=theirs,
                                             json={**MACHINE, "tenant": "musterstadt"})

    for response in attempts:
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "client_not_found"
    assert listed == []
    assert foreign_create.status_code == 403
    assert foreign_create.json()["code"] == "other_tenant"
    unchanged = (await oauth.client.get(f"/admin/clients/{client_id}", headers=mine)).json()
    assert unchanged["allowed_scopes"] == ["payment:read"]
    assert unchanged["disabled_at"] is None
    seen = await oauth.client.get(f"/admin/clients/{client_id}", headers=platform)
    assert seen.status_code == 200  # a platform admin administers every tenant


async def test_only_admins_use_the_client_api(oauth) -> None:  # type: ignore[no-untyped-def]
    staff = await oauth.mint("staff-member")
    machine = await oauth.mint("payment", kind="client")

    assert (await oauth.client.get("/admin/clients")).status_code == 401
    assert (await oauth.client.get("/admin/clients", headers=staff)).status_code == 403
    assert (await oauth.client.post("/admin/clients", json=MACHINE,
                                    headers=machine)).status_code == 403


@pytest.mark.parametrize(
    "change",
    [
        {"auth_method": "none"},
        {"kind": "public"},
        {"grant_types": ["authorization_code"]},
        {"redirect_uris": ["https://x.example/cb"]},
        {"allowed_scopes": ["payment:everything"]},
        {"auth_method": "private_key_jwt"},
        {"grant_types": ["refresh_token"]},
        {"client_id": "Bad Id!"},
        {"grant_types": []},
        {"name": "x" * 201},
        {"tenant": "no-such-town"},
        {"unknown": "field"},
    ],
)
async def test_inconsistent_registrations_are_422(oauth, change: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    admin = await admin_of(oauth, level="platform")

    response = await oauth.client.post("/admin/clients", json={**MACHINE, **change},
                                       headers=admin)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "uri",
    ["http://kiosk.example/cb", "https://kiosk.example/cb#frag", "javascript:alert(1)",
     "https://user:pw@kiosk.example/cb", "/relative", "https://kiosk.example/c b"],
)
async def test_unsafe_redirect_uris_are_refused(oauth, uri: str) -> None:  # type: ignore[no-untyped-def]
    admin = await admin_of(oauth)

    response = await oauth.client.post("/admin/clients", headers=admin,
                                       json={**FRONTEND, "redirect_uris": [uri]})

    assert response.status_code == 422


async def test_public_and_private_key_jwt_clients(oauth) -> None:  # type: ignore[no-untyped-def]
    admin = await admin_of(oauth)
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    pkj = {**MACHINE, "auth_method": "private_key_jwt",
           "jwks": {"keys": [key.as_dict(private=False)]}}

    public = await oauth.client.post("/admin/clients", json=FRONTEND, headers=admin)
    with_keys = await oauth.client.post("/admin/clients", json=pkj, headers=admin)
    leaked = await oauth.client.post("/admin/clients", headers=admin, json={
        **pkj, "jwks": {"keys": [key.as_dict(private=True)]}})
    rotate = await oauth.client.post(f"/admin/clients/{public.json()['client_id']}/secret",
                                     headers=admin)

    assert public.status_code == 201
    assert public.json()["client_secret"] is None
    assert with_keys.status_code == 201
    assert with_keys.json()["client_secret"] is None
    assert with_keys.json()["jwks"]["keys"][0]["kid"] == "k1"
    assert leaked.status_code == 422
    assert rotate.status_code == 409
    assert rotate.json()["code"] == "client_has_no_secret"


async def test_changed_redirect_uris_are_matched_exactly(oauth) -> None:  # type: ignore[no-untyped-def]
    admin = await admin_of(oauth)
    client_id = (await oauth.client.post("/admin/clients", json=FRONTEND,
                                         headers=admin)).json()["client_id"]
    new_uri = "https://kiosk.musterstadt.example/v2/callback"

    changed = await oauth.client.patch(f"/admin/clients/{client_id}", headers=admin,
                                       json={"redirect_uris": [new_uri], "name": "Kiosk v2"})
    emptied = await oauth.client.patch(f"/admin/clients/{client_id}", headers=admin,
                                       json={"redirect_uris": []})

    assert changed.status_code == 200
    assert changed.json()["redirect_uris"] == [new_uri]
    assert emptied.status_code == 422
    query = {"response_type": "code", "client_id": client_id, "scope": "openid",
             "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
             "code_challenge_method": "S256"}
    old = await oauth.client.get("/authorize", params={
        **query, "redirect_uri": FRONTEND["redirect_uris"][0]})  # type: ignore[index]
    new = await oauth.client.get("/authorize", params={**query, "redirect_uri": new_uri})
    assert old.status_code == 400
    assert "location" not in old.headers
    assert new.status_code == 200
    assert "Kiosk v2" in new.text


async def test_a_disabled_client_gets_no_tokens(oauth) -> None:  # type: ignore[no-untyped-def]
    admin = await admin_of(oauth)
    body = (await oauth.client.post("/admin/clients", json=MACHINE, headers=admin)).json()
    assert (await token_with(oauth, body["client_id"], body["client_secret"]))["access_token"]

    disabled = await oauth.client.post(f"/admin/clients/{body['client_id']}/disable",
                                       headers=admin)

    assert disabled.status_code == 200
    assert disabled.json()["disabled_at"] is not None
    with pytest.raises(OAuthError) as refused:
        await token_with(oauth, body["client_id"], body["client_secret"])
    assert refused.value.error == "invalid_client"


async def test_responses_with_secrets_are_never_stored_for_replay(oauth) -> None:  # type: ignore[no-untyped-def]
    admin = await admin_of(oauth)

    response = await oauth.client.post("/admin/clients", json=MACHINE,
                                       headers={**admin, "Idempotency-Key": "create-1"})

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_not_supported"
    assert (await oauth.client.get("/admin/clients", headers=admin)).json() == []


async def test_the_seeded_clients_work_with_their_documented_secrets(
    oauth_app, migrated_url  # type: ignore[no-untyped-def]
) -> None:
    first = await seed(migrated_url)
    summary = await seed(migrated_url)
    assert summary["clients"] == first["clients"]
    clients = {c["client_id"]: c for c in summary["clients"]}  # type: ignore[union-attr]
    assert {"case-service", "payment-service", "notification-service", "ticketing-service",
            "city-erp", "online-service", "demo-frontend",
            "beispielhausen-frontend"} == set(clients)
    assert clients["beispielhausen-frontend"]["tenant"] == "beispielhausen"
    assert {c["tenant"] for n, c in clients.items() if n != "beispielhausen-frontend"} == {
        "musterstadt"}
    assert clients["city-erp"]["scope"] == "payment:read payment:reports ticketing:read case:read"
    assert clients["online-service"]["scope"] == "case:intake case:write"
    assert {"case:read", "case:write"} <= set(clients["demo-frontend"]["scope"].split())

    async with oauth_app() as oauth:
        for entry in clients.values():
            if entry["client_secret"] is None:
                continue
            token = await token_with(oauth, entry["client_id"], entry["client_secret"])
            assert token["scope"] == entry["scope"]
        frontend = clients["demo-frontend"]
        assert frontend["redirect_uris"] == ["http://127.0.0.1:5173/callback",
                                             "http://localhost:5173/callback"]
        client = oauth.oauth_client("demo-frontend", token_endpoint_auth_method="none",
                                    redirect_uri="http://localhost:5173/callback",
                                    scope="openid ticketing:read", code_challenge_method="S256")
        location, verifier, _ = await oauth.login(client, email="erika.mustermann@example.org",
                                                  password=DEMO_PASSWORD)
        token = await client.fetch_token(f"{ISSUER}/token", authorization_response=location,
                                         code_verifier=verifier)
        assert token["refresh_token"]


async def test_a_client_id_taken_between_check_and_insert_is_409_and_keeps_the_first(  # type: ignore[no-untyped-def]
    oauth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two registrations of one ``client_id`` racing past the lookup: the insert decides, as
    409 ``client_id_taken`` inside the use case (not a 500 at the commit)."""
    admin = await admin_of(oauth)
    client_id = f"race-{uuid.uuid4().hex[:8]}"
    first = await oauth.client.post("/admin/clients", json={**MACHINE, "client_id": client_id},
                                    headers=admin)
    assert first.status_code == 201

    async def nobody_yet(session: object, wanted: str, **_: object) -> None:  # looked before
        return None

    monkeypatch.setattr(client_repository, "get", nobody_yet)
    second = await oauth.client.post("/admin/clients", json={**MACHINE, "client_id": client_id,
                                                              "name": "Impostor"},
                                     headers=admin)
    monkeypatch.undo()

    assert second.status_code == 409
    assert second.json()["code"] == "client_id_taken"
    assert second.headers["content-type"] == "application/problem+json"
    kept = await oauth.client.get(f"/admin/clients/{client_id}", headers=admin)
    assert kept.json()["name"] == MACHINE["name"]
    assert (await token_with(oauth, client_id, first.json()["client_secret"]))["access_token"]
