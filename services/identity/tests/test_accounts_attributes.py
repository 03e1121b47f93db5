"""``GET /me/attributes``: the caller's own verified attributes with their level of assurance,
for a person's token from any client (case forwards the citizen's token to prefill forms)."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert

from identity_service.accounts.demo import DEMO_ACCOUNTS
from identity_service.accounts.models import AccountAttribute
from identity_service.seed import seed

ERIKA = "erika.mustermann@example.org"
CASE_ONLY = "case:read case:write"


async def _attributes(  # type: ignore[no-untyped-def]
    identity, account_id: uuid.UUID, rows: list[tuple[str, str, str, str]]
) -> None:
    async with identity.engine.begin() as conn:
        await conn.execute(insert(AccountAttribute).values([
            {"account_id": account_id, "name": name, "value": value, "loa": loa,
             "source": source}
            for name, value, loa, source in rows
        ]))


async def test_my_attributes_come_sorted_by_name_with_level_and_source(identity) -> None:  # type: ignore[no-untyped-def]
    erika = await identity.add_account(ERIKA)
    await _attributes(identity, erika, [
        ("postal_code", "12345", "substantial", "eid-sandbox"),
        ("birth_date", "1964-08-12", "substantial", "eid-sandbox"),
        ("given_name", "Erika", "basic", "self-declared"),
    ])

    response = await identity.client.get(
        "/me/attributes", headers=identity.bearer(erika, kind="citizen")
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    attributes = response.json()["attributes"]
    assert [(a["name"], a["value"], a["level"], a["source"]) for a in attributes] == [
        ("birth_date", "1964-08-12", "substantial", "eid-sandbox"),
        ("given_name", "Erika", "basic", "self-declared"),
        ("postal_code", "12345", "substantial", "eid-sandbox"),
    ]
    assert all(a["verified_at"] for a in attributes)


async def test_a_citizen_sees_only_their_own_attributes(identity) -> None:  # type: ignore[no-untyped-def]
    erika = await identity.add_account(ERIKA)
    max_ = await identity.add_account("max.mustermann@example.org")
    await _attributes(identity, erika, [("birth_date", "1964-08-12", "substantial", "eid")])
    await _attributes(identity, max_, [("birth_date", "1970-01-01", "basic", "eid"),
                                       ("locality", "Musterstadt", "basic", "eid")])

    hers = await identity.client.get("/me/attributes", headers=identity.bearer(erika))
    his = await identity.client.get("/me/attributes", headers=identity.bearer(max_))

    assert [(a["name"], a["value"]) for a in hers.json()["attributes"]] == [
        ("birth_date", "1964-08-12")]
    assert [(a["name"], a["value"]) for a in his.json()["attributes"]] == [
        ("birth_date", "1970-01-01"), ("locality", "Musterstadt")]


async def test_staff_without_attributes_get_an_empty_list(identity) -> None:  # type: ignore[no-untyped-def]
    clerk = await identity.add_account("clerk@example.org", kind="staff",
                                       roles={"citizens-office": ["clerk"]})

    response = await identity.client.get(
        "/me/attributes",
        headers=identity.bearer(clerk, kind="staff", roles={"citizens-office": ["clerk"]}),
    )

    assert response.status_code == 200
    assert response.json() == {"attributes": []}


async def test_a_token_whose_client_has_only_case_scopes_reaches_the_attributes(identity) -> None:  # type: ignore[no-untyped-def]
    erika = await identity.add_account(ERIKA)
    await _attributes(identity, erika, [("birth_date", "1964-08-12", "substantial", "eid")])

    response = await identity.client.get(
        "/me/attributes",
        headers=identity.bearer(erika, scope=CASE_ONLY, client_id="demo-frontend"),
    )

    assert response.status_code == 200, response.text
    assert response.json()["attributes"][0]["value"] == "1964-08-12"


async def test_attributes_need_a_token_of_a_person_of_this_tenant(identity) -> None:  # type: ignore[no-untyped-def]
    erika = await identity.add_account(ERIKA)
    await _attributes(identity, erika, [("birth_date", "1964-08-12", "substantial", "eid")])

    anonymous = await identity.client.get("/me/attributes")
    client = await identity.client.get(
        "/me/attributes",
        headers=identity.bearer("online-service", kind="client", scope="case:intake case:write"),
    )
    client_named_like_erika = await identity.client.get(
        "/me/attributes", headers=identity.bearer(erika, kind="client", scope=CASE_ONLY)
    )
    other_tenant = await identity.client.get(
        "/me/attributes", headers=identity.bearer(erika, tenant="beispielhausen")
    )

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert client.status_code == client_named_like_erika.status_code == 403
    assert other_tenant.status_code == 404
    assert "1964-08-12" not in client_named_like_erika.text + other_tenant.text


async def test_an_erased_account_has_no_attributes_any_more(identity) -> None:  # type: ignore[no-untyped-def]
    erika = await identity.add_account(ERIKA)
    await _attributes(identity, erika, [("birth_date", "1964-08-12", "substantial", "eid")])
    headers = identity.bearer(erika)
    before = await identity.client.get("/me/attributes", headers=headers)

    erased = await identity.client.delete("/me", headers=headers)
    after = await identity.client.get("/me/attributes", headers=headers)
    me = await identity.client.get("/me", headers=headers)

    assert before.status_code == 200
    assert erased.status_code == 204
    assert after.status_code == me.status_code == 404
    assert after.json()["code"] == "account_not_found"


async def test_an_issued_token_of_the_demo_frontend_with_case_scopes_reads_seeded_attributes(  # type: ignore[no-untyped-def]
    oauth_app, migrated_url: str
) -> None:
    """End to end on the real issuer: Erika's seeded address comes back for a token minted
    for the demo frontend with nothing but case scopes."""
    summary = await seed(migrated_url)
    seeded = summary["accounts"]
    assert isinstance(seeded, list)
    accounts = {a["email"]: a for a in seeded}
    erika = next(d for d in DEMO_ACCOUNTS if d.email == ERIKA)

    async with oauth_app() as oauth:
        headers = await oauth.mint(accounts[ERIKA]["id"], kind="citizen", scope=CASE_ONLY,
                                   client_id="demo-frontend")
        response = await oauth.client.get("/me/attributes", headers=headers)

    assert response.status_code == 200, response.text
    got = {a["name"]: (a["value"], a["level"], a["source"])
           for a in response.json()["attributes"]}
    assert got == {name: (value, "substantial", "eid-sandbox")
                   for name, value in erika.attributes.items()}
    assert got["street_address"] == ("Musterstraße 1", "substantial", "eid-sandbox")
